/*
 * vdev-broken-pci-dma-read-unchecked.so: the PCI reference function
 * ignoring the result of its DMA read and writing the buffer out anyway
 * (stale or uninitialised bytes land in guest memory when the source is not
 * RAM or the host cannot serve the read).
 * Caught by: dma-faults (fail: the host sees the poison of a failed read).
 */
#include <errno.h>
#include <string.h>

#include "tests/conformance/refpci.h"

static int broken_copy(struct refpci *d)
{
	uint8_t buf[REFPCI_DMA_MAX];
	uint32_t len = d->regs[RP_LEN];

	if (!len || len > REFPCI_DMA_MAX)
		return -EINVAL;
	/* The defect: what mem_read returned is not looked at, so a failed
	 * read copies whatever the buffer held to the destination. */
	vdev_pci_dma_read(&d->pci, d->regs[RP_SRC], buf, len);
	return vdev_pci_dma_write(&d->pci, d->regs[RP_DST], buf, len);
}

const struct refpci_variant refpci_variant = {.copy = broken_copy};

static const struct vdev_descriptor broken = {
    REFPCI_DESCRIPTOR_COMMON,
    .name = "broken-pci-dma-read-unchecked",
    .ops = &refpci_ops,
};

VDEV_PLUGIN_ENTRY(broken)
