/*
 * devmodel/iomap.h: address dispatch, one map per VM.
 *
 * Per space (mmio, pio, pcicfg) a sorted set of non-overlapping ranges,
 * each owned by someone (a vdev instance, or guest RAM/ROM/reserve) and
 * tagged with the owner's region id. iomap_access routes one guest access
 * to the owner's access function with the offset inside the region; what
 * happens to accesses nobody owns, to sizes an owner did not declare and to
 * accesses straddling a region's end is in iomap.c's top comment.
 *
 * Threads: iomap_access from any thread (vCPUs), concurrently with
 * iomap_add/iomap_remove from any thread (also from inside an access
 * callback: a BAR move). iomap_drain from a thread that is not inside an
 * access.
 */
#ifndef VDM_IOMAP_H
#define VDM_IOMAP_H

#include <stdbool.h>
#include <stdint.h>

#include <vdev/vdev.h>

#include "conf/conf.h"

/*
 * access: perform one access of `size` bytes (a size from access_sizes) at
 * `offset` in region `id`. Reads store the value zero-extended in *value;
 * writes find it in *value. Returns 0 or a negative errno (the dispatcher
 * then applies the unsupported-reference policy).
 */
typedef int iomap_access_fn(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
			    unsigned size, bool is_write, uint64_t *value, int32_t vcpu);

/*
 * Who owns a region. The struct must stay valid while the owner has regions
 * and until iomap_drain returned after their removal. access NULL: the range
 * is claimed but not routable (a `reserve`): accesses to it are unowned.
 */
struct iomap_owner {
	const char *name; /* in overlap messages and listings */
	iomap_access_fn *access;
	uint32_t access_sizes; /* VDEV_ACCESS_SIZE() bits */
	void *ctx;
	/*
	 * porous: another owner's region may lie inside one of this owner's
	 * (a "nested" region). An access entirely within a nested region goes
	 * to it; every other access in the porous region goes here. For
	 * decoders that claim a range for one access width only, as a PC
	 * chipset claims 0xcf8-0xcfb for dword CONFIG_ADDRESS accesses while
	 * the byte at 0xcf9 is another device's reset register. Nested
	 * regions do not overlap each other; a porous region cannot be added
	 * over existing ones.
	 */
	bool porous;
};

/* The region an iomap_add collided with. */
struct iomap_conflict {
	char owner[64];
	uint64_t base, length;
	uint32_t id;
};

/* One region as listed by iomap_region_at. */
struct iomap_region_info {
	uint64_t base, length;
	const struct iomap_owner *owner;
	uint32_t id;
	bool nested; /* inside a porous owner's region (listed after the others) */
};

/* Called once per access that the `abort` policy refuses (then -ENXIO). */
typedef void iomap_abort_fn(void *ctx, enum vdev_space space, uint64_t addr, unsigned size,
			    bool is_write);

struct iomap;

/* A map with no regions and the `ignore` policy. NULL on ENOMEM. */
struct iomap *iomap_new(void);
/* Frees the map; no access may be in flight. */
void iomap_free(struct iomap *m);

/*
 * iomap_set_policy: what an unowned access (or a device's bus error) does:
 * CONF_UNSUP_IGNORE, CONF_UNSUP_FAIL or CONF_UNSUP_ABORT (abort_fn is called,
 * then -ENXIO). Set before accesses start.
 */
void iomap_set_policy(struct iomap *m, enum conf_unsupported_action policy,
		      iomap_abort_fn *abort_fn, void *ctx);

/*
 * iomap_add: route [base, base+length) of `space` to owner/id. Returns 0;
 * -EINVAL for length 0, a range past the end of the address space (2^64,
 * or 0x10000 for pio), a bad space, or an id the owner already uses;
 * -EEXIST when it overlaps another region (described in *conflict when not
 * NULL); -ENOMEM.
 */
int iomap_add(struct iomap *m, enum vdev_space space, uint64_t base, uint64_t length,
	      const struct iomap_owner *owner, uint32_t id, struct iomap_conflict *conflict);

/*
 * iomap_remove: stop routing owner's region `id`. Returns 0 or -ENOENT.
 * Once it returns no new access reaches the region; one already running
 * finishes (see iomap_drain).
 */
int iomap_remove(struct iomap *m, const struct iomap_owner *owner, uint32_t id);
/* iomap_remove_owner: remove every region of `owner`; returns how many. */
unsigned iomap_remove_owner(struct iomap *m, const struct iomap_owner *owner);
/* iomap_drain: wait until every access that started before the call ended. */
void iomap_drain(struct iomap *m);

/*
 * iomap_access: one guest access of 1, 2, 4 or 8 bytes at addr. Returns 0
 * (reads: *value zero-extended); -EINVAL for another size; -ENXIO for an
 * unowned access under the fail/abort policy; -EIO for a device error under
 * the fail/abort policy.
 */
int iomap_access(struct iomap *m, enum vdev_space space, uint64_t addr, unsigned size,
		 bool is_write, uint64_t *value, int32_t vcpu);

/* How many regions `space` has, and the index-th of them in address order
 * (0, or -ENOENT past the end). */
unsigned iomap_count(struct iomap *m, enum vdev_space space);
int iomap_region_at(struct iomap *m, enum vdev_space space, unsigned index,
		    struct iomap_region_info *info);
/* Accesses that touched unowned addresses in `space` since iomap_new. */
uint64_t iomap_unowned_count(struct iomap *m, enum vdev_space space);

/* "mmio", "pio", "pcicfg". */
const char *iomap_space_name(enum vdev_space space);

#endif /* VDM_IOMAP_H */
