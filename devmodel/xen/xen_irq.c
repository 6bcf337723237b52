/*
 * devmodel/xen/xen_irq.c: the native controllers of xen_irq.h.
 *
 * Xen checks every argument itself (EINVAL); the checks here are only the
 * ones Xen cannot make for us: an "msi" line below 16 would be an
 * exception vector (and vector 0 means "emulated PIRQ" to Xen), a "gic"
 * line below 32 is an SGI/PPI that set_irq_level refuses. Refusals are
 * logged once per line, never fatal: a device driving a bad line must not
 * end the guest.
 */
#include "devmodel/xen/xen_irq.h"

#include <errno.h>
#include <string.h>

#include "devmodel/irq.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"

const char *xen_guest_kind_name(enum xen_guest_kind kind)
{
	switch (kind) {
	case XEN_GUEST_X86_ANY: return "x86 (not attached)";
	case XEN_GUEST_HVM: return "x86 HVM";
	case XEN_GUEST_PVH: return "x86 PVH";
	case XEN_GUEST_ARM: return "Arm";
	}
	return "?";
}

static void xen_irq_failed(struct xen_irq *xi, const char *what, unsigned line, int level)
{
	int err = errno;

	__atomic_fetch_add(&xi->refused, 1, __ATOMIC_RELAXED);
	vm_log(xi->vm, LOG_LVL_WARN, "xen: %s line %u level %d refused: %s", what, line, level,
	       strerror(err));
}

static void xen_isa_set(void *ctx, unsigned line, int level)
{
	struct xen_irq *xi = ctx;

	if (xi->dmod &&
	    xendevicemodel_set_isa_irq_level(xi->dmod, xi->domid, (uint8_t)line, level ? 1 : 0) < 0)
		xen_irq_failed(xi, "isa", line, level);
}

static void xen_pci_set(void *ctx, unsigned line, int level)
{
	struct xen_irq *xi = ctx;

	/* Xen only has segment 0, bus 0 for INTx (xen-ioreq.md 2.6) */
	if (xi->dmod && xendevicemodel_set_pci_intx_level(xi->dmod, xi->domid, 0, 0,
							   (uint8_t)(line / 4), (uint8_t)(line % 4),
							   level ? 1 : 0) < 0)
		xen_irq_failed(xi, "pci", line, level);
}

static void xen_msi_send_vector(struct xen_irq *xi, unsigned vector)
{
	if (vector < 16) {
		errno = EINVAL;
		xen_irq_failed(xi, "msi (vectors 0..15 are not interrupts)", vector, 1);
		return;
	}
	if (xi->dmod && xendevicemodel_inject_msi(xi->dmod, xi->domid, XEN_IRQ_MSI_ADDRESS,
						  vector) < 0)
		xen_irq_failed(xi, "msi", vector, 1);
}

/* An MSI is an edge: only a rising level sends one. */
static void xen_msi_set(void *ctx, unsigned line, int level)
{
	if (level)
		xen_msi_send_vector(ctx, line);
}

static void xen_msi_pulse(void *ctx, unsigned line)
{
	xen_msi_send_vector(ctx, line);
}

static void xen_gic_set(void *ctx, unsigned line, int level)
{
	struct xen_irq *xi = ctx;

	if (line < XEN_IRQ_GIC_FIRST_SPI) {
		errno = EINVAL;
		xen_irq_failed(xi, "gic (only SPIs, 32 and up)", line, level);
		return;
	}
	if (xi->dmod && xendevicemodel_set_irq_level(xi->dmod, xi->domid, line, level ? 1 : 0) < 0)
		xen_irq_failed(xi, "gic", line, level);
}

static int xen_msi_sink(void *ctx, uint64_t address, uint32_t data)
{
	struct xen_irq *xi = ctx;

	if (!xi->dmod)
		return -ENOTCONN;
	if (xendevicemodel_inject_msi(xi->dmod, xi->domid, address, data) < 0) {
		int err = errno ? errno : EIO;

		xen_irq_failed(xi, "msi sink", data & 0xff, 1);
		return -err;
	}
	return 0;
}

static const struct irq_controller_ops xen_isa_ops = { .set_level = xen_isa_set };
static const struct irq_controller_ops xen_pci_ops = { .set_level = xen_pci_set };
static const struct irq_controller_ops xen_msi_ops = { .set_level = xen_msi_set,
						       .pulse = xen_msi_pulse };
static const struct irq_controller_ops xen_gic_ops = { .set_level = xen_gic_set };

int xen_irq_register(struct xen_irq *xi, struct vm *vm, xendevicemodel_handle *dmod,
		     uint16_t domid, enum xen_guest_kind kind)
{
	struct irq_registry *r = vm_irq(vm);
	bool x86 = kind != XEN_GUEST_ARM;
	bool legacy = kind == XEN_GUEST_HVM || kind == XEN_GUEST_X86_ANY;
	int rc = 0;

	memset(xi, 0, sizeof(*xi));
	xi->vm = vm;
	xi->dmod = dmod;
	xi->domid = domid;
	xi->kind = kind;
	if (legacy) {
		rc = irq_controller_register(r, "isa", XEN_IRQ_ISA_LINES, &xen_isa_ops, xi,
					     &xi->isa);
		if (rc == 0)
			rc = irq_controller_register(r, "pci", XEN_IRQ_PCI_LINES, &xen_pci_ops, xi,
						     &xi->pci);
	}
	if (rc == 0 && x86) {
		rc = irq_controller_register(r, "msi", XEN_IRQ_MSI_LINES, &xen_msi_ops, xi,
					     &xi->msi);
		if (rc == 0)
			irq_msi_set_sink(r, xen_msi_sink, xi);
	}
	if (rc == 0 && !x86)
		rc = irq_controller_register(r, "gic", XEN_IRQ_GIC_LINES, &xen_gic_ops, xi,
					     &xi->gic);
	if (rc < 0)
		xen_irq_unregister(xi);
	return rc;
}

void xen_irq_unregister(struct xen_irq *xi)
{
	struct irq_registry *r;

	if (!xi->vm)
		return;
	r = vm_irq(xi->vm);
	if (xi->msi)
		irq_msi_set_sink(r, NULL, NULL);
	if (xi->isa)
		irq_controller_unregister(r, xi->isa);
	if (xi->pci)
		irq_controller_unregister(r, xi->pci);
	if (xi->msi)
		irq_controller_unregister(r, xi->msi);
	if (xi->gic)
		irq_controller_unregister(r, xi->gic);
	xi->isa = xi->pci = xi->msi = xi->gic = NULL;
	xi->dmod = NULL;
}
