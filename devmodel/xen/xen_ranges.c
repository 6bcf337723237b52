/*
 * devmodel/xen/xen_ranges.c: the diff between iomap and the ioreq server.
 *
 * Both lists are sorted by (kind, start); a range whose bounds changed is
 * unmapped and mapped again (unmap first: Xen refuses overlaps, EEXIST).
 */
#include "devmodel/xen/xen_ranges.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/guest_mem.h"
#include "devmodel/iomap.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"

struct range_list {
	struct xen_range *r;
	unsigned count, cap;
};

static int list_add(struct range_list *l, enum xen_range_kind kind, uint64_t start, uint64_t end)
{
	if (l->count && l->r[l->count - 1].kind == kind && kind != XEN_RANGE_PCIDEV &&
	    l->r[l->count - 1].end + 1 == start) {
		l->r[l->count - 1].end = end; /* adjacent: one window */
		return 0;
	}
	if (l->count && l->r[l->count - 1].kind == kind && kind == XEN_RANGE_PCIDEV &&
	    l->r[l->count - 1].start == start)
		return 0; /* several regions of one function */
	if (l->count == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 16;
		struct xen_range *n = realloc(l->r, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->r = n;
		l->cap = cap;
	}
	l->r[l->count++] = (struct xen_range){ .kind = kind, .start = start, .end = end };
	return 0;
}

/* Is [base, base+length) guest memory (RAM/ROM/reserve: not ours to claim)? */
static bool ranges_is_memory(struct vm *vm, uint64_t base, uint64_t length)
{
	struct guest_mem *gm = vm_mem(vm);

	for (unsigned i = 0; i < guest_mem_count(gm); i++) {
		const struct guest_mem_range *r = guest_mem_range_at(gm, i);

		if (base >= r->start && base + (length - 1) <= r->start + (r->length - 1))
			return true;
	}
	return false;
}

static int cmp_range(const void *a, const void *b)
{
	const struct xen_range *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* What the server should have now. */
static int ranges_wanted(struct xen_ranges *xr, struct range_list *l, unsigned *refused)
{
	static const enum vdev_space order[] = { VDEV_SPACE_PIO, VDEV_SPACE_MMIO,
						 VDEV_SPACE_PCICFG };
	struct iomap *m = vm_iomap(xr->vm);

	for (unsigned s = 0; s < 3; s++) {
		struct iomap_region_info info;

		for (unsigned i = 0; iomap_region_at(m, order[s], i, &info) == 0; i++) {
			int rc = 0;

			if (!info.owner->access || info.nested)
				continue; /* a reserve; or inside a range registered already */
			if (order[s] == VDEV_SPACE_MMIO &&
			    ranges_is_memory(xr->vm, info.base, info.length))
				continue;
			if (xr->arm && order[s] != VDEV_SPACE_MMIO) {
				if (xr->refused == 0) /* once, not after every write */
					vm_log(xr->vm, LOG_LVL_ERROR,
					       "xen: %s region 0x%llx+0x%llx of %s: Arm guests have only MMIO; not registered",
					       iomap_space_name(order[s]),
					       (unsigned long long)info.base,
					       (unsigned long long)info.length, info.owner->name);
				(*refused)++;
				continue;
			}
			if (order[s] == VDEV_SPACE_PCICFG) {
				uint64_t last = info.base + info.length - 1;

				for (uint64_t a = info.base & ~0xfffull; a <= last && rc == 0;
				     a += 0x1000) {
					uint64_t sbdf = ((a >> 20) & 0xff) << 8 |
							((a >> 15) & 0x1f) << 3 | ((a >> 12) & 7);

					rc = list_add(l, XEN_RANGE_PCIDEV, sbdf, sbdf);
					if (a + 0x1000 < a)
						break;
				}
			} else {
				rc = list_add(l,
					      order[s] == VDEV_SPACE_PIO ? XEN_RANGE_PIO
									 : XEN_RANGE_MMIO,
					      info.base, info.base + (info.length - 1));
			}
			if (rc < 0)
				return rc;
		}
	}
	if (l->count)
		qsort(l->r, l->count, sizeof(*l->r), cmp_range);
	return 0;
}

static const char *kind_name(enum xen_range_kind k)
{
	return k == XEN_RANGE_PIO ? "port" : k == XEN_RANGE_MMIO ? "mmio" : "pci";
}

static int range_call(struct xen_ranges *xr, const struct xen_range *r, bool map)
{
	int rc;

	if (r->kind == XEN_RANGE_PCIDEV) {
		uint8_t bus = (uint8_t)(r->start >> 8), dev = (r->start >> 3) & 0x1f,
			fn = r->start & 7;

		rc = map ? xendevicemodel_map_pcidev_to_ioreq_server(xr->dmod, xr->domid, xr->id,
								      0, bus, dev, fn)
			 : xendevicemodel_unmap_pcidev_from_ioreq_server(xr->dmod, xr->domid,
									 xr->id, 0, bus, dev, fn);
	} else {
		int is_mmio = r->kind == XEN_RANGE_MMIO;

		rc = map ? xendevicemodel_map_io_range_to_ioreq_server(xr->dmod, xr->domid, xr->id,
									is_mmio, r->start, r->end)
			 : xendevicemodel_unmap_io_range_from_ioreq_server(
				   xr->dmod, xr->domid, xr->id, is_mmio, r->start, r->end);
	}
	return rc < 0 ? -(errno ? errno : EIO) : 0;
}

static bool range_in(const struct xen_range *r, const struct xen_range *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (list[i].kind == r->kind && list[i].start == r->start && list[i].end == r->end)
			return true;
	return false;
}

static bool ranges_equal(const struct xen_range *a, unsigned na, const struct xen_range *b,
			 unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++)
		if (a[i].kind != b[i].kind || a[i].start != b[i].start || a[i].end != b[i].end)
			return false;
	return true;
}

void xen_ranges_init(struct xen_ranges *xr, struct vm *vm, xendevicemodel_handle *dmod,
		     uint16_t domid, ioservid_t id, bool arm)
{
	memset(xr, 0, sizeof(*xr));
	xr->vm = vm;
	xr->dmod = dmod;
	xr->domid = domid;
	xr->id = id;
	xr->arm = arm;
	pthread_mutex_init(&xr->lock, NULL);
}

int xen_ranges_sync(struct xen_ranges *xr)
{
	struct range_list want = { 0 };
	struct xen_range *keep;
	unsigned kept = 0, refused = 0;
	int rc, first = 0;

	pthread_mutex_lock(&xr->lock);
	rc = ranges_wanted(xr, &want, &refused);
	xr->refused = refused;
	if (rc < 0)
		goto out;
	/* nothing changed: the common case, after every guest write */
	if (ranges_equal(want.r, want.count, xr->mapped, xr->count))
		goto out;
	keep = calloc(want.count ? want.count : 1, sizeof(*keep));
	if (!keep) {
		rc = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < xr->count; i++) {
		const struct xen_range *r = &xr->mapped[i];

		if (range_in(r, want.r, want.count)) {
			keep[kept++] = *r;
			continue;
		}
		rc = range_call(xr, r, false);
		vm_log(xr->vm, rc < 0 ? LOG_LVL_WARN : LOG_LVL_DEBUG,
		       "xen: unmap %s 0x%llx-0x%llx from ioreq server %u%s%s", kind_name(r->kind),
		       (unsigned long long)r->start, (unsigned long long)r->end, xr->id,
		       rc < 0 ? ": " : "", rc < 0 ? strerror(-rc) : "");
	}
	for (unsigned i = 0; i < want.count; i++) {
		const struct xen_range *r = &want.r[i];

		if (range_in(r, keep, kept))
			continue;
		rc = range_call(xr, r, true);
		if (rc < 0) {
			vm_log(xr->vm, LOG_LVL_ERROR,
			       "xen: map %s 0x%llx-0x%llx to ioreq server %u: %s%s",
			       kind_name(r->kind), (unsigned long long)r->start,
			       (unsigned long long)r->end, xr->id, strerror(-rc),
			       rc == -ENOSPC || rc == -E2BIG
				       ? " (Xen allows 256 ranges per type and server)"
				       : "");
			if (!first)
				first = rc;
			continue;
		}
		vm_log(xr->vm, LOG_LVL_DEBUG, "xen: map %s 0x%llx-0x%llx to ioreq server %u",
		       kind_name(r->kind), (unsigned long long)r->start,
		       (unsigned long long)r->end, xr->id);
		keep[kept++] = *r;
	}
	qsort(keep, kept, sizeof(*keep), cmp_range);
	free(xr->mapped);
	xr->mapped = keep;
	xr->count = kept;
	xr->cap = want.count;
	rc = first;
out:
	pthread_mutex_unlock(&xr->lock);
	free(want.r);
	return rc;
}

void xen_ranges_unmap_all(struct xen_ranges *xr)
{
	pthread_mutex_lock(&xr->lock);
	for (unsigned i = 0; i < xr->count; i++)
		range_call(xr, &xr->mapped[i], false);
	xr->count = 0;
	pthread_mutex_unlock(&xr->lock);
}

void xen_ranges_destroy(struct xen_ranges *xr)
{
	free(xr->mapped);
	xr->mapped = NULL;
	xr->count = xr->cap = 0;
	pthread_mutex_destroy(&xr->lock);
}
