/*
 * samples/guests/ioapic-pit.c: the 8254 timer through the I/O APIC, the
 * path an ACPI-era OS uses: channel 0 in mode 2 at ~1 kHz on I/O APIC pin 2
 * (where PCs route ISA IRQ 0), edge-triggered, delivered as an MSI to the
 * local APIC (KVM_SIGNAL_MSI on vdm's kvm backend).
 *
 * Checks: the I/O APIC's version register and a redirection entry read
 * back; the tick rate over a window timed by the 8254's channel 1 (sleeping
 * between ticks, and polling the counter); every tick on the programmed
 * vector; a masked entry stays quiet and unmasking brings ticks back; the
 * 8259 (if any) stays out of the way (masked). It also prints how often
 * the local APIC's ISR showed the vector in service inside the handler
 * (always on QEMU TCG; PVM's LAPIC reads it clear, see docs/kvm.md).
 *
 * vdm: samples/ioapic-pit.vmconf. QEMU: -M microvm,pit=on (its I/O APIC
 * maps ISA IRQ 0 to pin 2 as well).
 */
#include "rt/pc.h"
#include "rt/rt.h"

#define TIMER_VECTOR 0x31
#define TIMER_PIN    2
#define PIT_RELOAD   1193
#define WINDOW_US    200000u

static volatile unsigned ticks;
static volatile unsigned bad_vector;
static volatile unsigned in_service;

static void timer_handler(struct rt_irq_frame *frame)
{
	if (frame->vector != TIMER_VECTOR)
		bad_vector = frame->vector;
	/* The LAPIC's ISR has this vector's bit while we handle it. */
	if (lapic_read(LAPIC_ISR0 + 0x10 * (TIMER_VECTOR / 32)) & (1u << (TIMER_VECTOR % 32)))
		in_service++;
	ticks++;
	lapic_write(LAPIC_EOI, 0);
}

/* Ticks per second over WINDOW_US, sleeping or polling the 8254. */
static unsigned measure_hz(bool poll, const char *how)
{
	irq_enable();
	unsigned start_ticks = ticks;
	uint64_t t0 = clock_ticks();

	if (poll)
		clock_wait_us(WINDOW_US);
	else
		clock_sleep_us(WINDOW_US, NULL, 0);
	unsigned counted = ticks - start_ticks;
	uint32_t us = clock_ticks_to_us(clock_ticks() - t0);
	unsigned hz = counted * 1000000u / (us ? us : 1); /* counted < 4000 */

	rt_printf("pin %u %s: %u ticks in %u us = %u Hz (want 1000)\n", TIMER_PIN, how, counted, us,
		  hz);
	return hz;
}

void guest_main(void)
{
	rt_irq_set_handler(TIMER_VECTOR, timer_handler);
	lapic_enable_pc();
	/* A PC with an 8259 too: keep it masked (absent, this writes nothing). */
	outb(PIC_MASTER + 1, 0xff);
	outb(PIC_SLAVE + 1, 0xff);

	uint32_t version = ioapic_read(0x01);

	rt_printf("ioapic version %08x\n", version);
	rt_check("ioapic-version", (version & 0xff) >= 0x11 && ((version >> 16) & 0xff) >= 23);
	ioapic_route(TIMER_PIN, TIMER_VECTOR, false, true);
	rt_check("ioapic-rte-readback",
		 (ioapic_read(0x10 + 2 * TIMER_PIN) & 0x1ffff) == (0x10000u | TIMER_VECTOR));

	clock_start();
	pit_program(0, 2, PIT_RELOAD);
	ioapic_route(TIMER_PIN, TIMER_VECTOR, false, false);
	irq_enable();
	clock_sleep_us(5000, NULL, 0);

	unsigned hz = measure_hz(false, "sleeping");

	rt_check("ioapic-pit-rate", hz >= 700 && hz <= 1050);
	hz = measure_hz(true, "polling the 8254");
	rt_check("ioapic-pit-rate-polling", hz >= 700 && hz <= 1050);
	rt_check("ioapic-pit-vector", bad_vector == 0);
	rt_printf("lapic isr showed the vector in %u of %u handlers\n", in_service, ticks);

	/* Masked entry: edges on a masked pin are dropped, not held. */
	ioapic_route(TIMER_PIN, TIMER_VECTOR, false, true);
	clock_sleep_us(2000, NULL, 0);
	irq_disable();
	unsigned masked_at = ticks;

	clock_sleep_us(20000, NULL, 0);
	irq_disable();
	rt_printf("masked: %u ticks in 20 ms\n", ticks - masked_at);
	rt_check("ioapic-mask-stops", ticks == masked_at);
	ioapic_route(TIMER_PIN, TIMER_VECTOR, false, false);
	clock_sleep_us(50000, &ticks, masked_at + 5);
	irq_disable();
	rt_printf("unmasked: %u ticks\n", ticks - masked_at);
	rt_check("ioapic-unmask-resumes", ticks - masked_at >= 5);
	ioapic_route(TIMER_PIN, TIMER_VECTOR, false, true);
	pit_program(0, 0, 0xffff);
}
