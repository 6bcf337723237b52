/*
 * vdev-broken-pci-dma-no-master.so: the PCI reference function doing its
 * DMA with mem_read/mem_write directly, also while COMMAND.MASTER is clear
 * (a driver that stopped the device before freeing its buffers gets them
 * overwritten). Every error is checked.
 * Caught by: pci-command (fail).
 */
#include <errno.h>
#include <string.h>

#include "tests/conformance/refpci.h"

static int broken_copy(struct refpci *d)
{
	uint8_t buf[REFPCI_DMA_MAX];
	uint32_t len = d->regs[RP_LEN];
	int rc;

	if (!len || len > REFPCI_DMA_MAX)
		return -EINVAL;
	/* The defect: guest memory reached whether or not the driver made
	 * the function a bus master (no vdev_pci_dma_read). */
	rc = d->host->mem_read(d->h, d->regs[RP_SRC], buf, len);
	if (rc == 0)
		rc = d->host->mem_write(d->h, d->regs[RP_DST], buf, len);
	return rc;
}

const struct refpci_variant refpci_variant = {.copy = broken_copy};

static const struct vdev_descriptor broken = {
    REFPCI_DESCRIPTOR_COMMON,
    .name = "broken-pci-dma-no-master",
    .ops = &refpci_ops,
};

VDEV_PLUGIN_ENTRY(broken)
