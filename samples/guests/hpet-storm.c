/*
 * samples/guests/hpet-storm.c: a hostile guest's 1 ns timer. HPET timer 0
 * periodic with a period of one tick (~70 ns), interrupts on, through I/O
 * APIC pin 2 to the local APIC, for 100 ms of HPET time (the guest halts
 * between interrupts and reads the main counter after each one, so the
 * window does not depend on how fast the host delivers). vdev-hpet's minimum interval (100 us on
 * average, after a burst of 64) must bound what arrives: at most 64 + 1000 interrupts, and the
 * guest must still make progress and end (before the bound existed the storm took both host cores).
 *
 * vdm: tests/kvm/hpet-storm.vmconf (tests/kvm/hpet-storm.sh).
 */
#include "rt/pc.h"
#include "rt/rt.h"

#define HPET	     0xfed00000u
#define HPET_CAP_HI  (HPET + 0x004) /* COUNTER_CLK_PERIOD, fs */
#define HPET_CONFIG  (HPET + 0x010)
#define HPET_COUNTER (HPET + 0x0f0)
#define HPET_T0_CONF (HPET + 0x100)
#define HPET_T0_CMP  (HPET + 0x108)
#define TN_INT_ENB   0x004u
#define TN_PERIODIC  0x008u
#define TN_VAL_SET   0x040u
#define TN_32MODE    0x100u
#define TN_ROUTE(n)  ((n) << 9)
#define STORM_VECTOR 0x32
#define STORM_PIN    2

static volatile unsigned ticks;

static void storm_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	ticks++;
	lapic_write(LAPIC_EOI, 0);
}

static uint64_t hpet_count(void)
{
	uint32_t hi, lo;

	do {
		hi = mmio_read32(HPET_COUNTER + 4);
		lo = mmio_read32(HPET_COUNTER);
	} while (hi != mmio_read32(HPET_COUNTER + 4));
	return (uint64_t)hi << 32 | lo;
}

void guest_main(void)
{
	uint32_t period_fs = mmio_read32(HPET_CAP_HI);
	uint32_t window;
	uint64_t t0;

	rt_irq_set_handler(STORM_VECTOR, storm_handler);
	lapic_enable_pc();
	outb(PIC_MASTER + 1, 0xff);
	outb(PIC_SLAVE + 1, 0xff);
	if (!rt_check("hpet-period", period_fs >= 1000000u && period_fs <= 100000000u))
		return;
	window = 100000000u / (period_fs / 1000000u); /* 100 ms in ticks (whole ns: ~1%) */
	ioapic_route(STORM_PIN, STORM_VECTOR, false, false);
	mmio_write32(HPET_CONFIG, 0);
	/* 32-bit mode: one 32-bit write sets comparator and period (the
	 * comparator's high half resets to all-ones in 64-bit mode) */
	mmio_write32(HPET_T0_CONF,
		     TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32MODE | TN_ROUTE(STORM_PIN));
	mmio_write32(HPET_T0_CMP, 1); /* comparator and period: one tick */
	irq_enable();
	mmio_write32(HPET_CONFIG, 1);
	t0 = hpet_count();
	/* sleep between interrupts, as an idle OS does: every one wakes us */
	while (hpet_count() - t0 < window)
		irq_wait();
	mmio_write32(HPET_CONFIG, 0);
	irq_disable();
	ioapic_route(STORM_PIN, STORM_VECTOR, false, true);
	rt_printf("%u interrupts in 100 ms of a 1-tick periodic HPET timer\n", ticks);
	rt_check("hpet-storm-delivered", ticks >= 10);
	rt_check("hpet-storm-bounded", ticks <= 64 + 1000);
}
