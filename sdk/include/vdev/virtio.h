/*
 * vdev/virtio.h: the SDK's virtio helper, compiled into virtio plugins
 * (sdk/lib/virtio.c, virtio_queue.c, virtio_worker.c, with pci.c and
 * state.c: VDEV_SDK_HELPERS := virtio virtio_queue virtio_worker pci state).
 * sdk/VIRTIO.md is the guide; vdevs/virtio-entropy is a complete device.
 *
 * It gives a plugin everything between the guest's driver and the
 * device's own logic (VIRTIO 1.2):
 *  - the transport, chosen as qvm does: virtio-pci modern (4.1) by
 *    default, virtio-mmio version 2 (4.2) when the configuration gives an
 *    address `loc` and an `intr`;
 *  - feature negotiation (VIRTIO_F_VERSION_1 is mandatory; FEATURES_OK
 *    sticks only for a subset of what the device offers), the device
 *    status state machine, config generation, device reset;
 *  - split virtqueues (2.7): descriptor chains with indirect descriptors,
 *    VIRTIO_F_EVENT_IDX in both directions, notification suppression, used
 *    ring updates ordered with release fences before the index;
 *  - packed virtqueues (2.8) when the driver accepts VIRTIO_F_RING_PACKED:
 *    the same chains, indirect tables, event suppression (ENABLE, DISABLE,
 *    DESC with EVENT_IDX) and checks, behind the same pop/push/interrupt;
 *  - interrupts: MSI-X on PCI (a config vector and one per queue), INTx
 *    through the ISR when MSI-X is off, the InterruptStatus line on MMIO;
 *  - a worker facility that runs requests off the vCPU thread;
 *  - save/restore of transport and queue state with vdev/state.h.
 *
 * Guest memory is reached only through the host's bounds-checked services.
 * A malformed chain (a loop, more descriptors than the queue size, an
 * address outside guest RAM, a length that wraps, a readable descriptor
 * after a writable one, an indirect table inside an indirect table, a bad
 * next index, ...) is logged once, by name, and puts the device into
 * DEVICE_NEEDS_RESET (status bit 0x40 and a configuration-change
 * interrupt) until the driver resets it; it never touches memory outside
 * the guest.
 *
 * Use, in a plugin (see sdk/VIRTIO.md for a whole device):
 *	create:  vdev_virtio_init(&d->vio, host, h, cfg, &info);
 *	read:    return vdev_virtio_read(&d->vio, a, v);
 *	write:   return vdev_virtio_write(&d->vio, a, v);
 *	reset:   vdev_virtio_reset(&d->vio);
 *	destroy: vdev_virtio_destroy(&d->vio);
 *	save:    vdev_virtio_state(st, &d->vio) between save_begin/_end;
 *	restore: vdev_virtio_state(st, &d->vio) between restore_begin/_end,
 *	         then vdev_virtio_restored(&d->vio) when _end returned 0.
 *	queue_notify op: while (vdev_virtio_queue_pop(&d->vio, q, chain) > 0)
 *	         { handle; vdev_virtio_queue_push(&d->vio, chain, written); }
 *	         vdev_virtio_queue_interrupt(&d->vio, q);
 *
 * Threads. Every function runs inside the plugin's callbacks (vCPU
 * threads for read/write, the event loop for timers, fd events and worker
 * completions, the control thread for create/reset/save/restore/destroy),
 * which the host serialises per instance; the helper therefore takes no
 * lock of its own around the rings, and the plugin must not set
 * VDEV_F_SELF_LOCKED. The only exception is a job's work function (see
 * the worker below), which runs on a worker thread and must not call the
 * host or this helper. No global state: several instances and hosts in
 * one process are fine.
 *
 * Errors are negative errno values; vdev_virtio_init logs why through
 * host->log.
 *
 * Stability: this header is part of the SDK. Functions and constants keep
 * their meaning; struct vdev_virtio's fields are the helper's (visible
 * only so a plugin can embed it) and may change between SDK releases,
 * which is harmless because the helper is compiled into the plugin.
 */
#ifndef VDEV_VIRTIO_H
#define VDEV_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------- constants */

/* Device types (VIRTIO 1.2 section 5). */
#define VDEV_VIRTIO_ID_NET     1
#define VDEV_VIRTIO_ID_BLOCK   2
#define VDEV_VIRTIO_ID_CONSOLE 3
#define VDEV_VIRTIO_ID_ENTROPY 4
#define VDEV_VIRTIO_ID_GPIO    41

/* Device status bits (2.1). */
#define VDEV_VIRTIO_S_ACKNOWLEDGE 0x01u
#define VDEV_VIRTIO_S_DRIVER	  0x02u
#define VDEV_VIRTIO_S_DRIVER_OK	  0x04u
#define VDEV_VIRTIO_S_FEATURES_OK 0x08u
#define VDEV_VIRTIO_S_NEEDS_RESET 0x40u
#define VDEV_VIRTIO_S_FAILED	  0x80u

/* Feature bits (6) the helper knows; device bits are 0..23. */
#define VDEV_VIRTIO_F_INDIRECT_DESC 28
#define VDEV_VIRTIO_F_EVENT_IDX	    29
#define VDEV_VIRTIO_F_VERSION_1	    32
#define VDEV_VIRTIO_F_RING_PACKED   34
#define VDEV_VIRTIO_BIT(n)	    (1ull << (n))
/* What the helper offers besides the device's own features. */
/*
 * Packed rings are implemented but not offered unless a device asks for
 * them (VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_RING_PACKED) in its info.features):
 * the split ring is what every in-tree device has been driven with by
 * real drivers (Linux, QEMU's guests), the packed one only by our tests.
 */
#define VDEV_VIRTIO_TRANSPORT_FEATURES                                                             \
	(VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_INDIRECT_DESC) | VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_EVENT_IDX) | \
	 VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1))

/* Limits of this helper. */
#define VDEV_VIRTIO_QUEUE_MAX	   64u	 /* queues per device */
#define VDEV_VIRTIO_QUEUE_SIZE_MAX 1024u /* descriptors per queue (a power of two) */
#define VDEV_VIRTIO_CHAIN_MAX	   VDEV_VIRTIO_QUEUE_SIZE_MAX /* a chain is never longer */
#define VDEV_VIRTIO_CONFIG_MAX	   0x100u /* device-specific configuration bytes */

/* MSI-X "no vector" (4.1.4.3, 4.1.5.1.2). */
#define VDEV_VIRTIO_NO_VECTOR 0xffffu

/* virtio-mmio: the window one device takes, and its registers (4.2.2). */
#define VDEV_VIRTIO_MMIO_SIZE	       0x200u
#define VDEV_VIRTIO_MMIO_MAGIC	       0x000 /* "virt" */
#define VDEV_VIRTIO_MMIO_VERSION       0x004 /* 2 */
#define VDEV_VIRTIO_MMIO_DEVICE_ID     0x008
#define VDEV_VIRTIO_MMIO_VENDOR_ID     0x00c
#define VDEV_VIRTIO_MMIO_DEV_FEATURES  0x010
#define VDEV_VIRTIO_MMIO_DEV_FEAT_SEL  0x014
#define VDEV_VIRTIO_MMIO_DRV_FEATURES  0x020
#define VDEV_VIRTIO_MMIO_DRV_FEAT_SEL  0x024
#define VDEV_VIRTIO_MMIO_QUEUE_SEL     0x030
#define VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VDEV_VIRTIO_MMIO_QUEUE_NUM     0x038
#define VDEV_VIRTIO_MMIO_QUEUE_READY   0x044
#define VDEV_VIRTIO_MMIO_QUEUE_NOTIFY  0x050
#define VDEV_VIRTIO_MMIO_INT_STATUS    0x060
#define VDEV_VIRTIO_MMIO_INT_ACK       0x064
#define VDEV_VIRTIO_MMIO_STATUS	       0x070
#define VDEV_VIRTIO_MMIO_QUEUE_DESC    0x080 /* low; high at +4 */
#define VDEV_VIRTIO_MMIO_QUEUE_DRIVER  0x090
#define VDEV_VIRTIO_MMIO_QUEUE_DEVICE  0x0a0
#define VDEV_VIRTIO_MMIO_SHM_SEL       0x0ac
#define VDEV_VIRTIO_MMIO_SHM_LEN       0x0b0 /* low; high at +4; all-ones: no region */
#define VDEV_VIRTIO_MMIO_SHM_BASE      0x0b8
#define VDEV_VIRTIO_MMIO_CONFIG_GEN    0x0fc
#define VDEV_VIRTIO_MMIO_CONFIG	       0x100
#define VDEV_VIRTIO_MMIO_MAGIC_VALUE   0x74726976u
#define VDEV_VIRTIO_MMIO_VENDOR_VALUE  0x004d4456u /* "VDM" */

/* Interrupt causes: MMIO InterruptStatus and the PCI ISR (4.1.4.5, 4.2.2). */
#define VDEV_VIRTIO_INT_QUEUE  0x1u
#define VDEV_VIRTIO_INT_CONFIG 0x2u

/*
 * virtio-pci: the function's identity and its one 64-bit memory BAR
 * (BAR 4), which holds every structure: common configuration, ISR,
 * device configuration, notifications (queue n at NOTIFY + n *
 * NOTIFY_MULTIPLIER, the value written being the queue index), the MSI-X
 * table and PBA (queue_count + 1 vectors).
 */
#define VDEV_VIRTIO_PCI_VENDOR		  0x1af4u
#define VDEV_VIRTIO_PCI_DEVICE_BASE	  0x1040u /* + device id */
#define VDEV_VIRTIO_PCI_REVISION	  1u
#define VDEV_VIRTIO_PCI_BAR		  4u
#define VDEV_VIRTIO_PCI_BAR_SIZE	  0x8000u
#define VDEV_VIRTIO_PCI_COMMON		  0x0000u
#define VDEV_VIRTIO_PCI_COMMON_SIZE	  0x38u
#define VDEV_VIRTIO_PCI_ISR		  0x1000u
#define VDEV_VIRTIO_PCI_DEVICE_CFG	  0x2000u
#define VDEV_VIRTIO_PCI_NOTIFY		  0x3000u
#define VDEV_VIRTIO_PCI_NOTIFY_MULTIPLIER 4u
#define VDEV_VIRTIO_PCI_MSIX_TABLE	  0x4000u
#define VDEV_VIRTIO_PCI_MSIX_PBA	  0x6000u
/* Vendor capability cfg_type values (4.1.4). */
#define VDEV_VIRTIO_PCI_CAP_COMMON 1
#define VDEV_VIRTIO_PCI_CAP_NOTIFY 2
#define VDEV_VIRTIO_PCI_CAP_ISR	   3
#define VDEV_VIRTIO_PCI_CAP_DEVICE 4
#define VDEV_VIRTIO_PCI_CAP_PCI	   5

/* Region ids the helper registers: info.region_base + these. */
#define VDEV_VIRTIO_REGION_MMIO 0 /* MMIO: the 0x200 window */
#define VDEV_VIRTIO_REGION_CFG	0 /* PCI: configuration space */
#define VDEV_VIRTIO_REGION_BAR	1 /* PCI: BAR 4 */

enum vdev_virtio_transport {
	VDEV_VIRTIO_PCI = 0,
	VDEV_VIRTIO_MMIO = 1,
};

/* ------------------------------------------------------------ device */

/*
 * What the device does, called by the helper inside the plugin's
 * callbacks (so under the instance lock). `dev` is info.dev.
 */
struct vdev_virtio_ops {
	/* queue_notify (required): the driver made buffers available on
	 * `queue` (< queue_count), which is ready, with DRIVER_OK set. */
	void (*queue_notify)(void *dev, unsigned queue);
	/* config_write: the driver wrote `size` bytes at `offset` of the
	 * device configuration (already checked to lie inside config_size).
	 * The device updates its config buffer as its specification says.
	 * NULL: the configuration is read-only and writes are ignored. */
	void (*config_write)(void *dev, unsigned offset, unsigned size, uint64_t value);
	/* features_ok: the driver sets FEATURES_OK with `features` (a subset
	 * of the offered ones, VERSION_1 included); return false to refuse
	 * the combination (FEATURES_OK then reads back clear). NULL: any. */
	bool (*features_ok)(void *dev, uint64_t features);
	/* driver_ok: the driver set DRIVER_OK; the device is live. */
	void (*driver_ok)(void *dev);
	/* reset: the device was reset (the driver wrote status 0, or
	 * vdev_virtio_reset). Requests in flight on the worker complete
	 * later with stale chains, which vdev_virtio_queue_push drops. */
	void (*reset)(void *dev);
};

/* What a device is; given to vdev_virtio_init, copied. */
struct vdev_virtio_info {
	uint16_t device_id;   /* VDEV_VIRTIO_ID_* */
	uint64_t features;    /* device feature bits offered (0..23, and transport
			       * bits the device implements itself); the helper
			       * adds VDEV_VIRTIO_TRANSPORT_FEATURES */
	unsigned queue_count; /* 1..VDEV_VIRTIO_QUEUE_MAX */
	uint16_t queue_size;  /* the largest queue: a power of two, 1..QUEUE_SIZE_MAX */
	void *config;	      /* the device configuration (little-endian, laid out as
			       * the device type's section says); the helper reads it
			       * for the driver; may be NULL when config_size is 0 */
	uint32_t config_size; /* 0..VDEV_VIRTIO_CONFIG_MAX bytes */
	uint32_t pci_class;   /* 24-bit PCI class code (e.g. 0x010000 block) */
	uint32_t region_base; /* region ids used: region_base and region_base + 1 */
	const struct vdev_virtio_ops *ops;
	void *dev; /* passed to every op */
};

/* One virtqueue as the helper tracks it. Read-only for plugins. Split
 * rings: free-running indices. Packed rings: a position in the descriptor
 * ring with its wrap counter in bit 15 (the off_wrap form of 2.8.10). */
struct vdev_virtio_queue {
	uint16_t size; /* the driver's queue size (power of two) */
	bool ready;
	uint64_t desc, driver, device; /* descriptor table/ring, driver and device areas */
	uint16_t last_avail;	       /* next available entry the device takes */
	uint16_t used_idx;	       /* the used ring's next index */
	uint16_t signalled_used;       /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_valid;
	uint16_t msix_vector; /* PCI: the queue's MSI-X vector or NO_VECTOR */
};

/* One buffer of a chain. */
struct vdev_virtio_seg {
	uint64_t gpa; /* guest-physical; checked to lie in guest RAM at pop */
	uint32_t len;
	uint32_t write; /* 1: device-writable */
};

/*
 * A descriptor chain taken from a queue: its readable segments first, then
 * its writable ones. Large (16 KiB): allocate it, or keep one per thread.
 * Pass it back unchanged to vdev_virtio_queue_push.
 */
struct vdev_virtio_chain {
	uint16_t queue;
	uint16_t head;	      /* the used element's id: split, the head descriptor's
			       * index; packed, the buffer id */
	uint16_t slots;	      /* packed: descriptors the chain takes in the ring */
	uint32_t epoch;	      /* the device reset generation it belongs to */
	unsigned count;	      /* segments */
	unsigned readable;    /* seg[0..readable) readable, seg[readable..count) writable */
	uint32_t read_bytes;  /* total readable length */
	uint32_t write_bytes; /* total writable length */
	struct vdev_virtio_seg seg[VDEV_VIRTIO_CHAIN_MAX];
};

/* Transport and queue registers (saved and restored as one). */
struct vdev_virtio_regs {
	uint8_t status;
	uint8_t isr; /* VDEV_VIRTIO_INT_* pending (MMIO InterruptStatus, PCI ISR) */
	uint8_t config_generation;
	uint32_t device_features_sel, driver_features_sel;
	uint64_t driver_features;
	uint16_t queue_sel;
	uint16_t config_msix_vector;
	struct vdev_virtio_queue queue[VDEV_VIRTIO_QUEUE_MAX];
};

struct vdev_virtio_worker; /* opaque: the worker threads (virtio_worker.c) */

/* One virtio device. Embed it in the plugin's instance; the helper's only. */
struct vdev_virtio {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_virtio_info info;
	uint64_t device_features;
	enum vdev_virtio_transport transport;
	uint32_t epoch;	   /* bumped by every device reset */
	bool error_logged; /* NEEDS_RESET reported since the last reset */
	struct vdev_virtio_regs regs, staged;
	struct vdev_pci pci, staged_pci;
	bool staged_valid;
	struct vdev_line *line; /* MMIO interrupt, or PCI INTx */
	bool line_level;
	uint64_t mmio_base;
	struct vdev_mem_range ram[16]; /* guest RAM, for checking buffers at pop */
	unsigned ram_count;	       /* 0: unknown; then buffers are checked by mem_map */
	uint8_t pci_cfg_cap;	       /* PCI: the VIRTIO_PCI_CAP_PCI_CFG capability */
	struct vdev_virtio_worker *worker;
	bool dead; /* destroy has begun: nothing reaches the host any more */
};

/*
 * vdev_virtio_init: make `vio` the transport of device `info` and place it
 * as the configuration says: with an address `loc` (mem:) and an `intr`,
 * virtio-mmio at that address (a 0x200 window; a loc length, if given, at
 * least that) raising that line; otherwise virtio-pci through the SDK PCI
 * helper (`loc pci:0:DEV[.FN]` or the first free device, BAR 4 in the
 * default window, `intr` if given for INTx). Call it from create(), after
 * the device's config buffer is filled. Returns 0; -EINVAL for a bad info
 * (ops or queue_notify missing, queue count or size out of range, config
 * too large) or loc (an io: loc, an address loc without intr and without a
 * pci loc); the errors of intr_lookup, region_add and vdev_pci_attach. Logs
 * why. On failure call nothing else (not even destroy).
 */
int vdev_virtio_init(struct vdev_virtio *vio, const struct vdev_host *host, vdev_host_t *h,
		     const struct vdev_config *cfg, const struct vdev_virtio_info *info);

/* vdev_virtio_destroy: stop the worker threads, free what init and
 * worker_start took (the host removes regions). From destroy(). It never
 * waits for a work function: jobs not started and jobs finished run
 * their done here (the device is dead: their chains are dropped), and a
 * job still inside work is abandoned (see the worker below). */
void vdev_virtio_destroy(struct vdev_virtio *vio);

/* Is this access the helper's (its regions)? vdev_virtio_read/_write
 * answer it (any size the descriptor accepts; declare 1, 2, 4 and 8). A
 * plugin with regions of its own routes by this. Return 0. */
bool vdev_virtio_owns(const struct vdev_virtio *vio, const struct vdev_access *access);
int vdev_virtio_read(struct vdev_virtio *vio, const struct vdev_access *access, uint64_t *value);
int vdev_virtio_write(struct vdev_virtio *vio, const struct vdev_access *access, uint64_t value);

/* vdev_virtio_reset: power-on reset (the plugin's reset op): the device
 * reset below, and for PCI the configuration header too; config
 * generation back to 0. */
void vdev_virtio_reset(struct vdev_virtio *vio);

/* Which transport init chose; the device status; whether the device is
 * live (DRIVER_OK and FEATURES_OK set, NEEDS_RESET and FAILED clear). */
enum vdev_virtio_transport vdev_virtio_transport(const struct vdev_virtio *vio);
uint8_t vdev_virtio_status(const struct vdev_virtio *vio);
bool vdev_virtio_live(const struct vdev_virtio *vio);

/* The features the driver accepted (meaningful once FEATURES_OK is set),
 * and whether one bit is among them. */
uint64_t vdev_virtio_features(const struct vdev_virtio *vio);
bool vdev_virtio_has_feature(const struct vdev_virtio *vio, unsigned bit);

/* Queue `queue`'s registers, NULL past queue_count. */
const struct vdev_virtio_queue *vdev_virtio_queue(const struct vdev_virtio *vio, unsigned queue);

/*
 * vdev_virtio_config_changed: the device changed its configuration:
 * bump the config generation and raise the configuration interrupt.
 */
void vdev_virtio_config_changed(struct vdev_virtio *vio);

/*
 * vdev_virtio_needs_reset: the device cannot go on (a malformed request
 * the device itself found, a backend that died): log `why` (once per
 * reset cycle), set DEVICE_NEEDS_RESET and raise the configuration
 * interrupt. Pops return 0 until the driver resets the device.
 */
void vdev_virtio_needs_reset(struct vdev_virtio *vio, const char *why);

/* ------------------------------------------------------- virtqueues */

/*
 * vdev_virtio_queue_pop: take the next available chain of `queue` into
 * *chain, validated whole: every descriptor (direct or in the one indirect
 * table a chain may use) inside the queue or table, no loop, no more than
 * the queue size in all, readable before writable, every buffer inside
 * guest RAM and no length that wraps. Returns 1 with a chain; 0 when the
 * queue is empty, not ready, or the device is not live (then, with
 * EVENT_IDX, it asks the driver to notify on the next buffer, and without
 * it clears VIRTQ_USED_F_NO_NOTIFY, re-checking the ring afterwards so no
 * notification is lost); -EIO for a malformed ring or chain (logged, the
 * device now needs reset); -EINVAL for a bad queue index.
 */
int vdev_virtio_queue_pop(struct vdev_virtio *vio, unsigned queue, struct vdev_virtio_chain *chain);

/*
 * vdev_virtio_queue_push: return a chain to the driver in the used ring
 * with `written` bytes written to its writable part (clamped to
 * write_bytes), the element stored before the index with a release fence
 * between. It does not interrupt: call vdev_virtio_queue_interrupt after
 * one or several pushes. Returns 0; -ESTALE (dropped) for a chain taken
 * before the last device reset; -EIO when the used ring is not in guest
 * RAM (the device now needs reset).
 */
int vdev_virtio_queue_push(struct vdev_virtio *vio, const struct vdev_virtio_chain *chain,
			   uint32_t written);

/*
 * vdev_virtio_queue_interrupt: tell the driver about used buffers on
 * `queue` unless it suppressed that (VIRTQ_AVAIL_F_NO_INTERRUPT, or with
 * EVENT_IDX the used_event index, checked after a full fence). Raises
 * the queue's MSI-X vector, or the ISR/InterruptStatus bit and the line.
 * Returns 1 when it interrupted, 0 when suppressed or nothing was used
 * since the last interrupt, or a negative errno (-EINVAL: bad queue).
 */
int vdev_virtio_queue_interrupt(struct vdev_virtio *vio, unsigned queue);

/*
 * vdev_virtio_chain_read: copy up to `length` bytes from the chain's
 * readable part, starting `offset` bytes into it, into buf.
 * vdev_virtio_chain_write: copy `length` bytes from buf into the writable
 * part at `offset`. Both return the bytes copied (short at the end of the
 * part), -EFAULT when guest memory refused (the device should then
 * answer the request with an error or call vdev_virtio_needs_reset), or
 * -ESTALE for a chain taken before the last device reset (its buffers
 * belong to the driver again and are not touched).
 */
ssize_t vdev_virtio_chain_read(struct vdev_virtio *vio, const struct vdev_virtio_chain *chain,
			       size_t offset, void *buf, size_t length);
ssize_t vdev_virtio_chain_write(struct vdev_virtio *vio, const struct vdev_virtio_chain *chain,
				size_t offset, const void *buf, size_t length);

/* ------------------------------------------------------------ worker */

/*
 * Work off the vCPU thread. A device embeds a struct vdev_virtio_job in
 * each request it submits. `work` runs on one of the worker threads and
 * does the slow part (a pread, a getrandom) on buffers of its own: it
 * must not call the host or this helper, which keeps every host call on
 * the host's callback threads as vdev.h requires. `done` then runs on the
 * host's event-loop thread, inside an fd callback (so under the instance
 * lock): it copies results into guest memory, pushes the chain, raises the
 * interrupt and frees the job. A job submitted before a device reset
 * still completes; its chain is stale and push drops it.
 *
 * Destroy does not wait for the disk: a job whose work is running when
 * vdev_virtio_destroy is called is abandoned. When its work returns,
 * `abandon` runs instead of done, on that worker thread, after destroy
 * returned: it frees the job and must not call the host or the helper
 * (NULL: the job is not freed). So everything a work function uses (a
 * file descriptor, the device's flags) must stay valid until then: keep
 * it in a reference-counted object of its own, not in the instance that
 * destroy frees (vdevs/virtio-blk does so).
 */
struct vdev_virtio_job {
	struct vdev_virtio_job *next; /* the helper's */
	void (*work)(struct vdev_virtio_job *job);
	void (*done)(void *dev, struct vdev_virtio_job *job);
	void (*abandon)(struct vdev_virtio_job *job); /* optional, see above */
};

/*
 * vdev_virtio_worker_start: `threads` (1..32) worker threads and the
 * completion descriptor the host watches. From create(), after init.
 * Returns 0; -EBUSY when already started; -EINVAL for a bad count;
 * -errno from eventfd, fd_watch or pthread_create (nothing left behind).
 * vdev_virtio_destroy stops them.
 */
int vdev_virtio_worker_start(struct vdev_virtio *vio, unsigned threads);

/* vdev_virtio_worker_submit: queue a job (work and done set). From a
 * callback. Returns 0; -ENODEV without a started worker; -EINVAL for a
 * job without work or done. */
int vdev_virtio_worker_submit(struct vdev_virtio *vio, struct vdev_virtio_job *job);

/*
 * vdev_virtio_worker_detach: run job->work, then job->abandon, on a thread
 * of their own that nothing waits for, and keep the plugin mapped while
 * it runs. For the teardown of a backend that must outlive the device
 * without destroy waiting for it: an io_uring whose requests are still in
 * the kernel (their buffers must stay allocated until they complete),
 * reaped and freed there. work and abandon must not call the host or the
 * helper. Any thread; needs no started worker. Returns 0; -EINVAL without
 * work or abandon; -errno from pthread_create (the job is still the
 * caller's then).
 */
int vdev_virtio_worker_detach(struct vdev_virtio_job *job);

/* vdev_virtio_worker_drain: wait until every submitted job's work has
 * run, then run their done functions here. save() calls it (through
 * vdev_virtio_state) so that a saved state has no request in flight. */
void vdev_virtio_worker_drain(struct vdev_virtio *vio);

/* ------------------------------------------------------------- state */

/*
 * vdev_virtio_state: the transport (status, features, selectors, ISR,
 * config generation, MSI-X vectors, the PCI header and MSI-X table) and
 * every queue (size, ready, ring addresses, indices) in a vdev/state.h
 * description; saving it first drains the worker. Restoring, it reads
 * into a staging copy and validates every field (status bits, features
 * within the offered ones, queue sizes powers of two within the maximum,
 * ring alignment of ready queues, vectors within the table or NO_VECTOR,
 * the transport it was saved from): whatever a guest can make the device
 * save, it restores. vdev_virtio_restored commits the staged copy once the plugin's
 * restore_end returned 0 (a failed restore changes nothing), remaps BARs
 * and re-drives the interrupt line. VDEV_VIRTIO_STATE_SIZE is an upper
 * bound of what it writes.
 */
#define VDEV_VIRTIO_STATE_QUEUE_SIZE                                                               \
	(4 * VDEV_STATE_SIZE_U16 + 3 * VDEV_STATE_SIZE_U64 + 2 * VDEV_STATE_SIZE_BOOL +            \
	 VDEV_STATE_SIZE_U16)
#define VDEV_VIRTIO_STATE_SIZE                                                                     \
	(VDEV_STATE_SIZE_U8 * 4 + VDEV_STATE_SIZE_U32 * 2 + VDEV_STATE_SIZE_U64 +                  \
	 VDEV_STATE_SIZE_U16 * 2 + VDEV_STATE_SIZE_U8 +                                            \
	 VDEV_VIRTIO_QUEUE_MAX * VDEV_VIRTIO_STATE_QUEUE_SIZE + VDEV_PCI_STATE_SIZE +              \
	 VDEV_PCI_MSIX_STATE_SIZE(VDEV_VIRTIO_QUEUE_MAX + 1))
void vdev_virtio_state(struct vdev_state *st, struct vdev_virtio *vio);
void vdev_virtio_restored(struct vdev_virtio *vio);

#ifdef __cplusplus
}
#endif
#endif /* VDEV_VIRTIO_H */
