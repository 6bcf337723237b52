/*
 * devmodel/ioreq_engine.c: the device-model side of Xen's ioreq protocol.
 *
 * Synchronous slots (xen-ioreq.md 1.2, 1.4, 1.5): Xen writes the slot body,
 * then state READY, then notifies. We load the state, and only after an
 * acquire fence read the body (one snapshot, so the request cannot change
 * under us), mark it INPROCESS, execute it, write `data` for a value read,
 * release-fence so the data and any guest RAM written are visible first,
 * store IORESP_READY, then notify. Xen crashes the domain if it sees the
 * state go backwards, and treats NONE as "emulator died", so the only
 * values ever stored here are INPROCESS and IORESP_READY (slot_set_state).
 *
 * `state` shares byte 30 with data_is_ptr, dir and df; a C11 atomic cannot
 * sit on a bitfield, so the byte is accessed through __atomic builtins
 * with the state in its low nibble. Rewriting the other bits is safe:
 * Xen does not touch the slot between READY and IORESP_READY.
 *
 * Buffered ring (1.3): read read_pointer, rmb, write_pointer, rmb, re-read
 * read_pointer (Xen may rebase both pointers by a multiple of 511 in
 * BUFIOREQ_ATOMIC mode; retry if it moved), then slot rp % 511 and, for an
 * 8-byte write, slot (rp + 1) % 511 holding the high half. read_pointer is
 * advanced with an atomic add (release: our slot reads happen before Xen
 * may reuse the slots), never stored from a local copy.
 */
#include "devmodel/ioreq_engine.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* byte 30 of ioreq_t: state:4 data_is_ptr:1 dir:1 df:1 _pad1:1 */
#define SLOT_FLAGS_OFFSET 30
#define SLOT_STATE_MASK	  0x0f

_Static_assert(sizeof(ioreq_t) == 32, "ioreq_t is 32 bytes on every architecture");
_Static_assert(offsetof(ioreq_t, _pad0) == 28 && offsetof(ioreq_t, type) == 31,
	       "the state bitfield is byte 30");
_Static_assert(sizeof(buf_ioreq_t) == 8, "buf_ioreq_t is 8 bytes");
_Static_assert(sizeof(buffered_iopage_t) == 4096, "buffered_iopage_t is one page");

struct ioreq_engine {
	ioreq_t *slots;
	uint32_t nr_vcpus;
	buffered_iopage_t *buffered;
	struct dm_io io;
	struct ioreq_engine_ops ops;
	void *ctx;
};

static uint8_t *slot_flags(ioreq_t *slot)
{
	return (uint8_t *)slot + SLOT_FLAGS_OFFSET;
}

static uint8_t slot_state(ioreq_t *slot)
{
	return __atomic_load_n(slot_flags(slot), __ATOMIC_RELAXED) & SLOT_STATE_MASK;
}

/* Only forward moves exist in this file: INPROCESS, then IORESP_READY. */
static void slot_set_state(ioreq_t *slot, uint8_t state)
{
	uint8_t *flags = slot_flags(slot);
	uint8_t old = __atomic_load_n(flags, __ATOMIC_RELAXED);

	__atomic_store_n(flags, (uint8_t)((old & ~SLOT_STATE_MASK) | state), __ATOMIC_RELAXED);
}

static uint64_t engine_all_ones(uint32_t size)
{
	return size >= 1 && size < 8 ? (1ULL << (size * 8)) - 1 : ~0ULL;
}

int ioreq_engine_create(const struct ioreq_engine_config *cfg, struct ioreq_engine **out)
{
	struct ioreq_engine *e;

	*out = NULL;
	if (!cfg->shared || !cfg->io || !cfg->io->access || !cfg->io->mem_read ||
	    !cfg->io->mem_write || !cfg->ops || !cfg->ops->notify)
		return -EINVAL;
	if (cfg->nr_vcpus == 0 || cfg->nr_vcpus > IOREQ_ENGINE_MAX_VCPUS)
		return -EINVAL;
	if (((uintptr_t)cfg->shared & 7) || ((uintptr_t)cfg->buffered & 7))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->slots = cfg->shared->vcpu_ioreq;
	e->nr_vcpus = cfg->nr_vcpus;
	e->buffered = cfg->buffered;
	e->io = *cfg->io;
	e->ops = *cfg->ops;
	e->ctx = cfg->ctx;
	*out = e;
	return 0;
}

void ioreq_engine_destroy(struct ioreq_engine *engine)
{
	free(engine);
}

uint32_t ioreq_engine_remote_port(const struct ioreq_engine *engine, uint32_t vcpu)
{
	if (vcpu >= engine->nr_vcpus)
		return 0;
	return __atomic_load_n(&engine->slots[vcpu].vp_eport, __ATOMIC_RELAXED);
}

static void engine_failed(struct ioreq_engine *e, uint32_t vcpu, const ioreq_t *req, int err)
{
	if (e->ops.request_failed)
		e->ops.request_failed(e->ctx, vcpu, req, err);
}

/*
 * PCI_CONFIG addresses are (sbdf << 32) | reg (1.2). vdm's config space has
 * one segment and 4 KiB per function, so anything else has no device.
 */
static int engine_pcicfg_addr(const ioreq_t *req, uint64_t *addr)
{
	uint32_t sbdf = (uint32_t)(req->addr >> 32);
	uint32_t reg = (uint32_t)req->addr;

	if ((sbdf >> 16) != 0 || reg > 0xfff || reg + req->size > 0x1000)
		return -ENODEV;
	*addr = VDEV_PCICFG_ADDR((sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f, sbdf & 7, reg);
	return 0;
}

/* Turn a PIO/COPY/PCI_CONFIG slot snapshot into a request and run it. */
static int engine_execute(struct ioreq_engine *e, const ioreq_t *req, uint32_t vcpu, uint64_t *data)
{
	struct dm_request r = {
	    .addr = req->addr,
	    .size = (uint8_t)req->size,
	    .count = req->count,
	    .dir = req->dir == IOREQ_READ ? DM_READ : DM_WRITE,
	    .data_is_ptr = req->data_is_ptr,
	    .df = req->df,
	    .data = req->data,
	    .vcpu = (int32_t)vcpu,
	};
	int rc;

	/* size is u32 in the slot: refuse what the u8 would truncate */
	if (req->size > 8)
		return -EINVAL;
	switch (req->type) {
	case IOREQ_TYPE_PIO:
		r.space = VDEV_SPACE_PIO;
		break;
	case IOREQ_TYPE_COPY:
		r.space = VDEV_SPACE_MMIO;
		break;
	case IOREQ_TYPE_PCI_CONFIG:
		r.space = VDEV_SPACE_PCICFG;
		rc = engine_pcicfg_addr(req, &r.addr);
		if (rc < 0)
			return rc;
		break;
	default:
		return -EPROTO;
	}
	rc = dm_request_execute(&e->io, &r);
	if (rc == 0)
		*data = r.data;
	return rc;
}

int ioreq_engine_service_vcpu(struct ioreq_engine *e, uint32_t vcpu)
{
	ioreq_t *slot;
	ioreq_t req;
	bool value_read;
	uint64_t data;
	int rc = 0;

	if (vcpu >= e->nr_vcpus)
		return -EINVAL;
	slot = &e->slots[vcpu];
	if (slot_state(slot) != STATE_IOREQ_READY)
		return 0; /* spurious, or already answered: 5.8 */
	atomic_thread_fence(memory_order_acquire);
	memcpy(&req, slot, sizeof(req));
	slot_set_state(slot, STATE_IOREQ_INPROCESS);

	value_read = !req.data_is_ptr && req.dir == IOREQ_READ;
	data = req.data;
	switch (req.type) {
	case IOREQ_TYPE_INVALIDATE:
		/* before answering: Xen frees the pages once we respond */
		if (e->ops.invalidate)
			e->ops.invalidate(e->ctx);
		value_read = false;
		break;
	case IOREQ_TYPE_TIMEOFFSET:
		if (e->ops.timeoffset)
			e->ops.timeoffset(e->ctx, (int64_t)req.data);
		value_read = false;
		break;
	default:
		rc = engine_execute(e, &req, vcpu, &data);
		if (rc < 0) {
			engine_failed(e, vcpu, &req, rc);
			/* like Xen's null handler: an access that failed reads all-ones */
			data = engine_all_ones(req.size);
		}
		break;
	}
	if (value_read)
		__atomic_store_n(&slot->data, data, __ATOMIC_RELAXED);

	atomic_thread_fence(memory_order_release);
	slot_set_state(slot, STATE_IORESP_READY);
	rc = e->ops.notify(e->ctx, vcpu);
	return rc < 0 ? rc : 1;
}

/* One buffered write (or TIMEOFFSET): no response exists, only a report. */
static void engine_buffered_one(struct ioreq_engine *e, const buf_ioreq_t *entry, uint64_t data)
{
	ioreq_t req = {
	    .addr = entry->addr,
	    .data = data,
	    .count = 1,
	    .size = 1u << entry->size,
	    .dir = entry->dir,
	    .type = entry->type,
	};
	uint64_t unused;
	int rc;

	switch (entry->type) {
	case IOREQ_TYPE_TIMEOFFSET:
		if (e->ops.timeoffset)
			e->ops.timeoffset(e->ctx, (int64_t)data);
		return;
	case IOREQ_TYPE_INVALIDATE:
		if (e->ops.invalidate)
			e->ops.invalidate(e->ctx);
		return;
	case IOREQ_TYPE_PIO:
	case IOREQ_TYPE_COPY:
		/* a buffered read could never be answered */
		rc = entry->dir == IOREQ_WRITE ? engine_execute(e, &req, 0, &unused) : -EPROTO;
		break;
	default:
		rc = -EPROTO;
		break;
	}
	if (rc < 0)
		engine_failed(e, IOREQ_ENGINE_SOURCE_BUFFERED, &req, rc);
}

int ioreq_engine_drain_buffered(struct ioreq_engine *e)
{
	buffered_iopage_t *pg = e->buffered;
	uint32_t consumed = 0;
	int handled = 0;

	if (!pg)
		return 0;
	/*
	 * Everything posted before the caller's ack fits one ring; later posts
	 * raise a new event. Stopping after one ring's worth keeps a guest
	 * that floods the ring from starving the caller's other work.
	 */
	while (consumed < IOREQ_BUFFER_SLOT_NUM) {
		uint32_t rp, wp, n = 1;
		buf_ioreq_t entry, high;
		uint64_t data;

		rp = __atomic_load_n(&pg->read_pointer, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire);
		wp = __atomic_load_n(&pg->write_pointer, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire);
		if (__atomic_load_n(&pg->read_pointer, __ATOMIC_RELAXED) != rp)
			continue; /* rebased between the two loads */
		if (rp == wp)
			break;
		if (wp - rp > IOREQ_BUFFER_SLOT_NUM) {
			/* not a ring Xen would write: drop it rather than loop on garbage */
			ioreq_t bad = {.addr = rp, .data = wp};
			engine_failed(e, IOREQ_ENGINE_SOURCE_BUFFERED, &bad, -EPROTO);
			__atomic_fetch_add(&pg->read_pointer, wp - rp, __ATOMIC_RELEASE);
			break;
		}
		memcpy(&entry, &pg->buf_ioreq[rp % IOREQ_BUFFER_SLOT_NUM], sizeof(entry));
		data = entry.data;
		if (entry.size == 3) {
			if (wp - rp < 2)
				break; /* Xen publishes both halves at once; wait for it */
			memcpy(&high, &pg->buf_ioreq[(rp + 1) % IOREQ_BUFFER_SLOT_NUM],
			       sizeof(high));
			data |= (uint64_t)high.data << 32;
			n = 2;
		}
		engine_buffered_one(e, &entry, data);
		__atomic_fetch_add(&pg->read_pointer, n, __ATOMIC_RELEASE);
		consumed += n;
		handled++;
	}
	return handled;
}

int ioreq_engine_process_events(struct ioreq_engine *e)
{
	int total = 0;

	if (!e->ops.pending)
		return -EINVAL;
	for (;;) {
		uint32_t source;
		int rc = e->ops.pending(e->ctx, &source);

		if (rc <= 0)
			return rc < 0 ? rc : total;
		if (e->ops.ack) {
			rc = e->ops.ack(e->ctx, source);
			if (rc < 0)
				return rc;
		}
		if (source == IOREQ_ENGINE_SOURCE_BUFFERED)
			rc = ioreq_engine_drain_buffered(e);
		else
			rc = ioreq_engine_service_vcpu(e, source);
		if (rc < 0)
			return rc;
		total += rc;
	}
}
