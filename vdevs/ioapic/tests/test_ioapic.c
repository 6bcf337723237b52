/*
 * vdevs/ioapic/tests/test_ioapic.c: the 82093AA I/O APIC through the SDK
 * test host: register reads as the datasheet gives them, redirection
 * entries programmed as an OS does (IOREGSEL then IOWIN), pins driven
 * through the plugin's intc ops, MSIs observed in the host's trace.
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

#define BASE 0xfec00000ull

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
		snprintf(path, sizeof(path), "%s/vdev-ioapic.so", dir);
	else
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
	assert_non_null(f->desc->intc);
	assert_int_equal(vdev_testhost_add_intc(f->th, "apic", 1), 0);
	if (options) {
		f->dev = vdev_testhost_create(f->th, f->desc, options);
		if (!f->dev)
			fail_msg("create: %s", vdev_testhost_error(f->th));
	}
	return f;
}

static int setup(void **state)
{
	*state = fixture_new("name myioapic intr apic");
	return 0;
}

static int setup_v20(void **state)
{
	*state = fixture_new("name myioapic intr apic version 0x20 hostvector 33");
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_free(f->th);
	free(f);
	return 0;
}

static uint32_t rd(struct fixture *f, uint32_t index)
{
	uint64_t v = ~0ull;

	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, BASE, 4, index), 0);
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE + 0x10, 4, &v), 0);
	return (uint32_t)v;
}

static void wr(struct fixture *f, uint32_t index, uint32_t value)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, BASE, 4, index), 0);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, BASE + 0x10, 4, value), 0);
}

/* An entry as an OS programs it: high dword (destination) first, then low. */
static void program(struct fixture *f, unsigned pin, uint32_t low, uint8_t dest)
{
	wr(f, 0x11 + 2 * pin, (uint32_t)dest << 24);
	wr(f, 0x10 + 2 * pin, low);
}

static void pin(struct fixture *f, unsigned line, int level)
{
	f->desc->intc->set_level(vdev_testdev_state(f->dev), line, level);
}

static void eoi(struct fixture *f, uint8_t vector)
{
	f->desc->intc->eoi(vdev_testdev_state(f->dev), vector);
}

static const char *trace(struct fixture *f)
{
	return vdev_testhost_trace(f->th);
}

static void test_registers_at_power_on(void **state)
{
	struct fixture *f = *state;
	uint64_t v;

	assert_int_equal(f->desc->intc->line_count(vdev_testdev_state(f->dev)), 24);
	assert_int_equal(rd(f, 0x00), 0);
	assert_int_equal(rd(f, 0x01), 0x00170011); /* 24 entries, 82093AA */
	assert_int_equal(rd(f, 0x02), 0);
	for (unsigned p = 0; p < 24; p++) {
		assert_int_equal(rd(f, 0x10 + 2 * p), 0x00010000); /* masked */
		assert_int_equal(rd(f, 0x11 + 2 * p), 0);
	}
	assert_int_equal(rd(f, 0x03), 0); /* reserved */
	assert_int_equal(rd(f, 0x40), 0); /* past the table */
	/* IOREGSEL reads back its 8 bits. */
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, BASE, 4, 0x1234), 0);
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE, 4, &v), 0);
	assert_int_equal(v, 0x34);
	/* 32-bit only. */
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE, 1, &v), -EINVAL);
}

static void test_id_arb_and_readonly_bits(void **state)
{
	struct fixture *f = *state;

	wr(f, 0x00, 0xffffffff);
	assert_int_equal(rd(f, 0x00), 0x0f000000);
	assert_int_equal(rd(f, 0x02), 0x0f000000); /* ARB follows the ID */
	wr(f, 0x01, 0);				   /* VER is read-only */
	assert_int_equal(rd(f, 0x01), 0x00170011);
	wr(f, 0x02, 0); /* so is ARB */
	assert_int_equal(rd(f, 0x02), 0x0f000000);
	/* Delivery status and remote IRR cannot be written; reserved bits read 0. */
	wr(f, 0x10, 0xffffffff);
	assert_int_equal(rd(f, 0x10), 0x0001afff);
	wr(f, 0x11, 0xffffffff);
	assert_int_equal(rd(f, 0x11), 0xff000000);
	assert_string_equal(trace(f), ""); /* an edge entry with a low pin sends nothing */
}

static void test_edge_delivery_and_mask(void **state)
{
	struct fixture *f = *state;

	program(f, 2, 0x30, 1); /* fixed, physical, edge, high, unmasked */
	pin(f, 2, 1);
	assert_string_equal(trace(f), "msi 0xfee01000 0x30\n");
	pin(f, 2, 0);
	pin(f, 2, 1);
	assert_string_equal(trace(f), "msi 0xfee01000 0x30\nmsi 0xfee01000 0x30\n");
	/* Remote IRR stays clear for edge entries. */
	assert_int_equal(rd(f, 0x14), 0x30);
	vdev_testhost_clear_trace(f->th);
	pin(f, 2, 0);
	/* Masked: the edge is ignored and not held pending (datasheet). */
	wr(f, 0x14, 0x10030);
	pin(f, 2, 1);
	wr(f, 0x14, 0x00030);
	assert_string_equal(trace(f), "");
	pin(f, 2, 0);
	pin(f, 2, 1);
	assert_string_equal(trace(f), "msi 0xfee01000 0x30\n");
}

static void test_level_remote_irr_and_eoi(void **state)
{
	struct fixture *f = *state;

	/* Level, lowest priority, logical destination 0x03, active low (PCI). */
	program(f, 5, 0x41 | 1u << 8 | 1u << 11 | 1u << 13 | 1u << 15, 0x03);
	pin(f, 5, 1);
	assert_string_equal(trace(f), "msi 0xfee03004 0x8141\n");
	assert_int_equal(rd(f, 0x1a), 0x41 | 1u << 8 | 1u << 11 | 1u << 13 | 1u << 14 | 1u << 15);
	/* No second message while remote IRR is set. */
	pin(f, 5, 0);
	pin(f, 5, 1);
	assert_string_equal(trace(f), "msi 0xfee03004 0x8141\n");
	/* An EOI for another vector changes nothing. */
	eoi(f, 0x42);
	assert_true(rd(f, 0x1a) & 1u << 14);
	/* EOI with the pin still asserted: remote IRR clears and the pin is
	 * delivered again, which sets it again. */
	eoi(f, 0x41);
	assert_string_equal(trace(f), "msi 0xfee03004 0x8141\nmsi 0xfee03004 0x8141\n");
	assert_true(rd(f, 0x1a) & 1u << 14);
	/* Deasserted, then EOI: idle. */
	pin(f, 5, 0);
	eoi(f, 0x41);
	assert_false(rd(f, 0x1a) & 1u << 14);
	assert_int_equal(vdev_testhost_line_edges(f->th, "apic:0"), 0); /* MSI, not a line */
	vdev_testhost_clear_trace(f->th);
	/* A level asserted while masked is delivered when unmasked. */
	wr(f, 0x1a, 0x41 | 1u << 15 | 1u << 16);
	pin(f, 5, 1);
	assert_string_equal(trace(f), "");
	wr(f, 0x1a, 0x41 | 1u << 15);
	assert_string_equal(trace(f), "msi 0xfee03000 0x8041\n");
	/* Switching the entry to edge drops remote IRR. */
	wr(f, 0x1a, 0x41 | 1u << 16);
	assert_int_equal(rd(f, 0x1a), 0x41 | 1u << 16);
}

static void test_edge_only_delivery_modes(void **state)
{
	struct fixture *f = *state;

	/* NMI (4) programmed as level: sent as an edge, no remote IRR. */
	program(f, 9, 0x02 | 4u << 8 | 1u << 15, 0);
	pin(f, 9, 1);
	assert_string_equal(trace(f), "msi 0xfee00000 0x402\n");
	assert_false(rd(f, 0x22) & 1u << 14);
	/* ExtINT (7) on pin 0, the 8259's path. */
	vdev_testhost_clear_trace(f->th);
	program(f, 0, 7u << 8, 0);
	pin(f, 0, 1);
	assert_string_equal(trace(f), "msi 0xfee00000 0x700\n");
}

static void test_v20_eoi_register(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;

	assert_int_equal(rd(f, 0x01), 0x00170020);
	program(f, 10, 0x51 | 1u << 15, 0x0f);
	pin(f, 10, 1);
	assert_true(rd(f, 0x24) & 1u << 14);
	pin(f, 10, 0);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, BASE + 0x40, 4, 0x51), 0);
	assert_false(rd(f, 0x24) & 1u << 14);
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE + 0x40, 4, &v), 0);
	assert_int_equal(v, 0);
	assert_string_equal(trace(f), "msi 0xfee0f000 0x8051\n");
}

static void test_v11_has_no_eoi_register(void **state)
{
	struct fixture *f = *state;

	program(f, 10, 0x51 | 1u << 15, 0);
	pin(f, 10, 1);
	pin(f, 10, 0);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, BASE + 0x40, 4, 0x51), 0);
	assert_true(rd(f, 0x24) & 1u << 14);
}

static void test_reset_masks_everything(void **state)
{
	struct fixture *f = *state;

	wr(f, 0x00, 0x05000000);
	program(f, 3, 0x33 | 1u << 15, 2);
	pin(f, 3, 1);
	vdev_testhost_reset(f->dev);
	assert_int_equal(rd(f, 0x00), 0);
	assert_int_equal(rd(f, 0x16), 0x00010000);
	assert_int_equal(rd(f, 0x17), 0);
}

static void test_save_restore(void **state)
{
	struct fixture *f = *state, *g;
	uint8_t buf[4096];
	ssize_t n;

	wr(f, 0x00, 0x03000000);
	program(f, 7, 0x61 | 1u << 15, 4);
	program(f, 8, 0x62, 5);
	pin(f, 7, 1);
	assert_string_equal(trace(f), "msi 0xfee04000 0x8061\n");
	n = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n <= f->desc->state_size);

	g = fixture_new("intr apic");
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), 0);
	assert_int_equal(rd(g, 0x00), 0x03000000);
	assert_int_equal(rd(g, 0x1e), 0x61 | 1u << 14 | 1u << 15);
	assert_int_equal(rd(g, 0x1f), 0x04000000);
	assert_int_equal(rd(g, 0x20), 0x62);
	assert_string_equal(trace(g), ""); /* nothing resent on restore */
	/* The restored pin is still asserted: EOI redelivers. */
	eoi(g, 0x61);
	assert_string_equal(trace(g), "msi 0xfee04000 0x8061\n");
	/* Corrupt state is refused and changes nothing. */
	buf[n - 1] ^= 0x40;
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), -EINVAL);
	assert_int_equal(rd(g, 0x00), 0x03000000);
	teardown((void **)&g);
}

/*
 * Another plugin names the controller: the 8259 pair with `intr myioapic:0`
 * drives pin 0 through the host, as on a PC where the PIC's INTR output
 * reaches IOAPIC pin 0 (ExtINT).
 */
static void test_named_controller_from_another_vdev(void **state)
{
	struct fixture *f = *state;
	const struct vdev_descriptor *pic;
	struct vdev_testdev *pdev;
	char path[4096];
	const char *slash;

	slash = strrchr(VDEV_PLUGIN_PATH, '/');
	snprintf(path, sizeof(path), "%s/vdev-8259.so",
		 getenv("PLUGIN_DIR") ? getenv("PLUGIN_DIR") : "");
	if (!getenv("PLUGIN_DIR"))
		snprintf(path, sizeof(path), "%.*s/vdev-8259.so", (int)(slash - VDEV_PLUGIN_PATH),
			 VDEV_PLUGIN_PATH);
	if (vdev_testhost_load(f->th, path, &pic) < 0)
		skip(); /* the 8259 is someone else's target; not built here */
	pdev = vdev_testhost_create(f->th, pic, "name pic intr myioapic:0");
	if (!pdev)
		fail_msg("create 8259: %s", vdev_testhost_error(f->th));
	program(f, 0, 7u << 8, 0); /* ExtINT, edge */
	/* 8259 initialisation as a BIOS does, IR1 unmasked. */
	uint8_t seq[][2] = {{0x20, 0x11}, {0x21, 0x08}, {0x21, 0x04}, {0x21, 0x01}, {0xa0, 0x11},
			    {0xa1, 0x70}, {0xa1, 0x02}, {0xa1, 0x01}, {0x21, 0xfd}, {0xa1, 0xff}};
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		assert_int_equal(
		    vdev_testhost_write(f->th, VDEV_SPACE_PIO, seq[i][0], 1, seq[i][1]), 0);
	pic->intc->set_level(vdev_testdev_state(pdev), 1, 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "myioapic:0"), 1);
	assert_string_equal(trace(f), "myioapic:0 1\nmsi 0xfee00000 0x700\n");
	assert_int_equal(pic->intc->ack(vdev_testdev_state(pdev)), 0x09);
	assert_int_equal(vdev_testhost_line_level(f->th, "myioapic:0"), 0);
}

static void test_bad_options(void **state)
{
	struct fixture *f = *state;

	assert_null(vdev_testhost_create(f->th, f->desc, "intr apic version 0x30"));
	assert_null(vdev_testhost_create(f->th, f->desc, "intr apic hostvector 300"));
	assert_int_equal(vdev_testhost_add_intc(f->th, "pic", 16), 0);
	assert_null(vdev_testhost_create(f->th, f->desc, "intr pic:2"));
	/* The default window is taken by the fixture's instance. */
	assert_null(vdev_testhost_create(f->th, f->desc, "intr apic"));
	assert_non_null(vdev_testhost_create(f->th, f->desc, "loc mem:0xfec01000 name second"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_registers_at_power_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_id_arb_and_readonly_bits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edge_delivery_and_mask, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_level_remote_irr_and_eoi, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edge_only_delivery_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v20_eoi_register, setup_v20, teardown),
	    cmocka_unit_test_setup_teardown(test_v11_has_no_eoi_register, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_masks_everything, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_named_controller_from_another_vdev, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
