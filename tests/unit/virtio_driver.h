/*
 * tests/unit/virtio_driver.h: a minimal virtio driver for tests, on the
 * SDK test host: the driver side of virtio-mmio (4.2.3 initialisation,
 * queue setup) and of split rings in test RAM (descriptors, available
 * ring; the used ring read back). Shared by tests/unit/test_virtio.c and
 * the virtio devices' tests (vdevs/virtio-NAME/tests); include it after
 * cmocka.h and vdev/testhost.h.
 */
#ifndef TESTS_VIRTIO_DRIVER_H
#define TESTS_VIRTIO_DRIVER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/testhost.h>
#include <vdev/virtio.h>

struct vdrv {
	struct vdev_testhost *th;
	uint8_t *ram;	       /* test RAM from guest-physical 0 */
	uint64_t base;	       /* the virtio-mmio window */
	uint16_t qsize;	       /* every queue's size */
	uint16_t avail_idx[4]; /* the driver's available index per queue */
};

static inline uint32_t vdrv_r32(struct vdrv *d, uint64_t off)
{
	return (uint32_t)vdev_testhost_mmio_read(d->th, d->base + off, 4);
}

static inline void vdrv_w32(struct vdrv *d, uint64_t off, uint32_t v)
{
	assert_int_equal(vdev_testhost_write(d->th, VDEV_SPACE_MMIO, d->base + off, 4, v), 0);
}

static inline void vdrv_put16(struct vdrv *d, uint64_t gpa, uint16_t v)
{
	memcpy(d->ram + gpa, &v, 2);
}

static inline uint16_t vdrv_get16(struct vdrv *d, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, d->ram + gpa, 2);
	return v;
}

static inline uint32_t vdrv_get32(struct vdrv *d, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, d->ram + gpa, 4);
	return v;
}

/* Descriptor i of the table at `table`. */
static inline void vdrv_put_desc(struct vdrv *d, uint64_t table, unsigned i, uint64_t addr,
				 uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = d->ram + table + 16 * i;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/* Make chain `head` available on queue q whose available ring is at `avail`. */
static inline void vdrv_avail_add(struct vdrv *d, unsigned q, uint64_t avail, uint16_t head)
{
	vdrv_put16(d, avail + 4 + 2 * (d->avail_idx[q] % d->qsize), head);
	d->avail_idx[q]++;
	vdrv_put16(d, avail + 2, d->avail_idx[q]);
}

/* 4.2.3.2: one queue, size qsize, rings at desc/avail/used; ready. */
static inline void vdrv_queue_setup(struct vdrv *d, unsigned q, uint64_t desc, uint64_t avail,
				    uint64_t used)
{
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(vdrv_r32(d, VDEV_VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(vdrv_r32(d, VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX) >= d->qsize);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_NUM, d->qsize);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_DESC, (uint32_t)desc);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_DESC + 4, (uint32_t)(desc >> 32));
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_DRIVER, (uint32_t)avail);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_DRIVER + 4, (uint32_t)(avail >> 32));
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_DEVICE, (uint32_t)used);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_DEVICE + 4, (uint32_t)(used >> 32));
	vdrv_w32(d, VDEV_VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(vdrv_r32(d, VDEV_VIRTIO_MMIO_QUEUE_READY), 1);
	d->avail_idx[q] = 0;
}

/* 3.1.1 up to FEATURES_OK: returns the status read back after it. */
static inline uint32_t vdrv_negotiate(struct vdrv *d, uint64_t features)
{
	vdrv_w32(d, VDEV_VIRTIO_MMIO_STATUS, 0);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_STATUS, VDEV_VIRTIO_S_ACKNOWLEDGE);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_STATUS, VDEV_VIRTIO_S_ACKNOWLEDGE | VDEV_VIRTIO_S_DRIVER);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_DRV_FEAT_SEL, 0);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_DRV_FEATURES, (uint32_t)features);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_DRV_FEAT_SEL, 1);
	vdrv_w32(d, VDEV_VIRTIO_MMIO_DRV_FEATURES, (uint32_t)(features >> 32));
	vdrv_w32(d, VDEV_VIRTIO_MMIO_STATUS,
		 VDEV_VIRTIO_S_ACKNOWLEDGE | VDEV_VIRTIO_S_DRIVER | VDEV_VIRTIO_S_FEATURES_OK);
	return vdrv_r32(d, VDEV_VIRTIO_MMIO_STATUS);
}

/*
 * A test host with `ram` bytes of RAM at 0 and a 24-line controller
 * "ioapic", with plugin vdev-NAME.so loaded from $PLUGIN_DIR when set
 * (tests/run-tests), else from `path` (the build's).
 */
static inline struct vdev_testhost *vdrv_host_new(const char *name, const char *path, uint64_t ram,
						  const struct vdev_descriptor **desc)
{
	struct vdev_testhost *th = vdev_testhost_new();
	const char *dir = getenv("PLUGIN_DIR");
	char file[4096];

	assert_non_null(th);
	if (dir)
		snprintf(file, sizeof(file), "%s/vdev-%s.so", dir, name);
	else
		snprintf(file, sizeof(file), "%s", path);
	assert_int_equal(vdev_testhost_add_ram(th, 0, (size_t)ram), 0);
	assert_int_equal(vdev_testhost_add_intc(th, "ioapic", 24), 0);
	if (vdev_testhost_load(th, file, desc) < 0)
		fail_msg("load %s: %s", file, vdev_testhost_error(th));
	return th;
}

/* Destroy the device, check it left nothing registered, free the host. */
static inline void vdrv_destroy_host(struct vdev_testhost *th, struct vdev_testdev *dev)
{
	struct vdev_testhost_usage u;

	vdev_testhost_destroy(dev);
	vdev_testhost_usage(th, &u);
	assert_int_equal(u.regions + u.lines + u.timers + u.watches + u.maps, 0);
	vdev_testhost_free(th);
}

#endif
