/*
 * tests/bench/kvm_floor.c: the floor for vdm's kvm backend, the least a
 * device model must do on /dev/kvm. Used by tests/bench/startup.sh and
 * tests/bench/kvm_exit.sh as the baseline measured in the same run.
 *
 *   kvm_floor boot         create a VM with 16 MiB of RAM and one vCPU in
 *                          the PVH entry state (32-bit flat protected mode),
 *                          run a guest that powers off at once (`out` to
 *                          port 0xf4), exit 0
 *   kvm_floor pio N        the guest does N `out`s to port 0x80, then
 *                          powers off; this loop answers them itself
 *   kvm_floor mmio N       the same with N byte writes to MMIO 0xd0000000
 *
 * It checks that it saw exactly N accesses and the power-off (exit 1
 * otherwise), so a floor that skipped work cannot look fast. No libraries,
 * no threads, no event loop: what is left is process start, the KVM ioctls
 * and the exits themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE  (16u << 20)
#define CODE_GPA  0x100000u
#define MMIO_GPA  0xd0000000u
#define EXIT_PORT 0xf4
#define LOOP_PORT 0x80

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

/* The guest: ecx = n; loop { access; dec ecx; jnz } ; out 0xf4; hlt. */
static size_t guest_code(uint8_t *p, const char *mode, uint32_t n)
{
	size_t i = 0;

	if (strcmp(mode, "boot") != 0) {
		p[i++] = 0xb9; /* mov ecx, imm32 */
		memcpy(p + i, &n, 4);
		i += 4;
		if (n) {
			size_t top = i;

			if (strcmp(mode, "pio") == 0) {
				p[i++] = 0xe6; /* out imm8, al */
				p[i++] = LOOP_PORT;
			} else {
				uint32_t a = MMIO_GPA;

				p[i++] = 0xa2; /* mov moffs32, al */
				memcpy(p + i, &a, 4);
				i += 4;
			}
			p[i++] = 0x49; /* dec ecx */
			p[i++] = 0x75; /* jnz top */
			p[i] = (uint8_t)(top - (i + 1));
			i++;
		}
	}
	p[i++] = 0xe6; /* out 0xf4, al */
	p[i++] = EXIT_PORT;
	p[i++] = 0xf4; /* hlt, never reached */
	return i;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "boot";
	uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 0;
	uint64_t seen = 0;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, size;
	uint8_t *ram;

	if (strcmp(mode, "boot") && strcmp(mode, "pio") && strcmp(mode, "mmio")) {
		fprintf(stderr, "usage: kvm_floor boot | pio N | mmio N\n");
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
	guest_code(ram + CODE_GPA, mode, n);
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
	regs.rip = CODE_GPA;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
			if (run->io.port == EXIT_PORT)
				break;
			if (run->io.port == LOOP_PORT)
				seen += run->io.count;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write &&
		    run->mmio.phys_addr == MMIO_GPA) {
			seen++;
			continue;
		}
		fprintf(stderr, "kvm_floor: unexpected exit %u\n", run->exit_reason);
		return 1;
	}
	if (seen != n) {
		fprintf(stderr, "kvm_floor: %s: %llu accesses seen, %u expected\n", mode,
			(unsigned long long)seen, n);
		return 1;
	}
	return 0;
}
