/*
 * vdev-broken-undefined-symbol.so: calls a function no library defines
 * (linked without -z defs, as a careless build would). dlopen with
 * RTLD_NOW refuses it. Caught by: load-rtld-now (fail); the checks that
 * need a loaded plugin skip.
 */
#include "tests/conformance/refdev.h"

/* The defect: declared, used, defined nowhere. */
int vdev_fixture_nowhere(void);

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	if (vdev_fixture_nowhere() < 0)
		return -EINVAL;
	return ref_create(host, h, cfg, dev);
}

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
    .name = "broken-undefined-symbol",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
