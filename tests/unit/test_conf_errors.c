/*
 * Unit tests of the parser's errors: each rule's error has its exact text,
 * its file:line:col and its caret line, and the parse returns NULL. The
 * cases are a table: input, the number of errors, the whole diagnostic
 * output. A final group checks that one run reports several errors and
 * that the caller's exit code constant is qvm's.
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

static char big_value[100001]; /* 100 KB of 'x', filled by test_substitution_cap */

static const char *test_getenv(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "BIG") == 0 && big_value[0])
		return big_value;
	return strcmp(name, "HOST_DEV") == 0 ? "/dev/ser3" : NULL;
}

static const struct conf_asinfo test_asinfo[] = {
    {"guestmem1", 0x80000000, 0x100000},
};

static const struct conf_env test_env = {
    .getenv = test_getenv,
    .asinfo = test_asinfo,
    .asinfo_count = 1,
};

struct error_case {
	const char *name;
	const char *input;
	unsigned errors;
	const char *diag;
};

static const struct error_case cases[] = {
    {"unknown option with suggestion", "rma 32m", 1,
     "t.vmconf:1:1: error: unknown option 'rma'; did you mean 'ram'?\n"
     "rma 32m\n"
     "^\n"},
    {"unknown option skips its arguments", "frobnicate 1 2 ram 1m", 1,
     "t.vmconf:1:1: error: unknown option 'frobnicate'\n"
     "frobnicate 1 2 ram 1m\n"
     "^\n"},
    {"unknown cpu sub-option", "cpu schd 8", 1,
     "t.vmconf:1:5: error: unknown option 'schd'; did you mean 'sched'?\n"
     "cpu schd 8\n"
     "    ^\n"},
    {"blob type alone", "acpi /x", 1,
     "t.vmconf:1:1: error: 'acpi' is a blob type: it must be followed by 'load' or 'pass'\n"
     "acpi /x\n"
     "^\n"},
    {"quoted word where an option belongs", "\"quoted\"", 1,
     "t.vmconf:1:1: error: expected an option, found the quoted text \"quoted\"\n"
     "\"quoted\"\n"
     "^\n"},
    {"loc in pass, name is not", "pass name x", 1,
     "t.vmconf:1:6: error: 'name' is not an option of 'pass'\n"
     "pass name x\n"
     "     ^\n"},
    {"system not first", "ram 1m system x", 1,
     "t.vmconf:1:8: error: 'system' must be the first option; 'ram' comes before it "
     "(t.vmconf:1:1)\n"
     "ram 1m system x\n"
     "       ^\n"},
    {"load without memory", "load /x", 1,
     "t.vmconf:1:1: error: 'load' needs guest memory: give 'ram' (or 'rom') before it, e.g. 'ram "
     "32m load /x'\n"
     "load /x\n"
     "^\n"},
    {"load address outside memory", "ram 1m load 0x4000000,/k", 1,
     "t.vmconf:1:13: error: load address 0x4000000 is not inside any ram or rom given before this "
     "'load'\n"
     "ram 1m load 0x4000000,/k\n"
     "            ^\n"},
    {"length overflow", "ram 0x10000000000000000", 1,
     "t.vmconf:1:5: error: length '0x10000000000000000' is too large\n"
     "ram 0x10000000000000000\n"
     "    ^\n"},
    {"multiplier overflow", "ram 0xffffffffffffffffk", 1,
     "t.vmconf:1:5: error: length '0xffffffffffffffffk' is too large\n"
     "ram 0xffffffffffffffffk\n"
     "    ^\n"},
    {"trailing garbage", "ram 12q", 1,
     "t.vmconf:1:7: error: unexpected 'q' after the length\n"
     "ram 12q\n"
     "      ^\n"},
    {"empty start", "ram ,4k", 1,
     "t.vmconf:1:5: error: missing start address\n"
     "ram ,4k\n"
     "    ^\n"},
    {"empty length", "ram 0x1000,", 1,
     "t.vmconf:1:12: error: missing length\n"
     "ram 0x1000,\n"
     "           ^\n"},
    {"zero length", "ram 0", 1,
     "t.vmconf:1:5: error: a ram of length zero\n"
     "ram 0\n"
     "    ^\n"},
    {"start plus length overflow", "ram 0xfffffffffffff000,0x2000", 1,
     "t.vmconf:1:5: error: ram 0xfffffffffffff000,0x2000 goes beyond the 64-bit address space\n"
     "ram 0xfffffffffffff000,0x2000\n"
     "    ^\n"},
    {"ram/rom overlap", "ram 1m rom 512k,1m", 1,
     "t.vmconf:1:12: error: rom 0x80000,0x100000 overlaps the ram 0x0,0x100000 given at "
     "t.vmconf:1:1\n"
     "ram 1m rom 512k,1m\n"
     "           ^\n"},
    {"loc addr plus len overflow", "vdev x loc 0xfffffffffffff000,0x1001", 1,
     "t.vmconf:1:12: error: address 0xfffffffffffff000 plus length 0x1001 goes beyond the 64-bit "
     "address space\n"
     "vdev x loc 0xfffffffffffff000,0x1001\n"
     "           ^\n"},
    {"loc io beyond 0xffff", "vdev x loc io:0xfff0,0x20", 1,
     "t.vmconf:1:15: error: I/O port range 0xfff0,0x20 goes beyond port 0xffff\n"
     "vdev x loc io:0xfff0,0x20\n"
     "              ^\n"},
    {"loc pci device range", "vdev x loc pci:0:40", 1,
     "t.vmconf:1:18: error: PCI device 40 is above 31\n"
     "vdev x loc pci:0:40\n"
     "                 ^\n"},
    {"unset environment variable", "cmdline $env{NOPE}", 1,
     "t.vmconf:1:9: error: environment variable 'NOPE' is not set\n"
     "cmdline $env{NOPE}\n"
     "        ^\n"},
    {"unknown asinfo name", "pass loc $asinfo_start{guestmem}", 1,
     "t.vmconf:1:10: error: no asinfo entry named 'guestmem'\n"
     "pass loc $asinfo_start{guestmem}\n"
     "         ^\n"
     "t.vmconf:1:10: note: did you mean 'guestmem1'?\n"
     "pass loc $asinfo_start{guestmem}\n"
     "         ^\n"},
    {"unterminated substitution", "pass loc $asinfo_start{guestmem1", 1,
     "t.vmconf:1:10: error: unterminated substitution: missing '}' after '$asinfo_start{'\n"
     "pass loc $asinfo_start{guestmem1\n"
     "         ^\n"},
    {"empty substitution name", "set a $env{}", 1,
     "t.vmconf:1:7: error: empty name in '$env{}'\n"
     "set a $env{}\n"
     "      ^\n"},
    {"unterminated quote",
     "cmdline \"abc\n"
     "def",
     1,
     "t.vmconf:1:9: error: unterminated quoted string: missing '\"'\n"
     "cmdline \"abc\n"
     "        ^\n"},
    {"sched priority range", "cpu sched 300", 1,
     "t.vmconf:1:11: error: scheduling priority 300 is out of range 1..255\n"
     "cpu sched 300\n"
     "          ^\n"},
    {"sporadic sched", "cpu sched 1,2,3", 1,
     "t.vmconf:1:12: error: sporadic scheduling (sched high,low,max_repl,period,budget s) is not "
     "supported: give priority[r|f|o]\n"
     "cpu sched 1,2,3\n"
     "           ^\n"},
    {"runmask range", "cpu runmask 0,64", 1,
     "t.vmconf:1:15: error: host CPU number 64 is above 63\n"
     "cpu runmask 0,64\n"
     "              ^\n"},
    {"log filter suggestion", "logger eror stderr", 1,
     "t.vmconf:1:8: error: unknown log filter 'eror'; did you mean 'error'? (filters: fatal, "
     "internal, error, warn, info, debug, verbose)\n"
     "logger eror stderr\n"
     "       ^\n"},
    {"log destination suggestion", "logger error sterr", 1,
     "t.vmconf:1:14: error: unknown log destination 'sterr'; did you mean 'stderr'? (stdout, "
     "stderr, slog, none)\n"
     "logger error sterr\n"
     "             ^\n"},
    {"log missing destination", "logger error", 1,
     "t.vmconf:1:1: error: 'logger' needs a destination after the filters\n"
     "logger error\n"
     "^\n"},
    {"vdev log filter", "vdev x log warn,bogus stdout", 1,
     "t.vmconf:1:17: error: unknown log filter 'bogus' (filters: fatal, internal, error, warn, "
     "info, debug, verbose)\n"
     "vdev x log warn,bogus stdout\n"
     "                ^\n"},
    {"unsupported kind and action", "unsupported foo bar", 2,
     "t.vmconf:1:13: error: unknown 'unsupported' kind 'foo': expected instruction, reference or "
     "register\n"
     "unsupported foo bar\n"
     "            ^\n"
     "t.vmconf:1:17: error: unknown 'unsupported' action 'bar': expected abort, fail or ignore\n"
     "unsupported foo bar\n"
     "                ^\n"},
    {"duplicate vdev name", "vdev a name x vdev b name x", 1,
     "t.vmconf:1:27: error: duplicate vdev name 'x' (first given at t.vmconf:1:13)\n"
     "vdev a name x vdev b name x\n"
     "                          ^\n"},
    {"controller is itself", "vdev a name x intr x:1", 1,
     "t.vmconf:1:20: error: vdev 'x' cannot take its interrupt from itself\n"
     "vdev a name x intr x:1\n"
     "                   ^\n"},
    {"unknown controller with suggestion", "vdev ioapic name myioapic vdev s intr myiopic:4", 1,
     "t.vmconf:1:39: error: unknown interrupt controller 'myiopic': no vdev before this point is "
     "named 'myiopic', and it is not a native controller; did you mean 'myioapic'?\n"
     "vdev ioapic name myioapic vdev s intr myiopic:4\n"
     "                                      ^\n"},
    {"controller defined later",
     "vdev s intr pic:4\n"
     "vdev ioapic name pic",
     1,
     "t.vmconf:1:13: error: interrupt controller 'pic' is defined later (t.vmconf:2:18): a "
     "controller must come before any intr that names it\n"
     "vdev s intr pic:4\n"
     "            ^\n"
     "t.vmconf:2:18: note: 'pic' is defined here\n"
     "vdev ioapic name pic\n"
     "                 ^\n"},
    {"pass controller defined later", "pass intr pic:4 vdev ioapic name pic", 1,
     "t.vmconf:1:11: error: interrupt controller 'pic' is defined later (t.vmconf:1:34): a "
     "controller must come before any intr that names it\n"
     "pass intr pic:4 vdev ioapic name pic\n"
     "          ^\n"
     "t.vmconf:1:34: note: 'pic' is defined here\n"
     "pass intr pic:4 vdev ioapic name pic\n"
     "                                 ^\n"},
    {"intr bare number in vdev", "vdev x intr 5", 1,
     "t.vmconf:1:13: error: expected controller:line (e.g. ioapic:4), not a bare number\n"
     "vdev x intr 5\n"
     "            ^\n"},
    {"intr bad line", "vdev x intr a:b", 1,
     "t.vmconf:1:15: error: interrupt line 'b' is not a number (decimal, or hex with 0x)\n"
     "vdev x intr a:b\n"
     "              ^\n"},
    {"intr empty list item", "vdev x intr gic:1,,gic:2", 1,
     "t.vmconf:1:19: error: empty interrupt\n"
     "vdev x intr gic:1,,gic:2\n"
     "                  ^\n"},
    {"reserve intr attributes", "reserve intr 3,u", 1,
     "t.vmconf:1:14: error: interrupt attributes (,u ,t =vector) are for pass only\n"
     "reserve intr 3,u\n"
     "             ^\n"},
    {"missing argument at end", "system", 1,
     "t.vmconf:1:1: error: 'system' needs a name\n"
     "system\n"
     "^\n"},
    {"missing argument before keyword", "cmdline ram 1m", 1,
     "t.vmconf:1:1: error: 'cmdline' needs the guest's command line (quote it); found the option "
     "'ram' instead\n"
     "cmdline ram 1m\n"
     "^\n"},
    {"vdev without type", "vdev", 1,
     "t.vmconf:1:1: error: 'vdev' needs a device type (e.g. ser8250)\n"
     "vdev\n"
     "^\n"},
    {"several errors in one run",
     "system a\n"
     "ramm 32m\n"
     "ram 1m load 0x200000,/k\n"
     "vdev s intr nope:1 loc 0x10zz\n"
     "cpu sched 0\n",
     5,
     "t.vmconf:2:1: error: unknown option 'ramm'; did you mean 'ram'?\n"
     "ramm 32m\n"
     "^\n"
     "t.vmconf:3:13: error: load address 0x200000 is not inside any ram or rom given before this "
     "'load'\n"
     "ram 1m load 0x200000,/k\n"
     "            ^\n"
     "t.vmconf:4:28: error: unexpected 'z' after the address\n"
     "vdev s intr nope:1 loc 0x10zz\n"
     "                           ^\n"
     "t.vmconf:5:11: error: scheduling priority 0 is out of range 1..255\n"
     "cpu sched 0\n"
     "          ^\n"
     "t.vmconf:4:13: error: unknown interrupt controller 'nope': no vdev before this point is "
     "named 'nope', and it is not a native controller\n"
     "vdev s intr nope:1 loc 0x10zz\n"
     "            ^\n"},
};

static void test_error_table(void **state)
{
	unsigned failed = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct error_case *c = &cases[i];
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);
		struct conf_diag *d = conf_diag_new(f);
		struct conf_vm *vm = conf_parse_string(c->input, "t.vmconf", &test_env, d);
		unsigned errors = conf_diag_error_count(d);

		conf_diag_free(d);
		fclose(f);
		if (vm || errors != c->errors || strcmp(out, c->diag) != 0) {
			print_error(
			    "case '%s': vm %p, %u errors (want %u)\n--- got:\n%s--- want:\n%s",
			    c->name, (void *)vm, errors, c->errors, out, c->diag);
			failed++;
		}
		conf_vm_free(vm);
		free(out);
	}
	assert_int_equal(failed, 0);
}

/* A valid config next to each error: the rule is what fails, not the
 * surrounding text. */
static void test_valid_neighbours(void **state)
{
	static const char *const valid[] = {
	    "ram 32m",
	    "system x ram 1m",
	    "ram 1m load 0x1000,/k",
	    "ram 0xfffffffffffff000,0x1000",
	    "ram 1m rom 1m,1m",
	    "vdev x loc io:0xfff0,0x10",
	    "vdev x loc pci:0:31.7",
	    "cmdline $env{HOST_DEV}",
	    "pass loc $asinfo_start{guestmem1}",
	    "cpu sched 255 runmask 0,63",
	    "logger error stderr",
	    "vdev a name x vdev b name y intr x:1",
	    "vdev ioapic name pic vdev s intr pic:4",
	    "pass intr 4 reserve intr 3",
	};

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct conf_diag *d = conf_diag_new(stderr);
		struct conf_vm *vm = conf_parse_string(valid[i], "t.vmconf", &test_env, d);

		if (!vm)
			fail_msg("'%s' should be valid", valid[i]);
		assert_int_equal(conf_diag_error_count(d), 0);
		conf_vm_free(vm);
		conf_diag_free(d);
	}
}

static void test_error_cap(void **state)
{
	/* a flood of bad options stops at 50 errors with a note */
	char *text = NULL, *out = NULL;
	size_t tlen = 0, len = 0;
	FILE *t = open_memstream(&text, &tlen);
	FILE *f = open_memstream(&out, &len);
	struct conf_diag *d = conf_diag_new(f);
	struct conf_vm *vm;

	for (int i = 0; i < 200; i++)
		fprintf(t, "ram %d,0 ", i);
	fclose(t);
	vm = conf_parse_string(text, "t.vmconf", &test_env, d);
	assert_null(vm);
	assert_int_equal(conf_diag_error_count(d), 50);
	conf_diag_free(d);
	fclose(f);
	assert_non_null(strstr(out, "note: too many errors, stopping here"));
	free(out);
	free(text);
}

/* 20 000 uses of a 100 KB variable (2 GB expanded) stop at the cap, with
 * an error at the use that crossed it, in bounded memory. */
static void test_substitution_cap(void **state)
{
	char *text = NULL, *out = NULL;
	size_t tlen = 0, len = 0;
	FILE *t = open_memstream(&text, &tlen);
	FILE *f = open_memstream(&out, &len);
	struct conf_diag *d = conf_diag_new(f);
	struct conf_vm *vm;

	memset(big_value, 'x', sizeof(big_value) - 1);
	fprintf(t, "ram 0,1m\n");
	for (int i = 0; i < 20000; i++)
		fprintf(t, "cmdline \"$env{BIG}\"\n");
	fclose(t);
	vm = conf_parse_string(text, "t.vmconf", &test_env, d);
	assert_null(vm);
	conf_diag_free(d);
	fclose(f);
	/* 4 MiB / 100 000 characters: the 42nd use, on line 43, crosses it */
	assert_non_null(strstr(out, "t.vmconf:43:10: error: the configuration is too large: "
				    "more than 4194304 characters"));
	assert_null(strstr(out, "out of memory"));
	free(out);
	free(text);
	big_value[0] = '\0';
}

/* Errors beyond the first 100 are counted but not printed. */
static void test_diag_print_cap(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct conf_diag *d = conf_diag_new(f);
	struct conf_pos pos = {"t.vmconf", 1, 1};

	for (int i = 0; i < 5000; i++)
		conf_diag_error(d, &pos, "bad %d", i);
	assert_int_equal(conf_diag_error_count(d), 5000);
	conf_diag_free(d);
	fclose(f);
	assert_non_null(strstr(out, "error: bad 99\n"));
	assert_null(strstr(out, "error: bad 100\n"));
	assert_non_null(strstr(out, "more than 100 errors: the rest are counted, not shown"));
	free(out);
}

static void test_exit_code(void **state)
{
	assert_int_equal(CONF_EXIT_CONFIG, 65);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_table),	   cmocka_unit_test(test_valid_neighbours),
	    cmocka_unit_test(test_error_cap),	   cmocka_unit_test(test_substitution_cap),
	    cmocka_unit_test(test_diag_print_cap), cmocka_unit_test(test_exit_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
