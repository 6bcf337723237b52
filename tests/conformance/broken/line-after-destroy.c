/*
 * vdev-broken-line-after-destroy.so: a thread of the plugin's own drives
 * the line of an instance that was already destroyed. The plugin keeps
 * the last destroyed instance's host handle and line in a static; the next
 * create() hands them to a worker thread, which calls line_set with them
 * (create waits for it, so the call is certain and nothing outlives the
 * plugin). Caught by: no-interrupt-after-destroy (fail). The call carries a
 * destroyed handle, which only that check judges.
 */
#include <pthread.h>

#include "tests/conformance/refdev.h"

static struct {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *line;
	int valid;
} stale;

static void *late_line_set(void *arg)
{
	/* The defect: the handle belongs to a destroyed instance. */
	stale.host->line_set(stale.h, stale.line, 1);
	return NULL;
}

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	pthread_t thread;

	if (stale.valid && pthread_create(&thread, NULL, late_line_set, NULL) == 0)
		pthread_join(thread, NULL);
	stale.valid = 0;
	return ref_create(host, h, cfg, dev);
}

static void broken_destroy(void *dev)
{
	struct ref_dev *d = dev;

	stale.host = d->host;
	stale.h = d->h;
	stale.line = d->line;
	stale.valid = 1;
	ref_destroy(dev);
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = broken_create,
    .destroy = broken_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-line-after-destroy",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
