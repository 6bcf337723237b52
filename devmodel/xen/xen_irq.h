/*
 * devmodel/xen/xen_irq.h: Xen's own interrupt controllers, by name.
 *
 * The controllers a Xen guest already has are emulated by Xen itself; vdm
 * drives their inputs through libxendevicemodel (xen-ioreq.md 2.6):
 *
 *   name  lines  guest         call                         line number
 *   isa   16     x86 HVM       set_isa_irq_level            ISA IRQ 0..15
 *   pci   128    x86 HVM       set_pci_intx_level           slot*4 + pin (0=INTA..3=INTD), bus 0
 *   msi   256    x86 HVM, PVH  inject_msi                   vector (16..255), to APIC 0, edge
 *   gic   1020   Arm           set_irq_level                SPI interrupt id (32..1019)
 *
 * plus the MSI sink (irq_msi_send, a vdev's msi_send) -> inject_msi on x86.
 * Which set is registered depends on the guest: a PVH guest has no emulated
 * PIC/IOAPIC (only "msi"), an HVM guest has all three x86 ones, an Arm
 * guest only "gic" (and no MSI sink). A config naming a controller the
 * guest lacks is then a configuration error naming the known ones.
 *
 * Threads: the controllers' ops run on whatever thread drives a line.
 */
#ifndef VDM_XEN_IRQ_H
#define VDM_XEN_IRQ_H

#include <stdint.h>

#include <xendevicemodel.h>

struct vm;
struct irq_controller;

enum xen_guest_kind {
	XEN_GUEST_X86_ANY, /* not attached (dryrun): every x86 controller */
	XEN_GUEST_HVM,
	XEN_GUEST_PVH,
	XEN_GUEST_ARM,
};

const char *xen_guest_kind_name(enum xen_guest_kind kind);

#define XEN_IRQ_ISA_LINES 16
#define XEN_IRQ_PCI_LINES 128
#define XEN_IRQ_MSI_LINES 256
#define XEN_IRQ_GIC_LINES 1020
#define XEN_IRQ_GIC_FIRST_SPI 32
/* Where a line of the "msi" controller is sent: APIC 0, fixed, edge. */
#define XEN_IRQ_MSI_ADDRESS 0xfee00000u

struct xen_irq {
	struct vm *vm;
	xendevicemodel_handle *dmod; /* NULL: not attached, calls are dropped */
	uint16_t domid;
	enum xen_guest_kind kind;
	struct irq_controller *isa, *pci, *msi, *gic;
	unsigned long refused; /* line changes Xen or the rules refused */
};

/*
 * xen_irq_register: register the controllers for `kind` on vm_irq(vm) and,
 * on x86, the MSI sink. dmod may be NULL (dryrun). 0 or a negative errno
 * (every controller registered so far is unregistered again).
 */
int xen_irq_register(struct xen_irq *xi, struct vm *vm, xendevicemodel_handle *dmod,
		     uint16_t domid, enum xen_guest_kind kind);
/* xen_irq_unregister: undo xen_irq_register (safe if it failed or never ran). */
void xen_irq_unregister(struct xen_irq *xi);

#endif /* VDM_XEN_IRQ_H */
