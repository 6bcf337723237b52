/*
 * vdev-broken-restore-trusts-index.so: the reference device keeping a read
 * pointer into its registers (the state's third word, where the reference
 * keeps a stamp) that only a restore sets. Restore checks the framing, the
 * version and the CRC, but takes the pointer as it comes, and a read of
 * COUNT then indexes the registers with it. Garbage and bit flips are
 * refused (the CRC); a well-formed state with a pointer of 0xffffffff is
 * not.
 * Caught by: restore-validates-fields (crashed).
 */
#include <errno.h>

#include "tests/conformance/refdev.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int broken_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct ref_dev *d = dev;

	if (access->size == 4 && access->offset == 4 * REF_COUNT) {
		*value = d->regs[REF_COUNT + d->save_stamp];
		return 0;
	}
	return ref_read(dev, access, value);
}

static int broken_restore(void *dev, const void *buf, size_t length)
{
	struct ref_dev *d = dev;
	int rc = ref_restore(dev, buf, length);

	/* The defect: no check that the pointer stays inside the registers. */
	if (rc == 0)
		d->save_stamp = get32((const uint8_t *)buf + 8);
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
    .restore = broken_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-restore-trusts-index",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
