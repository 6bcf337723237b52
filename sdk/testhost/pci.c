/*
 * sdk/testhost/pci.c: PCI shorthands of the test host (vdev/testhost.h):
 * where an instance's PCI function landed, its configuration space, its
 * capabilities and BARs, and turning on decode, bus mastering, MSI and
 * MSI-X the way a driver does. Nothing here is privileged: every access is
 * an ordinary configuration or memory access through the instance's
 * regions, so the plugin sees what a guest would do.
 */
#include <errno.h>

#include "sdk/testhost/internal.h"

#define CFG_STATUS_CAP_LIST 0x10u
#define CFG_CAP_PTR	    0x34u
#define CFG_BAR0	    0x10u
#define MSI_64BIT	    0x80u
#define MSIX_ENABLE	    0x8000u
#define MSIX_FUNC_MASK	    0x4000u

int vdev_testhost_pci_find(struct vdev_testdev *dev, unsigned index, uint64_t *cfg_base)
{
	struct vdev_testhost_region regions[64];
	unsigned count = vdev_testhost_regions(dev, regions, 64), seen = 0;

	if (count > 64)
		count = 64;
	for (unsigned i = 0; i < count; i++) {
		if (regions[i].space != VDEV_SPACE_PCICFG)
			continue;
		if (seen++ == index) {
			*cfg_base = regions[i].base;
			return 0;
		}
	}
	th_set_error(dev->th, "%s has no PCI function %u.", dev->name, index);
	return -ENOENT;
}

uint32_t vdev_testhost_pci_cfg_read(struct vdev_testdev *dev, unsigned offset, unsigned size)
{
	uint64_t base, v;

	if (vdev_testhost_pci_find(dev, 0, &base) < 0 ||
	    vdev_testhost_read(dev->th, VDEV_SPACE_PCICFG, base + offset, size, &v) < 0)
		return size >= 4 ? UINT32_MAX : (1u << (8 * size)) - 1;
	return (uint32_t)v;
}

int vdev_testhost_pci_cfg_write(struct vdev_testdev *dev, unsigned offset, unsigned size,
				uint32_t value)
{
	uint64_t base;
	int rc = vdev_testhost_pci_find(dev, 0, &base);

	return rc < 0 ? rc
		      : vdev_testhost_write(dev->th, VDEV_SPACE_PCICFG, base + offset, size, value);
}

unsigned vdev_testhost_pci_cap(struct vdev_testdev *dev, uint8_t id)
{
	unsigned off, hops = 0;

	if (!(vdev_testhost_pci_cfg_read(dev, 0x06, 2) & CFG_STATUS_CAP_LIST))
		return 0;
	off = vdev_testhost_pci_cfg_read(dev, CFG_CAP_PTR, 1) & 0xfc;
	/* 48 hops at most: a looping list must not hang the test */
	while (off >= 0x40 && off < 0x100 && hops++ < 48) {
		if (vdev_testhost_pci_cfg_read(dev, off, 1) == id)
			return off;
		off = vdev_testhost_pci_cfg_read(dev, off + 1, 1) & 0xfc;
	}
	return 0;
}

uint64_t vdev_testhost_pci_bar(struct vdev_testdev *dev, unsigned index)
{
	uint32_t lo;

	if (index > 5)
		return 0;
	lo = vdev_testhost_pci_cfg_read(dev, CFG_BAR0 + 4 * index, 4);
	if (lo & 1)
		return lo & ~3u;	/* I/O */
	if ((lo & 6) == 4 && index < 5) /* 64-bit memory */
		return ((uint64_t)vdev_testhost_pci_cfg_read(dev, CFG_BAR0 + 4 * index + 4, 4)
			<< 32) |
		       (lo & ~0xfu);
	return lo & ~0xfu;
}

int vdev_testhost_pci_enable(struct vdev_testdev *dev, uint16_t command_bits)
{
	uint32_t cmd = vdev_testhost_pci_cfg_read(dev, 0x04, 2);

	return vdev_testhost_pci_cfg_write(dev, 0x04, 2, (cmd | command_bits) & 0xffff);
}

int vdev_testhost_pci_enable_msi(struct vdev_testdev *dev, uint64_t address, uint16_t data)
{
	unsigned msi = vdev_testhost_pci_cap(dev, 0x05);
	uint32_t ctrl;

	if (!msi) {
		th_set_error(dev->th, "%s has no MSI capability.", dev->name);
		return -ENOENT;
	}
	ctrl = vdev_testhost_pci_cfg_read(dev, msi + 2, 2);
	vdev_testhost_pci_cfg_write(dev, msi + 4, 4, (uint32_t)address);
	if (ctrl & MSI_64BIT) {
		vdev_testhost_pci_cfg_write(dev, msi + 8, 4, (uint32_t)(address >> 32));
		vdev_testhost_pci_cfg_write(dev, msi + 12, 2, data);
	} else {
		vdev_testhost_pci_cfg_write(dev, msi + 8, 2, data);
	}
	return vdev_testhost_pci_cfg_write(dev, msi + 2, 2, ctrl | 1);
}

int vdev_testhost_pci_enable_msix(struct vdev_testdev *dev, unsigned vector, uint64_t address,
				  uint32_t data)
{
	unsigned msix = vdev_testhost_pci_cap(dev, 0x11);
	uint32_t ctrl, table;
	uint64_t entry;

	if (!msix) {
		th_set_error(dev->th, "%s has no MSI-X capability.", dev->name);
		return -ENOENT;
	}
	ctrl = vdev_testhost_pci_cfg_read(dev, msix + 2, 2);
	if (vector > (ctrl & 0x7ff)) {
		th_set_error(dev->th, "%s: MSI-X vector %u is beyond its table of %u.", dev->name,
			     vector, (ctrl & 0x7ff) + 1);
		return -EINVAL;
	}
	table = vdev_testhost_pci_cfg_read(dev, msix + 4, 4);
	entry = vdev_testhost_pci_bar(dev, table & 7) + (table & ~7u) + 16ull * vector;
	vdev_testhost_write(dev->th, VDEV_SPACE_MMIO, entry, 4, (uint32_t)address);
	vdev_testhost_write(dev->th, VDEV_SPACE_MMIO, entry + 4, 4, (uint32_t)(address >> 32));
	vdev_testhost_write(dev->th, VDEV_SPACE_MMIO, entry + 8, 4, data);
	vdev_testhost_write(dev->th, VDEV_SPACE_MMIO, entry + 12, 4, 0); /* unmasked */
	return vdev_testhost_pci_cfg_write(dev, msix + 2, 2,
					   (ctrl | MSIX_ENABLE) & ~MSIX_FUNC_MASK & 0xffff);
}
