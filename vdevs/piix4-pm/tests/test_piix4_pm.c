/*
 * vdevs/piix4-pm/tests/test_piix4_pm.c: PIIX4 power management as
 * hvmloader, SeaBIOS and an ACPI OS drive it (Intel 290562 section 11;
 * hvmloader's pci_setup and acpi_enable_sci): identity at 00:01.3,
 * PMBA/PMIOSE placing PM1a_CNT at 0xb004 and nothing of Xen's
 * (0xb000-0xb003, 0xb008), the 0xf1 ACPI-enable command, SLP_EN with
 * SLP_TYP 0 powering off, S3 ignored, GPE0, reset and save/restore.
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
	return chipset_setup(state, "piix4-pm", VDEV_PLUGIN_DIR, "");
}

#define teardown chipset_teardown

static void hvmloader_setup(struct chipset_fixture *f)
{
	chipset_cfg_write(f, 1, 3, 0x20, 2, 0);
	chipset_cfg_write(f, 1, 3, 0xd2, 2, 0);
	chipset_cfg_write(f, 1, 3, 0x22, 2, 0);
	chipset_cfg_write(f, 1, 3, 0x3c, 2, 0x0009);
	chipset_cfg_write(f, 1, 3, 0x3d, 2, 0x0001);
	chipset_cfg_write(f, 1, 3, 0x40, 4, 0xb001);
	chipset_cfg_write(f, 1, 3, 0x80, 1, 0x01);
}

static void test_identity(void **state)
{
	struct chipset_fixture *f = *state;

	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x00, 4), 0x71138086);
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x08, 4), 0x06800003);
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x3d, 1), 1); /* INTA */
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x40, 4), 0x00000001);
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x90, 4), 0x00000001);
	/* PMBA: bits 15:6 only, bit 0 stays */
	chipset_cfg_write(f, 1, 3, 0x40, 4, 0xffffffff);
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x40, 4), 0x0000ffc1);
	/* nothing decoded before PMIOSE */
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xffc4, 2), 0xffff);
}

static void test_hvmloader_layout(void **state)
{
	struct chipset_fixture *f = *state;

	hvmloader_setup(f);
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x3c, 1), 9);
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x3d, 1), 1); /* read-only */
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x40, 4), 0xb001);
	/* PM1a_CNT at 0xb004, and nothing Xen emulates */
	assert_int_equal(chipset_pio_read(f, 0xb004, 2), 0);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xb000, 4), 0xffffffff);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xb008, 4), 0xffffffff);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xb006, 2), 0xffff);
	/* acpi_enable_sci: SCI_EN clear, so 0xf1 to 0xb2, then it is set */
	assert_int_equal(chipset_pio_read(f, 0xb004, 1) & 1, 0);
	chipset_pio_write(f, 0xb2, 1, 0xf1);
	assert_int_equal(chipset_pio_read(f, 0xb004, 1) & 1, 1);
	chipset_pio_write(f, 0xb2, 1, 0xf0);
	assert_int_equal(chipset_pio_read(f, 0xb004, 1) & 1, 0);
	/* APMS is storage */
	chipset_pio_write(f, 0xb3, 1, 0x5a);
	assert_int_equal(chipset_pio_read(f, 0xb3, 1), 0x5a);
	/* moving PMBA moves PM1a_CNT; PMIOSE off unmaps it */
	chipset_cfg_write(f, 1, 3, 0x40, 2, 0x6001);
	assert_int_equal(chipset_pio_read(f, 0x6004, 2), 0);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xb004, 2), 0xffff);
	chipset_cfg_write(f, 1, 3, 0x80, 1, 0);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0x6004, 2), 0xffff);
}

static void test_soft_off(void **state)
{
	struct chipset_fixture *f = *state;

	hvmloader_setup(f);
	vdev_testhost_clear_trace(f->th);
	/* SCI_EN, BM_RLD and SLP_TYP are kept; GBL_RLS and SLP_EN read 0 */
	chipset_pio_write(f, 0xb004, 2, 0x1407);
	assert_int_equal(chipset_pio_read(f, 0xb004, 2), 0x1403);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	/* S3 (SLP_TYP 1, hvmloader's _S3): not supported, ignored */
	chipset_pio_write(f, 0xb004, 2, 0x2401);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	assert_int_equal(vdev_testhost_terminated(f->th), -1);
	/* Linux's S5: SLP_TYP 0 then SLP_EN, as a word */
	chipset_pio_write(f, 0xb004, 2, 0x0001);
	chipset_pio_write(f, 0xb004, 2, 0x2001);
	assert_string_equal(vdev_testhost_trace(f->th), "shutdown poweroff\n");
	/* asked once: the machine is going down */
	vdev_testhost_clear_trace(f->th);
	chipset_pio_write(f, 0xb004, 2, 0x2001);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	/* after a reset, a byte write of the high half alone does it too */
	vdev_testhost_reset(f->dev);
	hvmloader_setup(f);
	chipset_pio_write(f, 0xb2, 1, 0xf1);
	vdev_testhost_clear_trace(f->th);
	chipset_pio_write(f, 0xb005, 1, 0x20);
	assert_string_equal(vdev_testhost_trace(f->th), "shutdown poweroff\n");
	assert_int_equal(chipset_pio_read(f, 0xb004, 2), 0x0001);
}

static void test_gpe0(void **state)
{
	struct chipset_fixture *f = *state;
	struct chipset_fixture *g;

	assert_int_equal(chipset_pio_read(f, 0xafe0, 4), 0);
	chipset_pio_write(f, 0xafe2, 2, 0x0004);
	assert_int_equal(chipset_pio_read(f, 0xafe0, 4), 0x00040000);
	chipset_pio_write(f, 0xafe0, 2, 0xffff); /* write-1-to-clear: nothing pending */
	assert_int_equal(chipset_pio_read(f, 0xafe0, 2), 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(chipset_pio_read(f, 0xafe0, 4), 0);
	/* without the block, and with SCI_EN from the start */
	g = chipset_fixture_new("piix4-pm", VDEV_PLUGIN_DIR);
	chipset_create(g, "gpe0 0 sci-en");
	assert_int_equal(vdev_testhost_pio_read(g->th, 0xafe0, 4), 0xffffffff);
	hvmloader_setup(g);
	assert_int_equal(chipset_pio_read(g, 0xb004, 2), 0x0001);
	chipset_fixture_free(g);
}

/* The qemu-xen DSDT's PCI hotplug registers: nothing plugged, slots 2-31 removable. */
static void test_pci_hotplug(void **state)
{
	struct chipset_fixture *f = *state;

	assert_int_equal(chipset_pio_read(f, 0xae00, 4), 0);          /* PCIU */
	assert_int_equal(chipset_pio_read(f, 0xae04, 4), 0);          /* PCID */
	assert_int_equal(chipset_pio_read(f, 0xae0c, 4), 0xfffffffc); /* B0RM */
	assert_int_equal(chipset_pio_read(f, 0xae0c, 1), 0xfc);
	chipset_pio_write(f, 0xae08, 4, 1u << 5); /* _EJ0 of slot 5 */
	assert_non_null(strstr(vdev_testhost_log(f->th), "eject request 0x00000020"));
	assert_int_equal(chipset_pio_read(f, 0xae0c, 4), 0xfffffffc);
}

static void mutate(struct chipset_fixture *f)
{
	chipset_cfg_write(f, 1, 3, 0x40, 2, 0x7001);
	chipset_pio_write(f, 0xb2, 1, 0xf0);
	chipset_pio_write(f, 0xafe2, 1, 0x01);
}

static void test_reset_and_state(void **state)
{
	struct chipset_fixture *f = *state;

	hvmloader_setup(f);
	chipset_pio_write(f, 0xb2, 1, 0xf1);
	chipset_check_save_restore(f, mutate);
	/* restored: PM1a_CNT back at 0xb004 with SCI_EN, not at 0x7004 */
	assert_int_equal(chipset_pio_read(f, 0xb004, 2), 0x0001);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0x7004, 2), 0xffff);
	vdev_testhost_reset(f->dev);
	assert_int_equal(chipset_cfg_read(f, 1, 3, 0x40, 4), 1);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xb004, 2), 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hvmloader_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_soft_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gpe0, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_hotplug, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_and_state, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
