/*
 * vdevs/piix3/piix3.c: the Intel 82371SB (PIIX3) PCI-to-ISA bridge,
 * function 0 of device 1 (00:01.0): 8086:7000, class 0x060100, a
 * multi-function header (the IDE, USB and PM functions sit at 1.1-1.3), and
 * its Reset Control register at I/O port 0xcf9 (Intel 290550, 2.2 and
 * 2.5.1).
 *
 *	vdev piix3                       (at pci:0:1.0, RCR at io:0xcf9)
 *
 * Why at 00:01.0 and with exactly this ID: Xen's hvmloader asserts that
 * whatever answers at devfn 0x08 is 8086:7000 (tools/firmware/hvmloader/
 * pci.c), and its ACPI tables describe the PIRQ links as this function's
 * registers 0x60-0x63.
 *
 * PIRQRC[A:D] (0x60-0x63, reset 0x80): bit 7 IRQEN# (1: not routed),
 * bits 3:0 the ISA IRQ. Every write that changes what a link routes to is
 * passed to the host (pci_link_route, ABI 1.2): on Xen that is
 * xendevicemodel_set_pci_link_route, after which Xen's vPIC/vIOAPIC
 * deliver INTx of every device through the barber's pole, as QEMU does
 * for Xen. IRQ 0, 1, 2, 8 and 13 are reserved in the datasheet and route
 * nowhere. The routes are sent again when the guest starts, after a
 * reset and after a restore, so the hypervisor always matches the
 * registers. A host without the service (ABI 1.0/1.1) only stores them.
 *
 * RCR (io:0xcf9, one byte): bit 1 SRST (hard reset when set, kept), bit 2
 * RCPU (writing it with 1 resets: the guest reboots, through the host's
 * platform_shutdown(REBOOT); a host without it ends the VM with
 * terminate(0)). Reads return bit 1. ACPI's FADT names this register
 * with the value 6 (hvmloader's tools/libacpi/static_tables.c), which is
 * how Linux reboots by default. On kvm and sim the core's CF8/CFC decoder
 * owns 0xcf8-0xcfb for dword accesses and lets this byte nest inside.
 *
 * Other registers 0x40-0xff are plain storage with the datasheet's reset
 * values (IORT 0x4c = 0x4d, XBCS 0x4e = 0x03, TOM 0x69 = 0x02, MBIRQ0
 * 0x70 = 0x80, MBDMA 0x76/0x77 = 0x0c, PCSC 0x78 = 0x02, SMICNTL 0xa0 =
 * 0x08, FTMR 0xa8 = 0x0f), as QEMU's PIIX3 keeps them. The ISA devices
 * behind it (PIC, PIT, RTC, DMA) are other vdevs or the hypervisor's; the
 * ELCR (0x4d0) is the PIC's. No interrupt of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#include "vdevs/common/chipset.h"

#define ISA_NAME	  "piix3"
#define ISA_STATE_VERSION 1
#define ISA_CFG_REGION	  0
#define ISA_RCR_REGION	  1
#define ISA_RCR_PORT	  0xcf9u

#define ISA_PIRQRC   0x60
#define ISA_PIRQ_OFF 0x80
#define ISA_RCR_SRST 0x02
#define ISA_RCR_RCPU 0x04

struct isa {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_pci pci;
	uint8_t rcr;
	uint8_t sent[4]; /* the route each link was last given to the host */
	uint32_t reboots;
	bool reboot_asked; /* once per power-on: the machine is going down */
};

static const struct chipset_reg isa_regs[] = {
    {VDEV_PCI_STATUS, 2, 0x0200}, /* medium DEVSEL */
    {0x4c, 1, 0x4d},
    {0x4e, 1, 0x03},
    {0x60, 4, 0x80808080},
    {0x69, 1, 0x02},
    {0x70, 2, 0x8080},
    {0x76, 2, 0x0c0c},
    {0x78, 1, 0x02},
    {0xa0, 1, 0x08},
    {0xa8, 1, 0x0f},
};

static const struct chipset_wmask isa_wmasks[] = {{0x40, 0xc0, 0xff}};

static const struct chipset_function isa_function = {
    .ident = {.vendor = 0x8086, .device = 0x7000, .class_code = 0x060100, .multifunction = true},
    .dev = 1,
    .fn = 0,
    .wmasks = isa_wmasks,
    .wmask_count = 1,
    .regs = isa_regs,
    .reg_count = sizeof(isa_regs) / sizeof(isa_regs[0]),
};

/* The ISA IRQ a PIRQRC value routes to, 0 for none. */
static unsigned isa_route_of(uint8_t v)
{
	unsigned irq = v & 0x0f;

	if (v & ISA_PIRQ_OFF)
		return 0;
	if (irq <= 2 || irq == 8 || irq == 13)
		return 0; /* reserved: the chip routes nothing there */
	return irq;
}

/* Tell the host about every link whose route changed (all of them when forced). */
static void isa_sync_routes(struct isa *d, int force)
{
	for (unsigned link = 0; link < 4; link++) {
		unsigned irq =
		    isa_route_of((uint8_t)vdev_pci_cfg_get(&d->pci, ISA_PIRQRC + link, 1));
		int err;

		if (!force && d->sent[link] == irq)
			continue;
		d->sent[link] = (uint8_t)irq;
		if (!VDEV_HOST_HAS(d->host, pci_link_route))
			continue;
		err = d->host->pci_link_route(d->h, link, irq);
		if (err)
			d->host->log(d->h, VDEV_LOG_WARN, "PIRQ%c -> IRQ %u: the host refused: %s",
				     'A' + link, irq, strerror(-err));
	}
}

static int isa_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **devp)
{
	/* sent[] = 0: the power-on registers route nothing, as a new domain has it */
	struct isa *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	err = chipset_function_create(&d->pci, host, h, cfg, &isa_function, ISA_CFG_REGION);
	if (!err) {
		err = host->region_add(h, VDEV_SPACE_PIO, ISA_RCR_PORT, 1, ISA_RCR_REGION);
		if (err)
			host->log(h, VDEV_LOG_ERROR, "reset control register io:0x%x: %s",
				  ISA_RCR_PORT, strerror(-err));
	}
	if (err) {
		free(d);
		return err;
	}
	*devp = d;
	return 0;
}

static void isa_destroy(void *dev)
{
	free(dev);
}

static void isa_guest_starting(void *dev)
{
	isa_sync_routes(dev, 1);
}

static int isa_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct isa *d = dev;

	if (vdev_pci_is_config(&d->pci, a))
		return vdev_pci_config_read(&d->pci, a, value);
	*value = d->rcr & ISA_RCR_SRST;
	return 0;
}

static void isa_rcr_write(struct isa *d, uint8_t v)
{
	d->rcr = v & ISA_RCR_SRST;
	if (!(v & ISA_RCR_RCPU))
		return;
	d->reboots++;
	if (d->reboot_asked)
		return;
	d->reboot_asked = true;
	d->host->log(d->h, VDEV_LOG_INFO, "reset control 0x%02x: %s reset", v,
		     v & ISA_RCR_SRST ? "hard" : "soft");
	if (VDEV_HOST_HAS(d->host, platform_shutdown))
		d->host->platform_shutdown(d->h, VDEV_SHUTDOWN_REBOOT);
	else
		d->host->terminate(d->h, 0);
}

static int isa_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct isa *d = dev;
	int err;

	if (!vdev_pci_is_config(&d->pci, a)) {
		isa_rcr_write(d, (uint8_t)value);
		return 0;
	}
	err = vdev_pci_config_write(&d->pci, a, value);
	if (a->offset < ISA_PIRQRC + 4 && a->offset + a->size > ISA_PIRQRC)
		isa_sync_routes(d, 0);
	return err;
}

static void isa_reset(void *dev)
{
	struct isa *d = dev;

	vdev_pci_reset(&d->pci);
	d->rcr = 0;
	d->reboot_asked = false;
	isa_sync_routes(d, 1);
}

static void isa_describe(struct vdev_state *st, void *dev)
{
	struct isa *d = dev;

	vdev_pci_state(st, &d->pci);
	vdev_state_u8(st, &d->rcr);
	if (vdev_state_restoring(st) && (d->rcr & ~ISA_RCR_SRST))
		vdev_state_invalid(st);
}

static void isa_restored(void *dev)
{
	struct isa *d = dev;

	vdev_pci_restored(&d->pci);
	isa_sync_routes(d, 1);
}

static const struct chipset_state isa_state = {
    .name = ISA_NAME,
    .version = ISA_STATE_VERSION,
    .size = sizeof(struct isa),
    .describe = isa_describe,
    .restored = isa_restored,
};

static ssize_t isa_save(void *dev, void *buf, size_t cap)
{
	return chipset_save(&isa_state, dev, buf, cap);
}

static int isa_restore(void *dev, const void *buf, size_t length)
{
	return chipset_restore(&isa_state, dev, buf, length);
}

static int isa_status(void *dev, char *buf, size_t cap)
{
	struct isa *d = dev;
	int n = snprintf(buf, cap, "pci:0:%u.%u PIRQ A-D -> %u %u %u %u, %u reboot requests",
			 d->pci.dev, d->pci.fn, d->sent[0], d->sent[1], d->sent[2], d->sent[3],
			 d->reboots);

	return n < 0 ? -EINVAL : 0;
}

static const struct vdev_ops isa_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = isa_create,
    .destroy = isa_destroy,
    .read = isa_read,
    .write = isa_write,
    .reset = isa_reset,
    .save = isa_save,
    .restore = isa_restore,
    .guest_starting = isa_guest_starting,
    .status = isa_status,
};

static const struct vdev_descriptor isa_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = ISA_NAME,
    .version = "1.0.0",
    .description = "Intel PIIX3 PCI-ISA bridge at 00:01.0: PIRQ routing, reset control at 0xcf9",
    .flags = VDEV_F_SINGLETON,
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),
    .state_size =
	VDEV_STATE_HEADER_SIZE(sizeof(ISA_NAME) - 1) + VDEV_PCI_STATE_SIZE + VDEV_STATE_SIZE_U8,
    .ops = &isa_ops,
};

VDEV_PLUGIN_ENTRY(isa_descriptor)
