/*
 * devmodel/kvm/kvm_vm.h: the KVM VM engine of vdm's kvm backend.
 *
 * Self-contained: it knows /dev/kvm, memory slots, vCPU threads and the
 * split irqchip, and nothing of vdm's configuration or plugins. The glue
 * (backend_kvm) maps vdm's backend interface onto this API:
 *   - guest RAM/ROM slots      -> struct kvm_vm_slot
 *   - every port/MMIO exit     -> dm_request_execute(cfg->io, ...), the same
 *                                 dispatch path the sim and xen backends use
 *   - an ioapic's `intr apic`  -> kvm_vm_signal_msi()
 *   - an 8259's INTR output    -> kvm_vm_set_extint() + cfg->extint_ack
 *   - end the guest with cause -> kvm_vm_stop()
 *
 * Lifecycle: kvm_vm_create -> kvm_vm_start -> kvm_vm_wait (returns the exit
 * code) -> kvm_vm_destroy. kvm_vm_stop may be called from any thread,
 * including from inside an io callback on a vCPU thread.
 *
 * Exit codes (devmodel/exitcode.h values): 0 when the boot vCPU halts with
 * interrupts disabled (exit_on_halt) or on a stop with 0; 7 (unexpected)
 * on a triple fault / shutdown; 96 (fatal after start) when KVM cannot go
 * on (internal error such as an emulation failure, failed entry, an
 * unknown exit); otherwise the code given to kvm_vm_stop. docs/kvm.md has
 * the details and what this PVM host supports.
 */
#ifndef VDM_KVM_VM_H
#define VDM_KVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "devmodel/request.h"

#define KVM_VM_MAX_VCPUS 64
#define KVM_VM_MAX_SLOTS 64

/* Exit codes the engine itself produces (qvm's, see devmodel/exitcode.h). */
#define KVM_VM_EXIT_HALT     0
#define KVM_VM_EXIT_SHUTDOWN 7
#define KVM_VM_EXIT_FATAL    96

/* One guest memory slot: the host mapping stays owned by the caller and must
 * outlive the VM. gpa, size and host must be page aligned. */
struct kvm_vm_slot {
	void *host;
	uint64_t gpa;
	uint64_t size;
	bool read_only; /* ROM: guest writes become MMIO exits (dispatched) */
};

enum kvm_vm_entry_mode {
	/* PVH: 32-bit protected mode, paging off, flat 4 GiB CS/DS/ES/SS,
	 * EFLAGS 0x2, EBX = start_info gpa (Xen's PVH boot ABI). */
	KVM_VM_ENTRY_PVH32 = 0,
	/* A plain ELF32 entry: the same CPU state, EBX = 0. */
	KVM_VM_ENTRY_FLAT32,
};

struct kvm_vm_entry {
	enum kvm_vm_entry_mode mode;
	uint64_t rip;
	uint64_t start_info; /* PVH32: put in EBX */
};

struct kvm_vm_config {
	const struct kvm_vm_slot *slots;
	unsigned slot_count;
	unsigned vcpu_count; /* 1..KVM_VM_MAX_VCPUS; vCPU 0 boots, the
			      * others wait for INIT/SIPI from the LAPIC */
	const int *vcpu_cpu; /* NULL, or per vCPU a host CPU (-1 = any) */
	struct kvm_vm_entry entry;
	bool exit_on_halt;	/* vCPU 0 halting with IF=0 ends the VM with 0 */
	unsigned halt_poll_ms;	/* how often to look for that (0: 20 ms) */
	int kick_signal;	/* signal used to kick vCPUs out of KVM_RUN
				 * (0: SIGRTMIN + 2); the engine installs an
				 * empty handler for it */
	unsigned ioapic_pins;	/* GSIs reserved for a userspace IOAPIC in the
				 * split irqchip (0: 24) */
	const struct dm_io *io; /* every KVM_EXIT_IO / KVM_EXIT_MMIO goes here */
	/*
	 * extint_ack: an 8259 acknowledge cycle, on vCPU 0's thread, when the
	 * ExtINT line is asserted and the vCPU can take it. Returns the vector
	 * (0..255) or -1 (nothing pending). NULL when there is no 8259.
	 */
	int (*extint_ack)(void *ctx);
	/* eoi: KVM_EXIT_IOAPIC_EOI for a level-triggered vector routed with
	 * kvm_vm_set_ioapic_route; on the vCPU thread. May be NULL. */
	void (*eoi)(void *ctx, uint8_t vector);
	void *ctx;    /* passed to extint_ack and eoi */
	bool verbose; /* log exits to stderr (debugging) */
};

struct kvm_vm;

/* Counters, for tests and figures. */
struct kvm_vm_stats {
	uint64_t exits_io;
	uint64_t exits_mmio;
	uint64_t exits_other;
	uint64_t extint_injected;
	uint64_t io_errors; /* requests dm_request_execute refused */
};

/*
 * kvm_vm_probe: can this process use /dev/kvm with what the engine needs
 * (API 12, user memory, split irqchip, MSI injection)? Returns 0, or a
 * negative errno with a reason written to `reason` (always terminated).
 */
int kvm_vm_probe(char *reason, size_t reason_size);
/*
 * kvm_vm_probe_caps: the same checks without creating a throwaway VM, for
 * a caller about to call kvm_vm_create, which then reports a
 * KVM_CREATE_VM failure itself (a VM created and destroyed costs ~0.4 ms
 * of a 10 ms start-up on PVM).
 */
int kvm_vm_probe_caps(char *reason, size_t reason_size);

/*
 * kvm_vm_create: open /dev/kvm, create the VM with a split irqchip, map the
 * slots, create the vCPUs with KVM's supported CPUID and the entry state.
 * Nothing runs yet. Returns 0 and *out, or a negative errno (-EINVAL for a
 * bad config, -ENODEV when /dev/kvm is missing, else the ioctl's errno);
 * the error is also logged to stderr with what failed.
 */
int kvm_vm_create(const struct kvm_vm_config *cfg, struct kvm_vm **out);

/* kvm_vm_start: start one thread per vCPU. Returns 0 or a negative errno
 * (the threads already started are stopped again). Call once. */
int kvm_vm_start(struct kvm_vm *vm);

/*
 * kvm_vm_stop: end the VM with `code`; the first code given (by this or by
 * the engine itself) wins. Any thread; returns at once (kvm_vm_wait
 * collects the threads).
 */
void kvm_vm_stop(struct kvm_vm *vm, int code);

/* kvm_vm_wait: wait until every vCPU thread has ended; returns the exit
 * code. Call once, after kvm_vm_start, not from a vCPU thread. */
int kvm_vm_wait(struct kvm_vm *vm);

/* kvm_vm_destroy: free everything (stops and joins the threads first if
 * still running). NULL is accepted. */
void kvm_vm_destroy(struct kvm_vm *vm);

/*
 * kvm_vm_signal_msi: inject an MSI into the in-kernel LAPICs (the output of
 * a userspace IOAPIC, or a device's MSI). Returns 1 when delivered, 0 when
 * the guest blocked it (e.g. APIC software-disabled), or a negative errno.
 * Any thread.
 */
int kvm_vm_signal_msi(struct kvm_vm *vm, uint64_t address, uint32_t data);

/*
 * kvm_vm_set_extint: the level of the 8259's INTR output, wired to vCPU 0's
 * LINT0 (ExtINT). While asserted, the engine calls cfg->extint_ack and
 * injects the vector whenever vCPU 0 can take an interrupt. Any thread.
 */
void kvm_vm_set_extint(struct kvm_vm *vm, bool asserted);

/*
 * kvm_vm_set_ioapic_route: tell KVM which MSI IOAPIC pin `pin` sends, so
 * that an EOI of a level-triggered vector comes back as cfg->eoi. valid =
 * false removes the route (masked pin). Returns 0 or a negative errno
 * (-ERANGE for a pin >= ioapic_pins). Any thread.
 */
int kvm_vm_set_ioapic_route(struct kvm_vm *vm, unsigned pin, bool valid, uint64_t address,
			    uint32_t data);

/*
 * kvm_vm_hold: every vCPU thread leaves KVM_RUN, saves its registers and
 * waits until kvm_vm_release (for a guest dump: no guest instruction runs
 * meanwhile). Waits at most timeout_ms for each; one busy in a device
 * callback that long is reported !valid. Fills regs[0..max-1]; returns the
 * number of vCPUs. Any thread but a vCPU's; not twice without a release.
 */
struct kvm_vm_regs {
	bool valid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};
int kvm_vm_hold(struct kvm_vm *vm, struct kvm_vm_regs *regs, unsigned max, unsigned timeout_ms);
void kvm_vm_release(struct kvm_vm *vm);

/* kvm_vm_get_stats: a snapshot of the counters. */
void kvm_vm_get_stats(struct kvm_vm *vm, struct kvm_vm_stats *stats);

#endif /* VDM_KVM_VM_H */
