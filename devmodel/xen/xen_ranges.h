/*
 * devmodel/xen/xen_ranges.h: keep the ioreq server's ranges equal to the
 * vdevs' regions.
 *
 * Xen forwards an access to vdm only when it falls entirely inside a range
 * (or PCI function) registered with the ioreq server. The regions live in
 * the VM's iomap and may change while the guest runs (a PCI BAR moved by a
 * config-space write), and iomap has no change notification, so the
 * backend calls xen_ranges_sync at the points where a change can have
 * happened: before enabling the server, after every guest write it
 * executes (before the write is answered, so the guest cannot reach a moved
 * BAR before Xen knows it), and periodically. A sync diffs the iomap
 * against what is registered and unmaps/maps only the difference.
 *
 * What is registered: every MMIO and port region owned by a vdev (guest
 * RAM/ROM is Xen's, reserves are nobody's), adjacent regions merged into
 * one range (an access straddling two registered ranges would not be
 * forwarded: xen-ioreq.md 5.10), ends inclusive; every PCI function that
 * has a config-space region, through map_pcidev (segment 0). On Arm only
 * MMIO exists: port and PCI-config regions are refused.
 *
 * Threads: sync and unmap_all from any thread (one lock).
 */
#ifndef VDM_XEN_RANGES_H
#define VDM_XEN_RANGES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <xendevicemodel.h>

struct vm;

enum xen_range_kind { XEN_RANGE_PIO = 0, XEN_RANGE_MMIO = 1, XEN_RANGE_PCIDEV = 2 };

struct xen_range {
	enum xen_range_kind kind;
	uint64_t start, end; /* inclusive; PCIDEV: start = end = bus << 8 | dev << 3 | fn */
};

struct xen_ranges {
	struct vm *vm;
	xendevicemodel_handle *dmod;
	uint16_t domid;
	ioservid_t id;
	bool arm;
	struct xen_range *mapped;
	unsigned count, cap;
	unsigned long refused; /* regions that cannot be registered (logged once each sync) */
	pthread_mutex_t lock;
};

/* xen_ranges_init: nothing registered yet. */
void xen_ranges_init(struct xen_ranges *xr, struct vm *vm, xendevicemodel_handle *dmod,
		     uint16_t domid, ioservid_t id, bool arm);
/*
 * xen_ranges_sync: make the server's ranges equal to the iomap's vdev
 * regions. Returns 0, or the first negative errno of a map call (the others
 * are still attempted; the failure is logged with the range).
 */
int xen_ranges_sync(struct xen_ranges *xr);
/* xen_ranges_unmap_all: unregister everything (errors ignored: the domain
 * may be gone). */
void xen_ranges_unmap_all(struct xen_ranges *xr);
void xen_ranges_destroy(struct xen_ranges *xr);

#endif /* VDM_XEN_RANGES_H */
