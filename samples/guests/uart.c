/*
 * samples/guests/uart.c: a second 16550A UART (COM2, io:0x2f8, IRQ 3): its
 * loopback mode, and its THRE and RDA interrupts through the 8259 (default)
 * or the I/O APIC (command line `via=ioapic`, pin 3; `trigger=level` makes
 * the pin level-triggered, so each interrupt needs the local APIC's EOI to
 * reach the I/O APIC and clear remote IRR).
 *
 * Checks: with `rx=TEXT` on the command line the host side has sent TEXT
 * and it arrives by received-data interrupts (first, before loopback mode
 * resets the FIFOs); scratch register; loopback (a byte written comes back,
 * LSR.DR, MSR follows MCR, IIR reports received data, the line stays low);
 * with OUT2 set, enabling the THR-empty interrupt raises IRQ 3, reading IIR
 * clears it, a transmitted byte raises it again.
 *
 * vdm: samples/uart.vmconf (8259) and samples/uart-ioapic.vmconf.
 */
#include "rt/pc.h"
#include "rt/rt.h"

#define COM2	   0x2f8
#define COM2_IRQ   3
#define IOAPIC_VEC 0x33
#define RX_MAX	   32

#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

static bool via_ioapic;
static bool level; /* `trigger=level`: the I/O APIC pin level-triggered */
static volatile unsigned thre_irqs, rda_irqs, other_irqs, irqs;
static volatile char rx_buf[RX_MAX + 1];
static volatile unsigned rx_len;

static void uart_eoi(void)
{
	if (via_ioapic)
		lapic_write(LAPIC_EOI, 0);
	else
		pic_eoi(COM2_IRQ);
}

static void com2_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	irqs++;
	/* Serve every pending cause, as a driver does. */
	for (;;) {
		uint8_t iir = inb(COM2 + UART_IIR);

		if (iir & 1)
			break;
		switch (iir & 0x0e) {
		case 0x02: /* THR empty: reading IIR cleared it */
			thre_irqs++;
			break;
		case 0x04: /* received data */
		case 0x0c: /* character timeout */
			rda_irqs++;
			while (inb(COM2 + UART_LSR) & 1) {
				char c = (char)inb(COM2 + UART_RBR);

				if (rx_len < RX_MAX)
					rx_buf[rx_len++] = c;
			}
			break;
		default:
			other_irqs++;
			(void)inb(COM2 + UART_LSR);
			(void)inb(COM2 + UART_MSR);
			break;
		}
	}
	uart_eoi();
}

static void wait_for(volatile unsigned *counter, unsigned at_least, uint32_t us)
{
	uint64_t end = clock_ticks() + clock_us_to_ticks(us);

	irq_enable();
	while (*counter < at_least && clock_ticks() < end)
		;
	irq_disable();
}

/* QEMU's 16550 does not gate its interrupt with OUT2 (nor drop OUT2 in
 * loopback), so on QEMU the command line says `loop-irq=any`. */
static bool loop_irq_any;

static void loopback_checks(void)
{
	outb(COM2 + UART_SCR, 0xa5);
	rt_check("uart-scratch", inb(COM2 + UART_SCR) == 0xa5);
	outb(COM2 + UART_LCR, 0x03);
	/* Loopback first (host input stops), then clear the FIFOs. */
	outb(COM2 + UART_MCR, 0x10 | 0x0f);
	outb(COM2 + UART_FCR, 0x07);
	outb(COM2 + UART_IER, 0x01); /* received data */
	rt_check("uart-loop-msr", (inb(COM2 + UART_MSR) & 0xf0) == 0xf0);
	outb(COM2 + UART_RBR, 0x5a);
	uint8_t lsr = inb(COM2 + UART_LSR);
	uint8_t iir = inb(COM2 + UART_IIR);
	uint8_t got = inb(COM2 + UART_RBR);

	rt_printf("loopback: lsr %x iir %x byte %x\n", lsr, iir, got);
	rt_check("uart-loop-dr", (lsr & 1) != 0);
	rt_check("uart-loop-iir-rda", (iir & 0x0f) == 0x04);
	rt_check("uart-loop-data", got == 0x5a);
	rt_check("uart-loop-drained", (inb(COM2 + UART_LSR) & 1) == 0);

	/* OUT2 is set in MCR, but loopback forces the OUT2 pin inactive and
	 * a PC gates the UART's interrupt with it: a received byte pending
	 * in loopback must not reach the CPU (16550A datasheet, MCR bit 4). */
	unsigned irqs_before = irqs;

	outb(COM2 + UART_RBR, 0xa5);
	clock_sleep_us(3000, NULL, 0);
	irq_disable();
	unsigned line_irqs = irqs - irqs_before;

	rt_printf("loopback: %u interrupts from a pending byte\n", line_irqs);
	if (loop_irq_any)
		rt_puts("SKIP uart-loop-no-line-irq: loop-irq=any\n");
	else
		rt_check("uart-loop-no-line-irq", line_irqs == 0);
	while (inb(COM2 + UART_LSR) & 1)
		(void)inb(COM2 + UART_RBR);
	outb(COM2 + UART_IER, 0);
	outb(COM2 + UART_MCR, 0x03);
}

void guest_main(void)
{
	char value[RX_MAX + 1];
	const char *rx = rt_cmdline_value("rx", value, sizeof(value));

	char via[8];

	via_ioapic = rt_cmdline_value("via", via, sizeof(via)) && via[0] == 'i';
	loop_irq_any = rt_cmdline_value("loop-irq", via, sizeof(via)) && via[0] == 'a';
	level = via_ioapic && rt_cmdline_value("trigger", via, sizeof(via)) && via[0] == 'l';
	rt_printf("uart: interrupts through the %s\n",
		  via_ioapic ? (level ? "I/O APIC, level-triggered" : "I/O APIC") : "8259");
	lapic_enable_pc();
	clock_start();
	if (via_ioapic) {
		outb(PIC_MASTER + 1, 0xff);
		outb(PIC_SLAVE + 1, 0xff);
		rt_irq_set_handler(IOAPIC_VEC, com2_handler);
		ioapic_route(COM2_IRQ, IOAPIC_VEC, level, false);
	} else {
		rt_irq_set_handler(PIC_VECTOR_IRQ0 + COM2_IRQ, com2_handler);
		pic_init(PIC_VECTOR_IRQ0);
		pic_set_mask((uint16_t) ~(1u << COM2_IRQ));
	}

	if (rx) {
		unsigned want = 0;

		while (rx[want])
			want++;
		/* The host side sent TEXT at start-up: it waits in the
		 * receiver, and enabling the interrupt delivers it. */
		outb(COM2 + UART_MCR, 0x0b); /* DTR, RTS, OUT2 */
		outb(COM2 + UART_IER, 0x01);
		wait_for(&rx_len, want, 500000);
		outb(COM2 + UART_IER, 0);
		/* An edge raised for a byte an earlier run of the handler
		 * already took may still be pending: let it land now. */
		clock_sleep_us(2000, NULL, 0);
		irq_disable();
		rx_buf[rx_len] = 0;
		rt_printf("received \"%s\" in %u interrupts\n", (const char *)rx_buf, rda_irqs);
		bool same = rx_len == want;

		for (unsigned i = 0; same && i < want; i++)
			same = rx_buf[i] == rx[i];
		rt_check("uart-rda-irq", rda_irqs >= 1);
		rt_check("uart-rx-data", same);
	} else {
		rt_puts("SKIP uart-rx: no rx= on the command line\n");
	}
	loopback_checks();

	/* THR empty: OUT2 gates the line onto the bus, as on a PC. */
	outb(COM2 + UART_MCR, 0x0b);
	outb(COM2 + UART_IER, 0x02);
	wait_for(&thre_irqs, 1, 50000);
	rt_check("uart-thre-irq", thre_irqs == 1);
	unsigned quiet = irqs;

	wait_for(&irqs, quiet + 1, 5000); /* IIR read cleared it: no repeat */
	rt_check("uart-thre-cleared", irqs == quiet);
	outb(COM2 + UART_RBR, 'x'); /* a byte out: THRE again once it left */
	wait_for(&thre_irqs, 2, 50000);
	rt_check("uart-thre-after-tx", thre_irqs == 2);
	outb(COM2 + UART_IER, 0);

	rt_check("uart-no-other-irq", other_irqs == 0);
	if (level) {
		/* Every interrupt above was EOI'd at the local APIC; that EOI
		 * must have reached the I/O APIC (remote IRR, bit 14, clear),
		 * or the second THRE interrupt could not have come. */
		uint32_t rte = ioapic_read(0x10 + 2 * COM2_IRQ);

		rt_printf("rte %08x after %u interrupts\n", rte, irqs);
		rt_check("uart-ioapic-level", (rte & (1u << 15)) != 0);
		rt_check("uart-ioapic-remote-irr-clear", (rte & (1u << 14)) == 0);
	}
	if (via_ioapic)
		ioapic_route(COM2_IRQ, IOAPIC_VEC, false, true);
	else
		pic_set_mask(0xffff);
}
