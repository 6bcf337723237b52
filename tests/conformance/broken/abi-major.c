/*
 * vdev-broken-abi-major.so: a descriptor claiming ABI major 99.
 * Caught by: abi-version (fail). The loader refuses it, so the checks that
 * need a loaded plugin skip.
 */
#include "tests/conformance/refdev.h"

static const struct vdev_descriptor broken = {
    .abi_major = 99, /* the defect */
    .abi_minor = VDEV_ABI_MINOR,
    .struct_size = sizeof(struct vdev_descriptor),
    REF_DESCRIPTOR_BODY,
    REF_DESCRIPTOR_OPTIONS,
    .name = "broken-abi-major",
    .flags = REF_FLAGS,
    .ops = &ref_ops,
};

VDEV_PLUGIN_ENTRY(broken)
