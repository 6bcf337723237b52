/*
 * libFuzzer target for the guest loader (devmodel/guest_loader.c): any
 * bytes as an ELF image (32/64-bit, PT_LOAD segments, the PVH note) loaded
 * into two small RAM regions and a ROM, then hvm_start_info with a memory
 * map and a command line. An image is untrusted input: nothing may crash,
 * hang or write outside the regions (each is guarded by poisoned bytes
 * that must stay untouched).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/guest_loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUARD 64

static uint8_t low[GUARD + 0x40000 + GUARD], high[GUARD + 0x10000 + GUARD],
    rom[GUARD + 0x1000 + GUARD];

static void guard_check(const uint8_t *buf, size_t inner)
{
	for (size_t i = 0; i < GUARD; i++)
		if (buf[i] != 0xa5 || buf[GUARD + inner + i] != 0xa5)
			__builtin_trap(); /* the loader wrote outside a region */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct guest_loader_region regions[] = {
	    {.host = low + GUARD, .gpa = 0, .size = 0x40000},
	    {.host = high + GUARD, .gpa = 0x100000, .size = 0x10000},
	    {.host = rom + GUARD, .gpa = 0xffff000, .size = 0x1000, .read_only = true},
	};
	const struct guest_loader_mem mem = {regions, 3};
	const struct hvm_memmap_table_entry extra[] = {
	    {.addr = 0xfee00000, .size = 0x1000, .type = 2},
	};
	struct guest_image image;
	uint64_t at;
	char cmdline[64];

	memset(low, 0xa5, sizeof(low));
	memset(high, 0xa5, sizeof(high));
	memset(rom, 0xa5, sizeof(rom));
	if (guest_load_elf(&mem, data, size, &image) == 0) {
		/* the command line: the image's first bytes, as text */
		size_t n = size < sizeof(cmdline) - 1 ? size : sizeof(cmdline) - 1;

		memcpy(cmdline, data, n);
		cmdline[n] = '\0';
		guest_write_start_info(&mem, &image, cmdline, extra, 1, 0, &at);
	}
	guest_load_raw(&mem, data, size, size & 0xfffff, &image);
	guard_check(low, 0x40000);
	guard_check(high, 0x10000);
	guard_check(rom, 0x1000);
	return 0;
}
