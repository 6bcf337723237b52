/*
 * devmodel/guest_loader.c: ELF/PVH/raw image loading and hvm_start_info
 * (contract in guest_loader.h). Every offset and size in an image is
 * checked against the file before it is used, and every guest address
 * against the regions, because an image is untrusted input.
 */
#include "devmodel/guest_loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xen/elfnote.h>

#include "conf/conf.h"

/* The largest image guest_load_file reads (guests are small here). */
#define GUEST_FILE_MAX (1ull << 30)

/* Find the region holding gpa; *avail = bytes from gpa to its end. */
static const struct guest_loader_region *region_find(const struct guest_loader_mem *mem,
						     uint64_t gpa, uint64_t *avail)
{
	for (unsigned i = 0; i < mem->count; i++) {
		const struct guest_loader_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			*avail = r->size - (gpa - r->gpa);
			return r;
		}
	}
	return NULL;
}

/* Check that [gpa, gpa + length) is all guest memory (adjacent regions
 * may share the range). */
static bool range_in_memory(const struct guest_loader_mem *mem, uint64_t gpa, uint64_t length)
{
	if (gpa + length < gpa)
		return false;
	while (length) {
		uint64_t avail;

		if (!region_find(mem, gpa, &avail))
			return false;
		if (avail >= length)
			return true;
		gpa += avail;
		length -= avail;
	}
	return true;
}

/* Write bytes (buf) or zeroes (buf == NULL) after checking the whole range. */
static int mem_fill(const struct guest_loader_mem *mem, uint64_t gpa, const void *buf,
		    uint64_t length)
{
	const uint8_t *src = buf;

	if (!range_in_memory(mem, gpa, length))
		return -EFAULT;
	while (length) {
		uint64_t avail;
		const struct guest_loader_region *r = region_find(mem, gpa, &avail);
		uint64_t n = avail < length ? avail : length;
		uint8_t *dst = (uint8_t *)r->host + (gpa - r->gpa);

		if (src) {
			memcpy(dst, src, n);
			src += n;
		} else {
			memset(dst, 0, n);
		}
		gpa += n;
		length -= n;
	}
	return 0;
}

int guest_loader_write(const struct guest_loader_mem *mem, uint64_t gpa, const void *buf,
		       size_t length)
{
	return mem_fill(mem, gpa, buf, length);
}

/* A program header in a class-independent form. */
struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

static int phdr_get(const uint8_t *image, size_t size, bool elf64, uint64_t phoff, unsigned index,
		    struct phdr *ph)
{
	size_t entsize = elf64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	uint64_t at = phoff + (uint64_t)index * entsize;

	if (at < phoff || at > size || size - at < entsize)
		return -ENOEXEC;
	if (elf64) {
		Elf64_Phdr p;

		memcpy(&p, image + at, sizeof(p));
		*ph = (struct phdr){p.p_type, p.p_offset, p.p_paddr, p.p_filesz, p.p_memsz};
	} else {
		Elf32_Phdr p;

		memcpy(&p, image + at, sizeof(p));
		*ph = (struct phdr){p.p_type, p.p_offset, p.p_paddr, p.p_filesz, p.p_memsz};
	}
	return 0;
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~3ull;
}

/* Look for Xen's PHYS32_ENTRY note in one PT_NOTE segment. */
static bool note_find_pvh(const uint8_t *image, size_t size, const struct phdr *ph, uint64_t *entry)
{
	uint64_t at = ph->offset, end;

	if (at > size || ph->filesz > size - at)
		return false;
	end = at + ph->filesz;
	while (end - at >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_at = at + 12, desc_at, next;

		memcpy(&namesz, image + at, 4);
		memcpy(&descsz, image + at + 4, 4);
		memcpy(&type, image + at + 8, 4);
		desc_at = name_at + align4(namesz);
		next = desc_at + align4(descsz);
		if (desc_at > end || next > end)
			return false;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(image + name_at, "Xen", 4) == 0 && (descsz == 4 || descsz == 8)) {
			uint64_t value = 0;

			memcpy(&value, image + desc_at, descsz);
			*entry = value;
			return true;
		}
		at = next;
	}
	return false;
}

int guest_load_elf(const struct guest_loader_mem *mem, const void *image_, size_t size,
		   struct guest_image *out)
{
	const uint8_t *image = image_;
	uint64_t phoff, e_entry, pvh_entry = 0;
	unsigned phnum, phentsize, machine, type;
	bool elf64, have_pvh = false, loaded = false;
	int err;

	if (size < EI_NIDENT || memcmp(image, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	if (image[EI_DATA] != ELFDATA2LSB || image[EI_VERSION] != EV_CURRENT)
		return -ENOEXEC;
	if (image[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (size < sizeof(eh))
			return -ENOEXEC;
		memcpy(&eh, image, sizeof(eh));
		elf64 = true;
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		machine = eh.e_machine;
		type = eh.e_type;
		e_entry = eh.e_entry;
		if (phentsize != sizeof(Elf64_Phdr))
			return -ENOEXEC;
	} else if (image[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		if (size < sizeof(eh))
			return -ENOEXEC;
		memcpy(&eh, image, sizeof(eh));
		elf64 = false;
		phoff = eh.e_phoff;
		phnum = eh.e_phnum;
		phentsize = eh.e_phentsize;
		machine = eh.e_machine;
		type = eh.e_type;
		e_entry = eh.e_entry;
		if (phentsize != sizeof(Elf32_Phdr))
			return -ENOEXEC;
	} else {
		return -ENOEXEC;
	}
	if ((machine != EM_386 && machine != EM_X86_64) || type != ET_EXEC || phnum == 0)
		return -ENOEXEC;

	*out = (struct guest_image){.low = UINT64_MAX, .elf64 = elf64};
	/* Validate the whole table before writing anything. */
	for (unsigned i = 0; i < phnum; i++) {
		struct phdr ph;

		err = phdr_get(image, size, elf64, phoff, i, &ph);
		if (err)
			return err;
		if (ph.type == PT_LOAD) {
			if (ph.filesz > ph.memsz || ph.offset > size ||
			    ph.filesz > size - ph.offset || ph.paddr + ph.memsz < ph.paddr)
				return -ENOEXEC;
			if (!range_in_memory(mem, ph.paddr, ph.memsz))
				return -EFAULT;
		} else if (ph.type == PT_NOTE && !have_pvh) {
			have_pvh = note_find_pvh(image, size, &ph, &pvh_entry);
		}
	}
	for (unsigned i = 0; i < phnum; i++) {
		struct phdr ph;

		phdr_get(image, size, elf64, phoff, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		err = mem_fill(mem, ph.paddr, image + ph.offset, ph.filesz);
		if (!err)
			err = mem_fill(mem, ph.paddr + ph.filesz, NULL, ph.memsz - ph.filesz);
		if (err)
			return err;
		if (ph.paddr < out->low)
			out->low = ph.paddr;
		if (ph.paddr + ph.memsz > out->high)
			out->high = ph.paddr + ph.memsz;
		loaded = true;
	}
	if (!loaded)
		return -ENOEXEC;
	out->kind = have_pvh ? GUEST_IMAGE_PVH : GUEST_IMAGE_ELF;
	out->entry = have_pvh ? pvh_entry : e_entry;
	return 0;
}

int guest_load_raw(const struct guest_loader_mem *mem, const void *image, size_t size, uint64_t gpa,
		   struct guest_image *out)
{
	int err = mem_fill(mem, gpa, image, size);

	if (err)
		return err;
	*out = (struct guest_image){
	    .kind = GUEST_IMAGE_RAW, .entry = gpa, .low = gpa, .high = gpa + size};
	return 0;
}

int guest_load_file(const struct guest_loader_mem *mem, const char *path, bool raw,
		    uint64_t raw_gpa, struct guest_image *out)
{
	const char *why;
	char *buf;
	size_t done;
	int err;

	/* Never blocks: a FIFO or device is refused before it is read. */
	err = conf_file_read(path, GUEST_FILE_MAX, &buf, &done, &why);
	if (err < 0) {
		fprintf(stderr, "vdm: cannot load '%s': %s%s\n", path, why,
			err == -EFBIG ? " (at most 1 GiB)" : "");
		return err;
	}
	err = raw ? guest_load_raw(mem, buf, done, raw_gpa, out)
		  : guest_load_elf(mem, buf, done, out);
	if (err == -ENOEXEC)
		fprintf(stderr, "vdm: %s: not a loadable x86 ELF executable\n", path);
	else if (err == -EFAULT)
		fprintf(stderr, "vdm: %s: image does not fit in guest memory\n", path);
	free(buf);
	return err;
}

static int memmap_compare(const void *a, const void *b)
{
	const struct hvm_memmap_table_entry *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Is [gpa, gpa + length) inside one writable RAM region? */
static bool range_is_ram(const struct guest_loader_mem *mem, uint64_t gpa, uint64_t length)
{
	uint64_t avail;
	const struct guest_loader_region *r = region_find(mem, gpa, &avail);

	return r && !r->read_only && avail >= length;
}

int guest_write_start_info(const struct guest_loader_mem *mem, const struct guest_image *image,
			   const char *cmdline, const struct hvm_memmap_table_entry *extra,
			   unsigned extra_count, uint64_t at, uint64_t *start_info_gpa)
{
	size_t cmdline_len = cmdline ? strlen(cmdline) + 1 : 0;
	unsigned entries = mem->count + extra_count;
	struct hvm_memmap_table_entry *map;
	struct hvm_start_info info;
	uint64_t need, map_at, cmdline_at;
	int err = 0;

	if (cmdline_len > GUEST_CMDLINE_MAX)
		return -E2BIG;
	if (entries > 1024)
		return -E2BIG;
	need = sizeof(info) + (uint64_t)entries * sizeof(*map) + cmdline_len;

	if (at == 0) {
		/* Candidates: 4 KiB, every region's start, just past the image. */
		uint64_t best = UINT64_MAX;

		for (unsigned i = 0; i <= mem->count; i++) {
			uint64_t c = i == mem->count ? image->high : mem->regions[i].gpa;

			c = (c + 0xfff) & ~0xfffull;
			if (c < 0x1000)
				c = 0x1000;
			bool overlaps = c < image->high && image->low < c + need;

			if (!overlaps && c + need <= 0x100000000ull && range_is_ram(mem, c, need) &&
			    c < best)
				best = c;
		}
		if (best == UINT64_MAX)
			return -ENOSPC;
		at = best;
	} else if (!range_is_ram(mem, at, need) || at + need > 0x100000000ull) {
		return -EFAULT;
	}

	map = calloc(entries ? entries : 1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	for (unsigned i = 0; i < mem->count; i++) {
		map[i].addr = mem->regions[i].gpa;
		map[i].size = mem->regions[i].size;
		map[i].type = mem->regions[i].read_only ? XEN_HVM_MEMMAP_TYPE_RESERVED
							: XEN_HVM_MEMMAP_TYPE_RAM;
	}
	for (unsigned i = 0; i < extra_count; i++) {
		map[mem->count + i] = extra[i];
		map[mem->count + i].reserved = 0;
	}
	qsort(map, entries, sizeof(*map), memmap_compare);

	map_at = at + sizeof(info);
	cmdline_at = map_at + (uint64_t)entries * sizeof(*map);
	memset(&info, 0, sizeof(info));
	info.magic = XEN_HVM_START_MAGIC_VALUE;
	info.version = 1;
	info.cmdline_paddr = cmdline_len ? cmdline_at : 0;
	info.memmap_paddr = entries ? map_at : 0;
	info.memmap_entries = entries;

	err = mem_fill(mem, at, &info, sizeof(info));
	if (!err && entries)
		err = mem_fill(mem, map_at, map, (uint64_t)entries * sizeof(*map));
	if (!err && cmdline_len)
		err = mem_fill(mem, cmdline_at, cmdline, cmdline_len);
	free(map);
	if (!err)
		*start_info_gpa = at;
	return err;
}
