/*
 * devmodel/backend.h: what a backend (xen, kvm, sim) implements.
 *
 * A backend is the hypervisor side of one VM: it owns the vCPUs (or the Xen
 * ioreq server, or the script), turns guest accesses into struct
 * dm_request and runs them with dm_request_execute(vm_io(vm), ...), and
 * delivers interrupts. The core owns everything else (memory map,
 * dispatch, interrupt registry, plugins, event loop).
 *
 * A backend file registers itself with one line, BACKEND_REGISTER(ops);
 * the core never lists backends. main.c picks one: --backend NAME, else
 * "xen" with --domid, else "kvm" when /dev/kvm opens, else "sim".
 *
 * Lifecycle and threads (all calls but stop on vdm's main thread):
 *   setup(vm)    before guest memory and vdevs exist: register the native
 *                interrupt controllers (irq_controller_register on
 *                vm_irq(vm), e.g. "apic", "ioapic", "gic") and the MSI
 *                sink (irq_msi_set_sink). Also called for `dryrun`, so it
 *                must not start the guest. 0 or a negative errno (vdm then
 *                exits 64 after logging).
 *   mem_backing  optional: host memory for a RAM/ROM range of the config
 *                (Xen maps the domain's pages); NULL result: vdm allocates.
 *   run(vm)      the guest runs (vCPU threads, ioreq loop, script) until it
 *                ends; returns the exit code (enum vdm_exit or 32..63): 0
 *                means "whatever ended the VM" (the first vm_stop code);
 *                anything else is the backend's own verdict (a fault, a
 *                failed guest script) and wins. The event loop thread is
 *                already running.
 *   stop(vm, c)  any thread, any time after setup, also before run or
 *                after run returned, possibly several times: make run return
 *                soon (with the code vm_stop recorded). Must not block.
 *   ready        the backend calls vm_backend_ready(vm) once the guest can
 *                be served (so a toolstack waiting for its device model
 *                learns it only then).
 *   teardown(vm) after run returned (or instead of run, for dryrun and
 *                failed assembly): undo setup; the vdevs are gone already.
 * Interrupts into the guest: the backend's own controllers receive level
 * changes through their ops; when the CPU takes an ExtINT it calls
 * irq_ack(vm_irq(vm)) for the vector (a plugin 8259 answers), and on a
 * local-APIC EOI irq_eoi(vm_irq(vm), vector) (a plugin IOAPIC clears
 * remote IRR). MSIs from devices arrive at the sink set in setup.
 * Private state: vm_set_backend_data / vm_backend_data.
 */
#ifndef VDM_BACKEND_H
#define VDM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "devmodel/guest_mem.h"

struct vm;
struct conf_vm;
struct conf_diag;
struct conf_region_ctx;

/* One vCPU's registers for a guest dump (x86-64 names; a 32-bit guest's
 * are the low halves). valid false: the vCPU could not be reached. */
struct backend_vcpu_regs {
	bool valid;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint16_t cs, ss, ds, es, fs, gs;
	uint64_t fs_base, gs_base;
};

struct backend_ops {
	const char *name;	 /* "xen", "kvm", "sim" */
	const char *description; /* one line, for --help */
	/*
	 * The names of the controllers setup() registers, NULL-terminated, so
	 * that the config parser accepts `intr NAME:N` for them before any
	 * vdev defines NAME (conf_env.native_controllers). NULL: the parser's
	 * default list.
	 */
	const char *const *native_controllers;
	/*
	 * The guest's port I/O to 0xcf8-0xcff reaches vdm (kvm, sim): the core
	 * then attaches its PCI host bridge (configuration mechanism #1).
	 * False where the hypervisor decodes CF8/CFC itself and sends PCI
	 * configuration requests (Xen: IOREQ_TYPE_PCI_CONFIG).
	 */
	bool pci_config_ports;
	/*
	 * The hypervisor decodes CF8/CFC itself but also forwards every access
	 * to CONFIG_ADDRESS (0xcf8-0xcfb) as port I/O, and nothing answers its
	 * reads unless vdm does (Xen x86: hvm_access_cf8 latches 4-byte
	 * writes for its own decoding and passes the access on; a read nobody
	 * claims is all-ones). Linux's conf1 probe reads the register back
	 * (pci_check_type1) and finds no PCI at all without it. The core then
	 * attaches only the address register of its host bridge.
	 */
	bool pci_config_address;
	int (*setup)(struct vm *vm);
	void *(*mem_backing)(struct vm *vm, enum guest_mem_kind kind, uint64_t start,
			     uint64_t length);
	int (*run)(struct vm *vm);
	void (*stop)(struct vm *vm, int code);
	void (*teardown)(struct vm *vm);
	/*
	 * Platform events from chipset vdevs (the ABI 1.2 services), both
	 * optional, any vCPU thread, must not block.
	 * shutdown: the guest powered the machine off (reason 0,
	 * VDEV_SHUTDOWN_POWEROFF) or reset it (1, VDEV_SHUTDOWN_REBOOT).
	 * Return 0 when the backend takes it from here (Xen: the domain is
	 * shut down and run() returns once it is gone); otherwise, or when
	 * NULL, the core stops the VM with exit 0.
	 * pci_link_route: PCI interrupt link 0..3 now goes to ISA IRQ 1..15,
	 * or nowhere (0). NULL: the core only logs it.
	 */
	int (*shutdown)(struct vm *vm, int reason);
	int (*pci_link_route)(struct vm *vm, unsigned link, unsigned irq);
	/*
	 * pause: optional. true: take no more guest requests until called with
	 * false (the vCPUs that post one wait in the hypervisor); the backend
	 * reads vm_paused(vm). Any thread, any time after setup; must not block.
	 */
	void (*pause)(struct vm *vm, bool paused);
	/*
	 * native_lines: optional, for `--check`, which assembles the VM with
	 * no hypervisor: how many lines setup() would give the native
	 * controller `name` (one of native_controllers) for this config. The
	 * core registers inert controllers of those sizes instead of calling
	 * setup(). NULL: 1024 lines each.
	 */
	unsigned (*native_lines)(const struct conf_vm *conf, const char *name);
	/*
	 * check_config: optional; the backend's own limits on the
	 * configuration (how many `cpu`, how long a `cmdline`), reported to
	 * diag at the entry's file:line:col. Called before setup(), for
	 * `dryrun`, for a run and for `--check` alike, so that nothing of it
	 * fails only at start. Returns 0 or VDM_EXIT_CONFIG.
	 */
	int (*check_config)(const struct conf_vm *conf, struct conf_diag *diag);
	/*
	 * vcpu_hold: optional, for a guest dump (`dump`): stop every vCPU
	 * where it is (no guest instruction runs until vcpu_release) and fill
	 * regs[0..max-1]. Returns how many vCPUs the guest has, or a negative
	 * errno (the guest is not running: no release needed). Any thread but
	 * a vCPU's; must not wait long for a vCPU stuck in a device (such a
	 * vCPU is reported !valid). NULL: dumps carry no registers.
	 */
	int (*vcpu_hold)(struct vm *vm, struct backend_vcpu_regs *regs, unsigned max);
	/*
	 * pass: optional; give the guest what one `pass` context names (host
	 * memory, I/O ports, PCI functions, interrupts), after setup and guest
	 * memory, in config order. Also called for dryrun and --check, where
	 * it only checks (nothing attached: vm_backend_data may be NULL).
	 * Undone by teardown. Returns 0, VDM_EXIT_CONFIG (reported to diag)
	 * or VDM_EXIT_FATAL_START (logged). NULL: `pass` is a configuration
	 * error on this backend.
	 */
	int (*pass)(struct vm *vm, const struct conf_region_ctx *pass, struct conf_diag *diag);
	void (*vcpu_release)(struct vm *vm);
	/* link field for the registry; leave zero */
	const struct backend_ops *next;
};

/* backend_register: add a backend (BACKEND_REGISTER does it at start-up). */
void backend_register(struct backend_ops *ops);
/* backend_find: the backend called `name`, or NULL when not compiled in. */
const struct backend_ops *backend_find(const char *name);
/* backend_first: the list of registered backends, for --help. */
const struct backend_ops *backend_first(void);

#define BACKEND_REGISTER(ops)                                                                      \
	static void __attribute__((constructor)) backend_register_##ops(void)                      \
	{                                                                                          \
		backend_register(&(ops));                                                          \
	}

#endif /* VDM_BACKEND_H */
