/*
 * vdev-broken-save-counter.so: save writes a counter of saves into the
 * state (covered by the CRC, so the state still restores). Two saves of
 * the same state differ. Caught by: save-restore-roundtrip (fail).
 */
#include "tests/conformance/refdev.h"

static ssize_t broken_save(void *dev, void *buf, size_t cap)
{
	struct ref_dev *d = dev;
	static uint32_t saves;

	d->save_stamp = ++saves; /* the defect */
	return ref_save(dev, buf, cap);
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ref_create,
    .destroy = ref_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = broken_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-save-counter",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
