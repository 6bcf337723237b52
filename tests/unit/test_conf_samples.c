/*
 * Golden tests over the sample configs in tests/conf/: every
 * valid/NAME.vmconf must parse (read as `@file` on a command line) and print
 * exactly valid/NAME.vmconf.out; every invalid/NAME.vmconf must fail and
 * report exactly invalid/NAME.vmconf.err. After an intended change of the
 * language or of the print format, CONF_UPDATE_GOLDEN=1 rewrites the
 * expected files (review the diff before committing it).
 */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"

#define SAMPLES "tests/conf"

static const char *test_getenv(void *ctx, const char *name)
{
	(void)ctx;
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

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int c;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* Returns the number of mismatches in one directory. */
static unsigned check_dir(const char *dir, bool valid)
{
	char pattern[256];
	glob_t g;
	unsigned bad = 0;

	snprintf(pattern, sizeof(pattern), "%s/%s/*.vmconf", SAMPLES, dir);
	if (glob(pattern, 0, NULL, &g) != 0)
		fail_msg("no samples match %s (run from the top of the tree)", pattern);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		char arg[300], golden[300], *out = NULL, *diag = NULL, *want;
		size_t olen = 0, dlen = 0;
		FILE *of = open_memstream(&out, &olen), *df = open_memstream(&diag, &dlen);
		struct conf_diag *d = conf_diag_new(df);
		char *argv[1] = {arg};
		struct conf_vm *vm;

		snprintf(arg, sizeof(arg), "@%s", path);
		snprintf(golden, sizeof(golden), "%s.%s", path, valid ? "out" : "err");
		vm = conf_parse_argv(1, argv, &test_env, d);
		if (vm)
			conf_vm_print(vm, of);
		conf_vm_free(vm);
		conf_diag_free(d);
		fclose(of);
		fclose(df);
		const char *got = valid ? out : diag;
		if (getenv("CONF_UPDATE_GOLDEN")) {
			FILE *f = fopen(golden, "w");

			fputs(got, f);
			fclose(f);
		}
		want = slurp(golden);
		if ((vm != NULL) != valid) {
			print_error("%s: expected it to %s:\n%s", path, valid ? "parse" : "fail",
				    diag);
			bad++;
		} else if (!want || strcmp(got, want) != 0) {
			print_error("%s: output differs from %s\n--- got:\n%s--- want:\n%s", path,
				    golden, got, want ? want : "(missing)\n");
			bad++;
		}
		free(want);
		free(out);
		free(diag);
	}
	assert_true(g.gl_pathc > 0);
	globfree(&g);
	return bad;
}

static void test_valid_samples(void **state)
{
	assert_int_equal(check_dir("valid", true), 0);
}

static void test_invalid_samples(void **state)
{
	assert_int_equal(check_dir("invalid", false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_samples),
	    cmocka_unit_test(test_invalid_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
