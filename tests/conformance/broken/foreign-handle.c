/*
 * vdev-broken-foreign-handle.so: every instance drives its interrupt
 * through the first live instance's handle and line (a global meant as a
 * cache). With one instance nothing shows; with two, the second one's
 * callbacks call line_set with the first one's handle. Caught by:
 * interrupts-via-host (fail).
 */
#include "tests/conformance/refdev.h"

static struct ref_dev *first; /* the defect: shared by all instances */

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	int rc = ref_create(host, h, cfg, dev);

	if (rc == 0) {
		if (!first)
			first = *dev;
		((struct ref_dev *)*dev)->line_via = first;
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
    .name = "broken-foreign-handle",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
