/*
 * vdev-broken-slow-create.so: the first create after loading takes 500 ms
 * (a lazy one-time initialisation done in create instead of at build
 * time). Caught by: time-budget (warn). Only the first create is slow, so
 * the other checks stay well inside their timeouts.
 */
#include <time.h>

#include "tests/conformance/refdev.h"

static int initialised;

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	if (!initialised) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 500000000L};

		nanosleep(&ts, NULL); /* the defect */
		initialised = 1;
	}
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
    .name = "broken-slow-create",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
