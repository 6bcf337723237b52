/*
 * vdev-broken-mem-leak.so: every create allocates a buffer that destroy
 * never frees. Caught by: lifecycle-repeat (fail), when vdev-conform is
 * built with ASan (build/san); in a plain build nothing can see it and
 * every check passes.
 */
#include <stdlib.h>

#include "tests/conformance/refdev.h"

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	int rc = ref_create(host, h, cfg, dev);

	if (rc == 0)
		((struct ref_dev *)*dev)->variant = malloc(256);
	return rc;
}

/* The defect: ref_destroy frees the instance, not variant. */

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = broken_create,
    .destroy = ref_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-mem-leak",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
