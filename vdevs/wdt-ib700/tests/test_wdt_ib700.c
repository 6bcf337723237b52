/*
 * vdevs/wdt-ib700/tests/test_wdt_ib700.c: the IB700 watchdog through the
 * SDK test host in virtual time: the timeout table, expiry not before the
 * programmed time and exactly at it, refresh postponing it, stop, both
 * actions, reset and save/restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vdev/testhost.h>

#define SEC 1000000000ull
#define MS  1000000ull

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct vdev_testdev *dev;
};

static struct fixture *fixture_new(const char *options)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	if (dir)
		snprintf(path, sizeof(path), "%s/vdev-wdt-ib700.so", dir);
	else
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
	f->dev = vdev_testhost_create(f->th, f->desc, options);
	if (!f->dev)
		fail_msg("create: %s", vdev_testhost_error(f->th));
	return f;
}

static int setup(void **state)
{
	*state = fixture_new("");
	return 0;
}

static int setup_dump(void **state)
{
	*state = fixture_new("action dump,terminate");
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_free(f->th);
	free(f);
	return 0;
}

static void outb(struct fixture *f, uint16_t port, uint8_t value)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PIO, port, 1, value), 0);
}

static int terminated(struct fixture *f)
{
	return vdev_testhost_terminated(f->th);
}

static void test_timeout_table(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;

	/* Reads: write-only ports. */
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PIO, 0x443, 1, &v), 0);
	assert_int_equal(v, 0xff);
	/* Value 10: 30 - 20 = 10 s. */
	outb(f, 0x443, 10);
	vdev_testhost_advance(f->th, 10 * SEC - 1);
	assert_int_equal(terminated(f), -1);
	vdev_testhost_advance(f->th, 1);
	assert_int_equal(terminated(f), 4);
	assert_non_null(strstr(vdev_testhost_log(f->th), "watchdog expired: ending the VM with 4"));
}

static void test_every_table_entry(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_free(f->th);
	free(f);
	for (unsigned value = 0; value < 16; value++) {
		uint64_t timeout = (30 - 2 * value) * SEC;

		f = fixture_new("");
		outb(f, 0x443, (uint8_t)(value | 0x50)); /* high bits ignored */
		if (timeout)
			vdev_testhost_advance(f->th, timeout - 1);
		assert_int_equal(terminated(f), -1);
		vdev_testhost_advance(f->th, 1);
		assert_int_equal(terminated(f), 4);
		vdev_testhost_free(f->th);
		free(f);
	}
	*state = fixture_new("");
}

static void test_refresh_postpones_and_stop_cancels(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x443, 10); /* 10 s */
	for (int i = 0; i < 5; i++) {
		vdev_testhost_advance(f->th, 8 * SEC);
		outb(f, 0x443, 10); /* refresh every 8 s: never expires */
	}
	assert_int_equal(terminated(f), -1);
	/* A refresh with another value changes the timeout: 14 -> 2 s. */
	outb(f, 0x443, 14);
	vdev_testhost_advance(f->th, 2 * SEC - MS);
	assert_int_equal(terminated(f), -1);
	outb(f, 0x441, 0); /* stop */
	vdev_testhost_advance(f->th, 100 * SEC);
	assert_int_equal(terminated(f), -1);
	/* Started again after a stop: counts from the new start. */
	outb(f, 0x443, 13); /* 4 s */
	vdev_testhost_advance(f->th, 4 * SEC - MS);
	assert_int_equal(terminated(f), -1);
	vdev_testhost_advance(f->th, MS);
	assert_int_equal(terminated(f), 4);
	assert_string_equal(vdev_testhost_trace(f->th), "terminate 4\n");
}

static void test_dump_then_terminate(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x443, 12); /* 6 s */
	vdev_testhost_advance(f->th, 3 * SEC);
	outb(f, 0x443, 12);
	vdev_testhost_advance(f->th, 6 * SEC);
	assert_int_equal(terminated(f), 4);
	assert_non_null(
	    strstr(vdev_testhost_log(f->th),
		   "watchdog expired: timeout 6 s (value 12), last refresh 6.000 s ago, "
		   "2 refreshes since start; ending the VM with 4"));
	/* the host is asked for the guest dump with the cause */
	assert_string_equal(vdev_testhost_trace(f->th), "terminate 4 dump\n");
}

static void test_reset_and_save_restore(void **state)
{
	struct fixture *f = *state, *g;
	uint8_t buf[256];
	ssize_t n;

	outb(f, 0x443, 5); /* 20 s */
	vdev_testhost_advance(f->th, 15 * SEC);
	n = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n <= f->desc->state_size);

	/* Another host at another time: 5 s are left. */
	g = fixture_new("");
	vdev_testhost_advance(g->th, 1234 * SEC);
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), 0);
	vdev_testhost_advance(g->th, 5 * SEC - 1);
	assert_int_equal(terminated(g), -1);
	vdev_testhost_advance(g->th, 1);
	assert_int_equal(terminated(g), 4);
	buf[n - 1] ^= 0x01;
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), -EINVAL);
	teardown((void **)&g);

	/* Reset stops it. */
	vdev_testhost_reset(f->dev);
	vdev_testhost_advance(f->th, 60 * SEC);
	assert_int_equal(terminated(f), -1);
}

static void test_bad_options(void **state)
{
	struct fixture *f = *state;

	assert_null(vdev_testhost_create(f->th, f->desc, "loc 0x541 action fiq"));
	assert_non_null(vdev_testhost_create(f->th, f->desc, "loc 0x541 action terminate"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_timeout_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_table_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_postpones_and_stop_cancels, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dump_then_terminate, setup_dump, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_and_save_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
