/*
 * vdev-broken-thread-log.so: create starts a worker thread that logs
 * through the host while the instance is alive but outside any callback
 * on that thread (create waits for it, so the call is certain). Caught by:
 * threads-contract (fail). It is not an interrupt service and the handle
 * is live, so no other check judges it.
 */
#include <pthread.h>

#include "tests/conformance/refdev.h"

static void *log_from_thread(void *arg)
{
	struct ref_dev *d = arg;

	/* The defect: host services belong to callbacks, on their thread. */
	d->host->log(d->h, VDEV_LOG_INFO, "hello from a thread of my own");
	return NULL;
}

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	pthread_t thread;
	int rc = ref_create(host, h, cfg, dev);

	if (rc == 0 && pthread_create(&thread, NULL, log_from_thread, *dev) == 0)
		pthread_join(thread, NULL);
	return rc;
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = broken_create,
    .destroy = ref_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-thread-log",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
