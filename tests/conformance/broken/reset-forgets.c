/*
 * vdev-broken-reset-forgets.so: a reset that forgets one register (the
 * first SCRATCH word, offset 0x18, keeps its value). Caught by:
 * reset-power-on (fail).
 */
#include "tests/conformance/refdev.h"

static void broken_reset(void *dev)
{
	struct ref_dev *d = dev;
	uint32_t kept = d->regs[REF_SCRATCH];

	ref_reset(dev);
	d->regs[REF_SCRATCH] = kept; /* the defect */
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ref_create,
    .destroy = ref_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = broken_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-reset-forgets",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
