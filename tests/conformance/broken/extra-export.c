/*
 * vdev-broken-extra-export.so: the reference device plus one more exported
 * symbol. Caught by: exports-one-symbol (fail). Every other check passes.
 */
#include "tests/conformance/refdev.h"

/* The defect: default visibility on a helper, so it lands in .dynsym. */
__attribute__((visibility("default"))) int broken_helper_version(void);
__attribute__((visibility("default"))) int broken_helper_version(void)
{
	return 1;
}

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,
    .name = "broken-extra-export",
    .flags = REF_FLAGS,
    .ops = &ref_ops,
};

VDEV_PLUGIN_ENTRY(broken)
