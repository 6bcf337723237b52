/*
 * vdevs/piix4-pm/piix4-pm.c: the power-management function of the Intel
 * 82371AB (PIIX4), function 3 of device 1 (00:01.3): 8086:7113, class
 * 0x068000, revision 3, INTA (Intel 290562, section 11), in the part of
 * it that Xen leaves to the device model.
 *
 *	vdev piix4-pm                    (at pci:0:1.3; APM io:0xb2, GPE0 io:0xafe0)
 *	vdev piix4-pm sci-en on gpe0 0   (ACPI already enabled; no GPE0 block)
 *
 * What Xen keeps for itself (xen/arch/x86/hvm/pmtimer.c): once hvmloader
 * moved the ACPI ports (HVM_PARAM_ACPI_IOPORTS_LOCATION), PM1a_STS/EN at
 * 0xb000-0xb003 and the PM timer at 0xb008 are Xen's, and it raises SCI
 * (IRQ 9) for them. "PM1a_CNT is between PM1a_EN and TMR_VAL and is
 * handled by qemu": so this device claims only PM1a_CNT, two bytes at
 * PMBA + 4, never the status, enable or timer registers.
 *
 * Configuration registers: PMBA (0x40, bits 15:6 writable, bit 0 reads 1:
 * I/O space) and PMREGMISC (0x80, bit 0 PMIOSE) place PM1a_CNT; hvmloader
 * writes 0xb001 and 1, which puts it at 0xb004, where the FADT says
 * (tools/libacpi/static_tables.c). The region moves with every write to
 * them (an overlap leaves it unmapped, with a warning). SMBBA (0x90) reads
 * with bit 0 set; everything else 0x44-0xff is plain storage.
 *
 * PM1a_CNT (16 bits): SCI_EN (0), BM_RLD (1) and SLP_TYP (12:10) are
 * kept; GBL_RLS (2) and SLP_EN (13) are write-only. Writing SLP_EN with
 * SLP_TYP 000 (SOFF in the datasheet; the _S5 and _S4 objects of
 * hvmloader's DSDT use 0) powers the machine off through the host's
 * platform_shutdown(POWEROFF): on Xen, xendevicemodel_shutdown(poweroff).
 * SLP_TYP 001 is suspend-to-RAM (hvmloader's _S3), which no vdm host
 * supports: logged and ignored, the guest carries on. Other types are
 * the chip's power-on suspend states: nothing to do. A host without the
 * service (ABI 1.0/1.1) ends the VM with terminate(0).
 *
 * SCI_EN starts clear, as on the chip and in QEMU (option `sci-en` sets
 * it). The APM control port APMC (io:0xb2) is the SMI command port:
 * writing 0xf1 (ACPI enable) sets SCI_EN and 0xf0 clears it, which is how
 * hvmloader (acpi_enable_sci) hands ACPI to the OS before it checks
 * SCI_EN; APMS (io:0xb3) is plain storage.
 *
 * GPE0 (option `gpe0`, default io:0xafe0, the FADT's GPE0_BLK; 0 for
 * none): GPE0_STS (2 bytes, write-1-to-clear) and GPE0_EN (2 bytes). This
 * device raises no general-purpose event, so STS stays 0; without the
 * block an OS would read all-ones there and see every event pending.
 *
 * PCI hotplug (option `pcihp`, default io:0xae00; 0 for none): the
 * registers hvmloader's DSDT names for a qemu-xen device model, PCIU and
 * PCID 0 (nothing is hot-plugged), B0EJ (eject: logged, ignored), B0RM
 * every slot but 0 and 1 (as QEMU reports them).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#include "vdevs/common/chipset.h"

#define PM_NAME		 "piix4-pm"
#define PM_STATE_VERSION 1

enum { PM_REGION_CFG, PM_REGION_CNT, PM_REGION_APM, PM_REGION_GPE, PM_REGION_PCIHP };

/*
 * The PCI hotplug registers of QEMU's PIIX4 for Xen, which hvmloader's
 * DSDT (qemu-xen flavour, tools/libacpi/mk_dsdt.c) reads: PCIU/PCID (slots
 * inserted/removed, read by the hotplug GPE handler), B0EJ (eject, written
 * by _EJ0) and B0RM (removable slots, read by every slot's _STA).
 */
#define PCIHP_LEN     0x10u
#define PCIHP_B0EJ    0x08u
#define PCIHP_B0RM    0x0cu
#define PCIHP_FIXED   0x00000003u /* slots 0 and 1: the chipset, never removable */

#define PM_PMBA	      0x40
#define PM_PMREGMISC  0x80
#define PM_SMBBA      0x90
#define PM_PMIOSE     0x01
#define PM_BASE_MASK  0xffc0u
#define PM_CNT_OFFSET 4
#define PM_APM_PORT   0xb2u

#define CNT_SCI_EN   0x0001u
#define CNT_BM_RLD   0x0002u
#define CNT_GBL_RLS  0x0004u
#define CNT_SLP_TYP  0x1c00u
#define CNT_SLP_EN   0x2000u
#define CNT_KEPT     (CNT_SCI_EN | CNT_BM_RLD | CNT_SLP_TYP)
#define SLP_TYP_SOFF 0
#define SLP_TYP_STR  1

#define APM_ACPI_ENABLE	 0xf1
#define APM_ACPI_DISABLE 0xf0

enum { OPT_SCI_EN, OPT_GPE0, OPT_PCIHP, OPT_COUNT };

static const struct vdev_option_spec pm_options[OPT_COUNT] = {
    [OPT_SCI_EN] =
	{
	    .name = "sci-en",
	    .type = VDEV_OPT_BOOL,
	    .flags = VDEV_OPTF_NOARG,
	    .default_value = "off",
	    .help =
		"start with PM1a_CNT.SCI_EN set (ACPI mode) instead of waiting for 0xf1 at 0xb2",
	},
    [OPT_GPE0] =
	{
	    .name = "gpe0",
	    .type = VDEV_OPT_ADDR,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0xafe0",
	    .help = "I/O port of the 4-byte GPE0 block (0: none)",
	    .min = 0,
	    .max = 0xfffc,
	},
    [OPT_PCIHP] =
	{
	    .name = "pcihp",
	    .type = VDEV_OPT_ADDR,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0xae00",
	    .help = "I/O port of the 16-byte PCI hotplug block hvmloader's DSDT reads (0: none)",
	    .min = 0,
	    .max = 0xfff0,
	},
};

struct pm {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_pci pci;
	uint16_t cnt, cnt_reset;
	uint16_t gpe_sts, gpe_en;
	uint8_t apms;
	uint16_t gpe_port, pcihp_port;
	uint16_t cnt_mapped; /* port PM1a_CNT is registered at, 0: none */
	uint32_t poweroffs;
	bool off_asked; /* once per power-on: the machine is going down */
};

static const struct chipset_wmask pm_wmasks[] = {
    {0x40, 1, 0xc0},	  {0x41, 1, 0xff}, /* PMBA 15:6 */
    {0x44, 0x3c, 0xff},			   /* 0x44-0x7f */
    {0x80, 1, PM_PMIOSE},		   /* PMREGMISC */
    {0x81, 0x0f, 0xff},			   /* 0x81-0x8f */
    {0x90, 1, 0xf0},	  {0x91, 1, 0xff}, /* SMBBA 15:4 */
    {0x94, 0x6c, 0xff},			   /* 0x94-0xff */
};

static const struct chipset_reg pm_regs[] = {
    {VDEV_PCI_STATUS, 2, 0x0280},
    {PM_PMBA, 1, 0x01},	 /* I/O space indicator */
    {PM_SMBBA, 1, 0x01}, /* likewise */
};

static const struct chipset_function pm_function = {
    .ident = {.vendor = 0x8086,
	      .device = 0x7113,
	      .class_code = 0x068000,
	      .revision = 0x03,
	      .interrupt_pin = 1},
    .dev = 1,
    .fn = 3,
    .wmasks = pm_wmasks,
    .wmask_count = sizeof(pm_wmasks) / sizeof(pm_wmasks[0]),
    .regs = pm_regs,
    .reg_count = sizeof(pm_regs) / sizeof(pm_regs[0]),
};

/* Where PM1a_CNT belongs now: PMBA + 4 while PMIOSE is set, else nowhere. */
static uint16_t pm_cnt_port(const struct pm *d)
{
	uint32_t base = vdev_pci_cfg_get(&d->pci, PM_PMBA, 2) & PM_BASE_MASK;

	if (!(vdev_pci_cfg_get(&d->pci, PM_PMREGMISC, 1) & PM_PMIOSE) || base == 0)
		return 0;
	return (uint16_t)(base + PM_CNT_OFFSET);
}

static void pm_map(struct pm *d)
{
	uint16_t port = pm_cnt_port(d);
	int err;

	if (port == d->cnt_mapped)
		return;
	if (d->cnt_mapped)
		d->host->region_remove(d->h, PM_REGION_CNT);
	d->cnt_mapped = 0;
	if (!port)
		return;
	err = d->host->region_add(d->h, VDEV_SPACE_PIO, port, 2, PM_REGION_CNT);
	if (err) {
		d->host->log(d->h, VDEV_LOG_WARN, "PM1a_CNT at io:0x%x: %s; left unmapped", port,
			     strerror(-err));
		return;
	}
	d->cnt_mapped = port;
}

static void pm_sleep(struct pm *d, unsigned type)
{
	if (type != SLP_TYP_SOFF) {
		d->host->log(d->h, VDEV_LOG_INFO, "SLP_EN with SLP_TYP %u (%s): ignored", type,
			     type == SLP_TYP_STR ? "suspend to RAM is not supported"
						 : "a power-on suspend state");
		return;
	}
	d->poweroffs++;
	if (d->off_asked)
		return;
	d->off_asked = true;
	d->host->log(d->h, VDEV_LOG_INFO, "SLP_EN with SLP_TYP 0: soft off");
	if (VDEV_HOST_HAS(d->host, platform_shutdown))
		d->host->platform_shutdown(d->h, VDEV_SHUTDOWN_POWEROFF);
	else
		d->host->terminate(d->h, 0);
}

/* A write of `size` bytes at byte `offset` (0 or 1) of PM1a_CNT. */
static void pm_cnt_write(struct pm *d, uint64_t offset, unsigned size, uint64_t value)
{
	uint16_t mask = (uint16_t)(((1u << (8 * size)) - 1) << (8 * offset));
	uint16_t v = (uint16_t)((d->cnt & ~mask) | ((value << (8 * offset)) & mask));

	d->cnt = v & CNT_KEPT;
	if ((v & mask) & CNT_SLP_EN)
		pm_sleep(d, (v & CNT_SLP_TYP) >> 10);
}

static int pm_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		     void **devp)
{
	struct pm *d;
	int err;

	if (cfg->option_count < OPT_COUNT)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	d->cnt_reset = cfg->options[OPT_SCI_EN].v.b ? CNT_SCI_EN : 0;
	d->cnt = d->cnt_reset;
	d->gpe_port = (uint16_t)cfg->options[OPT_GPE0].v.u;
	d->pcihp_port = (uint16_t)cfg->options[OPT_PCIHP].v.u;
	/* no `intr`: SCI (IRQ 9) is raised by the hypervisor's PM1a_STS/EN */
	err = chipset_function_create(&d->pci, host, h, cfg, &pm_function, PM_REGION_CFG);
	if (!err) {
		err = host->region_add(h, VDEV_SPACE_PIO, PM_APM_PORT, 2, PM_REGION_APM);
		if (err)
			host->log(h, VDEV_LOG_ERROR, "APM ports io:0xb2-0xb3: %s", strerror(-err));
	}
	if (!err && d->gpe_port) {
		err = host->region_add(h, VDEV_SPACE_PIO, d->gpe_port, 4, PM_REGION_GPE);
		if (err)
			host->log(h, VDEV_LOG_ERROR, "GPE0 block io:0x%x: %s", d->gpe_port,
				  strerror(-err));
	}
	if (!err && d->pcihp_port) {
		err = host->region_add(h, VDEV_SPACE_PIO, d->pcihp_port, PCIHP_LEN,
				       PM_REGION_PCIHP);
		if (err)
			host->log(h, VDEV_LOG_ERROR, "PCI hotplug block io:0x%x: %s",
				  d->pcihp_port, strerror(-err));
	}
	if (err) {
		free(d);
		return err;
	}
	*devp = d;
	return 0;
}

static void pm_destroy(void *dev)
{
	free(dev);
}

static uint64_t pm_bytes(uint32_t reg, uint64_t offset, unsigned size)
{
	return (reg >> (8 * offset)) & (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1);
}

static int pm_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct pm *d = dev;

	switch (a->region) {
	case PM_REGION_CFG:
		return vdev_pci_config_read(&d->pci, a, value);
	case PM_REGION_CNT:
		*value = pm_bytes(d->cnt, a->offset, a->size);
		return 0;
	case PM_REGION_APM:
		/* APMC reads back the last command on the chip; QEMU returns it too */
		*value = pm_bytes((uint32_t)d->apms << 8, a->offset, a->size);
		return 0;
	case PM_REGION_GPE:
		*value =
		    pm_bytes((uint32_t)d->gpe_sts | (uint32_t)d->gpe_en << 16, a->offset, a->size);
		return 0;
	case PM_REGION_PCIHP:
		/*
		 * Nothing is ever hot-plugged (PCIU, PCID 0), and like QEMU every
		 * slot but the chipset's reports removable, so each slot's _STA
		 * finds its ACPI object, whether a device is there or not.
		 */
		*value = a->offset >= PCIHP_B0RM
				 ? pm_bytes(~PCIHP_FIXED, a->offset - PCIHP_B0RM, a->size)
				 : 0;
		return 0;
	}
	return VDEV_ACCESS_BUS_ERROR;
}

static void pm_apm_write(struct pm *d, uint64_t offset, unsigned size, uint64_t value)
{
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(value >> (8 * i));

		if (offset + i == 1) {
			d->apms = b;
		} else if (b == APM_ACPI_ENABLE) {
			d->cnt |= CNT_SCI_EN;
		} else if (b == APM_ACPI_DISABLE) {
			d->cnt &= (uint16_t)~CNT_SCI_EN;
		}
	}
}

static void pm_gpe_write(struct pm *d, uint64_t offset, unsigned size, uint64_t value)
{
	for (unsigned i = 0; i < size; i++) {
		uint64_t at = offset + i;
		uint8_t b = (uint8_t)(value >> (8 * i));

		if (at < 2)
			d->gpe_sts &= (uint16_t) ~((unsigned)b << (8 * at));
		else if (at < 4)
			d->gpe_en = (uint16_t)((d->gpe_en & ~(0xffu << (8 * (at - 2)))) |
					       (unsigned)b << (8 * (at - 2)));
	}
}

static int pm_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct pm *d = dev;
	int err = 0;

	switch (a->region) {
	case PM_REGION_CFG:
		err = vdev_pci_config_write(&d->pci, a, value);
		if ((a->offset < PM_PMBA + 4 && a->offset + a->size > PM_PMBA) ||
		    chipset_covers(a->offset, a->size, PM_PMREGMISC))
			pm_map(d);
		return err;
	case PM_REGION_CNT:
		pm_cnt_write(d, a->offset, a->size, value);
		return 0;
	case PM_REGION_APM:
		pm_apm_write(d, a->offset, a->size, value);
		return 0;
	case PM_REGION_GPE:
		pm_gpe_write(d, a->offset, a->size, value);
		return 0;
	case PM_REGION_PCIHP:
		if (a->offset == PCIHP_B0EJ && value)
			d->host->log(d->h, VDEV_LOG_INFO,
				     "eject request 0x%08x: vdm does not hot-unplug; ignored",
				     (uint32_t)value);
		return 0;
	}
	return VDEV_ACCESS_BUS_ERROR;
}

static void pm_reset(void *dev)
{
	struct pm *d = dev;

	vdev_pci_reset(&d->pci);
	d->cnt = d->cnt_reset;
	d->gpe_sts = d->gpe_en = 0;
	d->apms = 0;
	d->off_asked = false;
	pm_map(d);
}

static void pm_describe(struct vdev_state *st, void *dev)
{
	struct pm *d = dev;

	vdev_pci_state(st, &d->pci);
	vdev_state_u16(st, &d->cnt);
	vdev_state_u16(st, &d->gpe_sts);
	vdev_state_u16(st, &d->gpe_en);
	vdev_state_u8(st, &d->apms);
	if (vdev_state_restoring(st) && ((d->cnt & ~CNT_KEPT) || d->gpe_sts))
		vdev_state_invalid(st);
}

static void pm_restored(void *dev)
{
	struct pm *d = dev;

	vdev_pci_restored(&d->pci);
	pm_map(d);
}

static const struct chipset_state pm_state = {
    .name = PM_NAME,
    .version = PM_STATE_VERSION,
    .size = sizeof(struct pm),
    .describe = pm_describe,
    .restored = pm_restored,
};

static ssize_t pm_save(void *dev, void *buf, size_t cap)
{
	return chipset_save(&pm_state, dev, buf, cap);
}

static int pm_restore(void *dev, const void *buf, size_t length)
{
	return chipset_restore(&pm_state, dev, buf, length);
}

static int pm_status(void *dev, char *buf, size_t cap)
{
	struct pm *d = dev;
	int n = snprintf(buf, cap, "pci:0:%u.%u PM1a_CNT 0x%04x at io:0x%x, %u power-offs",
			 d->pci.dev, d->pci.fn, d->cnt, d->cnt_mapped, d->poweroffs);

	return n < 0 ? -EINVAL : 0;
}

static const struct vdev_ops pm_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = pm_create,
    .destroy = pm_destroy,
    .read = pm_read,
    .write = pm_write,
    .reset = pm_reset,
    .save = pm_save,
    .restore = pm_restore,
    .status = pm_status,
};

static const struct vdev_descriptor pm_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = PM_NAME,
    .version = "1.0.0",
    .description = "Intel PIIX4 power management at 00:01.3: PM1a_CNT (soft off), APM 0xb2, GPE0",
    .flags = VDEV_F_SINGLETON,
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(PM_NAME) - 1) + VDEV_PCI_STATE_SIZE +
		  3 * VDEV_STATE_SIZE_U16 + VDEV_STATE_SIZE_U8,
    .options = pm_options,
    .option_count = OPT_COUNT,
    .ops = &pm_ops,
};

VDEV_PLUGIN_ENTRY(pm_descriptor)
