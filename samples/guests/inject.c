/*
 * samples/guests/inject.c: interrupts injected by the host through the two
 * paths a userspace interrupt controller uses on the kvm backend: an MSI
 * (what an IOAPIC sends) and an ExtINT on LINT0 (what an 8259 raises).
 *
 * It needs the engine test's interrupt requester at port 0x510 (test
 * scaffolding in tests/kvm, not a product device): reading 0x510 gives
 * 0x5a, writing V to 0x511 sends an MSI with vector V, writing V to 0x512
 * raises the ExtINT line whose acknowledge returns V, writing V to 0x513
 * sends a level-triggered MSI through an IOAPIC route (the host checks
 * that our EOI comes back to it). Elsewhere (QEMU) the
 * port reads 0xff and the guest only reports that it skipped.
 */
#include "rt/rt.h"

#define REQ_PRESENT   0x510
#define REQ_MSI	      0x511
#define REQ_EXTINT    0x512
#define REQ_LEVEL_MSI 0x513
#define LEVEL_VECTOR  0x43
#define MSI_VECTOR    0x41
#define EXTINT_VECTOR 0x42

static volatile unsigned msi_count, extint_count, level_count;

static void level_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	level_count++;
	lapic_write(LAPIC_EOI, 0); /* the host sees this EOI (IOAPIC remote IRR) */
}

static void msi_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	msi_count++;
	lapic_write(LAPIC_EOI, 0);
}

static void extint_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	/* ExtINT vectors do not enter the APIC's ISR: no EOI. */
	extint_count++;
}

static void spin(unsigned rounds)
{
	for (volatile unsigned i = 0; i < rounds; i++)
		;
}

void guest_main(void)
{
	if (inb(REQ_PRESENT) != 0x5a) {
		rt_puts("SKIP inject: no interrupt requester at port 0x510\n");
		return;
	}
	rt_irq_set_handler(MSI_VECTOR, msi_handler);
	rt_irq_set_handler(EXTINT_VECTOR, extint_handler);
	rt_irq_set_handler(LEVEL_VECTOR, level_handler);
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_LVT_LINT0, 0x700); /* ExtINT, unmasked */

	/* MSI: latched in IRR while IF=0, delivered once at sti. */
	outb(REQ_MSI, MSI_VECTOR);
	spin(20);
	rt_check("msi-held-while-cli", msi_count == 0);
	irq_enable();
	while (msi_count == 0)
		irq_wait();
	irq_disable();
	rt_check("msi-delivered", msi_count == 1);

	/* ExtINT: the host raises the line from another thread while we sit
	 * with IF=0; it must wait for the interrupt window. */
	outb(REQ_EXTINT, EXTINT_VECTOR);
	spin(200);
	rt_check("extint-held-while-cli", extint_count == 0);
	irq_enable();
	while (extint_count == 0)
		irq_wait();
	irq_disable();
	rt_check("extint-delivered", extint_count == 1);

	/* Halted with IF=1 when the line rises: the host must kick the vCPU. */
	outb(REQ_EXTINT, EXTINT_VECTOR);
	irq_wait();
	while (extint_count < 2)
		irq_wait();
	irq_disable();
	rt_check("extint-wakes-hlt", extint_count == 2);

	/* Level-triggered, as an IOAPIC pin sends it. */
	outb(REQ_LEVEL_MSI, LEVEL_VECTOR);
	irq_enable();
	while (level_count == 0)
		irq_wait();
	irq_disable();
	rt_check("level-msi-delivered", level_count == 1);
}
