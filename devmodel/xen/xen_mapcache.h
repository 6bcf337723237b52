/*
 * devmodel/xen/xen_mapcache.h: guest RAM of a Xen domain, mapped on demand.
 *
 * On Xen the guest's RAM is the domain's: vdm reaches it through foreign
 * mappings (xenforeignmemory_map), which are costly to make and pin the
 * domain's pages while they exist. The cache maps fixed-size, aligned
 * buckets of one RAM range when an access first touches them, keeps at most
 * `max_buckets` of them (least recently used goes first), and drops them all
 * when Xen broadcasts IOREQ_TYPE_INVALIDATE (xen-ioreq.md 1.6, 2.5).
 *
 * Only the RAM ranges given at creation are ever mapped: an access with any
 * byte outside them gives -EFAULT and touches nothing, so a guest-chosen
 * address can never reach a page the domain was not given as RAM. Pages Xen
 * refuses to map (ballooned out, not populated) give -EFAULT too.
 *
 * Pointers from xen_mapcache_map stay valid for one callback (the SDK's
 * mem_map contract): a bucket lent out that gets evicted or invalidated is
 * retired, not unmapped, and unmapped only after `grace_ns`.
 *
 * Threads: every function may be called from any thread (one lock).
 */
#ifndef VDM_XEN_MAPCACHE_H
#define VDM_XEN_MAPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <xenforeignmemory.h>

#define XEN_MAPCACHE_PAGE_SHIFT 12
#define XEN_MAPCACHE_PAGE_SIZE	(1u << XEN_MAPCACHE_PAGE_SHIFT)

struct xen_mapcache_params {
	unsigned bucket_shift; /* bucket size 2^shift bytes, 12..30 */
	unsigned max_buckets;  /* mapped buckets kept at most, >= 1 */
	uint64_t grace_ns;     /* how long a lent-out, dropped bucket stays mapped */
};

/* The defaults: 1 MiB buckets (QEMU's choice on 64-bit hosts), 64 of them. */
extern const struct xen_mapcache_params xen_mapcache_default_params;

struct xen_mapcache_stats {
	uint64_t maps, unmaps, hits, evictions, invalidations, refused;
	unsigned mapped; /* buckets mapped now (retired ones included) */
};

struct xen_mapcache;

/*
 * xen_mapcache_new: a cache over `fmem` for domain `domid` whose RAM is
 * ranges[i] = {start, length} (page-aligned, non-overlapping) for
 * i < count. params NULL: the defaults. Returns 0 and *out; -EINVAL for
 * an unaligned or empty range or bad params; -ENOMEM.
 */
struct xen_mapcache_range {
	uint64_t start, length;
};
int xen_mapcache_new(xenforeignmemory_handle *fmem, uint32_t domid,
		     const struct xen_mapcache_range *ranges, unsigned count,
		     const struct xen_mapcache_params *params, struct xen_mapcache **out);
/* xen_mapcache_free: unmap everything (retired buckets too) and free. */
void xen_mapcache_free(struct xen_mapcache *mc);

/*
 * xen_mapcache_read / _write: copy guest [gpa, gpa+length) to/from buf.
 * 0, or -EFAULT when any byte is outside the RAM or cannot be mapped
 * (nothing copied), -ENOMEM when no mapping can be made. length 0: 0.
 */
int xen_mapcache_read(struct xen_mapcache *mc, uint64_t gpa, void *buf, size_t length);
int xen_mapcache_write(struct xen_mapcache *mc, uint64_t gpa, const void *buf, size_t length);

/*
 * xen_mapcache_map: a host pointer to [gpa, gpa+length) of RAM (which may
 * span buckets), valid for the current callback; NULL with errno EFAULT
 * (outside RAM / unmappable), EINVAL (length 0) or ENOMEM.
 */
void *xen_mapcache_map(struct xen_mapcache *mc, uint64_t gpa, size_t length);

/* xen_mapcache_invalidate: drop every bucket (IOREQ_TYPE_INVALIDATE). */
void xen_mapcache_invalidate(struct xen_mapcache *mc);

/* xen_mapcache_contains: is every byte of [gpa, gpa+length) RAM? */
int xen_mapcache_contains(const struct xen_mapcache *mc, uint64_t gpa, size_t length);

void xen_mapcache_get_stats(struct xen_mapcache *mc, struct xen_mapcache_stats *stats);

#endif /* VDM_XEN_MAPCACHE_H */
