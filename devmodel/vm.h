/*
 * devmodel/vm.h: one virtual machine as vdm builds it from a config tree.
 *
 * vm_new makes the empty parts (memory map, dispatch, interrupt registry,
 * event loop, logger, UUID); vm_assemble builds the VM from the config
 * (backend setup -> guest memory -> vdevs in config order); vm_run starts
 * the event loop and the backend and returns the exit code; vm_free tears
 * everything down in reverse (no region, timer, fd or line left behind).
 *
 * Threads: vm_new/assemble/run/free on the main thread; vm_stop from any
 * thread; the accessors from any thread while the VM exists.
 */
#ifndef VDM_VM_H
#define VDM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"
#include "devmodel/backend.h"
#include "devmodel/request.h"

struct vm;
struct guest_mem;
struct iomap;
struct irq_registry;
struct evloop;
struct logger;
struct vdev_host_ctx;

/* What the command line adds to the config. */
struct vm_options {
	const char *const *plugin_dirs; /* search order for vdev-NAME.so */
	unsigned plugin_dir_count;
	const struct backend_ops *backend; /* NULL: no backend (--check, tests) */
	const char *backend_name;	   /* for messages when backend is NULL */
	int domid;			   /* -1 when not given */
	const char *script;		   /* sim: --script FILE */
	bool restrict_xen;		   /* xen: --restrict */
	/*
	 * --check: vm_assemble builds everything dryrun does (plugins created,
	 * lines resolved, regions mapped) but touches no hypervisor and gives
	 * the guest no memory: the backend's native controllers are inert
	 * stand-ins of the same sizes (backend_ops.native_lines) and guest RAM
	 * reads and writes fail. Such a VM cannot run.
	 */
	bool check_only;
	FILE *log_stdout, *log_stderr;	   /* NULL: the process's */
	/*
	 * ready: called once, on the backend's thread, when the guest can be
	 * served (xen: ioreq server enabled, every vCPU's port bound). The
	 * device-model toolstack protocol (devmodel/xl/) answers libxl from
	 * then on. NULL: nobody waits.
	 */
	void (*ready)(void *ctx, struct vm *vm);
	void *ready_ctx;
	/* xen: write "running" to /local/domain/0/device-model/<domid>/state
	 * when ready, remove it at teardown (libxl's readiness for its DM) */
	bool xen_dm_state;
	/*
	 * xen: QEMU's -no-shutdown, which libxl passes. When the domain shuts
	 * down (power-off, reboot, crash; a suspend is never an end) the run
	 * does not end: the guest's requests are no longer served (no vCPU
	 * runs) and vdm waits for libxl's SIGHUP (or SIGTERM) or for the
	 * domain to be destroyed (@releaseDomain), so libxl's destroy finds its
	 * device model alive. false: the run ends with the shutdown.
	 * shut_down, if set, is told once then, on the backend's thread, with
	 * ready_ctx (QMP's query-status says "shutdown").
	 */
	bool xen_stay_after_shutdown;
	/* xen: take libxl's qdisk backends of the domain to Closed at attach
	 * (devmodel/xen/xen_qdisk.h): vdm is the device model that owns them
	 * and serves no PV disk */
	bool xen_decline_qdisk;
	void (*shut_down)(void *ctx, struct vm *vm);
};

/*
 * vm_new: an empty VM for `conf` (which must outlive it) with a fresh
 * UUID. NULL on ENOMEM.
 */
struct vm *vm_new(const struct conf_vm *conf, const struct vm_options *opts);

/*
 * vm_assemble: build the VM. Errors in the configuration are reported to
 * diag at their position. Returns 0; VDM_EXIT_CONFIG (65) for a
 * configuration error; VDM_EXIT_FATAL_START (64) for anything else. On
 * failure the VM is left for vm_free.
 */
int vm_assemble(struct vm *vm, struct conf_diag *diag);

/* vm_print: the assembled VM (dryrun): memory map, regions per space with
 * owners, interrupt controllers and lines, plugins with paths/versions. */
void vm_print(struct vm *vm, FILE *out);
/* vm_status: UUID, state, per-space unowned counts, per-vdev counters. */
void vm_status(struct vm *vm, FILE *out);

/*
 * vm_run: start the event loop (signals: SIGTERM/SIGINT stop with 0,
 * SIGQUIT with 3, SIGUSR2 prints vm_status to stderr), tell the vdevs the
 * guest is starting, run the backend until the guest ends. Returns the
 * exit code. The caller blocks those signals in every thread first
 * (vm_block_signals before creating any thread).
 */
int vm_run(struct vm *vm);
/* vm_block_signals: block the signals vm_run handles in the calling thread
 * (and the threads it creates later), and ignore those vdm has no use for
 * (the table in devmodel/README.md, "Signals"). Call before any thread. */
void vm_block_signals(void);

/*
 * vm_stop: end the VM with `code`; the first code given wins. Returns at
 * once (any thread, also from a vdev callback).
 */
void vm_stop(struct vm *vm, int code);
/*
 * vm_stop_from_host: the same, asked by the host side (a signal, the
 * control socket's quit), not by the guest or a device: a backend ends at
 * once (a sim script is cut short) and `code` is vdm's exit code whatever
 * the guest was doing. vm_stopped_by_host says whether the first stop
 * was such a one.
 */
void vm_stop_from_host(struct vm *vm, int code);
bool vm_stopped_by_host(struct vm *vm);
/*
 * vm_stop_after_dump: write the guest dump (dump.h) on vdm's signal
 * thread, then vm_stop(vm, code). For a device that must not hold the
 * vCPUs from its own callback. Returns 0, or -EAGAIN when the VM does not
 * run (the caller stops it itself).
 */
int vm_stop_after_dump(struct vm *vm, int code);
/* Has vm_stop been called; and with which code (-1 if not). */
bool vm_stopping(struct vm *vm);
int vm_stop_code(struct vm *vm);

/*
 * vm_backend_ready: the backend tells the VM the guest can be served now
 * (calls vm_options.ready once; later calls do nothing).
 */
void vm_backend_ready(struct vm *vm);
/*
 * vm_pause: stop (true) or resume (false) taking guest requests, for a
 * toolstack's stop/cont: the vCPUs that post one wait in the hypervisor.
 * Any thread. 0, or -ENOTSUP when the backend cannot pause.
 */
int vm_pause(struct vm *vm, bool paused);
bool vm_paused(struct vm *vm);

/* vm_free: destroy every vdev (reverse order), tear the backend down, free. */
void vm_free(struct vm *vm);

/* The parts, for backends and plugin_host. */
struct guest_mem *vm_mem(struct vm *vm);
struct iomap *vm_iomap(struct vm *vm);
struct irq_registry *vm_irq(struct vm *vm);
struct evloop *vm_evloop(struct vm *vm);
struct logger *vm_logger(struct vm *vm);
const struct conf_vm *vm_conf(struct vm *vm);
const struct vm_options *vm_options(struct vm *vm);
const char *vm_uuid(struct vm *vm); /* 36 characters */
bool vm_guest_started(struct vm *vm);
void *vm_backend_data(struct vm *vm);
void vm_set_backend_data(struct vm *vm, void *data);
/* The dispatch + guest memory a backend passes to dm_request_execute. */
const struct dm_io *vm_io(struct vm *vm);

/* Instances in config order (for status, tests). */
unsigned vm_vdev_count(struct vm *vm);
struct vdev_host_ctx *vm_vdev_at(struct vm *vm, unsigned index);
struct vdev_host_ctx *vm_vdev_find(struct vm *vm, const char *instance_name);

/* vm_log: a line in the VM's log, tagged "vm". */
void vm_log(struct vm *vm, unsigned level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* vm_log_guest: vm_log for a message a guest can cause at will (a failed
 * access, an unowned port): rate-limited with a count of what was held
 * back (log_guest in log.h). */
void vm_log_guest(struct vm *vm, unsigned level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* VDM_VM_H */
