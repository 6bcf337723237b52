/*
 * tests/unit/test_vm.c: VM assembly from config text (devmodel/vm.c with
 * plugin_host.c, iomap.c, irq.c, guest_mem.c, evloop.c), using the test
 * plugin vdev-good.so (tests/unit/plugins/good.c) and a test backend that
 * provides a recording native controller "tpic" and the "apic".
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "devmodel/evloop.h"
#include "devmodel/exitcode.h"
#include "devmodel/iomap.h"
#include "devmodel/irq.h"
#include "devmodel/plugin_host.h"
#include "devmodel/vm.h"

/* ------------------------------------------------------- test backend */

static struct test_backend {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int stop_code;
	char trace[1024]; /* tpic input changes: "3+ 3- " */
	bool torn_down;
	unsigned left_lines, left_items, left_regions;
} tb = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void tpic_set(void *ctx, unsigned line, int level)
{
	size_t n = strlen(tb.trace);

	snprintf(tb.trace + n, sizeof(tb.trace) - n, "%u%c ", line, level ? '+' : '-');
}

static const struct irq_controller_ops tpic_ops = {.set_level = tpic_set};

static int tb_setup(struct vm *vm)
{
	int ret = irq_controller_register(vm_irq(vm), "tpic", 8, &tpic_ops, NULL, NULL);

	if (ret == 0)
		ret = irq_controller_register(vm_irq(vm), "apic", 1, &tpic_ops, NULL, NULL);
	return ret;
}

static int tb_run(struct vm *vm)
{
	pthread_mutex_lock(&tb.lock);
	while (!tb.stop)
		pthread_cond_wait(&tb.cond, &tb.lock);
	pthread_mutex_unlock(&tb.lock);
	return 0;
}

static void tb_stop(struct vm *vm, int code)
{
	pthread_mutex_lock(&tb.lock);
	tb.stop = true;
	tb.stop_code = code;
	pthread_cond_broadcast(&tb.cond);
	pthread_mutex_unlock(&tb.lock);
}

static void tb_teardown(struct vm *vm)
{
	/* the vdevs are gone by now: nothing of theirs may be left */
	tb.torn_down = true;
	tb.left_lines = irq_line_count(vm_irq(vm));
	tb.left_items = evloop_item_count(vm_evloop(vm));
	tb.left_regions =
	    iomap_count(vm_iomap(vm), VDEV_SPACE_MMIO) + iomap_count(vm_iomap(vm), VDEV_SPACE_PIO);
}

static const char *const tb_natives[] = {"tpic", "apic", NULL};

static struct backend_ops test_backend = {
    .name = "test",
    .native_controllers = tb_natives,
    .setup = tb_setup,
    .run = tb_run,
    .stop = tb_stop,
    .teardown = tb_teardown,
};

/* ------------------------------------------------------------ harness */

static char plugin_dir[PATH_MAX + 16];
static char lib_dir[PATH_MAX + 32]; /* $O/lib/vdm: the in-tree devices */
static const char *dirs[2] = {plugin_dir, lib_dir};

struct fixture {
	struct conf_diag *diag;
	char *diag_text;
	size_t diag_len;
	FILE *diag_out;
	struct conf_vm *conf;
	struct vm *vm;
	char *log_text;
	size_t log_len;
	FILE *log_out;
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->diag_out = open_memstream(&f->diag_text, &f->diag_len);
	f->log_out = open_memstream(&f->log_text, &f->log_len);
	f->diag = conf_diag_new(f->diag_out);
	memset(&tb, 0, offsetof(struct test_backend, stop));
	tb.stop = false;
	tb.stop_code = -1;
	tb.trace[0] = '\0';
	tb.torn_down = false;
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	vm_free(f->vm);
	conf_vm_free(f->conf);
	conf_diag_free(f->diag);
	fclose(f->diag_out);
	fclose(f->log_out);
	free(f->diag_text);
	free(f->log_text);
	free(f);
	return 0;
}

/* Parse and assemble `text`; returns vm_assemble's code (or 65 for a parse error). */
static int assemble(struct fixture *f, const char *text)
{
	struct conf_env env = {.native_controllers = tb_natives};
	struct vm_options opts = {
	    .plugin_dirs = dirs,
	    .plugin_dir_count = 2,
	    .backend = &test_backend,
	    .domid = -1,
	    .log_stdout = f->log_out,
	    .log_stderr = f->log_out,
	};
	int rc;

	f->conf = conf_parse_string(text, "t.vmconf", &env, f->diag);
	if (!f->conf) {
		fflush(f->diag_out);
		return VDM_EXIT_CONFIG;
	}
	f->vm = vm_new(f->conf, &opts);
	assert_non_null(f->vm);
	rc = vm_assemble(f->vm, f->diag);
	fflush(f->diag_out);
	fflush(f->log_out);
	return rc;
}

static const char *diag_text(struct fixture *f)
{
	fflush(f->diag_out);
	return f->diag_text ? f->diag_text : "";
}

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		const char *h_ = (hay);                                                            \
		if (!strstr(h_, (needle)))                                                         \
			fail_msg("expected \"%s\" in:\n%s", (needle), h_);                         \
	} while (0)

static uint64_t mmio_read(struct fixture *f, uint64_t addr, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(
	    vm_io(f->vm)->access(vm_io(f->vm)->ctx, VDEV_SPACE_MMIO, addr, size, false, &v, 0), 0);
	return v;
}

static void mmio_write(struct fixture *f, uint64_t addr, unsigned size, uint64_t v)
{
	assert_int_equal(
	    vm_io(f->vm)->access(vm_io(f->vm)->ctx, VDEV_SPACE_MMIO, addr, size, true, &v, 0), 0);
}

/* -------------------------------------------------------------- tests */

static void test_memory_overlap(void **state)
{
	struct fixture *f = *state;

	/* ram/rom overlaps are the parser's; a reserve inside RAM is vm.c's */
	assert_int_equal(assemble(f, "ram 0,1m\nreserve loc 0x80000,0x1000\n"), VDM_EXIT_CONFIG);
	assert_contains(diag_text(f), "t.vmconf:2:");
	assert_contains(diag_text(f), "reserve 0x80000-0x80fff overlaps ram 0x0-0xfffff");
	/* the note points at the other one */
	assert_contains(diag_text(f), "t.vmconf:1:1: note: ram given here");
}

static void test_good_device(void **state)
{
	struct fixture *f = *state;
	struct vdev_host_ctx *inst;
	struct plugin_host_counters c;
	struct plugin_host_usage u;

	assert_int_equal(assemble(f, "system t\nram 0,1m\n"
				     "vdev good loc 0x10000000 intr tpic:3 name g\n"),
			 0);
	assert_int_equal(vm_vdev_count(f->vm), 1);
	inst = vm_vdev_find(f->vm, "g");
	assert_non_null(inst);
	/* the register file answers through the VM's dispatch */
	assert_int_equal(mmio_read(f, 0x1000000c, 4), 0x600d0001);
	mmio_write(f, 0x10000008, 4, 0xcafe);
	assert_int_equal(mmio_read(f, 0x10000008, 4), 0xcafe);
	/* 8 bytes is not a size good declares: two 4-byte reads, little-endian */
	assert_true(mmio_read(f, 0x10000008, 8) == 0x600d00010000cafeull);
	/* CTRL bit 1 drives the line: edge-filtered into the native controller */
	mmio_write(f, 0x10000000, 4, 2);
	mmio_write(f, 0x10000000, 4, 2);
	mmio_write(f, 0x10000000, 4, 0);
	assert_string_equal(tb.trace, "3+ 3- ");
	plugin_host_counters(inst, &c);
	assert_int_equal(c.reads, 4);
	assert_int_equal(c.writes, 4);
	assert_int_equal(c.errors, 0);
	plugin_host_usage(inst, &u);
	assert_int_equal(u.regions, 1);
	assert_int_equal(u.lines, 1);
	assert_int_equal(u.timers, 1);
	/* RAM is reachable through the dispatcher too */
	mmio_write(f, 0x1000, 4, 0x11223344);
	assert_int_equal(mmio_read(f, 0x1002, 2), 0x1122);
}

static void test_vdev_overlaps_ram(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(assemble(f, "ram 0,1m\nvdev good loc 0x1000 name g\n"), VDM_EXIT_CONFIG);
	assert_contains(diag_text(f), "t.vmconf:2:");
	assert_contains(diag_text(f), "vdev g: mmio region 0x1000-0x101f overlaps ram 0x0-0xfffff");
	/* one error about one vdev: no "create failed" after it */
	assert_null(strstr(diag_text(f), "create failed"));
}

static void test_vdev_overlaps_vdev(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(assemble(f, "vdev good loc 0x20000000 name a\n"
				     "vdev good loc 0x20000010 name b\n"),
			 VDM_EXIT_CONFIG);
	assert_contains(diag_text(f), "t.vmconf:2:");
	assert_contains(diag_text(f), "vdev b: mmio region 0x20000010-0x2000002f overlaps a "
				      "0x20000000-0x2000001f");
}

static void test_unknown_line(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(assemble(f, "vdev good loc 0x20000000 intr tpic:9\n"), VDM_EXIT_CONFIG);
	assert_contains(diag_text(f), "t.vmconf:1:31:");
	assert_contains(diag_text(f), "controller 'tpic' has no line 9");
}

static void test_unknown_plugin(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(assemble(f, "ram 0,1m\nvdev nosuch loc 0x1000\n"), VDM_EXIT_CONFIG);
	assert_contains(diag_text(f), "t.vmconf:2:6:");
	assert_contains(diag_text(f), "vdev-nosuch.so");
}

static void test_bad_option(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(assemble(f, "vdev good loc 0x20000000 period 0\n"), VDM_EXIT_CONFIG);
	assert_contains(diag_text(f), "t.vmconf:1:");
	assert_contains(diag_text(f), "period");
	assert_int_equal(vm_vdev_count(f->vm), 0);
}

static void test_create_refused(void **state)
{
	struct fixture *f = *state;

	/* good refuses to be created without loc (-EINVAL): a config problem */
	assert_int_equal(assemble(f, "vdev good name lonely\n"), VDM_EXIT_CONFIG);
	assert_contains(diag_text(f), "t.vmconf:1:1:");
	/* one message, with the device's own reason, at the vdev */
	assert_contains(diag_text(f), "vdev lonely (good): create failed: needs loc");
	fflush(f->log_out);
	assert_null(f->log_text ? strstr(f->log_text, "needs loc") : NULL);
}

static void test_timer_and_teardown(void **state)
{
	struct fixture *f = *state;
	uint64_t ticks;

	assert_int_equal(assemble(f, "vdev good loc 0x20000000 intr tpic:5 period 1000000\n"), 0);
	assert_int_equal(evloop_start(vm_evloop(f->vm)), 0);
	/* CTRL = timer on + line high */
	mmio_write(f, 0x20000000, 4, 3);
	usleep(50000);
	ticks = mmio_read(f, 0x20000004, 4);
	assert_true(ticks >= 5);
	mmio_write(f, 0x20000000, 4, 2); /* timer off, line still high */
	ticks = mmio_read(f, 0x20000004, 4);
	usleep(20000);
	assert_int_equal(mmio_read(f, 0x20000004, 4), ticks);
	mmio_write(f, 0x20000000, 4, 3);
	assert_string_equal(tb.trace, "5+ ");
	/* tear down with the timer armed and the line asserted */
	vm_free(f->vm);
	f->vm = NULL;
	assert_true(tb.torn_down);
	assert_string_equal(tb.trace, "5+ 5- ");
	assert_int_equal(tb.left_lines, 0);
	assert_int_equal(tb.left_items, 0);
	assert_int_equal(tb.left_regions, 0);
}

static void test_unsupported_abort(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;

	assert_int_equal(assemble(f, "unsupported reference abort\nram 0,1m\n"), 0);
	assert_int_equal(
	    vm_io(f->vm)->access(vm_io(f->vm)->ctx, VDEV_SPACE_MMIO, 0xfee00000, 4, false, &v, 0),
	    -ENXIO);
	assert_true(vm_stopping(f->vm));
	assert_int_equal(vm_stop_code(f->vm), VDM_EXIT_UNSUPPORTED);
	assert_int_equal(tb.stop_code, VDM_EXIT_UNSUPPORTED);
	fflush(f->log_out);
	assert_contains(f->log_text, "0xfee00000");
}

static void test_print(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_int_equal(assemble(f, "system demo\nram 0,1m\nrom 0xf0000000,64k\n"
				     "reserve loc io:0x80,4\n"
				     "vdev good loc 0x20000000 intr tpic:2 name g\n"),
			 0);
	vm_print(f->vm, out);
	fclose(out);
	assert_contains(text, "vm demo uuid ");
	assert_contains(text, vm_uuid(f->vm));
	assert_contains(text, "backend test");
	assert_contains(text, "  rom      0x00000000f0000000-0x00000000f000ffff 64K");
	assert_contains(text, "  mmio   0x0000000020000000-0x000000002000001f g (region 0)");
	assert_contains(text, "  pio    0x0000000000000080-0x0000000000000083 reserve");
	assert_contains(text, "  tpic             8 lines (native)");
	assert_contains(text, "  g                -> tpic:2");
	assert_contains(text, "  g                good 1.0.0 ");
	assert_contains(text, "vdev-good.so");
	free(text);
}

static void *send_signals(void *arg)
{
	usleep(50000);
	kill(getpid(), SIGUSR2);
	usleep(50000);
	kill(getpid(), SIGTERM);
	return NULL;
}

static void test_run_signals(void **state)
{
	struct fixture *f = *state;
	pthread_t t;

	assert_int_equal(assemble(f, "system sig\nvdev good loc 0x20000000 name g\n"), 0);
	mmio_read(f, 0x2000000c, 4);
	pthread_create(&t, NULL, send_signals, NULL);
	assert_int_equal(vm_run(f->vm), VDM_EXIT_NORMAL);
	pthread_join(t, NULL);
	assert_true(tb.stop);
	fflush(f->log_out);
	/* SIGUSR2 printed the status with the UUID and the counters */
	assert_contains(f->log_text, vm_uuid(f->vm));
	assert_contains(f->log_text, "reads 1 writes 0 errors 0");
	assert_contains(f->log_text, "SIGTERM: shutting down");
}

static void *stop_later(void *arg)
{
	usleep(20000);
	vm_stop(arg, 42);
	vm_stop(arg, 7); /* the first code wins */
	return NULL;
}

static void test_run_stop_code(void **state)
{
	struct fixture *f = *state;
	pthread_t t;

	assert_int_equal(assemble(f, "vdev good loc 0x20000000\n"), 0);
	pthread_create(&t, NULL, stop_later, f->vm);
	assert_int_equal(vm_run(f->vm), 42);
	pthread_join(t, NULL);
	assert_int_equal(tb.stop_code, 42);
}

static void pio_write(struct fixture *f, uint64_t port, uint64_t v)
{
	assert_int_equal(
	    vm_io(f->vm)->access(vm_io(f->vm)->ctx, VDEV_SPACE_PIO, port, 1, true, &v, 0), 0);
}

/* A plugin interrupt controller between a device and the backend: the
 * 8259 drives the native tpic:0 and answers the CPU's acknowledge. */
static void test_plugin_intc_ack(void **state)
{
	struct fixture *f = *state;
	char so[PATH_MAX + 64];

	snprintf(so, sizeof(so), "%s/vdev-8259.so", lib_dir);
	if (access(so, R_OK) != 0)
		skip();
	assert_int_equal(assemble(f, "vdev 8259 loc 0x20 name pic intr tpic:0\n"
				     "vdev good loc 0x20000000 intr pic:3 name g\n"),
			 0);
	/* ICW1..ICW4 (vector base 0x20), then unmask everything */
	pio_write(f, 0x20, 0x11);
	pio_write(f, 0x21, 0x20);
	pio_write(f, 0x21, 0x04);
	pio_write(f, 0x21, 0x01);
	pio_write(f, 0x21, 0x00);
	assert_string_equal(tb.trace, "");
	assert_int_equal(irq_ack(vm_irq(f->vm)), 0x27); /* nothing pending: IR7, spurious */
	/* the device raises pic:3; the PIC raises the CPU's line */
	mmio_write(f, 0x20000000, 4, 2);
	assert_string_equal(tb.trace, "0+ ");
	/* the CPU acknowledges: vector 0x23, and the output drops (in service) */
	assert_int_equal(irq_ack(vm_irq(f->vm)), 0x23);
	assert_string_equal(tb.trace, "0+ 0- ");
	/* the line was a pic controller registered under its name */
	assert_non_null(vm_vdev_find(f->vm, "pic"));
	pio_write(f, 0x20, 0x20); /* non-specific EOI */
	mmio_write(f, 0x20000000, 4, 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_memory_overlap, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_good_device, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_vdev_overlaps_ram, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_vdev_overlaps_vdev, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_line, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_plugin, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_option, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_create_refused, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_timer_and_teardown, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_unsupported_abort, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_print, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_run_signals, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_run_stop_code, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_plugin_intc_ack, fixture_setup, fixture_teardown),
	};
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	/* Before any thread: the signals vm_run handles stay blocked everywhere. */
	vm_block_signals();
	/* The test plugins live next to this executable: $O/tests/unit/plugins. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/plugins", exe);
	snprintf(lib_dir, sizeof(lib_dir), "%s/../../lib/vdm", exe);
	if (access(plugin_dir, R_OK) != 0 || strlen(plugin_dir) + 16 >= sizeof(plugin_dir)) {
		printf("SKIP: no test plugins in %s\n", plugin_dir);
		return 77;
	}
	{
		char good[PATH_MAX + 32];

		snprintf(good, sizeof(good), "%s/vdev-good.so", plugin_dir);
		if (access(good, R_OK) != 0) {
			printf("SKIP: %s is not built\n", good);
			return 77;
		}
	}
	(void)argc;
	(void)argv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
