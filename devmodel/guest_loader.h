/*
 * devmodel/guest_loader.h: put a guest image into guest memory and describe
 * the machine to it.
 *
 * Three image forms: an ELF with a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY,
 * entered in 32-bit protected mode with EBX = hvm_start_info), a plain ELF
 * (entered at e_entry), or a raw image copied to a given address. For PVH
 * the loader also writes struct hvm_start_info (Xen's public
 * xen/arch-x86/hvm/start_info.h, version 1) with the command line and an
 * E820-style memory map.
 *
 * Memory is described as regions with host pointers (the backend's RAM and
 * ROM mappings); every write is bounds-checked against them, so nothing in
 * an image can make the loader write outside guest memory. Used by the kvm
 * backend; backend independent. Not thread-safe: call before the guest runs.
 */
#ifndef VDM_GUEST_LOADER_H
#define VDM_GUEST_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/arch-x86/hvm/start_info.h>

struct guest_loader_region {
	void *host;
	uint64_t gpa;
	uint64_t size;
	bool read_only; /* ROM for the guest; the loader may still fill it */
};

struct guest_loader_mem {
	const struct guest_loader_region *regions;
	unsigned count;
};

enum guest_image_kind {
	GUEST_IMAGE_PVH, /* ELF with a PVH entry note */
	GUEST_IMAGE_ELF, /* ELF without it: e_entry */
	GUEST_IMAGE_RAW, /* bytes at an address, entered there */
};

struct guest_image {
	enum guest_image_kind kind;
	uint64_t entry; /* guest-physical entry point */
	uint64_t low;	/* lowest byte loaded */
	uint64_t high;	/* one past the highest byte loaded (bss included) */
	bool elf64;	/* the ELF's class (not the entry mode) */
};

/* The longest command line guest_write_start_info accepts, with its NUL. */
#define GUEST_CMDLINE_MAX 4096

/*
 * guest_load_elf: load the PT_LOAD segments of the ELF (32 or 64-bit,
 * little endian, EM_386 or EM_X86_64) at their physical addresses, zero
 * their bss, and find the PVH note. Returns 0 and fills *out; -ENOEXEC when
 * the bytes are not a loadable ELF (bad header, table or segment outside
 * the file), -EFAULT when a segment falls outside writable guest memory.
 * Segments before a failing one may have been written.
 */
int guest_load_elf(const struct guest_loader_mem *mem, const void *image, size_t size,
		   struct guest_image *out);

/* guest_load_raw: copy `size` bytes to `gpa`; the entry is `gpa`. Returns 0,
 * or -EFAULT when the range is not entirely guest memory. */
int guest_load_raw(const struct guest_loader_mem *mem, const void *image, size_t size, uint64_t gpa,
		   struct guest_image *out);

/*
 * guest_load_file: read `path` and load it as an ELF (raw = false) or as a
 * raw image at raw_gpa. Returns what the two above return, or -errno from
 * opening/reading the file (the message names the file on stderr).
 */
int guest_load_file(const struct guest_loader_mem *mem, const char *path, bool raw,
		    uint64_t raw_gpa, struct guest_image *out);

/*
 * guest_write_start_info: write hvm_start_info (version 1), the memory map
 * and the command line (NULL = none) into writable RAM at `at`, or when
 * at == 0 at the first page-aligned place from 4 KiB up that does not
 * overlap the image. The map lists every region (RAM as type RAM, ROM as
 * RESERVED) and then `extra` (e.g. MMIO holes, reserved areas), sorted by
 * address. Returns 0 and *start_info_gpa (below 4 GiB, for EBX); -E2BIG for
 * a command line longer than GUEST_CMDLINE_MAX - 1 characters; -ENOSPC when no place fits;
 * -EFAULT when `at` is not writable RAM.
 */
int guest_write_start_info(const struct guest_loader_mem *mem, const struct guest_image *image,
			   const char *cmdline, const struct hvm_memmap_table_entry *extra,
			   unsigned extra_count, uint64_t at, uint64_t *start_info_gpa);

/* guest_loader_write: copy into guest memory, possibly across adjacent
 * regions. Returns 0 or -EFAULT if any byte is outside every region (then
 * nothing is written). */
int guest_loader_write(const struct guest_loader_mem *mem, uint64_t gpa, const void *buf,
		       size_t length);

#endif /* VDM_GUEST_LOADER_H */
