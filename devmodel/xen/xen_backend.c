/*
 * devmodel/xen/xen_backend.c: the "xen" backend: attach to domain N as an
 * ioreq server and run the ioreq engine over its event channels.
 *
 * This file is the thin layer of Xen library calls; the protocol (slots,
 * barriers, rep semantics) is devmodel/ioreq_engine.c, which never calls Xen.
 * The call order is xen-ioreq.md 2.4 and 7:
 *
 *   setup:    open devicemodel, foreignmemory, evtchn (+ xenctrl, xenstore)
 *             -> wait for the domain, learn its type and vCPU count
 *             -> create_ioreq_server (BUFIOREQ_OFF; never buffered on Arm)
 *             -> map_resource(ioreq_server, id, frame 1, 1 frame)
 *             -> register the native controllers of the guest type
 *   run:      map every vdev range (inclusive ends) and PCI function
 *             -> set_ioreq_server_state(1) -> read vp_eport (only now valid)
 *             -> bind_interdomain per vCPU -> optional restrict
 *             -> poll loop: evtchn fd, the stop eventfd, the xenstore watch
 *   teardown: set_state(0) -> answer any request still READY -> unmap every
 *             range -> unbind -> unmap the resource -> destroy the server
 *             -> close the handles.
 *
 * A guest vCPU blocks in Xen until its request is answered, and the server
 * belongs to dom0, not to this process (5.1): every way out of run() goes
 * through teardown, which disables and destroys the server, so the guest
 * is never left waiting for a device model that is gone. A crash still
 * can; docs/xen.md says what the systemd unit does about it.
 *
 * Without Xen (no /dev/xen/privcmd) setup fails with a message naming what
 * is missing; vdm then exits 64. `dryrun` never touches Xen.
 */
#define __XEN_TOOLS__ 1
#include <xenctrl.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenstore.h>
#include <xentoolcore.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>
#include <xen/sched.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devmodel/backend.h"
#include "devmodel/exitcode.h"
#include "devmodel/guest_mem.h"
#include "devmodel/ioreq_engine.h"
#include "devmodel/lockdown.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"
#include "devmodel/xen/xen_backend.h"
#include "devmodel/xen/xen_dmstate.h"
#include "devmodel/xen/xen_irq.h"
#include "devmodel/xen/xen_mapcache.h"
#include "devmodel/xen/xen_pass.h"
#include "devmodel/xen/xen_qdisk.h"
#include "devmodel/xen/xen_ranges.h"

#if defined(__aarch64__) || defined(__arm__)
#define XEN_BUILD_ARM 1
#else
#define XEN_BUILD_ARM 0
#endif

#define XEN_PAGE 4096u
#define XEN_RELEASE_TOKEN "vdm-release"

struct xen_backend_tunables xen_backend_tunables = {
	.privcmd_path = "/dev/xen/privcmd",
	.wait_ms = 30000,
	.poll_ms = 1000,
	.user = "nobody",
	.mapcache = { .bucket_shift = 20, .max_buckets = 64, .grace_ns = 1000000000ull },
};

struct xen_backend {
	struct vm *vm;
	uint16_t domid;
	bool arm;
	enum xen_guest_kind kind;
	bool attached; /* handles open: not a dryrun */
	xendevicemodel_handle *dmod;
	xenforeignmemory_handle *fmem;
	xenevtchn_handle *xce;
	xc_interface *xch;
	struct xs_handle *xs;
	bool restricted;
	bool dm_state_written; /* libxl's device-model state key (xen_dmstate.h) */
	ioservid_t id;
	bool server_created, enabled, ranges_ready;
	bool buffered;
	bool shut_down; /* the domain shut down, vdm stays (-no-shutdown) */
	bool sweep_on_resume; /* attach found the VM paused: sweep the slots at cont */
	xenforeignmemory_resource_handle *res;
	void *pages;
	shared_iopage_t *shared;
	buffered_iopage_t *bufpage;
	unsigned nr_vcpus;
	evtchn_port_t local[IOREQ_ENGINE_MAX_VCPUS];
	unsigned bound;
	int buf_local; /* -1: none */
	struct ioreq_engine *engine;
	struct xen_mapcache *mapcache;
	struct xen_ranges ranges;
	struct xen_irq irq;
	struct xen_pass pass; /* what `pass` gave the domain */
	int stop_fd;
	struct dm_io io;
	/* for the log line at the end (tests/xen-e2e reads it) */
	unsigned long events, events_idle, accesses;
};

static const char *const xen_natives_x86[] = { "isa", "pci", "msi", NULL };
static const char *const xen_natives_arm[] = { "gic", NULL };

/*
 * A guest dump's registers (dump.c): the domain paused, each vCPU's context
 * read; unpaused by xen_vcpu_release. x86 only (the Arm context has other
 * registers); not after --restrict (libxenctrl is closed): memory only then.
 */
static int xen_vcpu_hold(struct vm *vm, struct backend_vcpu_regs *regs, unsigned max)
{
	struct xen_backend *xb = vm_backend_data(vm);

	if (!xb || !xb->attached || !xb->xch || xb->arm)
		return -EAGAIN;
	if (xc_domain_pause(xb->xch, xb->domid) < 0)
		return errno ? -errno : -EIO;
#if !XEN_BUILD_ARM
	for (unsigned i = 0; i < xb->nr_vcpus && i < max; i++) {
		vcpu_guest_context_any_t c;
		const struct cpu_user_regs_x86_64 *u = &c.x64.user_regs;

		memset(&c, 0, sizeof(c));
		if (xc_vcpu_getcontext(xb->xch, xb->domid, i, &c) < 0)
			continue; /* left !valid */
		regs[i] = (struct backend_vcpu_regs){
			.valid = true,
			.rax = u->rax, .rbx = u->rbx, .rcx = u->rcx, .rdx = u->rdx,
			.rsi = u->rsi, .rdi = u->rdi, .rbp = u->rbp, .rsp = u->rsp,
			.r8 = u->r8, .r9 = u->r9, .r10 = u->r10, .r11 = u->r11,
			.r12 = u->r12, .r13 = u->r13, .r14 = u->r14, .r15 = u->r15,
			.rip = u->rip, .rflags = u->rflags,
			.cs = u->cs, .ss = u->ss, .ds = u->ds, .es = u->es, .fs = u->fs, .gs = u->gs,
			.fs_base = c.x64.fs_base, .gs_base = c.x64.gs_base_kernel,
		};
	}
#endif
	return (int)xb->nr_vcpus;
}

static void xen_vcpu_release(struct vm *vm)
{
	struct xen_backend *xb = vm_backend_data(vm);

	if (xb && xb->xch)
		xc_domain_unpause(xb->xch, xb->domid);
}

/* `pass`: checked always, given to the domain only when attached. */
static int xen_pass_op(struct vm *vm, const struct conf_region_ctx *pass, struct conf_diag *diag)
{
	struct xen_backend *xb = vm_backend_data(vm);
	struct xen_pass scratch = { 0 };
	int rc;

	if (xb && xb->attached)
		return xen_pass_add(&xb->pass, vm, xb->xch, xb->domid, pass, diag);
	rc = xen_pass_add(&scratch, vm, NULL, 0, pass, diag);
	xen_pass_undo(&scratch, vm, NULL, 0);
	return rc;
}

/* --check: the sizes xen_irq_register gives them */
static unsigned xen_native_lines(const struct conf_vm *conf, const char *name)
{
	return !strcmp(name, "isa")   ? XEN_IRQ_ISA_LINES
	       : !strcmp(name, "pci") ? XEN_IRQ_PCI_LINES
	       : !strcmp(name, "msi") ? XEN_IRQ_MSI_LINES
				      : XEN_IRQ_GIC_LINES;
}

static void xlog(struct xen_backend *xb, unsigned level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void xlog(struct xen_backend *xb, unsigned level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	vm_log(xb->vm, level, "xen: domain %u: %s", xb->domid, line);
}

/* ------------------------------------------------------------ the engine */

/* Dispatch, then resync the server's ranges after a write (a BAR move). */
static int xen_io_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size,
			 bool is_write, uint64_t *value, int32_t vcpu)
{
	struct xen_backend *xb = ctx;
	const struct dm_io *core = vm_io(xb->vm);
	int rc = core->access(core->ctx, space, addr, size, is_write, value, vcpu);

	__atomic_fetch_add(&xb->accesses, 1, __ATOMIC_RELAXED);
	if (is_write && xb->ranges_ready)
		xen_ranges_sync(&xb->ranges);
	return rc;
}

static int xen_io_mem_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	struct xen_backend *xb = ctx;

	return xen_mapcache_read(xb->mapcache, gpa, buf, length);
}

static int xen_io_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	struct xen_backend *xb = ctx;

	return xen_mapcache_write(xb->mapcache, gpa, buf, length);
}

/* guest_mem's way to the domain's RAM (a vdev's mem_map); prot is checked there. */
static void *xen_io_mem_map(void *ctx, uint64_t gpa, size_t length, uint32_t prot)
{
	struct xen_backend *xb = ctx;

	(void)prot;
	return xen_mapcache_map(xb->mapcache, gpa, length);
}

/* The vCPU (or the buffered ring) whose local port this is; -1 if none. */
static long xen_port_source(struct xen_backend *xb, evtchn_port_t port)
{
	for (unsigned i = 0; i < xb->bound; i++)
		if (xb->local[i] == port)
			return i;
	if (xb->buf_local >= 0 && (evtchn_port_t)xb->buf_local == port)
		return IOREQ_ENGINE_SOURCE_BUFFERED;
	return -1;
}

static int xen_ev_pending(void *ctx, uint32_t *source)
{
	struct xen_backend *xb = ctx;

	for (;;) {
		struct pollfd p = { .fd = xenevtchn_fd(xb->xce), .events = POLLIN };
		xenevtchn_port_or_error_t port;
		long src;

		/* xenevtchn_pending may block even on a readable-looking fd: poll first (5.8) */
		if (poll(&p, 1, 0) <= 0)
			return 0;
		port = xenevtchn_pending(xb->xce);
		if (port < 0)
			return errno == EAGAIN ? 0 : -errno;
		src = xen_port_source(xb, (evtchn_port_t)port);
		if (src >= 0) {
			xb->events++;
			/* Xen leaves a port pending right after binding: no request behind it */
			if (src != IOREQ_ENGINE_SOURCE_BUFFERED &&
			    (__atomic_load_n((uint8_t *)&xb->shared->vcpu_ioreq[src] + 30,
					     __ATOMIC_RELAXED) &
			     0x0f) != STATE_IOREQ_READY)
				xb->events_idle++;
			*source = (uint32_t)src;
			return 1;
		}
		/* not ours (a port being unbound): re-arm it and look further */
		xenevtchn_unmask(xb->xce, (evtchn_port_t)port);
	}
}

static int xen_ev_ack(void *ctx, uint32_t source)
{
	struct xen_backend *xb = ctx;
	evtchn_port_t port = source == IOREQ_ENGINE_SOURCE_BUFFERED ? (evtchn_port_t)xb->buf_local
								     : xb->local[source];

	return xenevtchn_unmask(xb->xce, port) < 0 ? -errno : 0;
}

static int xen_ev_notify(void *ctx, uint32_t vcpu)
{
	struct xen_backend *xb = ctx;

	if (vcpu >= xb->bound)
		return -EINVAL; /* answered before binding: Xen is not waiting on a port yet */
	return xenevtchn_notify(xb->xce, xb->local[vcpu]) < 0 ? -errno : 0;
}

static void xen_ev_invalidate(void *ctx)
{
	struct xen_backend *xb = ctx;

	xen_mapcache_invalidate(xb->mapcache);
}

static void xen_ev_failed(void *ctx, uint32_t vcpu, const ioreq_t *req, int err)
{
	struct xen_backend *xb = ctx;

	/* a guest can cause these at will: rate-limited, like every such message */
	vm_log_guest(xb->vm, LOG_LVL_WARN,
		     "xen: domain %u: vCPU %d: ioreq type %u addr 0x%llx size %u count %u %s "
		     "failed: %s (answered with all-ones)",
		     xb->domid, vcpu == IOREQ_ENGINE_SOURCE_BUFFERED ? -1 : (int)vcpu, req->type,
		     (unsigned long long)req->addr, req->size, req->count,
		     req->dir == IOREQ_READ ? "read" : "write", strerror(-err));
}

static const struct ioreq_engine_ops xen_engine_ops = {
	.pending = xen_ev_pending,
	.ack = xen_ev_ack,
	.notify = xen_ev_notify,
	.invalidate = xen_ev_invalidate,
	.request_failed = xen_ev_failed,
};

/* -------------------------------------------------------------- setup */

static int xen_missing(struct xen_backend *xb, const char *what, int err)
{
	xlog(xb, LOG_LVL_FATAL, "%s: %s", what, strerror(err));
	return -err;
}

/*
 * The domain's facts, waiting up to wait_ms for it to exist. 0, -ESRCH
 * (never appeared), -ESHUTDOWN (already shut down or dying), -EINVAL (PV).
 */
static int xen_wait_domain(struct xen_backend *xb)
{
	unsigned waited = 0;
	xc_domaininfo_t info;

	for (;;) {
		int n = xc_domain_getinfolist(xb->xch, xb->domid, 1, &info);

		if (n == 1 && info.domain == xb->domid)
			break;
		if (waited >= xen_backend_tunables.wait_ms) {
			xlog(xb, LOG_LVL_FATAL,
			     "no such domain (waited %u ms); create it first, paused: xl create -p guest.cfg",
			     waited);
			return -ESRCH;
		}
		if (waited == 0)
			xlog(xb, LOG_LVL_INFO, "waiting for the domain to exist");
		usleep(100 * 1000);
		waited += 100;
	}
	if (info.flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown)) {
		xlog(xb, LOG_LVL_FATAL, "the domain is %s",
		     info.flags & XEN_DOMINF_dying ? "dying" : "shut down");
		return -ESHUTDOWN;
	}
	if (xb->arm) {
		xb->kind = XEN_GUEST_ARM;
		return 0;
	}
	if (!(info.flags & XEN_DOMINF_hvm_guest)) {
		xlog(xb, LOG_LVL_FATAL,
		     "a PV guest has no ioreq servers: use type=\"pvh\" or type=\"hvm\" in its xl config");
		return -EINVAL;
	}
#if defined(__x86_64__) || defined(__i386__)
	xb->kind = (info.arch_config.emulation_flags & XEN_X86_EMU_IOAPIC) ? XEN_GUEST_HVM
									    : XEN_GUEST_PVH;
#else
	xb->kind = XEN_GUEST_HVM;
#endif
	return 0;
}

static int xen_open(struct xen_backend *xb)
{
	if (access(xen_backend_tunables.privcmd_path, F_OK) != 0) {
		xlog(xb, LOG_LVL_FATAL,
		     "%s is missing: this is not a Xen dom0 (or the privcmd driver is not loaded: modprobe xen-privcmd, mount -t xenfs xenfs /proc/xen). vdm --domid needs a Xen host; without Xen use --backend kvm or sim",
		     xen_backend_tunables.privcmd_path);
		return -ENODEV;
	}
	xb->dmod = xendevicemodel_open(NULL, 0);
	if (!xb->dmod)
		return xen_missing(xb, "xendevicemodel_open (libxendevicemodel, /dev/xen/privcmd)",
				   errno ? errno : ENODEV);
	xb->fmem = xenforeignmemory_open(NULL, 0);
	if (!xb->fmem)
		return xen_missing(xb, "xenforeignmemory_open (libxenforeignmemory, /dev/xen/privcmd)",
				   errno ? errno : ENODEV);
	xb->xce = xenevtchn_open(NULL, 0);
	if (!xb->xce)
		return xen_missing(xb, "xenevtchn_open (libxenevtchn, /dev/xen/evtchn)",
				   errno ? errno : ENODEV);
	xb->xch = xc_interface_open(NULL, NULL, 0);
	if (!xb->xch)
		return xen_missing(xb, "xc_interface_open (libxenctrl)", errno ? errno : ENODEV);
	return 0;
}

/* The config's RAM is the guest's RAM: the only memory vdm ever maps. */
static int xen_mapcache_setup(struct xen_backend *xb)
{
	const struct conf_vm *c = vm_conf(xb->vm);
	struct xen_mapcache_range *r = calloc(c->ram_count ? c->ram_count : 1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	for (unsigned i = 0; i < c->ram_count; i++)
		r[i] = (struct xen_mapcache_range){ c->rams[i].start, c->rams[i].length };
	rc = xen_mapcache_new(xb->fmem, xb->domid, r, c->ram_count,
			      &xen_backend_tunables.mapcache, &xb->mapcache);
	free(r);
	if (rc == -EINVAL)
		xlog(xb, LOG_LVL_FATAL, "every `ram` range must be 4 KiB aligned and not overlap");
	return rc;
}

static void xen_teardown(struct vm *vm);

static int xen_setup_attach(struct vm *vm)
{
	const struct vm_options *opts = vm_options(vm);
	struct xen_backend *xb = calloc(1, sizeof(*xb));
	unsigned vcpus = 0;
	void *addr = NULL;
	int rc;

	if (!xb)
		return -ENOMEM;
	xb->vm = vm;
	xb->stop_fd = -1;
	xb->buf_local = -1;
	xb->arm = XEN_BUILD_ARM || xen_backend_tunables.force_arm;
	vm_set_backend_data(vm, xb);
	if (vm_options(vm)->restrict_xen ||
	    (getenv("VDM_XEN_RESTRICT") && strcmp(getenv("VDM_XEN_RESTRICT"), "1") == 0))
		xen_backend_tunables.restrict_after_setup = true;
	if (getenv("VDM_XEN_USER"))
		xen_backend_tunables.user = getenv("VDM_XEN_USER");

	if (opts->domid < 0) {
		vm_log(vm, LOG_LVL_FATAL, "xen: the xen backend needs --domid N");
		return -EINVAL;
	}
	xb->domid = (uint16_t)opts->domid;
	if (vm_conf(vm)->dryrun) {
		/* describe, never attach: every controller the guest type may have */
		return xen_irq_register(&xb->irq, vm, NULL, xb->domid,
					xb->arm ? XEN_GUEST_ARM : XEN_GUEST_X86_ANY);
	}
	xb->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (xb->stop_fd < 0)
		return -errno;
	rc = xen_open(xb);
	if (rc < 0)
		return rc;
	xb->attached = true;
	rc = xen_wait_domain(xb);
	if (rc < 0)
		return rc;
	if (xendevicemodel_nr_vcpus(xb->dmod, xb->domid, &vcpus) < 0)
		return xen_missing(xb, "xendevicemodel_nr_vcpus", errno);
	if (vcpus == 0 || vcpus > IOREQ_ENGINE_MAX_VCPUS) {
		xlog(xb, LOG_LVL_FATAL, "%u vCPUs: one ioreq page serves 1..%u (Xen 4.17)", vcpus,
		     IOREQ_ENGINE_MAX_VCPUS);
		return -E2BIG;
	}
	xb->nr_vcpus = vcpus;

	/* Liveness: any domain's shutdown or destruction fires @releaseDomain. */
	xb->xs = xs_open(0);
	if (!xb->xs || !xs_watch(xb->xs, "@releaseDomain", XEN_RELEASE_TOKEN)) {
		xlog(xb, LOG_LVL_WARN,
		     "xenstore watch on @releaseDomain: %s; the domain's end is noticed by polling",
		     strerror(errno));
		xs_close(xb->xs);
		xb->xs = NULL;
	}

	/* No vdev asks for buffered writes (none emulates VGA); Arm never may. */
	xb->buffered = false;
	if (xendevicemodel_create_ioreq_server(xb->dmod, xb->domid,
					       xb->buffered ? HVM_IOREQSRV_BUFIOREQ_ATOMIC
							    : HVM_IOREQSRV_BUFIOREQ_OFF,
					       &xb->id) < 0)
		return xen_missing(xb,
				   errno == ENOSPC ? "create_ioreq_server: the domain has its 8 ioreq servers already"
						   : "xendevicemodel_create_ioreq_server",
				   errno);
	xb->server_created = true;
	/* frame 1 is the synchronous page; frame 0 (the ring) exists only when buffered */
	xb->res = xenforeignmemory_map_resource(
		xb->fmem, xb->domid, XENMEM_resource_ioreq_server, xb->id,
		xb->buffered ? XENMEM_resource_ioreq_server_frame_bufioreq
			     : XENMEM_resource_ioreq_server_frame_ioreq(0),
		xb->buffered ? 2 : 1, &addr, PROT_READ | PROT_WRITE, 0);
	if (!xb->res)
		return xen_missing(xb, "xenforeignmemory_map_resource(ioreq server pages)", errno);
	xb->pages = addr;
	xb->bufpage = xb->buffered ? addr : NULL;
	xb->shared = (shared_iopage_t *)((uint8_t *)addr + (xb->buffered ? XEN_PAGE : 0));

	rc = xen_mapcache_setup(xb);
	if (rc < 0)
		return rc;
	{
		/*
		 * vm_assemble adds guest memory after this setup: the config's
		 * RAM then gets no host memory, and the vdevs' mem_read/
		 * mem_write/mem_map reach the domain's pages through the cache.
		 */
		const struct guest_mem_backend gmb = { .read = xen_io_mem_read,
						       .write = xen_io_mem_write,
						       .map = xen_io_mem_map,
						       .ctx = xb };

		guest_mem_set_backend(vm_mem(vm), &gmb);
	}
	xb->io = (struct dm_io){ .access = xen_io_access,
				 .mem_read = xen_io_mem_read,
				 .mem_write = xen_io_mem_write,
				 .ctx = xb };
	{
		struct ioreq_engine_config cfg = {
			.shared = xb->shared,
			.nr_vcpus = xb->nr_vcpus,
			.buffered = xb->bufpage,
			.io = &xb->io,
			.ops = &xen_engine_ops,
			.ctx = xb,
		};

		rc = ioreq_engine_create(&cfg, &xb->engine);
		if (rc < 0)
			return rc;
	}
	xen_ranges_init(&xb->ranges, vm, xb->dmod, xb->domid, xb->id, xb->arm);
	rc = xen_irq_register(&xb->irq, vm, xb->dmod, xb->domid, xb->kind);
	if (rc < 0)
		return rc;
	xlog(xb, LOG_LVL_INFO, "%s guest, %u vCPUs, ioreq server %u created", xen_guest_kind_name(xb->kind),
	     xb->nr_vcpus, xb->id);
	return 0;
}

/* vm_free calls teardown only after a successful setup: undo a failed one here. */
static int xen_setup(struct vm *vm)
{
	int rc = xen_setup_attach(vm);

	if (rc < 0)
		xen_teardown(vm);
	return rc;
}

/*
 * Guest RAM is the domain's: setup installed the mapping cache as
 * guest_mem's backend, so RAM gets no host memory here. (A ROM range gets
 * vdm's own memory: Xen guests' ROMs are loaded by the toolstack.)
 */
static void *xen_mem_backing(struct vm *vm, enum guest_mem_kind kind, uint64_t start,
			     uint64_t length)
{
	return NULL;
}

/* ---------------------------------------------------------------- run */

static int xen_drop_privileges(struct xen_backend *xb)
{
	const char *user = xen_backend_tunables.user;
	struct passwd *pw;

	if (!user || !*user)
		return 0; /* asked to keep the user (tests) */
	if (geteuid() != 0) {
		xlog(xb, LOG_LVL_INFO, "not root: no privileges to drop");
		return 0;
	}
	{
		/* libxl's -runas is a name, or "UID:GID" for its per-domain range users */
		unsigned long uid, gid;
		char tail;

		if (sscanf(user, "%lu:%lu%c", &uid, &gid, &tail) == 2) {
			if (setgroups(0, NULL) < 0 || setgid((gid_t)gid) < 0 ||
			    setuid((uid_t)uid) < 0) {
				xlog(xb, LOG_LVL_FATAL, "--restrict: cannot become %s: %s", user,
				     strerror(errno));
				return -EPERM;
			}
			xlog(xb, LOG_LVL_INFO, "running as uid %lu gid %lu", uid, gid);
			return 0;
		}
	}
	pw = getpwnam(user);
	if (!pw) {
		xlog(xb, LOG_LVL_FATAL, "--restrict: no user %s to run as", user);
		return -ENOENT;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		xlog(xb, LOG_LVL_FATAL, "--restrict: cannot become %s: %s", user, strerror(errno));
		return -EPERM;
	}
	xlog(xb, LOG_LVL_INFO, "running as %s", user);
	return 0;
}

/* xenstore cannot be restricted and libxenctrl is not per-domain: close both first (2.8). */
static int xen_restrict(struct xen_backend *xb)
{
	if (xb->xs) {
		xs_unwatch(xb->xs, "@releaseDomain", XEN_RELEASE_TOKEN);
		xs_close(xb->xs);
		xb->xs = NULL;
	}
	if (xb->xch) {
		xc_interface_close(xb->xch);
		xb->xch = NULL;
	}
	if (xentoolcore_restrict_all(xb->domid) < 0)
		return xen_missing(xb, "xentoolcore_restrict_all", errno);
	xb->restricted = true;
	return xen_drop_privileges(xb);
}

enum xen_domain_state { XEN_DOMAIN_ALIVE, XEN_DOMAIN_SHUT_DOWN, XEN_DOMAIN_GONE };

/* Is the domain gone, or shut down? (After restrict: only "gone" is known.) */
static enum xen_domain_state xen_domain_state(struct xen_backend *xb)
{
	xc_domaininfo_t info;
	unsigned vcpus;

	if (xb->xch) {
		int n = xc_domain_getinfolist(xb->xch, xb->domid, 1, &info);

		if (n < 0)
			return errno == ESRCH ? XEN_DOMAIN_GONE : XEN_DOMAIN_ALIVE;
		if (n == 0 || info.domain != xb->domid || (info.flags & XEN_DOMINF_dying))
			return XEN_DOMAIN_GONE;
		/* a suspend (xl save) is not the end: libxl saves vdm's state next,
		 * then destroys the domain, or resumes it if the save fails */
		return (info.flags & XEN_DOMINF_shutdown) &&
			       ((info.flags >> XEN_DOMINF_shutdownshift) &
				XEN_DOMINF_shutdownmask) != SHUTDOWN_suspend
			   ? XEN_DOMAIN_SHUT_DOWN
			   : XEN_DOMAIN_ALIVE;
	}
	return xendevicemodel_nr_vcpus(xb->dmod, xb->domid, &vcpus) < 0 && errno == ESRCH
		   ? XEN_DOMAIN_GONE
		   : XEN_DOMAIN_ALIVE;
}

/*
 * The domain's state changed (or a poll without xenstore): true when the
 * run ends. With xen_stay_after_shutdown (-no-shutdown) a shut-down domain
 * only stops the serving; its destruction (or a signal) ends the run.
 */
static bool xen_domain_check(struct xen_backend *xb)
{
	const struct vm_options *o = vm_options(xb->vm);
	enum xen_domain_state st = xen_domain_state(xb);

	if (st == XEN_DOMAIN_GONE || (st == XEN_DOMAIN_SHUT_DOWN && !o->xen_stay_after_shutdown)) {
		xlog(xb, LOG_LVL_INFO, "the domain shut down or was destroyed");
		return true;
	}
	if (st == XEN_DOMAIN_SHUT_DOWN && !xb->shut_down) {
		xb->shut_down = true;
		xlog(xb, LOG_LVL_INFO,
		     "the domain shut down: no longer serving it; staying until libxl's SIGHUP or "
		     "the domain's destruction (-no-shutdown)");
		if (o->shut_down)
			o->shut_down(o->ready_ctx, xb->vm);
	}
	return false;
}

static bool xen_release_fired(struct xen_backend *xb)
{
	bool fired = false;
	char **ev;

	while ((ev = xs_check_watch(xb->xs))) {
		if (strcmp(ev[XS_WATCH_TOKEN], XEN_RELEASE_TOKEN) == 0)
			fired = true;
		free(ev);
	}
	return fired;
}

/* Answer whatever every vCPU's slot holds, once (no event needed). */
static void xen_sweep(struct xen_backend *xb)
{
	xb->sweep_on_resume = false;
	for (unsigned i = 0; i < xb->nr_vcpus; i++)
		ioreq_engine_service_vcpu(xb->engine, i);
}

static void xen_qdisk_note(void *ctx, const char *devid, const char *dev)
{
	struct xen_backend *xb = ctx;

	xlog(xb, LOG_LVL_INFO,
	     "qdisk backend %s%s%s%s: Closed, no PV path (vdm serves the disk as virtio-blk)",
	     devid, *dev ? " (" : "", dev, *dev ? ")" : "");
}

static int xen_attach(struct xen_backend *xb)
{
	int rc = xen_ranges_sync(&xb->ranges);

	if (rc < 0)
		return rc;
	xb->ranges_ready = true;
	if (xendevicemodel_set_ioreq_server_state(xb->dmod, xb->domid, xb->id, 1) < 0)
		return xen_missing(xb, "set_ioreq_server_state(enabled)", errno);
	xb->enabled = true;
	/* vp_eport is written by Xen when the server is enabled, not before (5.3) */
	for (unsigned i = 0; i < xb->nr_vcpus; i++) {
		uint32_t remote = ioreq_engine_remote_port(xb->engine, i);
		xenevtchn_port_or_error_t local =
			xenevtchn_bind_interdomain(xb->xce, xb->domid, remote);

		if (local < 0)
			return xen_missing(xb, "xenevtchn_bind_interdomain", errno);
		xb->local[i] = (evtchn_port_t)local;
		xb->bound = i + 1;
	}
	if (xb->buffered) {
		evtchn_port_t bufport;
		xenevtchn_port_or_error_t local;

		if (xendevicemodel_get_ioreq_server_info(xb->dmod, xb->domid, xb->id, NULL, NULL,
							 &bufport) < 0)
			return xen_missing(xb, "get_ioreq_server_info", errno);
		local = xenevtchn_bind_interdomain(xb->xce, xb->domid, bufport);
		if (local < 0)
			return xen_missing(xb, "xenevtchn_bind_interdomain(buffered)", errno);
		xb->buf_local = local;
	}
	/* the PV disks libxl left to the device model: declined, before the
	 * guest runs and before restrict closes xenstore (xen_qdisk.h) */
	if (vm_options(xb->vm)->xen_decline_qdisk) {
		rc = xen_qdisk_decline(xb->xs, xb->domid, xen_qdisk_note, xb);
		if (rc < 0)
			xlog(xb, LOG_LVL_WARN,
			     "backend/qdisk/%u: %s: a PV disk frontend in the guest waits for a "
			     "backend that never comes",
			     xb->domid, strerror(-rc));
	}
	/* libxl's readiness: before restrict, which closes xenstore */
	if (vm_options(xb->vm)->xen_dm_state) {
		rc = xen_dmstate_write(xb->xs, xb->domid, "running");
		if (rc < 0)
			xlog(xb, LOG_LVL_ERROR,
			     "cannot write \"running\" to /local/domain/0/device-model/%u/state: %s; "
			     "libxl will give up on this device model",
			     xb->domid, strerror(-rc));
		xb->dm_state_written = rc == 0;
	}
	if (xen_backend_tunables.restrict_after_setup) {
		rc = xen_restrict(xb);
		if (rc < 0)
			return rc;
	}
	/* the xen backend drops privileges itself (--restrict, above) */
	rc = lockdown_apply(xb->vm, false);
	if (rc < 0)
		return rc;
	/* a request posted between enable and bind raised no event we saw;
	 * paused already (-S, QMP stop), it waits for the resume (xen_run) */
	xb->sweep_on_resume = true;
	if (!vm_paused(xb->vm))
		xen_sweep(xb);
	xlog(xb, LOG_LVL_INFO, "attached: %u vCPU ports bound; the guest may be unpaused (xl unpause)",
	     xb->bound);
	return 0;
}

static int xen_run(struct vm *vm)
{
	struct xen_backend *xb = vm_backend_data(vm);
	int rc;

	if (!xb || !xb->attached)
		return VDM_EXIT_FATAL_START;
	rc = xen_attach(xb);
	if (rc < 0)
		return VDM_EXIT_FATAL_START;
	vm_backend_ready(vm);

	while (!vm_stopping(vm)) {
		/* paused (QMP stop): requests wait in their slots until cont; shut
		 * down (-no-shutdown): no vCPU runs, nothing is served any more */
		bool paused = vm_paused(vm);
		struct pollfd p[3] = {
			{ .fd = xb->stop_fd, .events = POLLIN },
			{ .fd = paused || xb->shut_down ? -1 : xenevtchn_fd(xb->xce), .events = POLLIN },
			{ .fd = xb->xs ? xs_fileno(xb->xs) : -1, .events = POLLIN },
		};
		int n;

		if (xb->sweep_on_resume && !vm_paused(vm))
			xen_sweep(xb);
		n = poll(p, 3, (int)xen_backend_tunables.poll_ms);

		if (n < 0 && errno != EINTR) {
			xlog(xb, LOG_LVL_FATAL, "poll: %s", strerror(errno));
			return VDM_EXIT_UNEXPECTED;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			uint64_t count;

			/* a stop or a pause/resume woke us: the loop condition decides */
			if (read(xb->stop_fd, &count, sizeof(count)) < 0) {
				/* drained already */
			}
			continue;
		}
		if (n > 0 && p[1].revents) {
			rc = ioreq_engine_process_events(xb->engine);
			if (rc < 0)
				vm_log_guest(xb->vm, LOG_LVL_ERROR, "xen: domain %u: event channel: %s",
					     xb->domid, strerror(-rc));
		}
		if ((n > 0 && p[2].revents && xen_release_fired(xb)) || n == 0) {
			if (n == 0)
				xen_ranges_sync(&xb->ranges);
			/* without xenstore (restricted) only the poll notices the end */
			if ((n > 0 || !xb->xs) && xen_domain_check(xb)) {
				vm_stop(vm, VDM_EXIT_NORMAL);
				break;
			}
		}
	}
	return VDM_EXIT_NORMAL;
}

static void xen_stop(struct vm *vm, int code)
{
	struct xen_backend *xb = vm_backend_data(vm);
	uint64_t one = 1;

	if (xb && xb->stop_fd >= 0 && write(xb->stop_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a stop is pending anyway */
	}
}

static void xen_pause(struct vm *vm, bool paused)
{
	/* the run loop reads vm_paused(vm) when it wakes */
	xen_stop(vm, 0);
}

static void xen_teardown(struct vm *vm)
{
	struct xen_backend *xb = vm_backend_data(vm);

	if (!xb)
		return;
	if (xb->dm_state_written) {
		/* gone before the ioreq server: libxl never sees "running" for a dead DM */
		int rc = xen_dmstate_remove(xb->xs, xb->domid);

		if (rc < 0)
			xlog(xb, LOG_LVL_INFO,
			     "device-model state key not removed (%s): libxl removes it with the domain",
			     strerror(-rc));
		xb->dm_state_written = false;
	}
	guest_mem_set_backend(vm_mem(vm), NULL); /* its ctx is freed below */
	if (xb->enabled)
		xlog(xb, LOG_LVL_INFO, "%lu events (%lu with no request posted), %lu device accesses",
		     xb->events, xb->events_idle, xb->accesses);
	if (xb->enabled) {
		xendevicemodel_set_ioreq_server_state(xb->dmod, xb->domid, xb->id, 0);
		xb->enabled = false;
		/* nothing new arrives now: answer what is posted so no vCPU waits */
		for (unsigned i = 0; i < xb->nr_vcpus && xb->engine; i++)
			ioreq_engine_service_vcpu(xb->engine, i);
	}
	if (xb->server_created) {
		xb->ranges_ready = false;
		xen_ranges_unmap_all(&xb->ranges);
		xen_ranges_destroy(&xb->ranges);
	}
	for (unsigned i = 0; i < xb->bound; i++)
		xenevtchn_unbind(xb->xce, xb->local[i]);
	xb->bound = 0;
	if (xb->buf_local >= 0)
		xenevtchn_unbind(xb->xce, (evtchn_port_t)xb->buf_local);
	ioreq_engine_destroy(xb->engine);
	if (xb->res)
		xenforeignmemory_unmap_resource(xb->fmem, xb->res);
	if (xb->server_created)
		xendevicemodel_destroy_ioreq_server(xb->dmod, xb->domid, xb->id);
	xen_mapcache_free(xb->mapcache);
	xen_irq_unregister(&xb->irq);
	xen_pass_undo(&xb->pass, vm, xb->xch, xb->domid);
	if (xb->xs) {
		xs_unwatch(xb->xs, "@releaseDomain", XEN_RELEASE_TOKEN);
		xs_close(xb->xs);
	}
	if (xb->xch)
		xc_interface_close(xb->xch);
	if (xb->xce)
		xenevtchn_close(xb->xce);
	if (xb->fmem)
		xenforeignmemory_close(xb->fmem);
	if (xb->dmod)
		xendevicemodel_close(xb->dmod);
	if (xb->stop_fd >= 0)
		close(xb->stop_fd);
	vm_set_backend_data(vm, NULL);
	free(xb);
}

/* ----------------------------------------------------- platform events */

/*
 * The guest powered off or reset the machine through a chipset register:
 * the domain shuts down with that reason, as QEMU does for an HVM guest
 * (libxl then destroys it, or builds it again for a reboot). run() ends
 * when @releaseDomain (or the poll) sees the domain shut down.
 */
static int xen_shutdown(struct vm *vm, int reason)
{
	struct xen_backend *xb = vm_backend_data(vm);
	unsigned xr = reason == 1 ? SHUTDOWN_reboot : SHUTDOWN_poweroff;

	if (!xb || !xb->attached)
		return -ENOTCONN;
	if (xendevicemodel_shutdown(xb->dmod, xb->domid, xr) < 0) {
		int err = errno ? errno : EIO;

		xlog(xb, LOG_LVL_ERROR, "xendevicemodel_shutdown(%s): %s",
		     xr == SHUTDOWN_reboot ? "reboot" : "poweroff", strerror(err));
		return -err;
	}
	xlog(xb, LOG_LVL_INFO, "the guest asked for %s: domain shut down",
	     xr == SHUTDOWN_reboot ? "a reboot" : "power-off");
	return 0;
}

/* A PIRQ link's route (PIIX3 0x60-0x63): Xen routes INTx through it (hvm_set_pci_link_route). */
static int xen_pci_link_route(struct vm *vm, unsigned link, unsigned irq)
{
	struct xen_backend *xb = vm_backend_data(vm);

	if (!xb || !xb->attached)
		return 0; /* dryrun: nothing to tell */
	if (xb->kind != XEN_GUEST_HVM)
		return -EOPNOTSUPP; /* PVH and Arm have no PCI links */
	if (xendevicemodel_set_pci_link_route(xb->dmod, xb->domid, (uint8_t)link, (uint8_t)irq) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

static struct backend_ops backend_xen = {
	.name = "xen",
	.description = "attach to Xen domain --domid N as an ioreq server",
	.native_controllers = XEN_BUILD_ARM ? xen_natives_arm : xen_natives_x86,
	.native_lines = xen_native_lines,
	.pass = xen_pass_op,
	.vcpu_hold = xen_vcpu_hold,
	.vcpu_release = xen_vcpu_release,
	.pci_config_address = !XEN_BUILD_ARM,
	.setup = xen_setup,
	.mem_backing = xen_mem_backing,
	.run = xen_run,
	.stop = xen_stop,
	.teardown = xen_teardown,
	.shutdown = xen_shutdown,
	.pci_link_route = xen_pci_link_route,
	.pause = xen_pause,
};

BACKEND_REGISTER(backend_xen)
