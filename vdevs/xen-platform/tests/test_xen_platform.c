/*
 * vdevs/xen-platform/tests/test_xen_platform.c: the Xen platform device
 * as Linux's platform-pci and unplug code use it: identity and BARs
 * (sizes as hvmloader reads them), the magic/protocol/product/unplug
 * sequence of check_platform_magic, the log port, reset and state.
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
	return chipset_setup(state, "xen-platform", VDEV_PLUGIN_DIR, "loc pci:0:3");
}

#define teardown chipset_teardown

static uint32_t bar_size(struct chipset_fixture *f, unsigned bar)
{
	uint32_t old = chipset_cfg_read(f, 3, 0, bar, 4), mask;

	chipset_cfg_write(f, 3, 0, bar, 4, 0xffffffff);
	mask = chipset_cfg_read(f, 3, 0, bar, 4);
	chipset_cfg_write(f, 3, 0, bar, 4, old);
	return mask;
}

static void test_identity(void **state)
{
	struct chipset_fixture *f = *state;

	assert_int_equal(chipset_cfg_read(f, 3, 0, 0x00, 4), 0x00015853);
	assert_int_equal(chipset_cfg_read(f, 3, 0, 0x08, 4), 0xff800001);
	assert_int_equal(chipset_cfg_read(f, 3, 0, 0x2c, 4), 0x00015853);
	assert_int_equal(chipset_cfg_read(f, 3, 0, 0x3d, 1), 1);
	/* BAR0: 256 bytes of I/O; BAR1: 16 MiB prefetchable memory */
	assert_int_equal(bar_size(f, 0x10), 0xffffff01);
	assert_int_equal(bar_size(f, 0x14), 0xff000008);
	/* no other BAR */
	assert_int_equal(bar_size(f, 0x18), 0);
}

static void test_linux_probe(void **state)
{
	struct chipset_fixture *f = *state;

	/* check_platform_magic */
	assert_int_equal(chipset_pio_read(f, 0x10, 2), 0x49d2);
	assert_int_equal(chipset_pio_read(f, 0x12, 1), 1);
	chipset_pio_write(f, 0x12, 2, 3);			/* product: Linux */
	chipset_pio_write(f, 0x10, 4, 0x00060100);		/* driver version */
	assert_int_equal(chipset_pio_read(f, 0x10, 2), 0x49d2); /* not blacklisted */
	chipset_pio_write(f, 0x10, 2, 0x0003);			/* unplug IDE disks and NICs */
	assert_non_null(strstr(vdev_testhost_log(f->th), "unplug 0x0003"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "product 3"));
	/* other fixed ports read all-ones */
	assert_int_equal(chipset_pio_read(f, 0x14, 4), 0xffffffff);
	/* platform flags: only the ROM lock bit */
	chipset_pio_write(f, 0x10, 1, 0xff);
	assert_int_equal(chipset_pio_read(f, 0x10, 1), 1);
	/* log lines, through the fixed port and BAR0 + 8 */
	chipset_pio_write(f, 0x12, 1, 'h');
	chipset_pio_write(f, 0x12, 1, 'i');
	chipset_pio_write(f, 0x12, 1, '\n');
	assert_non_null(strstr(vdev_testhost_log(f->th), "guest: hi"));
	vdev_testhost_reset(f->dev);
	assert_int_equal(chipset_pio_read(f, 0x10, 1), 0);
}

static void test_bars(void **state)
{
	struct chipset_fixture *f = *state;
	uint16_t io = (uint16_t)(chipset_cfg_read(f, 3, 0, 0x10, 4) & ~3u);
	uint32_t mem = chipset_cfg_read(f, 3, 0, 0x14, 4) & ~0xfu;
	uint64_t v = 1;

	assert_true(io != 0);
	assert_true(mem != 0);
	chipset_pio_write(f, io, 1, 1);
	assert_int_equal(chipset_pio_read(f, io, 1), 1);
	chipset_pio_write(f, io + 8, 1, 'x');
	assert_int_equal(chipset_pio_read(f, io + 4, 1), 0xff);
	/* BAR1 is where Xen maps grant frames: the device reads 0 there */
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, mem + 0x123000, 4, &v), 0);
	assert_int_equal(v, 0);
}

static void mutate(struct chipset_fixture *f)
{
	chipset_pio_write(f, 0x10, 2, 0x0001);
	chipset_pio_write(f, 0x10, 1, 0x00);
}

static void test_save_restore(void **state)
{
	struct chipset_fixture *f = *state;

	chipset_pio_write(f, 0x10, 1, 0x01);
	chipset_check_save_restore(f, mutate);
	assert_int_equal(chipset_pio_read(f, 0x10, 1), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_linux_probe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bars, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
