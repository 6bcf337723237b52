/*
 * samples/guests/irq.c: timer interrupts from the local APIC (KVM's
 * in-kernel LAPIC on the kvm backend; no vdev needed). Checks that ticks
 * arrive on the programmed vector, that the popf;ret return path keeps
 * registers and flags intact while interrupts land in the middle of a
 * computation, and that a masked timer stops interrupting.
 */
#include "rt/rt.h"

#define TIMER_VECTOR 0x40
#define TICKS_WANTED 5

static volatile unsigned ticks;
static volatile unsigned bad_vector;

static void timer_handler(struct rt_irq_frame *frame)
{
	if (frame->vector != TIMER_VECTOR)
		bad_vector = frame->vector;
	ticks++;
	lapic_write(LAPIC_EOI, 0);
}

/* A computation whose registers an interrupt handler must not disturb. */
static uint32_t mix(unsigned rounds)
{
	uint32_t a = 1, b = 0x9e3779b9u;

	for (unsigned i = 0; i < rounds; i++) {
		a = a * 33 + b;
		b ^= a >> 3;
		__asm__ volatile("" : "+r"(a), "+r"(b));
	}
	return a ^ b;
}

void guest_main(void)
{
	rt_irq_set_handler(TIMER_VECTOR, timer_handler);
	/* Software-enable the APIC with spurious vector 0xff. */
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_TIMER_DIVIDE, 0x3);			 /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, (1u << 17) | TIMER_VECTOR); /* periodic */
	/* 62500 * 16 bus cycles: 1 ms at KVM's 1 GHz APIC bus. */
	lapic_write(LAPIC_TIMER_INITIAL, 62500);

	irq_enable();
	while (ticks < TICKS_WANTED)
		irq_wait();
	rt_printf("ticks %u\n", ticks);
	rt_check("lapic-timer-ticks", ticks >= TICKS_WANTED);
	rt_check("lapic-timer-vector", bad_vector == 0);

	/* Interrupts landing inside a loop must leave its state intact: the
	 * same computation with interrupts off gives the reference. */
	unsigned before = ticks;
	uint32_t with_irqs = mix(3000);
	unsigned during = ticks - before;

	irq_disable();
	uint32_t reference = mix(3000);

	irq_enable();
	rt_printf("ticks during computation %u\n", during);
	rt_check("irq-preserves-state", with_irqs == reference);

	/* Mask and stop the timer, let a tick already latched in IRR drain,
	 * then no further tick may arrive. */
	lapic_write(LAPIC_LVT_TIMER, (1u << 16) | TIMER_VECTOR);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	(void)mix(50);
	irq_disable();
	unsigned masked_at = ticks;

	irq_enable();
	(void)mix(1000);
	irq_disable();
	rt_check("lapic-timer-masked", ticks == masked_at);
}
