/*
 * samples/guests/rt/rt.c: runtime body: serial, printf, IDT, harness, exit.
 * Everything here runs at CPL0 in 32-bit protected mode with paging off.
 */
#include <stdarg.h>

#include "rt.h"
#include "rt_layout.h"

const struct hvm_start_info *rt_start_info;

static unsigned rt_failures;

/* 16550 registers, relative to RT_COM1. */
#define UART_THR      0
#define UART_IER      1
#define UART_FCR      2
#define UART_LCR      3
#define UART_MCR      4
#define UART_LSR      5
#define UART_LSR_THRE 0x20

void rt_putc(char c)
{
	/* Wait for THRE however long it takes: a virtual UART holds it clear
	 * while its host side drains (backpressure), and a byte written then
	 * is lost. A missing UART reads 0xff, which has THRE set. */
	while (!(inb(RT_COM1 + UART_LSR) & UART_LSR_THRE))
		;
	outb(RT_COM1 + UART_THR, (uint8_t)c);
}

void rt_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			rt_putc('\r');
		rt_putc(*s++);
	}
}

static void put_unsigned(uint32_t v, unsigned base, unsigned width, char pad)
{
	char buf[12];
	unsigned n = 0;

	do {
		unsigned digit = base == 16 ? (v & 15) : (v % 10);

		buf[n++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
		v = base == 16 ? v >> 4 : v / 10;
	} while (v);
	while (n < width && width <= sizeof(buf)) {
		rt_putc(pad);
		width--;
	}
	while (n)
		rt_putc(buf[--n]);
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		unsigned width = 0;
		char pad = ' ';
		int longs = 0;

		if (*fmt != '%') {
			if (*fmt == '\n')
				rt_putc('\r');
			rt_putc(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			rt_puts(va_arg(ap, const char *));
			break;
		case 'c':
			rt_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			int v = va_arg(ap, int);

			if (v < 0) {
				rt_putc('-');
				put_unsigned(-(uint32_t)v, 10, width, pad);
			} else {
				put_unsigned((uint32_t)v, 10, width, pad);
			}
			break;
		}
		case 'u':
			put_unsigned(va_arg(ap, unsigned), 10, width, pad);
			break;
		case 'x':
			if (longs == 2) {
				uint64_t v = va_arg(ap, unsigned long long);

				if (v >> 32) {
					put_unsigned((uint32_t)(v >> 32), 16, 0, '0');
					put_unsigned((uint32_t)v, 16, 8, '0');
				} else {
					put_unsigned((uint32_t)v, 16, width, pad);
				}
			} else {
				put_unsigned(va_arg(ap, unsigned), 16, width, pad);
			}
			break;
		case 'p':
			rt_puts("0x");
			put_unsigned((uint32_t)(uintptr_t)va_arg(ap, void *), 16, 8, '0');
			break;
		case '%':
			rt_putc('%');
			break;
		default:
			rt_putc('?');
			break;
		}
	}
	va_end(ap);
}

void rt_pass(const char *name)
{
	rt_printf("PASS %s\n", name);
}

void rt_fail(const char *name, const char *why)
{
	rt_failures++;
	rt_printf("FAIL %s: %s\n", name, why);
}

bool rt_check(const char *name, bool ok)
{
	if (ok)
		rt_pass(name);
	else
		rt_fail(name, "check failed");
	return ok;
}

void rt_exit(unsigned status)
{
	irq_disable();
	outb(RT_EXIT_PORT, (uint8_t)status);
	/* Nothing at the port: halt with interrupts off (vdm's kvm backend
	 * ends the VM on that by default). */
	for (;;)
		__asm__ volatile("cli; hlt");
}

const char *rt_cmdline(void)
{
	if (!rt_start_info || !rt_start_info->cmdline_paddr || rt_start_info->cmdline_paddr >> 32)
		return "";
	return (const char *)(uintptr_t)rt_start_info->cmdline_paddr;
}

/* ---- IDT ---- */

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t zero;
	uint8_t type;
	uint16_t offset_high;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static rt_irq_handler handlers[256];

extern const char rt_vector_stubs[];

static const char *const exception_names[32] = {
    [0] = "#DE",  [1] = "#DB",	[2] = "NMI",  [3] = "#BP",  [4] = "#OF",  [5] = "#BR",
    [6] = "#UD",  [7] = "#NM",	[8] = "#DF",  [10] = "#TS", [11] = "#NP", [12] = "#SS",
    [13] = "#GP", [14] = "#PF", [16] = "#MF", [17] = "#AC", [18] = "#MC", [19] = "#XM",
};

void rt_irq_dispatch(struct rt_irq_frame *frame);
void rt_irq_dispatch(struct rt_irq_frame *frame)
{
	unsigned vector = frame->vector & 0xff;

	if (vector < 32) {
		const char *name = exception_names[vector];

		rt_printf("FAIL exception: vector %u %s at eip %08x error %x\n", vector,
			  name ? name : "reserved", frame->eip, frame->error_code);
		rt_exit(RT_EXIT_FAILURE);
	}
	if (handlers[vector]) {
		handlers[vector](frame);
		return;
	}
	if (vector == 0xff)
		return; /* the local APIC's spurious vector: no EOI, nothing to do */
	rt_printf("FAIL unexpected-interrupt: vector %u at eip %08x\n", vector, frame->eip);
	rt_exit(RT_EXIT_FAILURE);
}

void rt_irq_set_handler(unsigned vector, rt_irq_handler handler)
{
	if (vector >= 32 && vector < 256)
		handlers[vector] = handler;
}

static void idt_init(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) descriptor = {sizeof(idt) - 1, (uint32_t)(uintptr_t)idt};

	for (unsigned v = 0; v < 256; v++) {
		uint32_t target = (uint32_t)(uintptr_t)rt_vector_stubs + v * 16;

		idt[v].offset_low = (uint16_t)target;
		idt[v].selector = RT_CODE_SELECTOR;
		idt[v].zero = 0;
		idt[v].type = 0x8e; /* present, DPL0, 32-bit interrupt gate */
		idt[v].offset_high = (uint16_t)(target >> 16);
	}
	__asm__ volatile("lidt %0" : : "m"(descriptor));
}

static void serial_init(void)
{
	outb(RT_COM1 + UART_IER, 0);	/* no UART interrupts */
	outb(RT_COM1 + UART_LCR, 0x03); /* 8N1, DLAB off (keep the reset divisor) */
	outb(RT_COM1 + UART_FCR, 0x01); /* FIFO on */
	outb(RT_COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

void rt_main(uint32_t start_info);
void rt_main(uint32_t start_info)
{
	if (start_info) {
		const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;

		if (si->magic == XEN_HVM_START_MAGIC_VALUE)
			rt_start_info = si;
	}
	serial_init();
	idt_init();
	guest_main();
	if (rt_failures)
		rt_printf("RESULT failed %u\n", rt_failures);
	else
		rt_puts("RESULT ok\n");
	rt_exit(rt_failures ? RT_EXIT_FAILURE : RT_EXIT_SUCCESS);
}

const char *rt_cmdline_value(const char *key, char *out, unsigned size)
{
	const char *s = rt_cmdline();

	for (; *s; s++) {
		const char *k = key, *p = s;

		if (s != rt_cmdline() && s[-1] != ' ')
			continue;
		while (*k && *p == *k)
			k++, p++;
		if (*k || *p != '=')
			continue;
		unsigned n = 0;

		for (p++; *p && *p != ' ' && n + 1 < size; p++)
			out[n++] = *p;
		out[n] = 0;
		return out;
	}
	return NULL;
}
