/*
 * vdev-broken-read-wide.so: a 1- or 2-byte read returns the whole 32-bit
 * register (the value is not cut to the access size). The host keeps the
 * low bytes, so the guest sees nothing wrong, but a device that does this
 * also writes beyond a 1-byte buffer in a host that trusts it.
 * Caught by: register-sweep (fail: the host's read-width violation).
 */
#include "tests/conformance/refdev.h"

static int broken_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct ref_dev *d = dev;
	int rc = ref_read(dev, access, value);

	/* The defect: the register, not the bytes asked for. */
	if (rc == 0 && access->size < 4 && access->offset / 4 == REF_ID_REG)
		*value = d->regs[REF_ID_REG] >> (8 * (access->offset % 4));
	return rc;
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ref_create,
    .destroy = ref_destroy,
    .read = broken_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-read-wide",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
