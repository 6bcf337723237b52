/*
 * sdk/lib/virtio_queue.c: split virtqueues (VIRTIO 1.2 section 2.7) for
 * the virtio helper; the contract is vdev/virtio.h.
 *
 * Layout, all little-endian, in guest memory:
 *	descriptor table  16 bytes each: addr u64, len u32, flags u16, next u16
 *	available ring    flags u16, idx u16, ring[size] u16, used_event u16
 *	used ring         flags u16, idx u16, ring[size] {id u32, len u32},
 *	                  avail_event u16
 *
 * Every guest access goes through the host (mem_read/mem_write, or
 * mem_map for the 16-bit indices so that they are read and written as one
 * access). The guest owns these bytes and may change them at any moment:
 * a descriptor is read once into a local copy and only the copy is
 * trusted, and everything read is checked before use.
 *
 * Ordering (2.7.13, the Linux virtio_ring barriers): the available index
 * is read before the entries it publishes (acquire); a used element is
 * written before the used index that publishes it (release); the used
 * index is written before the driver's suppression fields are read
 * (full fence), and re-enabling notifications is followed by a full fence
 * and a second look at the available index.
 *
 * Packed rings (2.8), when VIRTIO_F_RING_PACKED was negotiated: one ring
 * of 16-byte descriptors (addr u64, len u32, id u16, flags u16) that the
 * driver makes available and the device hands back in place; AVAIL (bit
 * 7) and USED (bit 15) against the wrap counters say whose a slot is.
 * The driver area and the device area each hold an event suppression
 * structure (off_wrap u16, flags u16). A chain is consecutive slots linked
 * by NEXT, its buffer id in the last one; an indirect descriptor stands
 * alone and points to a table of descriptors read in order. The same
 * checks as for split chains apply, by the same names. Ordering: the
 * head's flags are read before the rest of the chain (acquire); a used
 * descriptor's id and len are written before its flags (release).
 */
#include <endian.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "virtio_internal.h"

#define VIRTQ_DESC_F_NEXT	   1u
#define VIRTQ_DESC_F_WRITE	   2u
#define VIRTQ_DESC_F_INDIRECT	   4u
#define VIRTQ_USED_F_NO_NOTIFY	   1u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_DESC_SIZE		   16u
#define VIRTQ_USED_ELEM_SIZE	   8u

#define VIRTQ_PACKED_F_AVAIL	 (1u << 7)
#define VIRTQ_PACKED_F_USED	 (1u << 15)
#define VIRTQ_PACKED_WRAP	 0x8000u /* bit 15 of a position: its wrap counter */
#define VIRTQ_EVENT_FLAG_ENABLE	 0u
#define VIRTQ_EVENT_FLAG_DISABLE 1u
#define VIRTQ_EVENT_FLAG_DESC	 2u

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next; /* packed: the buffer id */
};

/* A 16-bit ring field, as one access when the host maps it. */
static int vq_load16(struct vdev_virtio *vio, uint64_t gpa, uint16_t *v)
{
	uint16_t *p = vio->host->mem_map(vio->h, gpa, 2, VDEV_MAP_READ);
	uint16_t raw;
	int err = 0;

	if (p && !((uintptr_t)p & 1)) {
		raw = __atomic_load_n(p, __ATOMIC_RELAXED);
	} else {
		err = vio->host->mem_read(vio->h, gpa, &raw, 2);
	}
	if (p)
		vio->host->mem_unmap(vio->h, p, 2);
	*v = le16toh(raw);
	return err;
}

static int vq_store16(struct vdev_virtio *vio, uint64_t gpa, uint16_t v)
{
	uint16_t *p = vio->host->mem_map(vio->h, gpa, 2, VDEV_MAP_READ | VDEV_MAP_WRITE);
	uint16_t raw = htole16(v);
	int err = 0;

	if (p && !((uintptr_t)p & 1))
		__atomic_store_n(p, raw, __ATOMIC_RELAXED);
	else
		err = vio->host->mem_write(vio->h, gpa, &raw, 2);
	if (p)
		vio->host->mem_unmap(vio->h, p, 2);
	return err;
}

static uint64_t vq_avail_idx_addr(const struct vdev_virtio_queue *q)
{
	return q->driver + 2;
}

static uint64_t vq_used_event_addr(const struct vdev_virtio_queue *q)
{
	return q->driver + 4 + 2ull * q->size;
}

static uint64_t vq_avail_event_addr(const struct vdev_virtio_queue *q)
{
	return q->device + 4 + (uint64_t)VIRTQ_USED_ELEM_SIZE * q->size;
}

/* 2.7.7.2 / 2.7.10: vring_need_event: is `event` in (old, new]? */
static bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* Ask the driver for (or spare the driver) notifications on this queue. */
static int vq_set_notify(struct vdev_virtio *vio, struct vdev_virtio_queue *q, bool want)
{
	if (vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_EVENT_IDX))
		/* with EVENT_IDX only "notify me after last_avail" is written:
		 * leaving it behind while busy is what suppresses kicks */
		return want ? vq_store16(vio, vq_avail_event_addr(q), q->last_avail) : 0;
	return vq_store16(vio, q->device, want ? 0 : VIRTQ_USED_F_NO_NOTIFY);
}

/* What a chain walk found wrong, by name (the log line says which). */
struct vq_walk {
	struct vdev_virtio *vio;
	struct vdev_virtio_chain *chain;
	unsigned total; /* descriptors walked */
	unsigned limit; /* the queue size */
	bool seen_write;
	uint8_t visited[VDEV_VIRTIO_QUEUE_SIZE_MAX / 8];
};

static const char *vq_add_buffer(struct vq_walk *w, const struct virtq_desc *d)
{
	struct vdev_virtio_chain *c = w->chain;
	bool write = d->flags & VIRTQ_DESC_F_WRITE;

	if (d->len && d->addr + (d->len - 1ull) < d->addr)
		return "buffer address + length wraps around";
	if (!write && w->seen_write)
		return "readable descriptor after a writable one";
	if (!vdev_virtio_mem_ok__(w->vio, d->addr, d->len, write))
		return "buffer outside guest RAM";
	if (write) {
		if (c->write_bytes + (uint64_t)d->len > UINT32_MAX)
			return "writable length overflows 32 bits";
		c->write_bytes += d->len;
	} else {
		if (c->read_bytes + (uint64_t)d->len > UINT32_MAX)
			return "readable length overflows 32 bits";
		c->read_bytes += d->len;
		c->readable++;
	}
	w->seen_write |= write;
	if (c->count == VDEV_VIRTIO_CHAIN_MAX)
		return "chain longer than the queue size";
	c->seg[c->count++] =
	    (struct vdev_virtio_seg){.gpa = d->addr, .len = d->len, .write = write};
	return NULL;
}

static int vq_read_desc(struct vdev_virtio *vio, uint64_t table, unsigned index,
			struct virtq_desc *d, bool packed)
{
	uint8_t raw[VIRTQ_DESC_SIZE];
	int err = vio->host->mem_read(vio->h, table + (uint64_t)index * VIRTQ_DESC_SIZE, raw,
				      sizeof(raw));

	if (err)
		return err;
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + (packed ? 14 : 12), 2);
	memcpy(&d->next, raw + (packed ? 12 : 14), 2);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

/*
 * Walk the chain starting at `head` of a table of `entries` descriptors at
 * `table` (the queue's, or an indirect one): NULL when it is well formed,
 * else what is wrong.
 */
static const char *vq_walk_table(struct vq_walk *w, uint64_t table, uint64_t entries, unsigned head,
				 bool indirect)
{
	struct virtq_desc d;
	unsigned idx = head;

	memset(w->visited, 0, sizeof(w->visited));
	for (;;) {
		const char *bad;

		if (idx >= entries)
			return indirect ? "next index outside the indirect table"
					: "next index outside the queue";
		/* loops are caught here by name; past the bitmap, by the count */
		if (idx < VDEV_VIRTIO_QUEUE_SIZE_MAX) {
			if (w->visited[idx / 8] & (1u << (idx % 8)))
				return "descriptor loop";
			w->visited[idx / 8] |= (uint8_t)(1u << (idx % 8));
		}
		if (++w->total > w->limit)
			return "chain longer than the queue size";
		if (vq_read_desc(w->vio, table, idx, &d, false))
			return indirect ? "indirect table outside guest RAM"
					: "descriptor table outside guest RAM";
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return "indirect descriptor inside an indirect table";
			if (!vdev_virtio_has_feature(w->vio, VDEV_VIRTIO_F_INDIRECT_DESC))
				return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return "indirect descriptor with NEXT set";
			if (d.len == 0 || d.len % VIRTQ_DESC_SIZE)
				return "indirect table length not a multiple of 16";
			if (d.addr + (d.len - 1ull) < d.addr)
				return "indirect table address + length wraps around";
			if (!vdev_virtio_mem_ok__(w->vio, d.addr, d.len, false))
				return "indirect table outside guest RAM";
			/* the indirect descriptor itself is not a buffer */
			w->total--;
			return vq_walk_table(w, d.addr, d.len / VIRTQ_DESC_SIZE, 0, true);
		}
		bad = vq_add_buffer(w, &d);
		if (bad)
			return bad;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		idx = d.next;
	}
}

/* ------------------------------------------------------- packed rings */

static bool vq_is_packed(const struct vdev_virtio *vio)
{
	return vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_RING_PACKED);
}

uint16_t vdev_virtio_queue_start__(const struct vdev_virtio *vio)
{
	return vq_is_packed(vio) ? VIRTQ_PACKED_WRAP : 0;
}

/* A position `n` slots further, the wrap counter flipped past the end. */
static uint16_t vq_packed_advance(const struct vdev_virtio_queue *q, uint16_t pos, unsigned n)
{
	unsigned i = (pos & 0x7fffu) + n;
	uint16_t wrap = pos & VIRTQ_PACKED_WRAP;

	if (i >= q->size) {
		i -= q->size;
		wrap ^= VIRTQ_PACKED_WRAP;
	}
	return (uint16_t)(i | wrap);
}

static uint64_t vq_packed_slot(const struct vdev_virtio_queue *q, uint16_t pos)
{
	return q->desc + (uint64_t)VIRTQ_DESC_SIZE * (pos & 0x7fffu);
}

/* Is the slot at `pos` available (AVAIL == wrap counter != USED)? */
static int vq_packed_avail(struct vdev_virtio *vio, const struct vdev_virtio_queue *q, uint16_t pos,
			   bool *avail)
{
	bool wrap = pos & VIRTQ_PACKED_WRAP;
	uint16_t flags;

	if (vq_load16(vio, vq_packed_slot(q, pos) + 14, &flags))
		return -EIO;
	*avail =
	    !!(flags & VIRTQ_PACKED_F_AVAIL) == wrap && !!(flags & VIRTQ_PACKED_F_USED) != wrap;
	return 0;
}

/* The device event suppression structure: kick me, or don't (2.8.10). */
static int vq_packed_set_notify(struct vdev_virtio *vio, struct vdev_virtio_queue *q, bool want)
{
	if (vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_EVENT_IDX)) {
		/* as for split rings: only "after last_avail" is written */
		if (!want)
			return 0;
		if (vq_store16(vio, q->device, q->last_avail))
			return -EIO;
		return vq_store16(vio, q->device + 2, VIRTQ_EVENT_FLAG_DESC);
	}
	return vq_store16(vio, q->device + 2,
			  want ? VIRTQ_EVENT_FLAG_ENABLE : VIRTQ_EVENT_FLAG_DISABLE);
}

/* An indirect descriptor (alone in its buffer): its table, in order. */
static const char *vq_packed_indirect(struct vq_walk *w, const struct virtq_desc *d)
{
	struct virtq_desc e;
	const char *bad;

	if (!vdev_virtio_has_feature(w->vio, VDEV_VIRTIO_F_INDIRECT_DESC))
		return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return "indirect descriptor with NEXT set";
	if (w->chain->count)
		return "indirect descriptor after other descriptors of its buffer";
	if (d->len == 0 || d->len % VIRTQ_DESC_SIZE)
		return "indirect table length not a multiple of 16";
	if (d->addr + (d->len - 1ull) < d->addr)
		return "indirect table address + length wraps around";
	if (!vdev_virtio_mem_ok__(w->vio, d->addr, d->len, false))
		return "indirect table outside guest RAM";
	if (d->len / VIRTQ_DESC_SIZE > w->limit)
		return "chain longer than the queue size";
	for (unsigned i = 0; i < d->len / VIRTQ_DESC_SIZE; i++) {
		if (vq_read_desc(w->vio, d->addr, i, &e, true))
			return "indirect table outside guest RAM";
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return "indirect descriptor inside an indirect table";
		bad = vq_add_buffer(w, &e);
		if (bad)
			return bad;
	}
	return NULL;
}

/* The chain at q->last_avail, known available: walked into w->chain. */
static const char *vq_packed_walk(struct vq_walk *w, struct vdev_virtio_queue *q)
{
	uint16_t pos = q->last_avail;
	struct virtq_desc d;
	const char *bad;

	for (;;) {
		if (w->total == q->size)
			return "chain longer than the queue size";
		w->total++;
		if (vq_read_desc(w->vio, q->desc, pos & 0x7fffu, &d, true))
			return "descriptor ring outside guest RAM";
		bad = d.flags & VIRTQ_DESC_F_INDIRECT ? vq_packed_indirect(w, &d)
						      : vq_add_buffer(w, &d);
		if (bad)
			return bad;
		if ((d.flags & VIRTQ_DESC_F_INDIRECT) || !(d.flags & VIRTQ_DESC_F_NEXT)) {
			w->chain->head = d.next; /* the buffer id, in the last one */
			return NULL;
		}
		pos = vq_packed_advance(q, pos, 1);
	}
}

static int vq_packed_pop(struct vdev_virtio *vio, unsigned queue, struct vdev_virtio_queue *q,
			 struct vdev_virtio_chain *chain)
{
	struct vq_walk w;
	const char *bad;
	char why[128];
	bool avail;

	if (vq_packed_avail(vio, q, q->last_avail, &avail)) {
		vdev_virtio_malformed__(vio, queue, "descriptor ring outside guest RAM");
		return -EIO;
	}
	if (!avail) {
		/* going idle: ask for a kick, then look again */
		if (vq_packed_set_notify(vio, q, true)) {
			vdev_virtio_malformed__(vio, queue, "device event area outside guest RAM");
			return -EIO;
		}
		atomic_thread_fence(memory_order_seq_cst);
		if (vq_packed_avail(vio, q, q->last_avail, &avail)) {
			vdev_virtio_malformed__(vio, queue, "descriptor ring outside guest RAM");
			return -EIO;
		}
		if (!avail)
			return 0;
	}
	if (!vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_EVENT_IDX))
		vq_packed_set_notify(vio, q, false);
	/* the chain is read after the head's flags that made it available */
	atomic_thread_fence(memory_order_acquire);
	memset(chain, 0, offsetof(struct vdev_virtio_chain, seg));
	chain->queue = (uint16_t)queue;
	chain->epoch = vio->epoch;
	w = (struct vq_walk){.vio = vio, .chain = chain, .limit = q->size};
	bad = vq_packed_walk(&w, q);
	if (bad) {
		snprintf(why, sizeof(why), "malformed chain at descriptor %u: %s",
			 q->last_avail & 0x7fffu, bad);
		vdev_virtio_malformed__(vio, queue, why);
		return -EIO;
	}
	chain->slots = (uint16_t)w.total;
	q->last_avail = vq_packed_advance(q, q->last_avail, w.total);
	return 1;
}

/* The used descriptor at used_idx: id and len, then flags (2.8.9). */
static int vq_packed_push(struct vdev_virtio *vio, struct vdev_virtio_queue *q,
			  const struct vdev_virtio_chain *chain, uint32_t len)
{
	uint64_t slot = vq_packed_slot(q, q->used_idx);
	uint16_t flags = 0;
	uint8_t raw[6];
	uint32_t len_le = htole32(len);
	uint16_t id = htole16(chain->head);

	memcpy(raw, &len_le, 4);
	memcpy(raw + 4, &id, 2);
	if (vio->host->mem_write(vio->h, slot + 8, raw, sizeof(raw)))
		return -EIO;
	if (q->used_idx & VIRTQ_PACKED_WRAP)
		flags = VIRTQ_PACKED_F_AVAIL | VIRTQ_PACKED_F_USED;
	if (len)
		flags |= VIRTQ_DESC_F_WRITE;
	atomic_thread_fence(memory_order_release);
	if (vq_store16(vio, slot + 14, flags))
		return -EIO;
	q->used_idx = vq_packed_advance(q, q->used_idx, chain->slots ? chain->slots : 1);
	return 0;
}

/* Should used buffers since the last interrupt interrupt (2.8.10)? As
 * QEMU decides: DISABLE no, ENABLE yes, DESC (EVENT_IDX) when the event
 * position lies among the ones used since. */
static bool vq_packed_need_interrupt(struct vdev_virtio *vio, struct vdev_virtio_queue *q)
{
	uint16_t off_wrap, flags, old = q->signalled_used & 0x7fffu;
	uint16_t new_pos = q->used_idx & 0x7fffu;
	bool valid = q->signalled_valid;
	int off;

	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	if (vq_load16(vio, q->driver + 2, &flags) || vq_load16(vio, q->driver, &off_wrap))
		return false;
	flags &= 3;
	if (flags == VIRTQ_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VIRTQ_EVENT_FLAG_DESC ||
	    !vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_EVENT_IDX))
		return true;
	off = off_wrap & 0x7fff;
	if (!!(off_wrap & VIRTQ_PACKED_WRAP) != !!(q->used_idx & VIRTQ_PACKED_WRAP))
		off -= q->size;
	return !valid || vq_need_event((uint16_t)off, new_pos, old);
}

static struct vdev_virtio_queue *vq_get(struct vdev_virtio *vio, unsigned queue)
{
	return queue < vio->info.queue_count ? &vio->regs.queue[queue] : NULL;
}

/* Read the available index and check how far it moved. */
static int vq_avail_pending(struct vdev_virtio *vio, unsigned queue, uint16_t *pending)
{
	struct vdev_virtio_queue *q = &vio->regs.queue[queue];
	uint16_t idx;

	if (vq_load16(vio, vq_avail_idx_addr(q), &idx)) {
		vdev_virtio_malformed__(vio, queue, "available ring outside guest RAM");
		return -EIO;
	}
	*pending = (uint16_t)(idx - q->last_avail);
	if (*pending > q->size) {
		vdev_virtio_malformed__(vio, queue,
					"available index moved by more than the queue size");
		return -EIO;
	}
	return 0;
}

int vdev_virtio_queue_pop(struct vdev_virtio *vio, unsigned queue, struct vdev_virtio_chain *chain)
{
	struct vdev_virtio_queue *q = vq_get(vio, queue);
	struct vq_walk w;
	uint16_t pending, head;
	const char *bad;
	char why[128];
	int err;

	if (!q || !chain)
		return -EINVAL;
	if (!q->ready || !vdev_virtio_live(vio))
		return 0;
	if (vq_is_packed(vio))
		return vq_packed_pop(vio, queue, q, chain);
	err = vq_avail_pending(vio, queue, &pending);
	if (err)
		return err;
	if (!pending) {
		/* going idle: ask for a kick, then look again (a buffer added
		 * between the first look and the request would be missed) */
		if (vq_set_notify(vio, q, true)) {
			vdev_virtio_malformed__(vio, queue, "used ring outside guest RAM");
			return -EIO;
		}
		atomic_thread_fence(memory_order_seq_cst);
		err = vq_avail_pending(vio, queue, &pending);
		if (err || !pending)
			return err;
	}
	if (!vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_EVENT_IDX))
		vq_set_notify(vio, q, false);
	/* the entry is read after the index that published it */
	atomic_thread_fence(memory_order_acquire);
	if (vq_load16(vio, q->driver + 4 + 2ull * (q->last_avail % q->size), &head)) {
		vdev_virtio_malformed__(vio, queue, "available ring outside guest RAM");
		return -EIO;
	}
	memset(chain, 0, offsetof(struct vdev_virtio_chain, seg));
	chain->queue = (uint16_t)queue;
	chain->head = head;
	chain->epoch = vio->epoch;
	w = (struct vq_walk){.vio = vio, .chain = chain, .limit = q->size};
	bad = head >= q->size ? "head index outside the queue"
			      : vq_walk_table(&w, q->desc, q->size, head, false);
	if (bad) {
		snprintf(why, sizeof(why), "malformed chain at head %u: %s", head, bad);
		vdev_virtio_malformed__(vio, queue, why);
		return -EIO;
	}
	q->last_avail++;
	return 1;
}

int vdev_virtio_queue_push(struct vdev_virtio *vio, const struct vdev_virtio_chain *chain,
			   uint32_t written)
{
	struct vdev_virtio_queue *q;
	uint8_t elem[VIRTQ_USED_ELEM_SIZE];
	uint32_t id, len;

	if (!chain || vio->dead || chain->epoch != vio->epoch)
		return -ESTALE;
	q = vq_get(vio, chain->queue);
	if (!q || !q->ready)
		return -ESTALE;
	if (vq_is_packed(vio)) {
		if (vq_packed_push(vio, q, chain,
				   written < chain->write_bytes ? written : chain->write_bytes)) {
			vdev_virtio_malformed__(vio, chain->queue,
						"descriptor ring outside guest RAM");
			return -EIO;
		}
		return 0;
	}
	id = htole32(chain->head);
	len = htole32(written < chain->write_bytes ? written : chain->write_bytes);
	memcpy(elem, &id, 4);
	memcpy(elem + 4, &len, 4);
	if (vio->host->mem_write(
		vio->h, q->device + 4 + (uint64_t)VIRTQ_USED_ELEM_SIZE * (q->used_idx % q->size),
		elem, sizeof(elem))) {
		vdev_virtio_malformed__(vio, chain->queue, "used ring outside guest RAM");
		return -EIO;
	}
	/* the element is visible before the index that publishes it */
	atomic_thread_fence(memory_order_release);
	if (vq_store16(vio, q->device + 2, (uint16_t)(q->used_idx + 1))) {
		vdev_virtio_malformed__(vio, chain->queue, "used ring outside guest RAM");
		return -EIO;
	}
	q->used_idx++;
	return 0;
}

int vdev_virtio_queue_interrupt(struct vdev_virtio *vio, unsigned queue)
{
	struct vdev_virtio_queue *q = vq_get(vio, queue);
	uint16_t v;
	bool need;

	if (!q)
		return -EINVAL;
	/* nothing used since the last interrupt (or ever) */
	if (!q->ready || vio->dead ||
	    (q->signalled_valid ? q->signalled_used == q->used_idx
				: q->used_idx == vdev_virtio_queue_start__(vio)))
		return 0;
	/* the used index is visible before the driver's wishes are read */
	atomic_thread_fence(memory_order_seq_cst);
	if (vq_is_packed(vio)) {
		if (!vq_packed_need_interrupt(vio, q))
			return 0;
		vdev_virtio_raise_queue__(vio, queue);
		return 1;
	}
	if (vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_EVENT_IDX)) {
		if (vq_load16(vio, vq_used_event_addr(q), &v))
			return 0;
		need = !q->signalled_valid || vq_need_event(v, q->used_idx, q->signalled_used);
	} else {
		if (vq_load16(vio, q->driver, &v))
			return 0;
		need = !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (!need) {
		/* without EVENT_IDX the driver polls what it suppressed: these
		 * buffers need no interrupt later either */
		if (!vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_EVENT_IDX)) {
			q->signalled_used = q->used_idx;
			q->signalled_valid = true;
		}
		return 0;
	}
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	vdev_virtio_raise_queue__(vio, queue);
	return 1;
}

/* Copy between buf and the chain's readable (to_guest false) or writable
 * part, starting `offset` bytes into that part. */
static ssize_t vq_copy(struct vdev_virtio *vio, const struct vdev_virtio_chain *chain,
		       size_t offset, void *buf, size_t length, bool to_guest)
{
	unsigned first = to_guest ? chain->readable : 0;
	unsigned end = to_guest ? chain->count : chain->readable;
	uint8_t *p = buf;
	size_t done = 0;

	/* after a reset the buffers are the driver's again (2.4) */
	if (vio->dead || chain->epoch != vio->epoch)
		return -ESTALE;
	for (unsigned i = first; i < end && done < length; i++) {
		const struct vdev_virtio_seg *s = &chain->seg[i];
		size_t n;
		int err;

		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		n = s->len - offset;
		if (n > length - done)
			n = length - done;
		err = to_guest ? vio->host->mem_write(vio->h, s->gpa + offset, p + done, n)
			       : vio->host->mem_read(vio->h, s->gpa + offset, p + done, n);
		if (err)
			return -EFAULT;
		done += n;
		offset = 0;
	}
	return (ssize_t)done;
}

ssize_t vdev_virtio_chain_read(struct vdev_virtio *vio, const struct vdev_virtio_chain *chain,
			       size_t offset, void *buf, size_t length)
{
	return vq_copy(vio, chain, offset, buf, length, false);
}

ssize_t vdev_virtio_chain_write(struct vdev_virtio *vio, const struct vdev_virtio_chain *chain,
				size_t offset, const void *buf, size_t length)
{
	return vq_copy(vio, chain, offset, (void *)buf, length, true);
}
