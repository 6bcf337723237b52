/*
 * samples/guests/rt/rt.h: the freestanding runtime of the sample guests.
 *
 * What a guest gets: port and MMIO accessors, COM1 output, a tiny printf,
 * an IDT with C handlers (returning with popf; ret, see irq_entry.S), the
 * local APIC registers, and a test harness that prints "PASS name" or
 * "FAIL name: why" lines and powers off through the debug-exit port.
 *
 * A guest defines guest_main(); the runtime calls it after setting up the
 * GDT, stack, serial and IDT, then ends the VM with status 0 when no check
 * failed and 1 otherwise (RT_EXIT_PORT, QEMU isa-debug-exit compatible).
 */
#ifndef RT_H
#define RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/arch-x86/hvm/start_info.h>

#define RT_COM1		0x3f8
#define RT_EXIT_PORT	0xf4
#define RT_EXIT_SUCCESS 0
#define RT_EXIT_FAILURE 1

#define RT_LAPIC_BASE 0xfee00000u

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint8_t mmio_read8(uintptr_t addr)
{
	return *(volatile uint8_t *)addr;
}

static inline void mmio_write8(uintptr_t addr, uint8_t v)
{
	*(volatile uint8_t *)addr = v;
}

static inline void irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/* Wait for an interrupt with interrupts enabled (sti's shadow covers hlt,
 * so a pending interrupt cannot slip in between and be missed). */
static inline void irq_wait(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

static inline uint32_t lapic_read(unsigned reg)
{
	return mmio_read32(RT_LAPIC_BASE + reg);
}

static inline void lapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(RT_LAPIC_BASE + reg, v);
}

#define LAPIC_ID	    0x20
#define LAPIC_EOI	    0xb0
#define LAPIC_SVR	    0xf0
#define LAPIC_ISR0	    0x100
#define LAPIC_LVT_TIMER	    0x320
#define LAPIC_LVT_LINT0	    0x350
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE  0x3e0

/* What irq_entry.S leaves on the stack: pushal's registers, then the
 * vector, the error code (0 when the CPU pushes none), and the CPU's frame. */
struct rt_irq_frame {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector;
	uint32_t error_code;
	uint32_t eip, cs, eflags;
};

typedef void (*rt_irq_handler)(struct rt_irq_frame *frame);

/* Install a handler for `vector` (32..255); NULL removes it. An interrupt
 * without a handler is reported as a failure and ends the guest. */
void rt_irq_set_handler(unsigned vector, rt_irq_handler handler);

/* COM1 output (16550: waits for THRE before each byte; an absent UART
 * reads 0xff and so never blocks). */
void rt_putc(char c);
void rt_puts(const char *s);
/* %s %c %d %u %x %08x %llx %p, nothing else. */
void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Harness: one line per check. */
void rt_pass(const char *name);
void rt_fail(const char *name, const char *why);
/* Check `ok`; prints PASS or FAIL. Returns ok. */
bool rt_check(const char *name, bool ok);
/* Power off with `status` through RT_EXIT_PORT; halts with interrupts off
 * if nothing answers. */
void rt_exit(unsigned status) __attribute__((noreturn));

/* The start_info the loader passed, or NULL (plain ELF entry). */
extern const struct hvm_start_info *rt_start_info;
/* Its command line, or "". */
const char *rt_cmdline(void);
/* The value of `key=` in the command line (up to a space) copied into out
 * (size bytes, NUL-terminated), or NULL when the key is absent. */
const char *rt_cmdline_value(const char *key, char *out, unsigned size);

/* Defined by each guest. */
void guest_main(void);

#endif /* RT_H */
