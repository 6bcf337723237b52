/*
 * samples/guests/pic-pit.c: the PC's 8254 timer through the 8259 pair, the
 * path DOS-era and BIOS code relies on: both 8259s initialised as a BIOS
 * does, channel 0 in mode 2 at ~1 kHz on IRQ 0, interrupts delivered as
 * ExtINT through the local APIC's LINT0 (virtual wire).
 *
 * Checks: the 8259s read back what was programmed; the tick rate over a
 * window timed by the 8254's own channel 1 is ~1 kHz, both sleeping between
 * ticks and while polling the 8254's counter all the time; every tick
 * arrives on vector 0x20; without an EOI IR0 stays in service and blocks
 * further ticks, and the EOI releases them; a masked IRQ 0 stays quiet
 * (its request waits in IRR) and unmasking brings the ticks back.
 *
 * vdm: samples/pic-pit.vmconf. QEMU: -M microvm,pic=on,pit=on.
 */
#include "rt/pc.h"
#include "rt/rt.h"

#define PIT_RELOAD 1193 /* 1193182 / 1193 = 1000.2 Hz */
#define WINDOW_US  200000u

static volatile unsigned ticks;
static volatile unsigned bad_vector;
static volatile bool hold_eoi; /* leave IR0 in service */

static void irq0_handler(struct rt_irq_frame *frame)
{
	if (frame->vector != PIC_VECTOR_IRQ0)
		bad_vector = frame->vector;
	ticks++;
	if (!hold_eoi)
		pic_eoi(0);
}

/* The IRQ 7 vector is where an 8259 sends a spurious acknowledge. */
static volatile unsigned spurious;

static void irq7_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	spurious++;
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

	rt_printf("irq0 %s: %u ticks in %u us = %u Hz (want 1000)\n", how, counted, us, hz);
	return hz;
}

void guest_main(void)
{
	rt_irq_set_handler(PIC_VECTOR_IRQ0, irq0_handler);
	rt_irq_set_handler(PIC_VECTOR_IRQ0 + 7, irq7_handler);
	lapic_enable_pc();
	pic_init(PIC_VECTOR_IRQ0);
	rt_check("pic-init-mask", pic_get_mask() == 0xffff);
	pic_set_mask(0xfffa); /* IRQ 0 and the cascade */
	rt_check("pic-mask-readback", pic_get_mask() == 0xfffa);
	rt_check("pic-isr-clear", pic_read_isr() == 0);

	clock_start();
	clock_wait_us(1000);
	rt_check("pit-clock-runs", clock_ticks() > 0);

	/* ~1 kHz on IRQ 0, counted over a window the 8254 itself times. Late
	 * host timers merge ticks (the 8254 model and QEMU both do), so a
	 * loaded host loses some; more than the rate allows is a bug. */
	pit_program(0, 2, PIT_RELOAD);
	irq_enable();
	clock_sleep_us(5000, NULL, 0); /* the first periods */
	unsigned hz = measure_hz(false, "sleeping");

	rt_check("pit-irq0-rate", hz >= 700 && hz <= 1050);
	/* A guest spinning on the counter (a delay loop) must not lose ticks
	 * either: each read may move the device's next-edge timer. */
	hz = measure_hz(true, "polling the 8254");
	rt_check("pit-irq0-rate-polling", hz >= 700 && hz <= 1050);
	rt_check("pic-irq0-vector", bad_vector == 0);

	/* No EOI: IR0 stays in service, and a fully nested 8259 sends nothing
	 * of equal or lower priority until the EOI. */
	hold_eoi = true;
	unsigned before = ticks;

	clock_sleep_us(50000, &ticks, before + 1);
	irq_disable();
	unsigned held = ticks;
	uint16_t isr = pic_read_isr();

	clock_sleep_us(10000, NULL, 0); /* ten periods */
	irq_disable();
	rt_printf("without EOI: isr %x, %u ticks in 10 ms\n", isr, ticks - held);
	rt_check("pic-isr-in-service", held == before + 1 && (isr & 1) != 0);
	rt_check("pic-no-eoi-blocks", ticks == held);
	hold_eoi = false;
	pic_eoi(0);
	rt_check("pic-eoi-clears-isr", (pic_read_isr() & 1) == 0);
	clock_sleep_us(50000, &ticks, held + 5);
	irq_disable();
	rt_printf("after EOI: %u ticks\n", ticks - held);
	rt_check("pic-eoi-resumes", ticks - held >= 5);

	/* Masked IRQ 0: nothing arrives; unmasked: the ticks come back. */
	pic_set_mask(0xffff);
	clock_sleep_us(2000, NULL, 0); /* one latched before the mask may land */
	irq_disable();
	unsigned masked_at = ticks;

	clock_sleep_us(20000, NULL, 0);
	irq_disable();
	rt_printf("masked: %u ticks in 20 ms\n", ticks - masked_at);
	rt_check("pic-mask-stops", ticks == masked_at);
	rt_check("pic-masked-irr", (pic_read_irr() & 1) != 0);
	pic_set_mask(0xfffa);
	clock_sleep_us(50000, &ticks, masked_at + 5);
	irq_disable();
	rt_check("pic-unmask-resumes", ticks - masked_at >= 5);
	rt_check("pic-no-spurious", spurious == 0);
	pic_set_mask(0xffff);
	pit_program(0, 0, 0xffff); /* mode 0: one terminal count, then quiet */
}
