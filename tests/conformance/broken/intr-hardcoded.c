/*
 * vdev-broken-intr-hardcoded.so: create looks up the line it was given in
 * `intr` and, besides it, a fixed "conform:9" (the line its author's board
 * used), and raises its interrupt on both. Whatever device owns that line
 * in another configuration sees interrupts it never caused.
 * Caught by: interrupts-via-host (fail: the host's line-unconfigured violation).
 */
#include "tests/conformance/refdev.h"

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	int rc = ref_create(host, h, cfg, dev);
	struct vdev_line *fixed;

	if (rc < 0)
		return rc;
	/* The defect: a line name written into the code. */
	if (host->intr_lookup(h, "conform:9", &fixed) == 0)
		host->line_pulse(h, fixed);
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
    .name = "broken-intr-hardcoded",
    .flags = REF_FLAGS,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
