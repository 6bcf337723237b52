/*
 * vdev-broken-flag-bit.so: a descriptor with a flag bit no ABI defines.
 * Caught by: descriptor-valid (fail). The loader refuses it, so the checks
 * that need a loaded plugin skip.
 */
#include "tests/conformance/refdev.h"

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-flag-bit",
    .flags = REF_FLAGS | (1u << 20), /* the defect */
    .ops = &ref_ops,
};

VDEV_PLUGIN_ENTRY(broken)
