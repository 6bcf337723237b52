/*
 * devmodel/kvm/backend_kvm.c: the "kvm" backend: vdm's backend interface
 * (devmodel/backend.h) mapped onto the KVM VM engine (kvm_vm.h).
 *
 *   setup     native controllers: "apic" and "cpu" (line 0: vCPU 0's LINT0
 *             as ExtINT, where an 8259's INTR goes) and the MSI sink
 *             (KVM_SIGNAL_MSI, what an IOAPIC's `intr apic` output uses)
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

#include "devmodel/backend.h"
#include "devmodel/exitcode.h"
#include "devmodel/guest_loader.h"
#include "devmodel/guest_mem.h"
#include "devmodel/irq.h"
#include "devmodel/kvm/kvm_vm.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"

struct backend_kvm {
	struct vm *vm;
	struct kvm_vm *engine;
	struct irq_controller *apic, *cpu;
	pthread_mutex_t lock; /* engine creation vs. stop from another thread */
	int early_stop;	      /* a stop before the engine existed, or NO_STOP */
	bool extint_warned;
};

#define NO_STOP (-1000)

static int backend_kvm_msi(void *ctx, uint64_t address, uint32_t data)
{
	struct backend_kvm *kb = ctx;
	int ret = -EAGAIN; /* the guest is not running (yet or any more) */

	pthread_mutex_lock(&kb->lock);
	if (kb->engine)
		ret = kvm_vm_signal_msi(kb->engine, address, data);
	pthread_mutex_unlock(&kb->lock);
	return ret < 0 ? ret : 0; /* blocked by the guest (0) is not an error */
}

static void backend_kvm_extint_level(void *ctx, unsigned line, int level)
{
	struct backend_kvm *kb = ctx;

	if (line != 0)
		return;
	pthread_mutex_lock(&kb->lock);
	if (kb->engine && level && !kb->extint_warned) {
		/* The engine needs the 8259's acknowledge (its vector), which
		 * the interrupt registry cannot reach yet: see docs/kvm.md. */
		kb->extint_warned = true;
		vm_log(kb->vm, LOG_LVL_WARN,
		       "kvm: ExtINT raised on apic:0 but no 8259 acknowledge is wired; "
		       "use an IOAPIC (MSI) for now");
	}
	if (kb->engine)
		kvm_vm_set_extint(kb->engine, level != 0);
	pthread_mutex_unlock(&kb->lock);
}

static const struct irq_controller_ops backend_kvm_lint0_ops = {
    .set_level = backend_kvm_extint_level,
};

static int backend_kvm_setup(struct vm *vm)
{
	struct backend_kvm *kb;
	char reason[256];
	int ret;

	ret = kvm_vm_probe(reason, sizeof(reason));
	if (ret) {
		vm_log(vm, LOG_LVL_FATAL, "kvm: /dev/kvm not usable: %s", reason);
		return ret;
	}
	kb = calloc(1, sizeof(*kb));
	if (!kb)
		return -ENOMEM;
	kb->vm = vm;
	kb->early_stop = NO_STOP;
	pthread_mutex_init(&kb->lock, NULL);
	ret = irq_controller_register(vm_irq(vm), "apic", 1, &backend_kvm_lint0_ops, kb, &kb->apic);
	if (!ret)
		ret = irq_controller_register(vm_irq(vm), "cpu", 1, &backend_kvm_lint0_ops, kb,
					      &kb->cpu);
	if (ret) {
		if (kb->apic)
			irq_controller_unregister(vm_irq(vm), kb->apic);
		pthread_mutex_destroy(&kb->lock);
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
			vm_log(vm, LOG_LVL_FATAL, "kvm: load %s: %s", load->path, strerror(-ret));
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
	cfg.exit_on_halt = true;
	cfg.io = vm_io(vm);
	cfg.ctx = kb;

	ret = kvm_vm_create(&cfg, &engine);
	if (ret) {
		vm_log(vm, LOG_LVL_FATAL, "kvm: cannot create the VM: %s", strerror(-ret));
		code = VDM_EXIT_FATAL_START;
		goto out;
	}
	pthread_mutex_lock(&kb->lock);
	kb->engine = engine;
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
	pthread_mutex_unlock(&kb->lock);
	kvm_vm_destroy(engine);
	free(slots);
	free(regions);
	free(reserved);
	return code;
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
	if (kb->cpu)
		irq_controller_unregister(vm_irq(vm), kb->cpu);
	if (kb->apic)
		irq_controller_unregister(vm_irq(vm), kb->apic);
	vm_set_backend_data(vm, NULL);
	pthread_mutex_destroy(&kb->lock);
	free(kb);
}

static struct backend_ops backend_kvm = {
    .name = "kvm",
    .description = "runs the guest in its own VM on /dev/kvm (split irqchip, PVH/ELF loader)",
    .setup = backend_kvm_setup,
    .run = backend_kvm_run,
    .stop = backend_kvm_stop,
    .teardown = backend_kvm_teardown,
};

BACKEND_REGISTER(backend_kvm)
