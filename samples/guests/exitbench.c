/*
 * samples/guests/exitbench.c: a loop of accesses the device model answers,
 * to measure the cost of one exit (round trips per second). The command
 * line says how many ("n=NUMBER", default 10000) and of which kind: `out`s
 * to port 0x80 by default, byte writes to MMIO 0xd0000000 (nothing there on
 * vdm or QEMU microvm: both answer from their unclaimed-access path) with
 * " mmio" after the count. The host times two runs with different counts
 * and subtracts, which removes the boot cost.
 */
#include "rt/rt.h"

#define EXITBENCH_MMIO 0xd0000000u

static unsigned parse_count(const char *s, bool *mmio)
{
	unsigned n = 0;

	*mmio = false;
	if (s[0] != 'n' || s[1] != '=')
		return 10000;
	for (s += 2; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (unsigned)(*s - '0');
	*mmio = s[0] == ' ' && s[1] == 'm' && s[2] == 'm' && s[3] == 'i' && s[4] == 'o';
	return n;
}

void guest_main(void)
{
	bool mmio;
	unsigned n = parse_count(rt_cmdline(), &mmio);

	if (mmio) {
		for (unsigned i = 0; i < n; i++)
			mmio_write8(EXITBENCH_MMIO, (uint8_t)i);
		rt_printf("mmio writes %u\n", n);
	} else {
		for (unsigned i = 0; i < n; i++)
			outb(0x80, (uint8_t)i);
		rt_printf("outs %u\n", n);
	}
	rt_pass("exitbench");
}
