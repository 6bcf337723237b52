/*
 * sdk/testhost/dispatch.c: regions and guest accesses, routed like vdm does:
 * per space, a sorted array of non-overlapping ranges, found by binary
 * search; the device gets the offset from its region's base.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/testhost/internal.h"

static const char *const space_names[VDEV_SPACE_COUNT] = { "mmio", "pio", "pcicfg" };


/* True on a thread inside a device's PCI configuration access, where the
 * device may move its BARs (region_add after start), as vdm allows. */
static __thread bool th_in_pcicfg;

/* The exclusive end of each space (0 = the whole 64-bit range). */
static uint64_t space_limit(enum vdev_space space)
{
	switch (space) {
	case VDEV_SPACE_PIO:
		return 0x10000;
	case VDEV_SPACE_PCICFG:
		return VDEV_PCICFG_ADDR(256, 0, 0, 0);
	default:
		return 0;
	}
}

/* Index of the first region whose base is above addr. th->lock held. */
static unsigned region_upper(struct vdev_testhost *th, enum vdev_space space, uint64_t addr)
{
	unsigned lo = 0, hi = th->region_count[space], mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (th->regions[space][mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The region containing addr, or NULL. th->lock held. */
static struct th_region *region_lookup(struct vdev_testhost *th, enum vdev_space space,
				       uint64_t addr)
{
	unsigned i = region_upper(th, space, addr);
	struct th_region *r;

	if (i == 0)
		return NULL;
	r = &th->regions[space][i - 1];
	return addr - r->base <= r->length - 1 ? r : NULL;
}

bool th_ram_overlaps_regions(struct vdev_testhost *th, uint64_t gpa, size_t size)
{
	unsigned i;

	for (i = 0; i < th->region_count[VDEV_SPACE_MMIO]; i++) {
		struct th_region *r = &th->regions[VDEV_SPACE_MMIO][i];

		if (gpa <= r->base + (r->length - 1) && r->base <= gpa + (size - 1))
			return true;
	}
	return false;
}

static bool ram_overlaps(struct vdev_testhost *th, uint64_t base, uint64_t length)
{
	unsigned i;

	for (i = 0; i < th->ram_count; i++) {
		struct th_ram *r = &th->rams[i];

		if (base <= r->gpa + (r->size - 1) && r->gpa <= base + (length - 1))
			return true;
	}
	return false;
}

int th_region_add(struct vdev_testdev *dev, enum vdev_space space, uint64_t base,
		  uint64_t length, uint32_t id)
{
	struct vdev_testhost *th = dev->th;
	struct th_region *arr, *r;
	unsigned s, i, pos;
	uint64_t limit;

	if ((unsigned)space >= VDEV_SPACE_COUNT) {
		th_host_error(th, "region", "%s: region_add: space %d is not MMIO, PIO or PCICFG.", dev->name,
			      (int)space);
		return -EINVAL;
	}
	limit = space_limit(space);
	if (!length || length - 1 > UINT64_MAX - base ||
	    (limit && (base >= limit || length > limit - base))) {
		th_host_error(th, "region", "%s: region_add: %s [%#llx, +%#llx) is empty or beyond the space.",
			      dev->name, space_names[space], (unsigned long long)base,
			      (unsigned long long)length);
		return -EINVAL;
	}
	if (!dev->desc->ops->read || !dev->desc->ops->write) {
		th_host_error(th, "region", "%s: region_add: the device has no read/write ops, so it cannot "
			      "own a region.", dev->name);
		return -EINVAL;
	}
	pthread_mutex_lock(&th->lock);
	for (s = 0; s < VDEV_SPACE_COUNT; s++) {
		for (i = 0; i < th->region_count[s]; i++) {
			if (th->regions[s][i].dev == dev && th->regions[s][i].id == id) {
				pthread_mutex_unlock(&th->lock);
				th_host_error(th, "region", "%s: region_add: id %u is already in use.",
					      dev->name, id);
				return -EINVAL;
			}
		}
	}
	/* as vdm: after start, only a PCI configuration write may move a BAR */
	if (th->started && space != VDEV_SPACE_PCICFG && !th_in_pcicfg) {
		pthread_mutex_unlock(&th->lock);
		th_set_error(th, "%s: region_add after the guest started.", dev->name);
		return -EPERM;
	}
	pos = region_upper(th, space, base);
	arr = th->regions[space];
	if ((pos > 0 && arr[pos - 1].base + (arr[pos - 1].length - 1) >= base) ||
	    (pos < th->region_count[space] && arr[pos].base <= base + (length - 1)) ||
	    (space == VDEV_SPACE_MMIO && ram_overlaps(th, base, length))) {
		pthread_mutex_unlock(&th->lock);
		th_set_error(th, "%s: region_add: %s [%#llx, +%#llx) overlaps another region or RAM.",
			     dev->name, space_names[space], (unsigned long long)base,
			     (unsigned long long)length);
		return -EEXIST;
	}
	if (th->region_count[space] == th->region_cap[space]) {
		unsigned cap = th->region_cap[space] ? 2 * th->region_cap[space] : 16;

		arr = realloc(arr, cap * sizeof(*arr));
		if (!arr) {
			pthread_mutex_unlock(&th->lock);
			return -ENOMEM;
		}
		th->regions[space] = arr;
		th->region_cap[space] = cap;
	}
	memmove(&arr[pos + 1], &arr[pos], (th->region_count[space] - pos) * sizeof(*arr));
	r = &arr[pos];
	r->base = base;
	r->length = length;
	r->id = id;
	r->gen = ++th->region_gen;
	r->dev = dev;
	th->region_count[space]++;
	dev->regions++;
	pthread_mutex_unlock(&th->lock);
	return 0;
}

/* th->lock held. */
static void region_delete(struct vdev_testhost *th, unsigned space, unsigned i)
{
	struct th_region *arr = th->regions[space];

	arr[i].dev->regions--;
	memmove(&arr[i], &arr[i + 1], (th->region_count[space] - i - 1) * sizeof(*arr));
	th->region_count[space]--;
}

int th_region_remove(struct vdev_testdev *dev, uint32_t id)
{
	struct vdev_testhost *th = dev->th;
	unsigned s, i;

	pthread_mutex_lock(&th->lock);
	for (s = 0; s < VDEV_SPACE_COUNT; s++) {
		for (i = 0; i < th->region_count[s]; i++) {
			if (th->regions[s][i].dev == dev && th->regions[s][i].id == id) {
				region_delete(th, s, i);
				pthread_mutex_unlock(&th->lock);
				return 0;
			}
		}
	}
	pthread_mutex_unlock(&th->lock);
	return -ENOENT;
}

void th_regions_remove_all(struct vdev_testdev *dev)
{
	struct vdev_testhost *th = dev->th;
	unsigned s, i;

	pthread_mutex_lock(&th->lock);
	for (s = 0; s < VDEV_SPACE_COUNT; s++) {
		for (i = th->region_count[s]; i-- > 0;) {
			if (th->regions[s][i].dev == dev)
				region_delete(th, s, i);
		}
	}
	pthread_mutex_unlock(&th->lock);
}

unsigned vdev_testhost_regions(struct vdev_testdev *dev, struct vdev_testhost_region *regions,
			       unsigned max)
{
	struct vdev_testhost *th = dev->th;
	unsigned s, i, n = 0;

	pthread_mutex_lock(&th->lock);
	for (s = 0; s < VDEV_SPACE_COUNT; s++) {
		for (i = 0; i < th->region_count[s]; i++) {
			struct th_region *r = &th->regions[s][i];

			if (r->dev != dev)
				continue;
			if (n < max) {
				regions[n].id = r->id;
				regions[n].space = (enum vdev_space)s;
				regions[n].base = r->base;
				regions[n].length = r->length;
			}
			n++;
		}
	}
	pthread_mutex_unlock(&th->lock);
	return n;
}

/* --------------------------------------------------------------- accesses */

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

int vdev_testhost_access(struct vdev_testhost *th, enum vdev_space space, uint64_t addr,
			 unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	const char *what = is_write ? "write" : "read";
	struct vdev_access access;
	struct vdev_testdev *dev;
	struct th_region *r;
	uint64_t gen, mask, v = 0;
	int rc;

	if (size != 1 && size != 2 && size != 4 && size != 8) {
		th_set_error(th, "%s of size %u: sizes are 1, 2, 4 or 8.", what, size);
		if (!is_write)
			*value = UINT64_MAX;
		return -EINVAL;
	}
	mask = size_mask(size);
	if (!is_write)
		*value = mask;
	if ((unsigned)space >= VDEV_SPACE_COUNT) {
		th_set_error(th, "%s: space %d is not MMIO, PIO or PCICFG.", what, (int)space);
		return -EINVAL;
	}
	pthread_mutex_lock(&th->lock);
	r = region_lookup(th, space, addr);
	/* An access that runs past its region's end is unclaimed as a whole,
	 * so that a device never sees offset + size beyond its length. */
	if (!r || r->dev->dying || size - 1 > r->length - 1 - (addr - r->base)) {
		pthread_mutex_unlock(&th->lock);
		th_set_error(th, "%s %s %#llx/%u: no region owns it.", what, space_names[space],
			     (unsigned long long)addr, size);
		return -ENXIO;
	}
	dev = r->dev;
	gen = r->gen;
	access.region = r->id;
	access.space = space;
	access.offset = addr - r->base;
	access.size = (uint8_t)size;
	access.vcpu = vcpu;
	pthread_mutex_unlock(&th->lock);

	if (!(dev->desc->access_sizes & VDEV_ACCESS_SIZE(size))) {
		th_set_error(th, "%s %s %#llx/%u: %s does not accept %u-byte accesses.", what,
			     space_names[space], (unsigned long long)addr, size, dev->name, size);
		return -EINVAL;
	}
	th_dev_lock(dev, true);
	/* Re-check under the instance lock: region_remove or destroy may have
	 * run meanwhile, and no access may start after they returned. */
	pthread_mutex_lock(&th->lock);
	r = region_lookup(th, space, addr);
	if (!r || r->gen != gen || dev->dying) {
		pthread_mutex_unlock(&th->lock);
		th_dev_unlock(dev, true);
		return -ENXIO;
	}
	pthread_mutex_unlock(&th->lock);
	th_hook_enter(dev, what);
	bool was_pcicfg = th_in_pcicfg;
	th_in_pcicfg = space == VDEV_SPACE_PCICFG;
	if (is_write)
		rc = dev->desc->ops->write(dev->state, &access, *value & mask);
	else
		rc = dev->desc->ops->read(dev->state, &access, &v);
	th_in_pcicfg = was_pcicfg;
	th_hook_exit(dev, what);
	th_dev_unlock(dev, true);

	if (rc != 0 && rc != VDEV_ACCESS_BUS_ERROR) {
		th_host_error(th, "access-return", "%s: %s of %u at offset %#llx of region %u returned %d; read/write "
			      "return 0 or VDEV_ACCESS_BUS_ERROR.", dev->name, what, size,
			      (unsigned long long)access.offset, access.region, rc);
	}
	if (rc != 0) {
		if (rc != VDEV_ACCESS_BUS_ERROR)
			rc = VDEV_ACCESS_BUS_ERROR;
		th_set_error(th, "%s %s %#llx/%u: %s answered with a bus error.", what,
			     space_names[space], (unsigned long long)addr, size, dev->name);
		return rc;
	}
	if (!is_write) {
		if (v & ~mask)
			th_host_error(th, "read-width", "%s: read of %u at offset %#llx of region %u returned "
				      "%#llx, wider than %u byte(s); the host keeps the low bytes.",
				      dev->name, size, (unsigned long long)access.offset,
				      access.region, (unsigned long long)v, size);
		*value = v & mask;
		if (size >= 4 && th_poisoned(th, value, size))
			th_host_error(th, "poison",
				      "%s: read of %u at offset %#llx of region %u returned the "
				      "bytes a failed mem_read left in its buffer: data used despite "
				      "the error.",
				      dev->name, size, (unsigned long long)access.offset,
				      access.region);
	}
	return 0;
}

int vdev_testhost_read(struct vdev_testhost *th, enum vdev_space space, uint64_t addr,
		       unsigned size, uint64_t *value)
{
	return vdev_testhost_access(th, space, addr, size, false, value, 0);
}

int vdev_testhost_write(struct vdev_testhost *th, enum vdev_space space, uint64_t addr,
			unsigned size, uint64_t value)
{
	return vdev_testhost_access(th, space, addr, size, true, &value, 0);
}

uint64_t vdev_testhost_mmio_read(struct vdev_testhost *th, uint64_t addr, unsigned size)
{
	uint64_t v;

	if (vdev_testhost_read(th, VDEV_SPACE_MMIO, addr, size, &v) < 0)
		return size <= 8 && size ? size_mask(size) : UINT64_MAX;
	return v;
}

uint64_t vdev_testhost_pio_read(struct vdev_testhost *th, uint64_t port, unsigned size)
{
	uint64_t v;

	if (vdev_testhost_read(th, VDEV_SPACE_PIO, port, size, &v) < 0)
		return size <= 8 && size ? size_mask(size) : UINT64_MAX;
	return v;
}
