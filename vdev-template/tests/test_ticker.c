/*
 * vdev-template/tests/test_ticker.c: vdev-ticker through the SDK test host.
 *
 * Loads the built vdev-ticker.so the way vdm would, creates instances from
 * configuration text, pokes registers, watches the interrupt line and its
 * trace, moves virtual time, and checks reset and save/restore. No
 * hypervisor involved. The plugin path is VDEV_PLUGIN_FILE (set by the build),
 * or $VDEV_PLUGIN when set.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vdev/testhost.h>

#ifndef VDEV_PLUGIN_FILE
#define VDEV_PLUGIN_FILE "vdev-ticker.so"
#endif

#define BASE 0x10000u
#define ID      (BASE + 0x00)
#define CTRL    (BASE + 0x04)
#define PERIOD  (BASE + 0x08)
#define COUNTER (BASE + 0x0c)
#define STATUS  (BASE + 0x10)
#define IEN     (BASE + 0x14)

#define US 1000ull /* ns */

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
};

static int setup(void **state)
{
	const char *path = getenv("VDEV_PLUGIN");
	struct fixture *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -1;
	f->th = vdev_testhost_new();
	if (!f->th)
		return -1;
	if (vdev_testhost_add_intc(f->th, "pic", 8) != 0)
		return -1;
	err = vdev_testhost_load(f->th, path ? path : VDEV_PLUGIN_FILE, &f->desc);
	if (err) {
		fprintf(stderr, "cannot load %s: %s\n", path ? path : VDEV_PLUGIN_FILE,
			vdev_testhost_error(f->th));
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_free(f->th);
	free(f);
	return 0;
}

static struct vdev_testdev *create(struct fixture *f, const char *options)
{
	struct vdev_testdev *dev = vdev_testhost_create(f->th, f->desc, options);

	if (!dev)
		fail_msg("create \"%s\": %s", options, vdev_testhost_error(f->th));
	return dev;
}

static uint64_t rd(struct fixture *f, uint64_t addr)
{
	return vdev_testhost_mmio_read(f->th, addr, 4);
}

static void wr(struct fixture *f, uint64_t addr, uint32_t value)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, addr, 4, value), 0);
}

static void test_descriptor(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->desc->name, "ticker");
	assert_int_equal(f->desc->abi_major, VDEV_ABI_MAJOR);
	assert_int_equal(f->desc->access_sizes, VDEV_ACCESS_SIZE(4));
	assert_int_equal(f->desc->option_count, 3);
	assert_string_equal(f->desc->options[0].name, "period");
	assert_string_equal(f->desc->options[1].name, "start");
	assert_string_equal(f->desc->options[2].name, "irq-mode");
}

static void test_power_on_registers(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 intr pic:3");
	assert_int_equal(rd(f, ID), 0x4b434954);
	assert_int_equal(rd(f, CTRL), 0);
	assert_int_equal(rd(f, PERIOD), 1000);
	assert_int_equal(rd(f, COUNTER), 0);
	assert_int_equal(rd(f, STATUS), 0);
	assert_int_equal(rd(f, IEN), 0);
	assert_int_equal(rd(f, BASE + 0x18), 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 0);
	/* Not enabled: time passes, nothing counts. */
	vdev_testhost_advance(f->th, 10000 * US);
	assert_int_equal(rd(f, COUNTER), 0);
	assert_non_null(strstr(vdev_testhost_log(f->th), "period 1000 us"));
}

static void test_options(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 intr pic:3 period 250 irq-mode edge start");
	assert_int_equal(rd(f, PERIOD), 250);
	assert_int_equal(rd(f, CTRL), 1);
	vdev_testhost_advance(f->th, 249 * US);
	assert_int_equal(rd(f, COUNTER), 0);
	vdev_testhost_advance(f->th, 1 * US);
	assert_int_equal(rd(f, COUNTER), 1);
	assert_non_null(strstr(vdev_testhost_log(f->th), "edge interrupt on pic:3"));
}

/*
 * `start` takes no argument (VDEV_OPTF_NOARG): the host asks the schema,
 * so it may sit anywhere, and an explicit on/off after it is still its value.
 */
static void test_start_in_the_middle(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 start irq-mode edge period 250 intr pic:3");
	assert_int_equal(rd(f, CTRL), 1);
	assert_int_equal(rd(f, PERIOD), 250);
	vdev_testhost_advance(f->th, 250 * US);
	assert_int_equal(rd(f, COUNTER), 1);
	assert_non_null(strstr(vdev_testhost_log(f->th), "edge interrupt on pic:3"));
}

static void test_start_off_in_the_middle(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 start off irq-mode edge intr pic:3");
	assert_int_equal(rd(f, CTRL), 0);
	vdev_testhost_advance(f->th, 10000 * US);
	assert_int_equal(rd(f, COUNTER), 0);
	assert_non_null(strstr(vdev_testhost_log(f->th), "edge interrupt on pic:3"));
}

static void test_bad_configurations(void **state)
{
	struct fixture *f = *state;
	struct vdev_testhost_usage u;
	static const char *const bad[] = {
		"loc 0x10000 period 0",          /* below the range */
		"loc 0x10000 period 10000001",   /* above the range */
		"loc 0x10000 irq-mode sideways", /* not a choice */
		"loc 0x10000 intr nosuch:1",     /* no such controller */
		"loc 0x10000 intr pic:99",       /* no such line */
		"intr pic:3",                    /* no loc */
		"loc 0x10000",                   /* no intr */
		"loc 0x10000 intr pic:3 intr pic:4", /* two lines */
		"loc 0x10000,0x10 intr pic:3",   /* a window too small */
		"loc 0x10000 bogus 1",           /* unknown option */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(vdev_testhost_create(f->th, f->desc, bad[i]));
		assert_true(strlen(vdev_testhost_error(f->th)) > 0);
	}
	/* Nothing left behind by the failed creates: the range is free. */
	vdev_testhost_usage(f->th, &u);
	assert_int_equal(u.regions + u.lines + u.timers + u.watches + u.maps, 0);
	create(f, "loc 0x10000 intr pic:3");
	assert_int_equal(rd(f, ID), 0x4b434954);
}

static void test_tick_and_level_interrupt(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 intr pic:3");
	vdev_testhost_clear_trace(f->th);
	wr(f, CTRL, 1);
	vdev_testhost_advance(f->th, 999 * US);
	assert_int_equal(rd(f, COUNTER), 0);
	assert_int_equal(rd(f, STATUS), 0);
	vdev_testhost_advance(f->th, 1 * US);
	assert_int_equal(rd(f, COUNTER), 1);
	assert_int_equal(rd(f, STATUS), 1);
	/* Masked: the line stays low until IEN enables it. */
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 0);
	wr(f, IEN, 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 1);
	/* Write 1 to clear; a 0 bit leaves the status alone. */
	wr(f, STATUS, 0);
	assert_int_equal(rd(f, STATUS), 1);
	wr(f, STATUS, 1);
	assert_int_equal(rd(f, STATUS), 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 0);
	assert_string_equal(vdev_testhost_trace(f->th), "pic:3 1\npic:3 0\n");
	/* The next tick raises it again, on time. */
	vdev_testhost_advance(f->th, 1000 * US);
	assert_int_equal(rd(f, COUNTER), 2);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 1);
	assert_string_equal(vdev_testhost_trace(f->th), "pic:3 1\npic:3 0\npic:3 1\n");
}

/* PERIOD 1 (us) cannot make a storm: the timer runs every 10 us at most. */
static void test_minimum_period(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 intr pic:3 period 1");
	wr(f, CTRL, 1);
	vdev_testhost_advance(f->th, 1000 * US);
	assert_int_equal(rd(f, COUNTER), 100);
	wr(f, PERIOD, 2);
	vdev_testhost_advance(f->th, 1000 * US);
	assert_int_equal(rd(f, COUNTER), 200);
}

static void test_overrun(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 intr pic:3 period 10");
	wr(f, IEN, 2); /* only OVERRUN interrupts */
	wr(f, CTRL, 1);
	vdev_testhost_advance(f->th, 10 * US);
	assert_int_equal(rd(f, STATUS), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 0);
	vdev_testhost_advance(f->th, 10 * US);
	assert_int_equal(rd(f, STATUS), 3);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 1);
	wr(f, STATUS, 1);
	assert_int_equal(rd(f, STATUS), 2);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 1);
	wr(f, STATUS, 2);
	assert_int_equal(rd(f, STATUS), 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 0);
	assert_int_equal(rd(f, COUNTER), 2);
}

static void test_edge_interrupt(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 intr pic:5 irq-mode edge period 100");
	wr(f, IEN, 1);
	wr(f, CTRL, 1);
	vdev_testhost_advance(f->th, 300 * US);
	assert_int_equal(rd(f, COUNTER), 3);
	/* One edge for the first event; unacknowledged ones add none. */
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:5"), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:5"), 0);
	wr(f, STATUS, 3);
	vdev_testhost_advance(f->th, 100 * US);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:5"), 2);
	/* Enabling IEN with a status already pending is an event too. */
	wr(f, IEN, 0);
	wr(f, STATUS, 3);
	vdev_testhost_advance(f->th, 100 * US);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:5"), 2);
	wr(f, IEN, 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:5"), 3);
}

static void test_period_counter_and_disable(void **state)
{
	struct fixture *f = *state;

	create(f, "loc 0x10000 intr pic:3 period 100");
	wr(f, CTRL, 1);
	vdev_testhost_advance(f->th, 50 * US);
	/* A new period re-arms from now. */
	wr(f, PERIOD, 200);
	assert_int_equal(rd(f, PERIOD), 200);
	vdev_testhost_advance(f->th, 199 * US);
	assert_int_equal(rd(f, COUNTER), 0);
	vdev_testhost_advance(f->th, 1 * US);
	assert_int_equal(rd(f, COUNTER), 1);
	/* Out-of-range periods are ignored. */
	wr(f, PERIOD, 0);
	wr(f, PERIOD, 10000001);
	assert_int_equal(rd(f, PERIOD), 200);
	/* The counter loads; ID is read-only. */
	wr(f, COUNTER, 41);
	wr(f, ID, 0);
	assert_int_equal(rd(f, ID), 0x4b434954);
	vdev_testhost_advance(f->th, 200 * US);
	assert_int_equal(rd(f, COUNTER), 42);
	/* Disabled, time passes without ticks. */
	wr(f, CTRL, 0);
	vdev_testhost_advance(f->th, 5000 * US);
	assert_int_equal(rd(f, COUNTER), 42);
	/* Reserved CTRL bits read back as 0. */
	wr(f, CTRL, 0xfffffffe);
	assert_int_equal(rd(f, CTRL), 0);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *dev = create(f, "loc 0x10000 intr pic:3 period 10");

	wr(f, IEN, 3);
	wr(f, CTRL, 1);
	vdev_testhost_advance(f->th, 30 * US);
	wr(f, PERIOD, 77);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 1);
	vdev_testhost_reset(dev);
	assert_int_equal(rd(f, CTRL), 0);
	assert_int_equal(rd(f, PERIOD), 10);
	assert_int_equal(rd(f, COUNTER), 0);
	assert_int_equal(rd(f, STATUS), 0);
	assert_int_equal(rd(f, IEN), 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 0);
	vdev_testhost_advance(f->th, 1000 * US);
	assert_int_equal(rd(f, COUNTER), 0);
}

static void test_reset_with_start_keeps_counting(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *dev = create(f, "loc 0x10000 intr pic:3 period 10 start on");

	vdev_testhost_advance(f->th, 25 * US);
	assert_int_equal(rd(f, COUNTER), 2);
	vdev_testhost_reset(dev);
	assert_int_equal(rd(f, COUNTER), 0);
	assert_int_equal(rd(f, CTRL), 1);
	vdev_testhost_advance(f->th, 10 * US);
	assert_int_equal(rd(f, COUNTER), 1);
}

static void test_save_restore(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *dev = create(f, "loc 0x10000 intr pic:3 period 100");
	uint8_t a[256], b[256], bad[256];
	ssize_t n;

	wr(f, IEN, 1);
	wr(f, CTRL, 1);
	vdev_testhost_advance(f->th, 130 * US); /* one tick, 70 us to the next */
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 1);

	n = vdev_testhost_save(dev, a, sizeof(a));
	assert_true(n > 0);
	assert_true((size_t)n <= f->desc->state_size);
	assert_memory_equal(a, "VDST", 4);
	/* The same state gives the same bytes. */
	assert_int_equal(vdev_testhost_save(dev, b, sizeof(b)), n);
	assert_memory_equal(a, b, (size_t)n);

	/* Change everything, then go back. */
	wr(f, STATUS, 1);
	wr(f, COUNTER, 500);
	wr(f, PERIOD, 1000);
	wr(f, IEN, 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 0);
	assert_int_equal(vdev_testhost_restore(dev, a, (size_t)n), 0);
	assert_int_equal(rd(f, COUNTER), 1);
	assert_int_equal(rd(f, PERIOD), 100);
	assert_int_equal(rd(f, STATUS), 1);
	assert_int_equal(rd(f, IEN), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "pic:3"), 1);
	/* The phase came back too: the next tick is 70 us away. */
	vdev_testhost_advance(f->th, 69 * US);
	assert_int_equal(rd(f, COUNTER), 1);
	vdev_testhost_advance(f->th, 1 * US);
	assert_int_equal(rd(f, COUNTER), 2);

	/* Bad blobs are refused and change nothing. */
	wr(f, COUNTER, 7);
	assert_int_equal(vdev_testhost_restore(dev, a, 0), -EINVAL);
	assert_int_equal(vdev_testhost_restore(dev, a, (size_t)n - 1), -EINVAL);
	memcpy(bad, a, (size_t)n);
	bad[n - 3] ^= 0x40;
	assert_int_equal(vdev_testhost_restore(dev, bad, (size_t)n), -EINVAL);
	memcpy(bad, a, (size_t)n);
	bad[9] = 'X'; /* the device name */
	assert_int_equal(vdev_testhost_restore(dev, bad, (size_t)n), -EINVAL);
	assert_int_equal(rd(f, COUNTER), 7);
	assert_int_equal(rd(f, PERIOD), 100);
}

static void test_restore_into_other_instance(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *one = create(f, "loc 0x10000 intr pic:3 period 100");
	struct vdev_testdev *two = create(f, "loc 0x20000 intr pic:4 period 555 irq-mode edge");
	uint8_t buf[256];
	ssize_t n;

	wr(f, COUNTER, 1234);
	wr(f, IEN, 2);
	n = vdev_testhost_save(one, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(vdev_testhost_restore(two, buf, (size_t)n), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x2000c, 4), 1234);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x20008, 4), 100);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x20014, 4), 2);
}

static void test_bad_accesses(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;

	create(f, "loc 0x10000 intr pic:3");
	/* Only 4-byte accesses are declared: the host refuses the rest. */
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, ID, 2, &v), -EINVAL);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, CTRL, 1, 1), -EINVAL);
	/* Unaligned: the device refuses. */
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE + 2, 4, &v),
			 VDEV_ACCESS_BUS_ERROR);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, CTRL + 1, 4, 1),
			 VDEV_ACCESS_BUS_ERROR);
	assert_int_equal(rd(f, CTRL), 0);
	/* Past the 0x20-byte window: nobody answers. */
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE + 0x20, 4, &v), -ENXIO);
}

static void test_port_io_and_teardown(void **state)
{
	struct fixture *f = *state;
	struct vdev_testhost_usage u;
	struct vdev_testdev *dev = create(f, "loc io:0x300 intr pic:1");
	uint64_t v = 0;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PIO, 0x300, 4, &v), 0);
	assert_int_equal(v, 0x4b434954);
	vdev_testhost_usage(f->th, &u);
	assert_int_equal(u.regions, 1);
	assert_int_equal(u.lines, 1);
	assert_int_equal(u.timers, 1);
	vdev_testhost_destroy(dev);
	vdev_testhost_usage(f->th, &u);
	assert_int_equal(u.regions + u.lines + u.timers + u.watches + u.maps, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_descriptor),
		T(test_power_on_registers),
		T(test_options),
		T(test_start_in_the_middle),
		T(test_start_off_in_the_middle),
		T(test_bad_configurations),
		T(test_tick_and_level_interrupt),
		T(test_overrun),
		T(test_minimum_period),
		T(test_edge_interrupt),
		T(test_period_counter_and_disable),
		T(test_reset),
		T(test_reset_with_start_keeps_counting),
		T(test_save_restore),
		T(test_restore_into_other_instance),
		T(test_bad_accesses),
		T(test_port_io_and_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
