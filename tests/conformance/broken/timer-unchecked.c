/*
 * vdev-broken-timer-unchecked.so: create does not look at what
 * timer_create returned, and goes on with no timer: the first write that
 * starts the timer arms a handle the host never gave. A host always able to
 * make timers never shows it.
 * Caught by: service-faults (fail: the host's timer-handle violation).
 */
#include <errno.h>
#include <stdlib.h>

#include "tests/conformance/refdev.h"

static void tick(void *dev, void *arg)
{
	struct ref_dev *d = dev;

	d->regs[REF_COUNT]++;
	d->regs[REF_EVENTS] |= 1;
	ref_update_line(d);
}

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	struct ref_dev *d;
	int rc;

	if (cfg->loc_count < 1 || cfg->locs[0].kind != VDEV_LOC_ADDR || cfg->intr_count < 1)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	rc = host->intr_lookup(h, cfg->intrs[0], &d->line);
	if (rc == 0) {
		host->timer_create(h, tick, NULL, &d->timer); /* the defect: unchecked */
		rc = host->region_add(h, cfg->locs[0].space, cfg->locs[0].base, REF_REGION_LEN, 0);
	}
	if (rc < 0) {
		free(d);
		return rc;
	}
	ref_reset(d);
	*dev = d;
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
    .name = "broken-timer-unchecked",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
