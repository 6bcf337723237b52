/*
 * vdev-destroy-hang.so: a device whose destroy never returns (it waits
 * for a condition nobody signals). Only for tests/teardown/guard.sh: vdm's
 * teardown guard must end the process with a message naming this vdev.
 */
#include <unistd.h>

#include "tests/conformance/refdev.h"

static void hang_destroy(void *dev)
{
	for (;;)
		pause(); /* the defect: a teardown that blocks forever */
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ref_create,
    .destroy = hang_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor hang = {
    REF_DESCRIPTOR_COMMON,
    .name = "destroy-hang",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(hang)
