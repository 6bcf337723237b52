/*
 * devmodel/guest_mem.h: the guest-physical memory map of one VM.
 *
 * RAM, ROM and reserved ranges, sorted and non-overlapping. RAM and ROM have
 * host backing (anonymous memory vdm allocates, or memory a backend maps);
 * a reserve has none and only keeps the range free. A backend whose guest
 * RAM is not host memory at all (Xen: the domain's pages, reached through
 * foreign mappings made on demand) installs access functions instead
 * (guest_mem_set_backend), and RAM added afterwards goes through them.
 * Every access a plugin or the request engine makes to guest memory goes
 * through here and is bounds-checked: a range not entirely backed by
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
	uint8_t *host;	 /* NULL for a reserve */
	int external;	 /* host memory belongs to the caller (not freed) */
	int via_backend; /* RAM with no host memory: reached through the backend */
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

/*
 * How guest RAM is reached when it is not host memory. Each function gets
 * `ctx` and a range the map has already bounds-checked (inside one or
 * several adjacent backend RAM ranges; for map inside one range):
 * read/write return 0 or a negative errno (-EFAULT: a page the backend
 * cannot reach); map returns a pointer valid for the current callback, or
 * NULL with errno set. `prot` is VDEV_MAP_READ/VDEV_MAP_WRITE bits.
 */
struct guest_mem_backend {
	int (*read)(void *ctx, uint64_t gpa, void *buf, size_t length);
	int (*write)(void *ctx, uint64_t gpa, const void *buf, size_t length);
	void *(*map)(void *ctx, uint64_t gpa, size_t length, uint32_t prot);
	void *ctx;
};

/*
 * guest_mem_set_backend: RAM ranges added afterwards without a `host`
 * pointer get no host memory (via_backend = 1); every read, write, load or
 * map of them calls `b` after the bounds check. ROM and RAM given a host
 * pointer are unaffected. `b` is copied; its ctx must outlive the map.
 * Call before the RAM is added (the backend's setup runs first). b NULL
 * removes the backend (its teardown): backend RAM then gives -EFAULT.
 */
void guest_mem_set_backend(struct guest_mem *gm, const struct guest_mem_backend *b);

/* How many ranges, and the index-th in address order (NULL past the end). */
unsigned guest_mem_count(const struct guest_mem *gm);
const struct guest_mem_range *guest_mem_range_at(const struct guest_mem *gm, unsigned index);

/*
 * guest_mem_read: copy guest [gpa, gpa+length) (RAM or ROM, possibly
 * several adjacent ranges) into buf. guest_mem_write: the guest's view:
 * RAM only (ROM is read-only to the guest). guest_mem_load: the host's
 * view for loaders: RAM or ROM. All return 0 or -EFAULT (nothing copied
 * when the check fails), or the error of a backend read/write (a copy
 * spanning host and backend ranges may then be partly done). length 0 is a
 * no-op returning 0.
 */
int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t length);
int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t length);
int guest_mem_load(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t length);

/*
 * guest_mem_map: a host pointer to `length` bytes at gpa, which must lie in
 * one range: RAM for VDEV_MAP_WRITE, RAM or ROM for read only. NULL with
 * errno EFAULT otherwise (EINVAL for length 0 or unknown prot bits). For
 * backend RAM: the backend's map (its pointer, or NULL and its errno).
 */
void *guest_mem_map(const struct guest_mem *gm, uint64_t gpa, size_t length, uint32_t prot);

/* "ram", "rom", "reserve" */
const char *guest_mem_kind_name(enum guest_mem_kind kind);

#endif /* VDM_GUEST_MEM_H */
