/*
 * vdevs/mc146818/tests/test_mc146818.c: the MC146818A RTC through the SDK
 * test host in virtual time: the date rolling over a leap day, BCD/binary
 * and 12/24-hour encodings, setting the clock with SET, UIP, the divider,
 * periodic / update-ended / alarm interrupts counted as an interrupt
 * handler would (read register C on every IRQ 8), and the CMOS bytes.
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

#define START "time \"2024-02-29 23:59:58\""

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
		snprintf(path, sizeof(path), "%s/vdev-mc146818.so", dir);
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
	*state = fixture_new(START " intr pic:8 ram-size 512M");
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

static uint8_t cmos(struct fixture *f, uint8_t index)
{
	outb(f, 0x70, index);
	return inb(f, 0x71);
}

static void cmos_set(struct fixture *f, uint8_t index, uint8_t value)
{
	outb(f, 0x70, index);
	outb(f, 0x71, value);
}

static void advance_ms(struct fixture *f, uint64_t ms)
{
	vdev_testhost_advance(f->th, ms * 1000000ull);
}

static int irq8(struct fixture *f)
{
	return vdev_testhost_line_level(f->th, "pic:8");
}

/*
 * run_isr: advance `ns` in steps, reading register C (as an IRQ 8 handler
 * does) whenever the line is up; returns how many interrupts were handled
 * and ORs the C values into *seen.
 */
static unsigned run_isr(struct fixture *f, uint64_t ns, uint64_t step, uint8_t *seen)
{
	unsigned n = 0;

	for (uint64_t t = 0; t < ns; t += step) {
		vdev_testhost_advance(f->th, step);
		if (irq8(f) == 1) {
			uint8_t c = cmos(f, 0x0c);

			assert_true(c & 0x80);
			*seen |= c;
			n++;
			assert_int_equal(irq8(f), 0);
		}
	}
	return n;
}

static void test_time_date_and_rollover(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos(f, 0x00), 0x58);
	assert_int_equal(cmos(f, 0x02), 0x59);
	assert_int_equal(cmos(f, 0x04), 0x23);
	assert_int_equal(cmos(f, 0x06), 5); /* Thursday (Sunday = 1) */
	assert_int_equal(cmos(f, 0x07), 0x29);
	assert_int_equal(cmos(f, 0x08), 0x02);
	assert_int_equal(cmos(f, 0x09), 0x24);
	assert_int_equal(cmos(f, 0x32), 0x20);
	assert_int_equal(cmos(f, 0x0a), 0x26);
	assert_int_equal(cmos(f, 0x0b), 0x02);
	assert_int_equal(cmos(f, 0x0d), 0x80); /* VRT */
	advance_ms(f, 999);
	assert_int_equal(cmos(f, 0x00), 0x58);
	advance_ms(f, 1);
	assert_int_equal(cmos(f, 0x00), 0x59);
	advance_ms(f, 1000);
	assert_int_equal(cmos(f, 0x00), 0x00);
	assert_int_equal(cmos(f, 0x02), 0x00);
	assert_int_equal(cmos(f, 0x04), 0x00);
	assert_int_equal(cmos(f, 0x06), 6); /* Friday */
	assert_int_equal(cmos(f, 0x07), 0x01);
	assert_int_equal(cmos(f, 0x08), 0x03);
	assert_int_equal(cmos(f, 0x09), 0x24);
	/* Port 0x70 is write-only; the NMI bit does not enter the index. */
	assert_int_equal(inb(f, 0x70), 0xff);
	outb(f, 0x70, 0x80 | 0x08);
	assert_int_equal(inb(f, 0x71), 0x03);
}

static void test_binary_and_12_hour(void **state)
{
	struct fixture *f = *state;

	cmos_set(f, 0x0b, 0x06); /* binary, 24 h */
	assert_int_equal(cmos(f, 0x00), 58);
	assert_int_equal(cmos(f, 0x04), 23);
	assert_int_equal(cmos(f, 0x07), 29);
	assert_int_equal(cmos(f, 0x32), 20);
	cmos_set(f, 0x0b, 0x04); /* binary, 12 h: 11 PM */
	assert_int_equal(cmos(f, 0x04), 0x80 | 11);
	cmos_set(f, 0x0b, 0x00); /* BCD, 12 h */
	assert_int_equal(cmos(f, 0x04), 0x91);
	advance_ms(f, 2000); /* midnight is 12 AM */
	assert_int_equal(cmos(f, 0x04), 0x12);
	/* Setting 12 PM in 12-hour BCD. */
	cmos_set(f, 0x0b, 0x80);
	cmos_set(f, 0x04, 0x92);
	cmos_set(f, 0x0b, 0x00);
	assert_int_equal(cmos(f, 0x04), 0x92);
	cmos_set(f, 0x0b, 0x02);
	assert_int_equal(cmos(f, 0x04), 0x12);
}

static void test_set_the_clock(void **state)
{
	struct fixture *f = *state;

	/* The datasheet's sequence: SET, write, clear SET. UIE is cleared by SET. */
	cmos_set(f, 0x0b, 0x12);
	cmos_set(f, 0x0b, 0x82 | 0x10);
	assert_int_equal(cmos(f, 0x0b), 0x82);
	cmos_set(f, 0x00, 0x30);
	cmos_set(f, 0x02, 0x15);
	cmos_set(f, 0x04, 0x10);
	cmos_set(f, 0x06, 0x02);
	cmos_set(f, 0x07, 0x31);
	cmos_set(f, 0x08, 0x12);
	cmos_set(f, 0x09, 0x99);
	cmos_set(f, 0x32, 0x19);
	advance_ms(f, 5000); /* no updates while SET */
	assert_int_equal(cmos(f, 0x00), 0x30);
	assert_int_equal(cmos(f, 0x0c) & 0x10, 0);
	cmos_set(f, 0x0b, 0x02);
	/* The divider kept its phase: the next update is on the next second. */
	advance_ms(f, 1000);
	assert_int_equal(cmos(f, 0x00), 0x31);
	assert_int_equal(cmos(f, 0x09), 0x99);
	/* Over the century. */
	cmos_set(f, 0x0b, 0x82);
	cmos_set(f, 0x00, 0x59);
	cmos_set(f, 0x02, 0x59);
	cmos_set(f, 0x04, 0x23);
	cmos_set(f, 0x0b, 0x02);
	advance_ms(f, 1000);
	assert_int_equal(cmos(f, 0x09), 0x00);
	assert_int_equal(cmos(f, 0x32), 0x20);
	assert_int_equal(cmos(f, 0x08), 0x01);
	assert_int_equal(cmos(f, 0x07), 0x01);
	assert_int_equal(cmos(f, 0x06), 0x03); /* counts on from what was written */
}

static void test_uip_and_divider(void **state)
{
	struct fixture *f = *state;

	/* Updates at every whole second of host time here. */
	vdev_testhost_advance(f->th, 1000000000ull - 300000);
	assert_int_equal(cmos(f, 0x0a) & 0x80, 0);
	vdev_testhost_advance(f->th, 100000); /* 200 us before the update */
	assert_int_equal(cmos(f, 0x0a), 0x80 | 0x26);
	assert_int_equal(cmos(f, 0x00), 0x58);
	vdev_testhost_advance(f->th, 200000);
	assert_int_equal(cmos(f, 0x0a), 0x26);
	assert_int_equal(cmos(f, 0x00), 0x59);
	/* Divider held in reset: the clock stops. */
	cmos_set(f, 0x0a, 0x76);
	advance_ms(f, 3000);
	assert_int_equal(cmos(f, 0x00), 0x59);
	assert_int_equal(cmos(f, 0x0a), 0x76);
	/* Released: the first update comes 500 ms later. */
	cmos_set(f, 0x0a, 0x26);
	advance_ms(f, 499);
	assert_int_equal(cmos(f, 0x00), 0x59);
	advance_ms(f, 1);
	assert_int_equal(cmos(f, 0x00), 0x00);
	advance_ms(f, 999);
	assert_int_equal(cmos(f, 0x00), 0x00);
	advance_ms(f, 1);
	assert_int_equal(cmos(f, 0x00), 0x01);
}

static void test_periodic_interrupt_rate(void **state)
{
	struct fixture *f = *state;
	uint8_t seen = 0;

	/* Flags without interrupts: PF sets, IRQF does not. */
	advance_ms(f, 10);
	assert_int_equal(cmos(f, 0x0c), 0x40 | 0x10 * 0);
	assert_int_equal(cmos(f, 0x0c), 0x00); /* cleared by the read */
	assert_int_equal(irq8(f), 0);
	/* 1024 Hz (RS 6) with PIE: exactly 1024 interrupts in one second. */
	cmos_set(f, 0x0b, 0x42);
	assert_int_equal(run_isr(f, 1000000000ull, 50000, &seen), 1024);
	assert_int_equal(seen & 0xe0, 0xc0);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:8"), 1024);
	/* 2 Hz (RS 15). */
	cmos_set(f, 0x0a, 0x2f);
	assert_int_equal(run_isr(f, 3000000000ull, 1000000, &seen), 6);
	/* 256 Hz via RS 1 (a 32.768 kHz crystal's meaning of RS 1). */
	cmos_set(f, 0x0a, 0x21);
	assert_int_equal(run_isr(f, 1000000000ull, 100000, &seen), 256);
	/* Without reading C, the line stays up: one edge only. */
	unsigned before = vdev_testhost_line_edges(f->th, "pic:8");

	advance_ms(f, 100);
	assert_int_equal(irq8(f), 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:8"), before + 1);
	/* Disabling PIE drops IRQF and the line. */
	cmos_set(f, 0x0b, 0x02);
	assert_int_equal(irq8(f), 0);
	assert_int_equal(cmos(f, 0x0c), 0x40);
}

static void test_update_ended_and_alarm(void **state)
{
	struct fixture *f = *state;
	uint8_t seen = 0;

	/* Alarm at 00:00:03, hours "don't care". */
	cmos_set(f, 0x01, 0x03);
	cmos_set(f, 0x03, 0x00);
	cmos_set(f, 0x05, 0xc0);
	cmos_set(f, 0x0b, 0x12); /* UIE */
	assert_int_equal(run_isr(f, 10000000000ull, 10000000, &seen), 10);
	/* IRQF and UF each time; AF at 00:00:03; PF (RS 6) sets without PIE. */
	assert_int_equal(seen, 0x80 | 0x40 | 0x20 | 0x10);
	/* AIE alone, minutes "don't care" too: one interrupt, at 00:01:03. */
	cmos_set(f, 0x03, 0xc0);
	cmos_set(f, 0x0b, 0x22);
	(void)cmos(f, 0x0c);
	seen = 0;
	assert_int_equal(run_isr(f, 60000000000ull, 100000000, &seen), 1);
	assert_int_equal(seen, 0x80 | 0x40 | 0x20 | 0x10);
	assert_int_equal(cmos(f, 0x02), 0x01);
	assert_int_equal(cmos(f, 0x00), 0x08);
}

static void test_cmos_ram_and_sizes(void **state)
{
	struct fixture *f = *state, *g;

	assert_int_equal(cmos(f, 0x15), 0x80);
	assert_int_equal(cmos(f, 0x16), 0x02);
	assert_int_equal(cmos(f, 0x17), 0xff);
	assert_int_equal(cmos(f, 0x18), 0xff);
	assert_int_equal(cmos(f, 0x30), 0xff);
	assert_int_equal(cmos(f, 0x31), 0xff);
	assert_int_equal(cmos(f, 0x34), 0x00);
	assert_int_equal(cmos(f, 0x35), 0x1f); /* 496 MiB / 64 KiB = 0x1f00 */
	assert_int_equal(cmos(f, 0x2e), 0x02); /* 0x80 + 0x02 + 0xff + 0xff */
	assert_int_equal(cmos(f, 0x2f), 0x80);
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i == 0x32)
			continue;
		cmos_set(f, (uint8_t)i, (uint8_t)(i ^ 0x5a));
	}
	for (unsigned i = 0x0e; i < 0x80; i++)
		if (i != 0x32)
			assert_int_equal(cmos(f, (uint8_t)i), i ^ 0x5a);

	g = fixture_new(START " ram-size 8M");
	assert_int_equal(cmos(g, 0x17), 0x00);
	assert_int_equal(cmos(g, 0x18), 0x1c); /* 7168 KiB */
	assert_int_equal(cmos(g, 0x34), 0x00);
	assert_int_equal(cmos(g, 0x35), 0x00);
	assert_int_equal(cmos(g, 0x2e), 0x00);
	assert_int_equal(cmos(g, 0x2f), 0x80 + 0x02 + 0x1c);
	teardown((void **)&g);
}

/*
 * Without ram-size the memory-size bytes come from the VM's memory map
 * (host mem_ranges, ABI 1.1): the PC layout of the QNX docs, RAM below
 * 640 KiB, a hole, RAM from 1 MiB to 64 MiB.
 */
static void test_sizes_from_memory_map(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	snprintf(path, sizeof(path), "%s/vdev-mc146818.so", dir ? dir : ".");
	if (!dir)
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	assert_int_equal(vdev_testhost_load(f->th, path, &f->desc), 0);
	assert_int_equal(vdev_testhost_add_ram(f->th, 0x100000, 63u << 20), 0);
	assert_int_equal(vdev_testhost_add_ram(f->th, 0, 0xa0000), 0);
	f->dev = vdev_testhost_create(f->th, f->desc, START);
	if (!f->dev)
		fail_msg("create: %s", vdev_testhost_error(f->th));
	/* 63 MiB above 1 MiB = 64512 KiB; 48 MiB above 16 MiB = 768 blocks */
	assert_int_equal(cmos(f, 0x17) | cmos(f, 0x18) << 8, 64512);
	assert_int_equal(cmos(f, 0x30) | cmos(f, 0x31) << 8, 64512);
	assert_int_equal(cmos(f, 0x34) | cmos(f, 0x35) << 8, 768);
	assert_int_equal(cmos(f, 0x15) | cmos(f, 0x16) << 8, 640);
	*state = f;
}

/* A guest may set any date the registers hold, 0000 to 9999 (here 0027,
 * before 1970): the state saved then must restore (found by fuzz_vdevs). */
static void test_save_restore_any_year(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[1024];
	ssize_t n;

	cmos_set(f, 0x0b, 0x82); /* SET, 24-hour, BCD */
	cmos_set(f, 0x32, 0x00); /* century 00 */
	cmos_set(f, 0x09, 0x27); /* year 27 */
	cmos_set(f, 0x0b, 0x02); /* run */
	advance_ms(f, 1);
	n = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)n), 0);
	assert_int_equal(cmos(f, 0x09), 0x27);
	assert_int_equal(cmos(f, 0x32), 0x00);
}

static void test_reset_save_restore(void **state)
{
	struct fixture *f = *state, *g;
	uint8_t buf[1024];
	ssize_t n;

	cmos_set(f, 0x0f, 0x0a); /* the BIOS shutdown byte */
	cmos_set(f, 0x0b, 0x7a);
	advance_ms(f, 1);
	assert_int_equal(irq8(f), 1);
	n = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n <= f->desc->state_size);

	/* Restore into another host, its clock elsewhere: same time, flags, line. */
	g = fixture_new("intr pic:8");
	vdev_testhost_advance(g->th, 777777777);
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), 0);
	assert_int_equal(irq8(g), 1);
	assert_int_equal(cmos(g, 0x0f), 0x0a);
	assert_int_equal(cmos(g, 0x00), 0x58);
	advance_ms(g, 997); /* f had run 1 ms of this second */
	assert_int_equal(cmos(g, 0x00), 0x58);
	advance_ms(g, 3);
	assert_int_equal(cmos(g, 0x00), 0x59);
	buf[n - 3] ^= 0x10;
	assert_int_equal(vdev_testhost_restore(g->dev, buf, (size_t)n), -EINVAL);
	teardown((void **)&g);

	/* Reset: interrupt enables and flags go, the battery-backed rest stays. */
	vdev_testhost_reset(f->dev);
	assert_int_equal(irq8(f), 0);
	assert_int_equal(cmos(f, 0x0b), 0x02);
	assert_int_equal(cmos(f, 0x0c), 0x00);
	assert_int_equal(cmos(f, 0x0f), 0x0a);
	assert_int_equal(cmos(f, 0x00), 0x58);
	advance_ms(f, 5000);
	assert_int_equal(irq8(f), 0);
}

/*
 * SeaBIOS's boot order bytes from QEMU's letters (libxl passes -boot
 * order=cda): 0x3d = second << 4 | first, 0x38 = third << 4. And the way
 * Xen forwards NVRAM: only index writes >= 14 and the data accesses after
 * them reach the device, the NMI bit set or not.
 */
static void test_boot_order(void **state)
{
	struct fixture *f = fixture_new(START " boot-order cda"), *g;

	assert_int_equal(cmos(f, 0x3d), 0x32); /* disk first, then CD */
	assert_int_equal(cmos(f, 0x38), 0x10); /* then floppy; check its signature */
	outb(f, 0x70, 0x80 | 0x3d);
	assert_int_equal(inb(f, 0x71), 0x32);
	outb(f, 0x70, 0x80 | 0x40);
	outb(f, 0x71, 0x77);
	outb(f, 0x70, 0x40);
	assert_int_equal(inb(f, 0x71), 0x77);
	teardown((void **)&f);
	f = fixture_new(START " boot-order n");
	assert_int_equal(cmos(f, 0x3d), 0x04);
	assert_int_equal(cmos(f, 0x38), 0x00);
	teardown((void **)&f);
	f = fixture_new(START);
	assert_int_equal(cmos(f, 0x3d), 0x00);
	assert_null(vdev_testhost_create(f->th, f->desc, "loc 0x170 boot-order cdan"));
	assert_null(vdev_testhost_create(f->th, f->desc, "loc 0x170 boot-order x"));
	g = f;
	teardown((void **)&g);
}

static void test_bad_options(void **state)
{
	struct fixture *f = *state;

	assert_null(vdev_testhost_create(f->th, f->desc, "loc 0x170 time \"2024-13-01 00:00:00\""));
	assert_null(vdev_testhost_create(f->th, f->desc, "loc 0x170 time yesterday"));
	assert_non_null(vdev_testhost_create(f->th, f->desc, "loc 0x170 utc off"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_time_date_and_rollover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binary_and_12_hour, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_the_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_uip_and_divider, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_periodic_interrupt_rate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_ended_and_alarm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cmos_ram_and_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_save_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore_any_year, setup, teardown),
	    cmocka_unit_test_teardown(test_sizes_from_memory_map, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
	    cmocka_unit_test(test_boot_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
