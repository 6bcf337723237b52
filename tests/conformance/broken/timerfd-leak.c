/*
 * vdev-broken-timerfd-leak.so: the device keeps a periodic timer of its
 * own (a timerfd, watched through the host) and destroy unwatches it but
 * never closes it, so the kernel timer stays armed after the instance is
 * gone. Nothing calls the host afterwards; the open descriptor count
 * shows it.
 * Caught by: lifecycle-no-leftovers (fail).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "tests/conformance/refdev.h"

struct ticking {
	struct ref_dev *d;
	int fd;
	struct vdev_watch *watch;
};

static void on_tick(void *dev, void *arg, int fd, uint32_t events)
{
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0)
		return;
}

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	struct itimerspec every = {.it_interval = {.tv_sec = 1}, .it_value = {.tv_sec = 1}};
	struct ticking *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	rc = ref_create(host, h, cfg, dev);
	if (rc < 0) {
		free(t);
		return rc;
	}
	t->d = *dev;
	t->d->variant = t;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd >= 0) {
		timerfd_settime(t->fd, 0, &every, NULL);
		host->fd_watch(h, t->fd, VDEV_FD_IN, on_tick, NULL, &t->watch);
	}
	return 0;
}

static void broken_destroy(void *dev)
{
	struct ref_dev *d = dev;
	struct ticking *t = d->variant;

	if (t->watch)
		d->host->fd_unwatch(d->h, t->watch);
	/* The defect: the timerfd is never closed. */
	free(t);
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
    .name = "broken-timerfd-leak",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
