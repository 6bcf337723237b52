/*
 * tests/conformance/conform-refpci.c: vdev-conform-refpci.so, the
 * reference PCI function (refpci.h) with nothing wrong: vdev-conform must
 * pass (or skip) every check on it. check-broken.sh asserts that.
 */
#include "tests/conformance/refpci.h"

const struct refpci_variant refpci_variant = {0};

static const struct vdev_descriptor conform_refpci = {
    REFPCI_DESCRIPTOR_COMMON,
    .name = "conform-refpci",
    .ops = &refpci_ops,
};

VDEV_PLUGIN_ENTRY(conform_refpci)
