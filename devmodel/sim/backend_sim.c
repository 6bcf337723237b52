/*
 * devmodel/sim/backend_sim.c: the sim backend, a simulated Xen domain.
 *
 * vdm's side is what it is on Xen: the ioreq engine over a shared ioreq
 * page, one thread per vCPU answering its slot (so plugins see reads and
 * writes on vCPU threads), the buffered ring drained on the event loop,
 * guest RAM that another process can map (memfd, MAP_SHARED). The other
 * side (sim_hv.c) plays the guest from a .vmscript, in a thread of vdm or,
 * with `set sim-process on`, in a child process that
 * shares only what a dom0 process shares with Xen.
 *
 * Native interrupt controllers are recording ones the script observes:
 * "isa" (16 lines, like Xen's set_isa_irq_level), "pci" (INTx, line =
 * device * 4 + pin), "gic" (INTIDs 0..1019), "apic" (the ioapic's upstream)
 * and "cpu" (one INTR pin per vCPU, for an 8259). MSIs are queued for the
 * script's `msi` steps.
 *
 * Time: with a script, the VM runs on a virtual clock that only the
 * script's `wait` moves, so timer behaviour is exact and repeatable. With
 * no script the VM idles on the host clock until it is stopped (SIGTERM,
 * the control socket) or a device ends it: a demo of devices with their
 * own timers and host I/O.
 *
 * Exit code: with a script, 1 at the first mismatch (printed with its
 * script line); otherwise the VM's own exit code (0 when no device ended
 * it).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf/conf.h"
#include "devmodel/backend.h"
#include "devmodel/evloop.h"
#include "devmodel/exitcode.h"
#include "devmodel/isa_bus.h"
#include "devmodel/set_vars.h"
#include "devmodel/guest_mem.h"
#include "devmodel/ioreq_engine.h"
#include "devmodel/irq.h"
#include "devmodel/lockdown.h"
#include "devmodel/log.h"
#include "devmodel/sim/sim_hv.h"
#include "devmodel/sim/vmscript.h"
#include "devmodel/vm.h"

#define SIM_MSI_QUEUE 256
/* How long a script may go on after a device ended the VM (to check it). */
#define SIM_GRACE_MS 5000

struct sim_line {
	int level;
	uint64_t edges;
};

struct sim_controller {
	const char *name;
	unsigned lines;
	struct sim_line *state;
	struct sim_backend *sb;
};

enum { SIM_ISA, SIM_PCI, SIM_GIC, SIM_APIC, SIM_CPU, SIM_CONTROLLERS };

struct sim_mapping {
	void *host;
	size_t length;
};

struct sim_backend {
	struct vm *vm;
	pthread_mutex_t lock; /* line states and the MSI queue */
	struct sim_controller ctrl[SIM_CONTROLLERS];
	struct isa_bus *isa_bus; /* `isa` also drives the 8259 and I/O APIC vdevs */
	struct {
		uint64_t address;
		uint32_t data;
	} msi[SIM_MSI_QUEUE];
	unsigned msi_head, msi_count;
	uint64_t msi_dropped;

	struct sim_mapping maps[SIM_MAX_RAM];
	unsigned map_count;

	struct sim_domain dom;
	bool dom_ready;
	struct ioreq_engine *engine;
	pthread_t vcpu_thread[SIM_MAX_VCPUS];
	unsigned vcpu_threads;
	struct evloop_item *control_item, *buffered_item;

	struct vms_script *script;
	bool process_mode;
	pthread_t hv_thread;
	bool hv_thread_started;
	pid_t hv_child;
	int hv_pidfd; /* the child, watched on the event loop: its death ends the VM */
	struct evloop_item *hv_child_item;
	atomic_bool hv_child_died;

	/* the platform services (Xen's set_pci_link_route, shutdown) as recorded */
	uint8_t link_route[4];
	int shutdown_reason; /* -1: none asked */

	int wake_fd;	  /* eventfd: stop() or DONE happened */
	atomic_bool done; /* the script reported its result */
	atomic_int result;
	atomic_bool stopping;
};

static const char *const sim_native_controllers[] = {"isa", "pci", "gic", "apic", "cpu", NULL};

static void sim_wake(struct sim_backend *sb)
{
	uint64_t one = 1;

	if (write(sb->wake_fd, &one, sizeof(one)) < 0) {
		/* already signalled */
	}
}

/* ----------------------------------------------------- native controllers */

static void sim_set_level(void *ctx, unsigned line, int level)
{
	struct sim_controller *c = ctx;

	pthread_mutex_lock(&c->sb->lock);
	if (level && !c->state[line].level)
		c->state[line].edges++;
	c->state[line].level = !!level;
	pthread_mutex_unlock(&c->sb->lock);
	/* recorded for the script, and on to the 8259 and I/O APIC vdevs */
	if (c == &c->sb->ctrl[SIM_ISA])
		isa_bus_set(c->sb->isa_bus, line, level);
}

static void sim_pulse(void *ctx, unsigned line)
{
	struct sim_controller *c = ctx;

	pthread_mutex_lock(&c->sb->lock);
	c->state[line].edges++;
	pthread_mutex_unlock(&c->sb->lock);
	if (c == &c->sb->ctrl[SIM_ISA])
		isa_bus_pulse(c->sb->isa_bus, line);
}

static const struct irq_controller_ops sim_controller_ops = {
    .set_level = sim_set_level,
    .pulse = sim_pulse,
};

static int sim_msi(void *ctx, uint64_t address, uint32_t data)
{
	struct sim_backend *sb = ctx;

	pthread_mutex_lock(&sb->lock);
	if (sb->msi_count == SIM_MSI_QUEUE) {
		sb->msi_dropped++;
		pthread_mutex_unlock(&sb->lock);
		return -ENOSPC;
	}
	unsigned tail = (sb->msi_head + sb->msi_count++) % SIM_MSI_QUEUE;
	sb->msi[tail].address = address;
	sb->msi[tail].data = data;
	pthread_mutex_unlock(&sb->lock);
	return 0;
}

static unsigned sim_vcpu_count(struct vm *vm)
{
	unsigned n = vm_conf(vm)->cpu_count;

	return n ? n : 1;
}

static bool sim_process_mode(struct vm *vm)
{
	/* `set sim-process on|off`: the last one given wins */
	return set_vars_bool(vm_conf(vm), "sim-process", false);
}

static const unsigned sim_lines[SIM_CONTROLLERS] = {16, 32 * 4, 1020, 1, 0};

static unsigned sim_native_lines(const struct conf_vm *conf, const char *name)
{
	for (unsigned i = 0; i < SIM_CONTROLLERS; i++)
		if (!strcmp(name, sim_native_controllers[i]))
			return i == SIM_CPU ? (conf->cpu_count ? conf->cpu_count : 1)
					    : sim_lines[i];
	return 0;
}

/* What the simulated domain would refuse at start, at its place. */
static int sim_check_config(const struct conf_vm *conf, struct conf_diag *diag)
{
	if (conf->cpu_count <= SIM_MAX_VCPUS)
		return 0;
	conf_diag_error(diag, &conf->cpus[SIM_MAX_VCPUS].pos,
			"cpu %u: the sim backend simulates at most %u vCPUs (one ioreq page; %u "
			"given)",
			SIM_MAX_VCPUS, SIM_MAX_VCPUS, conf->cpu_count);
	return VDM_EXIT_CONFIG;
}

static int sim_setup(struct vm *vm)
{
	struct sim_backend *sb = calloc(1, sizeof(*sb));
	int ret;

	if (!sb)
		return -ENOMEM;
	sb->vm = vm;
	sb->hv_child = -1;
	sb->hv_pidfd = -1;
	pthread_mutex_init(&sb->lock, NULL);
	sb->shutdown_reason = -1;
	sb->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm_set_backend_data(vm, sb);
	if (sb->wake_fd < 0)
		return -errno;
	sb->isa_bus = isa_bus_new(vm);
	if (!sb->isa_bus)
		return -ENOMEM;
	for (unsigned i = 0; i < SIM_CONTROLLERS; i++) {
		struct sim_controller *c = &sb->ctrl[i];
		c->name = sim_native_controllers[i];
		c->lines = sim_native_lines(vm_conf(vm), c->name);
		c->sb = sb;
		c->state = calloc(c->lines, sizeof(*c->state));
		if (!c->state)
			return -ENOMEM;
		ret = irq_controller_register(vm_irq(vm), c->name, c->lines, &sim_controller_ops, c,
					      NULL);
		if (ret < 0)
			return ret;
	}
	irq_msi_set_sink(vm_irq(vm), sim_msi, sb);
	sb->process_mode = sim_process_mode(vm);
	if (vm_options(vm)->script) {
		/* A scripted guest runs on virtual time; the script moves it. */
		ret = evloop_use_virtual_clock(vm_evloop(vm));
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Guest RAM the other process can map too: a memfd, shared. */
static void *sim_mem_backing(struct vm *vm, enum guest_mem_kind kind, uint64_t start,
			     uint64_t length)
{
	struct sim_backend *sb = vm_backend_data(vm);
	void *host;
	int fd;

	if (!sb || sb->map_count == SIM_MAX_RAM || length > SIZE_MAX)
		return NULL;
	fd = memfd_create(kind == GUEST_MEM_ROM ? "vdm-sim-rom" : "vdm-sim-ram", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, (off_t)length) < 0) {
		close(fd);
		return NULL;
	}
	host = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	close(fd);
	if (host == MAP_FAILED)
		return NULL;
	sb->maps[sb->map_count++] = (struct sim_mapping){.host = host, .length = length};
	return host;
}

/* ------------------------------------------------ the device-model side */

static int sim_notify(void *ctx, uint32_t vcpu)
{
	struct sim_backend *sb = ctx;
	uint64_t one = 1;

	return write(sb->dom.to_hv[vcpu], &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

static int sim_pending(void *ctx, uint32_t *source)
{
	return 0; /* every vCPU thread services its own slot */
}

static void sim_invalidate(void *ctx)
{
	struct sim_backend *sb = ctx;

	/* sim RAM is mapped once for good: nothing cached to drop */
	vm_log(sb->vm, LOG_LVL_DEBUG, "INVALIDATE answered");
}

static void sim_request_failed(void *ctx, uint32_t vcpu, const ioreq_t *req, int err)
{
	struct sim_backend *sb = ctx;

	vm_log_guest(
	    sb->vm, LOG_LVL_WARN, "vCPU %u: ioreq type %u addr 0x%llx size %u count %u failed: %s",
	    vcpu, req->type, (unsigned long long)req->addr, req->size, req->count, strerror(-err));
}

static const struct ioreq_engine_ops sim_engine_ops = {
    .pending = sim_pending,
    .notify = sim_notify,
    .invalidate = sim_invalidate,
    .request_failed = sim_request_failed,
};

struct sim_vcpu_arg {
	struct sim_backend *sb;
	unsigned vcpu;
};

/* One thread per vCPU, like a Xen device model's per-port handling. */
static void *sim_vcpu_main(void *arg)
{
	struct sim_vcpu_arg *a = arg;
	struct sim_backend *sb = a->sb;
	unsigned vcpu = a->vcpu;
	struct pollfd pfd[2] = {{.fd = sb->dom.to_dm[vcpu], .events = POLLIN},
				{.fd = sb->dom.stop_fd, .events = POLLIN}};

	free(a);
	for (;;) {
		uint64_t count;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (read(pfd[0].fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			break;
		if (ioreq_engine_service_vcpu(sb->engine, vcpu) < 0)
			vm_log(sb->vm, LOG_LVL_ERROR, "vCPU %u: cannot answer the hypervisor",
			       vcpu);
	}
	return NULL;
}

static void sim_buffered_fire(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct sim_backend *sb = ctx;
	uint64_t count;

	if (read(sb->dom.buf_to_dm, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	ioreq_engine_drain_buffered(sb->engine);
}

static struct sim_controller *sim_find_line(struct sim_backend *sb, const char *spec,
					    unsigned *line)
{
	size_t name_len;
	uint64_t n;

	if (conf_line_parse(spec, &name_len, &n, NULL) < 0)
		return NULL;
	for (unsigned i = 0; i < SIM_CONTROLLERS; i++) {
		struct sim_controller *c = &sb->ctrl[i];
		if (strlen(c->name) != name_len || strncmp(spec, c->name, name_len))
			continue;
		if (n >= c->lines)
			return NULL;
		*line = (unsigned)n;
		return c;
	}
	return NULL;
}

/* Control messages from the hypervisor side, on the event-loop thread. */
static void sim_control_fire(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct sim_backend *sb = ctx;
	struct sim_msg msg;
	struct sim_reply reply = {0};
	ssize_t n = recv(sb->dom.control_dm, &msg, sizeof(msg), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		/* the other side is gone without a result (a child's death is
		 * reported by sim_child_fire, which knows how it died) */
		if (!atomic_load(&sb->done) && sb->hv_pidfd < 0) {
			atomic_store(&sb->result, 1);
			atomic_store(&sb->done, true);
			sim_wake(sb);
		}
		evloop_modify(vm_evloop(sb->vm), item, 0);
		return;
	}
	if (n != (ssize_t)sizeof(msg))
		return;
	msg.name[sizeof(msg.name) - 1] = '\0';
	switch (msg.op) {
	case SIM_MSG_WAIT:
		evloop_advance(vm_evloop(sb->vm), msg.arg);
		break;
	case SIM_MSG_LINE: {
		unsigned line;
		struct sim_controller *c = sim_find_line(sb, msg.name, &line);
		if (!c) {
			reply.status = -ENOENT;
			break;
		}
		pthread_mutex_lock(&sb->lock);
		reply.a = (uint64_t)c->state[line].level;
		reply.b = c->state[line].edges;
		pthread_mutex_unlock(&sb->lock);
		break;
	}
	case SIM_MSG_MSI:
		pthread_mutex_lock(&sb->lock);
		if (sb->msi_count) {
			reply.status = 1;
			reply.a = sb->msi[sb->msi_head].address;
			reply.b = sb->msi[sb->msi_head].data;
			sb->msi_head = (sb->msi_head + 1) % SIM_MSI_QUEUE;
			sb->msi_count--;
		}
		pthread_mutex_unlock(&sb->lock);
		break;
	case SIM_MSG_STATUS:
		reply.status = vm_stopping(sb->vm) ? vm_stop_code(sb->vm) : -1;
		break;
	case SIM_MSG_DONE:
		atomic_store(&sb->result, msg.arg ? 1 : 0);
		break;
	case SIM_MSG_ROUTE:
		if (msg.arg > 3) {
			reply.status = -EINVAL;
			break;
		}
		pthread_mutex_lock(&sb->lock);
		reply.a = sb->link_route[msg.arg];
		pthread_mutex_unlock(&sb->lock);
		break;
	case SIM_MSG_SHUTDOWN:
		pthread_mutex_lock(&sb->lock);
		reply.status = sb->shutdown_reason;
		pthread_mutex_unlock(&sb->lock);
		break;
	default:
		reply.status = -EINVAL;
		break;
	}
	if (send(sb->dom.control_dm, &reply, sizeof(reply), MSG_NOSIGNAL) < 0)
		vm_log(sb->vm, LOG_LVL_WARN, "sim: cannot answer the hypervisor side: %s",
		       strerror(errno));
	/*
	 * Only after the answer is on its way: waking run() ends the domain
	 * (the stop eventfd), and the hypervisor side must see the answer
	 * first, not a cancelled wait.
	 */
	if (msg.op == SIM_MSG_DONE) {
		atomic_store(&sb->done, true);
		sim_wake(sb);
	}
}

static void *sim_hv_thread_main(void *arg)
{
	struct sim_backend *sb = arg;

	sim_hv_run_script(&sb->dom, sb->script, stderr);
	return NULL;
}

/*
 * The hypervisor child died before it reported a result (SIGKILL, a crash):
 * nothing will ever answer the vCPUs, so end the VM, saying why. On the
 * event loop, through a pidfd: no SIGCHLD handler in a threaded process.
 */
static void sim_child_fire(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct sim_backend *sb = ctx;
	siginfo_t si = {0};

	evloop_modify(vm_evloop(sb->vm), item, 0);
	if (waitid(P_PIDFD, (id_t)sb->hv_pidfd, &si, WEXITED | WNOHANG | WNOWAIT) < 0 ||
	    si.si_pid == 0)
		return;
	if (atomic_load(&sb->done))
		return; /* it ended after reporting: the normal way */
	if (si.si_code == CLD_EXITED)
		vm_log(sb->vm, LOG_LVL_FATAL,
		       "sim: the hypervisor process (pid %d) exited with %d before the script "
		       "finished",
		       (int)sb->hv_child, si.si_status);
	else
		vm_log(sb->vm, LOG_LVL_FATAL,
		       "sim: the hypervisor process (pid %d) was killed by SIG%s before the script "
		       "finished",
		       (int)sb->hv_child,
		       sigabbrev_np(si.si_status) ? sigabbrev_np(si.si_status) : "?");
	atomic_store(&sb->hv_child_died, true);
	atomic_store(&sb->result, VDM_EXIT_FATAL_RUN);
	atomic_store(&sb->done, true);
	sim_wake(sb);
}

static int sim_watch_child(struct sim_backend *sb)
{
	int ret;

	sb->hv_pidfd = (int)syscall(SYS_pidfd_open, sb->hv_child, 0);
	if (sb->hv_pidfd < 0)
		return -errno;
	ret = evloop_watch(vm_evloop(sb->vm), sb->hv_pidfd, EPOLLIN, sim_child_fire, sb, NULL,
			   &sb->hv_child_item);
	if (ret < 0) {
		close(sb->hv_pidfd);
		sb->hv_pidfd = -1;
	}
	return ret;
}

static int sim_start_hypervisor(struct sim_backend *sb)
{
	if (!sb->process_mode) {
		int ret = pthread_create(&sb->hv_thread, NULL, sim_hv_thread_main, sb);
		if (ret)
			return -ret;
		sb->hv_thread_started = true;
		return 0;
	}
	pid_t parent = getpid();

	fflush(NULL);
	sb->hv_child = fork();
	if (sb->hv_child < 0)
		return -errno;
	if (sb->hv_child == 0) {
		/* The "hypervisor": it keeps only the shared pages, RAM and channels. */
		sigset_t none;

		/* It must not outlive vdm (killed, crashed): no orphan holds on. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		_exit(sim_hv_run_script(&sb->dom, sb->script, stderr));
	}
	return sim_watch_child(sb);
}

static int sim_run(struct vm *vm)
{
	struct sim_backend *sb = vm_backend_data(vm);
	const char *script_path = vm_options(vm)->script;
	struct guest_mem *gm = vm_mem(vm);
	unsigned vcpus = sim_vcpu_count(vm);
	int ret, code = VDM_EXIT_NORMAL;

	if (script_path) {
		sb->script = vms_parse_file(script_path, stderr);
		if (!sb->script)
			return VDM_EXIT_CONFIG;
	}
	ret = sim_domain_init(&sb->dom, vcpus);
	if (ret < 0) {
		vm_log(vm, LOG_LVL_FATAL, "sim: cannot create the simulated domain: %s",
		       strerror(-ret));
		return VDM_EXIT_FATAL_START;
	}
	sb->dom_ready = true;
	for (unsigned i = 0; i < guest_mem_count(gm); i++) {
		const struct guest_mem_range *r = guest_mem_range_at(gm, i);
		if (r->kind != GUEST_MEM_RESERVE && r->host &&
		    sim_domain_add_ram(&sb->dom, r->start, r->length, r->host) < 0)
			vm_log(vm, LOG_LVL_WARN, "sim: the script cannot reach memory at 0x%llx",
			       (unsigned long long)r->start);
	}
	struct ioreq_engine_config cfg = {
	    .shared = sb->dom.iopage,
	    .nr_vcpus = vcpus,
	    .buffered = sb->dom.bufpage,
	    .io = vm_io(vm),
	    .ops = &sim_engine_ops,
	    .ctx = sb,
	};
	ret = ioreq_engine_create(&cfg, &sb->engine);
	if (ret < 0) {
		vm_log(vm, LOG_LVL_FATAL, "sim: cannot create the ioreq engine: %s",
		       strerror(-ret));
		return VDM_EXIT_FATAL_START;
	}
	/* Everything is set up: from here on the device model runs locked down. */
	if (lockdown_apply(vm, true) < 0)
		return VDM_EXIT_FATAL_START;
	if (evloop_watch(vm_evloop(vm), sb->dom.control_dm, EPOLLIN, sim_control_fire, sb, NULL,
			 &sb->control_item) < 0 ||
	    evloop_watch(vm_evloop(vm), sb->dom.buf_to_dm, EPOLLIN, sim_buffered_fire, sb, NULL,
			 &sb->buffered_item) < 0) {
		vm_log(vm, LOG_LVL_FATAL, "sim: cannot watch the event channels");
		return VDM_EXIT_FATAL_START;
	}
	for (unsigned v = 0; v < vcpus; v++) {
		struct sim_vcpu_arg *a = malloc(sizeof(*a));
		if (a) {
			a->sb = sb;
			a->vcpu = v;
		}
		if (!a || pthread_create(&sb->vcpu_thread[v], NULL, sim_vcpu_main, a)) {
			free(a);
			vm_log(vm, LOG_LVL_FATAL, "sim: cannot start vCPU %u", v);
			code = VDM_EXIT_FATAL_START;
			goto out;
		}
		sb->vcpu_threads++;
	}
	vm_log(vm, LOG_LVL_INFO, "sim: %u vCPU%s, %s%s", vcpus, vcpus == 1 ? "" : "s",
	       sb->script ? "script " : "no script: idle until stopped",
	       sb->script ? (sb->process_mode ? "in a separate process" : "in a thread") : "");
	if (sb->script && (ret = sim_start_hypervisor(sb)) < 0) {
		vm_log(vm, LOG_LVL_FATAL, "sim: cannot start the hypervisor side: %s",
		       strerror(-ret));
		code = VDM_EXIT_FATAL_START;
		goto out;
	}

	/*
	 * Wait for the script's result, or for a stop. A device ending the VM
	 * does not cut a script short: the script may check the exit code.
	 */
	uint64_t grace_end = 0;
	for (;;) {
		struct pollfd pfd = {.fd = sb->wake_fd, .events = POLLIN};
		uint64_t count;
		if (atomic_load(&sb->done))
			break;
		if (atomic_load(&sb->stopping)) {
			/* A signal or the control socket ends a script at once. */
			if (!sb->script || vm_stopped_by_host(vm))
				break;
			if (!grace_end)
				grace_end = evloop_now_ns() + SIM_GRACE_MS * 1000000ull;
			else if (evloop_now_ns() > grace_end) {
				vm_log(vm, LOG_LVL_WARN,
				       "sim: the script did not finish after the VM stopped");
				atomic_store(&sb->result, 1);
				break;
			}
		}
		if (poll(&pfd, 1, grace_end ? 100 : -1) > 0 &&
		    read(sb->wake_fd, &count, sizeof(count)) < 0) {
			/* nothing to do: the flags say what happened */
		}
	}
	/* The stop code of a signal or `quit` wins over the script's result. */
	if (sb->script)
		code = vm_stopped_by_host(vm) ? vm_stop_code(vm) : atomic_load(&sb->result);
out:
	sim_domain_stop(&sb->dom);
	for (unsigned v = 0; v < sb->vcpu_threads; v++)
		pthread_join(sb->vcpu_thread[v], NULL);
	sb->vcpu_threads = 0;
	if (sb->hv_thread_started) {
		pthread_join(sb->hv_thread, NULL);
		sb->hv_thread_started = false;
	}
	if (sb->hv_child > 0) {
		int status;
		if (!atomic_load(&sb->done) || atomic_load(&sb->hv_child_died) ||
		    vm_stopped_by_host(vm))
			kill(sb->hv_child, SIGKILL);
		waitpid(sb->hv_child, &status, 0);
		sb->hv_child = -1;
	}
	if (sb->hv_child_item) {
		evloop_remove(vm_evloop(vm), sb->hv_child_item);
		sb->hv_child_item = NULL;
	}
	if (sb->hv_pidfd >= 0) {
		close(sb->hv_pidfd);
		sb->hv_pidfd = -1;
	}
	return code;
}

static void sim_stop(struct vm *vm, int code)
{
	struct sim_backend *sb = vm_backend_data(vm);

	if (!sb)
		return;
	atomic_store(&sb->stopping, true);
	sim_wake(sb);
}

static void sim_release_memory(struct sim_backend *sb)
{
	for (unsigned i = 0; i < sb->map_count; i++)
		munmap(sb->maps[i].host, sb->maps[i].length);
	sb->map_count = 0;
}

static void sim_teardown(struct vm *vm)
{
	struct sim_backend *sb = vm_backend_data(vm);

	if (!sb)
		return;
	if (sb->control_item)
		evloop_remove(vm_evloop(vm), sb->control_item);
	if (sb->buffered_item)
		evloop_remove(vm_evloop(vm), sb->buffered_item);
	ioreq_engine_destroy(sb->engine);
	if (sb->dom_ready)
		sim_domain_destroy(&sb->dom);
	vms_free(sb->script);
	isa_bus_free(sb->isa_bus);
	for (unsigned i = 0; i < SIM_CONTROLLERS; i++)
		free(sb->ctrl[i].state);
	/* the vdevs and vCPU threads are gone: nothing reaches guest RAM now */
	sim_release_memory(sb);
	if (sb->wake_fd >= 0)
		close(sb->wake_fd);
	pthread_mutex_destroy(&sb->lock);
	vm_set_backend_data(vm, NULL);
	free(sb);
}

/* As Xen would be told: recorded for the script's link-route and shutdown steps. */
static int sim_pci_link_route(struct vm *vm, unsigned link, unsigned irq)
{
	struct sim_backend *sb = vm_backend_data(vm);

	if (!sb || link > 3 || irq > 15)
		return -EINVAL;
	pthread_mutex_lock(&sb->lock);
	sb->link_route[link] = (uint8_t)irq;
	pthread_mutex_unlock(&sb->lock);
	return 0;
}

/* The domain "shuts down": recorded, and the VM ends with 0 (the core's default). */
static int sim_shutdown(struct vm *vm, int reason)
{
	struct sim_backend *sb = vm_backend_data(vm);

	if (sb) {
		pthread_mutex_lock(&sb->lock);
		if (sb->shutdown_reason < 0)
			sb->shutdown_reason = reason;
		pthread_mutex_unlock(&sb->lock);
	}
	return -ENOSYS; /* let the core stop the VM */
}

static struct backend_ops backend_sim = {
    .name = "sim",
    .description = "a simulated Xen domain driven by a guest script (--script FILE)",
    .native_controllers = sim_native_controllers,
    .native_lines = sim_native_lines,
    .check_config = sim_check_config,
    .pci_config_ports = true,
    .shutdown = sim_shutdown,
    .pci_link_route = sim_pci_link_route,
    .setup = sim_setup,
    .mem_backing = sim_mem_backing,
    .run = sim_run,
    .stop = sim_stop,
    .teardown = sim_teardown,
};
BACKEND_REGISTER(backend_sim)
