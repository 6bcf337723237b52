/*
 * sdk/conform/checks_virtio.c: the checks for virtio devices, which the
 * register-level checks cannot reach because a virtio device only works
 * with live queues in guest memory: virtio-reset-live,
 * virtio-save-restore-live and virtio-malformed-chains.
 *
 * A device is taken as virtio when an instance created with the session's
 * options plus "loc 0x100000000 intr conform:0" (unless the options give a
 * loc already) answers the virtio-mmio magic and version 2 there (VIRTIO
 * 1.2 section 4.2; the SDK's helper picks virtio-mmio for loc + intr, as
 * qvm does). Anything else is skipped. The checks then act as a driver:
 * negotiate VERSION_1 (and INDIRECT_DESC when offered), give every queue
 * (up to 8) a small ring in the test host's RAM, DRIVER_OK, and post
 * generic buffers (a device-writable 4 KiB buffer, a readable + writable
 * pair) that any device type either uses or keeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/conform/conform.h"

#define VIO_BASE      0x100000000ull
#define VIO_RAM	      0x1000000ull /* the session's RAM: 16 MiB at 0 */
#define VIO_RINGS     0x100000ull  /* queue q's rings at VIO_RINGS + q * VIO_QSTRIDE */
#define VIO_QSTRIDE   0x4000ull
#define VIO_BUFS      0x200000ull /* buffers */
#define VIO_QUEUES    8u
#define VIO_QSIZE     8u
#define VIO_MAGIC     0x74726976u
#define R_MAGIC	      0x000
#define R_VERSION     0x004
#define R_DEVFEAT     0x010
#define R_DEVFEATSEL  0x014
#define R_DRVFEAT     0x020
#define R_DRVFEATSEL  0x024
#define R_QSEL	      0x030
#define R_QMAX	      0x034
#define R_QNUM	      0x038
#define R_QREADY      0x044
#define R_NOTIFY      0x050
#define R_ISR	      0x060
#define R_STATUS      0x070
#define R_QDESC	      0x080
#define R_QDRIVER     0x090
#define R_QDEVICE     0x0a0
#define S_NEEDS_RESET 0x40u
#define F_INDIRECT    (1ull << 28)
#define F_VERSION_1   (1ull << 32)

struct vio {
	struct conform_session *s;
	struct vdev_testdev *dev;
	uint8_t *ram;
	unsigned queues; /* queues set up */
	uint16_t avail[VIO_QUEUES];
	uint64_t features; /* negotiated */
	char options[1100];
	bool quiet; /* a probe: not being virtio is no finding */
};

static uint32_t vio_r32(struct vio *v, unsigned reg)
{
	return (uint32_t)vdev_testhost_mmio_read(v->s->th, VIO_BASE + reg, 4);
}

static void vio_w32(struct vio *v, unsigned reg, uint32_t value)
{
	vdev_testhost_write(v->s->th, VDEV_SPACE_MMIO, VIO_BASE + reg, 4, value);
}

static uint64_t ring_base(unsigned q)
{
	return VIO_RINGS + q * VIO_QSTRIDE;
}

/* An MMIO instance; NULL (and skip) when the device is not virtio-mmio. */
static struct vdev_testdev *vio_create(struct vio *v)
{
	v->dev = vdev_testhost_create(v->s->th, v->s->desc, v->options);
	if (!v->dev && v->quiet) {
		conform_record_clear_violations();
		return NULL;
	}
	if (!v->dev) {
		/* A device of another space refusing this probe's `loc` is not
		 * a violation of its own. */
		conform_record_clear_violations();
		conform_skip(v->s->run, "not a virtio device: no instance with \"%s\" (%s)",
			     v->options, vdev_testhost_error(v->s->th));
		return NULL;
	}
	if (v->quiet && (vio_r32(v, R_MAGIC) != VIO_MAGIC || vio_r32(v, R_VERSION) != 2)) {
		vdev_testhost_destroy(v->dev);
		v->dev = NULL;
		return NULL;
	}
	if (vio_r32(v, R_MAGIC) != VIO_MAGIC || vio_r32(v, R_VERSION) != 2) {
		conform_skip(v->s->run, "not a virtio device: no virtio-mmio v2 magic at 0x%llx",
			     (unsigned long long)VIO_BASE);
		vdev_testhost_destroy(v->dev);
		v->dev = NULL;
	}
	return v->dev;
}

/* A virtio instance in an open session (quiet: not being one is no finding). */
static bool vio_attach(struct vio *v, struct conform_session *s, bool quiet)
{
	memset(v, 0, sizeof(*v));
	v->quiet = quiet;
	v->s = s;
	v->ram = vdev_testhost_ram(s->th, 0, VIO_RAM);
	snprintf(v->options, sizeof(v->options), "%s%s", s->options,
		 strstr(s->options, "loc ") ? "" : " loc 0x100000000 intr conform:0");
	if (!v->ram) {
		conform_fail(s->run, "the session has no RAM at 0");
		return false;
	}
	return vio_create(v) != NULL;
}

static bool vio_open(struct vio *v, struct conform_session *s, struct conform_run *run, bool quiet)
{
	memset(v, 0, sizeof(*v));
	if (conform_session_open(s, run) < 0)
		return false;
	return vio_attach(v, s, quiet);
}

/* 3.1.1: reset, negotiate, queues, DRIVER_OK. False (and fail) if refused. */
static bool vio_bring_up(struct vio *v, bool indirect)
{
	uint64_t offered;

	conform_where(v->s->run, "driver bring-up");
	memset(v->ram + VIO_RINGS, 0, VIO_QUEUES * VIO_QSTRIDE);
	vio_w32(v, R_STATUS, 0);
	vio_w32(v, R_STATUS, 1);
	vio_w32(v, R_STATUS, 3);
	vio_w32(v, R_DEVFEATSEL, 1);
	offered = (uint64_t)vio_r32(v, R_DEVFEAT) << 32;
	vio_w32(v, R_DEVFEATSEL, 0);
	offered |= vio_r32(v, R_DEVFEAT);
	v->features = F_VERSION_1 | (indirect ? offered & F_INDIRECT : 0);
	vio_w32(v, R_DRVFEATSEL, 0);
	vio_w32(v, R_DRVFEAT, (uint32_t)v->features);
	vio_w32(v, R_DRVFEATSEL, 1);
	vio_w32(v, R_DRVFEAT, (uint32_t)(v->features >> 32));
	vio_w32(v, R_STATUS, 0xb);
	if (!(vio_r32(v, R_STATUS) & 0x8)) {
		conform_fail(v->s->run, "FEATURES_OK refused for VERSION_1 alone (offered 0x%llx)",
			     (unsigned long long)offered);
		return false;
	}
	v->queues = 0;
	for (unsigned q = 0; q < VIO_QUEUES; q++) {
		uint64_t base = ring_base(q);

		vio_w32(v, R_QSEL, q);
		if (vio_r32(v, R_QMAX) == 0)
			break;
		if (vio_r32(v, R_QMAX) < VIO_QSIZE)
			continue;
		vio_w32(v, R_QNUM, VIO_QSIZE);
		vio_w32(v, R_QDESC, (uint32_t)base);
		vio_w32(v, R_QDRIVER, (uint32_t)(base + 0x1000));
		vio_w32(v, R_QDEVICE, (uint32_t)(base + 0x2000));
		vio_w32(v, R_QDESC + 4, 0);
		vio_w32(v, R_QDRIVER + 4, 0);
		vio_w32(v, R_QDEVICE + 4, 0);
		vio_w32(v, R_QREADY, 1);
		if (vio_r32(v, R_QREADY) != 1) {
			conform_fail(v->s->run, "queue %u: QueueReady does not read back 1", q);
			return false;
		}
		v->avail[q] = 0;
		v->queues = q + 1;
	}
	vio_w32(v, R_STATUS, 0xf);
	if (!v->queues)
		conform_skip(v->s->run, "the device has no queue of %u entries", VIO_QSIZE);
	return v->queues > 0;
}

static void vio_desc(struct vio *v, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *d = v->ram + ring_base(q) + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void vio_avail(struct vio *v, unsigned q, uint16_t head)
{
	uint8_t *avail = v->ram + ring_base(q) + 0x1000;

	memcpy(avail + 4 + 2 * (v->avail[q] % VIO_QSIZE), &head, 2);
	v->avail[q]++;
	memcpy(avail + 2, &v->avail[q], 2);
}

/* Generic buffers on every queue, kicked; completions given time. */
static void vio_post_generic(struct vio *v)
{
	for (unsigned q = 0; q < v->queues; q++) {
		uint64_t buf = VIO_BUFS + q * 0x10000ull;

		vio_desc(v, q, 0, buf, 4096, 2, 0);
		vio_desc(v, q, 1, buf + 0x2000, 64, 1, 2);
		vio_desc(v, q, 2, buf + 0x3000, 64, 2, 0);
		vio_avail(v, q, 0);
		vio_avail(v, q, 1);
		vio_w32(v, R_NOTIFY, q);
	}
	for (int i = 0; i < 5; i++) {
		vdev_testhost_advance(v->s->th, 1000000);
		vdev_testhost_poll(v->s->th, 10);
	}
}

/* Time passes, fds are served: a device may still be finishing work. */
static void vio_settle(struct vio *v)
{
	for (int i = 0; i < 10; i++) {
		vdev_testhost_advance(v->s->th, 2000000);
		vdev_testhost_poll(v->s->th, 10);
	}
}

/* After a reset: status 0, no queue ready, no interrupt, no more writes. */
static void vio_check_reset(struct vio *v, const char *how)
{
	uint8_t *before = malloc(VIO_RAM);

	if (vio_r32(v, R_STATUS) != 0)
		conform_fail(v->s->run, "%s: status reads 0x%x, want 0", how, vio_r32(v, R_STATUS));
	for (unsigned q = 0; q < v->queues; q++) {
		vio_w32(v, R_QSEL, q);
		if (vio_r32(v, R_QREADY) != 0)
			conform_fail(v->s->run, "%s: queue %u still ready", how, q);
	}
	if (vio_r32(v, R_ISR) != 0 || vdev_testhost_line_level(v->s->th, "conform:0") == 1)
		conform_fail(v->s->run, "%s: InterruptStatus 0x%x, line %d: want 0 and low", how,
			     vio_r32(v, R_ISR), vdev_testhost_line_level(v->s->th, "conform:0"));
	if (!before) {
		conform_fail(v->s->run, "out of memory");
		return;
	}
	/* 2.4: after reset the device must not use the old rings or buffers */
	memcpy(before, v->ram, VIO_RAM);
	vio_settle(v);
	if (memcmp(before, v->ram, VIO_RAM))
		conform_fail(v->s->run,
			     "%s: guest memory written after the reset (work in flight "
			     "must not land once the driver reset the device)",
			     how);
	free(before);
}

void conform_check_virtio_reset_live(struct conform_run *run)
{
	struct conform_session s;
	struct vio v;

	if (!vio_open(&v, &s, run, false))
		goto out;
	if (!vio_bring_up(&v, false))
		goto out;
	vio_post_generic(&v);
	conform_where(run, "driver reset (status 0)");
	vio_w32(&v, R_STATUS, 0);
	vio_check_reset(&v, "status 0 with queues live");
	if (!vio_bring_up(&v, false))
		goto out;
	vio_post_generic(&v);
	conform_where(run, "the plugin's reset op");
	vdev_testhost_reset(v.dev);
	vio_check_reset(&v, "reset op with queues live");
	conform_note(run, "%u queue(s) live", v.queues);
out:
	if (v.dev)
		vdev_testhost_destroy(v.dev);
	conform_session_close(&s);
}

/* What the transport shows of the queues: compared across save/restore. */
static void vio_snapshot(struct vio *v, uint32_t *regs)
{
	unsigned n = 0;

	regs[n++] = vio_r32(v, R_STATUS);
	for (unsigned q = 0; q < v->queues; q++) {
		vio_w32(v, R_QSEL, q);
		regs[n++] = vio_r32(v, R_QREADY);
		regs[n++] = vio_r32(v, R_QDESC);
		regs[n++] = vio_r32(v, R_QDRIVER);
		regs[n++] = vio_r32(v, R_QDEVICE);
	}
}

void conform_check_virtio_save_restore_live(struct conform_run *run)
{
	uint32_t a[1 + 4 * VIO_QUEUES] = {0}, b[1 + 4 * VIO_QUEUES] = {0};
	struct conform_session s;
	uint8_t *st1 = NULL, *st2 = NULL, *ram = NULL;
	ssize_t len1, len2;
	struct vio v;
	int rc;

	if (!vio_open(&v, &s, run, false))
		goto out;
	if (!s.desc->state_size) {
		conform_skip(run, "state_size is 0: the device keeps no state");
		goto out;
	}
	st1 = calloc(1, s.desc->state_size);
	st2 = calloc(1, s.desc->state_size);
	ram = malloc(VIO_RAM);
	if (!st1 || !st2 || !ram) {
		conform_fail(run, "out of memory");
		goto out;
	}
	if (!vio_bring_up(&v, false))
		goto out;
	vio_post_generic(&v);
	vio_snapshot(&v, a);
	conform_where(run, "save with queues live");
	len1 = vdev_testhost_save(v.dev, st1, s.desc->state_size);
	if (len1 < 0) {
		conform_fail(run, "save with queues live failed: %zd", len1);
		goto out;
	}
	memcpy(ram, v.ram, VIO_RAM);
	vdev_testhost_destroy(v.dev);
	if (!vio_create(&v))
		goto out;
	conform_where(run, "restore with queues live");
	rc = vdev_testhost_restore(v.dev, st1, (size_t)len1);
	if (rc < 0) {
		conform_fail(run, "restoring a state saved with queues live failed: %d", rc);
		goto out;
	}
	vio_snapshot(&v, b);
	if (memcmp(a, b, sizeof(a)))
		conform_fail(run,
			     "the restored transport differs (status 0x%x -> 0x%x, queue 0 "
			     "ready %u -> %u, desc 0x%x -> 0x%x)",
			     a[0], b[0], a[1], b[1], a[2], b[2]);
	if (memcmp(ram, v.ram, VIO_RAM))
		conform_fail(run, "restore wrote guest memory");
	len2 = vdev_testhost_save(v.dev, st2, s.desc->state_size);
	if (len2 != len1 || memcmp(st1, st2, (size_t)len1))
		conform_fail(run, "a save right after the restore gives other bytes (%zd vs %zd)",
			     len2, len1);
	/* the rings carry on: kicks after the restore are served, nothing breaks */
	for (unsigned q = 0; q < v.queues; q++)
		vio_w32(&v, R_NOTIFY, q);
	vio_settle(&v);
	if (vio_r32(&v, R_STATUS) != a[0])
		conform_fail(run,
			     "after kicks on the restored queues the status is 0x%x (was 0x%x)",
			     vio_r32(&v, R_STATUS), a[0]);
	conform_note(run, "%u queue(s) live, state %zd bytes", v.queues, len1);
out:
	free(st1);
	free(st2);
	free(ram);
	if (v.dev)
		vdev_testhost_destroy(v.dev);
	conform_session_close(&s);
}

/* One malformed chain on queue 0 (descriptor slots 0..3, buffers read-only). */
struct vio_bad {
	const char *what;
	bool indirect;
	void (*build)(struct vio *v);
};

static void bad_loop(struct vio *v)
{
	vio_desc(v, 0, 0, VIO_BUFS, 64, 1, 1);
	vio_desc(v, 0, 1, VIO_BUFS + 64, 64, 1, 0);
}

static void bad_outside(struct vio *v)
{
	vio_desc(v, 0, 0, VIO_RAM - 32, 64, 0, 0);
}

static void bad_wrap(struct vio *v)
{
	vio_desc(v, 0, 0, UINT64_MAX - 16, 64, 0, 0);
}

static void bad_next(struct vio *v)
{
	vio_desc(v, 0, 0, VIO_BUFS, 64, 1, 0x7fff);
}

static void bad_write_then_read(struct vio *v)
{
	vio_desc(v, 0, 0, VIO_BUFS + 0x8000, 64, 3, 1);
	vio_desc(v, 0, 1, VIO_BUFS, 64, 0, 0);
}

static void bad_nested_indirect(struct vio *v)
{
	uint64_t table = VIO_BUFS + 0x4000;
	uint8_t *t = v->ram + table;
	uint64_t inner = VIO_BUFS + 0x5000;
	uint32_t len = 16;
	uint16_t flags = 4, next = 0;

	memcpy(t, &inner, 8);
	memcpy(t + 8, &len, 4);
	memcpy(t + 12, &flags, 2);
	memcpy(t + 14, &next, 2);
	vio_desc(v, 0, 0, table, 16, 4, 0);
}

static const struct vio_bad vio_bad_chains[] = {
    {"a descriptor loop", false, bad_loop},
    {"a buffer past the end of RAM", false, bad_outside},
    {"an address + length that wraps", false, bad_wrap},
    {"a next index outside the queue", false, bad_next},
    {"a readable descriptor after a writable one", false, bad_write_then_read},
    {"an indirect table inside an indirect table", true, bad_nested_indirect},
};

void conform_check_virtio_malformed_chains(struct conform_run *run)
{
	struct conform_session s;
	uint8_t *before = NULL;
	unsigned needs_reset = 0, tried = 0;
	struct vio v;

	if (!vio_open(&v, &s, run, false))
		goto out;
	before = malloc(VIO_RAM);
	if (!before) {
		conform_fail(run, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sizeof(vio_bad_chains) / sizeof(vio_bad_chains[0]); i++) {
		const struct vio_bad *c = &vio_bad_chains[i];
		uint64_t used = ring_base(0) + 0x2000;

		if (!vio_bring_up(&v, c->indirect))
			goto out;
		if (c->indirect && !(v.features & F_INDIRECT))
			continue;
		tried++;
		conform_where(run, "queue 0 given %s", c->what);
		memset(v.ram + VIO_BUFS, 0xa5, 0x10000);
		c->build(&v);
		vio_avail(&v, 0, 0);
		memcpy(before, v.ram, VIO_RAM);
		vio_w32(&v, R_NOTIFY, 0);
		vio_settle(&v);
		/* only the used ring may change, and the chain's writable buffer */
		memcpy(v.ram + used, before + used, 0x1000);
		memcpy(v.ram + VIO_BUFS + 0x8000, before + VIO_BUFS + 0x8000, 64);
		if (memcmp(before, v.ram, VIO_RAM))
			conform_fail(run, "%s: guest memory outside the used ring was written",
				     c->what);
		needs_reset += (vio_r32(&v, R_STATUS) & S_NEEDS_RESET) != 0;
		vio_w32(&v, R_STATUS, 0);
		if (vio_r32(&v, R_STATUS) != 0)
			conform_fail(run, "%s: the device does not reset afterwards", c->what);
	}
	conform_note(run, "%u malformed chain(s) tried, %u answered with DEVICE_NEEDS_RESET", tried,
		     needs_reset);
out:
	free(before);
	if (v.dev)
		vdev_testhost_destroy(v.dev);
	conform_session_close(&s);
}

/*
 * dma-faults' part for a virtio device (its DMA starts from a driver
 * bring-up, not from registers a probe finds), in dma-faults' session:
 * queues live, buffers posted and kicked while guest memory services fail
 * at random, then always; then a driver reset and a bring-up with nothing
 * failing. Returns false when the device is not virtio-mmio, so that the
 * caller goes on.
 */
bool conform_virtio_dma_faults(struct conform_session *s)
{
	struct conform_run *run = s->run;
	unsigned failed;
	struct vio v;

	if (!vio_attach(&v, s, true))
		return false;
	if (vio_bring_up(&v, false)) {
		conform_where(run, "virtio: buffers kicked while guest memory services fail "
				   "at random");
		vdev_testhost_inject_faults(s->th,
					    VDEV_TESTHOST_FAULT_MEM | VDEV_TESTHOST_FAULT_MSI_SEND,
					    2, run->opts->seed);
		for (int i = 0; i < 10; i++)
			vio_post_generic(&v);
		conform_where(run, "virtio: buffers kicked while guest memory services always "
				   "fail");
		vdev_testhost_inject_faults(s->th,
					    VDEV_TESTHOST_FAULT_MEM | VDEV_TESTHOST_FAULT_MSI_SEND,
					    1, run->opts->seed);
		vio_post_generic(&v);
		failed = vdev_testhost_inject_faults(s->th, 0, 0, 0);
		conform_where(run, "virtio: driver reset and bring-up after the failures");
		vio_w32(&v, R_STATUS, 0);
		if (vio_bring_up(&v, false))
			vio_post_generic(&v);
		conform_note(run, "virtio: %u guest memory service call(s) made to fail", failed);
	}
	conform_where(run, "virtio: destroy");
	vdev_testhost_destroy(v.dev);
	return true;
}
