/*
 * vdevs/i440fx/i440fx.c: the Intel 82441FX PCI and memory controller
 * (PMC) of the 440FX chipset, as the host bridge at 00:00.0: 8086:1237,
 * class 0x060000, revision 2 (Intel 440FX PCIset datasheet, 290549, 3.2).
 *
 *	vdev i440fx                      (at pci:0:0.0)
 *
 * Why a plugin and not the core's bridge. On kvm and sim the core answers
 * 0:0.0 with a bare bridge (devmodel/pci_host.c) when nothing else does;
 * on Xen nobody does (Xen decodes CF8/CFC and forwards 0:0.0 like any
 * function), yet firmware and OSes expect a host bridge there (SeaBIOS logs
 * its ID to tell i440FX from Q35; Linux's PCI probe starts at 0:0.0). A
 * plugin is the same device on every backend, is listed by `vdm --check`
 * and saves its chipset registers with the VM.
 *
 * Registers above the header (all plain storage with the datasheet's
 * writable bits, as QEMU's i440FX also stores them):
 *	0x50-0x51 PMCCFG, 0x52 DETURBO, 0x53 DBC, 0x54 AXC, 0x55-0x56 DRAMR,
 *	0x57 DRAMC, 0x58 DRAMT
 *	0x59      PAM0: bits 5:4 (BIOS area 0xf0000-0xfffff read/write enable)
 *	0x5a-0x5f PAM1-PAM6: bits 1:0 and 5:4 (16 KiB segments 0xc0000-0xeffff)
 *	0x60-0x67 DRB0-DRB7, 0x68 FDHC, 0x70 MTT, 0x71 CLT, 0x90 ERRCMD
 *	0x72      SMRAM: C_BASE_SEG 010 (0xa0000) read-only; G_SMRAME (3),
 *	          D_LCK (4), D_CLS (5), D_OPEN (6). Setting D_LCK clears
 *	          D_OPEN, and from then until reset only D_CLS may change.
 *	0x91      ERRSTS: write-1-to-clear; no error is ever reported
 * PAM and SMRAM are stored, not applied to the memory map: on Xen the BIOS
 * area is RAM that hvmloader filled and SeaBIOS does not shadow there
 * (src/fw/shadow.c returns early when running on Xen); no guest of ours
 * runs SMM code. No BARs, no interrupt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#include "vdevs/common/chipset.h"

#define PMC_NAME	  "i440fx"
#define PMC_STATE_VERSION 1
#define PMC_CFG_REGION	  0

#define PMC_SMRAM	 0x72
#define PMC_SMRAM_RESET	 0x02 /* C_BASE_SEG = 010b */
#define PMC_SMRAM_OPEN	 0x40
#define PMC_SMRAM_CLS	 0x20
#define PMC_SMRAM_LCK	 0x10
#define PMC_SMRAM_SMRAME 0x08
#define PMC_ERRSTS	 0x91

struct pmc {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_pci pci;
};

static const struct chipset_wmask pmc_wmasks[] = {
    {0x50, 9, 0xff}, /* PMCCFG .. DRAMT */
    {0x59, 1, 0x30}, /* PAM0 */
    {0x5a, 6, 0x33}, /* PAM1-6 */
    {0x60, 9, 0xff}, /* DRB0-7, FDHC */
    {0x70, 2, 0xff}, /* MTT, CLT */
    {0x90, 1, 0xff}, /* ERRCMD */
};

/* The SMRAM register as a write of `v` leaves it (0x72 is not guest-writable in the mask). */
static uint8_t pmc_smram_next(uint8_t old, uint8_t v)
{
	uint8_t next;

	if (old & PMC_SMRAM_LCK)
		return (uint8_t)((old & ~PMC_SMRAM_CLS) | (v & PMC_SMRAM_CLS));
	next = (uint8_t)(PMC_SMRAM_RESET |
			 (v & (PMC_SMRAM_OPEN | PMC_SMRAM_CLS | PMC_SMRAM_LCK | PMC_SMRAM_SMRAME)));
	if (next & PMC_SMRAM_LCK)
		next &= (uint8_t)~PMC_SMRAM_OPEN;
	return next;
}

static const struct chipset_reg pmc_regs[] = {
    {VDEV_PCI_STATUS, 2, 0x0280}, /* medium DEVSEL, fast back-to-back */
    {PMC_SMRAM, 1, PMC_SMRAM_RESET},
    {PMC_ERRSTS, 1, 0},
};

static const struct chipset_function pmc_function = {
    .ident = {.vendor = 0x8086, .device = 0x1237, .class_code = 0x060000, .revision = 0x02},
    .dev = 0,
    .fn = 0,
    .wmasks = pmc_wmasks,
    .wmask_count = sizeof(pmc_wmasks) / sizeof(pmc_wmasks[0]),
    .regs = pmc_regs,
    .reg_count = sizeof(pmc_regs) / sizeof(pmc_regs[0]),
};

static int pmc_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **devp)
{
	struct pmc *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	err = chipset_function_create(&d->pci, host, h, cfg, &pmc_function, PMC_CFG_REGION);
	if (err) {
		free(d);
		return err;
	}
	*devp = d;
	return 0;
}

static void pmc_destroy(void *dev)
{
	free(dev);
}

static int pmc_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct pmc *d = dev;

	return vdev_pci_config_read(&d->pci, a, value);
}

static int pmc_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct pmc *d = dev;
	uint8_t smram = (uint8_t)vdev_pci_cfg_get(&d->pci, PMC_SMRAM, 1);
	int err = vdev_pci_config_write(&d->pci, a, value);

	if (chipset_covers(a->offset, a->size, PMC_SMRAM)) {
		uint8_t v = (uint8_t)(value >> (8 * (PMC_SMRAM - a->offset)));

		vdev_pci_cfg_set(&d->pci, PMC_SMRAM, 1, pmc_smram_next(smram, v));
	}
	/* ERRSTS bits are write-1-to-clear and none is ever set: nothing to do */
	return err;
}

static void pmc_reset(void *dev)
{
	struct pmc *d = dev;

	vdev_pci_reset(&d->pci);
}

static void pmc_describe(struct vdev_state *st, void *dev)
{
	struct pmc *d = dev;

	vdev_pci_state(st, &d->pci);
}

static void pmc_restored(void *dev)
{
	struct pmc *d = dev;

	vdev_pci_restored(&d->pci);
}

static const struct chipset_state pmc_state = {
    .name = PMC_NAME,
    .version = PMC_STATE_VERSION,
    .size = sizeof(struct pmc),
    .describe = pmc_describe,
    .restored = pmc_restored,
};

static ssize_t pmc_save(void *dev, void *buf, size_t cap)
{
	return chipset_save(&pmc_state, dev, buf, cap);
}

static int pmc_restore(void *dev, const void *buf, size_t length)
{
	return chipset_restore(&pmc_state, dev, buf, length);
}

static int pmc_status(void *dev, char *buf, size_t cap)
{
	struct pmc *d = dev;
	int n =
	    snprintf(buf, cap, "pci:0:%u.%u PAM0 0x%02x SMRAM 0x%02x", d->pci.dev, d->pci.fn,
		     vdev_pci_cfg_get(&d->pci, 0x59, 1), vdev_pci_cfg_get(&d->pci, PMC_SMRAM, 1));

	return n < 0 ? -EINVAL : 0;
}

static const struct vdev_ops pmc_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = pmc_create,
    .destroy = pmc_destroy,
    .read = pmc_read,
    .write = pmc_write,
    .reset = pmc_reset,
    .save = pmc_save,
    .restore = pmc_restore,
    .status = pmc_status,
};

static const struct vdev_descriptor pmc_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = PMC_NAME,
    .version = "1.0.0",
    .description = "Intel 440FX host bridge (82441FX PMC) at 00:00.0: PAM, SMRAM, DRB registers",
    .flags = VDEV_F_SINGLETON,
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(PMC_NAME) - 1) + VDEV_PCI_STATE_SIZE,
    .ops = &pmc_ops,
};

VDEV_PLUGIN_ENTRY(pmc_descriptor)
