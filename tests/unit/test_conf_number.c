/*
 * Unit tests of conf/number.c and conf/diag.c: numbers with multipliers,
 * location specs, and the diagnostic format (file:line:col, source line,
 * caret).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"

static void expect_number(const char *text, unsigned flags, uint64_t want)
{
	uint64_t v = 0xdeadbeef;
	size_t bad = 99;

	assert_int_equal(conf_number_parse(text, flags, &v, &bad), 0);
	assert_int_equal(v, want);
}

static void expect_bad_number(const char *text, unsigned flags, int rc, size_t offset)
{
	uint64_t v = 0xdeadbeef;
	size_t bad = 99;

	assert_int_equal(conf_number_parse(text, flags, &v, &bad), rc);
	assert_int_equal(v, 0xdeadbeef); /* untouched on error */
	if (rc == -EINVAL)
		assert_int_equal(bad, offset);
}

static void test_number_decimal_hex(void **state)
{
	expect_number("0", 0, 0);
	expect_number("42", 0, 42);
	expect_number("010", 0, 10); /* no octal: decimal is the default notation */
	expect_number("0x1f", 0, 0x1f);
	expect_number("0XAbC", 0, 0xabc);
	expect_number("18446744073709551615", 0, UINT64_MAX);
	expect_number("0xffffffffffffffff", 0, UINT64_MAX);
}

static void test_number_multipliers(void **state)
{
	/* the seed: 4K,1k is 0x1000,0x400 */
	expect_number("4K", CONF_NUM_MULTIPLIERS, 0x1000);
	expect_number("1k", CONF_NUM_MULTIPLIERS, 0x400);
	expect_number("32m", CONF_NUM_MULTIPLIERS, 32u << 20);
	expect_number("16M", CONF_NUM_MULTIPLIERS, 16u << 20);
	expect_number("2G", CONF_NUM_MULTIPLIERS, 2ull << 30);
	expect_number("3g", CONF_NUM_MULTIPLIERS, 3ull << 30);
	expect_number("0x10k", CONF_NUM_MULTIPLIERS, 0x4000);
	/* multipliers only when asked for */
	expect_bad_number("4K", 0, -EINVAL, 1);
}

static void test_number_errors(void **state)
{
	expect_bad_number("", 0, -EINVAL, 0);
	expect_bad_number("0x", 0, -EINVAL, 2);
	expect_bad_number("12a", 0, -EINVAL, 2);
	expect_bad_number("0x12g", 0, -EINVAL, 4);
	expect_bad_number("4KB", CONF_NUM_MULTIPLIERS, -EINVAL, 2);
	expect_bad_number(" 1", 0, -EINVAL, 0);
	expect_bad_number("1 ", 0, -EINVAL, 1);
	expect_bad_number("-1", 0, -EINVAL, 0);
	expect_bad_number("18446744073709551616", 0, -ERANGE, 0);
	expect_bad_number("0x10000000000000000", 0, -ERANGE, 0);
	/* multiplier overflow */
	expect_bad_number("0x400000000000000k", CONF_NUM_MULTIPLIERS, -ERANGE, 0);
	expect_bad_number("17179869184G", CONF_NUM_MULTIPLIERS, -ERANGE, 0);
	expect_number("17179869183G", CONF_NUM_MULTIPLIERS, 17179869183ull << 30);
}

static void test_number_signed(void **state)
{
	expect_number("-1", CONF_NUM_SIGNED, (uint64_t)-1);
	expect_number("+7", CONF_NUM_SIGNED, 7);
	expect_number("-0x10", CONF_NUM_SIGNED, (uint64_t)(int64_t)-16);
	expect_number("-9223372036854775808", CONF_NUM_SIGNED, (uint64_t)INT64_MIN);
	expect_number("9223372036854775807", CONF_NUM_SIGNED, (uint64_t)INT64_MAX);
	expect_bad_number("9223372036854775808", CONF_NUM_SIGNED, -ERANGE, 0);
	expect_bad_number("-9223372036854775809", CONF_NUM_SIGNED, -ERANGE, 0);
	expect_bad_number("-", CONF_NUM_SIGNED, -EINVAL, 1);
	expect_number("-1k", CONF_NUM_SIGNED | CONF_NUM_MULTIPLIERS, (uint64_t)(int64_t)-1024);
}

static void expect_loc(const char *text, enum vdev_space def, enum vdev_loc_kind kind,
		       enum vdev_space space, uint64_t base, uint64_t length)
{
	struct vdev_loc loc;
	char err[128] = "";

	assert_int_equal(conf_loc_parse(text, def, &loc, err, sizeof(err), NULL), 0);
	assert_string_equal(err, "");
	assert_int_equal(loc.kind, kind);
	assert_int_equal(loc.space, space);
	assert_int_equal(loc.base, base);
	assert_int_equal(loc.length, length);
}

static void expect_bad_loc(const char *text, const char *msg, size_t offset)
{
	struct vdev_loc loc;
	char err[160] = "";
	size_t bad = 99;

	assert_int_equal(conf_loc_parse(text, VDEV_SPACE_MMIO, &loc, err, sizeof(err), &bad),
			 -EINVAL);
	assert_string_equal(err, msg);
	assert_int_equal(bad, offset);
}

static void test_loc_addr(void **state)
{
	expect_loc("0xf8000000", VDEV_SPACE_MMIO, VDEV_LOC_ADDR, VDEV_SPACE_MMIO, 0xf8000000, 0);
	expect_loc("0x3f8", VDEV_SPACE_PIO, VDEV_LOC_ADDR, VDEV_SPACE_PIO, 0x3f8, 0);
	expect_loc("mem:0x1000,4K", VDEV_SPACE_PIO, VDEV_LOC_ADDR, VDEV_SPACE_MMIO, 0x1000, 0x1000);
	expect_loc("io:0x20,2", VDEV_SPACE_MMIO, VDEV_LOC_ADDR, VDEV_SPACE_PIO, 0x20, 2);
	expect_loc("4K,1k", VDEV_SPACE_MMIO, VDEV_LOC_ADDR, VDEV_SPACE_MMIO, 0x1000, 0x400);
	expect_loc("io:0xfff8,8", VDEV_SPACE_MMIO, VDEV_LOC_ADDR, VDEV_SPACE_PIO, 0xfff8, 8);
	expect_loc("0xfffffffffffff000,0x1000", VDEV_SPACE_MMIO, VDEV_LOC_ADDR, VDEV_SPACE_MMIO,
		   0xfffffffffffff000ull, 0x1000);
}

static void test_loc_pci(void **state)
{
	struct vdev_loc loc;

	assert_int_equal(conf_loc_parse("pci:0:12.3", VDEV_SPACE_MMIO, &loc, NULL, 0, NULL), 0);
	assert_int_equal(loc.kind, VDEV_LOC_PCI_BDF);
	assert_int_equal(loc.bus, 0);
	assert_int_equal(loc.dev, 12);
	assert_int_equal(loc.fn, 3);
	assert_int_equal(conf_loc_parse("pci:1:0x1f", VDEV_SPACE_MMIO, &loc, NULL, 0, NULL), 0);
	assert_int_equal(loc.kind, VDEV_LOC_PCI_BDF);
	assert_int_equal(loc.bus, 1);
	assert_int_equal(loc.dev, 31);
	assert_int_equal(loc.fn, 0);
	assert_int_equal(conf_loc_parse("pci:0x8086/0x1234", VDEV_SPACE_MMIO, &loc, NULL, 0, NULL),
			 0);
	assert_int_equal(loc.kind, VDEV_LOC_PCI_ID);
	assert_int_equal(loc.vendor, 0x8086);
	assert_int_equal(loc.device, 0x1234);
}

static void test_loc_errors(void **state)
{
	expect_bad_loc("", "empty location", 0);
	expect_bad_loc("mem:", "missing address", 4);
	expect_bad_loc("0x1000,", "missing length", 7);
	expect_bad_loc("0x1000,0", "a length of zero covers nothing", 7);
	expect_bad_loc("0x10zz", "unexpected 'z' after the address", 4);
	expect_bad_loc("bogus:1", "address 'bogus:1' is not a number (decimal, or hex with 0x)", 0);
	expect_bad_loc("0x1000,0x10,rw", "unexpected text after the length", 12);
	expect_bad_loc(
	    "0xfffffffffffff000,0x1001",
	    "address 0xfffffffffffff000 plus length 0x1001 goes beyond the 64-bit address space",
	    0);
	expect_bad_loc("0x100000000000000000", "address '0x100000000000000000' is too large", 0);
	expect_bad_loc("0x1000,0x40000000000000000k", "length '0x40000000000000000k' is too large",
		       7);
	expect_bad_loc("io:0xfff8,9", "I/O port range 0xfff8,0x9 goes beyond port 0xffff", 3);
	expect_bad_loc("io:0x10000", "I/O port 0x10000 is above 0xffff", 3);
	expect_bad_loc("pci:0:32", "PCI device 32 is above 31", 6);
	expect_bad_loc("pci:256:0", "PCI bus 256 is above 255", 4);
	expect_bad_loc("pci:0:1.8", "PCI function 8 is above 7", 8);
	expect_bad_loc("pci:0x18086/1", "PCI vendor id is more than 16 bits", 4);
	expect_bad_loc("pci:12", "expected pci:bus:dev[.fn] or pci:vendor/device", 6);
	expect_bad_loc("pci:0:1.", "missing PCI function", 8);
}

static char *diag_run(void (*fn)(struct conf_diag *d), unsigned *errors)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct conf_diag *d;

	assert_non_null(f);
	d = conf_diag_new(f);
	assert_non_null(d);
	fn(d);
	*errors = conf_diag_error_count(d);
	conf_diag_free(d);
	fclose(f);
	return buf;
}

/* conf_line_parse: the controller:line syntax every host shares. */
static void test_line_spec(void **state)
{
	size_t name_len = 99, bad = 99;
	uint64_t line = 99;

	(void)state;
	assert_int_equal(conf_line_parse("ioapic:4", &name_len, &line, &bad), 0);
	assert_int_equal(name_len, 6);
	assert_int_equal(line, 4);
	assert_int_equal(conf_line_parse("pic-1.x:0x1f", &name_len, &line, NULL), 0);
	assert_int_equal(name_len, 7);
	assert_int_equal(line, 31);
	assert_int_equal(conf_line_parse("ioapic", &name_len, &line, &bad), -EINVAL);
	assert_int_equal(bad, 6);
	assert_int_equal(conf_line_parse(":4", &name_len, &line, &bad), -EINVAL);
	assert_int_equal(bad, 0);
	assert_int_equal(conf_line_parse("ioapic:4x", &name_len, &line, &bad), -EINVAL);
	assert_int_equal(bad, 8);
	assert_int_equal(conf_line_parse("ioapic:", &name_len, &line, &bad), -EINVAL);
	assert_int_equal(bad, 7);
	assert_int_equal(conf_line_parse("ioapic:-1", &name_len, &line, NULL), -EINVAL);
	assert_int_equal(conf_line_parse("a:99999999999999999999", &name_len, &line, NULL),
			 -ERANGE);
}

static void diag_scenario(struct conf_diag *d)
{
	struct conf_pos p1 = {"vm.vmconf", 2, 5};
	struct conf_pos p2 = {"vm.vmconf", 3, 3};
	struct conf_pos p3 = {"other.vmconf", 1, 1};

	assert_int_equal(conf_diag_source(d, "vm.vmconf", "system a\nram 3zm\n\tx y\n"), 0);
	conf_diag_error(d, &p1, "bad %s", "size");
	conf_diag_note(d, &p2, "tab kept");
	conf_diag_error(d, &p3, "no source");
	conf_diag_error(d, NULL, "no position");
}

static void test_diag_format(void **state)
{
	unsigned errors;
	char *out = diag_run(diag_scenario, &errors);

	assert_int_equal(errors, 3); /* notes are not errors */
	assert_string_equal(out, "vm.vmconf:2:5: error: bad size\n"
				 "ram 3zm\n"
				 "    ^\n"
				 "vm.vmconf:3:3: note: tab kept\n"
				 "\tx y\n"
				 "\t ^\n"
				 "other.vmconf:1:1: error: no source\n"
				 "error: no position\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_number_decimal_hex), cmocka_unit_test(test_number_multipliers),
	    cmocka_unit_test(test_number_errors),      cmocka_unit_test(test_number_signed),
	    cmocka_unit_test(test_loc_addr),	       cmocka_unit_test(test_loc_pci),
	    cmocka_unit_test(test_loc_errors),	       cmocka_unit_test(test_line_spec),
	    cmocka_unit_test(test_diag_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
