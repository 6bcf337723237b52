/*
 * vdevs/debug-exit/tests/test_debug_exit.c: the exit-code mapping of
 * vdev-debug-exit through the SDK test host (the plugin as vdm loads it).
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

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	if (dir)
		snprintf(path, sizeof(path), "%s/vdev-debug-exit.so", dir);
	else
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
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

/* The cause for one write of `value` with `size` bytes to a fresh instance. */
static int cause_of(const char *options, uint64_t port, unsigned size, uint64_t value)
{
	void *state;
	struct fixture *f;
	int cause;

	setup(&state);
	f = state;
	create(f, options);
	assert_int_equal(vdev_testhost_terminated(f->th), -1);
	if (vdev_testhost_write(f->th, VDEV_SPACE_PIO, port, size, value) != 0)
		fail_msg("write 0x%llx to 0x%llx: %s", (unsigned long long)value,
			 (unsigned long long)port, vdev_testhost_error(f->th));
	cause = vdev_testhost_terminated(f->th);
	teardown(&state);
	return cause;
}

static void test_default_success_is_zero(void **state)
{
	assert_int_equal(cause_of("", 0xf4, 1, 0), 0);
}

static void test_failures_follow_qemu(void **state)
{
	/* QEMU's (V << 1) | 1 where it is a valid vdm cause (V 16..31). */
	assert_int_equal(cause_of("", 0xf4, 1, 0x10), 33);
	assert_int_equal(cause_of("", 0xf4, 1, 0x11), 35);
	assert_int_equal(cause_of("", 0xf4, 1, 0x1f), 63);
	/* Other values fold into 33..63, never 0. */
	assert_int_equal(cause_of("", 0xf4, 1, 1), 35);
	assert_int_equal(cause_of("", 0xf4, 1, 0x20), 33);
	assert_int_equal(cause_of("", 0xf4, 1, 0xff), 63);
	assert_int_equal(cause_of("loc io:0xf4,4", 0xf4, 4, 0x12345678), 32 | ((0x8 << 1) | 1));
}

static void test_success_option(void **state)
{
	assert_int_equal(cause_of("success 0x10", 0xf4, 1, 0x10), 0);
	assert_int_equal(cause_of("success 0x10", 0xf4, 1, 0), 33);
	assert_int_equal(cause_of("success 0x10", 0xf4, 1, 0x11), 35);
	assert_int_equal(cause_of("success 0x1234 loc io:0xf4,2", 0xf4, 2, 0x1234), 0);
}

static void test_loc_option(void **state)
{
	assert_int_equal(cause_of("loc io:0x501", 0x501, 1, 0x11), 35);
	assert_int_equal(cause_of("loc io:0x500,4", 0x503, 1, 0), 0);
}

static void test_first_write_wins_and_reads_zero(void **state)
{
	struct fixture *f = *state;

	create(f, "");
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xf4, 1), 0);
	assert_int_equal(vdev_testhost_terminated(f->th), -1);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PIO, 0xf4, 1, 0x11), 0);
	assert_int_equal(vdev_testhost_terminated(f->th), 35);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PIO, 0xf4, 1, 0), 0);
	assert_int_equal(vdev_testhost_terminated(f->th), 35);
	/* Nothing else answers: the region is one port. */
	assert_int_not_equal(vdev_testhost_write(f->th, VDEV_SPACE_PIO, 0xf5, 1, 0), 0);
}

static void test_save_restore(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *a = create(f, "loc io:0xf4"), *b = create(f, "loc io:0xf8");
	uint8_t buf[256], buf2[256], fresh[256];
	ssize_t n, n2, nf;

	nf = vdev_testhost_save(b, fresh, sizeof(fresh));
	assert_true(nf > 0);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PIO, 0xf4, 1, 0x13), 0);
	assert_int_equal(vdev_testhost_terminated(f->th), 39);
	n = vdev_testhost_save(a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true((size_t)n <= f->desc->state_size);
	assert_true(n != nf || memcmp(buf, fresh, (size_t)n) != 0);
	/* Restored into b: b has fired too and saves the same bytes. */
	assert_int_equal(vdev_testhost_restore(b, buf, (size_t)n), 0);
	n2 = vdev_testhost_save(b, buf2, sizeof(buf2));
	assert_int_equal(n2, n);
	assert_memory_equal(buf, buf2, (size_t)n);
	/* Garbage is refused and changes nothing. */
	buf2[n2 - 1] ^= 0x5a;
	assert_int_equal(vdev_testhost_restore(b, buf2, (size_t)n2), -EINVAL);
	assert_int_equal(vdev_testhost_restore(b, buf, (size_t)n - 1), -EINVAL);
	n2 = vdev_testhost_save(b, buf2, sizeof(buf2));
	assert_memory_equal(buf, buf2, (size_t)n);
	/* Reset re-arms: the bytes are those of a fresh instance again. */
	vdev_testhost_reset(b);
	n2 = vdev_testhost_save(b, buf2, sizeof(buf2));
	assert_int_equal(n2, nf);
	assert_memory_equal(buf2, fresh, (size_t)nf);
}

static void test_rejects_intr(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vdev_testhost_add_intc(f->th, "pic", 16), 0);
	assert_null(vdev_testhost_create(f->th, f->desc, "intr pic:3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_success_is_zero),
	    cmocka_unit_test(test_failures_follow_qemu),
	    cmocka_unit_test(test_success_option),
	    cmocka_unit_test(test_loc_option),
	    cmocka_unit_test_setup_teardown(test_first_write_wins_and_reads_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejects_intr, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
