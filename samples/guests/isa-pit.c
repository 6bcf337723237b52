/*
 * samples/guests/isa-pit.c: one ISA IRQ, two controllers, as an OS boots
 * on a PC: the 8254 on ISA IRQ 0 (`intr isa:0`), which reaches both the
 * 8259 pair (IRQ 0, vector 0x20) and the I/O APIC (pin 2, the usual
 * override). The guest starts in PIC mode like firmware and Linux do,
 * then masks the 8259 and programs the I/O APIC mid-run; the timer must
 * keep interrupting it, now on the I/O APIC's vector only.
 *
 * Checks: ticks arrive through the 8259 on 0x20 while the I/O APIC pin is
 * masked; after the switch they arrive on the I/O APIC's vector and none
 * come through the (masked) 8259 any more.
 *
 * vdm: samples/isa-pit.vmconf (kvm backend).
 */
#include "rt/pc.h"
#include "rt/rt.h"

#define IOAPIC_VECTOR 0x31
#define IOAPIC_PIN    2 /* ISA IRQ 0 */
#define PIT_RELOAD    1193

static volatile unsigned pic_ticks, ioapic_ticks;

static void pic_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	pic_ticks++;
	pic_eoi(0);
}

static void ioapic_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	ioapic_ticks++;
	lapic_write(LAPIC_EOI, 0);
}

void guest_main(void)
{
	rt_irq_set_handler(PIC_VECTOR_IRQ0, pic_handler);
	rt_irq_set_handler(IOAPIC_VECTOR, ioapic_handler);
	lapic_enable_pc();

	/* PIC mode: the 8259 takes IRQ 0, the I/O APIC pin is masked. */
	pic_init(PIC_VECTOR_IRQ0);
	pic_set_mask(0xfffa);
	ioapic_route(IOAPIC_PIN, IOAPIC_VECTOR, false, true);
	clock_start();
	pit_program(0, 2, PIT_RELOAD);
	irq_enable();
	clock_sleep_us(50000, &pic_ticks, 20);
	irq_disable();
	rt_printf("pic mode: %u ticks through the 8259, %u through the I/O APIC\n", pic_ticks,
		  ioapic_ticks);
	rt_check("isa-pic-mode-ticks", pic_ticks >= 20);
	rt_check("isa-pic-mode-ioapic-quiet", ioapic_ticks == 0);

	/* The switch, with the timer running: mask the 8259, open pin 2. */
	pic_set_mask(0xffff);
	ioapic_route(IOAPIC_PIN, IOAPIC_VECTOR, false, false);
	unsigned pic_at_switch = pic_ticks;

	irq_enable();
	clock_sleep_us(50000, &ioapic_ticks, 20);
	irq_disable();
	rt_printf("apic mode: %u ticks through the I/O APIC, %u more through the 8259\n",
		  ioapic_ticks, pic_ticks - pic_at_switch);
	rt_check("isa-apic-mode-ticks", ioapic_ticks >= 20);
	/* one request latched before the mask may still be taken */
	rt_check("isa-apic-mode-pic-quiet", pic_ticks - pic_at_switch <= 1);

	ioapic_route(IOAPIC_PIN, IOAPIC_VECTOR, false, true);
	pit_program(0, 0, 0xffff);
}
