/*
 * samples/guests/rt/pc.c: the PC platform helpers (pc.h): 8259, 8254 clock,
 * local APIC virtual wire, I/O APIC redirection entries.
 */
#include "pc.h"
#include "rt.h"

void pic_init(uint8_t base)
{
	/* ICW1: edge, cascade, ICW4 needed. ICW2: vector base. ICW3: the
	 * master has a slave on IR2; the slave's id is 2. ICW4: 8086 mode. */
	outb(PIC_MASTER, 0x11);
	outb(PIC_SLAVE, 0x11);
	outb(PIC_MASTER + 1, base);
	outb(PIC_SLAVE + 1, (uint8_t)(base + 8));
	outb(PIC_MASTER + 1, 0x04);
	outb(PIC_SLAVE + 1, 0x02);
	outb(PIC_MASTER + 1, 0x01);
	outb(PIC_SLAVE + 1, 0x01);
	pic_set_mask(0xffff);
}

void pic_set_mask(uint16_t mask)
{
	/* The cascade (IR2) stays open when any slave input is. */
	if ((mask & 0xff00) != 0xff00)
		mask &= (uint16_t) ~(1u << 2);
	outb(PIC_MASTER + 1, (uint8_t)mask);
	outb(PIC_SLAVE + 1, (uint8_t)(mask >> 8));
}

uint16_t pic_get_mask(void)
{
	return (uint16_t)(inb(PIC_MASTER + 1) | inb(PIC_SLAVE + 1) << 8);
}

void pic_eoi(unsigned irq)
{
	if (irq >= 8)
		outb(PIC_SLAVE, 0x20);
	outb(PIC_MASTER, 0x20);
}

static uint16_t pic_read_reg(uint8_t ocw3)
{
	outb(PIC_MASTER, ocw3);
	outb(PIC_SLAVE, ocw3);
	return (uint16_t)(inb(PIC_MASTER) | inb(PIC_SLAVE) << 8);
}

uint16_t pic_read_isr(void)
{
	return pic_read_reg(0x0b);
}

uint16_t pic_read_irr(void)
{
	return pic_read_reg(0x0a);
}

void pit_program(unsigned ch, unsigned mode, uint16_t count)
{
	/* Control word: channel, access lobyte/hibyte, mode, binary. */
	outb(PIT_CONTROL, (uint8_t)(ch << 6 | 0x30 | (mode & 7) << 1));
	outb((uint16_t)(PIT_BASE + ch), (uint8_t)count);
	outb((uint16_t)(PIT_BASE + ch), (uint8_t)(count >> 8));
}

uint16_t pit_read(unsigned ch)
{
	uint8_t lo, hi;

	outb(PIT_CONTROL, (uint8_t)(ch << 6)); /* counter latch */
	lo = inb((uint16_t)(PIT_BASE + ch));
	hi = inb((uint16_t)(PIT_BASE + ch));
	return (uint16_t)(lo | hi << 8);
}

static uint16_t clock_last;
static uint64_t clock_total;

void clock_start(void)
{
	pit_program(1, 2, 0); /* 0 = 65536 */
	clock_last = pit_read(1);
	clock_total = 0;
}

uint64_t clock_ticks(void)
{
	uint16_t now = pit_read(1);

	/* A down-counter modulo 65536: the difference is the ticks since the
	 * last read as long as that was less than one wrap ago. */
	clock_total += (uint16_t)(clock_last - now);
	clock_last = now;
	return clock_total;
}

/* Fixed-point factors (x / 4096) instead of a division: a 32-bit guest
 * has no 64-bit divide without libgcc. Both are within 0.01 %. */
#define US_PER_TICK_4096  3433u /* 4096 / 1.193182 */
#define TICKS_PER_US_4096 4887u /* 4096 * 1.193182 */

uint32_t clock_ticks_to_us(uint64_t ticks)
{
	return (uint32_t)((ticks * US_PER_TICK_4096) >> 12);
}

uint64_t clock_us_to_ticks(uint32_t us)
{
	return ((uint64_t)us * TICKS_PER_US_4096) >> 12;
}

void clock_wait_us(uint32_t us)
{
	uint64_t end = clock_ticks() + clock_us_to_ticks(us);

	while (clock_ticks() < end)
		;
}

#define HEARTBEAT_VECTOR 0xfe

static void heartbeat_handler(struct rt_irq_frame *frame)
{
	(void)frame;
	lapic_write(LAPIC_EOI, 0);
}

void clock_sleep_us(uint32_t us, volatile unsigned *counter, unsigned target)
{
	uint64_t end = clock_ticks() + clock_us_to_ticks(us);

	/* A periodic LAPIC timer (2 ms at KVM's and QEMU's 1 GHz APIC clock,
	 * divide by 16) wakes the hlt when nothing else does. */
	rt_irq_set_handler(HEARTBEAT_VECTOR, heartbeat_handler);
	lapic_write(LAPIC_TIMER_DIVIDE, 0x3);
	lapic_write(LAPIC_LVT_TIMER, (1u << 17) | HEARTBEAT_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, 125000);
	while (clock_ticks() < end && !(counter && *counter >= target))
		irq_wait();
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	lapic_write(LAPIC_LVT_TIMER, (1u << 16) | HEARTBEAT_VECTOR);
}

void lapic_enable_pc(void)
{
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_LVT_LINT0, 0x700); /* ExtINT, unmasked, edge */
}

uint32_t ioapic_read(unsigned index)
{
	mmio_write32(IOAPIC_BASE, index);
	return mmio_read32(IOAPIC_BASE + 0x10);
}

void ioapic_write(unsigned index, uint32_t value)
{
	mmio_write32(IOAPIC_BASE, index);
	mmio_write32(IOAPIC_BASE + 0x10, value);
}

void ioapic_route(unsigned pin, uint8_t vector, bool level, bool masked)
{
	uint32_t low = vector | (level ? 1u << 15 : 0) | (masked ? 1u << 16 : 0);

	ioapic_write(0x11 + 2 * pin, 0); /* destination APIC 0 (physical) */
	ioapic_write(0x10 + 2 * pin, low);
}
