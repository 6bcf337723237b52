/*
 * vdev-broken-bad-register-note.so: a register note (ABI 1.3) with no kind
 * and an empty range: the loader refuses the descriptor.
 * Caught by: descriptor-valid (fail).
 */
#include "tests/conformance/refdev.h"

static const struct vdev_register_note notes[] = {
    {.region = 0, .offset = 0x18, .length = 0}, /* the defect */
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,   .name = "broken-bad-register-note",
    .flags = REF_FLAGS,	     .ops = &ref_ops,
    .register_notes = notes, .register_note_count = 1,
};

VDEV_PLUGIN_ENTRY(broken)
