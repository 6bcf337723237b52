/*
 * devmodel/kvm/kvm_vm.c: the KVM VM engine (see kvm_vm.h for the contract
 * and docs/kvm.md for the design and what the PVM host supports).
 *
 * Interrupts use KVM's split irqchip: the LAPICs are in the kernel (their
 * timers and IPIs never leave it), the IOAPIC and 8259 are userspace
 * controllers. An IOAPIC delivers through KVM_SIGNAL_MSI; an 8259 through
 * KVM_INTERRUPT on vCPU 0 (LINT0 as ExtINT), which KVM only accepts when
 * the vCPU says it is ready, so the engine asks for an interrupt window.
 *
 * With the LAPIC in the kernel, HLT never exits to user space: the vCPU
 * sleeps in KVM_RUN. To end the VM on "cli; hlt" the vCPU 0 thread arms a
 * periodic timer that kicks it out of KVM_RUN with a signal, and looks at
 * the MP state and IF. The same signal is how kvm_vm_stop and a rising
 * ExtINT line interrupt a vCPU.
 */
#include "devmodel/kvm/kvm_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define X86_EFLAGS_IF 0x200u
#define NO_EXIT_CODE  INT_MIN

struct kvm_vcpu {
	struct kvm_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	timer_t halt_timer;
	bool halt_timer_armed;
	/* kvm_vm_hold: under vm->hold_lock */
	unsigned held_gen;
	struct kvm_vm_regs held;
};

struct kvm_vm {
	struct kvm_vm_config cfg;
	struct kvm_vm_slot slots[KVM_VM_MAX_SLOTS];
	int kvm_fd;
	int vm_fd;
	struct kvm_vcpu vcpus[KVM_VM_MAX_VCPUS];
	unsigned vcpu_count;
	atomic_int exit_code;
	atomic_bool stopping;
	atomic_bool extint;
	bool started;
	bool joined;

	/* kvm_vm_hold: the vCPUs park at the top of their loop */
	pthread_mutex_t hold_lock;
	pthread_cond_t hold_cond;
	atomic_bool hold;
	unsigned hold_gen;

	pthread_mutex_t route_lock;
	struct kvm_irq_routing_entry *routes; /* one per ioapic pin */
	bool *route_valid;

	atomic_uint_least64_t exits_io, exits_mmio, exits_other, extint_injected, io_errors;
};

static void kvm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void kvm_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vdm: kvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void kick_handler(int sig)
{
	(void)sig; /* only there so that the signal interrupts KVM_RUN */
}

static int vm_probe(char *reason, size_t reason_size, bool create_vm)
{
	static const struct {
		int cap;
		const char *name;
	} needed[] = {
	    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
	    {KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP"},
	    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
	    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
	    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
	    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
	};
	int fd, api, err = 0;

	snprintf(reason, reason_size, "ok");
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(reason, reason_size, "cannot open /dev/kvm: %s", strerror(errno));
		return err;
	}
	api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api < 0) {
		err = -errno;
		snprintf(reason, reason_size, "KVM_GET_API_VERSION: %s", strerror(errno));
		close(fd);
		return err;
	}
	if (api != KVM_API_VERSION) {
		snprintf(reason, reason_size, "KVM API version %d, need %d", api, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
			snprintf(reason, reason_size, "missing %s", needed[i].name);
			err = -ENOTSUP;
			break;
		}
	}
	if (!err && create_vm) {
		/* Creating a VM is what fails on hosts where KVM is present
		 * but unusable (nested without VMX, resource limits). */
		int vm = ioctl(fd, KVM_CREATE_VM, 0);

		if (vm < 0) {
			err = -errno;
			snprintf(reason, reason_size, "KVM_CREATE_VM: %s", strerror(errno));
		} else {
			close(vm);
		}
	}
	close(fd);
	return err;
}

int kvm_vm_probe(char *reason, size_t reason_size)
{
	return vm_probe(reason, reason_size, true);
}

int kvm_vm_probe_caps(char *reason, size_t reason_size)
{
	return vm_probe(reason, reason_size, false);
}

/* The first code wins; every vCPU is kicked out of KVM_RUN. */
void kvm_vm_stop(struct kvm_vm *vm, int code)
{
	int none = NO_EXIT_CODE;

	atomic_compare_exchange_strong(&vm->exit_code, &none, code);
	atomic_store(&vm->stopping, true);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct kvm_vcpu *vcpu = &vm->vcpus[i];

		if (!vcpu->run)
			continue;
		/* immediate_exit covers a kick that lands just before KVM_RUN. */
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		if (vcpu->thread_started && !pthread_equal(vcpu->thread, pthread_self()))
			pthread_kill(vcpu->thread, vm->cfg.kick_signal);
	}
}

static int vcpu_set_cpuid(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = NULL;
	unsigned entries = 128; /* PVM reports 75: one call, not an E2BIG and a retry */
	int err;

	for (;;) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) + entries * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return -ENOMEM;
		cpuid->nent = entries;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG || entries >= 4096) {
			err = -errno;
			free(cpuid);
			return err;
		}
		entries *= 2;
	}
	/* Each vCPU's APIC ID is its index: leaf 1 EBX[31:24], and the x2APIC
	 * ID in leaves 0xb and 0x1f EDX. */
	for (unsigned i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (vcpu->index << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = vcpu->index;
	}
	err = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0 ? -errno : 0;
	free(cpuid);
	return err;
}

static void segment_flat(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffffu;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

/* vCPU 0's first state: PVH's 32-bit flat protected mode (Xen's
 * docs/misc/pvh.pandoc; selectors as Linux's boot protocol uses). */
static int vcpu_set_entry(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	segment_flat(&sregs.cs, 0x10, 0xb); /* execute/read, accessed */
	segment_flat(&sregs.ds, 0x18, 0x3); /* read/write, accessed */
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.tr.base = 0;
	sregs.tr.limit = 0x67;
	sregs.tr.selector = 0x20;
	sregs.tr.type = 0xb; /* 32-bit busy TSS */
	sregs.tr.present = 1;
	sregs.tr.s = 0;
	sregs.cr0 = 0x11; /* PE, ET */
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = vm->cfg.entry.rip;
	if (vm->cfg.entry.mode == KVM_VM_ENTRY_PVH32)
		regs.rbx = vm->cfg.entry.start_info;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static int vm_create_vcpu(struct kvm_vm *vm, unsigned index)
{
	struct kvm_vcpu *vcpu = &vm->vcpus[index];
	int size, err;

	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (vcpu->fd < 0)
		return -errno;
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return size < 0 ? -errno : -EINVAL;
	vcpu->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return -errno;
	}
	vcpu->run_size = (size_t)size;
	err = vcpu_set_cpuid(vm, vcpu);
	if (err)
		return err;
	if (index == 0)
		return vcpu_set_entry(vm, vcpu);
	return 0;
}

static int config_check(const struct kvm_vm_config *cfg)
{
	if (!cfg->io || !cfg->io->access)
		return -EINVAL;
	if (cfg->vcpu_count < 1 || cfg->vcpu_count > KVM_VM_MAX_VCPUS)
		return -EINVAL;
	if (cfg->slot_count > KVM_VM_MAX_SLOTS || (cfg->slot_count && !cfg->slots))
		return -EINVAL;
	if (cfg->entry.mode != KVM_VM_ENTRY_PVH32 && cfg->entry.mode != KVM_VM_ENTRY_FLAT32)
		return -EINVAL;
	if (cfg->entry.rip > 0xffffffffu || cfg->entry.start_info > 0xffffffffu)
		return -EINVAL; /* a 32-bit entry cannot reach above 4 GiB */
	for (unsigned i = 0; i < cfg->slot_count; i++) {
		const struct kvm_vm_slot *s = &cfg->slots[i];

		if (!s->host || !s->size || (s->gpa | s->size | (uintptr_t)s->host) & 0xfff)
			return -EINVAL;
		if (s->gpa + s->size < s->gpa)
			return -EINVAL;
		for (unsigned j = 0; j < i; j++) {
			const struct kvm_vm_slot *t = &cfg->slots[j];

			if (s->gpa < t->gpa + t->size && t->gpa < s->gpa + s->size)
				return -EINVAL;
		}
	}
	return 0;
}

int kvm_vm_create(const struct kvm_vm_config *cfg, struct kvm_vm **out)
{
	struct kvm_vm *vm;
	struct sigaction sa;
	int err;

	*out = NULL;
	err = config_check(cfg);
	if (err) {
		kvm_log("invalid VM configuration (vCPUs, slots or entry)");
		return err;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	memcpy(vm->slots, cfg->slots, cfg->slot_count * sizeof(cfg->slots[0]));
	vm->cfg.slots = vm->slots;
	if (!vm->cfg.kick_signal)
		vm->cfg.kick_signal = SIGRTMIN + 2;
	if (!vm->cfg.halt_poll_ms)
		vm->cfg.halt_poll_ms = 20;
	if (!vm->cfg.ioapic_pins)
		vm->cfg.ioapic_pins = 24;
	vm->kvm_fd = -1;
	vm->vm_fd = -1;
	atomic_init(&vm->exit_code, NO_EXIT_CODE);
	pthread_mutex_init(&vm->route_lock, NULL);
	pthread_mutex_init(&vm->hold_lock, NULL);
	pthread_cond_init(&vm->hold_cond, NULL);
	for (unsigned i = 0; i < KVM_VM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	vm->routes = calloc(vm->cfg.ioapic_pins, sizeof(*vm->routes));
	vm->route_valid = calloc(vm->cfg.ioapic_pins, sizeof(*vm->route_valid));
	if (!vm->routes || !vm->route_valid) {
		err = -ENOMEM;
		goto fail;
	}

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		err = errno == ENOENT ? -ENODEV : -errno;
		kvm_log("cannot open /dev/kvm: %s", strerror(errno));
		goto fail;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		err = -errno;
		kvm_log("/dev/kvm not usable: KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	struct kvm_enable_cap split = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {vm->cfg.ioapic_pins}};

	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &split) < 0) {
		err = -errno;
		kvm_log("enabling the split irqchip: %s", strerror(errno));
		goto fail;
	}
	for (unsigned i = 0; i < cfg->slot_count; i++) {
		const struct kvm_vm_slot *s = &cfg->slots[i];
		struct kvm_userspace_memory_region region = {
		    .slot = i,
		    .flags = s->read_only ? KVM_MEM_READONLY : 0,
		    .guest_phys_addr = s->gpa,
		    .memory_size = s->size,
		    .userspace_addr = (uintptr_t)s->host,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			err = -errno;
			kvm_log("memory slot %u at gpa 0x%llx size 0x%llx: %s", i,
				(unsigned long long)s->gpa, (unsigned long long)s->size,
				strerror(errno));
			goto fail;
		}
	}
	for (unsigned i = 0; i < cfg->vcpu_count; i++) {
		err = vm_create_vcpu(vm, i);
		vm->vcpu_count = i + 1; /* so that destroy and stop see it */
		if (err) {
			kvm_log("creating vCPU %u: %s", i, strerror(-err));
			goto fail;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: KVM_RUN must return EINTR */
	if (sigaction(vm->cfg.kick_signal, &sa, NULL) < 0) {
		err = -errno;
		goto fail;
	}
	*out = vm;
	return 0;
fail:
	kvm_vm_destroy(vm);
	return err;
}

/* Translate the guest's RIP and show the instruction bytes there, so that an
 * emulation failure names the instruction. */
static void vcpu_report_rip(struct kvm_vcpu *vcpu, const char *what)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	char bytes[3 * 16 + 1] = "";

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
		kvm_log("vCPU %u: %s (registers unreadable: %s)", vcpu->index, what,
			strerror(errno));
		return;
	}
	struct kvm_translation tr = {.linear_address = sregs.cs.base + regs.rip};

	if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
		for (unsigned i = 0; i < vcpu->vm->cfg.slot_count; i++) {
			const struct kvm_vm_slot *s = &vcpu->vm->slots[i];

			if (tr.physical_address < s->gpa || tr.physical_address >= s->gpa + s->size)
				continue;
			uint64_t off = tr.physical_address - s->gpa;

			for (unsigned b = 0; b < 16 && off + b < s->size; b++)
				snprintf(bytes + 3 * b, sizeof(bytes) - 3 * b, " %02x",
					 ((const uint8_t *)s->host)[off + b]);
		}
	}
	kvm_log("vCPU %u: %s at rip 0x%llx (cs 0x%x, cr0 0x%llx, efer 0x%llx), bytes:%s",
		vcpu->index, what, (unsigned long long)regs.rip, sregs.cs.selector,
		(unsigned long long)sregs.cr0, (unsigned long long)sregs.efer,
		bytes[0] ? bytes : " (not in guest RAM)");
}

/* One port access through the common dispatch path. */
static uint64_t vcpu_io_item(struct kvm_vcpu *vcpu, enum vdev_space space, uint64_t addr,
			     unsigned size, bool is_write, uint64_t value)
{
	struct kvm_vm *vm = vcpu->vm;
	struct dm_request req = {
	    .space = space,
	    .addr = addr,
	    .size = (uint8_t)size,
	    .count = 1,
	    .dir = is_write ? DM_WRITE : DM_READ,
	    .data = is_write ? value : 0,
	    .vcpu = (int32_t)vcpu->index,
	};
	int err = dm_request_execute(vm->cfg.io, &req);

	if (err) {
		atomic_fetch_add(&vm->io_errors, 1);
		if (vm->cfg.verbose)
			kvm_log("vCPU %u: %s %s 0x%llx size %u: %s", vcpu->index,
				space == VDEV_SPACE_PIO ? "port" : "mmio",
				is_write ? "write" : "read", (unsigned long long)addr, size,
				strerror(-err));
		/* A failed read floats high, as an unclaimed bus does. */
		return is_write ? 0 : ~0ull;
	}
	return is_write ? 0 : req.data;
}

static void vcpu_exit_io(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned size = run->io.size;
	uint64_t bytes = (uint64_t)run->io.count * size;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	atomic_fetch_add(&vcpu->vm->exits_io, 1);
	if ((size != 1 && size != 2 && size != 4) || run->io.data_offset > vcpu->run_size ||
	    bytes > vcpu->run_size - run->io.data_offset) {
		kvm_log("vCPU %u: malformed port exit (size %u count %u)", vcpu->index, size,
			run->io.count);
		kvm_vm_stop(vcpu->vm, KVM_VM_EXIT_FATAL);
		return;
	}
	/* A string instruction's items are in the kvm_run page in access
	 * order; each is its own access, like the guest's bus cycles. */
	for (uint32_t i = 0; i < run->io.count; i++) {
		uint64_t value = 0;

		if (is_write) {
			memcpy(&value, data + i * size, size);
			vcpu_io_item(vcpu, VDEV_SPACE_PIO, run->io.port, size, true, value);
		} else {
			value = vcpu_io_item(vcpu, VDEV_SPACE_PIO, run->io.port, size, false, 0);
			memcpy(data + i * size, &value, size);
		}
	}
}

static void vcpu_exit_mmio(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned len = run->mmio.len;
	uint64_t addr = run->mmio.phys_addr;
	bool is_write = run->mmio.is_write;

	atomic_fetch_add(&vcpu->vm->exits_mmio, 1);
	if (len == 1 || len == 2 || len == 4 || len == 8) {
		uint64_t value = 0;

		if (is_write) {
			memcpy(&value, run->mmio.data, len);
			vcpu_io_item(vcpu, VDEV_SPACE_MMIO, addr, len, true, value);
		} else {
			value = vcpu_io_item(vcpu, VDEV_SPACE_MMIO, addr, len, false, 0);
			memcpy(run->mmio.data, &value, len);
		}
		return;
	}
	/* Odd lengths (3, 5..7 from unaligned or vector moves): byte by byte,
	 * the way a narrow bus would split them. */
	for (unsigned i = 0; i < len && i < sizeof(run->mmio.data); i++) {
		if (is_write)
			vcpu_io_item(vcpu, VDEV_SPACE_MMIO, addr + i, 1, true, run->mmio.data[i]);
		else
			run->mmio.data[i] =
			    (uint8_t)vcpu_io_item(vcpu, VDEV_SPACE_MMIO, addr + i, 1, false, 0);
	}
}

/* vCPU 0 halted with IF clear: nothing but NMI/INIT can wake it, which the
 * guest uses as "power off" (the runtime's last resort after debug-exit). */
static bool vcpu_halted_for_good(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0 || mp.mp_state != KVM_MP_STATE_HALTED)
		return false;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return false;
	return !(regs.rflags & X86_EFLAGS_IF);
}

/* Before each entry of vCPU 0: inject a pending ExtINT or ask KVM to exit
 * as soon as the vCPU can take one. */
static void vcpu_extint(struct kvm_vcpu *vcpu)
{
	struct kvm_vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;

	if (!vm->cfg.extint_ack || !atomic_load(&vm->extint)) {
		run->request_interrupt_window = 0;
		return;
	}
	if (run->ready_for_interrupt_injection && run->if_flag) {
		int vector = vm->cfg.extint_ack(vm->cfg.ctx);

		if (vector >= 0 && vector <= 255) {
			struct kvm_interrupt irq = {.irq = (uint32_t)vector};

			if (ioctl(vcpu->fd, KVM_INTERRUPT, &irq) < 0)
				kvm_log("vCPU 0: KVM_INTERRUPT vector %d: %s", vector,
					strerror(errno));
			else
				atomic_fetch_add(&vm->extint_injected, 1);
		}
		/* Still asserted (another request pending): next window. */
		run->request_interrupt_window = atomic_load(&vm->extint);
		return;
	}
	run->request_interrupt_window = 1;
}

static int vcpu_arm_halt_timer(struct kvm_vcpu *vcpu)
{
	struct kvm_vm *vm = vcpu->vm;
	struct sigevent sev;
	struct itimerspec its;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = vm->cfg.kick_signal;
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &vcpu->halt_timer) < 0)
		return -errno;
	vcpu->halt_timer_armed = true;
	its.it_interval.tv_sec = vm->cfg.halt_poll_ms / 1000;
	its.it_interval.tv_nsec = (long)(vm->cfg.halt_poll_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	if (timer_settime(vcpu->halt_timer, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

/*
 * A kick that made KVM_RUN return EINTR is still pending on return (the
 * signal is blocked outside KVM_RUN) and would end every later KVM_RUN at
 * once: take it off the pending set.
 */
static void vcpu_eat_kicks(struct kvm_vcpu *vcpu)
{
	static const struct timespec no_wait = {0, 0};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, vcpu->vm->cfg.kick_signal);
	while (sigtimedwait(&set, NULL, &no_wait) >= 0)
		;
}

/* Handle one exit; returns false when the vCPU must stop. */
static bool vcpu_handle_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_exit_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_exit_mmio(vcpu);
		return true;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		atomic_fetch_add(&vm->exits_other, 1);
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		atomic_fetch_add(&vm->exits_other, 1);
		if (vm->cfg.eoi)
			vm->cfg.eoi(vm->cfg.ctx, run->eoi.vector);
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; kept for completeness. */
		atomic_fetch_add(&vm->exits_other, 1);
		if (vm->cfg.exit_on_halt && vcpu->index == 0 && !run->if_flag) {
			kvm_vm_stop(vm, KVM_VM_EXIT_HALT);
			return false;
		}
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_report_rip(vcpu, "shutdown (triple fault)");
		kvm_vm_stop(vm, KVM_VM_EXIT_SHUTDOWN);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
			vcpu_report_rip(vcpu, "crash event");
			kvm_vm_stop(vm, KVM_VM_EXIT_SHUTDOWN);
		} else {
			kvm_vm_stop(vm, 0); /* shutdown or reset requested by the guest */
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR: {
		char what[160];
		int n = snprintf(
		    what, sizeof(what), "internal error, suberror %u%s", run->internal.suberror,
		    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)"
									   : "");

		for (unsigned i = 0;
		     i < run->internal.ndata && i < 4 && n > 0 && (size_t)n < sizeof(what); i++)
			n += snprintf(what + n, sizeof(what) - (size_t)n, " data%u=0x%llx", i,
				      (unsigned long long)run->internal.data[i]);
		vcpu_report_rip(vcpu, what);
		kvm_vm_stop(vm, KVM_VM_EXIT_FATAL);
		return false;
	}
	case KVM_EXIT_FAIL_ENTRY:
		kvm_log("vCPU %u: entry failed, hardware reason 0x%llx", vcpu->index,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		kvm_vm_stop(vm, KVM_VM_EXIT_FATAL);
		return false;
	default:
		vcpu_report_rip(vcpu, "unexpected exit");
		kvm_log("vCPU %u: exit reason %u is not handled", vcpu->index, run->exit_reason);
		kvm_vm_stop(vm, KVM_VM_EXIT_FATAL);
		return false;
	}
}

/*
 * A hold is asked (kvm_vm_hold): save the registers once per hold, then
 * wait outside KVM_RUN until it is released or the VM stops.
 */
static void vcpu_hold_here(struct kvm_vcpu *vcpu)
{
	struct kvm_vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->hold_lock);
	if (atomic_load(&vm->hold) && vcpu->held_gen != vm->hold_gen) {
		vcpu->held.valid = ioctl(vcpu->fd, KVM_GET_REGS, &vcpu->held.regs) == 0 &&
				   ioctl(vcpu->fd, KVM_GET_SREGS, &vcpu->held.sregs) == 0;
		vcpu->held_gen = vm->hold_gen;
		pthread_cond_broadcast(&vm->hold_cond);
	}
	while (atomic_load(&vm->hold) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->hold_cond, &vm->hold_lock);
	pthread_mutex_unlock(&vm->hold_lock);
	/* the kick's immediate exit is spent; a stop sets it again after
	 * `stopping`, which the loop sees first */
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

int kvm_vm_hold(struct kvm_vm *vm, struct kvm_vm_regs *regs, unsigned max, unsigned timeout_ms)
{
	struct timespec deadline;
	unsigned gen;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&vm->hold_lock);
	gen = ++vm->hold_gen;
	atomic_store(&vm->hold, true);
	pthread_mutex_unlock(&vm->hold_lock);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct kvm_vcpu *vcpu = &vm->vcpus[i];

		if (!vcpu->run || !vcpu->thread_started)
			continue;
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(vcpu->thread, vm->cfg.kick_signal);
	}
	pthread_mutex_lock(&vm->hold_lock);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct kvm_vcpu *vcpu = &vm->vcpus[i];

		while (vcpu->thread_started && vcpu->held_gen != gen &&
		       !atomic_load(&vm->stopping) &&
		       pthread_cond_timedwait(&vm->hold_cond, &vm->hold_lock, &deadline) == 0)
			;
		if (i < max) {
			regs[i] = vcpu->held;
			regs[i].valid = vcpu->held_gen == gen && vcpu->held.valid;
		}
	}
	pthread_mutex_unlock(&vm->hold_lock);
	return (int)vm->vcpu_count;
}

void kvm_vm_release(struct kvm_vm *vm)
{
	pthread_mutex_lock(&vm->hold_lock);
	atomic_store(&vm->hold, false);
	pthread_cond_broadcast(&vm->hold_cond);
	pthread_mutex_unlock(&vm->hold_lock);
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct kvm_vm *vm = vcpu->vm;
	sigset_t mask;
	struct {
		struct kvm_signal_mask head;
		uint8_t set[8];
	} kvm_mask;

	/* The kick signal stays blocked in user space (created blocked, see
	 * kvm_vm_start) and is unblocked only inside KVM_RUN, so a kick can
	 * never be lost between the stop check and the entry. */
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	sigdelset(&mask, vm->cfg.kick_signal);
	kvm_mask.head.len = sizeof(kvm_mask.set); /* the kernel's sigset: 64 bits */
	memcpy(kvm_mask.set, &mask, sizeof(kvm_mask.set));
	if (ioctl(vcpu->fd, KVM_SET_SIGNAL_MASK, &kvm_mask) < 0) {
		kvm_log("vCPU %u: KVM_SET_SIGNAL_MASK: %s", vcpu->index, strerror(errno));
		kvm_vm_stop(vm, KVM_VM_EXIT_FATAL);
		return NULL;
	}
	if (vcpu->index == 0 && vm->cfg.exit_on_halt) {
		int err = vcpu_arm_halt_timer(vcpu);

		if (err) {
			kvm_log("vCPU 0: halt timer: %s", strerror(-err));
			kvm_vm_stop(vm, KVM_VM_EXIT_FATAL);
			return NULL;
		}
	}

	while (!atomic_load(&vm->stopping)) {
		if (atomic_load(&vm->hold)) {
			vcpu_hold_here(vcpu);
			continue;
		}
		if (vcpu->index == 0)
			vcpu_extint(vcpu);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				atomic_fetch_add(&vm->exits_other, 1);
				vcpu_eat_kicks(vcpu);
				/* a hold's immediate exit, the hold already gone; the
				 * loop checks `stopping` again before KVM_RUN */
				if (!atomic_load(&vm->stopping) && !atomic_load(&vm->hold))
					__atomic_store_n(&vcpu->run->immediate_exit, 0,
							 __ATOMIC_SEQ_CST);
				if (vcpu->index == 0 && vm->cfg.exit_on_halt &&
				    vcpu_halted_for_good(vcpu))
					kvm_vm_stop(vm, KVM_VM_EXIT_HALT);
				continue;
			}
			kvm_log("vCPU %u: KVM_RUN: %s", vcpu->index, strerror(errno));
			kvm_vm_stop(vm, KVM_VM_EXIT_FATAL);
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	if (vcpu->halt_timer_armed) {
		timer_delete(vcpu->halt_timer);
		vcpu->halt_timer_armed = false;
	}
	return NULL;
}

int kvm_vm_start(struct kvm_vm *vm)
{
	sigset_t block, saved;
	int err = 0;

	if (vm->started)
		return -EALREADY;
	vm->started = true;
	sigemptyset(&block);
	sigaddset(&block, vm->cfg.kick_signal);
	pthread_sigmask(SIG_BLOCK, &block, &saved);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct kvm_vcpu *vcpu = &vm->vcpus[i];
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		if (vm->cfg.vcpu_cpu && vm->cfg.vcpu_cpu[i] >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(vm->cfg.vcpu_cpu[i], &set);
			pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		}
		err = -pthread_create(&vcpu->thread, &attr, vcpu_thread, vcpu);
		pthread_attr_destroy(&attr);
		if (err) {
			kvm_log("starting vCPU %u: %s", i, strerror(-err));
			break;
		}
		vcpu->thread_started = true;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err) {
		kvm_vm_stop(vm, KVM_VM_EXIT_FATAL);
		kvm_vm_wait(vm);
	}
	return err;
}

int kvm_vm_wait(struct kvm_vm *vm)
{
	int code;

	if (!vm->joined) {
		for (unsigned i = 0; i < vm->vcpu_count; i++)
			if (vm->vcpus[i].thread_started)
				pthread_join(vm->vcpus[i].thread, NULL);
		vm->joined = true;
	}
	code = atomic_load(&vm->exit_code);
	return code == NO_EXIT_CODE ? KVM_VM_EXIT_SHUTDOWN : code;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (!vm)
		return;
	if (vm->started && !vm->joined) {
		kvm_vm_stop(vm, 0);
		kvm_vm_wait(vm);
	}
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct kvm_vcpu *vcpu = &vm->vcpus[i];

		if (vcpu->run)
			munmap(vcpu->run, vcpu->run_size);
		if (vcpu->fd >= 0)
			close(vcpu->fd);
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	pthread_mutex_destroy(&vm->route_lock);
	pthread_mutex_destroy(&vm->hold_lock);
	pthread_cond_destroy(&vm->hold_cond);
	free(vm->routes);
	free(vm->route_valid);
	free(vm);
}

int kvm_vm_signal_msi(struct kvm_vm *vm, uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
	    .address_lo = (uint32_t)address,
	    .address_hi = (uint32_t)(address >> 32),
	    .data = data,
	};
	int r = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);

	return r < 0 ? -errno : (r > 0 ? 1 : 0);
}

void kvm_vm_set_extint(struct kvm_vm *vm, bool asserted)
{
	struct kvm_vcpu *vcpu0 = &vm->vcpus[0];

	if (atomic_exchange(&vm->extint, asserted) == asserted || !asserted)
		return;
	/* vCPU 0 may be asleep in KVM_RUN (hlt): kick it so that it injects.
	 * From its own thread (a PIC write in an io callback) the loop sees
	 * the level before the next entry. */
	if (vcpu0->thread_started && !pthread_equal(vcpu0->thread, pthread_self()))
		pthread_kill(vcpu0->thread, vm->cfg.kick_signal);
}

int kvm_vm_set_ioapic_route(struct kvm_vm *vm, unsigned pin, bool valid, uint64_t address,
			    uint32_t data)
{
	struct kvm_irq_routing *table;
	unsigned n = 0;
	int err = 0;

	if (pin >= vm->cfg.ioapic_pins)
		return -ERANGE;
	table = calloc(1, sizeof(*table) + vm->cfg.ioapic_pins * sizeof(table->entries[0]));
	if (!table)
		return -ENOMEM;
	pthread_mutex_lock(&vm->route_lock);
	vm->route_valid[pin] = valid;
	memset(&vm->routes[pin], 0, sizeof(vm->routes[pin]));
	vm->routes[pin].gsi = pin;
	vm->routes[pin].type = KVM_IRQ_ROUTING_MSI;
	vm->routes[pin].u.msi.address_lo = (uint32_t)address;
	vm->routes[pin].u.msi.address_hi = (uint32_t)(address >> 32);
	vm->routes[pin].u.msi.data = data;
	/* KVM replaces the whole table; it scans these routes to learn which
	 * level-triggered vectors must exit with KVM_EXIT_IOAPIC_EOI. */
	for (unsigned i = 0; i < vm->cfg.ioapic_pins; i++)
		if (vm->route_valid[i])
			table->entries[n++] = vm->routes[i];
	table->nr = n;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, table) < 0)
		err = -errno;
	pthread_mutex_unlock(&vm->route_lock);
	free(table);
	return err;
}

void kvm_vm_get_stats(struct kvm_vm *vm, struct kvm_vm_stats *stats)
{
	stats->exits_io = atomic_load(&vm->exits_io);
	stats->exits_mmio = atomic_load(&vm->exits_mmio);
	stats->exits_other = atomic_load(&vm->exits_other);
	stats->extint_injected = atomic_load(&vm->extint_injected);
	stats->io_errors = atomic_load(&vm->io_errors);
}
