/*
 * samples/guests/exitbench.c: a loop of `out` instructions to port 0x80, to
 * measure the cost of one exit to the device model (round trips per
 * second). The count comes from the command line ("n=NUMBER", default
 * 10000), so the host can time two runs and subtract the boot cost.
 */
#include "rt/rt.h"

static unsigned parse_count(const char *s)
{
	unsigned n = 0;

	if (s[0] != 'n' || s[1] != '=')
		return 10000;
	for (s += 2; *s >= '0' && *s <= '9'; s++)
		n = n * 10 + (unsigned)(*s - '0');
	return n;
}

void guest_main(void)
{
	unsigned n = parse_count(rt_cmdline());

	for (unsigned i = 0; i < n; i++)
		outb(0x80, (uint8_t)i);
	rt_printf("outs %u\n", n);
	rt_pass("exitbench");
}
