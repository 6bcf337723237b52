/*
 * tests/kvm/test_kvm_guests.c: the sample guests on /dev/kvm through the
 * KVM engine (devmodel/kvm) and the guest loader, every access going
 * through dm_request_execute like vdm's.
 *
 * The device table here is test scaffolding for the engine, not a product
 * device: COM1 writes are collected (LSR answers "transmitter empty"),
 * port 0xf4 records the debug-exit value and ends the VM, port 0x80 counts
 * (exitbench), and ports 0x510..0x512 are the interrupt requester the
 * inject guest uses to make the host send an MSI or raise ExtINT. Any other
 * access is recorded as unexpected and fails the test.
 *
 * Prints "SKIP: /dev/kvm not usable: <reason>" and exits 77 without KVM.
 * Guest images are read from $O/guests (O defaults to build/release).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devmodel/guest_loader.h"
#include "devmodel/kvm/kvm_vm.h"
#include "devmodel/request.h"

#define RAM_SIZE	 (16u << 20)
#define WATCHDOG_SECONDS 30
#define EXIT_VALUE_NONE	 (-1)
#define WATCHDOG_CODE	 124

struct testbed {
	uint8_t *ram;
	struct kvm_vm *vm;
	char serial[16384];
	size_t serial_len;
	int exit_value;		 /* value written to 0xf4, or EXIT_VALUE_NONE */
	bool debug_exit_present; /* false: 0xf4 writes are ignored */
	uint64_t port80_writes;
	unsigned unexpected;
	char unexpected_what[128];
	atomic_int extint_vector; /* what the next acknowledge returns, -1 none */
	unsigned acks;
	int eoi_vector; /* last KVM_EXIT_IOAPIC_EOI vector, -1 none */
	unsigned eois;
	pthread_t raiser;
	bool raiser_started;
};

static int failures;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s ", ok ? "ok  " : "FAIL");
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	if (!ok)
		failures++;
}

/* Raise the ExtINT line from a thread that is not the vCPU's, after the
 * guest went back to running, so the engine must kick vCPU 0. */
static void *raise_later(void *arg)
{
	struct testbed *tb = arg;
	struct timespec delay = {0, 5 * 1000 * 1000};

	nanosleep(&delay, NULL);
	kvm_vm_set_extint(tb->vm, true);
	return NULL;
}

static int extint_ack(void *ctx)
{
	struct testbed *tb = ctx;
	int vector = atomic_exchange(&tb->extint_vector, -1);

	/* An 8259 drops INTR once the request is acknowledged. */
	kvm_vm_set_extint(tb->vm, false);
	tb->acks++;
	return vector;
}

static void ioapic_eoi(void *ctx, uint8_t vector)
{
	struct testbed *tb = ctx;

	tb->eoi_vector = vector;
	tb->eois++;
}

static void note_unexpected(struct testbed *tb, const char *what, uint64_t addr, bool is_write)
{
	if (!tb->unexpected++)
		snprintf(tb->unexpected_what, sizeof(tb->unexpected_what), "%s %s 0x%llx", what,
			 is_write ? "write" : "read", (unsigned long long)addr);
}

static int test_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size,
		       bool is_write, uint64_t *value, int32_t vcpu)
{
	struct testbed *tb = ctx;

	if (space != VDEV_SPACE_PIO) {
		note_unexpected(tb, "mmio", addr, is_write);
		if (!is_write)
			*value = ~0ull;
		return 0;
	}
	if (addr >= 0x3f8 && addr <= 0x3ff) {
		if (is_write && addr == 0x3f8 && tb->serial_len < sizeof(tb->serial) - 1)
			tb->serial[tb->serial_len++] = (char)*value;
		if (!is_write)
			*value = addr == 0x3fd ? 0x60 : 0; /* LSR: THRE | TEMT */
		return 0;
	}
	switch (addr) {
	case 0xf4:
		if (!is_write) {
			*value = ~0ull;
		} else if (tb->debug_exit_present) {
			tb->exit_value = (int)(*value & 0xff);
			kvm_vm_stop(tb->vm, 0);
		}
		return 0;
	case 0x80:
		if (is_write)
			tb->port80_writes++;
		else
			*value = ~0ull;
		return 0;
	case 0x510:
		if (!is_write)
			*value = 0x5a;
		return 0;
	case 0x511:
		if (is_write)
			kvm_vm_signal_msi(tb->vm, 0xfee00000u, (uint32_t)(*value & 0xff));
		else
			*value = ~0ull;
		return 0;
	case 0x512:
		if (is_write) {
			atomic_store(&tb->extint_vector, (int)(*value & 0xff));
			if (tb->raiser_started)
				pthread_join(tb->raiser, NULL);
			tb->raiser_started =
			    pthread_create(&tb->raiser, NULL, raise_later, tb) == 0;
		} else {
			*value = ~0ull;
		}
		return 0;
	case 0x513:
		if (is_write) {
			/* What a userspace IOAPIC does for a level pin: route
			 * it (so KVM reports the EOI), then send its MSI. */
			uint32_t data = (uint32_t)(*value & 0xff) | (1u << 15); /* level */

			if (kvm_vm_set_ioapic_route(tb->vm, 3, true, 0xfee00000u, data) == 0)
				kvm_vm_signal_msi(tb->vm, 0xfee00000u, data | (1u << 14));
		} else {
			*value = ~0ull;
		}
		return 0;
	}
	note_unexpected(tb, "port", addr, is_write);
	if (!is_write)
		*value = ~0ull;
	return 0;
}

static int test_mem_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	struct testbed *tb = ctx;

	if (gpa > RAM_SIZE || length > RAM_SIZE - gpa)
		return -EFAULT;
	memcpy(buf, tb->ram + gpa, length);
	return 0;
}

static int test_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	struct testbed *tb = ctx;

	if (gpa > RAM_SIZE || length > RAM_SIZE - gpa)
		return -EFAULT;
	memcpy(tb->ram + gpa, buf, length);
	return 0;
}

static void *watchdog(void *arg)
{
	struct testbed *tb = arg;

	sleep(WATCHDOG_SECONDS);
	kvm_vm_stop(tb->vm, WATCHDOG_CODE);
	return NULL;
}

struct run_options {
	const char *image;  /* guest file under $O/guests, or NULL */
	const uint8_t *raw; /* raw image bytes (entered flat 32-bit) */
	size_t raw_size;
	const char *cmdline;
	bool debug_exit;
};

struct run_result {
	int code;
	double seconds;
	struct kvm_vm_stats stats;
};

/* Load and run one guest to its end. Returns 0, or -1 when it could not run. */
static int run_guest(struct testbed *tb, const struct run_options *opt, struct run_result *res)
{
	const char *out_dir = getenv("O") ? getenv("O") : "build/release";
	char path[512];
	struct guest_loader_region region;
	struct guest_loader_mem mem = {&region, 1};
	struct guest_image image;
	struct kvm_vm_slot slot;
	struct dm_io io = {test_access, test_mem_read, test_mem_write, tb};
	struct kvm_vm_config cfg;
	struct timespec t0, t1;
	pthread_t dog;
	uint64_t start_info = 0;
	int err;

	memset(tb, 0, sizeof(*tb));
	tb->exit_value = EXIT_VALUE_NONE;
	tb->eoi_vector = -1;
	tb->debug_exit_present = opt->debug_exit;
	atomic_init(&tb->extint_vector, -1);
	tb->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tb->ram == MAP_FAILED)
		return -1;
	region = (struct guest_loader_region){tb->ram, 0, RAM_SIZE, false};
	if (opt->image) {
		snprintf(path, sizeof(path), "%s/guests/%s", out_dir, opt->image);
		err = guest_load_file(&mem, path, false, 0, &image);
	} else {
		err = guest_load_raw(&mem, opt->raw, opt->raw_size, 0x100000, &image);
	}
	if (err) {
		check(false, "load %s: %s", opt->image ? path : "raw image", strerror(-err));
		munmap(tb->ram, RAM_SIZE);
		return -1;
	}
	if (image.kind == GUEST_IMAGE_PVH) {
		err = guest_write_start_info(&mem, &image, opt->cmdline, NULL, 0, 0, &start_info);
		if (err) {
			check(false, "start_info: %s", strerror(-err));
			munmap(tb->ram, RAM_SIZE);
			return -1;
		}
	}
	slot = (struct kvm_vm_slot){tb->ram, 0, RAM_SIZE, false};
	memset(&cfg, 0, sizeof(cfg));
	cfg.slots = &slot;
	cfg.slot_count = 1;
	cfg.vcpu_count = 1;
	cfg.entry.mode = image.kind == GUEST_IMAGE_PVH ? KVM_VM_ENTRY_PVH32 : KVM_VM_ENTRY_FLAT32;
	cfg.entry.rip = image.entry;
	cfg.entry.start_info = start_info;
	cfg.exit_on_halt = true;
	cfg.io = &io;
	cfg.extint_ack = extint_ack;
	cfg.eoi = ioapic_eoi;
	cfg.ctx = tb;
	err = kvm_vm_create(&cfg, &tb->vm);
	if (err) {
		check(false, "kvm_vm_create: %s", strerror(-err));
		munmap(tb->ram, RAM_SIZE);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = kvm_vm_start(tb->vm);
	if (err) {
		check(false, "kvm_vm_start: %s", strerror(-err));
		kvm_vm_destroy(tb->vm);
		munmap(tb->ram, RAM_SIZE);
		return -1;
	}
	pthread_create(&dog, NULL, watchdog, tb);
	res->code = kvm_vm_wait(tb->vm);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_cancel(dog);
	pthread_join(dog, NULL);
	if (tb->raiser_started)
		pthread_join(tb->raiser, NULL);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	kvm_vm_get_stats(tb->vm, &res->stats);
	kvm_vm_destroy(tb->vm);
	tb->vm = NULL;
	munmap(tb->ram, RAM_SIZE);
	tb->serial[tb->serial_len] = '\0';
	printf("---- serial (%zu bytes, %.3f s, %llu port exits, %llu mmio, %llu other) ----\n%s"
	       "----\n",
	       tb->serial_len, res->seconds, (unsigned long long)res->stats.exits_io,
	       (unsigned long long)res->stats.exits_mmio,
	       (unsigned long long)res->stats.exits_other, tb->serial);
	return 0;
}

/* The serial log has this exact line ("\r\n" as the runtime sends it). */
static bool has_line(const struct testbed *tb, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = tb->serial; (p = strstr(p, line)) != NULL; p += n) {
		bool starts = p == tb->serial || p[-1] == '\n';

		if (starts && (p[n] == '\r' || p[n] == '\n'))
			return true;
	}
	return false;
}

static void expect_passes(struct testbed *tb, const char *guest, const char *const *names)
{
	char line[128];

	for (; *names; names++) {
		snprintf(line, sizeof(line), "PASS %s", *names);
		check(has_line(tb, line), "%s: \"%s\"", guest, line);
	}
	check(strstr(tb->serial, "FAIL") == NULL, "%s: no FAIL line", guest);
	check(has_line(tb, "RESULT ok"), "%s: RESULT ok", guest);
	check(tb->unexpected == 0, "%s: no unexpected access (%u; first: %s)", guest,
	      tb->unexpected, tb->unexpected ? tb->unexpected_what : "none");
}

static void test_hello(void)
{
	struct testbed tb;
	struct run_result res;
	static const char *const passes[] = {"start-info", "memmap", "cmdline", "hello", NULL};
	struct run_options opt = {
	    .image = "hello.elf", .cmdline = "expect=vdm-hello", .debug_exit = true};

	if (run_guest(&tb, &opt, &res))
		return;
	check(res.code == 0, "hello: VM exit code %d, want 0", res.code);
	check(tb.exit_value == 0, "hello: debug-exit value %d, want 0", tb.exit_value);
	check(has_line(&tb, "cmdline: \"expect=vdm-hello\""),
	      "hello: command line reached the guest");
	expect_passes(&tb, "hello", passes);
}

/* Without a debug-exit device the runtime ends in cli; hlt, which the
 * engine must turn into exit code 0 by itself. */
static void test_halt(void)
{
	struct testbed tb;
	struct run_result res;
	struct run_options opt = {.image = "hello.elf", .debug_exit = false};

	if (run_guest(&tb, &opt, &res))
		return;
	check(res.code == 0, "halt: VM exit code %d, want 0 (cli; hlt)", res.code);
	check(tb.exit_value == EXIT_VALUE_NONE, "halt: no debug-exit value recorded");
	check(has_line(&tb, "PASS hello"), "halt: guest ran to the end");
}

static void test_irq(void)
{
	struct testbed tb;
	struct run_result res;
	static const char *const passes[] = {"lapic-timer-ticks", "lapic-timer-vector",
					     "irq-preserves-state", "lapic-timer-masked", NULL};
	struct run_options opt = {.image = "irq.elf", .debug_exit = true};

	if (run_guest(&tb, &opt, &res))
		return;
	check(res.code == 0, "irq: VM exit code %d, want 0", res.code);
	check(tb.exit_value == 0, "irq: debug-exit value %d, want 0", tb.exit_value);
	expect_passes(&tb, "irq", passes);
}

static void test_inject(void)
{
	struct testbed tb;
	struct run_result res;
	static const char *const passes[] = {"msi-held-while-cli",
					     "msi-delivered",
					     "extint-held-while-cli",
					     "extint-delivered",
					     "extint-wakes-hlt",
					     "level-msi-delivered",
					     NULL};
	struct run_options opt = {.image = "inject.elf", .debug_exit = true};

	if (run_guest(&tb, &opt, &res))
		return;
	check(res.code == 0, "inject: VM exit code %d, want 0", res.code);
	check(tb.exit_value == 0, "inject: debug-exit value %d, want 0", tb.exit_value);
	check(tb.acks == 2, "inject: %u ExtINT acknowledges, want 2", tb.acks);
	check(res.stats.extint_injected == 2, "inject: %llu ExtINT injections, want 2",
	      (unsigned long long)res.stats.extint_injected);
	check(tb.eois == 1 && tb.eoi_vector == 0x43,
	      "inject: %u IOAPIC EOI exits (last vector %d), want 1 for vector 0x43", tb.eois,
	      tb.eoi_vector);
	expect_passes(&tb, "inject", passes);
}

/* A raw image entered flat 32-bit: `ud2` with no IDT escalates to a triple
 * fault, which ends the VM with the shutdown code. */
static void test_triple_fault(void)
{
	static const uint8_t code[] = {0x0f, 0x0b};
	struct testbed tb;
	struct run_result res;
	struct run_options opt = {.raw = code, .raw_size = sizeof(code), .debug_exit = true};

	if (run_guest(&tb, &opt, &res))
		return;
	check(res.code == KVM_VM_EXIT_SHUTDOWN || res.code == KVM_VM_EXIT_FATAL,
	      "triple fault: VM exit code %d, want %d (shutdown; %d if the emulator gave up)",
	      res.code, KVM_VM_EXIT_SHUTDOWN, KVM_VM_EXIT_FATAL);
}

/* `int3` cannot be emulated on PVM (internal error, code 96); on a
 * hardware KVM it faults with no IDT and triple-faults (code 7). Either
 * way the VM must end with a non-zero engine code, not hang or crash. */
static void test_int3(void)
{
	static const uint8_t code[] = {0xcc};
	struct testbed tb;
	struct run_result res;
	struct run_options opt = {.raw = code, .raw_size = sizeof(code), .debug_exit = true};

	if (run_guest(&tb, &opt, &res))
		return;
	check(res.code == KVM_VM_EXIT_FATAL || res.code == KVM_VM_EXIT_SHUTDOWN,
	      "int3: VM exit code %d, want %d or %d", res.code, KVM_VM_EXIT_FATAL,
	      KVM_VM_EXIT_SHUTDOWN);
}

/* Round trips per second: two runs differing only in the number of outs. */
static void test_exit_cost(void)
{
	struct testbed tb;
	struct run_result small, large;
	struct run_options opt = {
	    .image = "exitbench.elf", .cmdline = "n=1000", .debug_exit = true};

	if (run_guest(&tb, &opt, &small))
		return;
	check(tb.port80_writes == 1000, "exitbench: %llu outs seen, want 1000",
	      (unsigned long long)tb.port80_writes);
	opt.cmdline = "n=20000";
	if (run_guest(&tb, &opt, &large))
		return;
	check(tb.port80_writes == 20000, "exitbench: %llu outs seen, want 20000",
	      (unsigned long long)tb.port80_writes);
	double per_exit = (large.seconds - small.seconds) / 19000.0;

	if (per_exit > 0)
		printf("FIGURE kvm out-loop: %.1f us per round trip, %.0f round trips/s\n",
		       per_exit * 1e6, 1.0 / per_exit);
}

int main(void)
{
	char reason[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (kvm_vm_probe(reason, sizeof(reason))) {
		printf("SKIP: /dev/kvm not usable: %s\n", reason);
		return 77;
	}
	test_hello();
	test_halt();
	test_irq();
	test_inject();
	test_triple_fault();
	test_int3();
	test_exit_cost();
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
	return failures ? 1 : 0;
}
