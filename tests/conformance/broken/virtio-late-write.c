/*
 * vdev-broken-virtio-late-write.so: a virtio device (on the SDK's virtio
 * helper) that finishes each request from a timer, writing the buffer
 * with host->mem_write, and forgets to cancel that timer when the device
 * is reset: work in flight lands in guest memory after the driver reset
 * the device, which VIRTIO 1.2 section 2.4 forbids. Everything else is
 * right, so only the virtio check with live queues sees it.
 * Caught by: virtio-reset-live (fail).
 */
#include <stdlib.h>
#include <string.h>

#include <vdev/virtio.h>

struct late {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_virtio vio;
	struct vdev_virtio_chain chain;
	struct vdev_timer *timer;
	uint64_t gpa; /* the buffer to finish, 0 = none */
	uint32_t len;
};

static void late_fire(void *dev, void *arg)
{
	struct late *l = dev;
	static const uint8_t bytes[64] = {0x5a};

	(void)arg;
	/* the defect: a raw write, after whatever reset happened meanwhile */
	if (l->gpa)
		l->host->mem_write(l->h, l->gpa, bytes, l->len < 64 ? l->len : 64);
	l->gpa = 0;
}

static void late_notify(void *dev, unsigned queue)
{
	struct late *l = dev;

	while (vdev_virtio_queue_pop(&l->vio, queue, &l->chain) > 0) {
		if (l->chain.count > l->chain.readable && !l->gpa) {
			l->gpa = l->chain.seg[l->chain.readable].gpa;
			l->len = l->chain.seg[l->chain.readable].len;
			l->host->timer_arm(l->h, l->timer, 15000000, 0);
		}
	}
}

static const struct vdev_virtio_ops late_virtio_ops = {
    .queue_notify = late_notify,
};

static int late_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		       void **dev)
{
	struct late *l = calloc(1, sizeof(*l));
	struct vdev_virtio_info info = {
	    .device_id = VDEV_VIRTIO_ID_ENTROPY,
	    .queue_count = 1,
	    .queue_size = 64,
	    .pci_class = 0xff0000,
	    .ops = &late_virtio_ops,
	};
	int rc;

	if (!l)
		return -ENOMEM;
	l->host = host;
	l->h = h;
	info.dev = l;
	rc = vdev_virtio_init(&l->vio, host, h, cfg, &info);
	rc = rc ?: host->timer_create(h, late_fire, NULL, &l->timer);
	if (rc) {
		free(l);
		return rc;
	}
	*dev = l;
	return 0;
}

static void late_destroy(void *dev)
{
	struct late *l = dev;

	vdev_virtio_destroy(&l->vio);
	free(l);
}

static int late_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	return vdev_virtio_read(&((struct late *)dev)->vio, a, value);
}

static int late_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	return vdev_virtio_write(&((struct late *)dev)->vio, a, value);
}

static void late_reset(void *dev)
{
	/* the timer should be cancelled and gpa dropped here */
	vdev_virtio_reset(&((struct late *)dev)->vio);
}

static ssize_t late_save(void *dev, void *buf, size_t cap)
{
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, "broken-virtio-late-write", 1);
	vdev_virtio_state(&st, &((struct late *)dev)->vio);
	return vdev_state_save_end(&st);
}

static int late_restore(void *dev, const void *buf, size_t length)
{
	struct late *l = dev;
	struct vdev_state st;

	vdev_state_restore_begin(&st, buf, length, "broken-virtio-late-write", 1);
	vdev_virtio_state(&st, &l->vio);
	if (vdev_state_restore_end(&st))
		return -EINVAL;
	vdev_virtio_restored(&l->vio);
	return 0;
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = late_create,
    .destroy = late_destroy,
    .read = late_read,
    .write = late_write,
    .reset = late_reset,
    .save = late_save,
    .restore = late_restore,
};

static const struct vdev_descriptor broken = {
    VDEV_DESCRIPTOR_INIT,
    .name = "broken-virtio-late-write",
    .version = "1.0.0",
    .description = "virtio device whose in-flight work lands after a reset",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size = VDEV_STATE_HEADER_SIZE(24) + VDEV_VIRTIO_STATE_SIZE,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
