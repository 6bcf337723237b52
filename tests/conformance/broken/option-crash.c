/*
 * vdev-broken-option-crash.so: an option used as a divisor with no RANGE
 * in its schema, so "ticks 0" passes the host's validation and create
 * divides by zero. The default (4) is fine.
 * Caught by: options-reject-bad (crashed), which tries 0 among the extreme
 * values of every number.
 */
#include "tests/conformance/refdev.h"

static const char *const modes[] = {"normal", "fast", NULL};

/* The reference options (same order: create() indexes them), plus one. */
static const struct vdev_option_spec options[] = {
    {.name = "data-init", .type = VDEV_OPT_UINT, .default_value = "0", .help = "DATA"},
    {.name = "mode",
     .type = VDEV_OPT_ENUM,
     .default_value = "normal",
     .help = "speed",
     .choices = modes},
    {.name = "quiet",
     .type = VDEV_OPT_BOOL,
     .flags = VDEV_OPTF_NOARG,
     .default_value = "off",
     .help = "log nothing"},
    {.name = "label", .type = VDEV_OPT_STRING, .default_value = "ref", .help = "a name"},
    {.name = "depth",
     .type = VDEV_OPT_UINT,
     .flags = VDEV_OPTF_RANGE,
     .default_value = "16",
     .help = "a bounded number",
     .min = 1,
     .max = 64},
    {.name = "ticks",
     .type = VDEV_OPT_UINT,
     .default_value = "4",
     .help = "timer ticks per period"}, /* the defect: no VDEV_OPTF_RANGE, min 1 */
};

static int broken_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	volatile uint64_t ticks = cfg->options[REF_OPT_COUNT].v.u;
	int rc = ref_create(host, h, cfg, dev);

	if (rc == 0)
		((struct ref_dev *)*dev)->variant = (void *)(uintptr_t)(1000 / ticks);
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
    VDEV_DESCRIPTOR_INIT, REF_DESCRIPTOR_BODY, .name = "broken-option-crash",
    .flags = REF_FLAGS,	  .options = options,  .option_count = sizeof(options) / sizeof(options[0]),
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(broken)
