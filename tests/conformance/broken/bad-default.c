/*
 * vdev-broken-bad-default.so: an option whose default does not parse as
 * its type ("12Q" for a size). Caught by: options-defaults (fail). The
 * loader refuses it, so the checks that need a loaded plugin skip.
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
    {.name = "buffer",
     .type = VDEV_OPT_SIZE,
     .default_value = "12Q", /* the defect */
     .help = "buffer size"},
};

static const struct vdev_descriptor broken = {
    VDEV_DESCRIPTOR_INIT, REF_DESCRIPTOR_BODY, .name = "broken-bad-default",
    .flags = REF_FLAGS,	  .options = options,  .option_count = sizeof(options) / sizeof(options[0]),
    .ops = &ref_ops,
};

VDEV_PLUGIN_ENTRY(broken)
