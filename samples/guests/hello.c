/*
 * samples/guests/hello.c: the smallest guest: prints through COM1, checks
 * what the PVH loader handed over, and powers off with success.
 */
#include "rt/rt.h"

static bool string_equal(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

void guest_main(void)
{
	const struct hvm_start_info *si = rt_start_info;

	rt_puts("hello from a vdm sample guest\n");
	if (!rt_check("start-info", si != NULL && si->version >= 1))
		return;
	rt_printf("cmdline: \"%s\"\n", rt_cmdline());

	/* The memory map must describe the RAM we run in (1 MiB, where the
	 * image is loaded) as usable. */
	bool covered = false;

	if (si->memmap_paddr && si->memmap_entries) {
		const struct hvm_memmap_table_entry *map =
		    (const void *)(uintptr_t)si->memmap_paddr;

		for (uint32_t i = 0; i < si->memmap_entries && i < 64; i++) {
			rt_printf("memmap %llx+%llx type %u\n", (unsigned long long)map[i].addr,
				  (unsigned long long)map[i].size, map[i].type);
			if (map[i].type == XEN_HVM_MEMMAP_TYPE_RAM && map[i].addr <= 0x100000 &&
			    map[i].addr + map[i].size > 0x100000)
				covered = true;
		}
	}
	rt_check("memmap", covered);
	/* A command line "expect=WORD" lets a test check that the loader
	 * passed it through unchanged. */
	const char *cmdline = rt_cmdline();

	if (cmdline[0] == 'e' && cmdline[1] == 'x' && cmdline[2] == 'p' && cmdline[3] == 'e' &&
	    cmdline[4] == 'c' && cmdline[5] == 't' && cmdline[6] == '=')
		rt_check("cmdline", string_equal(cmdline + 7, "vdm-hello"));
	rt_pass("hello");
}
