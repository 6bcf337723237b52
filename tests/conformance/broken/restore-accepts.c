/*
 * vdev-broken-restore-accepts.so: a restore that accepts anything: no
 * length, magic or CRC check; it loads what it can and returns 0. A valid
 * state still round-trips. Caught by: restore-rejects-garbage (fail).
 */
#include <string.h>

#include "tests/conformance/refdev.h"

static int broken_restore(void *dev, const void *buf, size_t length)
{
	struct ref_dev *d = dev;
	const uint8_t *p = buf;

	/* The defect: whatever arrives is taken as state. */
	for (unsigned i = 0; i < REF_REGS && 12 + 4 * i + 4 <= length; i++)
		d->regs[i] = (uint32_t)p[12 + 4 * i] | (uint32_t)p[13 + 4 * i] << 8 |
			     (uint32_t)p[14 + 4 * i] << 16 | (uint32_t)p[15 + 4 * i] << 24;
	d->regs[REF_ID_REG] = REF_ID;
	ref_update_line(d);
	return 0;
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ref_create,
    .destroy = ref_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = broken_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-restore-accepts",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
