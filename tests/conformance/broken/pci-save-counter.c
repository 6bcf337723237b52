/*
 * vdev-broken-pci-save-counter.so: the PCI reference function counting its
 * saves in the state it saves (a diagnostic counter put in the wrong
 * place), so a restored instance saves different bytes. The state is in
 * the SDK codec, and the finding names the field that differs.
 * Caught by: save-restore-roundtrip (fail).
 */
#include "tests/conformance/refpci.h"

/* The defect: save changes what it saves. */
const struct refpci_variant refpci_variant = {.count_saves = true};

static const struct vdev_descriptor broken = {
    REFPCI_DESCRIPTOR_COMMON,
    .name = "broken-pci-save-counter",
    .ops = &refpci_ops,
};

VDEV_PLUGIN_ENTRY(broken)
