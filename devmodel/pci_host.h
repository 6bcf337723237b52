/*
 * devmodel/pci_host.h: the core's PCI host bridge for the backends that see
 * raw port I/O (kvm, sim): configuration mechanism #1 on ports 0xcf8/0xcfc
 * translated into accesses of VDEV_SPACE_PCICFG, and the host bridge
 * function itself at 0:0.0. Xen decodes CF8/CFC in the hypervisor and sends
 * IOREQ_TYPE_PCI_CONFIG, so a Xen VM does not attach it.
 *
 * Threads: attach/detach (and new/register/free) on vdm's main thread
 * while no guest access runs; the port handlers on any vCPU thread.
 */
#ifndef VDM_PCI_HOST_H
#define VDM_PCI_HOST_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct iomap;
struct pci_host;

#define PCI_HOST_CONFIG_ADDRESS 0xcf8u
#define PCI_HOST_CONFIG_DATA    0xcfcu

/* The host bridge's identity (an i440FX-style host bridge). */
#define PCI_HOST_VENDOR   0x8086u
#define PCI_HOST_DEVICE   0x1237u
#define PCI_HOST_CLASS    0x060000u
#define PCI_HOST_REVISION 0x02u

/*
 * pci_host_new: a host bridge routing into map `m` (which must outlive it);
 * nothing registered yet. NULL on ENOMEM.
 * pci_host_register: claim pio 0xcf8-0xcfb, pio 0xcfc-0xcff and pcicfg
 * 0:0.0 (4 KiB) in the map. Returns 0, or iomap_add's error (-EEXIST when
 * something already owns one of them), with nothing left registered.
 * pci_host_register_ports / _bridge: the two halves of it (the ports
 * only; the bridge function only, -EEXIST when 0:0.0 is taken).
 * pci_host_free: remove whatever is registered, wait for accesses in
 * flight (iomap_drain) and free. NULL is fine.
 */
struct pci_host *pci_host_new(struct iomap *m);
int pci_host_register(struct pci_host *ph);
int pci_host_register_ports(struct pci_host *ph);
/* CONFIG_ADDRESS alone (0xcf8-0xcfb, the latch read back), for a
 * hypervisor that decodes CONFIG_DATA itself (backend.h,
 * pci_config_address); 0 or -EEXIST. */
int pci_host_register_address(struct pci_host *ph);
int pci_host_register_bridge(struct pci_host *ph);
void pci_host_free(struct pci_host *ph);

/* The CONFIG_ADDRESS register's current value (for tests and status). */
uint32_t pci_host_config_address(const struct pci_host *ph);

/*
 * pci_host_attach: new + register the ports on vm_iomap(vm) (both with
 * data_port, else CONFIG_ADDRESS alone), remembered for pci_host_detach.
 * Call it from vm_assemble after the backend's setup, before the memory
 * map and the vdevs (so that a vdev claiming 0xcf8 or 0xcfc is reported
 * as a conflict).
 * Returns 0; -EEXIST when already attached to vm or a port is taken;
 * -ENOMEM.
 * pci_host_attach_bridge: after the vdevs, the fallback host bridge at
 * 0:0.0 unless something owns that function already (a chipset vdev such
 * as i440fx, or a `reserve loc pci:0:0`). Returns 1 when it registered
 * the bridge, 0 when 0:0.0 was taken, -ENOENT when not attached.
 * pci_host_detach: undo both (before vm's iomap is freed); nothing when
 * not attached.
 */
int pci_host_attach(struct vm *vm, bool data_port);
int pci_host_attach_bridge(struct vm *vm);
void pci_host_detach(struct vm *vm);

#endif /* VDM_PCI_HOST_H */
