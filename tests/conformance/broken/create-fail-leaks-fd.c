/*
 * vdev-broken-create-fail-leaks-fd.so: create opens an eventfd first and,
 * when a later step fails (the host cannot make its timer), returns the
 * error without closing it. Destroy closes it, so only creates that fail
 * leak, and only a host that makes them fail shows it.
 * Caught by: service-faults (fail).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/conformance/refdev.h"

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int *keep = malloc(sizeof(*keep));
	int rc;

	if (fd < 0 || !keep) {
		if (fd >= 0)
			close(fd);
		free(keep);
		return -ENOMEM;
	}
	rc = ref_create(host, h, cfg, dev);
	if (rc < 0) {
		free(keep);
		return rc; /* the defect: fd stays open */
	}
	*keep = fd;
	((struct ref_dev *)*dev)->variant = keep;
	return 0;
}

static void broken_destroy(void *dev)
{
	int *keep = ((struct ref_dev *)dev)->variant;

	close(*keep);
	free(keep);
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
    .name = "broken-create-fail-leaks-fd",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
