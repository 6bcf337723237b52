/*
 * vdev-broken-uninit-read.so: a read of COUNT consults an "overflow
 * pending" flag the device allocates with malloc and never initialises.
 * The flag only matters when COUNT is about to wrap, which never happens
 * here, so every value read is right and nothing crashes: only memcheck's
 * definedness tracking sees the read of uninitialised memory.
 * Caught by: uninitialised-reads (fail), which runs with --valgrind (as
 * check-broken.sh gives it) where valgrind is installed.
 */
#include <errno.h>
#include <stdlib.h>

#include "tests/conformance/refdev.h"

struct overflow {
	int pending; /* the defect: never initialised */
};

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	struct overflow *o = malloc(sizeof(*o));
	int rc;

	if (!o)
		return -ENOMEM;
	rc = ref_create(host, h, cfg, dev);
	if (rc < 0) {
		free(o);
		return rc;
	}
	((struct ref_dev *)*dev)->variant = o;
	return 0;
}

static void broken_destroy(void *dev)
{
	free(((struct ref_dev *)dev)->variant);
	ref_destroy(dev);
}

static int broken_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct ref_dev *d = dev;
	struct overflow *o = d->variant;
	int rc = ref_read(dev, access, value);

	if (access->offset / 4 == REF_COUNT && o->pending && d->regs[REF_COUNT] == UINT32_MAX)
		*value = 0;
	return rc;
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = broken_create,
    .destroy = broken_destroy,
    .read = broken_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-uninit-read",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
