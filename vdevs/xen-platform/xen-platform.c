/*
 * vdevs/xen-platform/xen-platform.c: the Xen platform PCI device,
 * 5853:0001, through which a Linux (or Windows) HVM guest finds Xen's PV
 * interfaces, and its fixed I/O ports 0x10-0x1f (the "unplug" protocol of
 * xen.git docs/misc/hvm-emulated-unplug.pandoc).
 *
 *	vdev xen-platform                (first free device; BAR0 I/O, BAR1 16 MiB)
 *
 * The contract, as Linux's drivers/xen/platform-pci.c and
 * arch/x86/xen/platform-pci-unplug.c use it and QEMU's
 * hw/i386/xen/xen_platform.c provides it:
 *  - PCI: vendor/device and subsystem 5853:0001, class 0xff8000, revision
 *    1, INTA; BAR0 a 256-byte I/O BAR, BAR1 a 16 MiB prefetchable memory
 *    BAR. platform_pci_probe needs both; the guest asks Xen to place its
 *    grant-table frames in BAR1 (XENMEM_add_to_physmap), after which those
 *    pages are RAM and never reach the device model: reads of BAR1 give
 *    0, writes are ignored. The event-channel upcall is Xen's own
 *    (HVM_PARAM_CALLBACK_IRQ), so the device drives no line.
 *  - io:0x10, 2-byte read: the magic 0x49d2 (the guest's PV drivers are
 *    welcome); 2-byte write: the unplug mask (bit 0 all IDE disks, 1 all
 *    NICs, 2 auxiliary IDE disks, 3 NVMe): recorded and logged, since vdm
 *    emulates no IDE disk or NIC that a PV frontend would duplicate;
 *    1-byte read/write: the platform flags (bit 0 ROM lock: recorded, the
 *    ROM area stays as Xen mapped it); 4-byte write: the driver version.
 *  - io:0x12, 1-byte read: protocol version 1; 1-byte write: a log
 *    character (lines go to vdm's log); 2-byte write: the product number
 *    (Linux writes 3).
 *  - BAR0: offset 0 the platform flags (1 byte), offset 8 a log
 *    character; the rest reads all-ones.
 *
 * Not in the default HVM platform (devmodel/xen/hvm-platform.vmconf): with
 * it, Linux attaches blkfront/netfront to the PV backends libxl creates
 * for every disk and NIC of the xl.cfg, next to vdm's virtio devices for
 * the same disks. Add `vdev xen-platform` through device_model_args= when
 * the guest should use PV drivers instead.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#include "vdevs/common/chipset.h"

#define XP_NAME		 "xen-platform"
#define XP_STATE_VERSION 1

enum { XP_REGION_CFG, XP_REGION_IO, XP_REGION_MMIO, XP_REGION_FIXED };

#define XP_FIXED_PORT 0x10u
#define XP_FIXED_LEN  0x10u
#define XP_MAGIC      0x49d2u
#define XP_PROTOCOL   1
#define XP_ROM_LOCK   0x01u
#define XP_LOG_MAX    256

struct xp {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_pci pci;
	uint8_t flags;
	uint16_t unplug, product;
	uint32_t driver_version;
	char log[XP_LOG_MAX];
	unsigned log_len;
};

static const struct chipset_bar xp_bars[] = {
    {0, VDEV_PCI_BAR_IO, 0x100, 0, XP_REGION_IO},
    {1, VDEV_PCI_BAR_MEM32, 16u << 20, VDEV_PCI_BAR_PREFETCH, XP_REGION_MMIO},
};

static const struct chipset_function xp_function = {
    .ident = {.vendor = 0x5853,
	      .device = 0x0001,
	      .class_code = 0xff8000,
	      .revision = 1,
	      .subsystem_vendor = 0x5853,
	      .subsystem = 0x0001,
	      .interrupt_pin = 1},
    .dev = CHIPSET_ANY_SLOT,
    .bars = xp_bars,
    .bar_count = sizeof(xp_bars) / sizeof(xp_bars[0]),
};

static void xp_log_char(struct xp *d, uint8_t c)
{
	if (c == '\n' || d->log_len == XP_LOG_MAX - 1) {
		d->log[d->log_len] = '\0';
		d->host->log(d->h, VDEV_LOG_INFO, "guest: %s", d->log);
		d->log_len = 0;
		if (c == '\n')
			return;
	}
	if (c >= 0x20 && c < 0x7f)
		d->log[d->log_len++] = (char)c;
}

static void xp_set_flags(struct xp *d, uint8_t v)
{
	d->flags = v & XP_ROM_LOCK;
}

static int xp_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		     void **devp)
{
	struct xp *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	err = chipset_function_create(&d->pci, host, h, cfg, &xp_function, XP_REGION_CFG);
	if (!err) {
		err = host->region_add(h, VDEV_SPACE_PIO, XP_FIXED_PORT, XP_FIXED_LEN,
				       XP_REGION_FIXED);
		if (err)
			host->log(h, VDEV_LOG_ERROR, "fixed ports io:0x10-0x1f: %s",
				  strerror(-err));
	}
	if (err) {
		free(d);
		return err;
	}
	*devp = d;
	return 0;
}

static void xp_destroy(void *dev)
{
	free(dev);
}

static uint64_t xp_fixed_read(const struct xp *d, uint64_t off, unsigned size)
{
	if (off == 0 && size == 2)
		return XP_MAGIC;
	if (off == 0 && size == 1)
		return d->flags;
	if (off == 2 && size == 1)
		return XP_PROTOCOL;
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void xp_fixed_write(struct xp *d, uint64_t off, unsigned size, uint64_t v)
{
	if (off == 0 && size == 2) {
		d->unplug = (uint16_t)v;
		d->host->log(d->h, VDEV_LOG_INFO,
			     "unplug 0x%04x: no emulated IDE disk or NIC to remove", d->unplug);
	} else if (off == 0 && size == 1) {
		xp_set_flags(d, (uint8_t)v);
	} else if (off == 0 && size == 4) {
		d->driver_version = (uint32_t)v;
	} else if (off == 2 && size == 1) {
		xp_log_char(d, (uint8_t)v);
	} else if (off == 2 && size == 2) {
		d->product = (uint16_t)v;
		d->host->log(d->h, VDEV_LOG_INFO, "PV drivers of product %u", d->product);
	}
}

static int xp_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct xp *d = dev;

	switch (a->region) {
	case XP_REGION_CFG:
		return vdev_pci_config_read(&d->pci, a, value);
	case XP_REGION_FIXED:
		*value = xp_fixed_read(d, a->offset, a->size);
		return 0;
	case XP_REGION_IO:
		*value = a->offset == 0 && a->size == 1
			     ? d->flags
			     : (a->size >= 4 ? 0xffffffffu : (1u << (8 * a->size)) - 1);
		return 0;
	case XP_REGION_MMIO:
		*value = 0;
		return 0;
	}
	return VDEV_ACCESS_BUS_ERROR;
}

static int xp_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct xp *d = dev;

	switch (a->region) {
	case XP_REGION_CFG:
		return vdev_pci_config_write(&d->pci, a, value);
	case XP_REGION_FIXED:
		xp_fixed_write(d, a->offset, a->size, value);
		return 0;
	case XP_REGION_IO:
		if (a->offset == 0 && a->size == 1)
			xp_set_flags(d, (uint8_t)value);
		else if (a->offset == 8 && a->size == 1)
			xp_log_char(d, (uint8_t)value);
		return 0;
	case XP_REGION_MMIO:
		return 0;
	}
	return VDEV_ACCESS_BUS_ERROR;
}

static void xp_reset(void *dev)
{
	struct xp *d = dev;

	vdev_pci_reset(&d->pci);
	d->flags = 0;
	d->unplug = d->product = 0;
	d->driver_version = 0;
	d->log_len = 0;
}

static void xp_describe(struct vdev_state *st, void *dev)
{
	struct xp *d = dev;

	vdev_pci_state(st, &d->pci);
	vdev_state_u8(st, &d->flags);
	vdev_state_u16(st, &d->unplug);
	vdev_state_u16(st, &d->product);
	vdev_state_u32(st, &d->driver_version);
	if (vdev_state_restoring(st) && (d->flags & ~XP_ROM_LOCK))
		vdev_state_invalid(st);
}

static void xp_restored(void *dev)
{
	struct xp *d = dev;

	vdev_pci_restored(&d->pci);
}

static const struct chipset_state xp_state = {
    .name = XP_NAME,
    .version = XP_STATE_VERSION,
    .size = sizeof(struct xp),
    .describe = xp_describe,
    .restored = xp_restored,
};

static ssize_t xp_save(void *dev, void *buf, size_t cap)
{
	return chipset_save(&xp_state, dev, buf, cap);
}

static int xp_restore(void *dev, const void *buf, size_t length)
{
	return chipset_restore(&xp_state, dev, buf, length);
}

static int xp_status(void *dev, char *buf, size_t cap)
{
	struct xp *d = dev;
	int n = snprintf(buf, cap, "pci:0:%u.%u unplug 0x%04x product %u flags 0x%02x", d->pci.dev,
			 d->pci.fn, d->unplug, d->product, d->flags);

	return n < 0 ? -EINVAL : 0;
}

static const struct vdev_ops xp_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = xp_create,
    .destroy = xp_destroy,
    .read = xp_read,
    .write = xp_write,
    .reset = xp_reset,
    .save = xp_save,
    .restore = xp_restore,
    .status = xp_status,
};

static const struct vdev_descriptor xp_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = XP_NAME,
    .version = "1.0.0",
    .description = "Xen platform PCI device 5853:0001 (PV drivers, unplug ports 0x10-0x1f)",
    .flags = VDEV_F_SINGLETON,
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(XP_NAME) - 1) + VDEV_PCI_STATE_SIZE +
		  VDEV_STATE_SIZE_U8 + 2 * VDEV_STATE_SIZE_U16 + VDEV_STATE_SIZE_U32,
    .ops = &xp_ops,
};

VDEV_PLUGIN_ENTRY(xp_descriptor)
