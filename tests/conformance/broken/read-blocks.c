/*
 * vdev-broken-read-blocks.so: the first register read in a process waits
 * 1.1 s for a backend to answer (a blocking call where a timer or a thread
 * of its own belongs). Every other access is fast, so an average
 * (time-budget) hides it and every check stays inside its timeout.
 * Caught by: callback-latency (fail).
 */
#include <time.h>

#include "tests/conformance/refdev.h"

static int connected;

static int broken_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	if (!connected) {
		struct timespec ts = {.tv_sec = 1, .tv_nsec = 100000000L};

		nanosleep(&ts, NULL); /* the defect */
		connected = 1;
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
    .name = "broken-read-blocks",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
