/*
 * vdev-broken-read-hang.so: a read that never returns: a 2-byte read at
 * offset 0x21 (not aligned) spins forever waiting for a bit nobody sets.
 * Caught by: register-sweep (crashed: the per-check timeout), the only
 * check that makes unaligned accesses. check-broken.sh runs it with
 * --timeout 2.
 */
#include "tests/conformance/refdev.h"

static int broken_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct ref_dev *d = dev;

	if (access->size == 2 && access->offset == 0x21) {
		/* The defect: a busy-wait inside a callback. */
		while (!(*(volatile uint32_t *)&d->regs[REF_ID_REG] & 0x80000000u))
			;
	}
	return ref_read(dev, access, value);
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
    .name = "broken-read-hang",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
