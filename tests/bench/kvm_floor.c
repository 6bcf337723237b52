/*
 * tests/bench/kvm_floor.c: the floor for vdm's kvm backend, the least a
 * device model must do on /dev/kvm. Used by tests/bench/startup.sh and
 * tests/bench/kvm_exit.sh as the baseline measured in the same run.
 *
 *   kvm_floor boot         create a VM with 16 MiB of RAM and one vCPU in
 *                          the PVH entry state (32-bit flat protected mode),
 *                          run a guest that powers off at once (`out` to
 *                          port 0xf4), exit 0: process, VM and vCPU alone
 *   kvm_floor elf FILE CMDLINE
 *                          load a 32-bit PVH ELF (samples/guests) as vdm's
 *                          loader does, hand it an hvm_start_info with the
 *                          command line, and answer its port I/O: COM1's
 *                          LSR reads "transmitter empty", THR bytes go to
 *                          stdout, every other read is all-ones, a write to
 *                          0xf4 powers off with that status; so the floor
 *                          runs the same guest as vdm and QEMU do
 *
 * Used by tests/bench/startup.sh (boot, and elf with exitbench n=0) and
 * tests/bench/kvm_exit.sh (elf with exitbench's loops: the raw KVM_RUN
 * loop answering the accesses itself). No libraries, no threads, no event
 * loop, no in-kernel irqchip, no CPUID set: what is left is process start,
 * the KVM ioctls, the guest and its exits. Exit status: the guest's
 * power-off value, 1 for anything unexpected (an exit it does not know, a
 * file that is not a guest), 2 for usage.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE  (16u << 20)
#define CODE_GPA  0x100000u
#define EXIT_PORT 0xf4

#define START_INFO_GPA 0x1000u
#define CMDLINE_GPA    0x2000u
#define COM1	       0x3f8
#define PVH_NOTE       18 /* XEN_ELFNOTE_PHYS32_ENTRY */

static int fail(const char *what)
{
	fprintf(stderr, "kvm_floor: %s: %s\n", what, strerror(errno));
	return 1;
}

static void segment_flat(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffffu;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

/* The boot guest: out 0xf4, al; hlt. */
static const uint8_t boot_code[] = {0xe6, EXIT_PORT, 0xf4};

/* Loads FILE's PT_LOAD segments into ram; returns the entry (the PVH
 * note's when there is one) or 0. */
static uint32_t load_elf(uint8_t *ram, const char *file)
{
	static uint8_t img[8u << 20];
	FILE *f = fopen(file, "rb");
	size_t len = f ? fread(img, 1, sizeof(img), f) : 0;
	const Elf32_Ehdr *eh = (const void *)img;
	uint32_t entry;

	if (f)
		fclose(f);
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 ||
	    eh->e_phoff + eh->e_phnum * sizeof(Elf32_Phdr) > len)
		return 0;
	entry = eh->e_entry;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf32_Phdr *ph = (const void *)(img + eh->e_phoff + i * sizeof(Elf32_Phdr));

		if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset ||
		    ph->p_paddr >= RAM_SIZE || ph->p_memsz > RAM_SIZE - ph->p_paddr ||
		    ph->p_filesz > ph->p_memsz)
			return 0;
		if (ph->p_type == PT_LOAD) {
			memcpy(ram + ph->p_paddr, img + ph->p_offset, ph->p_filesz);
		} else if (ph->p_type == PT_NOTE) {
			for (uint32_t o = 0; o + sizeof(Elf32_Nhdr) <= ph->p_filesz;) {
				const Elf32_Nhdr *nh = (const void *)(img + ph->p_offset + o);
				uint32_t name = (nh->n_namesz + 3) & ~3u,
					 desc = (nh->n_descsz + 3) & ~3u;
				const uint8_t *d = (const uint8_t *)(nh + 1) + name;

				if (nh->n_type == PVH_NOTE && nh->n_descsz >= 4 &&
				    o + sizeof(*nh) + name + 4 <= ph->p_filesz)
					memcpy(&entry, d, 4);
				o += sizeof(*nh) + name + desc;
			}
		}
	}
	return entry;
}

/* hvm_start_info version 1 (xen/include/public/arch-x86/hvm/start_info.h)
 * with the command line only. */
static void start_info(uint8_t *ram, const char *cmdline)
{
	uint32_t head[4] = {0x336ec578u, 1, 0, 0};
	uint64_t cmd = CMDLINE_GPA;

	memcpy(ram + START_INFO_GPA, head, sizeof(head));
	memcpy(ram + START_INFO_GPA + 24, &cmd, sizeof(cmd));
	snprintf((char *)ram + CMDLINE_GPA, 4096, "%s", cmdline);
}

/* One port access of the elf guest; returns -1 to go on, else the status. */
static int elf_port(struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_IN) {
			memset(data, 0xff, run->io.size);
			if (run->io.port == COM1 + 5)
				data[0] = 0x60; /* THRE | TEMT */
		} else if (run->io.port == EXIT_PORT) {
			return data[0];
		} else if (run->io.port == COM1) {
			fputc(data[0], stdout);
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "boot";
	bool elf = strcmp(mode, "elf") == 0;
	uint32_t entry = CODE_GPA;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, size;
	uint8_t *ram;

	if (!(strcmp(mode, "boot") == 0 && argc == 2) && !(elf && argc == 4)) {
		fprintf(stderr, "usage: kvm_floor boot | elf FILE CMDLINE\n");
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap");
	if (elf) {
		entry = load_elf(ram, argv[2]);
		if (!entry) {
			fprintf(stderr, "kvm_floor: %s: not a 32-bit ELF that fits\n", argv[2]);
			return 1;
		}
		start_info(ram, argv[3]);
	} else {
		memcpy(ram + CODE_GPA, boot_code, sizeof(boot_code));
	}
	struct kvm_userspace_memory_region region = {.slot = 0,
						     .guest_phys_addr = 0,
						     .memory_size = RAM_SIZE,
						     .userspace_addr = (uintptr_t)ram};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	segment_flat(&sregs.cs, 0x10, 0xb);
	segment_flat(&sregs.ds, 0x18, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr.limit = 0x67;
	sregs.tr.selector = 0x20;
	sregs.tr.type = 0xb;
	sregs.tr.present = 1;
	sregs.tr.s = 0;
	sregs.cr0 = 0x11;
	sregs.cr3 = sregs.cr4 = sregs.efer = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rbx = elf ? START_INFO_GPA : 0;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail("KVM_RUN");
		}
		if (elf && run->exit_reason == KVM_EXIT_IO) {
			int status = elf_port(run);

			if (status >= 0) {
				fflush(stdout);
				return status;
			}
			continue;
		}
		if (elf && run->exit_reason == KVM_EXIT_MMIO) {
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
			continue;
		}
		if (!elf && run->exit_reason == KVM_EXIT_IO && run->io.port == EXIT_PORT)
			return 0;
		fprintf(stderr, "kvm_floor: unexpected exit %u\n", run->exit_reason);
		return 1;
	}
}
