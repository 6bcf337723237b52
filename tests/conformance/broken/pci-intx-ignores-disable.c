/*
 * vdev-broken-pci-intx-ignores-disable.so: the PCI reference function
 * raising INTx on its line itself, whatever COMMAND.INTX_DISABLE says and
 * also while MSI or MSI-X is enabled (a driver that masked INTx, or that
 * moved to MSI, still gets level interrupts on a shared line).
 * Caught by: pci-command (fail).
 */
#include <errno.h>
#include <string.h>

#include "tests/conformance/refpci.h"

static void broken_irq(struct refpci *d, bool level, bool rising)
{
	refpci_irq(d, level, rising);
	/* The defect: the line driven directly, past the helper that honours
	 * COMMAND.INTX_DISABLE and MSI/MSI-X enable. */
	if (d->line)
		d->host->line_set(d->h, d->line, level);
}

const struct refpci_variant refpci_variant = {.irq = broken_irq};

static const struct vdev_descriptor broken = {
    REFPCI_DESCRIPTOR_COMMON,
    .name = "broken-pci-intx-ignores-disable",
    .ops = &refpci_ops,
};

VDEV_PLUGIN_ENTRY(broken)
