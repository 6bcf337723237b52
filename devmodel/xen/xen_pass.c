/*
 * devmodel/xen/xen_pass.c: `pass` through Xen's own calls (xen_pass.h).
 */
#include "devmodel/xen/xen_pass.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/exitcode.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"

#define XEN_PASS_PAGE  4096u
#define XEN_PASS_SYSFS "/sys/bus/pci/devices"

static int xen_pass_push(struct xen_pass *xp, const struct xen_pass_entry *e)
{
	if (xp->count == xp->cap) {
		unsigned cap = xp->cap ? xp->cap * 2 : 8;
		struct xen_pass_entry *n = realloc(xp->entries, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		xp->entries = n;
		xp->cap = cap;
	}
	xp->entries[xp->count++] = *e;
	return 0;
}

/* The host function with this vendor/device id (the first one), as an SBDF. */
static int xen_pass_find_pci(uint16_t vendor, uint16_t device, uint32_t *sbdf)
{
	DIR *d = opendir(XEN_PASS_SYSFS);
	struct dirent *de;
	int ret = -ENOENT;

	if (!d)
		return -errno;
	while (ret == -ENOENT && (de = readdir(d))) {
		unsigned seg, bus, dev, fn, v = 0, id = 0;
		char path[512];
		FILE *f;

		if (sscanf(de->d_name, "%x:%x:%x.%x", &seg, &bus, &dev, &fn) != 4)
			continue;
		snprintf(path, sizeof(path), XEN_PASS_SYSFS "/%s/vendor", de->d_name);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%x", &v) != 1)
				v = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), XEN_PASS_SYSFS "/%s/device", de->d_name);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%x", &id) != 1)
				id = 0;
			fclose(f);
		}
		if (v == vendor && id == device) {
			*sbdf = seg << 16 | bus << 8 | dev << 3 | fn;
			ret = 0;
		}
	}
	closedir(d);
	return ret;
}

static uint32_t xen_pass_sbdf(const struct vdev_loc *l)
{
	return (uint32_t)l->bus << 8 | (uint32_t)l->dev << 3 | l->fn;
}

/* A host resource Xen refused: logged with the call, fatal before the start. */
static int xen_pass_refused(struct vm *vm, const struct conf_loc *cl, const char *call, int err)
{
	vm_log(vm, LOG_LVL_FATAL, "%s:%u:%u: pass %s: %s: %s", cl ? cl->pos.file : "?",
	       cl ? cl->pos.line : 0, cl ? cl->pos.col : 0, cl ? cl->text : "intr", call,
	       strerror(err));
	return VDM_EXIT_FATAL_START;
}

/* One `pass loc`: checked, and applied when xch is given. */
static int xen_pass_loc(struct xen_pass *xp, struct vm *vm, xc_interface *xch, uint32_t domid,
			const struct conf_loc *cl, struct conf_diag *diag)
{
	const struct vdev_loc *l = &cl->loc;
	struct xen_pass_entry e = {0};

	if (cl->pass_flags && strspn(cl->pass_flags, "rwx") != strlen(cl->pass_flags)) {
		conf_diag_error(diag, &cl->pos,
				"pass loc %s: the flags '%s' are qvm's; Xen maps memory and ports "
				"with no cache or access flags (give none, or rw)",
				cl->text, cl->pass_flags);
		return VDM_EXIT_CONFIG;
	}
	if (l->kind == VDEV_LOC_ADDR && l->space == VDEV_SPACE_MMIO) {
		uint64_t len = l->length ? l->length : XEN_PASS_PAGE;
		uint64_t host = cl->has_host ? cl->host.base : l->base;

		if (cl->pass_flags && !strchr(cl->pass_flags, 'w')) {
			conf_diag_error(diag, &cl->pos,
					"pass loc %s: Xen maps host memory read-write only (its "
					"memory_mapping has no read-only form)",
					cl->text);
			return VDM_EXIT_CONFIG;
		}
		if ((l->base | len | host) % XEN_PASS_PAGE) {
			conf_diag_error(
			    diag, &cl->pos,
			    "pass loc %s: Xen gives whole 4 KiB pages: the guest address, "
			    "the length and the host address must be multiples of 0x1000",
			    cl->text);
			return VDM_EXIT_CONFIG;
		}
		e = (struct xen_pass_entry){XEN_PASS_MEM, l->base / XEN_PASS_PAGE,
					    host / XEN_PASS_PAGE, len / XEN_PASS_PAGE, 0};
		if (!xch)
			return 0;
		if (xc_domain_iomem_permission(xch, domid, e.host, e.count, 1) < 0)
			return xen_pass_refused(vm, cl, "xc_domain_iomem_permission", errno);
		if (xc_domain_memory_mapping(xch, domid, e.guest, e.host, e.count,
					     DPCI_ADD_MAPPING) < 0) {
			int err = errno;

			xc_domain_iomem_permission(xch, domid, e.host, e.count, 0);
			return xen_pass_refused(vm, cl, "xc_domain_memory_mapping", err);
		}
	} else if (l->kind == VDEV_LOC_ADDR) { /* io: */
		uint64_t n = l->length ? l->length : 1;
		uint64_t host = cl->has_host ? cl->host.base : l->base;

		if (host + n > 0x10000) {
			conf_diag_error(diag, &cl->pos, "pass loc %s: host ports past 0xffff",
					cl->text);
			return VDM_EXIT_CONFIG;
		}
		e = (struct xen_pass_entry){XEN_PASS_IO, l->base, host, n, 0};
		if (!xch)
			return 0;
		if (xc_domain_ioport_permission(xch, domid, (uint32_t)host, (uint32_t)n, 1) < 0)
			return xen_pass_refused(vm, cl, "xc_domain_ioport_permission", errno);
		if (xc_domain_ioport_mapping(xch, domid, (uint32_t)l->base, (uint32_t)host,
					     (uint32_t)n, DPCI_ADD_MAPPING) < 0) {
			int err = errno;

			xc_domain_ioport_permission(xch, domid, (uint32_t)host, (uint32_t)n, 0);
			return xen_pass_refused(vm, cl, "xc_domain_ioport_mapping", err);
		}
	} else {
		/* PCI: the host function, and where the guest sees it */
		const struct vdev_loc *h = cl->has_host ? &cl->host : l;
		uint32_t sbdf = 0;

		if (h->kind == VDEV_LOC_PCI_ID) {
			int ret = xen_pass_find_pci(h->vendor, h->device, &sbdf);

			if (ret < 0) {
				conf_diag_error(
				    diag, &cl->pos,
				    "pass loc %s: no host PCI function %04x:%04x in " XEN_PASS_SYSFS
				    " (%s)",
				    cl->text, h->vendor, h->device, strerror(-ret));
				return VDM_EXIT_CONFIG;
			}
		} else if (h->kind == VDEV_LOC_PCI_BDF) {
			sbdf = xen_pass_sbdf(h);
		} else {
			conf_diag_error(diag, &cl->pos,
					"pass loc %s: a PCI function passes to a PCI function "
					"(pci:B:D.F or pci:VID/DID)",
					cl->text);
			return VDM_EXIT_CONFIG;
		}
		if (l->kind == VDEV_LOC_PCI_BDF && xen_pass_sbdf(l) != (sbdf & 0xffff)) {
			conf_diag_error(
			    diag, &cl->pos,
			    "pass loc %s: Xen shows a passed-through function at its host "
			    "address %02x:%02x.%x; give that guest address (or none: pci:VID/DID)",
			    cl->text, (sbdf >> 8) & 0xff, (sbdf >> 3) & 0x1f, sbdf & 7);
			return VDM_EXIT_CONFIG;
		}
		e = (struct xen_pass_entry){XEN_PASS_PCI, sbdf, sbdf, 1, 0};
		if (!xch)
			return 0;
		if (xc_assign_device(xch, domid, sbdf, XEN_DOMCTL_DEV_RDM_RELAXED) < 0)
			return xen_pass_refused(vm, cl, "xc_assign_device", errno);
	}
	if (xen_pass_push(xp, &e) < 0)
		return VDM_EXIT_FATAL_START;
	vm_log(vm, LOG_LVL_INFO, "pass %s: given to domain %u", cl->text, domid);
	return 0;
}

/* One `pass intr N`: as libxl does for irqs=[N]. */
static int xen_pass_intr(struct xen_pass *xp, struct vm *vm, xc_interface *xch, uint32_t domid,
			 const struct conf_intr *in, struct conf_diag *diag)
{
	struct xen_pass_entry e = {.kind = XEN_PASS_IRQ, .count = 1};
	int pirq;

	if (in->controller || in->unmask || in->ist || in->has_vector) {
		conf_diag_error(diag, &in->pos,
				"pass intr %s: Xen passes a host IRQ by number (pass intr N); "
				"qvm's controller names, ,u ,t and =vector do not apply",
				in->text);
		return VDM_EXIT_CONFIG;
	}
	e.host = in->line;
	if (!xch)
		return 0;
	pirq = (int)in->line;
	if (xc_physdev_map_pirq(xch, domid, (int)in->line, &pirq) < 0)
		return xen_pass_refused(vm, NULL, "xc_physdev_map_pirq", errno);
	if (xc_domain_irq_permission(xch, domid, (uint32_t)pirq, 1) < 0) {
		int err = errno;

		xc_physdev_unmap_pirq(xch, domid, pirq);
		return xen_pass_refused(vm, NULL, "xc_domain_irq_permission", err);
	}
	e.pirq = pirq;
	if (xen_pass_push(xp, &e) < 0)
		return VDM_EXIT_FATAL_START;
	vm_log(vm, LOG_LVL_INFO, "pass intr %u: IRQ given to domain %u (pirq %d)", in->line, domid,
	       pirq);
	return 0;
}

int xen_pass_add(struct xen_pass *xp, struct vm *vm, xc_interface *xch, uint32_t domid,
		 const struct conf_region_ctx *pass, struct conf_diag *diag)
{
	int rc = 0;

	if (pass->blob_type) {
		conf_diag_error(diag, &pass->pos,
				"%s pass: a blob passed from the host is qvm's; vdm loads blobs "
				"with `%s load`",
				pass->blob_type, pass->blob_type);
		return VDM_EXIT_CONFIG;
	}
	for (unsigned i = 0; i < pass->loc_count && rc != VDM_EXIT_FATAL_START; i++) {
		int ret = xen_pass_loc(xp, vm, xch, domid, &pass->locs[i], diag);

		rc = ret ? ret : rc;
	}
	for (unsigned i = 0; i < pass->intr_count && rc != VDM_EXIT_FATAL_START; i++) {
		int ret = xen_pass_intr(xp, vm, xch, domid, &pass->intrs[i], diag);

		rc = ret ? ret : rc;
	}
	return rc;
}

void xen_pass_undo(struct xen_pass *xp, struct vm *vm, xc_interface *xch, uint32_t domid)
{
	for (unsigned i = xp->count; xch && i-- > 0;) {
		const struct xen_pass_entry *e = &xp->entries[i];

		/* errors are the domain being gone already: it took them along */
		switch (e->kind) {
		case XEN_PASS_MEM:
			xc_domain_memory_mapping(xch, domid, e->guest, e->host, e->count,
						 DPCI_REMOVE_MAPPING);
			xc_domain_iomem_permission(xch, domid, e->host, e->count, 0);
			break;
		case XEN_PASS_IO:
			xc_domain_ioport_mapping(xch, domid, (uint32_t)e->guest, (uint32_t)e->host,
						 (uint32_t)e->count, DPCI_REMOVE_MAPPING);
			xc_domain_ioport_permission(xch, domid, (uint32_t)e->host,
						    (uint32_t)e->count, 0);
			break;
		case XEN_PASS_PCI:
			xc_deassign_device(xch, domid, (uint32_t)e->host);
			break;
		case XEN_PASS_IRQ:
			xc_domain_irq_permission(xch, domid, (uint32_t)e->pirq, 0);
			xc_physdev_unmap_pirq(xch, domid, e->pirq);
			break;
		}
	}
	if (xp->count && !xch)
		vm_log(vm, LOG_LVL_INFO,
		       "pass: libxenctrl is closed (--restrict): the domain's end takes back "
		       "what was passed");
	free(xp->entries);
	xp->entries = NULL;
	xp->count = xp->cap = 0;
}
