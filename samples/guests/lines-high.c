/*
 * samples/guests/lines-high.c: leaves every interrupt line it can high
 * and powers off, with interrupts disabled so that nothing acknowledges
 * them: the 8254's OUT0 (mode 0 after terminal count) into the 8259,
 * both UARTs' THRE interrupts (OUT2 set), and the RTC's periodic
 * interrupt (register C never read); the I/O APIC pins they reach are
 * unmasked and level-triggered. vdm must then end promptly with the
 * guest's exit code (tests/teardown/kvm-lines-high.sh): releasing lines
 * that are high at teardown once deadlocked it.
 */
#include "rt/rt.h"
#include "rt/pc.h"

#define UART_IER 1 /* interrupt enable */
#define UART_MCR 4 /* modem control */

static void uart_raise_thre(uint16_t base)
{
	outb(base + UART_MCR, 0x0b); /* DTR, RTS, OUT2: the PC's IRQ gate */
	outb(base + UART_IER, 0x02); /* THRE: pending at once, the FIFO is empty */
}

void guest_main(void)
{
	pic_init(0x20);
	pic_set_mask(0x0000);
	for (unsigned pin = 0; pin < 16; pin++)
		ioapic_route(pin, (uint8_t)(0x30 + pin), true, false);
	pit_program(0, 0, 2);
	outb(0x70, 0x0a);
	outb(0x71, 0x26); /* 1024 Hz */
	outb(0x70, 0x0b);
	outb(0x71, 0x42); /* PIE, 24-hour */
	/* Long enough for the PIT's terminal count and a few RTC periods. */
	for (unsigned i = 0; i < 200; i++)
		(void)inb(0x61);
	if (!rt_check("lines-raised", (pic_read_irr() & 0x0001) != 0))
		return;
	rt_puts("RESULT ok\n");
	uart_raise_thre(0x2f8);
	uart_raise_thre(RT_COM1);
	rt_exit(RT_EXIT_SUCCESS);
}
