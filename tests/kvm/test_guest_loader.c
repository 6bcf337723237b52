/*
 * tests/kvm/test_guest_loader.c: devmodel/guest_loader.c on images built in
 * memory: PVH note, plain ELF32/ELF64, raw, malformed tables, bounds, and
 * the hvm_start_info / memory map / command line it writes.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/guest_loader.h"

#define RAM_SIZE 0x200000u   /* 2 MiB RAM at 0 */
#define ROM_GPA	 0xfff00000u /* 64 KiB ROM */
#define ROM_SIZE 0x10000u

struct fixture {
	uint8_t *ram;
	uint8_t *rom;
	struct guest_loader_region regions[2];
	struct guest_loader_mem mem;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ram = calloc(1, RAM_SIZE);
	f->rom = calloc(1, ROM_SIZE);
	assert_non_null(f->ram);
	assert_non_null(f->rom);
	memset(f->ram, 0xee, RAM_SIZE); /* so that zeroed bss is visible */
	f->regions[0] = (struct guest_loader_region){f->ram, 0, RAM_SIZE, false};
	f->regions[1] = (struct guest_loader_region){f->rom, ROM_GPA, ROM_SIZE, true};
	f->mem = (struct guest_loader_mem){f->regions, 2};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->ram);
	free(f->rom);
	free(f);
	return 0;
}

/* An ELF32 image: one PT_LOAD of `payload` (+ bss) at `paddr`, optionally a
 * PT_NOTE holding Xen's PHYS32_ENTRY note with `pvh_entry`. */
struct elf32_image {
	Elf32_Ehdr eh;
	Elf32_Phdr ph[2];
	struct {
		uint32_t namesz, descsz, type;
		char name[4];
		uint32_t desc;
	} note;
	uint8_t payload[16];
};

static void build_elf32(struct elf32_image *img, uint32_t paddr, uint32_t memsz, bool pvh,
			uint32_t pvh_entry)
{
	memset(img, 0, sizeof(*img));
	memcpy(img->eh.e_ident, ELFMAG, SELFMAG);
	img->eh.e_ident[EI_CLASS] = ELFCLASS32;
	img->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img->eh.e_ident[EI_VERSION] = EV_CURRENT;
	img->eh.e_type = ET_EXEC;
	img->eh.e_machine = EM_386;
	img->eh.e_version = EV_CURRENT;
	img->eh.e_entry = paddr + 4;
	img->eh.e_phoff = offsetof(struct elf32_image, ph);
	img->eh.e_ehsize = sizeof(Elf32_Ehdr);
	img->eh.e_phentsize = sizeof(Elf32_Phdr);
	img->eh.e_phnum = pvh ? 2 : 1;
	for (unsigned i = 0; i < sizeof(img->payload); i++)
		img->payload[i] = (uint8_t)(0xa0 + i);
	img->ph[0] = (Elf32_Phdr){.p_type = PT_LOAD,
				  .p_offset = offsetof(struct elf32_image, payload),
				  .p_vaddr = paddr,
				  .p_paddr = paddr,
				  .p_filesz = sizeof(img->payload),
				  .p_memsz = memsz};
	img->ph[1] = (Elf32_Phdr){.p_type = PT_NOTE,
				  .p_offset = offsetof(struct elf32_image, note),
				  .p_filesz = sizeof(img->note)};
	img->note.namesz = 4;
	img->note.descsz = 4;
	img->note.type = 18; /* XEN_ELFNOTE_PHYS32_ENTRY */
	memcpy(img->note.name, "Xen", 4);
	img->note.desc = pvh_entry;
}

static void test_pvh_elf(void **state)
{
	struct fixture *f = *state;
	struct elf32_image img;
	struct guest_image out;

	build_elf32(&img, 0x100000, 64, true, 0x100008);
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), 0);
	assert_int_equal(out.kind, GUEST_IMAGE_PVH);
	assert_int_equal(out.entry, 0x100008);
	assert_int_equal(out.low, 0x100000);
	assert_int_equal(out.high, 0x100000 + 64);
	assert_false(out.elf64);
	assert_memory_equal(f->ram + 0x100000, img.payload, sizeof(img.payload));
	for (unsigned i = sizeof(img.payload); i < 64; i++)
		assert_int_equal(f->ram[0x100000 + i], 0); /* bss zeroed */
	assert_int_equal(f->ram[0x100000 + 64], 0xee);	   /* nothing beyond */
}

static void test_plain_elf(void **state)
{
	struct fixture *f = *state;
	struct elf32_image img;
	struct guest_image out;

	build_elf32(&img, 0x2000, 16, false, 0);
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), 0);
	assert_int_equal(out.kind, GUEST_IMAGE_ELF);
	assert_int_equal(out.entry, 0x2004);

	/* A note with another type or name is not a PVH entry. */
	build_elf32(&img, 0x2000, 16, true, 0x2008);
	img.note.type = 17;
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), 0);
	assert_int_equal(out.kind, GUEST_IMAGE_ELF);
	build_elf32(&img, 0x2000, 16, true, 0x2008);
	memcpy(img.note.name, "Xun", 4);
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), 0);
	assert_int_equal(out.kind, GUEST_IMAGE_ELF);
	/* A note whose size runs past its segment is ignored, not read. */
	build_elf32(&img, 0x2000, 16, true, 0x2008);
	img.note.descsz = 0x7fffffff;
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), 0);
	assert_int_equal(out.kind, GUEST_IMAGE_ELF);
}

static void test_elf64(void **state)
{
	struct fixture *f = *state;
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		uint8_t payload[8];
	} img;
	struct guest_image out;

	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_machine = EM_X86_64;
	img.eh.e_entry = 0x3000;
	img.eh.e_phoff = offsetof(__typeof__(img), ph);
	img.eh.e_phentsize = sizeof(Elf64_Phdr);
	img.eh.e_phnum = 1;
	memcpy(img.payload, "elf64!!", 8);
	img.ph = (Elf64_Phdr){.p_type = PT_LOAD,
			      .p_offset = offsetof(__typeof__(img), payload),
			      .p_paddr = 0x3000,
			      .p_filesz = 8,
			      .p_memsz = 8};
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), 0);
	assert_true(out.elf64);
	assert_int_equal(out.kind, GUEST_IMAGE_ELF);
	assert_int_equal(out.entry, 0x3000);
	assert_memory_equal(f->ram + 0x3000, "elf64!!", 8);

	img.eh.e_machine = EM_AARCH64;
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), -ENOEXEC);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	struct elf32_image img;
	struct guest_image out;

	build_elf32(&img, 0x100000, 64, true, 0x100008);
	/* Truncated: the header alone. */
	assert_int_equal(guest_load_elf(&f->mem, &img, 20, &out), -ENOEXEC);
	/* Program headers outside the file. */
	img.eh.e_phoff = 0xfffffff0u;
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), -ENOEXEC);
	/* Segment bytes outside the file. */
	build_elf32(&img, 0x100000, 64, false, 0);
	img.ph[0].p_offset = sizeof(img) - 4;
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), -ENOEXEC);
	/* filesz > memsz. */
	build_elf32(&img, 0x100000, 8, false, 0);
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), -ENOEXEC);
	/* Not an ELF at all. */
	assert_int_equal(guest_load_elf(&f->mem, "hello world, not elf", 20, &out), -ENOEXEC);
	/* Wrong phentsize. */
	build_elf32(&img, 0x100000, 64, false, 0);
	img.eh.e_phentsize = 16;
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), -ENOEXEC);
}

static void test_bounds(void **state)
{
	struct fixture *f = *state;
	struct elf32_image img;
	struct guest_image out;

	/* A segment in the hole between RAM and ROM: refused, nothing written. */
	build_elf32(&img, 0x80000000u, 64, false, 0);
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), -EFAULT);
	/* Straddling the end of RAM. */
	build_elf32(&img, RAM_SIZE - 8, 64, false, 0);
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), -EFAULT);
	assert_int_equal(f->ram[RAM_SIZE - 8], 0xee);
	/* Wrapping around 2^32 in a 32-bit image's addresses is a gap too. */
	build_elf32(&img, 0xfffffff8u, 64, false, 0);
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), -EFAULT);
	/* Firmware may go into ROM (the loader fills it, the guest cannot). */
	build_elf32(&img, ROM_GPA, 16, false, 0);
	assert_int_equal(guest_load_elf(&f->mem, &img, sizeof(img), &out), 0);
	assert_memory_equal(f->rom, img.payload, 16);
}

static void test_raw(void **state)
{
	struct fixture *f = *state;
	struct guest_image out;

	assert_int_equal(guest_load_raw(&f->mem, "\x0f\x0b", 2, 0x7000, &out), 0);
	assert_int_equal(out.kind, GUEST_IMAGE_RAW);
	assert_int_equal(out.entry, 0x7000);
	assert_int_equal(out.high, 0x7002);
	assert_int_equal(f->ram[0x7000], 0x0f);
	assert_int_equal(f->ram[0x7001], 0x0b);
	assert_int_equal(guest_load_raw(&f->mem, "abcd", 4, RAM_SIZE - 2, &out), -EFAULT);
	assert_int_equal(f->ram[RAM_SIZE - 2], 0xee);
}

/* Adjacent regions behave as one range. */
static void test_adjacent_regions(void **state)
{
	struct fixture *f = *state;
	uint8_t *low = calloc(1, 0x1000), *high = calloc(1, 0x1000);
	struct guest_loader_region regions[2] = {
	    {low, 0x10000, 0x1000, false},
	    {high, 0x11000, 0x1000, false},
	};
	struct guest_loader_mem mem = {regions, 2};

	(void)f;
	assert_int_equal(guest_loader_write(&mem, 0x10ffe, "wxyz", 4), 0);
	assert_memory_equal(low + 0xffe, "wx", 2);
	assert_memory_equal(high, "yz", 2);
	assert_int_equal(guest_loader_write(&mem, 0x11ffe, "wxyz", 4), -EFAULT);
	assert_int_equal(high[0xffe], 0);
	free(low);
	free(high);
}

static void test_start_info(void **state)
{
	struct fixture *f = *state;
	struct guest_image image = {
	    .kind = GUEST_IMAGE_PVH, .entry = 0x100000, .low = 0x100000, .high = 0x104000};
	struct hvm_memmap_table_entry extra = {
	    .addr = 0xfec00000u, .size = 0x1000, .type = XEN_HVM_MEMMAP_TYPE_RESERVED};
	const struct hvm_start_info *si;
	const struct hvm_memmap_table_entry *map;
	uint64_t at = 0;

	assert_int_equal(
	    guest_write_start_info(&f->mem, &image, "console=ttyS0 x=1", &extra, 1, 0, &at), 0);
	assert_int_equal(at, 0x1000);
	si = (const void *)(f->ram + at);
	assert_int_equal(si->magic, XEN_HVM_START_MAGIC_VALUE);
	assert_int_equal(si->version, 1);
	assert_int_equal(si->nr_modules, 0);
	assert_int_equal(si->memmap_entries, 3);
	assert_true(si->memmap_paddr > at && si->memmap_paddr < RAM_SIZE);
	map = (const void *)(f->ram + si->memmap_paddr);
	/* Sorted: RAM at 0, the extra reserve, the ROM as reserved. */
	assert_int_equal(map[0].addr, 0);
	assert_int_equal(map[0].size, RAM_SIZE);
	assert_int_equal(map[0].type, XEN_HVM_MEMMAP_TYPE_RAM);
	assert_int_equal(map[1].addr, 0xfec00000u);
	assert_int_equal(map[1].type, XEN_HVM_MEMMAP_TYPE_RESERVED);
	assert_int_equal(map[2].addr, ROM_GPA);
	assert_int_equal(map[2].size, ROM_SIZE);
	assert_int_equal(map[2].type, XEN_HVM_MEMMAP_TYPE_RESERVED);
	assert_true(si->cmdline_paddr < RAM_SIZE);
	assert_string_equal((const char *)f->ram + si->cmdline_paddr, "console=ttyS0 x=1");

	/* An image at 0 pushes the block past its end. */
	image.low = 0;
	image.high = 0x5123;
	assert_int_equal(guest_write_start_info(&f->mem, &image, NULL, NULL, 0, 0, &at), 0);
	assert_int_equal(at, 0x6000);
	si = (const void *)(f->ram + at);
	assert_int_equal(si->cmdline_paddr, 0);
	assert_int_equal(si->memmap_entries, 2);

	/* Explicit places: ROM or outside memory are refused. */
	assert_int_equal(guest_write_start_info(&f->mem, &image, NULL, NULL, 0, ROM_GPA, &at),
			 -EFAULT);
	assert_int_equal(guest_write_start_info(&f->mem, &image, NULL, NULL, 0, RAM_SIZE - 16, &at),
			 -EFAULT);
	assert_int_equal(guest_write_start_info(&f->mem, &image, NULL, NULL, 0, 0x9000, &at), 0);
	assert_int_equal(at, 0x9000);
}

static void test_cmdline_limit(void **state)
{
	struct fixture *f = *state;
	struct guest_image image = {.kind = GUEST_IMAGE_PVH, .low = 0x100000, .high = 0x101000};
	char *cmdline = malloc(GUEST_CMDLINE_MAX + 1);
	uint64_t at;

	memset(cmdline, 'a', GUEST_CMDLINE_MAX);
	cmdline[GUEST_CMDLINE_MAX] = '\0';
	assert_int_equal(guest_write_start_info(&f->mem, &image, cmdline, NULL, 0, 0, &at), -E2BIG);
	cmdline[GUEST_CMDLINE_MAX - 1] = '\0';
	assert_int_equal(guest_write_start_info(&f->mem, &image, cmdline, NULL, 0, 0, &at), 0);
	free(cmdline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pvh_elf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain_elf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_elf64, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_adjacent_regions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_start_info, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cmdline_limit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
