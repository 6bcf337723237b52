/*
 * tests/unit/test_virtio.c: the SDK's virtio helper (sdk/lib/virtio*.c) in
 * a device linked into the test and driven through the SDK test host,
 * whose guest RAM holds the rings the test writes as a driver would:
 * virtio-mmio and virtio-pci registers, feature negotiation, chains
 * (direct, indirect), every malformed chain, EVENT_IDX and flag-based
 * suppression, MSI-X and INTx, device reset, the worker, save/restore;
 * and the same for packed virtqueues (VIRTIO_F_RING_PACKED).
 *
 * The device ("vtest", id 0x2a): queue 0 echoes each chain's readable
 * bytes into its writable part on the vCPU thread; queue 1 hands each chain
 * to the worker, which fills the writable part with 0x5a.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vdev/testhost.h>
#include <vdev/virtio.h>

#include "virtio_driver.h"

#define MMIO_BASE 0xd0000000ull
#define QSIZE	  8u
#define DESC	  0x1000ull
#define AVAIL	  0x2000ull
#define USED	  0x3000ull
#define DESC1	  0x4000ull
#define AVAIL1	  0x5000ull
#define USED1	  0x6000ull
#define BUF	  0x10000ull
#define RAM_SIZE  0x100000ull
#define FEAT_A	  (1ull << 0)
#define FEAT_B	  (1ull << 5)

struct vtdev {
	struct vdev_virtio vio;
	uint8_t config[8];
	int last_pop;
	unsigned resets;
	struct vdev_virtio_chain chain;
};

struct vtjob {
	struct vdev_virtio_job job;
	struct vtdev *d;
	uint8_t data[64];
	struct vdev_virtio_chain chain;
};

static struct vtdev *last_dev;

static void vt_work(struct vdev_virtio_job *job)
{
	struct vtjob *j = (struct vtjob *)job;

	memset(j->data, 0x5a, sizeof(j->data));
}

static void vt_done(void *dev, struct vdev_virtio_job *job)
{
	struct vtjob *j = (struct vtjob *)job;
	struct vtdev *d = dev;
	ssize_t n = vdev_virtio_chain_write(&d->vio, &j->chain, 0, j->data, sizeof(j->data));

	if (vdev_virtio_queue_push(&d->vio, &j->chain, n > 0 ? (uint32_t)n : 0) == 0)
		vdev_virtio_queue_interrupt(&d->vio, j->chain.queue);
	free(j);
}

static void vt_notify(void *dev, unsigned queue)
{
	struct vtdev *d = dev;
	uint8_t buf[256];
	int r;

	while ((r = vdev_virtio_queue_pop(&d->vio, queue, &d->chain)) > 0) {
		ssize_t n;

		if (queue == 1) {
			struct vtjob *j = calloc(1, sizeof(*j));

			assert_non_null(j);
			j->job.work = vt_work;
			j->job.done = vt_done;
			j->d = d;
			j->chain = d->chain;
			assert_int_equal(vdev_virtio_worker_submit(&d->vio, &j->job), 0);
			continue;
		}
		n = vdev_virtio_chain_read(&d->vio, &d->chain, 0, buf, sizeof(buf));
		assert_true(n >= 0);
		n = vdev_virtio_chain_write(&d->vio, &d->chain, 0, buf, (size_t)n);
		assert_true(n >= 0);
		assert_int_equal(vdev_virtio_queue_push(&d->vio, &d->chain, (uint32_t)n), 0);
	}
	d->last_pop = r;
	vdev_virtio_queue_interrupt(&d->vio, queue);
}

static void vt_config_write(void *dev, unsigned offset, unsigned size, uint64_t value)
{
	struct vtdev *d = dev;

	/* bytes 4..7 are writable, 0..3 read-only */
	for (unsigned i = 0; i < size; i++)
		if (offset + i >= 4)
			d->config[offset + i] = (uint8_t)(value >> (8 * i));
}

static bool vt_features_ok(void *dev, uint64_t features)
{
	return !(features & FEAT_B) || (features & FEAT_A); /* B needs A */
}

static void vt_reset(void *dev)
{
	((struct vtdev *)dev)->resets++;
}

static const struct vdev_virtio_ops vt_ops = {
    .queue_notify = vt_notify,
    .config_write = vt_config_write,
    .features_ok = vt_features_ok,
    .reset = vt_reset,
};

static int vt_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		     void **devp)
{
	struct vtdev *d = calloc(1, sizeof(*d));
	struct vdev_virtio_info info = {
	    .device_id = 0x2a,
	    /* the test device opts in to packed rings (not offered by default) */
	    .features = FEAT_A | FEAT_B | VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_RING_PACKED),
	    .queue_count = 2,
	    .queue_size = QSIZE,
	    .config_size = sizeof(d->config),
	    .pci_class = 0xff0000,
	    .ops = &vt_ops,
	};
	int err;

	if (!d)
		return -ENOMEM;
	memcpy(d->config, "\x11\x22\x33\x44\0\0\0\0", 8);
	info.config = d->config;
	info.dev = d;
	err = vdev_virtio_init(&d->vio, host, h, cfg, &info);
	if (!err) {
		err = vdev_virtio_worker_start(&d->vio, 2);
		if (err)
			vdev_virtio_destroy(&d->vio);
	}
	if (err) {
		free(d);
		return err;
	}
	last_dev = d;
	*devp = d;
	return 0;
}

static void vt_destroy(void *dev)
{
	struct vtdev *d = dev;

	vdev_virtio_destroy(&d->vio);
	free(d);
}

static int vt_read(void *dev, const struct vdev_access *a, uint64_t *v)
{
	return vdev_virtio_read(&((struct vtdev *)dev)->vio, a, v);
}

static int vt_write(void *dev, const struct vdev_access *a, uint64_t v)
{
	return vdev_virtio_write(&((struct vtdev *)dev)->vio, a, v);
}

static void vt_power_reset(void *dev)
{
	vdev_virtio_reset(&((struct vtdev *)dev)->vio);
}

static ssize_t vt_save(void *dev, void *buf, size_t cap)
{
	struct vtdev *d = dev;
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, "vtest", 1);
	vdev_virtio_state(&st, &d->vio);
	return vdev_state_save_end(&st);
}

static int vt_restore(void *dev, const void *buf, size_t len)
{
	struct vtdev *d = dev;
	struct vdev_state st;

	vdev_state_restore_begin(&st, buf, len, "vtest", 1);
	vdev_virtio_state(&st, &d->vio);
	if (vdev_state_restore_end(&st))
		return -EINVAL;
	vdev_virtio_restored(&d->vio);
	return 0;
}

static const struct vdev_ops vt_vops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = vt_create,
    .destroy = vt_destroy,
    .read = vt_read,
    .write = vt_write,
    .reset = vt_power_reset,
    .save = vt_save,
    .restore = vt_restore,
};

static const struct vdev_descriptor vt_desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "vtest",
    .version = "1.0.0",
    .description = "virtio helper test device",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size = VDEV_STATE_HEADER_SIZE(5) + VDEV_VIRTIO_STATE_SIZE,
    .ops = &vt_vops,
};

/* ------------------------------------------------------------ fixture */

struct fixture {
	struct vdev_testhost *th;
	struct vdev_testdev *dev;
	uint8_t *ram;
	struct vdrv drv;
	bool pci;
	uint64_t bar; /* PCI: BAR 4's address */
	unsigned msix_cap;
};

static struct fixture *fixture_new(const char *options)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	assert_int_equal(vdev_testhost_add_ram(f->th, 0, RAM_SIZE), 0);
	assert_int_equal(vdev_testhost_add_intc(f->th, "ioapic", 24), 0);
	assert_int_equal(vdev_testhost_use(f->th, &vt_desc), 0);
	f->dev = vdev_testhost_create(f->th, &vt_desc, options);
	if (!f->dev)
		fail_msg("%s", vdev_testhost_error(f->th));
	f->ram = vdev_testhost_ram(f->th, 0, RAM_SIZE);
	assert_non_null(f->ram);
	f->drv = (struct vdrv){.th = f->th, .ram = f->ram, .base = MMIO_BASE, .qsize = QSIZE};
	return f;
}

static int setup_mmio(void **state)
{
	*state = fixture_new("loc 0xd0000000 intr ioapic:5");
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdrv_destroy_host(f->th, f->dev);
	free(f);
	return 0;
}

static uint32_t r32(struct fixture *f, uint64_t off)
{
	return vdrv_r32(&f->drv, off);
}

static void w32(struct fixture *f, uint64_t off, uint32_t v)
{
	vdrv_w32(&f->drv, off, v);
}

static void put16(struct fixture *f, uint64_t gpa, uint16_t v)
{
	vdrv_put16(&f->drv, gpa, v);
}

static uint16_t get16(struct fixture *f, uint64_t gpa)
{
	return vdrv_get16(&f->drv, gpa);
}

static uint32_t get32(struct fixture *f, uint64_t gpa)
{
	return vdrv_get32(&f->drv, gpa);
}

static void put_desc(struct fixture *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	vdrv_put_desc(&f->drv, table, i, addr, len, flags, next);
}

/* Make chain `head` available on queue q (no kick). */
static void avail_add(struct fixture *f, unsigned q, uint16_t head)
{
	vdrv_avail_add(&f->drv, q, q ? AVAIL1 : AVAIL, head);
}

/* ---------------------------------------------------- MMIO driver */

static uint32_t mmio_negotiate(struct fixture *f, uint64_t features)
{
	return vdrv_negotiate(&f->drv, features);
}

static void mmio_driver_up(struct fixture *f, uint64_t features)
{
	memset(f->ram, 0, 0x8000);
	assert_true(mmio_negotiate(f, features) & VDEV_VIRTIO_S_FEATURES_OK);
	vdrv_queue_setup(&f->drv, 0, DESC, AVAIL, USED);
	vdrv_queue_setup(&f->drv, 1, DESC1, AVAIL1, USED1);
	w32(f, VDEV_VIRTIO_MMIO_STATUS, 0xf);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_STATUS), 0xf);
}

#define V1	  VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1)
#define INDIRECT  VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_INDIRECT_DESC)
#define EVENT_IDX VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_EVENT_IDX)

/* ---------------------------------------------------- tests: MMIO */

static void test_mmio_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vdev_virtio_transport(&last_dev->vio), VDEV_VIRTIO_MMIO);
	assert_int_equal(r32(f, 0x000), 0x74726976);
	assert_int_equal(r32(f, 0x004), 2);
	assert_int_equal(r32(f, 0x008), 0x2a);
	assert_int_equal(r32(f, 0x00c), VDEV_VIRTIO_MMIO_VENDOR_VALUE);
	w32(f, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_DEV_FEATURES),
			 0x30000021); /* A, B, indirect, event idx */
	w32(f, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 1);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_DEV_FEATURES), 5); /* VERSION_1, RING_PACKED */
	w32(f, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 2);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_DEV_FEATURES), 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_SEL, 2); /* no such queue */
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_SHM_LEN), 0xffffffff);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_CONFIG_GEN), 0);
	assert_int_equal(r32(f, 0x0f0), 0);					   /* reserved */
	assert_int_equal(vdev_testhost_mmio_read(f->th, MMIO_BASE + 0x000, 2), 0); /* not 32-bit */
	/* device configuration: any width, the device decides what sticks */
	assert_int_equal(vdev_testhost_mmio_read(f->th, MMIO_BASE + 0x100, 4), 0x44332211);
	assert_int_equal(vdev_testhost_mmio_read(f->th, MMIO_BASE + 0x101, 1), 0x22);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, MMIO_BASE + 0x100, 8,
					     0x8877665500000000ull),
			 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, MMIO_BASE + 0x100, 8),
			 0x8877665544332211ull);
	assert_int_equal(vdev_testhost_mmio_read(f->th, MMIO_BASE + 0x108, 4), 0); /* past config */
	vdev_virtio_config_changed(&last_dev->vio);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_CONFIG_GEN), 1);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 2);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
	w32(f, VDEV_VIRTIO_MMIO_INT_ACK, 2);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 0);
}

static void test_negotiation(void **state)
{
	struct fixture *f = *state;

	assert_false(mmio_negotiate(f, FEAT_A) & VDEV_VIRTIO_S_FEATURES_OK); /* no VERSION_1 */
	assert_false(mmio_negotiate(f, V1 | (1ull << 7)) &
		     VDEV_VIRTIO_S_FEATURES_OK); /* not offered */
	assert_false(mmio_negotiate(f, V1 | FEAT_B) &
		     VDEV_VIRTIO_S_FEATURES_OK); /* device refuses */
	assert_true(mmio_negotiate(f, V1 | FEAT_A | FEAT_B) & VDEV_VIRTIO_S_FEATURES_OK);
	assert_int_equal(vdev_virtio_features(&last_dev->vio), V1 | FEAT_A | FEAT_B);
	/* after FEATURES_OK the driver features are fixed */
	w32(f, VDEV_VIRTIO_MMIO_DRV_FEAT_SEL, 0);
	w32(f, VDEV_VIRTIO_MMIO_DRV_FEATURES, 0);
	assert_int_equal(vdev_virtio_features(&last_dev->vio), V1 | FEAT_A | FEAT_B);
	assert_true(vdev_virtio_has_feature(&last_dev->vio, 32));
	assert_false(vdev_virtio_live(&last_dev->vio));
	w32(f, VDEV_VIRTIO_MMIO_STATUS, 0xf);
	assert_true(vdev_virtio_live(&last_dev->vio));
	w32(f, VDEV_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vdev_virtio_features(&last_dev->vio), 0);
	assert_true(last_dev->resets >= 5);
}

static void test_chain(void **state)
{
	struct fixture *f = *state;

	mmio_driver_up(f, V1);
	memcpy(f->ram + BUF, "hello, virtio", 13);
	put_desc(f, DESC, 3, BUF, 13, 1, 5);
	put_desc(f, DESC, 5, BUF + 0x100, 64, 2, 0);
	avail_add(f, 0, 3);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(last_dev->last_pop, 0);
	assert_int_equal(get16(f, USED + 2), 1);
	assert_int_equal(get32(f, USED + 4), 3);  /* id: the head */
	assert_int_equal(get32(f, USED + 8), 13); /* len written */
	assert_memory_equal(f->ram + BUF + 0x100, "hello, virtio", 13);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
	w32(f, VDEV_VIRTIO_MMIO_INT_ACK, 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 0);
	/* idle again: notifications re-enabled (used flags clear) */
	assert_int_equal(get16(f, USED), 0);
	/* a kick with nothing new: no interrupt */
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 0);
	/* two chains in one kick, the ring wrapping past its size */
	for (unsigned i = 0; i < 9; i++) {
		put_desc(f, DESC, 0, BUF, 1, 0, 0); /* readable only: written 0 */
		avail_add(f, 0, 0);
		w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
	assert_int_equal(get16(f, USED + 2), 10);
	assert_int_equal(get32(f, USED + 4 + 8 * (9 % QSIZE) + 4), 0);
	assert_false(vdev_virtio_status(&last_dev->vio) & VDEV_VIRTIO_S_NEEDS_RESET);
}

static void test_indirect(void **state)
{
	struct fixture *f = *state;
	uint64_t table = 0x8000;

	mmio_driver_up(f, V1 | INDIRECT);
	memcpy(f->ram + BUF, "abcdef", 6);
	put_desc(f, table, 0, BUF, 3, 1, 2);
	put_desc(f, table, 2, BUF + 3, 3, 1, 1);
	put_desc(f, table, 1, BUF + 0x200, 4, 3, 3);
	put_desc(f, table, 3, BUF + 0x300, 4, 2, 0);
	put_desc(f, DESC, 0, table, 4 * 16, 4 | 2, 0); /* WRITE on an indirect is ignored */
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(last_dev->last_pop, 0);
	assert_int_equal(last_dev->chain.count, 4);
	assert_int_equal(last_dev->chain.readable, 2);
	assert_int_equal(last_dev->chain.write_bytes, 8);
	assert_int_equal(get32(f, USED + 8), 6);
	assert_memory_equal(f->ram + BUF + 0x200, "abcd", 4);
	assert_memory_equal(f->ram + BUF + 0x300, "ef", 2);
}

static void test_event_idx(void **state)
{
	struct fixture *f = *state;

	mmio_driver_up(f, V1 | EVENT_IDX);
	put_desc(f, DESC, 0, BUF, 4, 2, 0);
	/* the driver wants an interrupt only after the second buffer */
	put16(f, AVAIL + 4 + 2 * QSIZE, 1);
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(get16(f, USED + 2), 1);
	/* first interrupt is always sent (nothing signalled yet) */
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
	w32(f, VDEV_VIRTIO_MMIO_INT_ACK, 1);
	/* idle: the device asks for a kick after entry 1 (avail_event) */
	assert_int_equal(get16(f, USED + 4 + 8 * QSIZE), 1);
	put16(f, AVAIL + 4 + 2 * QSIZE, 5); /* used_event: only after the 6th */
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(get16(f, USED + 2), 2);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 0); /* suppressed */
	put16(f, AVAIL + 4 + 2 * QSIZE, 2);
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1); /* crossed used_event 2 */
	assert_int_equal(get16(f, USED + 4 + 8 * QSIZE), 3);
}

static void test_no_interrupt_flag(void **state)
{
	struct fixture *f = *state;

	mmio_driver_up(f, V1);
	put16(f, AVAIL, 1); /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	put_desc(f, DESC, 0, BUF, 4, 2, 0);
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(get16(f, USED + 2), 1);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 0);
	put16(f, AVAIL, 0);
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
}

/* ------------------------------------------------ malformed chains */

struct bad_case {
	const char *name; /* what the log must say */
	uint64_t features;
	void (*build)(struct fixture *f);
};

static void bad_loop(struct fixture *f)
{
	put_desc(f, DESC, 0, BUF, 4, 1, 1);
	put_desc(f, DESC, 1, BUF, 4, 1, 0);
	avail_add(f, 0, 0);
}

static void bad_too_long(struct fixture *f)
{
	for (unsigned i = 0; i < QSIZE + 1; i++)
		put_desc(f, 0x8000, i, BUF, 4, i < QSIZE ? 1 : 0, (uint16_t)(i + 1));
	put_desc(f, DESC, 0, 0x8000, 16 * (QSIZE + 1), 4, 0);
	avail_add(f, 0, 0);
}

static void bad_outside_ram(struct fixture *f)
{
	put_desc(f, DESC, 0, RAM_SIZE - 2, 4, 0, 0);
	avail_add(f, 0, 0);
}

static void bad_wrap(struct fixture *f)
{
	put_desc(f, DESC, 0, UINT64_MAX - 1, 4, 0, 0);
	avail_add(f, 0, 0);
}

static void bad_write_before_read(struct fixture *f)
{
	put_desc(f, DESC, 0, BUF, 4, 3, 1);
	put_desc(f, DESC, 1, BUF + 4, 4, 0, 0);
	avail_add(f, 0, 0);
}

static void bad_nested_indirect(struct fixture *f)
{
	put_desc(f, 0x8000, 0, 0x9000, 16, 4, 0);
	put_desc(f, DESC, 0, 0x8000, 16, 4, 0);
	avail_add(f, 0, 0);
}

static void bad_next(struct fixture *f)
{
	put_desc(f, DESC, 0, BUF, 4, 1, QSIZE);
	avail_add(f, 0, 0);
}

static void bad_head(struct fixture *f)
{
	avail_add(f, 0, QSIZE + 3);
}

static void bad_avail_jump(struct fixture *f)
{
	put16(f, AVAIL + 2, QSIZE + 1);
}

static void bad_indirect_feature(struct fixture *f)
{
	put_desc(f, DESC, 0, 0x8000, 16, 4, 0);
	avail_add(f, 0, 0);
}

static void bad_indirect_len(struct fixture *f)
{
	put_desc(f, DESC, 0, 0x8000, 24, 4, 0);
	avail_add(f, 0, 0);
}

static void bad_indirect_next(struct fixture *f)
{
	put_desc(f, DESC, 0, 0x8000, 16, 4 | 1, 1);
	avail_add(f, 0, 0);
}

static void bad_indirect_outside(struct fixture *f)
{
	put_desc(f, DESC, 0, RAM_SIZE - 16, 32, 4, 0);
	avail_add(f, 0, 0);
}

static void bad_ring_outside(struct fixture *f)
{
	/* the driver moved its rings out of RAM: queue 0 is reconfigured */
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_SEL, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_READY, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_DRIVER, (uint32_t)RAM_SIZE);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_READY, 1);
}

static const struct bad_case bad_cases[] = {
    {"descriptor loop", V1, bad_loop},
    {"chain longer than the queue size", V1 | INDIRECT, bad_too_long},
    {"buffer outside guest RAM", V1, bad_outside_ram},
    {"buffer address + length wraps around", V1, bad_wrap},
    {"readable descriptor after a writable one", V1, bad_write_before_read},
    {"indirect descriptor inside an indirect table", V1 | INDIRECT, bad_nested_indirect},
    {"next index outside the queue", V1, bad_next},
    {"head index outside the queue", V1, bad_head},
    {"available index moved by more than the queue size", V1, bad_avail_jump},
    {"indirect descriptor without VIRTIO_F_INDIRECT_DESC", V1, bad_indirect_feature},
    {"indirect table length not a multiple of 16", V1 | INDIRECT, bad_indirect_len},
    {"indirect descriptor with NEXT set", V1 | INDIRECT, bad_indirect_next},
    {"indirect table outside guest RAM", V1 | INDIRECT, bad_indirect_outside},
    {"available ring outside guest RAM", V1, bad_ring_outside},
};

static unsigned count_substr(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static bool split_used_any(struct fixture *f)
{
	return get16(f, USED + 2) != 0;
}

/*
 * Each case on queue 0, the driver brought up by `up`: the kick finds the
 * chain malformed (named in the log, once), the device needs reset and
 * says so by interrupt, a second kick is not served, nothing is used
 * (`used_any`) and no buffer written; the driver's reset clears it all.
 */
static void run_bad_cases(struct fixture *f, const struct bad_case *cases, size_t n,
			  void (*up)(struct fixture *, uint64_t),
			  bool (*used_any)(struct fixture *))
{
	static uint8_t before[RAM_SIZE - 0x8000];

	for (size_t i = 0; i < n; i++) {
		const struct bad_case *c = &cases[i];

		print_message("malformed: %s\n", c->name);
		up(f, c->features);
		w32(f, VDEV_VIRTIO_MMIO_INT_ACK, 3);
		vdev_testhost_clear_log(f->th);
		c->build(f);
		memcpy(before, f->ram + 0x8000, sizeof(before));
		last_dev->last_pop = 1;
		w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		assert_int_equal(last_dev->last_pop, -EIO);
		last_dev->last_pop = 1;
		w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY,
		    0); /* a second kick: not served, not logged */
		assert_int_equal(last_dev->last_pop, 1);
		if (!strstr(vdev_testhost_log(f->th), c->name))
			fail_msg("%s: log is '%s'", c->name, vdev_testhost_log(f->th));
		assert_int_equal(count_substr(vdev_testhost_log(f->th), "needs reset"), 1);
		assert_true(r32(f, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
		assert_true(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS) & VDEV_VIRTIO_INT_CONFIG);
		assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
		assert_false(used_any(f)); /* nothing used */
		assert_memory_equal(before, f->ram + 0x8000,
				    sizeof(before)); /* no buffer written */
		/* the driver's reset clears it */
		w32(f, VDEV_VIRTIO_MMIO_STATUS, 0);
		assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_STATUS), 0);
		assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 0);
		assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 0);
	}
}

static void test_malformed(void **state)
{
	run_bad_cases(*state, bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]), mmio_driver_up,
		      split_used_any);
	/* and the device works again afterwards */
	test_chain(state);
}

static void test_bad_queue_setup(void **state)
{
	struct fixture *f = *state;

	assert_true(mmio_negotiate(f, V1) & VDEV_VIRTIO_S_FEATURES_OK);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_SEL, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NUM, 6); /* not a power of two */
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(r32(f, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
}

/* ------------------------------------------------ reset, worker, state */

static void test_reset_clears(void **state)
{
	struct fixture *f = *state;

	mmio_driver_up(f, V1);
	put_desc(f, DESC, 0, BUF, 4, 2, 0);
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
	w32(f, VDEV_VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 0);
	for (unsigned q = 0; q < 2; q++) {
		w32(f, VDEV_VIRTIO_MMIO_QUEUE_SEL, q);
		assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_QUEUE_READY), 0);
		assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_QUEUE_DESC), 0);
		assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_QUEUE_DRIVER), 0);
	}
	/* a kick while reset does nothing */
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(get16(f, USED + 2), 1);
	/* power-on reset too */
	mmio_driver_up(f, V1);
	vdev_testhost_reset(f->dev);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_STATUS), 0);
}

static void test_worker(void **state)
{
	struct fixture *f = *state;
	int polls = 0;

	mmio_driver_up(f, V1);
	for (unsigned i = 0; i < 3; i++) {
		put_desc(f, DESC1, i, BUF + 0x100 * i, 64, 2, 0);
		avail_add(f, 1, (uint16_t)i);
	}
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	/* completions arrive through the host's event loop */
	while (get16(f, USED1 + 2) < 3 && polls++ < 100)
		vdev_testhost_poll(f->th, 100);
	assert_int_equal(get16(f, USED1 + 2), 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(f->ram[BUF + 0x100 * i], 0x5a);
		assert_int_equal(f->ram[BUF + 0x100 * i + 63], 0x5a);
		assert_int_equal(get32(f, USED1 + 4 + 8 * i + 4), 64);
	}
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
	/* a job in flight at reset completes into nothing */
	put_desc(f, DESC1, 0, BUF + 0x400, 64, 2, 0);
	avail_add(f, 1, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	w32(f, VDEV_VIRTIO_MMIO_STATUS, 0);
	vdev_virtio_worker_drain(&last_dev->vio);
	assert_int_equal(get16(f, USED1 + 2), 3);
	assert_int_equal(f->ram[BUF + 0x400], 0);
	/* jobs left at destroy are freed (teardown; ASan would see a leak) */
	mmio_driver_up(f, V1);
	put_desc(f, DESC1, 0, BUF, 64, 2, 0);
	avail_add(f, 1, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

static void test_state(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VDEV_STATE_HEADER_SIZE(5) + VDEV_VIRTIO_STATE_SIZE];
	ssize_t len;

	mmio_driver_up(f, V1 | EVENT_IDX);
	put_desc(f, DESC, 0, BUF, 4, 2, 0);
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_STATUS), 0xf);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_QUEUE_DESC), DESC);
	/* the rings carry on where they were */
	avail_add(f, 0, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(get16(f, USED + 2), 2);
	/* an invalid state is refused and changes nothing */
	last_dev->vio.regs.queue[0].size = 3;
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	last_dev->vio.regs.queue[0].size = QSIZE;
	assert_true(len > 0);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), -EINVAL);
	last_dev->vio.regs.driver_features |= 1ull << 7; /* never offered, yet FEATURES_OK */
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	last_dev->vio.regs.driver_features &= ~(1ull << 7);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), -EINVAL);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_STATUS), 0xf);
	assert_int_equal(get16(f, USED + 2), 2);
	buf[len / 2] ^= 1;
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), -EINVAL);
}

/* ---------------------------------------------- tests: packed rings */

#define PACKED	VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_RING_PACKED)
#define P_AVAIL (1u << 7)
#define P_USED	(1u << 15)

/* The packed driver's side of queue 0: ring at DESC, driver event area at
 * AVAIL, device event area at USED; its next slot and wrap counter. */
static unsigned p_next;
static bool p_wrap;

static void packed_up(struct fixture *f, uint64_t features)
{
	mmio_driver_up(f, V1 | PACKED | features);
	assert_true(vdev_virtio_has_feature(&last_dev->vio, VDEV_VIRTIO_F_RING_PACKED));
	p_next = 0;
	p_wrap = true;
}

/* Descriptor in slot `i`, made available for wrap counter `wrap`. */
static void p_desc(struct fixture *f, unsigned i, uint64_t addr, uint32_t len, uint16_t id,
		   uint16_t flags, bool wrap)
{
	uint8_t *d = f->ram + DESC + 16 * i;

	flags |= wrap ? P_AVAIL : P_USED;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &id, 2);
	memcpy(d + 14, &flags, 2);
}

/* The next buffer: n descriptors {addr, len, flags} (NEXT added between),
 * buffer id `id`; the head's flags written last, as a driver does. */
static void p_post(struct fixture *f, uint16_t id, unsigned n, const uint64_t (*d)[3])
{
	unsigned head = p_next;
	bool head_wrap = p_wrap;

	for (unsigned k = 0; k < n; k++) {
		uint16_t flags = (uint16_t)d[k][2] | (k + 1 < n ? 1 : 0);

		if (k)
			p_desc(f, p_next, d[k][0], (uint32_t)d[k][1], id, flags, p_wrap);
		if (++p_next == QSIZE) {
			p_next = 0;
			p_wrap = !p_wrap;
		}
	}
	p_desc(f, head, d[0][0], (uint32_t)d[0][1], id, (uint16_t)d[0][2] | (n > 1 ? 1 : 0),
	       head_wrap);
}

static uint16_t p_flags(struct fixture *f, unsigned slot)
{
	return get16(f, DESC + 16 * slot + 14);
}

static void test_packed_chain(void **state)
{
	struct fixture *f = *state;
	const uint64_t two[2][3] = {{BUF, 13, 0}, {BUF + 0x100, 64, 2}};
	const uint64_t one[1][3] = {{BUF, 1, 0}};

	packed_up(f, 0);
	memcpy(f->ram + BUF, "hello, virtio", 13);
	p_post(f, 7, 2, two);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(last_dev->last_pop, 0);
	/* used in slot 0: id 7, 13 bytes, AVAIL == USED == wrap 1, WRITE */
	assert_int_equal(get16(f, DESC + 12), 7);
	assert_int_equal(get32(f, DESC + 8), 13);
	assert_int_equal(p_flags(f, 0), P_AVAIL | P_USED | 2);
	assert_memory_equal(f->ram + BUF + 0x100, "hello, virtio", 13);
	assert_int_equal(last_dev->chain.slots, 2);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
	w32(f, VDEV_VIRTIO_MMIO_INT_ACK, 1);
	/* idle: the device asks for kicks (device event flags ENABLE) */
	assert_int_equal(get16(f, USED + 2), 0);
	assert_int_equal(vdev_virtio_queue(&last_dev->vio, 0)->last_avail, 0x8000 | 2);
	/* a kick with nothing new: no interrupt */
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 0);
	/* one-slot buffers past the end of the ring: the wrap counters flip */
	for (unsigned i = 0; i < 7; i++) {
		p_post(f, (uint16_t)(10 + i), 1, one);
		w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		assert_int_equal(last_dev->last_pop, 0);
	}
	/* slots 2..7 used with wrap 1, slot 0 again with wrap 0: flags clear */
	assert_int_equal(p_flags(f, 7), P_AVAIL | P_USED);
	assert_int_equal(get16(f, DESC + 12), 16);
	assert_int_equal(p_flags(f, 0), 0);
	assert_int_equal(vdev_virtio_queue(&last_dev->vio, 0)->last_avail, 1);
	assert_int_equal(vdev_virtio_queue(&last_dev->vio, 0)->used_idx, 1);
	/* slot 1 still holds the old used... the driver's: not touched */
	assert_false(vdev_virtio_status(&last_dev->vio) & VDEV_VIRTIO_S_NEEDS_RESET);
}

static void test_packed_indirect(void **state)
{
	struct fixture *f = *state;
	uint64_t table = 0x8000;
	const uint64_t ind[1][3] = {{table, 4 * 16, 4}};

	packed_up(f, INDIRECT);
	memcpy(f->ram + BUF, "abcdef", 6);
	/* an indirect table is read in order; NEXT there means nothing */
	p_desc(f, 0, 0, 0, 0, 0, true);
	memset(f->ram + table, 0, 64);
	for (unsigned i = 0; i < 4; i++) {
		const uint64_t addr[4] = {BUF, BUF + 3, BUF + 0x200, BUF + 0x300};
		const uint32_t len[4] = {3, 3, 4, 4};
		uint16_t flags = i >= 2 ? 2 : 0;

		memcpy(f->ram + table + 16 * i, &addr[i], 8);
		memcpy(f->ram + table + 16 * i + 8, &len[i], 4);
		memcpy(f->ram + table + 16 * i + 14, &flags, 2);
	}
	p_post(f, 3, 1, ind);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(last_dev->last_pop, 0);
	assert_int_equal(last_dev->chain.count, 4);
	assert_int_equal(last_dev->chain.readable, 2);
	assert_int_equal(last_dev->chain.slots, 1);
	assert_int_equal(get16(f, DESC + 12), 3);
	assert_int_equal(get32(f, DESC + 8), 6);
	assert_memory_equal(f->ram + BUF + 0x200, "abcd", 4);
	assert_memory_equal(f->ram + BUF + 0x300, "ef", 2);
}

/* Driver event suppression (2.8.10): DISABLE, ENABLE, DESC with EVENT_IDX;
 * and what the device writes into its own area. */
static void test_packed_suppression(void **state)
{
	struct fixture *f = *state;
	const uint64_t one[1][3] = {{BUF, 4, 2}};

	packed_up(f, 0);
	put16(f, AVAIL + 2, 1); /* DISABLE */
	p_post(f, 1, 1, one);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(last_dev->last_pop, 0);
	/* nothing written (the echo had no readable bytes): no WRITE flag */
	assert_int_equal(p_flags(f, 0), P_AVAIL | P_USED);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 0);
	put16(f, AVAIL + 2, 0); /* ENABLE */
	p_post(f, 2, 1, one);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
	w32(f, VDEV_VIRTIO_MMIO_INT_ACK, 1);

	/* EVENT_IDX: interrupt only once the used descriptor at slot 3 (wrap 1) is written */
	w32(f, VDEV_VIRTIO_MMIO_STATUS, 0);
	packed_up(f, EVENT_IDX);
	put16(f, AVAIL, 0x8000 | 3);
	put16(f, AVAIL + 2, 2); /* DESC */
	for (unsigned i = 0; i < 3; i++) {
		p_post(f, (uint16_t)i, 1, one);
		w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		/* the first interrupt of a queue is always sent */
		if (i == 0) {
			assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
			w32(f, VDEV_VIRTIO_MMIO_INT_ACK, 1);
		} else {
			assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 0);
		}
	}
	p_post(f, 3, 1, one);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(r32(f, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
	/* going idle, the device asked to be kicked at its next slot */
	assert_int_equal(get16(f, USED), 0x8000 | 4);
	assert_int_equal(get16(f, USED + 2), 2);
}

static void pbad_too_long(struct fixture *f)
{
	for (unsigned i = 0; i < QSIZE; i++)
		p_desc(f, i, BUF, 4, 0, 1, true); /* NEXT all round the ring */
}

static void pbad_outside_ram(struct fixture *f)
{
	p_desc(f, 0, RAM_SIZE - 2, 4, 0, 0, true);
}

static void pbad_wrap(struct fixture *f)
{
	p_desc(f, 0, UINT64_MAX - 1, 4, 0, 0, true);
}

static void pbad_write_before_read(struct fixture *f)
{
	p_desc(f, 1, BUF + 4, 4, 0, 0, true);
	p_desc(f, 0, BUF, 4, 0, 2 | 1, true);
}

static void pbad_indirect_feature(struct fixture *f)
{
	p_desc(f, 0, 0x8000, 16, 0, 4, true);
}

static void pbad_indirect_len(struct fixture *f)
{
	p_desc(f, 0, 0x8000, 24, 0, 4, true);
}

static void pbad_indirect_next(struct fixture *f)
{
	p_desc(f, 1, BUF, 4, 0, 0, true);
	p_desc(f, 0, 0x8000, 16, 0, 4 | 1, true);
}

static void pbad_indirect_outside(struct fixture *f)
{
	p_desc(f, 0, RAM_SIZE - 16, 32, 0, 4, true);
}

static void pbad_nested_indirect(struct fixture *f)
{
	uint16_t flags = 4;

	memset(f->ram + 0x8000, 0, 16);
	memcpy(f->ram + 0x8000 + 14, &flags, 2);
	p_desc(f, 0, 0x8000, 16, 0, 4, true);
}

static void pbad_indirect_after(struct fixture *f)
{
	p_desc(f, 1, 0x8000, 16, 0, 4, true);
	p_desc(f, 0, BUF, 4, 0, 1, true);
}

static void pbad_indirect_too_long(struct fixture *f)
{
	memset(f->ram + 0x8000, 0, 16 * (QSIZE + 1));
	p_desc(f, 0, 0x8000, 16 * (QSIZE + 1), 0, 4, true);
}

static void pbad_ring_outside(struct fixture *f)
{
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_SEL, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_READY, 0);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_DESC, (uint32_t)RAM_SIZE);
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_READY, 1);
}

static const struct bad_case packed_bad_cases[] = {
    {"chain longer than the queue size", V1, pbad_too_long},
    {"buffer outside guest RAM", V1, pbad_outside_ram},
    {"buffer address + length wraps around", V1, pbad_wrap},
    {"readable descriptor after a writable one", V1, pbad_write_before_read},
    {"indirect descriptor without VIRTIO_F_INDIRECT_DESC", V1, pbad_indirect_feature},
    {"indirect table length not a multiple of 16", V1 | INDIRECT, pbad_indirect_len},
    {"indirect descriptor with NEXT set", V1 | INDIRECT, pbad_indirect_next},
    {"indirect table outside guest RAM", V1 | INDIRECT, pbad_indirect_outside},
    {"indirect descriptor inside an indirect table", V1 | INDIRECT, pbad_nested_indirect},
    {"indirect descriptor after other descriptors of its buffer", V1 | INDIRECT,
     pbad_indirect_after},
    {"chain longer than the queue size", V1 | INDIRECT, pbad_indirect_too_long},
    {"descriptor ring outside guest RAM", V1, pbad_ring_outside},
};

static bool packed_used_any(struct fixture *f)
{
	return p_flags(f, 0) & P_USED; /* slot 0 is still the driver's */
}

static void test_packed_malformed(void **state)
{
	run_bad_cases(*state, packed_bad_cases,
		      sizeof(packed_bad_cases) / sizeof(packed_bad_cases[0]), packed_up,
		      packed_used_any);
	/* and the device works again afterwards */
	test_packed_chain(state);
}

/* A packed queue saved in use carries on after restore at the same slot
 * and wrap counter; a position past the ring is refused. */
static void test_packed_state(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VDEV_STATE_HEADER_SIZE(5) + VDEV_VIRTIO_STATE_SIZE];
	const uint64_t one[1][3] = {{BUF, 4, 2}};
	ssize_t len;

	packed_up(f, 0);
	for (unsigned i = 0; i < QSIZE - 1; i++) {
		p_post(f, (uint16_t)i, 1, one);
		w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), 0);
	assert_int_equal(vdev_virtio_queue(&last_dev->vio, 0)->last_avail, 0x8000 | 7);
	p_post(f, 42, 1, one);
	p_post(f, 43, 1, one); /* slot 0, wrap 0 */
	w32(f, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(get16(f, DESC + 16 * 7 + 12), 42);
	assert_int_equal(get16(f, DESC + 12), 43);
	assert_int_equal(p_flags(f, 0), 0); /* used with wrap 0 */
	assert_int_equal(vdev_virtio_queue(&last_dev->vio, 0)->last_avail, 1);
	last_dev->vio.regs.queue[0].last_avail = 0x8000 | QSIZE;
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	last_dev->vio.regs.queue[0].last_avail = 1;
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), -EINVAL);
}

/* ---------------------------------------------------- tests: PCI */

#define PCFG(reg) VDEV_PCICFG_ADDR(0, 3, 0, reg)

static uint64_t cfg_rd(struct fixture *f, unsigned reg, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, PCFG(reg), size, &v), 0);
	return v;
}

static void cfg_wr(struct fixture *f, unsigned reg, unsigned size, uint64_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PCICFG, PCFG(reg), size, v), 0);
}

static uint64_t bar_rd(struct fixture *f, uint64_t off, unsigned size)
{
	return vdev_testhost_mmio_read(f->th, f->bar + off, size);
}

static void bar_wr(struct fixture *f, uint64_t off, unsigned size, uint64_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, f->bar + off, size, v), 0);
}

static int setup_pci(void **state)
{
	struct fixture *f = fixture_new("loc pci:0:3 intr ioapic:9");

	f->pci = true;
	f->bar = (cfg_rd(f, 0x20, 4) & ~0xfull) | (cfg_rd(f, 0x24, 4) << 32);
	*state = f;
	return 0;
}

/* Walk the capability list; the virtio capabilities by cfg_type. */
static void test_pci_identity_and_caps(void **state)
{
	struct fixture *f = *state;
	unsigned found[6] = {0}, ptr;

	assert_int_equal(vdev_virtio_transport(&last_dev->vio), VDEV_VIRTIO_PCI);
	assert_int_equal(cfg_rd(f, 0x00, 4), 0x106a1af4); /* 0x1040 + 0x2a */
	assert_int_equal(cfg_rd(f, 0x08, 1), 1);	  /* revision */
	assert_int_equal(cfg_rd(f, 0x09, 4) >> 8, 0xff0000 >> 8);
	assert_int_equal(cfg_rd(f, 0x2c, 4), 0x002a1af4); /* subsystem */
	assert_int_equal(cfg_rd(f, 0x3d, 1), 1);	  /* INTA# */
	assert_int_equal(cfg_rd(f, 0x20, 4) & 0xf, 0x4);  /* 64-bit memory BAR4 */
	assert_true(f->bar != 0);
	for (ptr = (unsigned)cfg_rd(f, 0x34, 1); ptr; ptr = (unsigned)cfg_rd(f, ptr + 1, 1)) {
		unsigned id = (unsigned)cfg_rd(f, ptr, 1);

		if (id == 0x11) {
			f->msix_cap = ptr;
			continue;
		}
		assert_int_equal(id, 0x09);
		unsigned type = (unsigned)cfg_rd(f, ptr + 3, 1);
		assert_true(type >= 1 && type <= 5);
		found[type] = ptr;
		assert_int_equal(cfg_rd(f, ptr + 4, 1), 4); /* BAR 4 */
	}
	for (unsigned t = 1; t <= 5; t++)
		assert_true(found[t] != 0);
	assert_int_equal(cfg_rd(f, found[1] + 8, 4), 0x0000);
	assert_int_equal(cfg_rd(f, found[2] + 8, 4), 0x3000);
	assert_int_equal(cfg_rd(f, found[2] + 16, 4), 4); /* notify_off_multiplier */
	assert_int_equal(cfg_rd(f, found[3] + 8, 4), 0x1000);
	assert_int_equal(cfg_rd(f, found[4] + 8, 4), 0x2000);
	assert_int_equal(cfg_rd(f, found[4] + 12, 4), 8);
	assert_true(f->msix_cap != 0);
	assert_int_equal(cfg_rd(f, f->msix_cap + 2, 2), 2); /* 3 vectors */
	/* common configuration */
	assert_int_equal(bar_rd(f, 0x12, 2), 2); /* num_queues */
	bar_wr(f, 0x00, 4, 1);
	assert_int_equal(bar_rd(f, 0x04, 4), 5); /* VERSION_1, RING_PACKED */
	bar_wr(f, 0x16, 2, 1);
	assert_int_equal(bar_rd(f, 0x18, 2), QSIZE);
	assert_int_equal(bar_rd(f, 0x1e, 2), 1); /* queue_notify_off */
	bar_wr(f, 0x16, 2, 5);
	assert_int_equal(bar_rd(f, 0x18, 2), 0);	    /* no such queue */
	assert_int_equal(bar_rd(f, 0x2000, 4), 0x44332211); /* device configuration */
	/* the PCI configuration access window reads num_queues */
	cfg_wr(f, found[5] + 4, 1, 4);
	cfg_wr(f, found[5] + 8, 4, 0x12);
	cfg_wr(f, found[5] + 12, 4, 2);
	assert_int_equal(cfg_rd(f, found[5] + 16, 4), 2);
}

/* Bring a PCI driver up; with msix, vectors: config 0, queue q -> q+1. */
static void pci_driver_up(struct fixture *f, bool msix, uint16_t q0_vector)
{
	memset(f->ram, 0, 0x8000);
	f->drv.avail_idx[0] = f->drv.avail_idx[1] = 0;
	cfg_wr(f, 0x04, 2, 0x6); /* memory, bus master */
	if (msix) {
		f->msix_cap = 0;
		for (unsigned p = (unsigned)cfg_rd(f, 0x34, 1); p;
		     p = (unsigned)cfg_rd(f, p + 1, 1))
			if (cfg_rd(f, p, 1) == 0x11)
				f->msix_cap = p;
		cfg_wr(f, f->msix_cap + 2, 2, 0x8000);
		for (unsigned v = 0; v < 3; v++) {
			bar_wr(f, 0x4000 + 16 * v, 4, 0xfee00000);
			bar_wr(f, 0x4000 + 16 * v + 4, 4, 0);
			bar_wr(f, 0x4000 + 16 * v + 8, 4, 0x40 + v);
			bar_wr(f, 0x4000 + 16 * v + 12, 4, 0);
		}
	}
	bar_wr(f, 0x14, 1, 0);
	bar_wr(f, 0x14, 1, 3);
	bar_wr(f, 0x08, 4, 1);
	bar_wr(f, 0x0c, 4, 1); /* VERSION_1 */
	bar_wr(f, 0x14, 1, 0xb);
	assert_int_equal(bar_rd(f, 0x14, 1), 0xb);
	bar_wr(f, 0x10, 2, msix ? 0 : VDEV_VIRTIO_NO_VECTOR);
	assert_int_equal(bar_rd(f, 0x10, 2), msix ? 0 : VDEV_VIRTIO_NO_VECTOR);
	bar_wr(f, 0x16, 2, 0);
	bar_wr(f, 0x1a, 2, q0_vector);
	bar_wr(f, 0x20, 8, DESC);
	bar_wr(f, 0x28, 4, AVAIL); /* two halves, as Linux does */
	bar_wr(f, 0x2c, 4, 0);
	bar_wr(f, 0x30, 8, USED);
	bar_wr(f, 0x1c, 2, 1);
	assert_int_equal(bar_rd(f, 0x1c, 2), 1);
	assert_int_equal(bar_rd(f, 0x20, 8), DESC);
	bar_wr(f, 0x14, 1, 0xf);
}

static void pci_one_chain(struct fixture *f)
{
	put_desc(f, DESC, 0, BUF, 4, 2, 0);
	avail_add(f, 0, 0);
	bar_wr(f, 0x3000 + 0 * 4, 2, 0); /* notify queue 0 */
}

static void test_pci_msix(void **state)
{
	struct fixture *f = *state;

	pci_driver_up(f, true, 1);
	vdev_testhost_clear_trace(f->th);
	pci_one_chain(f);
	assert_int_equal(get16(f, USED + 2), 1);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee00000 0x41\n");
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:9"), 0);
	/* config change on vector 0; the ISR config bit is set too */
	vdev_testhost_clear_trace(f->th);
	vdev_virtio_config_changed(&last_dev->vio);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee00000 0x40\n");
	assert_int_equal(bar_rd(f, 0x1000, 1), 2);
	assert_int_equal(bar_rd(f, 0x1000, 1), 0); /* read clears */
	/* a vector beyond the table reads back NO_VECTOR */
	bar_wr(f, 0x16, 2, 0);
	bar_wr(f, 0x1a, 2, 7);
	assert_int_equal(bar_rd(f, 0x1a, 2), VDEV_VIRTIO_NO_VECTOR);
	/* NO_VECTOR: no interrupt at all */
	pci_driver_up(f, true, VDEV_VIRTIO_NO_VECTOR);
	vdev_testhost_clear_trace(f->th);
	pci_one_chain(f);
	assert_int_equal(get16(f, USED + 2), 1);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	/* masked vector: pending, delivered on unmask */
	pci_driver_up(f, true, 1);
	bar_wr(f, 0x4000 + 16 + 12, 4, 1);
	vdev_testhost_clear_trace(f->th);
	pci_one_chain(f);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	assert_true(bar_rd(f, 0x6000, 8) & 2);
	bar_wr(f, 0x4000 + 16 + 12, 4, 0);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee00000 0x41\n");
}

static void test_pci_intx(void **state)
{
	struct fixture *f = *state;

	pci_driver_up(f, false, VDEV_VIRTIO_NO_VECTOR);
	pci_one_chain(f);
	assert_int_equal(get16(f, USED + 2), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:9"), 1);
	assert_int_equal(bar_rd(f, 0x1000, 1), 1); /* queue interrupt; read clears */
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:9"), 0);
	assert_int_equal(bar_rd(f, 0x1000, 1), 0);
	/* INTX_DISABLE holds the line low */
	cfg_wr(f, 0x04, 2, 0x406);
	pci_one_chain(f);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:9"), 0);
	cfg_wr(f, 0x04, 2, 0x006);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:9"), 1);
}

static void test_pci_state(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[VDEV_STATE_HEADER_SIZE(5) + VDEV_VIRTIO_STATE_SIZE];
	ssize_t len;

	pci_driver_up(f, true, 1);
	pci_one_chain(f);
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(cfg_rd(f, f->msix_cap + 2, 2), 2); /* MSI-X off after reset */
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), 0);
	assert_int_equal(cfg_rd(f, f->msix_cap + 2, 2), 0x8002);
	assert_int_equal(bar_rd(f, 0x14, 1), 0xf);
	vdev_testhost_clear_trace(f->th);
	pci_one_chain(f);
	assert_int_equal(get16(f, USED + 2), 2);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee00000 0x41\n");
	/* an MMIO state does not restore into a PCI device */
	struct fixture *m = fixture_new("loc 0xd0000000 intr ioapic:5");
	len = vdev_testhost_save(m->dev, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), -EINVAL);
	vdev_testhost_destroy(m->dev);
	vdev_testhost_free(m->th);
	free(m);
}

static void test_placement_errors(void **state)
{
	struct fixture *f = *state;

	/* an address without intr, an io: window */
	assert_null(vdev_testhost_create(f->th, &vt_desc, "loc 0xd0001000"));
	assert_null(vdev_testhost_create(f->th, &vt_desc, "loc io:0x1000 intr ioapic:6"));
	assert_null(vdev_testhost_create(f->th, &vt_desc, "loc 0xd0000100 intr ioapic:6"));
	struct vdev_testdev *mmio =
	    vdev_testhost_create(f->th, &vt_desc, "loc 0xd0001000 intr ioapic:6");
	struct vdev_testdev *pci =
	    vdev_testhost_create(f->th, &vt_desc, ""); /* PCI, first free slot */

	assert_non_null(mmio);
	assert_non_null(pci);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xd0001000, 4), 0x74726976);
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 1, 0, 0),
					    4, &(uint64_t){0}),
			 0);
	vdev_testhost_destroy(mmio);
	vdev_testhost_destroy(pci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mmio_registers, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_negotiation, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_chain, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_event_idx, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_queue_setup, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_clears, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_worker, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_packed_chain, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_packed_indirect, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_packed_suppression, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_packed_malformed, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_packed_state, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_state, setup_mmio, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_identity_and_caps, setup_pci, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_msix, setup_pci, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_intx, setup_pci, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_state, setup_pci, teardown),
	    cmocka_unit_test_setup_teardown(test_placement_errors, setup_mmio, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
