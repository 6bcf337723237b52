/*
 * vdevs/8259/tests/test_8259.c: the 8259A pair through the SDK test host,
 * driven with the datasheet's command sequences (as a PC BIOS and OS do).
 * Input lines are driven and INTA cycles made through the plugin's intc ops,
 * exactly as a host does; the CPU output is a recording line "cpu:0".
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
	struct vdev_testdev *dev;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	if (dir)
		snprintf(path, sizeof(path), "%s/vdev-8259.so", dir);
	else
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
	assert_non_null(f->desc->intc);
	assert_int_equal(vdev_testhost_add_intc(f->th, "cpu", 1), 0);
	f->dev = vdev_testhost_create(f->th, f->desc, "name pic intr cpu:0");
	if (!f->dev)
		fail_msg("create: %s", vdev_testhost_error(f->th));
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

static void outb(struct fixture *f, uint16_t port, uint8_t value)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PIO, port, 1, value), 0);
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
	uint64_t value = ~0ull;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PIO, port, 1, &value), 0);
	assert_true(value <= 0xff);
	return (uint8_t)value;
}

static void irq(struct fixture *f, unsigned line, int level)
{
	f->desc->intc->set_level(vdev_testdev_state(f->dev), line, level);
}

static int ack(struct fixture *f)
{
	return f->desc->intc->ack(vdev_testdev_state(f->dev));
}

static int cpu(struct fixture *f)
{
	return vdev_testhost_line_level(f->th, "cpu:0");
}

/* The PC BIOS sequence: vectors 0x20 and 0x28, slave on IR2, 8086 mode. */
static void bios_init(struct fixture *f)
{
	outb(f, 0x20, 0x11);
	outb(f, 0x21, 0x20);
	outb(f, 0x21, 0x04);
	outb(f, 0x21, 0x01);
	outb(f, 0xa0, 0x11);
	outb(f, 0xa1, 0x28);
	outb(f, 0xa1, 0x02);
	outb(f, 0xa1, 0x01);
	outb(f, 0x21, 0x00);
	outb(f, 0xa1, 0x00);
}

static uint8_t read_isr(struct fixture *f, uint16_t port)
{
	uint8_t v;

	outb(f, port, 0x0b);
	v = inb(f, port);
	outb(f, port, 0x0a);
	return v;
}

static void test_init_and_register_reads(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->desc->intc->line_count(vdev_testdev_state(f->dev)), 16);
	bios_init(f);
	assert_int_equal(inb(f, 0x21), 0x00);
	assert_int_equal(inb(f, 0xa1), 0x00);
	outb(f, 0x21, 0xfb);
	outb(f, 0xa1, 0xff);
	assert_int_equal(inb(f, 0x21), 0xfb);
	assert_int_equal(inb(f, 0xa1), 0xff);
	/* Masked requests show in IRR but do not reach the CPU. */
	irq(f, 3, 1);
	irq(f, 14, 1);
	assert_int_equal(inb(f, 0x20), 0x08); /* IRR after init */
	assert_int_equal(inb(f, 0xa0), 0x40);
	assert_int_equal(cpu(f), 0);
	outb(f, 0x20, 0x0b); /* OCW3: read ISR */
	assert_int_equal(inb(f, 0x20), 0x00);
	outb(f, 0x20, 0x0a); /* OCW3: read IRR */
	assert_int_equal(inb(f, 0x20), 0x08);
	/* Unmasking IR3 raises INT. */
	outb(f, 0x21, 0xf3);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x23);
	assert_int_equal(cpu(f), 0);
	assert_int_equal(read_isr(f, 0x20), 0x08);
	assert_int_equal(inb(f, 0x20), 0x00); /* the edge latch was consumed */
	/* A second ICW1 clears IMR and ISR. */
	outb(f, 0x20, 0x11);
	assert_int_equal(inb(f, 0x21), 0x00);
	assert_int_equal(read_isr(f, 0x20), 0x00);
}

static void test_priority_nesting_and_eoi(void **state)
{
	struct fixture *f = *state;

	bios_init(f);
	vdev_testhost_clear_trace(f->th);
	irq(f, 5, 1);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x25);
	assert_int_equal(cpu(f), 0);
	/* A higher priority request nests. */
	irq(f, 3, 1);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x23);
	assert_int_equal(read_isr(f, 0x20), 0x28);
	/* A lower one waits behind both. */
	irq(f, 6, 1);
	assert_int_equal(cpu(f), 0);
	outb(f, 0x20, 0x20); /* non-specific EOI: the highest, IR3 */
	assert_int_equal(read_isr(f, 0x20), 0x20);
	assert_int_equal(cpu(f), 0);
	outb(f, 0x20, 0x65); /* specific EOI for IR5 */
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x26);
	outb(f, 0x20, 0x66);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(cpu(f), 0);
	assert_string_equal(vdev_testhost_trace(f->th),
			    "cpu:0 1\ncpu:0 0\ncpu:0 1\ncpu:0 0\ncpu:0 1\ncpu:0 0\n");
	/* Nothing pending: an INTA gets the spurious vector, ISR untouched. */
	assert_int_equal(ack(f), 0x27);
	assert_int_equal(read_isr(f, 0x20), 0x00);
}

static void test_slave_cascade(void **state)
{
	struct fixture *f = *state;

	bios_init(f);
	irq(f, 12, 1);
	assert_int_equal(inb(f, 0xa0), 0x10);
	assert_int_equal(inb(f, 0x20), 0x04); /* the cascade request */
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x2c);
	assert_int_equal(cpu(f), 0);
	assert_int_equal(read_isr(f, 0x20), 0x04);
	assert_int_equal(read_isr(f, 0xa0), 0x10);
	/* IR1 of the master outranks the whole slave; IR4 does not. */
	irq(f, 4, 1);
	assert_int_equal(cpu(f), 0);
	irq(f, 1, 1);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x21);
	outb(f, 0x20, 0x20); /* EOI IR1 */
	outb(f, 0xa0, 0x20); /* EOI slave IR4 */
	outb(f, 0x20, 0x20); /* EOI cascade */
	assert_int_equal(read_isr(f, 0xa0), 0x00);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x24);
	outb(f, 0x20, 0x20);
	/* The ISA bus's IRQ2 pin is IRQ 9 on an AT. */
	irq(f, 2, 1);
	assert_int_equal(ack(f), 0x29);
	/* Masking the slave's line hides the whole slave. */
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	irq(f, 15, 1);
	outb(f, 0x21, 0x04);
	assert_int_equal(cpu(f), 0);
	outb(f, 0x21, 0x00);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x2f);
}

static void test_level_and_edge_with_elcr(void **state)
{
	struct fixture *f = *state;

	bios_init(f);
	outb(f, 0x4d0, 0xff);
	outb(f, 0x4d1, 0xff);
	assert_int_equal(inb(f, 0x4d0), 0xf8); /* IRQ 0-2 are always edge */
	assert_int_equal(inb(f, 0x4d1), 0xde); /* IRQ 8 and 13 too */
	outb(f, 0x4d0, 0x00);
	outb(f, 0x4d1, 0x08); /* IRQ 11 level */
	/* Level: still high after EOI means another interrupt. */
	irq(f, 11, 1);
	assert_int_equal(ack(f), 0x2b);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x2b);
	irq(f, 11, 0);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	assert_int_equal(cpu(f), 0);
	assert_int_equal(inb(f, 0xa0), 0x00);
	/* Edge: one interrupt per rising edge, held until acknowledged. */
	irq(f, 10, 1);
	assert_int_equal(ack(f), 0x2a);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	assert_int_equal(cpu(f), 0);
	irq(f, 10, 0);
	irq(f, 10, 1);
	irq(f, 10, 0); /* a pulse is latched */
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x2a);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	assert_int_equal(cpu(f), 0);
	assert_int_equal(vdev_testhost_line_edges(f->th, "cpu:0"), 4);
}

static void test_spurious_when_level_request_vanishes(void **state)
{
	struct fixture *f = *state;

	bios_init(f);
	outb(f, 0x4d0, 0x20); /* IRQ 5 level */
	vdev_testhost_clear_trace(f->th);
	irq(f, 5, 1);
	irq(f, 5, 0);
	assert_string_equal(vdev_testhost_trace(f->th), "cpu:0 1\ncpu:0 0\n");
	assert_int_equal(ack(f), 0x27); /* spurious IRQ 7 */
	assert_int_equal(read_isr(f, 0x20), 0x00);
	/* A real IRQ 7 is told apart by its ISR bit. */
	irq(f, 7, 1);
	assert_int_equal(ack(f), 0x27);
	assert_int_equal(read_isr(f, 0x20), 0x80);
}

static void test_poll_mode(void **state)
{
	struct fixture *f = *state;

	bios_init(f);
	outb(f, 0x21, 0xff);
	outb(f, 0x20, 0x0c); /* poll with nothing pending */
	assert_int_equal(inb(f, 0x20), 0x00);
	/* Poll works with interrupts masked at the CPU, not at the PIC. */
	outb(f, 0x21, 0x00);
	irq(f, 6, 1);
	irq(f, 4, 1);
	outb(f, 0x20, 0x0c);
	assert_int_equal(inb(f, 0x20), 0x84);
	assert_int_equal(read_isr(f, 0x20), 0x10);
	/* The poll was a one-shot: a read now gives IRR again. */
	assert_int_equal(inb(f, 0x20), 0x40);
	outb(f, 0x20, 0x20);
	outb(f, 0x20, 0x0c);
	assert_int_equal(inb(f, 0x21), 0x86); /* either port answers a poll */
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;

	bios_init(f);
	irq(f, 3, 1);
	irq(f, 5, 1);
	assert_int_equal(ack(f), 0x23);
	outb(f, 0x20, 0xa0); /* rotate on non-specific EOI: IR3 now lowest */
	irq(f, 3, 0);
	irq(f, 3, 1);
	assert_int_equal(ack(f), 0x25); /* 5 outranks 3 */
	outb(f, 0x20, 0xe5);		/* rotate on specific EOI: IR5 lowest */
	assert_int_equal(ack(f), 0x23);
	outb(f, 0x20, 0x20);
	/* Set priority: IR7 lowest again, as after init. */
	outb(f, 0x20, 0xc7);
	irq(f, 3, 0);
	irq(f, 5, 0);
	irq(f, 6, 1);
	irq(f, 1, 1);
	assert_int_equal(ack(f), 0x21);
	outb(f, 0x20, 0x20);
	assert_int_equal(ack(f), 0x26);
	outb(f, 0x20, 0x20);
}

static void test_auto_eoi_and_rotation(void **state)
{
	struct fixture *f = *state;

	bios_init(f);
	outb(f, 0x20, 0x11);
	outb(f, 0x21, 0x20);
	outb(f, 0x21, 0x04);
	outb(f, 0x21, 0x03); /* AEOI */
	irq(f, 4, 1);
	assert_int_equal(ack(f), 0x24);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	/* Rotate in AEOI mode: the served level becomes the lowest. */
	outb(f, 0x20, 0x80);
	irq(f, 4, 0);
	irq(f, 4, 1);
	irq(f, 6, 1);
	assert_int_equal(ack(f), 0x24);
	irq(f, 4, 0);
	irq(f, 4, 1);
	assert_int_equal(ack(f), 0x26);
	assert_int_equal(ack(f), 0x24);
}

static void test_special_mask_mode(void **state)
{
	struct fixture *f = *state;

	bios_init(f);
	irq(f, 5, 1);
	assert_int_equal(ack(f), 0x25);
	irq(f, 6, 1);
	assert_int_equal(cpu(f), 0);
	outb(f, 0x21, 0x20); /* mask IR5 */
	assert_int_equal(cpu(f), 0);
	outb(f, 0x20, 0x68); /* set special mask: in-service IR5 stops blocking */
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x26);
	outb(f, 0x20, 0x66);
	outb(f, 0x20, 0x48); /* reset special mask */
	irq(f, 7, 1);
	assert_int_equal(cpu(f), 0);
	outb(f, 0x20, 0x65);
	assert_int_equal(cpu(f), 1);
}

static void test_save_restore_and_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t saved[512], again[512], fresh[512];
	ssize_t n, n2, nf;

	nf = vdev_testhost_save(f->dev, fresh, sizeof(fresh));
	assert_true(nf > 0 && (size_t)nf <= f->desc->state_size);
	bios_init(f);
	outb(f, 0x4d1, 0x08);
	outb(f, 0x21, 0x10);
	irq(f, 1, 1);
	assert_int_equal(ack(f), 0x21);
	irq(f, 11, 1); /* behind IR1 in service */
	irq(f, 4, 1);  /* masked, pending */
	assert_int_equal(cpu(f), 0);
	n = vdev_testhost_save(f->dev, saved, sizeof(saved));
	assert_true(n > 0 && (size_t)n <= f->desc->state_size);

	vdev_testhost_reset(f->dev);
	assert_int_equal(cpu(f), 0);
	assert_int_equal(inb(f, 0x21), 0x00);
	assert_int_equal(inb(f, 0x4d1), 0x00);
	assert_int_equal(read_isr(f, 0x20), 0x00);

	/* Garbage changes nothing. */
	memcpy(again, saved, (size_t)n);
	again[n / 2] ^= 0x01;
	assert_int_equal(vdev_testhost_restore(f->dev, again, (size_t)n), -EINVAL);
	assert_int_equal(vdev_testhost_restore(f->dev, saved, 10), -EINVAL);
	assert_int_equal(vdev_testhost_restore(f->dev, "", 0), -EINVAL);
	assert_int_equal(inb(f, 0x4d1), 0x00);

	assert_int_equal(vdev_testhost_restore(f->dev, saved, (size_t)n), 0);
	n2 = vdev_testhost_save(f->dev, again, sizeof(again));
	assert_int_equal(n2, n);
	assert_memory_equal(saved, again, (size_t)n);
	/* The restored machine carries on: IR1 in service, slave IR11 next. */
	assert_int_equal(inb(f, 0x21), 0x10);
	assert_int_equal(cpu(f), 0);
	outb(f, 0x20, 0x20);
	assert_int_equal(cpu(f), 1);
	assert_int_equal(ack(f), 0x2b);
	(void)nf;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_and_register_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_priority_nesting_and_eoi, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slave_cascade, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_level_and_edge_with_elcr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spurious_when_level_request_vanishes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_poll_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auto_eoi_and_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_special_mask_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore_and_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
