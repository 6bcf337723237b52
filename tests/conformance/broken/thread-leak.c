/*
 * vdev-broken-thread-leak.so: create starts a worker thread (to wait for
 * a backend, say) and destroy frees the instance without stopping or
 * joining it, so every create/destroy cycle leaves one more thread
 * running. This worker touches nothing of the instance, so the leak shows
 * only by counting the process's threads before and after.
 * Caught by: lifecycle-no-leftovers (fail).
 */
#include <pthread.h>
#include <unistd.h>

#include "tests/conformance/refdev.h"

static void *worker(void *arg)
{
	for (;;)
		pause(); /* waits for a stop request nobody sends */
	return NULL;
}

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	pthread_attr_t attr;
	pthread_t thread;
	int rc = ref_create(host, h, cfg, dev);

	if (rc < 0)
		return rc;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/* The defect: nobody keeps the thread to stop it in destroy. */
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_create(&thread, &attr, worker, NULL);
	pthread_attr_destroy(&attr);
	return 0;
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
    .name = "broken-thread-leak",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
