/*
 * vdev-broken-reset-beyond-note.so: the first SCRATCH word is battery-
 * backed, and the descriptor says so (a VDEV_REG_PRESERVED note), but the
 * reset keeps the second SCRATCH word too, which no note covers. A note
 * leaves out exactly the registers it names.
 * Caught by: reset-power-on (fail).
 */
#include "tests/conformance/refdev.h"

static void broken_reset(void *dev)
{
	struct ref_dev *d = dev;
	uint32_t kept = d->regs[REF_SCRATCH], also = d->regs[REF_SCRATCH + 1];

	ref_reset(dev);
	d->regs[REF_SCRATCH] = kept;	 /* noted: fine */
	d->regs[REF_SCRATCH + 1] = also; /* the defect */
}

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ref_create,
    .destroy = ref_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = broken_reset,
    .save = ref_save,
    .restore = ref_restore,
};

static const struct vdev_register_note notes[] = {
    {.region = 0,
     .offset = 4 * REF_SCRATCH,
     .length = 4,
     .kind = VDEV_REG_PRESERVED,
     .why = "battery-backed"},
};

static const struct vdev_descriptor broken = {
    REF_DESCRIPTOR_COMMON,   .name = "broken-reset-beyond-note", .flags = REF_FLAGS, .ops = &ops,
    .register_notes = notes, .register_note_count = 1,
};

VDEV_PLUGIN_ENTRY(broken)
