/*
 * samples/guests/xen_smp.c: two vCPUs doing port I/O at the same time.
 *
 * vCPU 0 starts vCPU 1 the way firmware does, with a STARTUP IPI through
 * its local APIC (Xen's emulated one; KVM's in-kernel one): the AP begins
 * in real mode at the trampoline copied to 0x8000, loads a flat GDT, enters
 * 32-bit mode and calls smp_ap_main on its own stack. Then both hammer the
 * scratch register of their own vdev-ser8250 (vCPU 0: 0x2e8, vCPU 1:
 * 0x2f8), each checking every value it reads back, and each noting whether
 * the other made progress while it ran: on Xen the two vCPUs' requests sit
 * in their own ioreq slots and vdm serves both.
 */
#include "rt/rt.h"

#define TRAMPOLINE     0x8000u
#define BSP_SCR	       (0x2e8 + 7)
#define AP_SCR	       (0x2f8 + 7)
#define ROUNDS	       2000
#define LAPIC_ICR_LOW  0x300
#define LAPIC_ICR_HIGH 0x310
/* destination shorthand "all excluding self": no APIC ID needed */
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_INIT	 (5u << 8)
#define ICR_STARTUP	 (6u << 8)
#define ICR_ASSERT	 (1u << 14)

extern const char smp_tramp_start[], smp_tramp_end[];
void smp_ap_main(void);

/* The AP's entry: 16-bit code run from TRAMPOLINE, then 32-bit code here. */
__asm__(".pushsection .rodata\n"
	".code16\n"
	".globl smp_tramp_start\n"
	"smp_tramp_start:\n"
	"	cli\n"
	"	movw %cs, %ax\n"
	"	movw %ax, %ds\n"
	"	lgdtl smp_tramp_gdtr - smp_tramp_start\n"
	"	movl %cr0, %eax\n"
	"	orl $1, %eax\n"
	"	movl %eax, %cr0\n"
	"	ljmpl $0x08, $smp_ap_entry\n"
	"	.p2align 3\n"
	"smp_tramp_gdt:\n"
	"	.quad 0\n"
	"	.quad 0x00cf9a000000ffff\n"
	"	.quad 0x00cf92000000ffff\n"
	"smp_tramp_gdtr:\n"
	"	.word 23\n"
	"	.long 0x8000 + (smp_tramp_gdt - smp_tramp_start)\n"
	".globl smp_tramp_end\n"
	"smp_tramp_end:\n"
	".code32\n"
	".popsection\n"
	".pushsection .text\n"
	"smp_ap_entry:\n"
	"	movl $0x10, %eax\n"
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	movl %eax, %ss\n"
	"	movl %eax, %fs\n"
	"	movl %eax, %gs\n"
	"	movl smp_ap_esp, %esp\n"
	"	call smp_ap_main\n"
	"1:	sti\n"
	"	hlt\n"
	"	jmp 1b\n"
	".popsection\n");

static uint8_t ap_stack[4096] __attribute__((aligned(16)));
uint32_t smp_ap_esp;
static volatile unsigned ap_started, ap_go, ap_done, ap_errors, ap_rounds, bsp_rounds;
static volatile unsigned ap_saw_bsp, ap_apic_id;

/* Scratch-register round trips on `port`; counts progress in *rounds. */
static unsigned hammer(uint16_t port, volatile unsigned *rounds)
{
	unsigned errors = 0;

	for (unsigned i = 0; i < ROUNDS; i++) {
		uint8_t v = (uint8_t)(i * 7 + (port & 0xff));

		outb(port, v);
		if (inb(port) != v)
			errors++;
		*rounds = i + 1;
	}
	return errors;
}

void smp_ap_main(void)
{
	unsigned bsp_before;

	ap_apic_id = lapic_read(LAPIC_ID) >> 24;
	ap_started = 1;
	while (!ap_go)
		__asm__ volatile("pause");
	bsp_before = bsp_rounds;
	ap_errors = hammer(AP_SCR, &ap_rounds);
	ap_saw_bsp = bsp_rounds != bsp_before;
	ap_done = 1;
	/* wait with IF=1 and no interrupt coming: stays parked, never a VM exit loop */
}

static void spin(unsigned rounds)
{
	for (volatile unsigned i = 0; i < rounds; i++)
		;
}

static bool wait_flag(volatile unsigned *flag, unsigned rounds)
{
	for (unsigned i = 0; i < rounds && !*flag; i++)
		spin(100);
	return *flag != 0;
}

/* Waits for the AP to finish its rounds for as long as it makes progress:
 * a slow host (Xen under emulation on a loaded machine) is not a failure,
 * an AP that stopped is. */
static bool wait_ap_done(void)
{
	unsigned last = ap_rounds;

	for (unsigned idle = 0; idle < 200000 && !ap_done; idle++) {
		spin(100);
		if (ap_rounds != last) {
			last = ap_rounds;
			idle = 0;
		}
	}
	return ap_done != 0;
}

void guest_main(void)
{
	unsigned bsp_id = lapic_read(LAPIC_ID) >> 24, errors, ap_before;
	const char *s = smp_tramp_start;
	char *d = (char *)TRAMPOLINE;

	while (s < smp_tramp_end)
		*d++ = *s++;
	smp_ap_esp = (uint32_t)(uintptr_t)(ap_stack + sizeof(ap_stack));
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_ICR_HIGH, 0);
	lapic_write(LAPIC_ICR_LOW, ICR_ALL_BUT_SELF | ICR_INIT | ICR_ASSERT);
	spin(10000);
	for (unsigned tries = 0; tries < 2 && !ap_started; tries++) {
		lapic_write(LAPIC_ICR_LOW,
			    ICR_ALL_BUT_SELF | ICR_STARTUP | ICR_ASSERT | (TRAMPOLINE >> 12));
		wait_flag(&ap_started, 20000);
	}
	if (!rt_check("smp-ap-started", ap_started))
		return;
	rt_printf("APIC IDs: vCPU 0 %u, vCPU 1 %u\n", bsp_id, ap_apic_id);
	rt_check("smp-ap-apic-id", ap_apic_id != bsp_id);

	ap_go = 1;
	ap_before = ap_rounds;
	errors = hammer(BSP_SCR, &bsp_rounds);
	rt_check("smp-io-overlap", ap_rounds != ap_before || ap_saw_bsp);
	wait_ap_done();
	rt_printf("vCPU 0: %u round trips, %u wrong; vCPU 1: %u round trips, %u wrong\n",
		  bsp_rounds, errors, ap_rounds, ap_errors);
	rt_check("smp-bsp-io", errors == 0 && bsp_rounds == ROUNDS);
	rt_check("smp-ap-io", ap_done && ap_errors == 0 && ap_rounds == ROUNDS);
}
