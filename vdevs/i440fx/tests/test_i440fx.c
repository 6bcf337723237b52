/*
 * vdevs/i440fx/tests/test_i440fx.c: the 82441FX host bridge as firmware
 * sees it (Intel 290549 section 3.2): identity at 00:00.0, read-only
 * header, PAM bits, SMRAM with D_LCK, no BARs, reset, save/restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "vdevs/common/tests/chipset_test.h"

static int setup(void **state)
{
	return chipset_setup(state, "i440fx", VDEV_PLUGIN_DIR, "");
}

#define teardown chipset_teardown

static void test_identity(void **state)
{
	struct chipset_fixture *f = *state;

	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x00, 4), 0x12378086);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x08, 4), 0x06000002); /* class, rev 2 */
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x06, 2), 0x0280);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x0e, 1), 0x00); /* single function */
	chipset_cfg_write(f, 0, 0, 0x00, 4, 0);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x00, 4), 0x12378086);
	/* no BAR: sizing reads 0 */
	for (unsigned bar = 0x10; bar <= 0x24; bar += 4) {
		chipset_cfg_write(f, 0, 0, bar, 4, 0xffffffff);
		assert_int_equal(chipset_cfg_read(f, 0, 0, bar, 4), 0);
	}
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x3d, 1), 0); /* no interrupt pin */
}

static void test_pam(void **state)
{
	struct chipset_fixture *f = *state;

	/* PAM0 has only the BIOS-area bits, PAM1-6 two nibbles of two bits */
	chipset_cfg_write(f, 0, 0, 0x59, 1, 0xff);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x59, 1), 0x30);
	chipset_cfg_write(f, 0, 0, 0x5a, 4, 0xffffffff);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x5a, 4), 0x33333333);
	chipset_cfg_write(f, 0, 0, 0x5e, 2, 0x1221);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x5e, 2), 0x1221);
	/* DRB storage */
	chipset_cfg_write(f, 0, 0, 0x60, 4, 0x04030201);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x60, 4), 0x04030201);
	/* reserved bytes stay 0 */
	chipset_cfg_write(f, 0, 0, 0x80, 4, 0xffffffff);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x80, 4), 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x59, 4), 0);
}

static void test_smram(void **state)
{
	struct chipset_fixture *f = *state;

	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x72, 1), 0x02);
	/* C_BASE_SEG is read-only */
	chipset_cfg_write(f, 0, 0, 0x72, 1, 0x4f);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x72, 1), 0x4a);
	/* setting D_LCK clears D_OPEN */
	chipset_cfg_write(f, 0, 0, 0x72, 1, 0x5a);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x72, 1), 0x1a);
	/* locked: only D_CLS changes, D_OPEN cannot come back */
	chipset_cfg_write(f, 0, 0, 0x72, 1, 0x62);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x72, 1), 0x3a);
	/* a dword write covering 0x72 too */
	chipset_cfg_write(f, 0, 0, 0x70, 4, 0x00000000);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x72, 1), 0x1a);
	/* reset unlocks */
	vdev_testhost_reset(f->dev);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x72, 1), 0x02);
	chipset_cfg_write(f, 0, 0, 0x72, 1, 0x40);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x72, 1), 0x42);
}

static void mutate(struct chipset_fixture *f)
{
	chipset_cfg_write(f, 0, 0, 0x5a, 1, 0x11);
	chipset_cfg_write(f, 0, 0, 0x72, 1, 0x18);
}

static void test_save_restore(void **state)
{
	struct chipset_fixture *f = *state;

	chipset_cfg_write(f, 0, 0, 0x59, 1, 0x30);
	chipset_check_save_restore(f, mutate);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x59, 1), 0x30);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x5a, 1), 0x00);
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x72, 1), 0x02);
}

static void test_placement(void **state)
{
	struct chipset_fixture *f = chipset_fixture_new("i440fx", VDEV_PLUGIN_DIR);

	/* a one-per-VM device; an explicit loc is honoured */
	assert_int_equal(vdev_testhost_add_intc(f->th, "isa", 16), 0);
	chipset_create(f, "loc pci:0:0.0");
	assert_int_equal(chipset_cfg_read(f, 0, 0, 0x00, 2), 0x8086);
	assert_null(vdev_testhost_create(f->th, f->desc, "intr isa:5"));
	chipset_fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pam, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_smram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	    cmocka_unit_test(test_placement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
