/*
 * devmodel/guest_mem.h: the guest-physical memory map of one VM.
 *
 * RAM, ROM and reserved ranges, sorted and non-overlapping. RAM and ROM have
 * host backing (anonymous memory vdm allocates, or memory a backend maps,
 * e.g. Xen foreign pages); a reserve has none and only keeps the range
 * free. Every access a plugin or the request engine makes to guest memory
 * goes through here and is bounds-checked: a range not entirely backed by
 * guest RAM (or ROM, for reads) gives -EFAULT and touches nothing, so a
 * guest-controlled address can never reach host memory outside the guest.
 *
 * Threads: the map is built on the control thread before the guest runs
 * and is immutable afterwards; reads and writes are then safe from any
 * thread (the bytes themselves are the guest's, unsynchronised as on
 * hardware).
 */
#ifndef VDM_GUEST_MEM_H
#define VDM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

enum guest_mem_kind { GUEST_MEM_RAM, GUEST_MEM_ROM, GUEST_MEM_RESERVE };

struct guest_mem_range {
	enum guest_mem_kind kind;
	uint64_t start, length;
	uint8_t *host; /* NULL for a reserve */
	int external;  /* host memory belongs to the caller (not freed) */
};

struct guest_mem;

struct guest_mem *guest_mem_new(void);
/* Frees the map and the memory it allocated. */
void guest_mem_free(struct guest_mem *gm);

/*
 * guest_mem_add: a range of `kind`. RAM/ROM get zeroed anonymous memory
 * (reserved lazily, so a large RAM costs only what the guest touches)
 * unless `host` is given, which then belongs to the caller. Returns 0;
 * -EINVAL for length 0 or a range past 2^64; -EEXIST when it overlaps a
 * range already present (copied to *conflict when not NULL); -ENOMEM.
 */
int guest_mem_add(struct guest_mem *gm, enum guest_mem_kind kind, uint64_t start, uint64_t length,
		  void *host, struct guest_mem_range *conflict);

/* How many ranges, and the index-th in address order (NULL past the end). */
unsigned guest_mem_count(const struct guest_mem *gm);
const struct guest_mem_range *guest_mem_range_at(const struct guest_mem *gm, unsigned index);

/*
 * guest_mem_read: copy guest [gpa, gpa+length) (RAM or ROM, possibly
 * several adjacent ranges) into buf. guest_mem_write: the guest's view:
 * RAM only (ROM is read-only to the guest). guest_mem_load: the host's
 * view for loaders: RAM or ROM. All return 0 or -EFAULT (nothing copied).
 * length 0 is a no-op returning 0.
 */
int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t length);
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t length);
int guest_mem_load(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t length);

/*
 * guest_mem_map: a host pointer to `length` bytes at gpa, which must lie in
 * one range: RAM for VDEV_MAP_WRITE, RAM or ROM for read only. NULL with
 * errno EFAULT otherwise (EINVAL for length 0 or unknown prot bits).
 */
void *guest_mem_map(const struct guest_mem *gm, uint64_t gpa, size_t length, uint32_t prot);

/* "ram", "rom", "reserve" */
const char *guest_mem_kind_name(enum guest_mem_kind kind);

#endif /* VDM_GUEST_MEM_H */
