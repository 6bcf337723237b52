/*
 * Unit tests of how a vdev's device options take arguments (conf/parse.c,
 * conf_env.option_arity): a fake schema answers for the `ticker` type the
 * way sdk/host answers from a plugin's descriptor, and the tests check
 * which word became which option's value, that a no-argument option still
 * accepts an explicit bool literal, and the fallback when the callback
 * does not know (or is not given).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"

/* What the fake schema was asked, to check the parser's questions. */
struct fake_schema {
	unsigned calls;
	char last_type[64];
	char asked[512]; /* "type:option " for every call */
};

/*
 * ticker: `start` NOARG bool, `irq-mode` and `period` take a value.
 * odd: `legacy` takes a value (the schema overrides the fixed list).
 * Anything else: unknown (-1), the parser's own rule.
 */
static int fake_arity(void *ctx, const char *type, const char *option)
{
	struct fake_schema *fs = ctx;
	size_t n = strlen(fs->asked);

	fs->calls++;
	snprintf(fs->last_type, sizeof(fs->last_type), "%s", type);
	snprintf(fs->asked + n, sizeof(fs->asked) - n, "%s:%s ", type, option);
	if (strcmp(type, "ticker") == 0 || strcmp(type, "vdev-ticker") == 0) {
		if (strcmp(option, "start") == 0)
			return 0;
		if (strcmp(option, "irq-mode") == 0 || strcmp(option, "period") == 0)
			return 1;
		return -1;
	}
	if (strcmp(type, "odd") == 0 && strcmp(option, "legacy") == 0)
		return 1;
	return -1;
}

struct run {
	struct conf_vm *vm;
	char *diag;
	unsigned errors;
};

static struct run parse_with(const char *text, const struct conf_env *env)
{
	struct run r = {0};
	size_t len = 0;
	FILE *f = open_memstream(&r.diag, &len);
	struct conf_diag *d;

	assert_non_null(f);
	d = conf_diag_new(f);
	assert_non_null(d);
	r.vm = conf_parse_string(text, "t.vmconf", env, d);
	r.errors = conf_diag_error_count(d);
	conf_diag_free(d);
	fclose(f);
	return r;
}

/* Parse valid text with the fake schema (fs NULL: no callback at all). */
static struct conf_vm *ok(const char *text, struct fake_schema *fs)
{
	struct conf_env env = {0};
	struct run r;

	if (fs) {
		env.option_arity = fake_arity;
		env.option_ctx = fs;
	}
	r = parse_with(text, &env);
	if (!r.vm)
		fail_msg("unexpected errors for '%s':\n%s", text, r.diag);
	assert_int_equal(r.errors, 0);
	assert_string_equal(r.diag, "");
	free(r.diag);
	return r.vm;
}

/* Option i of vdev vi is `name` with value `value` (NULL: none). */
static void expect_option(const struct conf_vm *vm, unsigned vi, unsigned i, const char *name,
			  const char *value)
{
	const struct conf_vdev *v;

	assert_true(vi < vm->vdev_count);
	v = &vm->vdevs[vi];
	if (i >= v->option_count)
		fail_msg("vdev %u has %u options, wanted option %u (%s)", vi, v->option_count, i,
			 name);
	assert_string_equal(v->options[i].name, name);
	if (value)
		assert_string_equal(v->options[i].value, value);
	else
		assert_null(v->options[i].value);
}

/* The case that motivated the callback: a NOARG option before another. */
static void test_noarg_followed_by_option(void **state)
{
	struct fake_schema fs = {0};
	struct conf_vm *vm;

	(void)state;
	vm = ok("vdev ticker loc 0x10000 start irq-mode edge", &fs);
	assert_int_equal(vm->vdevs[0].option_count, 2);
	expect_option(vm, 0, 0, "start", NULL);
	expect_option(vm, 0, 1, "irq-mode", "edge");
	assert_int_equal(vm->vdevs[0].options[1].pos.col, 31);
	assert_int_equal(vm->vdevs[0].options[1].value_pos.col, 40);
	/* Asked about device options only, never about loc/intr/name/log/set,
	 * and with the type as written. */
	assert_string_equal(fs.asked, "ticker:start ticker:irq-mode ");
	conf_vm_free(vm);
}

static void test_noarg_at_end_of_input(void **state)
{
	struct fake_schema fs = {0};
	struct conf_vm *vm;

	(void)state;
	vm = ok("vdev ticker period 10 start", &fs);
	assert_int_equal(vm->vdevs[0].option_count, 2);
	expect_option(vm, 0, 0, "period", "10");
	expect_option(vm, 0, 1, "start", NULL);
	conf_vm_free(vm);

	vm = ok("vdev ticker start\n", &fs);
	assert_int_equal(vm->vdevs[0].option_count, 1);
	expect_option(vm, 0, 0, "start", NULL);
	conf_vm_free(vm);
}

/* Newlines are only whitespace: the next line's option is still not an argument. */
static void test_noarg_then_newline_and_option(void **state)
{
	struct fake_schema fs = {0};
	struct conf_vm *vm;

	(void)state;
	vm = ok("vdev ticker\n    start\n    irq-mode level\n    period 5\n", &fs);
	assert_int_equal(vm->vdevs[0].option_count, 3);
	expect_option(vm, 0, 0, "start", NULL);
	expect_option(vm, 0, 1, "irq-mode", "level");
	expect_option(vm, 0, 2, "period", "5");
	assert_int_equal(vm->vdevs[0].options[1].pos.line, 3);
	conf_vm_free(vm);
}

/* A NOARG option followed by a keyword, a second vdev, a blob prefix. */
static void test_noarg_before_keywords(void **state)
{
	struct fake_schema fs = {0};
	struct conf_vm *vm;

	(void)state;
	vm = ok("vdev ticker start ram 1m vdev ticker start fdt load 0x1000,/x", &fs);
	assert_int_equal(vm->vdev_count, 2);
	expect_option(vm, 0, 0, "start", NULL);
	expect_option(vm, 1, 0, "start", NULL);
	assert_int_equal(vm->ram_count, 1);
	assert_int_equal(vm->load_count, 1);
	assert_string_equal(vm->loads[0].blob_type, "fdt");
	conf_vm_free(vm);
}

/* NOARG bools still take an explicit bool literal, in any case. */
static void test_noarg_explicit_bool(void **state)
{
	static const char *const literals[] = {"on",	"off", "yes", "no", "true",
					       "false", "1",   "0",   "ON", "Off"};
	struct fake_schema fs = {0};
	struct conf_vm *vm;
	char text[128];

	(void)state;
	for (unsigned k = 0; k < sizeof(literals) / sizeof(literals[0]); k++) {
		snprintf(text, sizeof(text), "vdev ticker start %s irq-mode edge", literals[k]);
		vm = ok(text, &fs);
		assert_int_equal(vm->vdevs[0].option_count, 2);
		expect_option(vm, 0, 0, "start", literals[k]);
		expect_option(vm, 0, 1, "irq-mode", "edge");
		conf_vm_free(vm);
	}
	/* A quoted literal is a value too; a near miss is not. */
	vm = ok("vdev ticker start \"off\" period 3", &fs);
	expect_option(vm, 0, 0, "start", "off");
	expect_option(vm, 0, 1, "period", "3");
	conf_vm_free(vm);
	vm = ok("vdev ticker start onn", &fs);
	assert_int_equal(vm->vdevs[0].option_count, 2);
	expect_option(vm, 0, 0, "start", NULL);
	expect_option(vm, 0, 1, "onn", NULL);
	conf_vm_free(vm);
}

/* An option with arity 1 takes the next word even if it looks like an option. */
static void test_arg_option_takes_next_word(void **state)
{
	struct fake_schema fs = {0};
	struct conf_vm *vm;

	(void)state;
	vm = ok("vdev ticker irq-mode start period 2", &fs);
	assert_int_equal(vm->vdevs[0].option_count, 2);
	expect_option(vm, 0, 0, "irq-mode", "start");
	expect_option(vm, 0, 1, "period", "2");
	conf_vm_free(vm);
	/* The schema overrides the fixed list: odd's `legacy` takes a value. */
	vm = ok("vdev odd legacy 3 x y", &fs);
	expect_option(vm, 0, 0, "legacy", "3");
	expect_option(vm, 0, 1, "x", "y");
	conf_vm_free(vm);
}

/* -1 (unknown type or option): the fixed list, then the next-word rule. */
static void test_unknown_falls_back(void **state)
{
	struct fake_schema fs = {0};
	struct conf_vm *vm;

	(void)state;
	vm = ok("vdev mystery legacy-free start irq-mode edge", &fs);
	assert_int_equal(vm->vdevs[0].option_count, 3);
	expect_option(vm, 0, 0, "legacy-free", NULL);
	expect_option(vm, 0, 1, "start", "irq-mode");
	expect_option(vm, 0, 2, "edge", NULL);
	conf_vm_free(vm);
	assert_string_equal(fs.last_type, "mystery");

	/* ticker does not know `color`: next word is its value. */
	vm = ok("vdev ticker color blue start", &fs);
	expect_option(vm, 0, 0, "color", "blue");
	expect_option(vm, 0, 1, "start", NULL);
	conf_vm_free(vm);

	/* The fixed list's options take an explicit bool literal too. */
	vm = ok("vdev mystery legacy off x 1", &fs);
	expect_option(vm, 0, 0, "legacy", "off");
	expect_option(vm, 0, 1, "x", "1");
	conf_vm_free(vm);
}

/* Without a callback: the fixed list only (the template's `start` takes a word). */
static void test_no_callback(void **state)
{
	struct conf_vm *vm;

	(void)state;
	vm = ok("vdev ticker start irq-mode edge", NULL);
	expect_option(vm, 0, 0, "start", "irq-mode");
	expect_option(vm, 0, 1, "edge", NULL);
	conf_vm_free(vm);
	vm = ok("vdev hpet legacy-free loc 0xfed00000", NULL);
	expect_option(vm, 0, 0, "legacy-free", NULL);
	assert_int_equal(vm->vdevs[0].loc_count, 1);
	conf_vm_free(vm);
}

/* The type is passed as written: vdev-NAME, and a path. */
static void test_type_as_written(void **state)
{
	struct fake_schema fs = {0};
	struct conf_vm *vm;

	(void)state;
	vm = ok("vdev vdev-ticker start irq-mode edge", &fs);
	expect_option(vm, 0, 0, "start", NULL);
	assert_string_equal(fs.last_type, "vdev-ticker");
	conf_vm_free(vm);
	vm = ok("vdev ./lib/vdev-ticker.so start irq-mode edge", &fs);
	/* the fake does not know paths: fallback rule */
	expect_option(vm, 0, 0, "start", "irq-mode");
	assert_string_equal(fs.last_type, "./lib/vdev-ticker.so");
	conf_vm_free(vm);
}

/* The command line goes through the same rule (conf_parse_argv). */
static void test_argv(void **state)
{
	char *const words[] = {"vdev", "ticker", "loc", "0x10000", "start", "irq-mode", "edge"};
	struct fake_schema fs = {0};
	struct conf_env env = {.option_arity = fake_arity, .option_ctx = &fs};
	struct conf_diag *d = conf_diag_new(stderr);
	struct conf_vm *vm;

	(void)state;
	assert_non_null(d);
	vm = conf_parse_argv(7, words, &env, d);
	assert_non_null(vm);
	assert_int_equal(conf_diag_error_count(d), 0);
	assert_int_equal(vm->vdevs[0].option_count, 2);
	expect_option(vm, 0, 0, "start", NULL);
	expect_option(vm, 0, 1, "irq-mode", "edge");
	conf_vm_free(vm);
	conf_diag_free(d);
}

/* A vdev with no type is not asked about: the fixed rule applies. */
static void test_missing_type_not_asked(void **state)
{
	struct fake_schema fs = {0};
	struct conf_env env = {.option_arity = fake_arity, .option_ctx = &fs};
	struct run r;

	(void)state;
	/* `ram` ends nothing: the typeless vdev context goes on after it. */
	r = parse_with("vdev ram 1m start irq-mode edge", &env);
	assert_null(r.vm);
	assert_int_equal(r.errors, 1);
	assert_non_null(strstr(r.diag, "'vdev' needs a device type"));
	assert_int_equal(fs.calls, 0);
	free(r.diag);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_noarg_followed_by_option),
	    cmocka_unit_test(test_noarg_at_end_of_input),
	    cmocka_unit_test(test_noarg_then_newline_and_option),
	    cmocka_unit_test(test_noarg_before_keywords),
	    cmocka_unit_test(test_noarg_explicit_bool),
	    cmocka_unit_test(test_arg_option_takes_next_word),
	    cmocka_unit_test(test_unknown_falls_back),
	    cmocka_unit_test(test_no_callback),
	    cmocka_unit_test(test_type_as_written),
	    cmocka_unit_test(test_argv),
	    cmocka_unit_test(test_missing_type_not_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
