/*
 * samples/guests/xen_msi.c: interrupts from vdevs into the guest's local
 * APIC, the only interrupt controller a PVH guest has on Xen.
 *
 *  - a vdev-ser8250 at 0x3f8 whose line is `intr msi:0x41`: enabling the
 *    transmitter-empty interrupt raises the line, and the backend's native
 *    "msi" controller turns the rising level into an MSI (Xen:
 *    xendevicemodel_inject_msi); clearing IER lowers it, the next enable
 *    sends the next one;
 *  - a vdev-hpet at 0xfed00000: timer 2 in FSB mode sends its route
 *    register as an MSI (the vdev's msi_send) when the counter reaches the
 *    comparator, from vdm's event loop rather than from a guest access.
 * Checks that each arrives once, on its vector, only when IF allows it.
 */
#include "rt/rt.h"

#define UART_VECTOR 0x41
#define HPET_VECTOR 0x42
#define COM1_IER    (RT_COM1 + 1)
#define COM1_IIR    (RT_COM1 + 2)
#define COM1_MCR    (RT_COM1 + 4)
#define MCR_OUT2    0x08 /* gates the UART's interrupt output, as on every PC */

#define HPET	     0xfed00000u
#define HPET_CONF    0x010
#define HPET_COUNTER 0x0f0
#define HPET_T2_CONF 0x140
#define HPET_T2_CMP  0x148
#define HPET_T2_FSB  0x150
#define HPET_INT_ENB (1u << 2)
#define HPET_FSB_EN  (1u << 14)

static volatile unsigned uart_irqs, hpet_irqs, bad_vector;
static volatile uint8_t iir_seen;

static void uart_handler(struct rt_irq_frame *frame)
{
	if (frame->vector != UART_VECTOR)
		bad_vector = frame->vector;
	iir_seen = inb(COM1_IIR);
	outb(COM1_IER, 0); /* lower the line: the next enable is a new edge */
	uart_irqs++;
	lapic_write(LAPIC_EOI, 0);
}

static void hpet_handler(struct rt_irq_frame *frame)
{
	if (frame->vector != HPET_VECTOR)
		bad_vector = frame->vector;
	hpet_irqs++;
	lapic_write(LAPIC_EOI, 0);
}

static void spin(unsigned rounds)
{
	for (volatile unsigned i = 0; i < rounds; i++)
		;
}

/* Wait with interrupts on until *count reaches want or `rounds` run out. */
static void wait_for(volatile unsigned *count, unsigned want, unsigned rounds)
{
	irq_enable();
	for (unsigned i = 0; i < rounds && *count < want; i++)
		spin(1000);
	irq_disable();
}

static void check_uart_msi(void)
{
	outb(COM1_MCR, inb(COM1_MCR) | MCR_OUT2);
	/* raised with IF=0: held in the APIC until sti */
	outb(COM1_IER, 0x02);
	spin(2000);
	rt_check("msi-held-while-cli", uart_irqs == 0);
	wait_for(&uart_irqs, 1, 20000);
	rt_check("msi-delivered", uart_irqs == 1);
	rt_printf("iir in handler %x\n", iir_seen);
	rt_check("msi-uart-thre", (iir_seen & 0x0f) == 0x02);
	/* a second rising edge, a second message */
	outb(COM1_IER, 0x02);
	wait_for(&uart_irqs, 2, 20000);
	rt_check("msi-second-edge", uart_irqs == 2);
	/* and none without an edge */
	wait_for(&uart_irqs, 3, 200);
	rt_check("msi-no-spurious", uart_irqs == 2);
}

static void check_hpet_msi(void)
{
	volatile uint32_t *h = (volatile uint32_t *)HPET;
	uint32_t now;

	h[HPET_T2_FSB / 4] = HPET_VECTOR;	/* data */
	h[HPET_T2_FSB / 4 + 1] = RT_LAPIC_BASE; /* address: APIC 0 */
	h[HPET_T2_CONF / 4] = HPET_FSB_EN | HPET_INT_ENB;
	/* set the match while the counter is halted: each access is a round
	 * trip to the device model, so a near match could pass unseen */
	now = h[HPET_COUNTER / 4];
	h[HPET_T2_CMP / 4 + 1] = 0;
	h[HPET_T2_CMP / 4] = now + 143182; /* 10 ms */
	h[HPET_CONF / 4] = 1;
	wait_for(&hpet_irqs, 1, 200000);
	rt_check("msi-hpet-fsb", hpet_irqs == 1);
	h[HPET_T2_CONF / 4] = 0;
	h[HPET_CONF / 4] = 0;
}

void guest_main(void)
{
	rt_irq_set_handler(UART_VECTOR, uart_handler);
	rt_irq_set_handler(HPET_VECTOR, hpet_handler);
	lapic_write(LAPIC_SVR, 0x1ff);
	check_uart_msi();
	check_hpet_msi();
	rt_check("msi-vectors", bad_vector == 0);
}
