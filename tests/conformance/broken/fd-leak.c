/*
 * vdev-broken-fd-leak.so: create opens an eventfd and watches it; destroy
 * stops watching but never closes it, so the open descriptor count grows.
 * Caught by: lifecycle-no-leftovers (fail).
 */
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/conformance/refdev.h"

struct leaky {
	int fd;
	struct vdev_watch *watch;
};

static void on_event(void *dev, void *arg, int fd, uint32_t events)
{
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0)
		return;
}

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	struct leaky *l = calloc(1, sizeof(*l));
	struct ref_dev *d;
	int rc;

	if (!l)
		return -ENOMEM;
	rc = ref_create(host, h, cfg, dev);
	if (rc < 0) {
		free(l);
		return rc;
	}
	d = *dev;
	d->variant = l;
	l->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->fd >= 0 && host->fd_watch(h, l->fd, VDEV_FD_IN, on_event, NULL, &l->watch) < 0)
		l->watch = NULL;
	return 0;
}

static void broken_destroy(void *dev)
{
	struct ref_dev *d = dev;
	struct leaky *l = d->variant;

	if (l->watch)
		d->host->fd_unwatch(d->h, l->watch);
	/* The defect: close(l->fd) is missing. */
	free(l);
	ref_destroy(dev);
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = broken_create,
    .destroy = broken_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-fd-leak",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
