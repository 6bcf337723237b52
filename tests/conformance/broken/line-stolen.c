/*
 * vdev-broken-line-stolen.so: every instance drives its interrupt through
 * the line handle of the first live instance (a global meant as a cache),
 * but calls line_set with its own host handle. With two instances, the
 * second raises the first one's line. Unlike foreign-handle, the host
 * handle is right and only the line is another instance's.
 * Caught by: interrupts-via-host (fail: the host's line-handle violation).
 */
#include "tests/conformance/refdev.h"

static struct ref_dev *first; /* the defect: shared by all instances */

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	int rc = ref_create(host, h, cfg, dev);

	if (rc == 0) {
		struct ref_dev *d = *dev;

		if (!first)
			first = d;
		d->line = first->line;
	}
	return rc;
}

static void broken_destroy(void *dev)
{
	if (first == dev)
		first = NULL;
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
    .name = "broken-line-stolen",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
