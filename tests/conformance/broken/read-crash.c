/*
 * vdev-broken-read-crash.so: a read that crashes at one offset: a 4-byte
 * read at offset 0x13, which straddles two registers and is not aligned.
 * Caught by: register-sweep (crashed), the only check that makes unaligned
 * accesses; the others access registers at aligned offsets.
 */
#include <stddef.h>

#include "tests/conformance/refdev.h"

/* The defect: a fast path for straddling reads through a table with a hole. */
static const uint32_t *const straddle_table[REF_REGION_LEN] = {NULL};

static int broken_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	if (access->size == 4 && access->offset == 0x13) {
		*value = *straddle_table[access->offset]; /* NULL: SIGSEGV */
		return 0;
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
    .name = "broken-read-crash",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
