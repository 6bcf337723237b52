/*
 * devmodel/ioreq_engine.h: Xen's ioreq protocol, without Xen's libraries.
 *
 * The engine is the device-model side of the synchronous ioreq protocol
 * over a shared_iopage_t (one 32-byte slot per vCPU) and of the buffered
 * ring over a buffered_iopage_t (reference/xen-ioreq.md sections 1 and 3).
 * It sees only memory (the two pages, mapped by whoever drives it) and a
 * small table of event-channel operations, and it executes every request
 * through dm_request_execute with the caller's struct dm_io.
 *
 * Who drives it:
 *  - the xen backend: pages from xenforeignmemory_map_resource, ops on
 *    libxenevtchn (pending = xenevtchn_pending mapped to a vCPU, ack =
 *    xenevtchn_unmask, notify = xenevtchn_notify on the vCPU's local port),
 *    invalidate = drop the guest-RAM mapping cache;
 *  - the sim backend and the tests: a simulated hypervisor, in the same or
 *    another process, that shares the pages (e.g. a MAP_SHARED memfd) and
 *    follows Xen's side of the protocol; its event channels can be
 *    eventfds or pipes. The engine keeps no state about a request outside
 *    the pages, so the other side may live anywhere that shares them.
 *
 * The caller owns the event loop: it waits for its event source, then
 * calls ioreq_engine_process_events (or, per event, ioreq_engine_service_vcpu
 * / ioreq_engine_drain_buffered itself).
 *
 * Threads: service_vcpu may run concurrently for different vCPUs (one
 * thread per vCPU is fine); one vCPU's slot must be serviced by one thread
 * at a time. drain_buffered must be called by one thread at a time.
 * process_events calls the ops from the calling thread only.
 */
#ifndef VDM_IOREQ_ENGINE_H
#define VDM_IOREQ_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <xen/hvm/ioreq.h>

#include "devmodel/request.h"

/* Slots that fit one 4 KiB page, the limit of Xen 4.17 (section 1.2). */
#define IOREQ_ENGINE_MAX_VCPUS 128

/* The event source that stands for the buffered ring's channel. */
#define IOREQ_ENGINE_SOURCE_BUFFERED UINT32_MAX

/*
 * Event-channel side of the protocol. ctx is ioreq_engine_config.ctx.
 *
 * pending: the next source with an event: a vCPU index, or
 *   IOREQ_ENGINE_SOURCE_BUFFERED, in *source; returns 1 when there was
 *   one, 0 when none is pending, or a negative errno. Must not block
 *   (poll first: xen-ioreq.md 5.8). Used only by process_events.
 * ack: re-arm `source` (xenevtchn_unmask). Called before the slot is read,
 *   so an event posted while handling is not lost. May be NULL.
 * notify: tell the hypervisor that vCPU `vcpu`'s slot holds a response
 *   (state IORESP_READY is already visible). Returns 0 or a negative errno.
 * invalidate: drop every cached mapping of guest RAM. Called for
 *   IOREQ_TYPE_INVALIDATE before it is answered. May be NULL.
 * timeoffset: the guest's RTC offset changed by `delta` (x86, usually
 *   buffered). May be NULL: the request is acknowledged anyway.
 * request_failed: a request could not be executed (err: negative errno
 *   from dm_request_execute, -EPROTO for an unknown type or a malformed
 *   slot, -ENODEV for a PCI address vdm cannot express). The guest has
 *   already been answered (reads: all-ones). For logging. May be NULL.
 */
struct ioreq_engine_ops {
	int (*pending)(void *ctx, uint32_t *source);
	int (*ack)(void *ctx, uint32_t source);
	int (*notify)(void *ctx, uint32_t vcpu);
	void (*invalidate)(void *ctx);
	void (*timeoffset)(void *ctx, int64_t delta);
	void (*request_failed)(void *ctx, uint32_t vcpu, const ioreq_t *req, int err);
};

struct ioreq_engine_config {
	/* Per-vCPU slots: nr_vcpus * sizeof(ioreq_t) bytes, 8-byte aligned. */
	shared_iopage_t *shared;
	uint32_t nr_vcpus; /* 1 .. IOREQ_ENGINE_MAX_VCPUS */
	/* The buffered ring, or NULL when the server has none (BUFIOREQ_OFF). */
	buffered_iopage_t *buffered;
	const struct dm_io *io;		    /* executes the requests; copied */
	const struct ioreq_engine_ops *ops; /* copied */
	void *ctx;			    /* passed to every op */
};

struct ioreq_engine;

/*
 * ioreq_engine_create: check `cfg` and allocate an engine over its pages.
 * The pages are not written. Returns 0 and *out, -EINVAL for a missing
 * page/io/notify, nr_vcpus 0 or above the maximum, or a misaligned page;
 * -ENOMEM.
 */
int ioreq_engine_create(const struct ioreq_engine_config *cfg, struct ioreq_engine **out);

/* ioreq_engine_destroy: free the engine (NULL is fine). Pages stay mapped. */
void ioreq_engine_destroy(struct ioreq_engine *engine);

/*
 * ioreq_engine_remote_port: Xen's event-channel port for `vcpu` (the
 * slot's vp_eport, meaningful once the server is enabled), to bind with
 * xenevtchn_bind_interdomain. Returns 0 for a vCPU out of range.
 */
uint32_t ioreq_engine_remote_port(const struct ioreq_engine *engine, uint32_t vcpu);

/*
 * ioreq_engine_service_vcpu: handle vCPU `vcpu`'s slot once. If its state
 * is not READY the event was spurious: nothing is written and 0 is
 * returned. Otherwise the engine loads the slot (acquire), marks it
 * INPROCESS, executes it, writes `data` for a value read (zero-extended),
 * publishes (release) IORESP_READY and calls ops->notify: returns 1. The
 * state only ever moves READY -> INPROCESS -> IORESP_READY; the engine
 * never writes NONE or READY, nor vp_eport. A READY request is always
 * answered, also when it fails (see ops->request_failed), so the vCPU
 * never hangs. Returns -EINVAL for a vCPU out of range, or notify's
 * negative errno (the slot is answered all the same).
 */
int ioreq_engine_service_vcpu(struct ioreq_engine *engine, uint32_t vcpu);

/*
 * ioreq_engine_drain_buffered: consume every entry posted to the buffered
 * ring: writes (PIO, MMIO; 8-byte writes span two slots) and TIMEOFFSET.
 * read_pointer is advanced with an atomic add after each entry, never
 * stored, so Xen may rebase both pointers meanwhile (BUFIOREQ_ATOMIC).
 * No response and no notification go back. Returns the number of entries
 * handled (an 8-byte pair counts once), 0 without a ring.
 */
int ioreq_engine_drain_buffered(struct ioreq_engine *engine);

/*
 * ioreq_engine_process_events: until ops->pending reports none: ack the
 * source, then service that vCPU or drain the ring. Returns the number of
 * requests answered or entries drained, or the first negative errno of
 * pending, ack or notify (events after it stay pending).
 */
int ioreq_engine_process_events(struct ioreq_engine *engine);

#endif /* VDM_IOREQ_ENGINE_H */
