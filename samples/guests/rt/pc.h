/*
 * samples/guests/rt/pc.h: PC platform helpers for the device sample guests:
 * the 8259 pair, an 8254 channel as a clock, the I/O APIC, the local APIC
 * set up as a PC's firmware leaves it (virtual wire: LINT0 ExtINT).
 *
 * Time is always measured with the 8254's own counter (channel 1, which
 * PCs once used for DRAM refresh and which nothing else here uses), never by
 * counting instructions: an emulated instruction costs 0.5-1 us on PVM and
 * far less on hardware.
 */
#ifndef RT_PC_H
#define RT_PC_H

#include <stdbool.h>
#include <stdint.h>

#define PIC_MASTER	0x20
#define PIC_SLAVE	0xa0
#define PIT_BASE	0x40
#define PIT_CONTROL	0x43
#define PIT_HZ		1193182u
#define IOAPIC_BASE	0xfec00000u
#define PIC_VECTOR_IRQ0 0x20 /* master IR0..7 -> 0x20..0x27, slave -> 0x28..0x2f */

/* pic_init: both 8259s as a PC BIOS sets them (edge, cascade on IR2,
 * 8086 mode, normal EOI), vectors from `base` (8 per chip), every input
 * masked except the cascade. */
void pic_init(uint8_t base);
/* pic_set_mask: the 16-bit IMR (bit n = IRQ n masked), cascade kept open
 * whenever a slave IRQ is unmasked. */
void pic_set_mask(uint16_t mask);
/* pic_get_mask: the IMRs as read back (OCW1). */
uint16_t pic_get_mask(void);
/* pic_eoi: a non-specific EOI for `irq` (to the slave first when >= 8). */
void pic_eoi(unsigned irq);
/* pic_read_isr / pic_read_irr: both chips' in-service / request registers
 * through OCW3 (slave in the high byte). */
uint16_t pic_read_isr(void);
uint16_t pic_read_irr(void);

/* pit_program: channel `ch` in `mode` (binary), lobyte/hibyte count. */
void pit_program(unsigned ch, unsigned mode, uint16_t count);
/* pit_read: latch and read channel `ch`'s counter. */
uint16_t pit_read(unsigned ch);

/* The 8254 channel 1 as a free-running clock of PIT_HZ ticks (mode 2,
 * count 65536: it wraps every 54.9 ms; clock_ticks must be called at
 * least that often, which every wait here does). */
void clock_start(void);
/* Ticks of the 8254's clock since clock_start. */
uint64_t clock_ticks(void);
/* Busy-wait `us` microseconds by the 8254 clock, interrupts as they are. */
void clock_wait_us(uint32_t us);
/*
 * clock_sleep_us: wait up to `us` microseconds of the 8254 clock with
 * `sti; hlt`, reading the clock once per wake-up (any interrupt, or a
 * 2 ms local APIC timer heartbeat on vector 0xfe), and stop early once
 * *counter >= target (counter may be NULL). Returns with interrupts
 * enabled. Unlike clock_wait_us it does not poll the 8254 all the time.
 */
void clock_sleep_us(uint32_t us, volatile unsigned *counter, unsigned target);
/* Microseconds from a tick count, and back. */
uint32_t clock_ticks_to_us(uint64_t ticks);
uint64_t clock_us_to_ticks(uint32_t us);

/* lapic_enable_pc: software-enable the local APIC (spurious vector 0xff)
 * with LINT0 as ExtINT unmasked, as PC firmware leaves it, so that an 8259
 * still reaches the CPU. */
void lapic_enable_pc(void);

/* The I/O APIC through IOREGSEL/IOWIN. */
uint32_t ioapic_read(unsigned index);
void ioapic_write(unsigned index, uint32_t value);
/* ioapic_route: pin -> vector, fixed delivery, physical destination APIC
 * 0; level when `level`; masked when `masked`. */
void ioapic_route(unsigned pin, uint8_t vector, bool level, bool masked);

#endif /* RT_PC_H */
