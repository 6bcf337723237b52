/* Unit tests for devmodel/sim/vmscript.c: the guest-script format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/sim/vmscript.h"

static char *errors;
static size_t errors_len;

static struct vms_script *parse(const char *text)
{
	FILE *err = open_memstream(&errors, &errors_len);
	struct vms_script *s = vms_parse_string(text, "t.vmscript", err);

	fclose(err);
	return s;
}

static void teardown_errors(void)
{
	free(errors);
	errors = NULL;
}

static void test_accesses(void **state)
{
	struct vms_script *s = parse("# a comment\n"
				     "write pio 0x3f8 1 0x41\n"
				     "read mmio 4K 4 mask 0xff expect 0x12   # trailing comment\n"
				     "read pcicfg 0:1.0+0x10 4\n"
				     "vcpu 1\n");

	assert_non_null(s);
	assert_int_equal(s->step_count, 4);
	assert_int_equal(s->steps[0].op, VMS_WRITE);
	assert_int_equal(s->steps[0].space, VDEV_SPACE_PIO);
	assert_int_equal(s->steps[0].addr, 0x3f8);
	assert_int_equal(s->steps[0].size, 1);
	assert_int_equal(s->steps[0].value, 0x41);
	assert_int_equal(s->steps[0].line, 2);
	assert_int_equal(s->steps[1].op, VMS_READ);
	assert_int_equal(s->steps[1].addr, 0x1000);
	assert_int_equal(s->steps[1].mask, 0xff);
	assert_true(s->steps[1].has_expect);
	assert_int_equal(s->steps[1].value, 0x12);
	assert_int_equal(s->steps[2].space, VDEV_SPACE_PCICFG);
	assert_int_equal(s->steps[2].addr, VDEV_PCICFG_ADDR(0, 1, 0, 0x10));
	assert_false(s->steps[2].has_expect);
	assert_int_equal(s->steps[3].op, VMS_VCPU);
	assert_int_equal(s->steps[3].value, 1);
	vms_free(s);
	teardown_errors();
}

static void test_rep_and_memory(void **state)
{
	struct vms_script *s = parse("rep-write pio 0x3f8 1 5 0x2000\n"
				     "rep-read mmio 0x10000 4 8 0x3000 df\n"
				     "rep-stos mmio 0x10000 2 3 0xbeef\n"
				     "fill 0x2000 \"he\\x6clo\"\n"
				     "check 0x2000 0x68 0x65 0x6c\n"
				     "line isa:4 1\nedges isa:4 2\nmsi 0xfee00000 0x31\nno-msi\n"
				     "wait 2ms\nwait 10\ninvalidate\nexit 0\n");

	assert_non_null(s);
	assert_int_equal(s->step_count, 13);
	assert_int_equal(s->steps[0].op, VMS_REP_WRITE);
	assert_int_equal(s->steps[0].count, 5);
	assert_int_equal(s->steps[0].gpa, 0x2000);
	assert_false(s->steps[0].df);
	assert_int_equal(s->steps[1].op, VMS_REP_READ);
	assert_true(s->steps[1].df);
	assert_int_equal(s->steps[2].op, VMS_REP_STOS);
	assert_int_equal(s->steps[2].value, 0xbeef);
	assert_int_equal(s->steps[3].byte_count, 5);
	assert_memory_equal(s->steps[3].bytes, "hello", 5);
	assert_int_equal(s->steps[4].byte_count, 3);
	assert_memory_equal(s->steps[4].bytes, "hel", 3);
	assert_string_equal(s->steps[5].line_name, "isa:4");
	assert_int_equal(s->steps[5].value, 1);
	assert_int_equal(s->steps[6].value, 2);
	assert_int_equal(s->steps[7].addr, 0xfee00000);
	assert_int_equal(s->steps[7].value, 0x31);
	assert_int_equal(s->steps[9].value, 2000000);
	assert_int_equal(s->steps[10].value, 10);
	assert_int_equal(s->steps[12].op, VMS_EXIT);
	vms_free(s);
	teardown_errors();
}

/* The platform steps: a PIRQ route and the shutdown reason. */
static void test_platform_steps(void **state)
{
	struct vms_script *s = parse("link-route 2 11\nshutdown poweroff\nshutdown reboot\n");

	assert_non_null(s);
	assert_int_equal(s->step_count, 3);
	assert_int_equal(s->steps[0].op, VMS_LINK_ROUTE);
	assert_int_equal(s->steps[0].addr, 2);
	assert_int_equal(s->steps[0].value, 11);
	assert_int_equal(s->steps[1].op, VMS_SHUTDOWN);
	assert_int_equal(s->steps[1].value, 0);
	assert_int_equal(s->steps[2].value, 1);
	vms_free(s);
	teardown_errors();
	s = parse("link-route 4 5\nshutdown halt\nlink-route 1\n");
	assert_null(s);
	assert_non_null(strstr(errors, "t.vmscript:1:12: error: links are 0..3"));
	assert_non_null(strstr(errors, "t.vmscript:2:10: error: expected poweroff or reboot"));
	assert_non_null(strstr(errors, "t.vmscript:3:1: error: usage: link-route LINK IRQ"));
	teardown_errors();
}

/* Every bad line is reported with file:line:col, and nothing is returned. */
static void test_errors(void **state)
{
	struct vms_script *s = parse("write pio 0x3f8 3 1\n"
				     "read pio 0x10000 1\n"
				     "frobnicate\n"
				     "write mmio 0x10 8 0x1x\n"
				     "rep-stos pio 0x60 1 2 0\n"
				     "check 0x0 \"open\n"
				     "line isa4 1\n"
				     "wait 5 parsecs\n"
				     "write pio 0x60 8 0\n");

	assert_null(s);
	assert_non_null(strstr(errors, "t.vmscript:1:17: error: size must be 1, 2, 4 or 8"));
	assert_non_null(strstr(errors, "t.vmscript:2:10: error: port 0x10000 is above 0xffff"));
	assert_non_null(strstr(errors, "t.vmscript:3:1: error: unknown step 'frobnicate'"));
	assert_non_null(strstr(errors, "t.vmscript:4:"));
	assert_non_null(strstr(errors, "t.vmscript:5:10: error: rep-stos is an MMIO form"));
	assert_non_null(strstr(errors, "t.vmscript:6:11: error: unterminated quoted text"));
	assert_non_null(strstr(errors, "t.vmscript:7:6: error: expected CONTROLLER:LINE"));
	assert_non_null(strstr(errors, "t.vmscript:8:1: error: usage: wait DURATION"));
	assert_non_null(strstr(errors, "t.vmscript:9:16: error: port I/O is at most 4 bytes wide"));
	/* the caret line follows the quoted source line */
	assert_non_null(strstr(errors, "  frobnicate\n  ^\n"));
	teardown_errors();
}

/* fill/check: `GPA LEN BYTE` is not two bytes but an error; `repeat` says
 * it; a line has at most 16 words. */
static void test_fill_forms(void **state)
{
	struct vms_script *s = parse("fill 0x1000 repeat 16 0xaa\ncheck 0x1000 0xaa 0xaa\n");

	assert_non_null(s);
	assert_int_equal(s->steps[0].byte_count, 16);
	assert_int_equal(s->steps[0].bytes[15], 0xaa);
	assert_int_equal(s->steps[1].byte_count, 2);
	vms_free(s);
	teardown_errors();
	s = parse("fill 0x1000 16 0xaa\ncheck 0x1000 repeat 0 1\n"
		  "fill 0 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 0x9 0xa 0xb 0xc 0xd 0xe 0xf\n");
	assert_null(s);
	assert_non_null(strstr(errors, "t.vmscript:1:13: error: in a list of bytes write each as "
				       "0xNN"));
	assert_non_null(strstr(errors, "t.vmscript:2:21: error: repeat wants a COUNT of 1.."));
	assert_non_null(strstr(errors, "error: more than 16 words on one line"));
	teardown_errors();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accesses),
	    cmocka_unit_test(test_rep_and_memory),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_platform_steps),
	    cmocka_unit_test(test_fill_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
