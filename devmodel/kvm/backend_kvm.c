/*
 * devmodel/kvm/backend_kvm.c: the "kvm" backend: vdm's backend interface
 * (devmodel/backend.h) mapped onto the KVM VM engine (kvm_vm.h).
 *
 *   setup     native controllers: "apic" and "cpu" (line 0: vCPU 0's LINT0
 *             as ExtINT, where an 8259's INTR goes), "isa" (the PC's ISA
 *             IRQs: to the 8259 pair and the I/O APIC, isa_bus.h) and the MSI sink
 *             (KVM_SIGNAL_MSI, what an IOAPIC's `intr apic` output uses)
 *   ExtINT    the engine asks for the vector when vCPU 0 can take it:
 *             irq_ack(vm_irq(vm)), i.e. the 8259 plugin's INTA
 *   EOI       level-triggered MSIs (data bit 15, what an IOAPIC sends for
 *             a level pin) are learnt in the MSI sink and routed on a
 *             reserved IOAPIC GSI, so that the LAPIC's EOI of that vector
 *             exits (KVM_EXIT_IOAPIC_EOI) and reaches irq_eoi(vm_irq(vm))
 *   run       guest RAM/ROM from the memory map become KVM slots; the
 *             `load` images go in through the guest loader (PVH ELF with
 *             hvm_start_info + memory map + cmdline, plain ELF, raw); the
 *             engine runs the vCPUs, every exit through vm_io(vm)
 *   stop      kvm_vm_stop (the first code wins)
 *   teardown  the engine and the controllers go
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devmodel/backend.h"
#include "devmodel/exitcode.h"
#include "devmodel/guest_loader.h"
#include "devmodel/guest_mem.h"
#include "devmodel/irq.h"
#include "devmodel/isa_bus.h"
#include "devmodel/kvm/kvm_vm.h"
#include "devmodel/lockdown.h"
#include "devmodel/log.h"
#include "devmodel/set_vars.h"
#include "devmodel/vm.h"

/* The engine's default: GSIs 0..23 are reserved for a userspace IOAPIC, and
 * KVM scans only MSI routes on those for EOI-exiting vectors. */
#define BACKEND_KVM_EOI_SLOTS 24

/* MSI data: vector, delivery mode (0 fixed, 1 lowest priority), trigger. */
#define MSI_DATA_VECTOR	 0xffu
#define MSI_DATA_DELMODE 0x700u
#define MSI_DATA_LEVEL	 0x8000u

struct backend_kvm {
	struct vm *vm;
	struct kvm_vm *engine;
	struct irq_controller *apic, *cpu, *isa;
	struct isa_bus *isa_bus; /* `isa`: ISA IRQs to the 8259 pair and the I/O APIC */
	pthread_mutex_t lock;	 /* engine creation vs. stop from another thread */
	pthread_cond_t unheld;	 /* `holding` went back to 0 */
	unsigned holding;	 /* dumps using the engine: it outlives them */
	struct kvm_vm *held;	 /* the engine they hold */
	int early_stop;		 /* a stop before the engine existed, or NO_STOP */
	bool extint;		 /* the INTR level, also while no engine exists */
	/*
	 * EOI routes: level vector -> reserved IOAPIC GSI (slot) whose MSI
	 * route makes KVM exit on the EOI of that vector. Under `lock`.
	 * route_of[v] is slot + 1 (0: none); slot_msi the route's message.
	 */
	uint8_t route_of[256];
	uint64_t slot_address[BACKEND_KVM_EOI_SLOTS];
	uint32_t slot_data[BACKEND_KVM_EOI_SLOTS];
	int16_t slot_vector[BACKEND_KVM_EOI_SLOTS]; /* -1: free */
	unsigned slot_next;			    /* round-robin eviction */
	bool routes_warned;
};

#define NO_STOP (-1000)

/*
 * A level-triggered fixed/lowest-priority MSI: make sure KVM reports the EOI
 * of its vector. KVM's split irqchip exits on an EOI only for vectors that a
 * level MSI route on a reserved IOAPIC GSI names (it scans those routes, with
 * their destination, into each vCPU's EOI-exit bitmap), and allows one MSI
 * route per GSI, so there are BACKEND_KVM_EOI_SLOTS such vectors at a time;
 * an IOAPIC rarely has more level pins in use. Learning them from the
 * messages themselves needs no knowledge of the controller that sent them.
 * Called with kb->lock held and the engine present; the route is in place
 * before the message is signalled, so its EOI cannot be missed.
 */
static void backend_kvm_learn_level(struct backend_kvm *kb, uint64_t address, uint32_t data)
{
	unsigned vector = data & MSI_DATA_VECTOR, slot;
	int ret;

	if (!(data & MSI_DATA_LEVEL) || (data & MSI_DATA_DELMODE) > 0x100u)
		return; /* edge, or SMI/NMI/INIT/ExtINT (edge by definition) */
	if (kb->route_of[vector]) {
		slot = kb->route_of[vector] - 1u;
		if (kb->slot_address[slot] == address && kb->slot_data[slot] == data)
			return; /* the usual case: nothing to tell KVM */
	} else {
		slot = kb->slot_next;
		kb->slot_next = (slot + 1) % BACKEND_KVM_EOI_SLOTS;
		if (kb->slot_vector[slot] >= 0) {
			kb->route_of[kb->slot_vector[slot]] = 0;
			if (!kb->routes_warned) {
				kb->routes_warned = true;
				vm_log(kb->vm, LOG_LVL_WARN,
				       "kvm: more than %u level-triggered vectors in use; the EOI "
				       "of vector 0x%x no longer reaches the IOAPIC",
				       BACKEND_KVM_EOI_SLOTS, (unsigned)kb->slot_vector[slot]);
			}
		}
	}
	ret = kvm_vm_set_ioapic_route(kb->engine, slot, true, address, data);
	if (ret) {
		vm_log_guest(kb->vm, LOG_LVL_WARN, "kvm: EOI route for vector 0x%x: %s", vector,
			     strerror(-ret));
		return;
	}
	kb->slot_address[slot] = address;
	kb->slot_data[slot] = data;
	kb->slot_vector[slot] = (int16_t)vector;
	kb->route_of[vector] = (uint8_t)(slot + 1);
}

static int backend_kvm_msi(void *ctx, uint64_t address, uint32_t data)
{
	struct backend_kvm *kb = ctx;
	int ret = -EAGAIN; /* the guest is not running (yet or any more) */

	pthread_mutex_lock(&kb->lock);
	if (kb->engine) {
		backend_kvm_learn_level(kb, address, data);
		ret = kvm_vm_signal_msi(kb->engine, address, data);
	}
	pthread_mutex_unlock(&kb->lock);
	return ret < 0 ? ret : 0; /* blocked by the guest (0) is not an error */
}

/* The INTR line (the 8259's output) of vCPU 0. The level is kept so that
 * an INTR raised before the engine exists is given to it when it does. */
static void backend_kvm_extint_level(void *ctx, unsigned line, int level)
{
	struct backend_kvm *kb = ctx;

	if (line != 0)
		return;
	pthread_mutex_lock(&kb->lock);
	kb->extint = level != 0;
	if (kb->engine)
		kvm_vm_set_extint(kb->engine, kb->extint);
	pthread_mutex_unlock(&kb->lock);
}

/*
 * The engine's INTA, on vCPU 0's thread, holding no lock of ours: the
 * 8259's ack usually changes its INTR output, which comes back through
 * backend_kvm_extint_level (and so takes kb->lock).
 */
static int backend_kvm_extint_ack(void *ctx)
{
	struct backend_kvm *kb = ctx;

	return irq_ack(vm_irq(kb->vm));
}

/* KVM_EXIT_IOAPIC_EOI, on the vCPU's thread: broadcast, as the LAPIC does;
 * controllers ignore vectors they do not own. */
static void backend_kvm_eoi(void *ctx, uint8_t vector)
{
	struct backend_kvm *kb = ctx;

	irq_eoi(vm_irq(kb->vm), vector);
}

static const struct irq_controller_ops backend_kvm_lint0_ops = {
    .set_level = backend_kvm_extint_level,
};

static void backend_kvm_isa_level(void *ctx, unsigned line, int level)
{
	struct backend_kvm *kb = ctx;

	isa_bus_set(kb->isa_bus, line, level);
}

static void backend_kvm_isa_pulse(void *ctx, unsigned line)
{
	struct backend_kvm *kb = ctx;

	isa_bus_pulse(kb->isa_bus, line);
}

static const struct irq_controller_ops backend_kvm_isa_ops = {
    .set_level = backend_kvm_isa_level,
    .pulse = backend_kvm_isa_pulse,
};

static void backend_kvm_unregister(struct vm *vm, struct backend_kvm *kb)
{
	if (kb->isa)
		irq_controller_unregister(vm_irq(vm), kb->isa);
	isa_bus_free(kb->isa_bus);
	if (kb->cpu)
		irq_controller_unregister(vm_irq(vm), kb->cpu);
	if (kb->apic)
		irq_controller_unregister(vm_irq(vm), kb->apic);
	kb->isa = kb->cpu = kb->apic = NULL;
	kb->isa_bus = NULL;
}

static int backend_kvm_setup(struct vm *vm)
{
	struct backend_kvm *kb;
	char reason[256];
	int ret;

	ret = kvm_vm_probe_caps(reason, sizeof(reason));
	if (ret) {
		vm_log(vm, LOG_LVL_FATAL, "kvm: /dev/kvm not usable: %s", reason);
		return ret;
	}
	kb = calloc(1, sizeof(*kb));
	if (!kb)
		return -ENOMEM;
	kb->vm = vm;
	kb->early_stop = NO_STOP;
	for (unsigned i = 0; i < BACKEND_KVM_EOI_SLOTS; i++)
		kb->slot_vector[i] = -1;
	pthread_mutex_init(&kb->lock, NULL);
	pthread_cond_init(&kb->unheld, NULL);
	kb->isa_bus = isa_bus_new(vm);
	ret = kb->isa_bus ? 0 : -ENOMEM;
	if (!ret)
		ret = irq_controller_register(vm_irq(vm), "apic", 1, &backend_kvm_lint0_ops, kb,
					      &kb->apic);
	if (!ret)
		ret = irq_controller_register(vm_irq(vm), "cpu", 1, &backend_kvm_lint0_ops, kb,
					      &kb->cpu);
	if (!ret)
		ret = irq_controller_register(vm_irq(vm), "isa", ISA_BUS_LINES,
					      &backend_kvm_isa_ops, kb, &kb->isa);
	if (ret) {
		backend_kvm_unregister(vm, kb);
		pthread_mutex_destroy(&kb->lock);
		pthread_cond_destroy(&kb->unheld);
		free(kb);
		return ret;
	}
	irq_msi_set_sink(vm_irq(vm), backend_kvm_msi, kb);
	vm_set_backend_data(vm, kb);
	return 0;
}

/* The guest loader's view of guest memory: every RAM and ROM range. */
static int backend_kvm_regions(struct vm *vm, struct guest_loader_region **out, unsigned *count,
			       struct hvm_memmap_table_entry **reserved, unsigned *reserved_count)
{
	struct guest_mem *gm = vm_mem(vm);
	unsigned n = guest_mem_count(gm), r = 0, nr = 0;
	struct guest_loader_region *regions = calloc(n ? n : 1, sizeof(*regions));
	struct hvm_memmap_table_entry *res = calloc(n ? n : 1, sizeof(*res));

	if (!regions || !res) {
		free(regions);
		free(res);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct guest_mem_range *range = guest_mem_range_at(gm, i);

		if (range->kind == GUEST_MEM_RESERVE) {
			res[nr++] = (struct hvm_memmap_table_entry){
			    .addr = range->start,
			    .size = range->length,
			    .type = XEN_HVM_MEMMAP_TYPE_RESERVED,
			};
			continue;
		}
		regions[r++] = (struct guest_loader_region){
		    .host = range->host,
		    .gpa = range->start,
		    .size = range->length,
		    .read_only = range->kind == GUEST_MEM_ROM,
		};
	}
	*out = regions;
	*count = r;
	*reserved = res;
	*reserved_count = nr;
	return 0;
}

/* Load every `load` of the config; the first ELF gives the entry. */
static int backend_kvm_load(struct vm *vm, const struct guest_loader_mem *mem,
			    const struct hvm_memmap_table_entry *reserved, unsigned reserved_count,
			    struct kvm_vm_entry *entry)
{
	const struct conf_vm *conf = vm_conf(vm);
	struct guest_image first = {0};
	bool have_elf = false;

	for (unsigned i = 0; i < conf->load_count; i++) {
		const struct conf_load *load = &conf->loads[i];
		struct guest_image image;
		bool raw = load->blob_type != NULL;
		int ret;

		if (raw && !load->has_address) {
			vm_log(vm, LOG_LVL_FATAL, "kvm: load %s: a %s blob needs an address",
			       load->path, load->blob_type);
			return -EINVAL;
		}
		ret = guest_load_file(mem, load->path, raw, load->address, &image);
		if (ret == -ENOEXEC && load->has_address)
			ret = guest_load_file(mem, load->path, true, load->address, &image);
		if (ret) {
			vm_log(vm, LOG_LVL_FATAL, "%s:%u:%u: load %s: %s", load->pos.file,
			       load->pos.line, load->pos.col, load->path, strerror(-ret));
			return ret;
		}
		/* The entry: the first ELF, else the first raw image's address. */
		if (i == 0 || (!have_elf && image.kind != GUEST_IMAGE_RAW))
			first = image;
		if (image.kind != GUEST_IMAGE_RAW)
			have_elf = true;
	}
	if (!conf->load_count) {
		vm_log(vm, LOG_LVL_FATAL, "kvm: nothing to run: the config has no `load`");
		return -ENOENT;
	}
	entry->rip = first.entry;
	entry->mode = KVM_VM_ENTRY_FLAT32;
	entry->start_info = 0;
	if (first.kind == GUEST_IMAGE_PVH) {
		uint64_t at;
		int ret = guest_write_start_info(mem, &first, conf->cmdline, reserved,
						 reserved_count, 0, &at);

		if (ret) {
			vm_log(vm, LOG_LVL_FATAL, "kvm: cannot place hvm_start_info: %s",
			       strerror(-ret));
			return ret;
		}
		entry->mode = KVM_VM_ENTRY_PVH32;
		entry->start_info = at;
	}
	return 0;
}

static int backend_kvm_run(struct vm *vm)
{
	struct backend_kvm *kb = vm_backend_data(vm);
	const struct conf_vm *conf = vm_conf(vm);
	struct guest_loader_region *regions = NULL;
	struct hvm_memmap_table_entry *reserved = NULL;
	unsigned region_count = 0, reserved_count = 0;
	struct kvm_vm_slot *slots = NULL;
	int cpus[KVM_VM_MAX_VCPUS];
	struct kvm_vm_config cfg;
	struct kvm_vm *engine = NULL;
	int ret, code;

	ret = backend_kvm_regions(vm, &regions, &region_count, &reserved, &reserved_count);
	if (ret)
		return VDM_EXIT_FATAL_START;
	struct guest_loader_mem mem = {regions, region_count};

	memset(&cfg, 0, sizeof(cfg));
	ret = backend_kvm_load(vm, &mem, reserved, reserved_count, &cfg.entry);
	if (ret) {
		code = VDM_EXIT_FATAL_START;
		goto out;
	}
	slots = calloc(region_count ? region_count : 1, sizeof(*slots));
	if (!slots) {
		code = VDM_EXIT_FATAL_START;
		goto out;
	}
	for (unsigned i = 0; i < region_count; i++)
		slots[i] = (struct kvm_vm_slot){regions[i].host, regions[i].gpa, regions[i].size,
						regions[i].read_only};
	cfg.slots = slots;
	cfg.slot_count = region_count;
	cfg.vcpu_count = conf->cpu_count ? conf->cpu_count : 1;
	if (cfg.vcpu_count > KVM_VM_MAX_VCPUS) {
		vm_log(vm, LOG_LVL_FATAL, "kvm: %u vCPUs, at most %u", cfg.vcpu_count,
		       KVM_VM_MAX_VCPUS);
		code = VDM_EXIT_FATAL_START;
		goto out;
	}
	for (unsigned i = 0; i < cfg.vcpu_count; i++) {
		cpus[i] = -1;
		/* runmask: pin to the lowest allowed host CPU. */
		if (i < conf->cpu_count && conf->cpus[i].has_runmask && conf->cpus[i].runmask)
			cpus[i] = __builtin_ctzll(conf->cpus[i].runmask);
	}
	cfg.vcpu_cpu = cpus;
	cfg.exit_on_halt = set_vars_bool(conf, "exit-on-halt", true);
	cfg.io = vm_io(vm);
	cfg.extint_ack = backend_kvm_extint_ack;
	cfg.eoi = backend_kvm_eoi;
	cfg.ioapic_pins = BACKEND_KVM_EOI_SLOTS;
	cfg.ctx = kb;

	ret = kvm_vm_create(&cfg, &engine);
	if (ret) {
		vm_log(vm, LOG_LVL_FATAL, "kvm: cannot create the VM: %s", strerror(-ret));
		code = VDM_EXIT_FATAL_START;
		goto out;
	}
	/* /dev/kvm, the VM and its vCPUs are open: root and most system calls
	 * are no longer needed. */
	if (lockdown_apply(vm, true) < 0) {
		kvm_vm_destroy(engine);
		engine = NULL;
		code = VDM_EXIT_FATAL_START;
		goto out;
	}
	pthread_mutex_lock(&kb->lock);
	kb->engine = engine;
	kvm_vm_set_extint(engine, kb->extint);
	int early = kb->early_stop;

	pthread_mutex_unlock(&kb->lock);
	if (early != NO_STOP) {
		code = early;
		goto out;
	}
	vm_log(vm, LOG_LVL_INFO, "kvm: %u vCPU(s), entry 0x%llx (%s)", cfg.vcpu_count,
	       (unsigned long long)cfg.entry.rip,
	       cfg.entry.mode == KVM_VM_ENTRY_PVH32 ? "PVH" : "flat 32-bit");
	ret = kvm_vm_start(engine);
	code = ret ? VDM_EXIT_FATAL_RUN : kvm_vm_wait(engine);
out:
	pthread_mutex_lock(&kb->lock);
	kb->engine = NULL;
	while (kb->holding) /* a dump still reading the vCPUs */
		pthread_cond_wait(&kb->unheld, &kb->lock);
	memset(kb->route_of, 0, sizeof(kb->route_of));
	for (unsigned i = 0; i < BACKEND_KVM_EOI_SLOTS; i++)
		kb->slot_vector[i] = -1;
	pthread_mutex_unlock(&kb->lock);
	kvm_vm_destroy(engine);
	free(slots);
	free(regions);
	free(reserved);
	return code;
}

/* The registers of a guest dump; the vCPUs wait until the release. */
static int backend_kvm_vcpu_hold(struct vm *vm, struct backend_vcpu_regs *regs, unsigned max)
{
	struct backend_kvm *kb = vm_backend_data(vm);
	struct kvm_vm_regs held[KVM_VM_MAX_VCPUS];
	struct kvm_vm *engine;
	int n;

	if (!kb)
		return -EAGAIN;
	pthread_mutex_lock(&kb->lock);
	engine = kb->engine;
	if (engine) {
		kb->holding++;
		kb->held = engine;
	}
	pthread_mutex_unlock(&kb->lock);
	if (!engine)
		return -EAGAIN; /* not running (yet or any more) */
	/* 200 ms: a vCPU in a device callback comes back well before */
	n = kvm_vm_hold(engine, held, KVM_VM_MAX_VCPUS, 200);
	for (int i = 0; i < n && (unsigned)i < max; i++) {
		const struct kvm_regs *r = &held[i].regs;
		const struct kvm_sregs *s = &held[i].sregs;

		regs[i] = (struct backend_vcpu_regs){
		    .valid = held[i].valid,
		    .rax = r->rax,
		    .rbx = r->rbx,
		    .rcx = r->rcx,
		    .rdx = r->rdx,
		    .rsi = r->rsi,
		    .rdi = r->rdi,
		    .rbp = r->rbp,
		    .rsp = r->rsp,
		    .r8 = r->r8,
		    .r9 = r->r9,
		    .r10 = r->r10,
		    .r11 = r->r11,
		    .r12 = r->r12,
		    .r13 = r->r13,
		    .r14 = r->r14,
		    .r15 = r->r15,
		    .rip = r->rip,
		    .rflags = r->rflags,
		    .cs = s->cs.selector,
		    .ss = s->ss.selector,
		    .ds = s->ds.selector,
		    .es = s->es.selector,
		    .fs = s->fs.selector,
		    .gs = s->gs.selector,
		    .fs_base = s->fs.base,
		    .gs_base = s->gs.base,
		};
	}
	return n;
}

static void backend_kvm_vcpu_release(struct vm *vm)
{
	struct backend_kvm *kb = vm_backend_data(vm);

	pthread_mutex_lock(&kb->lock);
	/* vcpu_hold succeeded: holding > 0 keeps kb->held alive */
	kvm_vm_release(kb->held);
	if (--kb->holding == 0)
		pthread_cond_broadcast(&kb->unheld);
	pthread_mutex_unlock(&kb->lock);
}

static void backend_kvm_stop(struct vm *vm, int code)
{
	struct backend_kvm *kb = vm_backend_data(vm);

	if (!kb)
		return;
	pthread_mutex_lock(&kb->lock);
	if (kb->engine)
		kvm_vm_stop(kb->engine, code);
	else if (kb->early_stop == NO_STOP)
		kb->early_stop = code;
	pthread_mutex_unlock(&kb->lock);
}

static void backend_kvm_teardown(struct vm *vm)
{
	struct backend_kvm *kb = vm_backend_data(vm);

	if (!kb)
		return;
	irq_msi_set_sink(vm_irq(vm), NULL, NULL);
	backend_kvm_unregister(vm, kb);
	vm_set_backend_data(vm, NULL);
	pthread_mutex_destroy(&kb->lock);
	pthread_cond_destroy(&kb->unheld);
	free(kb);
}

static const char *const backend_kvm_natives[] = {"apic", "cpu", "isa", NULL};

static unsigned backend_kvm_native_lines(const struct conf_vm *conf, const char *name)
{
	return strcmp(name, "isa") ? 1 : ISA_BUS_LINES;
}

/* What kvm_vm_create and the PVH start info would refuse, at its place. */
static int backend_kvm_check_config(const struct conf_vm *conf, struct conf_diag *diag)
{
	int rc = 0;

	if (conf->cpu_count > KVM_VM_MAX_VCPUS) {
		conf_diag_error(diag, &conf->cpus[KVM_VM_MAX_VCPUS].pos,
				"cpu %u: the kvm backend runs at most %u vCPUs (%u given)",
				KVM_VM_MAX_VCPUS, KVM_VM_MAX_VCPUS, conf->cpu_count);
		rc = VDM_EXIT_CONFIG;
	}
	if (conf->cmdline && strlen(conf->cmdline) >= GUEST_CMDLINE_MAX) {
		conf_diag_error(diag, &conf->cmdline_pos,
				"cmdline of %zu characters: the boot structures hold at most %u",
				strlen(conf->cmdline), GUEST_CMDLINE_MAX - 1);
		rc = VDM_EXIT_CONFIG;
	}
	/* the loader reads them only at start: a typo must not wait for it */
	for (unsigned i = 0; i < conf->load_count; i++) {
		const char *why;
		int fd = conf_file_open(conf->loads[i].path, &why);

		if (fd >= 0) {
			close(fd);
			continue;
		}
		conf_diag_error(diag, &conf->loads[i].pos, "cannot load '%s': %s",
				conf->loads[i].path, why);
		rc = VDM_EXIT_CONFIG;
	}
	return rc;
}

static struct backend_ops backend_kvm = {
    .name = "kvm",
    .native_controllers = backend_kvm_natives,
    .native_lines = backend_kvm_native_lines,
    .check_config = backend_kvm_check_config,
    .vcpu_hold = backend_kvm_vcpu_hold,
    .vcpu_release = backend_kvm_vcpu_release,
    .pci_config_ports = true,
    .description = "runs the guest in its own VM on /dev/kvm (split irqchip, PVH/ELF loader)",
    .setup = backend_kvm_setup,
    .run = backend_kvm_run,
    .stop = backend_kvm_stop,
    .teardown = backend_kvm_teardown,
};

BACKEND_REGISTER(backend_kvm)
