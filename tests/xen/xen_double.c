/*
 * tests/xen/xen_double.c: a test double of the Xen libraries (see
 * xen_double.h). It enforces what Xen enforces where the backend could get
 * it wrong: map_resource frame 0 without a buffered ring is ENOENT, any
 * buffering on Arm is EINVAL, vp_eport is 0 until the server is enabled,
 * binding a port Xen did not allocate is EINVAL, overlapping ranges are
 * EEXIST, start > end is EINVAL, set_irq_level is Arm-only and the x86
 * interrupt calls are x86-only (EOPNOTSUPP), every call after
 * xentoolcore_restrict_all that a restricted handle could not make fails
 * with EPERM, and calls on a destroyed domain fail with ESRCH.
 */
#define __XEN_TOOLS__ 1
#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xentoolcore.h>
#include <xen/hvm/hvm_op.h>
#include <xen/memory.h>
#include <xen/sched.h>

#include "tests/xen/xen_double.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define XD_PAGE	      4096u
#define XD_MAX_VCPUS  128
#define XD_MAX_CALLS  4096
#define XD_MAX_RANGES 512
#define XD_MAX_MAPS   256
#define XD_PORT_BASE  100 /* Xen's ends: 100 + vcpu */
#define XD_LOCAL_BASE 10  /* our ends: 10 + vcpu */

struct xendevicemodel_handle { int magic; };
struct xenforeignmemory_handle { int magic; };
struct xenforeignmemory_resource_handle { void *addr; size_t pages; };
struct xenevtchn_handle { int magic; };
struct xs_handle { int pipe[2]; bool watching; int queued; };
struct xc_interface_core { int magic; };

struct xd_range { int kind; uint64_t start, end; }; /* kind 0 pio, 1 mmio, 2 pcidev */
struct xd_map { void *addr; size_t pages; };

static struct {
	pthread_mutex_t lock;
	struct xd_config cfg;
	bool gone, shut;
	unsigned shut_reason; /* SHUTDOWN_* while shut */
	struct xd_call calls[XD_MAX_CALLS];
	unsigned ncalls;
	int restricted; /* domid or -1 */
	/* server */
	bool server, enabled;
	int bufioreq;
	shared_iopage_t *page;
	bool page_mapped;
	struct xd_range ranges[XD_MAX_RANGES];
	unsigned nranges;
	/* event channels */
	int ev_pipe[2];
	bool bound[XD_MAX_VCPUS];
	int to_hv[XD_MAX_VCPUS];
	uint32_t queue[1024];
	unsigned qhead, qtail;
	unsigned spurious; /* events raised at bind time, with no request */
	/* RAM */
	int ram_fd;
	uint8_t *ram;
	struct xd_map maps[XD_MAX_MAPS];
	/* handles */
	struct xendevicemodel_handle dmod;
	struct xenforeignmemory_handle fmem;
	struct xenforeignmemory_resource_handle res;
	struct xenevtchn_handle xce;
	struct xs_handle *xs;
	struct xc_interface_core xch;
} xd = { .lock = PTHREAD_MUTEX_INITIALIZER, .ev_pipe = { -1, -1 }, .ram_fd = -1,
	 .restricted = -1 };

static void xd_record(const char *name, int n, ...)
{
	va_list ap;
	struct xd_call *c;

	if (xd.ncalls >= XD_MAX_CALLS)
		return;
	c = &xd.calls[xd.ncalls++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	va_start(ap, n);
	for (int i = 0; i < n && i < 6; i++)
		c->a[i] = va_arg(ap, uint64_t);
	va_end(ap);
}

#define REC(name, ...) xd_record(name, XD_NARGS(__VA_ARGS__), __VA_ARGS__)
#define XD_NARGS(...) XD_NARGS_(__VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define XD_NARGS_(a, b, c, d, e, f, n, ...) n
#define U(x) ((uint64_t)(x))

static int xd_fail(int err)
{
	errno = err;
	return -1;
}

/* Common checks of a dm_op: the domain exists, the handle may reach it. */
static int xd_dmop_check(uint16_t domid)
{
	if (xd.gone || domid != xd.cfg.domid)
		return ESRCH;
	if (xd.restricted >= 0 && domid != xd.restricted)
		return EPERM;
	return 0;
}

/* ----------------------------------------------------------- test side */

void xd_cleanup(void)
{
	pthread_mutex_lock(&xd.lock);
	for (unsigned i = 0; i < XD_MAX_MAPS; i++)
		if (xd.maps[i].addr) {
			munmap(xd.maps[i].addr, xd.maps[i].pages * XD_PAGE);
			xd.maps[i].addr = NULL;
		}
	for (unsigned i = 0; i < XD_MAX_VCPUS; i++)
		if (xd.to_hv[i] > 0) {
			close(xd.to_hv[i]);
			xd.to_hv[i] = 0;
		}
	if (xd.ev_pipe[0] >= 0) {
		close(xd.ev_pipe[0]);
		close(xd.ev_pipe[1]);
		xd.ev_pipe[0] = xd.ev_pipe[1] = -1;
	}
	if (xd.ram)
		munmap(xd.ram, xd.cfg.ram_size);
	xd.ram = NULL;
	if (xd.ram_fd >= 0)
		close(xd.ram_fd);
	xd.ram_fd = -1;
	free(xd.page);
	xd.page = NULL;
	pthread_mutex_unlock(&xd.lock);
}

/* The store: a few keys, enough for the device-model state key and a few backends. */
#define XD_MAX_KEYS 32
static struct {
	char path[128], value[64];
	bool used;
} xd_store[XD_MAX_KEYS];

void xd_reset(const struct xd_config *cfg)
{
	xd_cleanup();
	pthread_mutex_lock(&xd.lock);
	xd.cfg = *cfg;
	xd.gone = cfg->absent;
	xd.shut = false;
	xd.shut_reason = SHUTDOWN_poweroff;
	xd.ncalls = 0;
	memset(xd_store, 0, sizeof(xd_store));
	xd.restricted = -1;
	xd.server = xd.enabled = xd.page_mapped = false;
	xd.nranges = 0;
	xd.qhead = xd.qtail = 0;
	xd.spurious = 0;
	memset(xd.bound, 0, sizeof(xd.bound));
	if (pipe2(xd.ev_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		abort();
	for (unsigned i = 0; i < cfg->vcpus; i++)
		xd.to_hv[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	xd.ram_fd = memfd_create("xd-ram", MFD_CLOEXEC);
	if (xd.ram_fd < 0 || ftruncate(xd.ram_fd, (off_t)cfg->ram_size) < 0)
		abort();
	xd.ram = mmap(NULL, cfg->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, xd.ram_fd, 0);
	if (xd.ram == MAP_FAILED)
		abort();
	pthread_mutex_unlock(&xd.lock);
}

unsigned xd_call_count(void)
{
	return xd.ncalls;
}

const struct xd_call *xd_call_at(unsigned index)
{
	return index < xd.ncalls ? &xd.calls[index] : NULL;
}

int xd_find(const char *name, unsigned from)
{
	int found = -1;

	pthread_mutex_lock(&xd.lock);
	for (unsigned i = from; i < xd.ncalls; i++)
		if (strcmp(xd.calls[i].name, name) == 0) {
			found = (int)i;
			break;
		}
	pthread_mutex_unlock(&xd.lock);
	return found;
}

int xd_find_last(const char *name)
{
	int found = -1;

	pthread_mutex_lock(&xd.lock);
	for (unsigned i = 0; i < xd.ncalls; i++)
		if (strcmp(xd.calls[i].name, name) == 0)
			found = (int)i;
	pthread_mutex_unlock(&xd.lock);
	return found;
}

unsigned xd_count(const char *name)
{
	unsigned n = 0;

	pthread_mutex_lock(&xd.lock);
	for (unsigned i = 0; i < xd.ncalls; i++)
		n += strcmp(xd.calls[i].name, name) == 0;
	pthread_mutex_unlock(&xd.lock);
	return n;
}

void xd_dump(void)
{
	for (unsigned i = 0; i < xd.ncalls; i++)
		fprintf(stderr, "  %3u %s(%#llx, %#llx, %#llx, %#llx)\n", i, xd.calls[i].name,
			(unsigned long long)xd.calls[i].a[0], (unsigned long long)xd.calls[i].a[1],
			(unsigned long long)xd.calls[i].a[2], (unsigned long long)xd.calls[i].a[3]);
}

static uint8_t *slot_flags(ioreq_t *s)
{
	return (uint8_t *)s + 30;
}

int xd_post(unsigned vcpu, ioreq_t *req, unsigned timeout_ms)
{
	ioreq_t *slot;
	uint8_t state, byte = 1;
	struct pollfd p;
	uint64_t v;

	pthread_mutex_lock(&xd.lock);
	if (!xd.enabled || vcpu >= xd.cfg.vcpus || !xd.bound[vcpu]) {
		pthread_mutex_unlock(&xd.lock);
		return -ENOTCONN;
	}
	slot = &xd.page->vcpu_ioreq[vcpu];
	if ((*slot_flags(slot) & 0xf) != STATE_IOREQ_NONE) {
		pthread_mutex_unlock(&xd.lock);
		return -EPROTO; /* "device model set bad IO state" */
	}
	/* the body first, then READY (Xen's implicit barrier), then the event */
	slot->addr = req->addr;
	slot->data = req->data;
	slot->count = req->count;
	slot->size = req->size;
	slot->type = req->type;
	slot->dir = req->dir;
	slot->df = req->df;
	slot->data_is_ptr = req->data_is_ptr;
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(slot_flags(slot),
			 (uint8_t)((*slot_flags(slot) & ~0xf) | STATE_IOREQ_READY), __ATOMIC_RELAXED);
	xd.queue[xd.qtail++ % 1024] = XD_LOCAL_BASE + vcpu;
	pthread_mutex_unlock(&xd.lock);
	if (write(xd.ev_pipe[1], &byte, 1) != 1)
		return -EIO;

	p = (struct pollfd){ .fd = xd.to_hv[vcpu], .events = POLLIN };
	if (poll(&p, 1, (int)timeout_ms) <= 0)
		return -ETIMEDOUT;
	if (read(xd.to_hv[vcpu], &v, sizeof(v)) != sizeof(v))
		return -EIO;
	state = __atomic_load_n(slot_flags(slot), __ATOMIC_RELAXED) & 0xf;
	atomic_thread_fence(memory_order_acquire);
	if (state != STATE_IORESP_READY)
		return -EPROTO;
	req->data = slot->data;
	__atomic_store_n(slot_flags(slot), (uint8_t)(*slot_flags(slot) & ~0xf), __ATOMIC_RELAXED);
	return 0;
}

bool xd_server_exists(void)
{
	return xd.server;
}

bool xd_server_enabled(void)
{
	return xd.enabled;
}

unsigned xd_range_count(void)
{
	return xd.nranges;
}

bool xd_has_range(int is_mmio, uint64_t start, uint64_t end)
{
	bool found = false;

	pthread_mutex_lock(&xd.lock);
	for (unsigned i = 0; i < xd.nranges; i++)
		if (xd.ranges[i].kind == is_mmio && xd.ranges[i].start == start &&
		    xd.ranges[i].end == end)
			found = true;
	pthread_mutex_unlock(&xd.lock);
	return found;
}

unsigned xd_events_queued(void)
{
	unsigned n;

	pthread_mutex_lock(&xd.lock);
	n = xd.qtail - xd.qhead;
	pthread_mutex_unlock(&xd.lock);
	return n;
}

unsigned xd_ram_mappings(void)
{
	unsigned n = 0;

	pthread_mutex_lock(&xd.lock);
	for (unsigned i = 0; i < XD_MAX_MAPS; i++)
		n += xd.maps[i].addr != NULL;
	pthread_mutex_unlock(&xd.lock);
	return n;
}

uint8_t *xd_ram(void)
{
	return xd.ram;
}

static void xd_fire_release(void)
{
	uint8_t byte = 1;

	if (xd.xs && xd.xs->watching) {
		xd.xs->queued++;
		if (write(xd.xs->pipe[1], &byte, 1) != 1)
			abort();
	}
}

void xd_domain_destroy(void)
{
	pthread_mutex_lock(&xd.lock);
	xd.gone = true;
	/* Xen destroys every ioreq server of a dying domain */
	xd.server = xd.enabled = false;
	xd.nranges = 0;
	xd_fire_release();
	pthread_mutex_unlock(&xd.lock);
}

void xd_domain_shutdown(void)
{
	pthread_mutex_lock(&xd.lock);
	xd.shut = true;
	xd_fire_release();
	pthread_mutex_unlock(&xd.lock);
}

void xd_domain_suspend(void)
{
	pthread_mutex_lock(&xd.lock);
	xd.shut = true;
	xd.shut_reason = SHUTDOWN_suspend;
	xd_fire_release();
	pthread_mutex_unlock(&xd.lock);
}

int xd_restricted_domid(void)
{
	return xd.restricted;
}

/* ------------------------------------------------------ devicemodel */

xendevicemodel_handle *xendevicemodel_open(struct xentoollog_logger *logger,
					   unsigned int open_flags)
{
	pthread_mutex_lock(&xd.lock);
	REC("xendevicemodel_open", U(open_flags));
	pthread_mutex_unlock(&xd.lock);
	return &xd.dmod;
}

int xendevicemodel_close(xendevicemodel_handle *dmod)
{
	pthread_mutex_lock(&xd.lock);
	REC("xendevicemodel_close", U(0));
	pthread_mutex_unlock(&xd.lock);
	return 0;
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid, unsigned int *vcpus)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	REC("nr_vcpus", U(domid));
	err = xd_dmop_check(domid);
	if (!err)
		*vcpus = xd.cfg.vcpus;
	pthread_mutex_unlock(&xd.lock);
	return err ? xd_fail(err) : 0;
}

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
				       int handle_bufioreq, ioservid_t *id)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	REC("create_ioreq_server", U(domid), U(handle_bufioreq));
	err = xd_dmop_check(domid);
	if (!err && (handle_bufioreq > HVM_IOREQSRV_BUFIOREQ_ATOMIC || handle_bufioreq < 0 ||
		     (xd.cfg.guest == XD_ARM && handle_bufioreq != 0)))
		err = EINVAL;
	if (!err && xd.server)
		err = ENOSPC; /* one server is all this double models */
	if (!err) {
		xd.server = true;
		xd.enabled = false;
		xd.bufioreq = handle_bufioreq;
		free(xd.page);
		xd.page = aligned_alloc(XD_PAGE, XD_PAGE);
		memset(xd.page, 0, XD_PAGE);
		*id = 3;
	}
	pthread_mutex_unlock(&xd.lock);
	return err ? xd_fail(err) : 0;
}

int xendevicemodel_get_ioreq_server_info(xendevicemodel_handle *dmod, domid_t domid,
					 ioservid_t id, xen_pfn_t *ioreq_gfn,
					 xen_pfn_t *bufioreq_gfn, evtchn_port_t *bufioreq_port)
{
	pthread_mutex_lock(&xd.lock);
	REC("get_ioreq_server_info", U(domid), U(id));
	pthread_mutex_unlock(&xd.lock);
	return xd_fail(EOPNOTSUPP); /* never needed without a buffered ring */
}

static int xd_range_op(const char *name, domid_t domid, ioservid_t id, int kind, uint64_t start,
		       uint64_t end, bool map)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	REC(name, U(domid), U(id), U(kind), start, end);
	err = xd_dmop_check(domid);
	if (!err && (!xd.server || id != 3))
		err = ENOENT;
	if (!err && start > end)
		err = EINVAL;
	if (!err && map) {
		for (unsigned i = 0; i < xd.nranges && !err; i++)
			if (xd.ranges[i].kind == kind && start <= xd.ranges[i].end &&
			    xd.ranges[i].start <= end)
				err = EEXIST;
		if (!err && xd.nranges == XD_MAX_RANGES)
			err = ENOSPC;
		if (!err)
			xd.ranges[xd.nranges++] = (struct xd_range){ kind, start, end };
	} else if (!err) {
		unsigned i;

		for (i = 0; i < xd.nranges; i++)
			if (xd.ranges[i].kind == kind && xd.ranges[i].start == start &&
			    xd.ranges[i].end == end)
				break;
		if (i == xd.nranges)
			err = ENOENT;
		else
			xd.ranges[i] = xd.ranges[--xd.nranges];
	}
	pthread_mutex_unlock(&xd.lock);
	return err ? xd_fail(err) : 0;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						ioservid_t id, int is_mmio, uint64_t start,
						uint64_t end)
{
	return xd_range_op("map_io_range", domid, id, is_mmio ? 1 : 0, start, end, true);
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						    ioservid_t id, int is_mmio, uint64_t start,
						    uint64_t end)
{
	return xd_range_op("unmap_io_range", domid, id, is_mmio ? 1 : 0, start, end, false);
}

int xendevicemodel_map_pcidev_to_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
					      ioservid_t id, uint16_t segment, uint8_t bus,
					      uint8_t device, uint8_t function)
{
	uint64_t sbdf = (uint64_t)segment << 16 | bus << 8 | device << 3 | function;

	if (device > 0x1f || function > 7)
		return xd_fail(EINVAL);
	return xd_range_op("map_pcidev", domid, id, 2, sbdf, sbdf, true);
}

int xendevicemodel_unmap_pcidev_from_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
						  ioservid_t id, uint16_t segment, uint8_t bus,
						  uint8_t device, uint8_t function)
{
	uint64_t sbdf = (uint64_t)segment << 16 | bus << 8 | device << 3 | function;

	return xd_range_op("unmap_pcidev", domid, id, 2, sbdf, sbdf, false);
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod, domid_t domid,
					  ioservid_t id, int enabled)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	REC("set_ioreq_server_state", U(domid), U(id), U(enabled));
	err = xd_dmop_check(domid);
	if (!err && (!xd.server || id != 3))
		err = ENOENT;
	if (!err) {
		xd.enabled = enabled != 0;
		/* Xen writes the ports when enabling, and only into a page that exists */
		if (xd.enabled && xd.page_mapped)
			for (unsigned i = 0; i < xd.cfg.vcpus; i++)
				xd.page->vcpu_ioreq[i].vp_eport = XD_PORT_BASE + i;
	}
	pthread_mutex_unlock(&xd.lock);
	return err ? xd_fail(err) : 0;
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod, domid_t domid,
					ioservid_t id)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	REC("destroy_ioreq_server", U(domid), U(id));
	err = xd_dmop_check(domid);
	if (!err && (!xd.server || id != 3))
		err = ENOENT;
	if (!err) {
		xd.server = xd.enabled = false;
		xd.nranges = 0;
	}
	pthread_mutex_unlock(&xd.lock);
	return err ? xd_fail(err) : 0;
}

static int xd_irq_op(const char *name, domid_t domid, bool arm_call, uint64_t a, uint64_t b,
		     uint64_t c, uint64_t d)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	REC(name, U(domid), a, b, c, d);
	err = xd_dmop_check(domid);
	if (!err && arm_call != (xd.cfg.guest == XD_ARM))
		err = EOPNOTSUPP;
	pthread_mutex_unlock(&xd.lock);
	return err ? xd_fail(err) : 0;
}

int xendevicemodel_set_pci_intx_level(xendevicemodel_handle *dmod, domid_t domid,
				      uint16_t segment, uint8_t bus, uint8_t device, uint8_t intx,
				      unsigned int level)
{
	if (segment || bus || device > 31 || intx > 3 || level > 1)
		return xd_fail(EINVAL);
	return xd_irq_op("set_pci_intx_level", domid, false, device, intx, level, 0);
}

int xendevicemodel_set_isa_irq_level(xendevicemodel_handle *dmod, domid_t domid, uint8_t irq,
				     unsigned int level)
{
	if (irq > 15 || level > 1)
		return xd_fail(EINVAL);
	return xd_irq_op("set_isa_irq_level", domid, false, irq, level, 0, 0);
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, domid_t domid, unsigned int irq,
				 unsigned int level)
{
	if (irq < 32 || level > 1)
		return xd_fail(EINVAL);
	return xd_irq_op("set_irq_level", domid, true, irq, level, 0, 0);
}

int xendevicemodel_set_pci_link_route(xendevicemodel_handle *dmod, domid_t domid, uint8_t link,
				      uint8_t irq)
{
	/* hvm_set_pci_link_route: link 0..3, ISA IRQ 0..15 (0: none); HVM only */
	if (link > 3 || irq > 15)
		return xd_fail(EINVAL);
	return xd_irq_op("set_pci_link_route", domid, false, link, irq, 0, 0);
}

/* The guest's own shutdown: the domain is flagged shut down and @releaseDomain fires. */
int xendevicemodel_shutdown(xendevicemodel_handle *dmod, domid_t domid, unsigned int reason)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	REC("shutdown", U(domid), U(reason));
	err = xd_dmop_check(domid);
	if (!err && reason > SHUTDOWN_MAX)
		err = EINVAL;
	if (!err) {
		xd.shut = true;
		xd_fire_release();
	}
	pthread_mutex_unlock(&xd.lock);
	return err ? xd_fail(err) : 0;
}

int xendevicemodel_inject_msi(xendevicemodel_handle *dmod, domid_t domid, uint64_t msi_addr,
			      uint32_t msi_data)
{
	return xd_irq_op("inject_msi", domid, false, msi_addr, msi_data, 0, 0);
}

/* ---------------------------------------------------- foreignmemory */

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
					       unsigned open_flags)
{
	pthread_mutex_lock(&xd.lock);
	REC("xenforeignmemory_open", U(open_flags));
	pthread_mutex_unlock(&xd.lock);
	return &xd.fmem;
}

int xenforeignmemory_close(xenforeignmemory_handle *fmem)
{
	pthread_mutex_lock(&xd.lock);
	REC("xenforeignmemory_close", U(0));
	pthread_mutex_unlock(&xd.lock);
	return 0;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fmem, uint32_t dom, int prot, size_t pages,
			   const xen_pfn_t arr[], int err[])
{
	uint8_t *base;
	unsigned slot;
	int e = 0;

	pthread_mutex_lock(&xd.lock);
	REC("xenforeignmemory_map", U(dom), U(pages), U(arr[0]));
	e = xd_dmop_check((uint16_t)dom);
	for (slot = 0; slot < XD_MAX_MAPS && xd.maps[slot].addr; slot++)
		;
	if (!e && slot == XD_MAX_MAPS)
		e = ENOMEM;
	if (e) {
		pthread_mutex_unlock(&xd.lock);
		errno = e;
		return NULL;
	}
	/* a reservation; RAM pages alias the memfd, the rest stay inaccessible */
	base = mmap(NULL, pages * XD_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		pthread_mutex_unlock(&xd.lock);
		return NULL;
	}
	for (size_t i = 0; i < pages; i++) {
		uint64_t gpa = (uint64_t)arr[i] * XD_PAGE;
		int perr = 0;

		if (gpa < xd.cfg.ram_start || gpa - xd.cfg.ram_start >= xd.cfg.ram_size ||
		    (xd.cfg.bad_gfn && arr[i] == xd.cfg.bad_gfn))
			perr = -EINVAL;
		else if (mmap(base + i * XD_PAGE, XD_PAGE, prot, MAP_SHARED | MAP_FIXED,
			      xd.ram_fd, (off_t)(gpa - xd.cfg.ram_start)) == MAP_FAILED)
			perr = -errno;
		if (err)
			err[i] = perr;
		else if (perr) {
			munmap(base, pages * XD_PAGE);
			pthread_mutex_unlock(&xd.lock);
			errno = -perr;
			return NULL;
		}
	}
	xd.maps[slot] = (struct xd_map){ base, pages };
	pthread_mutex_unlock(&xd.lock);
	return base;
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr, size_t pages)
{
	int e = EINVAL;

	pthread_mutex_lock(&xd.lock);
	REC("xenforeignmemory_unmap", U((uintptr_t)addr), U(pages));
	for (unsigned i = 0; i < XD_MAX_MAPS; i++)
		if (xd.maps[i].addr == addr && xd.maps[i].pages == pages) {
			munmap(addr, pages * XD_PAGE);
			xd.maps[i].addr = NULL;
			e = 0;
		}
	pthread_mutex_unlock(&xd.lock);
	return e ? xd_fail(e) : 0;
}

xenforeignmemory_resource_handle *xenforeignmemory_map_resource(
	xenforeignmemory_handle *fmem, domid_t domid, unsigned int type, unsigned int id,
	unsigned long frame, unsigned long nr_frames, void **paddr, int prot, int flags)
{
	int e;

	pthread_mutex_lock(&xd.lock);
	REC("map_resource", U(domid), U(type), U(id), U(frame), U(nr_frames));
	e = xd_dmop_check(domid);
	if (!e && (flags & ~(MAP_SHARED | MAP_PRIVATE)))
		e = EINVAL;
	if (!e && (type != XENMEM_resource_ioreq_server || !xd.server || id != 3))
		e = ENOENT;
	/* frame 0 is the buffered ring, which exists only with buffering */
	if (!e && frame == XENMEM_resource_ioreq_server_frame_bufioreq && xd.bufioreq == 0)
		e = ENOENT;
	if (!e && !(frame == XENMEM_resource_ioreq_server_frame_ioreq(0) && nr_frames == 1))
		e = EINVAL; /* the only layout this double serves */
	if (!e && !(prot & PROT_WRITE))
		e = EINVAL;
	if (e) {
		pthread_mutex_unlock(&xd.lock);
		errno = e;
		return NULL;
	}
	xd.page_mapped = true;
	xd.res = (struct xenforeignmemory_resource_handle){ xd.page, 1 };
	*paddr = xd.page;
	pthread_mutex_unlock(&xd.lock);
	return &xd.res;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
				    xenforeignmemory_resource_handle *fres)
{
	pthread_mutex_lock(&xd.lock);
	REC("unmap_resource", U((uintptr_t)fres->addr));
	xd.page_mapped = false;
	pthread_mutex_unlock(&xd.lock);
	return 0;
}

/* ------------------------------------------------------------ evtchn */

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	pthread_mutex_lock(&xd.lock);
	REC("xenevtchn_open", U(flags));
	pthread_mutex_unlock(&xd.lock);
	return &xd.xce;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
	pthread_mutex_lock(&xd.lock);
	REC("xenevtchn_close", U(0));
	pthread_mutex_unlock(&xd.lock);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
	return xd.ev_pipe[0];
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
						     evtchn_port_t remote_port)
{
	unsigned vcpu = remote_port - XD_PORT_BASE;
	int e;

	pthread_mutex_lock(&xd.lock);
	REC("bind_interdomain", U(domid), U(remote_port));
	e = xd_dmop_check((uint16_t)domid);
	/* only ports Xen allocated for this server's vCPUs, i.e. once enabled */
	if (!e && (!xd.enabled || remote_port < XD_PORT_BASE || vcpu >= xd.cfg.vcpus))
		e = EINVAL;
	if (!e) {
		xd.bound[vcpu] = true;
		/*
		 * Seen on Xen 4.17 (tests/xen-e2e): the new local port is
		 * pending at once, before any request is posted. The device
		 * model must unmask it and find no READY slot.
		 */
		xd.queue[xd.qtail++ % 1024] = XD_LOCAL_BASE + vcpu;
		xd.spurious++;
	}
	pthread_mutex_unlock(&xd.lock);
	if (!e) {
		uint8_t byte = 0;

		if (write(xd.ev_pipe[1], &byte, 1) != 1) {
			/* the pipe is sized for far more than the queue holds */
		}
	}
	return e ? xd_fail(e) : (int)(XD_LOCAL_BASE + vcpu);
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	pthread_mutex_lock(&xd.lock);
	REC("unbind", U(port));
	if (port >= XD_LOCAL_BASE && port - XD_LOCAL_BASE < XD_MAX_VCPUS)
		xd.bound[port - XD_LOCAL_BASE] = false;
	pthread_mutex_unlock(&xd.lock);
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	uint8_t byte;
	int port = -1;

	pthread_mutex_lock(&xd.lock);
	if (xd.qhead != xd.qtail) {
		port = (int)xd.queue[xd.qhead++ % 1024];
		if (read(xd.ev_pipe[0], &byte, 1) != 1) {
			/* the pipe and the queue move together */
		}
	}
	pthread_mutex_unlock(&xd.lock);
	return port < 0 ? xd_fail(EAGAIN) : port;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	pthread_mutex_lock(&xd.lock);
	REC("unmask", U(port));
	pthread_mutex_unlock(&xd.lock);
	return 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	unsigned vcpu = port - XD_LOCAL_BASE;
	uint64_t one = 1;
	int e = 0;

	pthread_mutex_lock(&xd.lock);
	REC("notify", U(port));
	if (port < XD_LOCAL_BASE || vcpu >= xd.cfg.vcpus || !xd.bound[vcpu])
		e = EINVAL;
	else if (write(xd.to_hv[vcpu], &one, sizeof(one)) != sizeof(one))
		e = EIO;
	pthread_mutex_unlock(&xd.lock);
	return e ? xd_fail(e) : 0;
}

/* ---------------------------------------------------------- toolcore */

int xentoolcore_restrict_all(domid_t domid)
{
	pthread_mutex_lock(&xd.lock);
	REC("xentoolcore_restrict_all", U(domid));
	xd.restricted = domid;
	pthread_mutex_unlock(&xd.lock);
	return 0;
}

/* ---------------------------------------------------------- xenstore */

struct xs_handle *xs_open(unsigned long flags)
{
	struct xs_handle *h = calloc(1, sizeof(*h));

	pthread_mutex_lock(&xd.lock);
	REC("xs_open", U(flags));
	if (xd.restricted >= 0) {
		/* a restricted process has no xenstore */
		free(h);
		h = NULL;
		errno = EPERM;
	} else if (h && pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
		xd.xs = h;
	} else {
		free(h);
		h = NULL;
	}
	pthread_mutex_unlock(&xd.lock);
	return h;
}

void xs_close(struct xs_handle *xsh)
{
	if (!xsh)
		return;
	pthread_mutex_lock(&xd.lock);
	REC("xs_close", U(0));
	close(xsh->pipe[0]);
	close(xsh->pipe[1]);
	if (xd.xs == xsh)
		xd.xs = NULL;
	free(xsh);
	pthread_mutex_unlock(&xd.lock);
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	pthread_mutex_lock(&xd.lock);
	REC("xs_watch", U(strcmp(path, "@releaseDomain") == 0));
	h->watching = true;
	/* xenstored fires every new watch once */
	xd_fire_release();
	pthread_mutex_unlock(&xd.lock);
	return true;
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	pthread_mutex_lock(&xd.lock);
	REC("xs_unwatch", U(0));
	h->watching = false;
	pthread_mutex_unlock(&xd.lock);
	return true;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
	      unsigned int len)
{
	int slot = -1;

	pthread_mutex_lock(&xd.lock);
	REC("xs_write", U(len));
	for (int i = 0; i < XD_MAX_KEYS; i++)
		if ((xd_store[i].used && !strcmp(xd_store[i].path, path)) ||
		    (slot < 0 && !xd_store[i].used))
			slot = i;
	if (slot >= 0 && strlen(path) < sizeof(xd_store[0].path) &&
	    len < sizeof(xd_store[0].value)) {
		snprintf(xd_store[slot].path, sizeof(xd_store[slot].path), "%s", path);
		memcpy(xd_store[slot].value, data, len);
		xd_store[slot].value[len] = '\0';
		xd_store[slot].used = true;
	}
	pthread_mutex_unlock(&xd.lock);
	if (slot < 0)
		errno = ENOSPC;
	return slot >= 0;
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	bool found = false;
	size_t n = strlen(path);

	pthread_mutex_lock(&xd.lock);
	REC("xs_rm", U(0));
	/* a key and everything under it, as xenstored does */
	for (int i = 0; i < XD_MAX_KEYS; i++)
		if (xd_store[i].used && !strncmp(xd_store[i].path, path, n) &&
		    (xd_store[i].path[n] == '\0' || xd_store[i].path[n] == '/')) {
			xd_store[i].used = false;
			found = true;
		}
	pthread_mutex_unlock(&xd.lock);
	if (!found)
		errno = ENOENT;
	return found;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	char *v = NULL;

	pthread_mutex_lock(&xd.lock);
	REC("xs_read", U(0));
	for (int i = 0; i < XD_MAX_KEYS && !v; i++)
		if (xd_store[i].used && !strcmp(xd_store[i].path, path))
			v = strdup(xd_store[i].value);
	pthread_mutex_unlock(&xd.lock);
	if (v && len)
		*len = (unsigned)strlen(v);
	if (!v)
		errno = ENOENT;
	return v;
}

/* The names one level below `path`, once each, in one malloc'd block as libxenstore gives them. */
char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *num)
{
	const char *names[XD_MAX_KEYS];
	size_t lens[XD_MAX_KEYS], n = strlen(path), bytes = 0;
	unsigned count = 0;
	char **out, *w;

	pthread_mutex_lock(&xd.lock);
	REC("xs_directory", U(0));
	for (int i = 0; i < XD_MAX_KEYS; i++) {
		const char *k = xd_store[i].path, *name, *end;
		bool dup = false;

		if (!xd_store[i].used || strncmp(k, path, n) || k[n] != '/')
			continue;
		name = k + n + 1;
		end = strchr(name, '/');
		lens[count] = end ? (size_t)(end - name) : strlen(name);
		for (unsigned j = 0; j < count; j++)
			dup |= lens[j] == lens[count] && !strncmp(names[j], name, lens[count]);
		if (!dup) {
			names[count] = name;
			bytes += lens[count++] + 1;
		}
	}
	out = count ? malloc(count * sizeof(char *) + bytes) : NULL;
	for (unsigned j = 0; out && j < count; j++) {
		w = j ? out[j - 1] + lens[j - 1] + 1 : (char *)(out + count);
		memcpy(w, names[j], lens[j]);
		w[lens[j]] = '\0';
		out[j] = w;
	}
	pthread_mutex_unlock(&xd.lock);
	*num = out ? count : 0;
	if (!out)
		errno = ENOENT;
	return out;
}

void xd_store_set(const char *path, const char *value)
{
	if (!xs_write(NULL, XBT_NULL, path, value, (unsigned)strlen(value)))
		abort();
}

const char *xd_store_get(const char *path)
{
	const char *v = NULL;

	pthread_mutex_lock(&xd.lock);
	for (int i = 0; i < XD_MAX_KEYS; i++)
		if (xd_store[i].used && !strcmp(xd_store[i].path, path))
			v = xd_store[i].value;
	pthread_mutex_unlock(&xd.lock);
	return v;
}

unsigned xd_store_count(void)
{
	unsigned n = 0;

	pthread_mutex_lock(&xd.lock);
	for (int i = 0; i < XD_MAX_KEYS; i++)
		n += xd_store[i].used;
	pthread_mutex_unlock(&xd.lock);
	return n;
}

int xs_fileno(struct xs_handle *h)
{
	return h->pipe[0];
}

char **xs_check_watch(struct xs_handle *h)
{
	static const char path[] = "@releaseDomain", token[] = "vdm-release";
	char **ev = NULL;
	uint8_t byte;

	pthread_mutex_lock(&xd.lock);
	if (h->queued > 0) {
		/* one block, freed with free(), as libxenstore does */
		ev = malloc(2 * sizeof(char *) + sizeof(path) + sizeof(token));
		if (ev) {
			ev[XS_WATCH_PATH] = (char *)(ev + 2);
			ev[XS_WATCH_TOKEN] = ev[XS_WATCH_PATH] + sizeof(path);
			memcpy(ev[XS_WATCH_PATH], path, sizeof(path));
			memcpy(ev[XS_WATCH_TOKEN], token, sizeof(token));
			h->queued--;
			if (read(h->pipe[0], &byte, 1) != 1) {
				/* queued and the pipe move together */
			}
		}
	} else {
		errno = EAGAIN;
	}
	pthread_mutex_unlock(&xd.lock);
	return ev;
}

/* ---------------------------------------------------------- xenctrl */

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
				unsigned open_flags)
{
	pthread_mutex_lock(&xd.lock);
	REC("xc_interface_open", U(open_flags));
	pthread_mutex_unlock(&xd.lock);
	return &xd.xch;
}

int xc_interface_close(xc_interface *xch)
{
	pthread_mutex_lock(&xd.lock);
	REC("xc_interface_close", U(0));
	pthread_mutex_unlock(&xd.lock);
	return 0;
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
			  xc_domaininfo_t *info)
{
	int n = 0;

	pthread_mutex_lock(&xd.lock);
	REC("xc_domain_getinfolist", U(first_domain));
	if (xd.restricted >= 0) {
		pthread_mutex_unlock(&xd.lock);
		return xd_fail(EPERM);
	}
	if (!xd.gone && max_domains >= 1 && first_domain <= xd.cfg.domid) {
		memset(info, 0, sizeof(*info));
		info->domain = xd.cfg.domid;
		info->flags = (xd.cfg.guest == XD_PV ? 0 : XEN_DOMINF_hvm_guest) |
			      (xd.shut ? XEN_DOMINF_shutdown : 0) |
			      (xd.shut ? (uint32_t)xd.shut_reason << XEN_DOMINF_shutdownshift : 0);
		info->max_vcpu_id = xd.cfg.vcpus - 1;
		info->arch_config.emulation_flags =
			xd.cfg.guest == XD_HVM ? (XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI)
			: xd.cfg.guest == XD_PV ? 0
						: XEN_X86_EMU_LAPIC;
		n = 1;
	}
	pthread_mutex_unlock(&xd.lock);
	return n;
}

/* ------------------------------------------------- pass-through (libxenctrl) */

/* The next call named so fails with err (once); xd_fail_next(NULL, 0) clears it. */
static char xd_fail_name[48];
static int xd_fail_err;

void xd_fail_next(const char *name, int err)
{
	pthread_mutex_lock(&xd.lock);
	snprintf(xd_fail_name, sizeof(xd_fail_name), "%s", name ? name : "");
	xd_fail_err = err;
	pthread_mutex_unlock(&xd.lock);
}

/* Recorded, and refused as Xen would: a domain that is gone, or the failure asked for. */
static int xd_pass_call(const char *name, uint32_t domid, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4)
{
	int err;

	pthread_mutex_lock(&xd.lock);
	REC(name, U(domid), a1, a2, a3, a4);
	err = xd_dmop_check((uint16_t)domid);
	if (!err && xd_fail_name[0] && !strcmp(xd_fail_name, name)) {
		err = xd_fail_err;
		xd_fail_name[0] = '\0';
	}
	pthread_mutex_unlock(&xd.lock);
	return err ? xd_fail(err) : 0;
}

int xc_domain_iomem_permission(xc_interface *xch, uint32_t domid, unsigned long first_mfn,
			       unsigned long nr_mfns, uint8_t allow_access)
{
	return xd_pass_call("xc_domain_iomem_permission", domid, first_mfn, nr_mfns, allow_access, 0);
}

int xc_domain_memory_mapping(xc_interface *xch, uint32_t domid, unsigned long first_gfn,
			     unsigned long first_mfn, unsigned long nr_mfns, uint32_t add_mapping)
{
	return xd_pass_call("xc_domain_memory_mapping", domid, first_gfn, first_mfn, nr_mfns,
			    add_mapping);
}

int xc_domain_ioport_permission(xc_interface *xch, uint32_t domid, uint32_t first_port,
				uint32_t nr_ports, uint32_t allow_access)
{
	return xd_pass_call("xc_domain_ioport_permission", domid, first_port, nr_ports,
			    allow_access, 0);
}

int xc_domain_ioport_mapping(xc_interface *xch, uint32_t domid, uint32_t first_gport,
			     uint32_t first_mport, uint32_t nr_ports, uint32_t add_mapping)
{
	return xd_pass_call("xc_domain_ioport_mapping", domid, first_gport, first_mport, nr_ports,
			    add_mapping);
}

int xc_assign_device(xc_interface *xch, uint32_t domid, uint32_t machine_sbdf, uint32_t flag)
{
	return xd_pass_call("xc_assign_device", domid, machine_sbdf, flag, 0, 0);
}

int xc_deassign_device(xc_interface *xch, uint32_t domid, uint32_t machine_sbdf)
{
	return xd_pass_call("xc_deassign_device", domid, machine_sbdf, 0, 0, 0);
}

/* Xen picks the pirq: here index + 100, so that tests see it passed on. */
int xc_physdev_map_pirq(xc_interface *xch, uint32_t domid, int index, int *pirq)
{
	int ret = xd_pass_call("xc_physdev_map_pirq", domid, U(index), 0, 0, 0);

	if (ret == 0)
		*pirq = index + 100;
	return ret;
}

int xc_physdev_unmap_pirq(xc_interface *xch, uint32_t domid, int pirq)
{
	return xd_pass_call("xc_physdev_unmap_pirq", domid, U(pirq), 0, 0, 0);
}

int xc_domain_irq_permission(xc_interface *xch, uint32_t domid, uint32_t pirq, bool allow_access)
{
	return xd_pass_call("xc_domain_irq_permission", domid, pirq, allow_access, 0, 0);
}

/* -------------------------------------------- guest dumps (libxenctrl) */

int xc_domain_pause(xc_interface *xch, uint32_t domid)
{
	return xd_pass_call("xc_domain_pause", domid, 0, 0, 0, 0);
}

int xc_domain_unpause(xc_interface *xch, uint32_t domid)
{
	return xd_pass_call("xc_domain_unpause", domid, 0, 0, 0, 0);
}

/* Each vCPU's registers say who it is: rip 0x100000 + vcpu, rbx 0x5eed. */
int xc_vcpu_getcontext(xc_interface *xch, uint32_t domid, uint32_t vcpu,
		       vcpu_guest_context_any_t *ctxt)
{
	int ret = xd_pass_call("xc_vcpu_getcontext", domid, vcpu, 0, 0, 0);

	if (ret == 0) {
		memset(ctxt, 0, sizeof(*ctxt));
		ctxt->x64.user_regs.rip = 0x100000 + vcpu;
		ctxt->x64.user_regs.rbx = 0x5eed;
	}
	return ret;
}
