/*
 * samples/guests/dump.c: a guest to take a dump of (vdm's `dump`). It
 * fills a page with a known pattern, prints where it is, loads known values
 * into registers and parks on one instruction; the IB700 watchdog (if the
 * VM has one) is armed with its shortest timeout first, so that a
 * `dump,terminate` action dumps it there. tests/kvm/dump.sh reads the
 * registers and the pattern back from the core with gdb.
 *
 * The pattern: word i of the page is 0x5eed0000 + i.
 */
#include "rt/rt.h"

static volatile uint32_t pattern[1024] __attribute__((aligned(4096)));

void guest_main(void)
{
	for (unsigned i = 0; i < 1024; i++)
		pattern[i] = 0x5eed0000u + i;
	rt_printf("pattern at 0x%x\n", (unsigned)(uintptr_t)pattern);
	rt_printf("parking\n");
	/* ebx, esi, edi, ebp hold known values; the IB700's start port gets
	 * 15 (a 0 s timeout: the watchdog fires at once); then one `jmp .` */
	__asm__ volatile("mov $0x12345678, %%ebx\n\t"
			 "mov $0xcafef00d, %%esi\n\t"
			 "mov $0x0badc0de, %%edi\n\t"
			 "mov $0x600dd00d, %%ebp\n\t"
			 "mov $0x443, %%dx\n\t"
			 "mov $15, %%al\n\t"
			 "out %%al, %%dx\n\t"
			 "1: jmp 1b\n\t" ::
			     : "eax", "ebx", "edx", "esi", "edi", "memory");
}
