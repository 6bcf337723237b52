/*
 * vdev-template-pci/tests/test_pcidma.c: vdev-pcidma through the SDK test
 * host, the way a driver meets it: find where the function was placed,
 * turn on decode and bus mastering, program a copy, take the interrupt on
 * INTx, MSI or MSI-X; copies refused without bus mastering or outside RAM;
 * save/restore. The plugin is VDEV_PLUGIN_FILE (set by the build) or
 * $VDEV_PLUGIN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vdev/pci.h>
#include <vdev/testhost.h>

#ifndef VDEV_PLUGIN_FILE
#define VDEV_PLUGIN_FILE "vdev-pcidma.so"
#endif

#define RAM_SIZE (1u << 20)
#define ID	 0x00
#define STATUS	 0x08
#define IRQ_EN	 0x0c
#define SRC_LO	 0x10
#define DST_LO	 0x18
#define LEN	 0x20
#define CMD	 0x24

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct vdev_testdev *dev;
	uint64_t bar0;
};

static int setup(void **state)
{
	const char *path = getenv("VDEV_PLUGIN");
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !(f->th = vdev_testhost_new()))
		return -1;
	if (vdev_testhost_add_ram(f->th, 0, RAM_SIZE) || vdev_testhost_add_intc(f->th, "pci", 128))
		return -1;
	if (vdev_testhost_load(f->th, path ? path : VDEV_PLUGIN_FILE, &f->desc)) {
		fprintf(stderr, "%s\n", vdev_testhost_error(f->th));
		return -1;
	}
	/* slot 3, INTA#: the "pci" controller's line 3 * 4 + 0 */
	f->dev = vdev_testhost_create(f->th, f->desc, "loc pci:0:3 intr pci:12 latency 1000");
	if (!f->dev) {
		fprintf(stderr, "%s\n", vdev_testhost_error(f->th));
		return -1;
	}
	f->bar0 = vdev_testhost_pci_bar(f->dev, 0);
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

static uint32_t rd(struct fixture *f, unsigned reg)
{
	return (uint32_t)vdev_testhost_mmio_read(f->th, f->bar0 + reg, 4);
}

static void wr(struct fixture *f, unsigned reg, uint32_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, f->bar0 + reg, 4, v), 0);
}

/* Copy `len` bytes from src to dst and let the copy finish. */
static void copy(struct fixture *f, uint32_t src, uint32_t dst, uint32_t len)
{
	wr(f, SRC_LO, src);
	wr(f, DST_LO, dst);
	wr(f, LEN, len);
	wr(f, CMD, 1);
	assert_int_equal(rd(f, CMD), 1); /* busy until the timer */
	vdev_testhost_advance(f->th, 1000);
	assert_int_equal(rd(f, CMD), 0);
}

static void test_identity_and_placement(void **state)
{
	struct fixture *f = *state;
	uint64_t cfg;

	assert_int_equal(vdev_testhost_pci_find(f->dev, 0, &cfg), 0);
	assert_int_equal(cfg, VDEV_PCICFG_ADDR(0, 3, 0, 0));
	assert_int_equal(vdev_testhost_pci_cfg_read(f->dev, VDEV_PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(vdev_testhost_pci_cfg_read(f->dev, VDEV_PCI_INT_PIN, 1), 1);
	assert_int_equal(vdev_testhost_pci_cfg_read(f->dev, VDEV_PCI_INT_LINE, 1), 12);
	assert_int_not_equal(f->bar0, 0);
	assert_int_equal(rd(f, ID), 0x414d4450);
	/* auto-placed: the first free slot */
	struct vdev_testdev *other = vdev_testhost_create(f->th, f->desc, "");
	assert_non_null(other);
	assert_int_equal(vdev_testhost_pci_find(other, 0, &cfg), 0);
	assert_int_equal(cfg, VDEV_PCICFG_ADDR(0, 1, 0, 0));
}

static void test_intx_slot_checked(void **state)
{
	struct fixture *f = *state;

	/* pci:11 is slot 2's INTD#, not slot 4's INTA# */
	assert_null(vdev_testhost_create(f->th, f->desc, "loc pci:0:4 intr pci:11"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "give intr pci:16"));
}

static void test_copy_with_intx(void **state)
{
	struct fixture *f = *state;
	uint8_t *ram = vdev_testhost_ram(f->th, 0, RAM_SIZE);

	memcpy(ram + 0x1000, "hello, dma", 10);
	vdev_testhost_pci_enable(f->dev, VDEV_PCI_CMD_MEMORY | VDEV_PCI_CMD_MASTER);
	wr(f, IRQ_EN, 3);
	copy(f, 0x1000, 0x2000, 10);
	assert_memory_equal(ram + 0x2000, "hello, dma", 10);
	assert_int_equal(rd(f, STATUS), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "pci:12"), 1);
	/* INTX_DISABLE masks it, clearing it shows it again */
	vdev_testhost_pci_enable(f->dev, VDEV_PCI_CMD_INTX_DISABLE);
	assert_int_equal(vdev_testhost_line_level(f->th, "pci:12"), 0);
	vdev_testhost_pci_cfg_write(f->dev, VDEV_PCI_COMMAND, 2,
				    VDEV_PCI_CMD_MEMORY | VDEV_PCI_CMD_MASTER);
	assert_int_equal(vdev_testhost_line_level(f->th, "pci:12"), 1);
	wr(f, STATUS, 1); /* write 1 to clear */
	assert_int_equal(vdev_testhost_line_level(f->th, "pci:12"), 0);
}

static void test_copy_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t *ram = vdev_testhost_ram(f->th, 0, RAM_SIZE);

	memcpy(ram + 0x1000, "data", 4);
	/* not a bus master: nothing copied, ERROR */
	copy(f, 0x1000, 0x3000, 4);
	assert_int_equal(rd(f, STATUS), 2);
	assert_int_equal(ram[0x3000], 0);
	/* outside RAM, and running past its end */
	vdev_testhost_pci_enable(f->dev, VDEV_PCI_CMD_MASTER);
	wr(f, STATUS, 3);
	copy(f, RAM_SIZE + 0x1000, 0x3000, 4);
	assert_int_equal(rd(f, STATUS), 2);
	wr(f, STATUS, 3);
	copy(f, 0x1000, RAM_SIZE - 2, 4);
	assert_int_equal(rd(f, STATUS), 2);
	wr(f, STATUS, 3);
	copy(f, 0x1000, 0x3000, 4096 + 1); /* too long */
	assert_int_equal(rd(f, STATUS), 2);
}

static void test_msi_and_msix(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_pci_enable(f->dev, VDEV_PCI_CMD_MEMORY | VDEV_PCI_CMD_MASTER);
	wr(f, IRQ_EN, 1);
	assert_int_equal(vdev_testhost_pci_enable_msi(f->dev, 0xfee00000, 0x41), 0);
	vdev_testhost_clear_trace(f->th);
	copy(f, 0, 0x100, 4);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee00000 0x41\n");
	wr(f, STATUS, 1);
	assert_int_equal(vdev_testhost_pci_enable_msix(f->dev, 0, 0xfee01000, 0x52), 0);
	vdev_testhost_clear_trace(f->th);
	copy(f, 0, 0x100, 4);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee01000 0x52\n");
	assert_int_equal(vdev_testhost_line_level(f->th, "pci:12"), 0);
}

static void test_save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	ssize_t len;

	vdev_testhost_pci_enable(f->dev, VDEV_PCI_CMD_MEMORY | VDEV_PCI_CMD_MASTER);
	wr(f, 0x04, 0x12345678);
	wr(f, LEN, 64);
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(rd(f, 0x04), 0); /* power-on value */
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), 0);
	assert_int_equal(rd(f, 0x04), 0x12345678);
	assert_int_equal(rd(f, LEN), 64);
	buf[len / 2] ^= 1;
	assert_int_not_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity_and_placement, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_intx_slot_checked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_with_intx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_msi_and_msix, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
