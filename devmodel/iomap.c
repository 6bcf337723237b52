/*
 * devmodel/iomap.c: address dispatch.
 *
 * Data structure. The writer's side is a balanced tree per space (glibc's
 * tsearch, a red-black tree) of the regions, ordered by address with
 * "overlaps" as equality, so adding a region finds any region it overlaps
 * in O(log n); and a tree of owners, each with the list of its regions, so
 * that duplicate ids and "remove every region of this owner" cost what
 * that owner has, not what the map has. Readers see an immutable table
 * per space: the regions sorted by base, non-overlapping, so a lookup is a
 * binary search (O(log n)). A change only retires the current table; the
 * next access (or listing) builds a new one from the tree (O(n)). So
 * assembling a VM of n regions is O(n log n), however many there are, and
 * tearing it down is too: no table is built until someone looks.
 *
 * Removal while accesses are in flight (RCU-like). A reader takes a
 * reference on the current table under the lock (two uncontended atomic
 * operations, no lock held during the callback), searches it and calls the
 * owner without any iomap lock held. A writer swaps the table and drops the
 * map's reference (a change retires the table at once: no access that
 * starts afterwards can use it); the old table is freed by whoever drops
 * the last reference. So a region removed by iomap_remove is invisible to accesses
 * that start afterwards, while an access already running on the old table
 * completes; iomap_drain waits until no retired table is referenced, after
 * which the owner may be freed. A rwlock held across the callback was
 * rejected: a device that moves its own BAR from inside a config write
 * would deadlock on it.
 *
 * Accesses nobody owns (no region, or a `reserve`) follow the VM's
 * `unsupported reference` policy: ignore (reads return all-ones sized to
 * the access, writes are dropped), fail (-ENXIO to the backend, which
 * injects a fault where it can), abort (the abort hook ends the VM with
 * exit 5 after logging the address; -ENXIO). They are counted per space.
 * PCI configuration space is an exception: a read of an absent function
 * returning all-ones is how every guest enumerates the bus, so pcicfg is
 * always `ignore` (still counted).
 *
 * A device's own error (VDEV_ACCESS_BUS_ERROR or any negative return) is
 * handled like an unowned access: ignore -> all-ones/dropped, fail -> -EIO,
 * abort -> abort hook and -EIO.
 *
 * Sizes and straddling. The fast path is an access of a declared size
 * (access_sizes) entirely inside one region. Otherwise the access is split,
 * byte position by byte position, little-endian:
 *  - at a position some region covers, the largest declared size that fits
 *    in what is left of both the access and the region is issued, at the
 *    offset reached (no alignment is imposed: a device that cares checks
 *    offsets itself); if no declared size fits, the bytes up to the
 *    region's end (or the access's end) are treated as unowned;
 *  - bytes no region covers are unowned: all-ones on read, dropped on
 *    write, and the policy applies once for the whole access.
 * So a 4-byte read of a device that declared only 1-byte accesses becomes
 * four 1-byte reads at offsets o..o+3, and a 4-byte read of the last two
 * bytes of a region reads them and returns 0xffff in the upper half.
 */
#include "devmodel/iomap.h"

#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct iomap_entry {
	uint64_t base;
	uint64_t last; /* inclusive: a region may end at 2^64 - 1 */
	const struct iomap_owner *owner;
	uint32_t id;
};

struct iomap_table {
	atomic_uint refs;
	unsigned count;
	struct iomap_entry entry[];
};

/* The writer's record of one region: in its space's tree and its owner's list. */
struct iomap_region {
	struct iomap_entry e;
	enum vdev_space space;
	struct iomap_region *next; /* the owner's next region */
};

struct iomap_owner_node {
	const struct iomap_owner *owner;
	struct iomap_region *regions;
};

struct iomap {
	pthread_mutex_t lock;
	pthread_cond_t drained;
	unsigned retired; /* replaced tables still referenced by readers */
	/* the readers' view; NULL: behind the tree, built by the next reader */
	struct iomap_table *table[VDEV_SPACE_COUNT];
	void *tree[VDEV_SPACE_COUNT]; /* tsearch roots of struct iomap_region * */
	unsigned count[VDEV_SPACE_COUNT];
	void *owners; /* tsearch root of struct iomap_owner_node * */
	atomic_uint_fast64_t unowned[VDEV_SPACE_COUNT];
	enum conf_unsupported_action policy;
	iomap_abort_fn *abort_fn;
	void *abort_ctx;
};

/* What a reader gets when a table cannot be built (out of memory): nothing
 * is owned. Never freed: iomap_table_put leaves it alone. */
static struct iomap_table iomap_empty_table;

/* Regions compare by address; overlapping ones are "equal", so a search
 * for a new region finds any region it overlaps. */
static int iomap_region_cmp(const void *a, const void *b)
{
	const struct iomap_region *x = a, *y = b;

	if (x->e.last < y->e.base)
		return -1;
	if (x->e.base > y->e.last)
		return 1;
	return 0;
}

static int iomap_owner_cmp(const void *a, const void *b)
{
	const struct iomap_owner_node *x = a, *y = b;

	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

static struct iomap_table *iomap_table_alloc(unsigned count)
{
	struct iomap_table *t = calloc(1, sizeof(*t) + (size_t)count * sizeof(t->entry[0]));

	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	t->count = count;
	return t;
}

struct iomap *iomap_new(void)
{
	struct iomap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->drained, NULL);
	for (int s = 0; s < VDEV_SPACE_COUNT; s++)
		atomic_init(&m->unowned[s], 0);
	m->policy = CONF_UNSUP_IGNORE;
	return m;
}

void iomap_free(struct iomap *m)
{
	if (!m)
		return;
	for (int s = 0; s < VDEV_SPACE_COUNT; s++) {
		free(m->table[s]);
		tdestroy(m->tree[s], free);
	}
	tdestroy(m->owners, free);
	pthread_cond_destroy(&m->drained);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void iomap_set_policy(struct iomap *m, enum conf_unsupported_action policy,
		      iomap_abort_fn *abort_fn, void *ctx)
{
	m->policy = policy;
	m->abort_fn = abort_fn;
	m->abort_ctx = ctx;
}

const char *iomap_space_name(enum vdev_space space)
{
	switch (space) {
	case VDEV_SPACE_MMIO:
		return "mmio";
	case VDEV_SPACE_PIO:
		return "pio";
	case VDEV_SPACE_PCICFG:
		return "pcicfg";
	}
	return "?";
}

static bool iomap_space_valid(enum vdev_space space)
{
	return (unsigned)space < VDEV_SPACE_COUNT;
}

/* Filling a table from a tree, in address order (twalk_r's closure). */
struct iomap_fill {
	struct iomap_table *t;
	unsigned n;
};

static void iomap_fill_one(const void *nodep, VISIT which, void *closure)
{
	struct iomap_fill *f = closure;
	const struct iomap_region *r = *(const struct iomap_region *const *)nodep;

	/* postorder (between the two subtrees) and leaf visits are in order */
	if ((which == postorder || which == leaf) && f->n < f->t->count)
		f->t->entry[f->n++] = r->e;
}

/* Under m->lock: the current table of `space`, built if a change retired
 * it; NULL when it cannot be built (out of memory). */
static struct iomap_table *iomap_current_locked(struct iomap *m, enum vdev_space space)
{
	if (!m->table[space]) {
		struct iomap_fill f = {.t = iomap_table_alloc(m->count[space])};

		if (!f.t)
			return NULL;
		twalk_r(m->tree[space], iomap_fill_one, &f);
		m->table[space] = f.t;
	}
	return m->table[space];
}

/* A reference on the current table of `space`. */
static struct iomap_table *iomap_table_get(struct iomap *m, enum vdev_space space)
{
	struct iomap_table *t;

	pthread_mutex_lock(&m->lock);
	t = iomap_current_locked(m, space);
	if (t)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&m->lock);
	return t ? t : &iomap_empty_table;
}

static void iomap_table_put(struct iomap *m, struct iomap_table *t)
{
	if (t == &iomap_empty_table)
		return;
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Only a retired table can reach zero: the map holds the current one. */
	pthread_mutex_lock(&m->lock);
	free(t);
	m->retired--;
	if (m->retired == 0)
		pthread_cond_broadcast(&m->drained);
	pthread_mutex_unlock(&m->lock);
}

/* Under m->lock: the tree of `space` changed; no access starting from now
 * may use the current table (the next one builds a new table). */
static void iomap_retire_locked(struct iomap *m, enum vdev_space space)
{
	struct iomap_table *old = m->table[space];

	if (!old)
		return;
	m->table[space] = NULL;
	if (atomic_fetch_sub_explicit(&old->refs, 1, memory_order_acq_rel) == 1)
		free(old);
	else
		m->retired++;
}

/* Index of the last entry with base <= addr, or -1. */
static long iomap_search(const struct iomap_table *t, uint64_t addr)
{
	long lo = 0, hi = (long)t->count - 1, found = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (t->entry[mid].base <= addr) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

static const struct iomap_entry *iomap_find(const struct iomap_table *t, uint64_t addr)
{
	long i = iomap_search(t, addr);

	if (i < 0 || addr > t->entry[i].last)
		return NULL;
	return &t->entry[i];
}

static void iomap_conflict_fill(struct iomap_conflict *c, const struct iomap_entry *e)
{
	if (!c)
		return;
	snprintf(c->owner, sizeof(c->owner), "%s", e->owner->name ? e->owner->name : "?");
	c->base = e->base;
	c->length = e->last - e->base + 1;
	c->id = e->id;
}

int iomap_add(struct iomap *m, enum vdev_space space, uint64_t base, uint64_t length,
	      const struct iomap_owner *owner, uint32_t id, struct iomap_conflict *conflict)
{
	struct iomap_owner_node key = {.owner = owner}, *on = NULL, **onp;
	struct iomap_region *r, **found;
	uint64_t last;

	if (!iomap_space_valid(space) || !owner || length == 0)
		return -EINVAL;
	last = base + (length - 1);
	if (last < base)
		return -EINVAL; /* wraps past 2^64 */
	if (space == VDEV_SPACE_PIO && last > 0xffff)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = (struct iomap_region){.e = {.base = base, .last = last, .owner = owner, .id = id},
				   .space = space};

	pthread_mutex_lock(&m->lock);
	/* ids name a region across spaces (iomap_remove takes no space) */
	onp = tfind(&key, &m->owners, iomap_owner_cmp);
	if (onp) {
		on = *onp;
		for (const struct iomap_region *o = on->regions; o; o = o->next) {
			if (o->e.id == id) {
				pthread_mutex_unlock(&m->lock);
				free(r);
				return -EINVAL;
			}
		}
	}
	found = tsearch(r, &m->tree[space], iomap_region_cmp);
	if (!found) {
		pthread_mutex_unlock(&m->lock);
		free(r);
		return -ENOMEM;
	}
	if (*found != r) {
		iomap_conflict_fill(conflict, &(*found)->e);
		pthread_mutex_unlock(&m->lock);
		free(r);
		return -EEXIST;
	}
	if (!on) {
		on = calloc(1, sizeof(*on));
		if (on)
			on->owner = owner;
		if (!on || !tsearch(on, &m->owners, iomap_owner_cmp)) {
			tdelete(r, &m->tree[space], iomap_region_cmp);
			pthread_mutex_unlock(&m->lock);
			free(on);
			free(r);
			return -ENOMEM;
		}
	}
	r->next = on->regions;
	on->regions = r;
	m->count[space]++;
	iomap_retire_locked(m, space);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* Under m->lock: remove owner's regions with `id` (all of them: all_ids).
 * Needs no memory, so it cannot fail half-way. Returns how many. */
static unsigned iomap_remove_locked(struct iomap *m, const struct iomap_owner *owner, bool all_ids,
				    uint32_t id)
{
	struct iomap_owner_node key = {.owner = owner}, *on, **onp;
	struct iomap_region **pp;
	unsigned removed = 0;

	onp = tfind(&key, &m->owners, iomap_owner_cmp);
	if (!onp)
		return 0;
	on = *onp;
	for (pp = &on->regions; *pp;) {
		struct iomap_region *r = *pp;

		if (!all_ids && r->e.id != id) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		tdelete(r, &m->tree[r->space], iomap_region_cmp);
		m->count[r->space]--;
		iomap_retire_locked(m, r->space);
		free(r);
		removed++;
		if (!all_ids)
			break;
	}
	if (!on->regions) {
		tdelete(on, &m->owners, iomap_owner_cmp);
		free(on);
	}
	return removed;
}

int iomap_remove(struct iomap *m, const struct iomap_owner *owner, uint32_t id)
{
	unsigned removed;

	pthread_mutex_lock(&m->lock);
	removed = iomap_remove_locked(m, owner, false, id);
	pthread_mutex_unlock(&m->lock);
	return removed ? 0 : -ENOENT;
}

unsigned iomap_remove_owner(struct iomap *m, const struct iomap_owner *owner)
{
	unsigned removed;

	pthread_mutex_lock(&m->lock);
	removed = iomap_remove_locked(m, owner, true, 0);
	pthread_mutex_unlock(&m->lock);
	return removed;
}

void iomap_drain(struct iomap *m)
{
	pthread_mutex_lock(&m->lock);
	while (m->retired != 0)
		pthread_cond_wait(&m->drained, &m->lock);
	pthread_mutex_unlock(&m->lock);
}

unsigned iomap_count(struct iomap *m, enum vdev_space space)
{
	unsigned n;

	if (!iomap_space_valid(space))
		return 0;
	pthread_mutex_lock(&m->lock);
	n = m->count[space];
	pthread_mutex_unlock(&m->lock);
	return n;
}

int iomap_region_at(struct iomap *m, enum vdev_space space, unsigned index,
		    struct iomap_region_info *info)
{
	const struct iomap_table *t;
	int ret = -ENOENT;

	if (!iomap_space_valid(space))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	t = iomap_current_locked(m, space);
	if (!t)
		ret = -ENOMEM;
	else if (index < t->count) {
		info->base = t->entry[index].base;
		info->length = t->entry[index].last - t->entry[index].base + 1;
		info->owner = t->entry[index].owner;
		info->id = t->entry[index].id;
		ret = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

uint64_t iomap_unowned_count(struct iomap *m, enum vdev_space space)
{
	if (!iomap_space_valid(space))
		return 0;
	return atomic_load(&m->unowned[space]);
}

static uint64_t iomap_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* The largest declared size <= room, or 0. */
static unsigned iomap_fit(uint32_t sizes, uint64_t room)
{
	static const unsigned order[] = {8, 4, 2, 1};

	for (unsigned i = 0; i < 4; i++)
		if ((sizes & VDEV_ACCESS_SIZE(order[i])) && order[i] <= room)
			return order[i];
	return 0;
}

/* The unowned/error policy for one access; `err` is what `fail` returns. */
static int iomap_refuse(struct iomap *m, enum vdev_space space, uint64_t addr, unsigned size,
			bool is_write, int err)
{
	if (space == VDEV_SPACE_PCICFG)
		return 0;
	switch (m->policy) {
	case CONF_UNSUP_IGNORE:
		return 0;
	case CONF_UNSUP_ABORT:
		if (m->abort_fn)
			m->abort_fn(m->abort_ctx, space, addr, size, is_write);
		return err;
	case CONF_UNSUP_FAIL:
	default:
		return err;
	}
}

static int iomap_call(const struct iomap_entry *e, enum vdev_space space, uint64_t addr,
		      unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	int ret = e->owner->access(e->owner->ctx, e->id, space, addr - e->base, size, is_write,
				   value, vcpu);

	if (ret > 0)
		ret = -EIO; /* a misbehaving owner: positive is not in the contract */
	return ret;
}

int iomap_access(struct iomap *m, enum vdev_space space, uint64_t addr, unsigned size,
		 bool is_write, uint64_t *value, int32_t vcpu)
{
	struct iomap_table *t;
	const struct iomap_entry *e;
	uint64_t result = 0, in = is_write ? *value & iomap_mask(size) : 0;
	bool unowned = false, dev_error = false;
	unsigned pos = 0;
	int ret;

	if (!iomap_space_valid(space) || (size != 1 && size != 2 && size != 4 && size != 8))
		return -EINVAL;
	t = iomap_table_get(m, space);

	e = iomap_find(t, addr);
	if (e && e->owner->access && (e->owner->access_sizes & VDEV_ACCESS_SIZE(size)) &&
	    e->last - addr >= size - 1) {
		uint64_t v = in;

		ret = iomap_call(e, space, addr, size, is_write, &v, vcpu);
		iomap_table_put(m, t);
		if (ret < 0) {
			if (!is_write)
				*value = iomap_mask(size);
			return iomap_refuse(m, space, addr, size, is_write, -EIO);
		}
		if (!is_write)
			*value = v & iomap_mask(size);
		return 0;
	}

	while (pos < size) {
		uint64_t a = addr + pos, room = size - pos;
		unsigned chunk = 0;

		if (a < addr) {
			/* wrapped past 2^64: nothing can own it */
			e = NULL;
		} else {
			e = iomap_find(t, a);
		}
		if (e && e->owner->access) {
			uint64_t in_region = e->last - a; /* bytes after a; +1 may overflow */

			if (in_region < room - 1)
				room = in_region + 1;
			chunk = iomap_fit(e->owner->access_sizes, room);
			if (chunk) {
				uint64_t v = (in >> (8 * pos)) & iomap_mask(chunk);

				ret = iomap_call(e, space, a, chunk, is_write, &v, vcpu);
				if (ret < 0) {
					dev_error = true;
					v = ~0ull;
				}
				if (!is_write)
					result |= (v & iomap_mask(chunk)) << (8 * pos);
				pos += chunk;
				continue;
			}
			/* no declared size fits: these bytes are unowned */
			chunk = (unsigned)room;
		} else if (e) {
			/* a reserve: unowned up to its end */
			uint64_t in_region = e->last - a;

			chunk = in_region < room - 1 ? (unsigned)(in_region + 1) : (unsigned)room;
		} else {
			/* a gap: unowned up to the next region or the end of the access */
			long i = a < addr ? -2 : iomap_search(t, a);
			uint64_t next_gap = room;

			if (i >= -1 && (unsigned long)(i + 1) < t->count) {
				uint64_t nb = t->entry[i + 1].base;

				if (nb - a < next_gap)
					next_gap = nb - a;
			}
			chunk = (unsigned)next_gap;
		}
		unowned = true;
		if (!is_write)
			result |= iomap_mask(chunk) << (8 * pos);
		pos += chunk;
	}
	iomap_table_put(m, t);

	if (!is_write)
		*value = result & iomap_mask(size);
	if (unowned) {
		atomic_fetch_add(&m->unowned[space], 1);
		ret = iomap_refuse(m, space, addr, size, is_write, -ENXIO);
		if (ret)
			return ret;
	}
	if (dev_error)
		return iomap_refuse(m, space, addr, size, is_write, -EIO);
	return 0;
}
