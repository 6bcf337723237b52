/*
 * tests/conformance/conform-ref.c: vdev-conform-ref.so, the reference
 * device (refdev.h) with nothing wrong: vdev-conform must pass (or skip)
 * every check on it. check-broken.sh asserts that.
 */
#include "tests/conformance/refdev.h"

static const struct vdev_descriptor conform_ref = {
    REF_DESCRIPTOR_COMMON,
    .name = "conform-ref",
    .flags = REF_FLAGS,
    .ops = &ref_ops,
};

VDEV_PLUGIN_ENTRY(conform_ref)
