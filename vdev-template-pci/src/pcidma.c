/*
 * vdev-template-pci/src/pcidma.c: vdev-pcidma, a PCI function to copy: a
 * memory BAR of registers, a DMA engine that copies guest memory, and its
 * completion interrupt on INTx, MSI or MSI-X. Built on the SDK's PCI helper
 * (vdev/pci.h, sdk/PCI.md) and state codec (vdev/state.h).
 *
 *	vdev pcidma                          (placed on the first free slot)
 *	vdev pcidma loc pci:0:5 intr pci:20  (slot 5, INTA#: line 5 * 4 + 0)
 *
 * BAR0, 4 KiB of memory, 32-bit registers (other sizes read as bytes of
 * them; writes of other sizes are ignored):
 *   0x00 ID          RO  0x414d4450 ("PDMA")
 *   0x04 SCRATCH     RW  nothing but storage
 *   0x08 STATUS      W1C bit 0 DONE, bit 1 ERROR (the last copy failed)
 *   0x0c IRQ_ENABLE  RW  which STATUS bits interrupt
 *   0x10 SRC_LO/0x14 SRC_HI, 0x18 DST_LO/0x1c DST_HI  guest addresses
 *   0x20 LEN         RW  bytes to copy, 1..4096
 *   0x24 CMD         W: bit 0 starts a copy; R: bit 0 BUSY
 * BAR2, 4 KiB of memory: the MSI-X table (one vector) at 0, its PBA at 0x800.
 *
 * A copy completes `latency` nanoseconds after it starts (a timer, so no
 * callback ever waits), through vdev_pci_dma_read/_write: only while the
 * guest made the function a bus master, and every error (an address
 * outside RAM, the host refusing) ends it with ERROR rather than copying
 * what the buffer held. The interrupt, (STATUS & IRQ_ENABLE) != 0, is one
 * MSI-X message or MSI per rising edge when those are enabled, else a level
 * on INTA# (the helper keeps it low while INTX_DISABLE, MSI or MSI-X is on).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#define PCIDMA_NAME	     "pcidma"
#define PCIDMA_ID	     0x414d4450u
#define PCIDMA_STATE_VERSION 1u
#define PCIDMA_MAX	     4096u
#define CFG_REGION	     0
#define REGS_REGION	     1
#define MSIX_REGION	     2
#define BAR_SIZE	     0x1000u
#define MSIX_PBA	     0x800u

enum {
	R_ID,
	R_SCRATCH,
	R_STATUS,
	R_IRQ_ENABLE,
	R_SRC_LO,
	R_SRC_HI,
	R_DST_LO,
	R_DST_HI,
	R_LEN,
	R_CMD,
	R_COUNT
};
#define STATUS_DONE  1u
#define STATUS_ERROR 2u

struct pcidma {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_pci pci;
	struct vdev_timer *timer;
	uint64_t latency;
	uint32_t regs[R_COUNT];
	bool busy;
	bool irq;		 /* the interrupt condition last signalled */
	uint8_t buf[PCIDMA_MAX]; /* the bounce buffer of a copy */
};

enum { OPT_LATENCY, OPT_COUNT };
static const struct vdev_option_spec pcidma_options[OPT_COUNT] = {
    [OPT_LATENCY] = {.name = "latency",
		     .type = VDEV_OPT_UINT,
		     .flags = VDEV_OPTF_RANGE,
		     .default_value = "10000",
		     .help = "nanoseconds from CMD to the end of a copy",
		     .min = 1,
		     .max = 1000000000},
};

static const struct vdev_pci_ident pcidma_ident = {
    .vendor = 0x1af4, /* replace with your own vendor and device ids */
    .device = 0x10f1,
    .class_code = 0xff0000, /* unclassified */
    .revision = 1,
    .interrupt_pin = 1, /* INTA# */
};

static uint64_t reg64(const struct pcidma *d, unsigned lo)
{
	return (uint64_t)d->regs[lo + 1] << 32 | d->regs[lo];
}

/* After every change of STATUS, IRQ_ENABLE, MSI or MSI-X: recompute. */
static void pcidma_update_irq(struct pcidma *d)
{
	bool level = (d->regs[R_STATUS] & d->regs[R_IRQ_ENABLE]) != 0;
	bool rising = level && !d->irq;

	d->irq = level;
	if (rising && vdev_pci_msix_enabled(&d->pci))
		vdev_pci_msix_notify(&d->pci, 0);
	else if (rising && vdev_pci_msi_enabled(&d->pci))
		vdev_pci_msi_send(&d->pci, 0);
	vdev_pci_intx(&d->pci, level);
}

static int pcidma_copy(struct pcidma *d)
{
	uint32_t len = d->regs[R_LEN];
	int rc;

	if (!len || len > PCIDMA_MAX)
		return -EINVAL;
	rc = vdev_pci_dma_read(&d->pci, reg64(d, R_SRC_LO), d->buf, len);
	if (rc == 0)
		rc = vdev_pci_dma_write(&d->pci, reg64(d, R_DST_LO), d->buf, len);
	return rc;
}

static void pcidma_done(void *dev, void *arg)
{
	struct pcidma *d = dev;

	d->busy = false;
	d->regs[R_STATUS] |= pcidma_copy(d) == 0 ? STATUS_DONE : STATUS_ERROR;
	pcidma_update_irq(d);
}

static void pcidma_power_on(struct pcidma *d)
{
	memset(d->regs, 0, sizeof(d->regs));
	d->regs[R_ID] = PCIDMA_ID;
	d->busy = false;
	d->irq = false;
}

static int pcidma_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	struct pcidma *d;
	struct vdev_line *line;
	int err;

	if (cfg->struct_size < sizeof(*cfg))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	d->latency = cfg->options[OPT_LATENCY].v.u;
	err = vdev_pci_init(&d->pci, host, h, &pcidma_ident, CFG_REGION);
	err = err ?: vdev_pci_bar_declare(&d->pci, 0, VDEV_PCI_BAR_MEM32, BAR_SIZE, 0, REGS_REGION);
	err = err ?: vdev_pci_bar_declare(&d->pci, 2, VDEV_PCI_BAR_MEM32, BAR_SIZE, 0, MSIX_REGION);
	err = err ?: vdev_pci_msi_add(&d->pci, true, 1);
	err = err ?: vdev_pci_msix_add(&d->pci, 1, 2, 0, MSIX_PBA);
	/* INTx only when the configuration gives a line (for the "pci"
	 * controller, the one of this slot: the helper checks). */
	if (!err && cfg->intr_count) {
		err = host->intr_lookup(h, cfg->intrs[0], &line);
		if (err)
			host->log(h, VDEV_LOG_ERROR, "intr %s: %d", cfg->intrs[0], err);
		else
			vdev_pci_set_intx_line(&d->pci, line);
	}
	err = err ?: host->timer_create(h, pcidma_done, NULL, &d->timer);
	err = err ?: vdev_pci_attach(&d->pci, cfg);
	if (err) {
		/* the host releases the regions, line and timer taken */
		free(d);
		return err;
	}
	pcidma_power_on(d);
	*dev = d;
	return 0;
}

static void pcidma_destroy(void *dev)
{
	struct pcidma *d = dev;

	d->host->timer_destroy(d->h, d->timer);
	free(d);
}

static int regs_read(struct pcidma *d, const struct vdev_access *a, uint64_t *value)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < a->size; i++) {
		uint64_t off = a->offset + i;
		uint32_t reg = off / 4 < R_COUNT ? d->regs[off / 4] : 0;

		if (off / 4 == R_CMD)
			reg = d->busy;
		v |= (uint64_t)(uint8_t)(reg >> (8 * (off % 4))) << (8 * i);
	}
	*value = v;
	return 0;
}

static void regs_write(struct pcidma *d, const struct vdev_access *a, uint32_t v)
{
	unsigned reg = (unsigned)(a->offset / 4);

	if (a->size != 4 || a->offset % 4 || reg >= R_COUNT)
		return;
	switch (reg) {
	case R_ID:
		break;
	case R_STATUS:
		d->regs[R_STATUS] &= ~v;
		break;
	case R_IRQ_ENABLE:
		d->regs[reg] = v & (STATUS_DONE | STATUS_ERROR);
		break;
	case R_CMD:
		if ((v & 1) && !d->busy) {
			d->busy = true;
			d->host->timer_arm(d->h, d->timer, d->latency, 0);
		}
		break;
	default:
		d->regs[reg] = v;
		break;
	}
}

static int pcidma_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct pcidma *d = dev;

	if (vdev_pci_is_config(&d->pci, a))
		return vdev_pci_config_read(&d->pci, a, value);
	if (vdev_pci_is_msix(&d->pci, a))
		return vdev_pci_msix_read(&d->pci, a, value);
	if (a->region == REGS_REGION)
		return regs_read(d, a, value);
	*value = 0; /* the rest of BAR2 */
	return 0;
}

static int pcidma_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct pcidma *d = dev;

	if (vdev_pci_is_config(&d->pci, a)) {
		vdev_pci_config_write(&d->pci, a, value);
		d->irq = false; /* MSI/MSI-X may have been turned on: signal anew */
	} else if (vdev_pci_is_msix(&d->pci, a)) {
		vdev_pci_msix_write(&d->pci, a, value);
	} else if (a->region == REGS_REGION) {
		regs_write(d, a, (uint32_t)value);
	}
	pcidma_update_irq(d);
	return 0;
}

static void pcidma_reset(void *dev)
{
	struct pcidma *d = dev;

	d->host->timer_cancel(d->h, d->timer);
	pcidma_power_on(d);
	vdev_pci_reset(&d->pci);
}

/* One description for both directions; restoring, every value is checked
 * before the device could use it. */
static void pcidma_state(struct vdev_state *st, struct pcidma *d)
{
	vdev_pci_state(st, &d->pci);
	for (unsigned i = 0; i < R_COUNT; i++)
		vdev_state_u32(st, &d->regs[i]);
	vdev_state_bool(st, &d->busy);
	vdev_state_bool(st, &d->irq);
	if (vdev_state_restoring(st) && (d->regs[R_ID] != PCIDMA_ID || (d->regs[R_STATUS] & ~3u) ||
					 (d->regs[R_IRQ_ENABLE] & ~3u) || d->regs[R_CMD] != 0))
		vdev_state_invalid(st);
}

static ssize_t pcidma_save(void *dev, void *buf, size_t cap)
{
	struct vdev_state st;

	if (vdev_state_save_begin(&st, buf, cap, PCIDMA_NAME, PCIDMA_STATE_VERSION) == 0)
		pcidma_state(&st, dev);
	return vdev_state_save_end(&st);
}

static int pcidma_restore(void *dev, const void *buf, size_t length)
{
	struct pcidma *d = dev, *scratch = malloc(sizeof(*scratch));
	struct vdev_state st;
	int err;

	if (!scratch)
		return -ENOMEM;
	/* Into a scratch copy first: a refused state changes nothing. */
	memcpy(scratch, d, sizeof(*d));
	if (vdev_state_restore_begin(&st, buf, length, PCIDMA_NAME, PCIDMA_STATE_VERSION) == 0)
		pcidma_state(&st, scratch);
	err = vdev_state_restore_end(&st);
	if (err == 0) {
		memcpy(d, scratch, sizeof(*d));
		vdev_pci_restored(&d->pci);
		if (d->busy) /* a copy in flight finishes after the restore */
			d->host->timer_arm(d->h, d->timer, d->latency, 0);
		else
			d->host->timer_cancel(d->h, d->timer);
		pcidma_update_irq(d);
	}
	free(scratch);
	return err;
}

static const struct vdev_ops pcidma_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = pcidma_create,
    .destroy = pcidma_destroy,
    .read = pcidma_read,
    .write = pcidma_write,
    .reset = pcidma_reset,
    .save = pcidma_save,
    .restore = pcidma_restore,
};

static const struct vdev_descriptor pcidma_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = PCIDMA_NAME,
    .version = "1.0.0",
    .description = "template PCI function: a DMA copy engine with INTx, MSI and MSI-X",
    .default_space = VDEV_SPACE_MMIO, /* of address locs: they place the BARs */
    .access_sizes =
	VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4) | VDEV_ACCESS_SIZE(8),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(PCIDMA_NAME) - 1) + VDEV_PCI_STATE_SIZE +
		  VDEV_PCI_MSIX_STATE_SIZE(1) + R_COUNT * VDEV_STATE_SIZE_U32 +
		  2 * VDEV_STATE_SIZE_BOOL,
    .options = pcidma_options,
    .option_count = OPT_COUNT,
    .ops = &pcidma_ops,
};

VDEV_PLUGIN_ENTRY(pcidma_descriptor)
