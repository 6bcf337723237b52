/*
 * tests/conformance/refpci.c: the reference PCI function of the conformance
 * fixtures (refpci.h describes it). It follows the guide: DMA through
 * vdev_pci_dma_read/_write (bus master only, errors checked), the
 * interrupt through the PCI helper (which honours INTX_DISABLE and MSI),
 * a restore that checks every field it will use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/conformance/refpci.h"

#define CFG_REGION  0
#define BAR0_REGION 1
#define BAR2_REGION 2
#define BAR_SIZE    0x1000u
#define MSIX_PBA    0x800u

const struct vdev_option_spec refpci_options[REFPCI_OPT_COUNT] = {
    [REFPCI_OPT_LATENCY] = {.name = "latency",
			    .type = VDEV_OPT_UINT,
			    .flags = VDEV_OPTF_RANGE,
			    .default_value = "1000",
			    .help = "nanoseconds from a DMA command to its completion",
			    .min = 1,
			    .max = 1000000},
};

static const struct vdev_pci_ident refpci_ident = {
    .vendor = 0x1af4, /* any vendor but 0 / 0xffff: this function never meets a driver */
    .device = 0x10f0,
    .class_code = 0xff0000,
    .revision = 1,
    .interrupt_pin = 1,
};

void refpci_irq(struct refpci *d, bool level, bool rising)
{
	if (vdev_pci_msix_enabled(&d->pci)) {
		if (rising)
			vdev_pci_msix_notify(&d->pci, 0);
	} else if (vdev_pci_msi_enabled(&d->pci)) {
		if (rising)
			vdev_pci_msi_send(&d->pci, 0);
	}
	/* The helper keeps INTx low while INTX_DISABLE, MSI or MSI-X is on. */
	vdev_pci_intx(&d->pci, level);
}

static void update_irq(struct refpci *d)
{
	bool level = (d->regs[RP_CTRL] & 1) && (d->regs[RP_STATUS] & 3);
	bool rising = level && !d->irq;

	d->irq = level;
	if (refpci_variant.irq)
		refpci_variant.irq(d, level, rising);
	else
		refpci_irq(d, level, rising);
}

int refpci_copy(struct refpci *d)
{
	uint8_t buf[REFPCI_DMA_MAX];
	uint32_t len = d->regs[RP_LEN];
	int rc;

	if (!len || len > REFPCI_DMA_MAX)
		return -EINVAL;
	rc = vdev_pci_dma_read(&d->pci, d->regs[RP_SRC], buf, len);
	if (rc == 0)
		rc = vdev_pci_dma_write(&d->pci, d->regs[RP_DST], buf, len);
	if (rc == 0)
		memcpy(d->fifo, buf + len - (len < REFPCI_FIFO ? len : REFPCI_FIFO),
		       len < REFPCI_FIFO ? len : REFPCI_FIFO);
	return rc;
}

static void refpci_done(void *dev, void *arg)
{
	struct refpci *d = dev;
	int rc = refpci_variant.copy ? refpci_variant.copy(d) : refpci_copy(d);

	d->busy = false;
	d->fifo_pos = 0;
	d->regs[RP_STATUS] |= rc == 0 ? RP_STATUS_DONE : RP_STATUS_ERROR;
	update_irq(d);
}

static void power_on(struct refpci *d)
{
	memset(d->regs, 0, sizeof(d->regs));
	memset(d->fifo, 0, sizeof(d->fifo));
	d->regs[RP_ID] = REFPCI_ID;
	d->fifo_pos = 0;
	d->busy = false;
	d->irq = false;
}

static int refpci_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **dev)
{
	struct refpci *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	d->latency = cfg->options[REFPCI_OPT_LATENCY].v.u;
	rc = vdev_pci_init(&d->pci, host, h, &refpci_ident, CFG_REGION);
	if (!rc)
		rc = vdev_pci_bar_declare(&d->pci, 0, VDEV_PCI_BAR_MEM32, BAR_SIZE, 0, BAR0_REGION);
	if (!rc)
		rc = vdev_pci_bar_declare(&d->pci, 2, VDEV_PCI_BAR_MEM32, BAR_SIZE, 0, BAR2_REGION);
	if (!rc)
		rc = vdev_pci_msi_add(&d->pci, true, 1);
	if (!rc)
		rc = vdev_pci_msix_add(&d->pci, 1, 2, 0, MSIX_PBA);
	if (!rc && cfg->intr_count) {
		rc = host->intr_lookup(h, cfg->intrs[0], &d->line);
		if (!rc)
			vdev_pci_set_intx_line(&d->pci, d->line);
	}
	if (!rc)
		rc = host->timer_create(h, refpci_done, NULL, &d->timer);
	if (!rc)
		rc = vdev_pci_attach(&d->pci, cfg);
	if (rc) {
		free(d);
		return rc;
	}
	power_on(d);
	*dev = d;
	return 0;
}

static void refpci_destroy(void *dev)
{
	struct refpci *d = dev;

	d->host->timer_destroy(d->h, d->timer);
	free(d);
}

static int bar0_read(struct refpci *d, const struct vdev_access *a, uint64_t *value)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < a->size; i++) {
		uint64_t off = a->offset + i;
		uint32_t reg = off / 4 < RP_REGS ? d->regs[off / 4] : 0;

		if (off / 4 == RP_FIFO)
			reg = d->fifo[d->fifo_pos];
		v |= (uint64_t)(uint8_t)(reg >> (8 * (off % 4))) << (8 * i);
	}
	if (a->offset / 4 <= RP_FIFO && (a->offset + a->size - 1) / 4 >= RP_FIFO)
		d->fifo_pos = (d->fifo_pos + 1) % REFPCI_FIFO;
	*value = v;
	return 0;
}

static int bar0_write(struct refpci *d, const struct vdev_access *a, uint64_t value)
{
	uint32_t v = (uint32_t)value;

	if (a->size != 4 || a->offset % 4)
		return 0; /* registers take whole 32-bit writes */
	switch (a->offset / 4) {
	case RP_CTRL:
		d->regs[RP_CTRL] = v & 1;
		break;
	case RP_STATUS:
		d->regs[RP_STATUS] &= ~v;
		break;
	case RP_SRC:
	case RP_DST:
	case RP_LEN:
		d->regs[a->offset / 4] = v;
		break;
	case RP_CMD:
		if ((v & 1) && !d->busy) {
			d->busy = true;
			d->host->timer_arm(d->h, d->timer, d->latency, 0);
		}
		break;
	}
	update_irq(d);
	return 0;
}

static int refpci_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct refpci *d = dev;

	if (vdev_pci_is_config(&d->pci, a))
		return vdev_pci_config_read(&d->pci, a, value);
	if (vdev_pci_is_msix(&d->pci, a))
		return vdev_pci_msix_read(&d->pci, a, value);
	if (a->region == BAR0_REGION)
		return bar0_read(d, a, value);
	*value = 0;
	return 0;
}

static int refpci_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct refpci *d = dev;
	int rc = 0;

	if (vdev_pci_is_config(&d->pci, a))
		rc = vdev_pci_config_write(&d->pci, a, value);
	else if (vdev_pci_is_msix(&d->pci, a))
		rc = vdev_pci_msix_write(&d->pci, a, value);
	else if (a->region == BAR0_REGION)
		return bar0_write(d, a, value);
	/* MSI/MSI-X enable may have changed where the interrupt goes. */
	d->irq = false;
	update_irq(d);
	return rc;
}

static void refpci_reset(void *dev)
{
	struct refpci *d = dev;

	d->host->timer_cancel(d->h, d->timer);
	power_on(d);
	vdev_pci_reset(&d->pci);
}

static void refpci_state(struct vdev_state *st, struct refpci *d)
{
	vdev_pci_state(st, &d->pci);
	for (unsigned i = 0; i < RP_REGS; i++)
		vdev_state_u32(st, &d->regs[i]);
	vdev_state_bytes(st, d->fifo, sizeof(d->fifo));
	vdev_state_u32(st, &d->fifo_pos);
	vdev_state_bool(st, &d->busy);
	vdev_state_bool(st, &d->irq);
	if (!vdev_state_restoring(st))
		return;
	/* Every value the device will use is checked before it is used. */
	if (d->regs[RP_ID] != REFPCI_ID || (d->regs[RP_CTRL] & ~1u) || (d->regs[RP_STATUS] & ~3u))
		vdev_state_invalid(st);
	if (!refpci_variant.trust_fifo_pos && d->fifo_pos >= REFPCI_FIFO)
		vdev_state_invalid(st);
}

static ssize_t refpci_save(void *dev, void *buf, size_t cap)
{
	struct refpci *d = dev;
	struct vdev_state st;

	if (refpci_variant.count_saves)
		d->regs[RP_FIFO]++;
	if (vdev_state_save_begin(&st, buf, cap, "refpci", REFPCI_STATE_VERSION) == 0)
		refpci_state(&st, d);
	return vdev_state_save_end(&st);
}

static int refpci_restore(void *dev, const void *buf, size_t length)
{
	struct refpci *d = dev;
	struct refpci *scratch = malloc(sizeof(*scratch));
	struct vdev_state st;
	int rc;

	if (!scratch)
		return -ENOMEM;
	/* Into a scratch copy first: a refused state changes nothing. */
	*scratch = *d;
	if (vdev_state_restore_begin(&st, buf, length, "refpci", REFPCI_STATE_VERSION) == 0)
		refpci_state(&st, scratch);
	rc = vdev_state_restore_end(&st);
	if (rc == 0) {
		*d = *scratch;
		vdev_pci_restored(&d->pci);
		if (d->busy)
			d->host->timer_arm(d->h, d->timer, d->latency, 0);
		else
			d->host->timer_cancel(d->h, d->timer);
		update_irq(d);
	}
	free(scratch);
	return rc;
}

const struct vdev_ops refpci_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = refpci_create,
    .destroy = refpci_destroy,
    .read = refpci_read,
    .write = refpci_write,
    .reset = refpci_reset,
    .save = refpci_save,
    .restore = refpci_restore,
};
