/*
 * vdev-broken-pci-dma-map-unchecked.so: the PCI reference function doing
 * its DMA through mem_map without checking for NULL. It checks the
 * addresses against the RAM ranges itself, so guest addresses outside RAM
 * are refused; a mapping the host cannot give crashes it.
 * Caught by: dma-faults (crashed).
 */
#include <errno.h>
#include <string.h>

#include "tests/conformance/refpci.h"

static int broken_copy(struct refpci *d)
{
	struct vdev_mem_range ram[8];
	uint32_t len = d->regs[RP_LEN], src = d->regs[RP_SRC], dst = d->regs[RP_DST];
	int n = d->host->mem_ranges(d->h, ram, 8);
	uint8_t *from, *to;

	if (!len || len > REFPCI_DMA_MAX || !vdev_pci_bus_master(&d->pci) || n < 1)
		return -EINVAL;
	/* Its own bounds check against the first RAM range... */
	if ((uint64_t)src + len > ram[0].start + ram[0].length ||
	    (uint64_t)dst + len > ram[0].start + ram[0].length || src < ram[0].start ||
	    dst < ram[0].start)
		return -EFAULT;
	/* ...so the defect, mem_map results used unchecked, shows only when
	 * the host cannot map RAM that is there. */
	from = d->host->mem_map(d->h, src, len, VDEV_MAP_READ);
	to = d->host->mem_map(d->h, dst, len, VDEV_MAP_WRITE);
	memmove(to, from, len);
	d->host->mem_unmap(d->h, to, len);
	d->host->mem_unmap(d->h, from, len);
	return 0;
}

const struct refpci_variant refpci_variant = {.copy = broken_copy};

static const struct vdev_descriptor broken = {
    REFPCI_DESCRIPTOR_COMMON,
    .name = "broken-pci-dma-map-unchecked",
    .ops = &refpci_ops,
};

VDEV_PLUGIN_ENTRY(broken)
