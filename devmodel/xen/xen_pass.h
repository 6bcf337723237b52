/*
 * devmodel/xen/xen_pass.h: `pass` on the xen backend: host resources given
 * to the domain with Xen's own calls (libxenctrl), as libxl does for
 * xl.cfg's iomem=, ioports=, irqs= and pci=:
 *
 *   pass loc mem:G,LEN[,rw][=H]  xc_domain_iomem_permission + memory_mapping
 *                                (whole 4 KiB pages; G is the guest frame,
 *                                H the host one, H = G when not given)
 *   pass loc io:G,N[=H]          xc_domain_ioport_permission + ioport_mapping
 *   pass loc pci:B:D.F[=pci:...] xc_assign_device: Xen's passthrough (the IOMMU;
 *                                the function appears at its host address,
 *                                config space by Xen's vPCI or the toolstack)
 *   pass intr N                  xc_physdev_map_pirq + xc_domain_irq_permission
 *
 * What Xen cannot do is refused at the entry's file:line:col (read-only
 * memory, qvm's cache/flag letters, a PCI function moved to another guest
 * address, interrupt attributes). Everything given is taken back in reverse
 * order at teardown (the domain's death revokes it too, e.g. after
 * --restrict closed libxenctrl).
 */
#ifndef VDM_XEN_PASS_H
#define VDM_XEN_PASS_H

#include <stdint.h>
#include <xenctrl.h>

#include "conf/conf.h"

struct vm;

enum xen_pass_kind { XEN_PASS_MEM, XEN_PASS_IO, XEN_PASS_PCI, XEN_PASS_IRQ };

struct xen_pass_entry {
	enum xen_pass_kind kind;
	uint64_t guest, host, count; /* frames, ports; PCI: host SBDF in host */
	int pirq;		     /* XEN_PASS_IRQ */
};

struct xen_pass {
	struct xen_pass_entry *entries;
	unsigned count, cap;
};

/*
 * xen_pass_add: check one `pass` context and, when xch is not NULL, give
 * its resources to `domid` (recorded in *xp for xen_pass_undo). Returns 0,
 * VDM_EXIT_CONFIG (reported to diag), or VDM_EXIT_FATAL_START when Xen
 * refused (logged with the call and errno).
 */
int xen_pass_add(struct xen_pass *xp, struct vm *vm, xc_interface *xch, uint32_t domid,
		 const struct conf_region_ctx *pass, struct conf_diag *diag);

/* xen_pass_undo: take everything back (xch NULL: only forget it). */
void xen_pass_undo(struct xen_pass *xp, struct vm *vm, xc_interface *xch, uint32_t domid);

#endif /* VDM_XEN_PASS_H */
