/*
 * vdevs/pckeyboard/tests/test_pckeyboard.c: the 8042 through the SDK test
 * host with the sequences BIOSes and kernels use: self tests, the command
 * byte, A20 through the output port, the keyboard's reset and identify,
 * reboot with 0xfe, and IRQ1/IRQ12 following the output buffer.
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

static struct fixture *fixture_new(const char *options)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	if (dir)
		snprintf(path, sizeof(path), "%s/vdev-pckeyboard.so", dir);
	else
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
	assert_int_equal(vdev_testhost_add_intc(f->th, "pic", 16), 0);
	f->dev = vdev_testhost_create(f->th, f->desc, options);
	if (!f->dev)
		fail_msg("create: %s", vdev_testhost_error(f->th));
	return f;
}

static int setup(void **state)
{
	*state = fixture_new("intr pic:1 intr pic:12");
	return 0;
}

static int setup_restart(void **state)
{
	*state = fixture_new("reset-action restart");
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

/* A controller command with one result byte, read the way drivers do. */
static uint8_t ctl_read(struct fixture *f, uint8_t cmd)
{
	outb(f, 0x64, cmd);
	assert_true(inb(f, 0x64) & 0x01);
	return inb(f, 0x60);
}

static int irq(struct fixture *f, const char *line)
{
	return vdev_testhost_line_level(f->th, line);
}

static void test_power_on_and_self_tests(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inb(f, 0x64), 0x10); /* not inhibited, empty */
	outb(f, 0x64, 0x20);
	assert_int_equal(inb(f, 0x64), 0x10 | 0x08 | 0x01);
	assert_int_equal(irq(f, "pic:1"), 1);
	assert_int_equal(inb(f, 0x60), 0x03);
	assert_int_equal(irq(f, "pic:1"), 0);
	assert_int_equal(inb(f, 0x64) & 0x01, 0);
	assert_int_equal(ctl_read(f, 0xaa), 0x55);
	assert_true(inb(f, 0x64) & 0x04); /* SYS after the self test */
	assert_int_equal(ctl_read(f, 0xab), 0x00);
	assert_int_equal(ctl_read(f, 0xa9), 0x00);
	assert_int_equal(ctl_read(f, 0xc0), 0x80);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:1"), 5);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:12"), 0);
	assert_int_equal(vdev_testhost_terminated(f->th), -1);
}

static void test_command_byte_and_irq_enable(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x64, 0x60);
	outb(f, 0x60, 0x64); /* translate, keyboard disabled, SYS, no IRQs */
	assert_int_equal(inb(f, 0x64) & 0x0c, 0x04); /* SYS; last write was data */
	outb(f, 0x64, 0x20);
	assert_int_equal(irq(f, "pic:1"), 0); /* IRQ1 disabled: OBF only */
	assert_true(inb(f, 0x64) & 0x01);
	assert_int_equal(inb(f, 0x60), 0x64);
	outb(f, 0x64, 0xae); /* enable keyboard */
	outb(f, 0x64, 0xa7); /* disable mouse */
	assert_int_equal(ctl_read(f, 0x20), 0x44 | 0x20);
	/* Controller RAM beyond the command byte. */
	outb(f, 0x64, 0x65);
	outb(f, 0x60, 0x99);
	assert_int_equal(ctl_read(f, 0x25), 0x99);
	/* Reading 0x60 with nothing queued gives the last byte again. */
	assert_int_equal(inb(f, 0x60), 0x99);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:1"), 0);
}

static void test_a20_and_output_port(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ctl_read(f, 0xd0), 0x03); /* running, A20 on */
	outb(f, 0x64, 0xdd);
	assert_int_equal(ctl_read(f, 0xd0), 0x01);
	outb(f, 0x64, 0xdf);
	assert_int_equal(ctl_read(f, 0xd0), 0x03);
	/* The classic sequence: 0xd1, then 0xdd (A20 off) / 0xdf (on). */
	outb(f, 0x64, 0xd1);
	outb(f, 0x60, 0xdd);
	assert_int_equal(ctl_read(f, 0xd0), 0xdd);
	outb(f, 0x64, 0xd1);
	outb(f, 0x60, 0xdf);
	assert_int_equal(ctl_read(f, 0xd0), 0xdf);
	assert_int_equal(vdev_testhost_terminated(f->th), -1);
	/* Writing the output port with bit 0 clear resets the CPU. */
	outb(f, 0x64, 0xd1);
	outb(f, 0x60, 0xde);
	assert_int_equal(vdev_testhost_terminated(f->th), 0);
}

static void test_reset_command_ends_vm(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x64, 0xff); /* pulse nothing */
	outb(f, 0x64, 0xfd); /* pulse bit 1 only */
	assert_int_equal(vdev_testhost_terminated(f->th), -1);
	outb(f, 0x64, 0xfe);
	assert_int_equal(vdev_testhost_terminated(f->th), 0);
	assert_non_null(
	    strstr(vdev_testhost_log(f->th), "guest reset (command 0xfe): ending the VM"));
}

/* restart: the host's reboot (ABI 1.2), once, and the VM is not terminated */
static void test_restart_is_a_reboot(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_clear_trace(f->th);
	outb(f, 0x64, 0xfe);
	outb(f, 0x64, 0xfe);
	assert_int_equal(vdev_testhost_terminated(f->th), -1);
	assert_string_equal(vdev_testhost_trace(f->th), "shutdown reboot\n");
	assert_non_null(strstr(vdev_testhost_log(f->th), "guest reset (command 0xfe): reboot"));
}

static void test_keyboard_commands(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x60, 0xff); /* keyboard reset */
	assert_int_equal(irq(f, "pic:1"), 1);
	assert_int_equal(inb(f, 0x60), 0xfa);
	assert_int_equal(irq(f, "pic:1"), 1); /* the next byte, a new edge */
	assert_string_equal(vdev_testhost_trace(f->th), "pic:1 1\npic:1 0\npic:1 1\n");
	assert_int_equal(inb(f, 0x60), 0xaa);
	assert_int_equal(irq(f, "pic:1"), 0);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:1"), 2);
	/* Identify, untranslated then translated. */
	outb(f, 0x60, 0xf2);
	assert_int_equal(inb(f, 0x60), 0xfa);
	assert_int_equal(inb(f, 0x60), 0xab);
	assert_int_equal(inb(f, 0x60), 0x83);
	outb(f, 0x64, 0x60);
	outb(f, 0x60, 0x43);
	outb(f, 0x60, 0xf2);
	assert_int_equal(inb(f, 0x60), 0xfa);
	assert_int_equal(inb(f, 0x60), 0xab);
	assert_int_equal(inb(f, 0x60), 0x41);
	/* LEDs take an argument: two ACKs. Echo. Unknown: resend. */
	outb(f, 0x60, 0xed);
	outb(f, 0x60, 0x07);
	assert_int_equal(inb(f, 0x60), 0xfa);
	assert_int_equal(inb(f, 0x60), 0xfa);
	outb(f, 0x60, 0xee);
	assert_int_equal(inb(f, 0x60), 0xee);
	outb(f, 0x60, 0x12);
	assert_int_equal(inb(f, 0x60), 0xfe);
	assert_int_equal(inb(f, 0x64) & 0x01, 0);
}

static void test_mouse_buffer_and_irq12(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x64, 0xd3);
	outb(f, 0x60, 0x5a);
	assert_int_equal(inb(f, 0x64) & 0x21, 0x21);
	assert_int_equal(irq(f, "pic:12"), 1);
	assert_int_equal(irq(f, "pic:1"), 0);
	assert_int_equal(inb(f, 0x60), 0x5a);
	assert_int_equal(irq(f, "pic:12"), 0);
	/* 0xd2: as if the keyboard sent it. */
	outb(f, 0x64, 0xd2);
	outb(f, 0x60, 0x1c);
	assert_int_equal(inb(f, 0x64) & 0x21, 0x01);
	assert_int_equal(irq(f, "pic:1"), 1);
	assert_int_equal(inb(f, 0x60), 0x1c);
	/* 0xd4: no mouse answers. */
	outb(f, 0x64, 0xd4);
	outb(f, 0x60, 0xf2);
	assert_int_equal(inb(f, 0x64) & 0x01, 0);
}

static void test_reset_and_save_restore(void **state)
{
	struct fixture *f = *state, *g;
	uint8_t buf[512];
	ssize_t n;

	outb(f, 0x64, 0xdd);
	outb(f, 0x60, 0xf2); /* three bytes queued */
	assert_int_equal(inb(f, 0x60), 0xfa);
	n = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n <= f->desc->state_size);
	g = fixture_new("intr pic:1");
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), 0);
	assert_int_equal(irq(g, "pic:1"), 1);
	assert_int_equal(inb(g, 0x60), 0xab);
	assert_int_equal(inb(g, 0x60), 0x83);
	assert_int_equal(ctl_read(g, 0xd0), 0x01);
	buf[10] ^= 0xff;
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), -EINVAL);
	teardown((void **)&g);

	vdev_testhost_reset(f->dev);
	assert_int_equal(irq(f, "pic:1"), 0);
	assert_int_equal(inb(f, 0x64), 0x10);
	assert_int_equal(ctl_read(f, 0xd0), 0x03);
	assert_int_equal(ctl_read(f, 0x20), 0x03);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_power_on_and_self_tests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_command_byte_and_irq_enable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a20_and_output_port, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_command_ends_vm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_is_a_reboot, setup_restart, teardown),
	    cmocka_unit_test_setup_teardown(test_keyboard_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mouse_buffer_and_irq12, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_and_save_restore, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
