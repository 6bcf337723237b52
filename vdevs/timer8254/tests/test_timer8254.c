/*
 * vdevs/timer8254/tests/test_timer8254.c: the 8254 through the SDK test
 * host in virtual time: the command sequences of the datasheet and of PC
 * software (OS tick in mode 2, one-shot in mode 0, the TSC calibration loop
 * on channel 2, the speaker's square wave), counts read back through
 * latches and the read-back command, interrupt edges counted on "pic:0".
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

#define PIT_HZ 1193182ull

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
		snprintf(path, sizeof(path), "%s/vdev-timer8254.so", dir);
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
	*state = fixture_new("intr pic:0");
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

/* ns of clock k, as the device computes it. */
static uint64_t tick_ns(uint64_t k)
{
	return (k * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

/* Advance virtual time to exactly clock k. */
static void to_tick(struct fixture *f, uint64_t k)
{
	uint64_t at = tick_ns(k), now = vdev_testhost_now(f->th);

	assert_true(at >= now);
	vdev_testhost_advance(f->th, at - now);
}

static unsigned edges(struct fixture *f)
{
	return vdev_testhost_line_edges(f->th, "pic:0");
}

static int level(struct fixture *f)
{
	return vdev_testhost_line_level(f->th, "pic:0");
}

/* Latch channel `ch` (counter latch command) and read it LSB then MSB. */
static uint16_t latch_read(struct fixture *f, unsigned ch)
{
	uint8_t lo, hi;

	outb(f, 0x43, (uint8_t)(ch << 6));
	lo = inb(f, 0x40 + ch);
	hi = inb(f, 0x40 + ch);
	return (uint16_t)(lo | hi << 8);
}

static void test_mode2_rate_generator_period(void **state)
{
	struct fixture *f = *state;

	/* Linux/BIOS tick: channel 0, LSB then MSB, mode 2, binary; 1193 = ~1 kHz. */
	outb(f, 0x43, 0x34);
	outb(f, 0x40, 1193 & 0xff);
	outb(f, 0x40, 1193 >> 8);
	/* Mode 2 OUT is high: from the power-on low, the control word's rising
	 * edge is the first edge, as on the chip (OUT undefined, here low). */
	assert_int_equal(level(f), 1);
	assert_int_equal(edges(f), 1);
	vdev_testhost_clear_trace(f->th);
	/* Loaded on clock 1, OUT low on clock 1193, rises on clock 1194. */
	to_tick(f, 1193);
	assert_int_equal(edges(f), 1);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	assert_int_equal(latch_read(f, 0), 1);
	to_tick(f, 1194);
	assert_int_equal(edges(f), 2);
	assert_string_equal(vdev_testhost_trace(f->th), "pic:0 0\npic:0 1\n");
	assert_int_equal(latch_read(f, 0), 1193);
	/* 10 ms more: exactly ten periods of 1193 clocks. */
	to_tick(f, 1194 + 10 * 1193 - 1);
	assert_int_equal(edges(f), 11);
	to_tick(f, 1194 + 10 * 1193);
	assert_int_equal(edges(f), 12);
	assert_int_equal(level(f), 1);
	/* A new count takes effect at the end of the current period. */
	to_tick(f, 1194 + 10 * 1193 + 100);
	outb(f, 0x40, 100);
	outb(f, 0x40, 0);
	to_tick(f, 1194 + 11 * 1193 - 1);
	assert_int_equal(edges(f), 12);
	to_tick(f, 1194 + 11 * 1193);
	assert_int_equal(edges(f), 13);
	to_tick(f, 1194 + 11 * 1193 + 100);
	assert_int_equal(edges(f), 14);
	to_tick(f, 1194 + 11 * 1193 + 1000);
	assert_int_equal(edges(f), 23);
}

static void test_mode0_one_shot(void **state)
{
	struct fixture *f = *state;

	/* Mode 0: OUT low after the control word; high N+1 clocks after the write. */
	outb(f, 0x43, 0x30);
	assert_int_equal(level(f), 0);
	to_tick(f, 10);
	outb(f, 0x40, 100);
	outb(f, 0x40, 0);
	to_tick(f, 60);
	assert_int_equal(latch_read(f, 0), 100 - (60 - 11));
	to_tick(f, 110);
	assert_int_equal(level(f), 0);
	assert_int_equal(edges(f), 0);
	to_tick(f, 111);
	assert_int_equal(edges(f), 1);
	assert_int_equal(level(f), 1);
	/* The counter wraps and keeps counting; OUT stays high, no more edges. */
	to_tick(f, 111 + 5);
	assert_int_equal(latch_read(f, 0), 0x10000 - 5);
	vdev_testhost_advance(f->th, 1000000000ull);
	assert_int_equal(edges(f), 1);
	assert_int_equal(level(f), 1);
	/* Rewriting the count restarts the one-shot: OUT drops at once. */
	outb(f, 0x40, 10);
	assert_int_equal(level(f), 0); /* first byte of two: counting stops */
	outb(f, 0x40, 0);
	vdev_testhost_advance(f->th, tick_ns(12));
	assert_int_equal(edges(f), 2);
}

static void test_latch_and_access_modes(void **state)
{
	struct fixture *f = *state;

	/* Channel 1, LSB only, mode 2: count 0x80. */
	outb(f, 0x43, 0x54);
	outb(f, 0x41, 0x80);
	to_tick(f, 0x11);
	assert_int_equal(inb(f, 0x41), 0x80 - 0x10);
	/* MSB only, mode 2, count 0x0200 (written as 0x02). */
	outb(f, 0x43, 0x64);
	outb(f, 0x41, 0x02);
	to_tick(f, 0x11 + 1 + 0x100);
	assert_int_equal(inb(f, 0x41), 0x01);
	/* A latched value holds while time passes; a second latch is ignored. */
	outb(f, 0x43, 0x74);
	outb(f, 0x41, 0x34);
	outb(f, 0x41, 0x12);
	to_tick(f, 0x200);
	outb(f, 0x43, 0x40);
	to_tick(f, 0x280);
	outb(f, 0x43, 0x40);
	uint16_t v = inb(f, 0x41);

	v |= (uint16_t)(inb(f, 0x41) << 8);
	/* Loaded on the clock after the write at tick 0x112, i.e. 0x113. */
	assert_int_equal(v, 0x1234 - (0x200 - 0x113));
	/* The latch is released: the next read sees the live counter. */
	v = inb(f, 0x41);
	v |= (uint16_t)(inb(f, 0x41) << 8);
	assert_int_equal(v, 0x1234 - (0x280 - 0x113));
	/* The control word register reads 0. */
	assert_int_equal(inb(f, 0x43), 0);
}

static void test_read_back_status_and_null_count(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x43, 0x34);
	outb(f, 0x43, 0xe2); /* read-back: status of counter 0 */
	/* OUT high (mode 2), null count (no count yet), RW 3, mode 2, binary. */
	assert_int_equal(inb(f, 0x40), 0xf4);
	outb(f, 0x40, 0x00);
	outb(f, 0x40, 0x10);
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40), 0xf4); /* written, not yet loaded */
	to_tick(f, 1);
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40), 0xb4); /* loaded: null count clear */
	/* Count and status together: status first, then the count. */
	to_tick(f, 0x11);
	outb(f, 0x43, 0xc2);
	assert_int_equal(inb(f, 0x40), 0xb4);
	assert_int_equal(inb(f, 0x40), 0xf0);
	assert_int_equal(inb(f, 0x40), 0x0f);
	/* Mode 0 just programmed: OUT low, null count, mode 0. */
	outb(f, 0x43, 0xb0);
	outb(f, 0x43, 0xe8);
	assert_int_equal(inb(f, 0x42), 0x70);
	/* BCD in mode 0: 0100 counts 100 decimal. */
	outb(f, 0x43, 0x31);
	to_tick(f, 0x20);
	outb(f, 0x40, 0x00);
	outb(f, 0x40, 0x01);
	to_tick(f, 0x20 + 11);
	assert_int_equal(latch_read(f, 0), 0x0090);
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40), 0x31);
}

/* The TSC calibration loop of Linux and the BIOS beep, on channel 2. */
static void test_channel2_gate_and_port61(void **state)
{
	struct fixture *f = *state;
	unsigned polls = 0;
	uint8_t b;

	/* Gate off: mode 0 programmed, count does not run. */
	outb(f, 0x61, (inb(f, 0x61) & ~0x03) | 0x00);
	outb(f, 0x43, 0xb0);
	outb(f, 0x42, 0xff & 1000);
	outb(f, 0x42, 1000 >> 8);
	vdev_testhost_advance(f->th, 10000000);
	assert_false(inb(f, 0x61) & 0x20);
	assert_int_equal(latch_read(f, 2), 1000);
	/* Gate on: counts; OUT2 (bit 5) rises after the count. */
	outb(f, 0x61, 0x01);
	while (!(inb(f, 0x61) & 0x20)) {
		vdev_testhost_advance(f->th, 10000); /* 10 us */
		polls++;
		assert_true(polls < 1000);
	}
	/* 1001 clocks = 838.9 us: the 84th poll of 10 us sees it. */
	assert_int_equal(polls, 84);
	assert_int_equal(edges(f), 0); /* channel 2 drives no interrupt */
	/* Gate low in mode 0 freezes the counter. */
	outb(f, 0x43, 0xb0);
	outb(f, 0x42, 0x00);
	outb(f, 0x42, 0x10);
	vdev_testhost_advance(f->th, tick_ns(101));
	outb(f, 0x61, 0x00);
	uint16_t frozen = latch_read(f, 2);

	vdev_testhost_advance(f->th, 5000000);
	assert_int_equal(latch_read(f, 2), frozen);
	assert_true(frozen < 0x1000 && frozen > 0x1000 - 110);
	/* Speaker: mode 3, 1193 Hz square wave; OUT2 high half, low half. */
	outb(f, 0x43, 0xb6);
	outb(f, 0x42, 1000 & 0xff);
	outb(f, 0x42, 1000 >> 8);
	outb(f, 0x61, 0x03);
	b = inb(f, 0x61);
	assert_int_equal(b & 0x0f, 0x03);
	assert_true(b & 0x20); /* mode 3 OUT is high */
	uint64_t t0 = vdev_testhost_now(f->th);
	uint64_t k0 = t0 * PIT_HZ / 1000000000ull; /* the clock of the gate rise */

	to_tick(f, k0 + 1 + 499);
	assert_true(inb(f, 0x61) & 0x20);
	to_tick(f, k0 + 1 + 500);
	assert_false(inb(f, 0x61) & 0x20);
	to_tick(f, k0 + 1 + 999);
	assert_false(inb(f, 0x61) & 0x20);
	to_tick(f, k0 + 1 + 1000);
	assert_true(inb(f, 0x61) & 0x20);
	/* Gate low forces OUT high in mode 3. */
	to_tick(f, k0 + 1 + 1600);
	outb(f, 0x61, 0x02);
	assert_true(inb(f, 0x61) & 0x20);
	assert_true(strstr(vdev_testhost_log(f->th), "speaker on, mode 3, 1193 Hz") != NULL);
}

static void test_refresh_toggle(void **state)
{
	struct fixture *f = *state;
	uint8_t a, b;

	a = inb(f, 0x61) & 0x10;
	vdev_testhost_advance(f->th, 15085);
	b = inb(f, 0x61) & 0x10;
	assert_int_not_equal(a, b);
	vdev_testhost_advance(f->th, 15085);
	assert_int_equal(inb(f, 0x61) & 0x10, a);
	assert_int_equal(inb(f, 0x61) & 0xc0, 0);
}

static void test_mode4_strobe_and_mode1_needs_gate(void **state)
{
	struct fixture *f = *state;

	/* Mode 4 on channel 0: OUT high, low one clock at terminal count. */
	outb(f, 0x43, 0x38);
	outb(f, 0x40, 50);
	outb(f, 0x40, 0);
	assert_int_equal(edges(f), 1); /* the control word raised OUT */
	to_tick(f, 51);
	assert_int_equal(edges(f), 1);
	to_tick(f, 52);
	assert_int_equal(edges(f), 2);
	vdev_testhost_advance(f->th, 100000000);
	assert_int_equal(edges(f), 2);
	/* Mode 1 on channel 2: nothing until the gate rises. */
	outb(f, 0x43, 0xb2);
	outb(f, 0x42, 20);
	outb(f, 0x42, 0);
	assert_true(inb(f, 0x61) & 0x20);
	vdev_testhost_advance(f->th, 1000000);
	assert_true(inb(f, 0x61) & 0x20);
	uint64_t k = vdev_testhost_now(f->th) * PIT_HZ / 1000000000ull;

	outb(f, 0x61, 0x01); /* trigger */
	to_tick(f, k + 1);
	assert_false(inb(f, 0x61) & 0x20);
	to_tick(f, k + 20);
	assert_false(inb(f, 0x61) & 0x20);
	to_tick(f, k + 21);
	assert_true(inb(f, 0x61) & 0x20);
}

static void test_reset_and_save_restore(void **state)
{
	struct fixture *f = *state, *g;
	uint8_t buf[1024];
	ssize_t n;

	outb(f, 0x43, 0x34);
	outb(f, 0x40, 0xe8);
	outb(f, 0x40, 0x03); /* 1000 */
	to_tick(f, 1 + 1000 * 3 + 250);
	assert_int_equal(edges(f), 1 + 3);
	n = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n <= f->desc->state_size);

	/* Another host, whose clock is elsewhere: the count continues. */
	g = fixture_new("intr pic:0");
	vdev_testhost_advance(g->th, 123456789);
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), 0);
	assert_int_equal(latch_read(g, 0), 1000 - 250);
	uint64_t k = vdev_testhost_now(g->th) * PIT_HZ / 1000000000ull;

	assert_int_equal(level(g), 1); /* the restored OUT */
	to_tick(g, k + 749);
	assert_int_equal(edges(g), 1);
	to_tick(g, k + 750);
	assert_int_equal(edges(g), 2);
	to_tick(g, k + 750 + 1000);
	assert_int_equal(edges(g), 3);
	/* Garbage is refused and changes nothing. */
	buf[n / 2] ^= 1;
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), -EINVAL);
	to_tick(g, k + 750 + 2000);
	assert_int_equal(edges(g), 4);
	teardown((void **)&g);

	/* Reset: idle, line low, no more interrupts. */
	vdev_testhost_reset(f->dev);
	assert_int_equal(level(f), 0);
	vdev_testhost_advance(f->th, 100000000);
	assert_int_equal(edges(f), 4);
	outb(f, 0x43, 0xe2);
	assert_int_equal(inb(f, 0x40) & 0x4e, 0x40); /* mode 0, null count */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_mode2_rate_generator_period, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mode0_one_shot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_latch_and_access_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_back_status_and_null_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_channel2_gate_and_port61, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_toggle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mode4_strobe_and_mode1_needs_gate, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reset_and_save_restore, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
