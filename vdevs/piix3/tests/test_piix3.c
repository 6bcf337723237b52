/*
 * vdevs/piix3/tests/test_piix3.c: the PIIX3 ISA bridge as hvmloader and an
 * OS use it (Intel 290550): identity at 00:01.0 with the multi-function
 * bit, PIRQRC reset values and the routes they give the host (hvmloader's
 * 5/10/11/5, reserved IRQs, IRQEN#), resends at start/reset/restore, the
 * reset control register at 0xcf9 (the FADT's value 6 reboots).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vdevs/common/tests/chipset_test.h"

static int setup(void **state)
{
	return chipset_setup(state, "piix3", VDEV_PLUGIN_DIR, "");
}

#define teardown chipset_teardown

static void test_identity(void **state)
{
	struct chipset_fixture *f = *state;

	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x00, 4), 0x70008086);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x08, 4), 0x06010000);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x0e, 1), 0x80); /* multi-function */
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x3d, 1), 0);
	/* the datasheet's reset values */
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x4c, 1), 0x4d);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x4e, 1), 0x03);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x60, 4), 0x80808080);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x69, 1), 0x02);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x76, 2), 0x0c0c);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0xa0, 1), 0x08);
	/* storage above the header */
	chipset_cfg_write(f, 1, 0, 0xb0, 4, 0xa5a55a5a);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0xb0, 4), 0xa5a55a5a);
}

static void test_pirq_routes(void **state)
{
	struct chipset_fixture *f = *state;

	/* hvmloader's writes, one byte each */
	vdev_testhost_clear_trace(f->th);
	chipset_cfg_write(f, 1, 0, 0x60, 1, 5);
	chipset_cfg_write(f, 1, 0, 0x61, 1, 10);
	chipset_cfg_write(f, 1, 0, 0x62, 1, 11);
	chipset_cfg_write(f, 1, 0, 0x63, 1, 5);
	assert_string_equal(vdev_testhost_trace(f->th),
			    "link-route 0 5\nlink-route 1 10\nlink-route 2 11\nlink-route 3 5\n");
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x60, 4), 0x050b0a05);
	/* the same value again is no change: nothing sent */
	vdev_testhost_clear_trace(f->th);
	chipset_cfg_write(f, 1, 0, 0x60, 4, 0x050b0a05);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	/* a dword write changing two links; IRQEN# and a reserved IRQ route nowhere */
	chipset_cfg_write(f, 1, 0, 0x60, 4, 0x058d0a0d);
	assert_string_equal(vdev_testhost_trace(f->th), "link-route 0 0\nlink-route 2 0\n");
	/* the register keeps what was written */
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x60, 4), 0x058d0a0d);
	/* a write beside the routes sends nothing */
	vdev_testhost_clear_trace(f->th);
	chipset_cfg_write(f, 1, 0, 0x64, 4, 0x12345678);
	assert_string_equal(vdev_testhost_trace(f->th), "");
}

static void test_resend(void **state)
{
	struct chipset_fixture *f = *state;
	uint8_t buf[1024];
	ssize_t n;

	vdev_testhost_clear_trace(f->th);
	assert_int_equal(vdev_testhost_start(f->th), 0);
	assert_string_equal(vdev_testhost_trace(f->th),
			    "link-route 0 0\nlink-route 1 0\nlink-route 2 0\nlink-route 3 0\n");
	chipset_cfg_write(f, 1, 0, 0x62, 1, 11);
	n = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(n > 0);
	vdev_testhost_clear_trace(f->th);
	vdev_testhost_reset(f->dev);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x62, 1), 0x80);
	assert_string_equal(vdev_testhost_trace(f->th),
			    "link-route 0 0\nlink-route 1 0\nlink-route 2 0\nlink-route 3 0\n");
	vdev_testhost_clear_trace(f->th);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)n), 0);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x62, 1), 11);
	assert_string_equal(vdev_testhost_trace(f->th),
			    "link-route 0 0\nlink-route 1 0\nlink-route 2 11\nlink-route 3 0\n");
}

static void test_reset_control(void **state)
{
	struct chipset_fixture *f = *state;

	vdev_testhost_clear_trace(f->th);
	assert_int_equal(chipset_pio_read(f, 0xcf9, 1), 0);
	/* SRST alone is kept and resets nothing */
	chipset_pio_write(f, 0xcf9, 1, 0x02);
	assert_int_equal(chipset_pio_read(f, 0xcf9, 1), 0x02);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	/* the FADT's reset value */
	chipset_pio_write(f, 0xcf9, 1, 0x06);
	assert_string_equal(vdev_testhost_trace(f->th), "shutdown reboot\n");
	assert_int_equal(vdev_testhost_terminated(f->th), -1);
	/* asked once: the machine is going down */
	vdev_testhost_clear_trace(f->th);
	chipset_pio_write(f, 0xcf9, 1, 0x06);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	/* after the reset, a soft reset (RCPU without SRST) reboots too */
	vdev_testhost_reset(f->dev);
	vdev_testhost_clear_trace(f->th);
	chipset_pio_write(f, 0xcf9, 1, 0x04);
	assert_string_equal(vdev_testhost_trace(f->th), "shutdown reboot\n");
	assert_int_equal(chipset_pio_read(f, 0xcf9, 1), 0);
	/* only the one byte is decoded */
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xcf8, 1), 0xff);
}

static void mutate(struct chipset_fixture *f)
{
	chipset_cfg_write(f, 1, 0, 0x61, 1, 9);
	chipset_pio_write(f, 0xcf9, 1, 0x02);
}

static void test_save_restore(void **state)
{
	struct chipset_fixture *f = *state;

	chipset_cfg_write(f, 1, 0, 0x60, 1, 5);
	chipset_check_save_restore(f, mutate);
	assert_int_equal(chipset_cfg_read(f, 1, 0, 0x60, 2), 0x8005);
	assert_int_equal(chipset_pio_read(f, 0xcf9, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pirq_routes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resend, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_control, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
