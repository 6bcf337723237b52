/*
 * vdev-broken-pci-restore-trusts-index.so: the PCI reference function
 * whose restore takes the FIFO position from the state without checking it
 * against the FIFO's size. The state's framing and CRC are checked, so
 * garbage and bit flips are refused; a well-formed state with a position
 * of 0x80000000 makes the next FIFO read index far outside the array.
 * Caught by: restore-validates-fields (crashed).
 */
#include "tests/conformance/refpci.h"

/* The defect: no range check of fifo_pos in restore. */
const struct refpci_variant refpci_variant = {.trust_fifo_pos = true};

static const struct vdev_descriptor broken = {
    REFPCI_DESCRIPTOR_COMMON,
    .name = "broken-pci-restore-trusts-index",
    .ops = &refpci_ops,
};

VDEV_PLUGIN_ENTRY(broken)
