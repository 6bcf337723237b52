/*
 * tests/unit/test_plugin_load.c: the plugin loader (sdk/host/plugin.c):
 * finding vdev-NAME.so on a search path, loading each file once, and one
 * refusal per reason with its message, using the tiny plugins built from
 * tests/unit/plugins/ next to this test executable.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdk/host/arity.h"
#include "sdk/host/plugin.h"

static char plugin_dir[PATH_MAX + 16];

/* The plugins sit in plugins/ next to this executable, whatever the cwd. */
static int find_plugin_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/plugins", exe);
	return 0;
}

static void test_resolve_by_name(void **state)
{
	const char *dirs[] = {"/nonexistent/dir", plugin_dir};
	char err[VDEV_HOST_ERRLEN], want[2 * PATH_MAX];
	char *path, *name;

	snprintf(want, sizeof(want), "%s/vdev-good.so", plugin_dir);
	assert_int_equal(vdev_plugin_resolve("good", dirs, 2, &path, &name, err, sizeof(err)), 0);
	assert_string_equal(path, want);
	assert_string_equal(name, "good");
	free(path);
	free(name);
	/* "vdev-NAME" is the same thing. */
	assert_int_equal(vdev_plugin_resolve("vdev-good", dirs, 2, &path, &name, err, sizeof(err)),
			 0);
	assert_string_equal(path, want);
	assert_string_equal(name, "good");
	free(path);
	free(name);
	/* A path is taken as is, with no name to match. */
	assert_int_equal(vdev_plugin_resolve(want, dirs, 0, &path, &name, err, sizeof(err)), 0);
	assert_string_equal(path, want);
	assert_null(name);
	free(path);
	assert_int_equal(vdev_plugin_resolve("x.so", dirs, 0, &path, &name, err, sizeof(err)), 0);
	assert_string_equal(path, "x.so");
	free(path);
}

static void test_resolve_errors(void **state)
{
	const char *dirs[] = {"/nonexistent/dir", plugin_dir};
	char err[VDEV_HOST_ERRLEN];
	char *path, *name;

	assert_int_equal(vdev_plugin_resolve("goood", dirs, 2, &path, &name, err, sizeof(err)),
			 -ENOENT);
	assert_null(path);
	assert_non_null(strstr(err, "no vdev-goood.so in /nonexistent/dir, "));
	assert_non_null(strstr(err, "did you mean 'good'?"));
	assert_int_equal(vdev_plugin_resolve("zzzzzzzzzz", dirs, 2, &path, &name, err, sizeof(err)),
			 -ENOENT);
	assert_null(strstr(err, "did you mean"));
	assert_int_equal(vdev_plugin_resolve("Good", dirs, 2, &path, &name, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "lower-case"));
	assert_int_equal(vdev_plugin_resolve("", dirs, 2, &path, &name, err, sizeof(err)), -EINVAL);
	assert_int_equal(vdev_plugin_resolve("good", dirs, 0, &path, &name, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no plugin directories"));
}

static void test_load_once(void **state)
{
	const char *dirs[] = {plugin_dir};
	struct vdev_plugin_set *set = vdev_plugin_set_new();
	struct vdev_plugin *a, *b, *c;
	char err[VDEV_HOST_ERRLEN], path[2 * PATH_MAX];

	assert_non_null(set);
	assert_int_equal(vdev_plugin_set_load(set, "good", dirs, 1, &a, err, sizeof(err)), 0);
	assert_string_equal(a->desc->name, "good");
	assert_string_equal(a->desc->version, "1.0.0");
	assert_non_null(a->handle);
	assert_int_equal(vdev_plugin_set_load(set, "vdev-good", dirs, 1, &b, err, sizeof(err)), 0);
	/* The same file through a different path: still loaded once. */
	snprintf(path, sizeof(path), "%s/../plugins/vdev-good.so", plugin_dir);
	assert_int_equal(vdev_plugin_set_load(set, path, dirs, 1, &c, err, sizeof(err)), 0);
	assert_ptr_equal(a, b);
	assert_ptr_equal(a, c);
	assert_ptr_equal(vdev_plugin_set_find(set, a->desc), a);
	vdev_plugin_set_free(set);
}

struct refusal {
	const char *type; /* as written after `vdev` */
	int rc;
	const char *message;
};

/* One per reason; each plugin is a deliberately wrong descriptor. */
static const struct refusal refusals[] = {
    {"noentry", -ENOEXEC,
     "no vdev_plugin_entry symbol: not a vdev plugin, or built without "
     "VDEV_PLUGIN_ENTRY(desc)."},
    {"nulldesc", -ENOEXEC,
     "vdev_plugin_entry returned NULL: it must return the address of "
     "the plugin's descriptor"},
    {"unresolved", -ENOEXEC, "cannot load the plugin: "},
    {"bad-abi2", -EPROTONOSUPPORT,
     "built for vdev ABI 2, this host speaks 1: rebuild against this SDK."},
    {"bad-short", -EINVAL, "the descriptor's struct_size is 16, smaller than ABI 1's"},
    {"bad-name-upper", -EINVAL, "name 'Bad-Name' is not lower-case letters, digits and '-'."},
    {"bad-name-empty", -EINVAL, "invalid descriptor: the name is empty."},
    {"bad-misnamed", -EINVAL,
     "the device is named 'other-name' but the file says "
     "'bad-misnamed': rename the file to vdev-other-name.so"},
    {"bad-noversion", -EINVAL, "invalid descriptor: the version is missing."},
    {"bad-flags", -EINVAL, "invalid descriptor: unknown flag bits 0x80"},
    {"bad-intc-noops", -EINVAL, "VDEV_F_INTC is set but there are no intc ops."},
    {"bad-intc-noset", -EINVAL,
     "intc ops need struct_size = sizeof(struct vdev_intc_ops), "
     "line_count and set_level."},
    {"bad-noops", -EINVAL, "invalid descriptor: no ops table."},
    {"bad-nocreate", -EINVAL, "invalid descriptor: ops->create is required."},
    {"bad-sizes-empty", -EINVAL, "invalid descriptor: access_sizes is empty"},
    {"bad-sizes-bad", -EINVAL, "access_sizes 0x18 has bits other than VDEV_ACCESS_SIZE(1/2/4/8)"},
    {"bad-opt-empty", -EINVAL, "invalid descriptor: option 1 has no name."},
    {"bad-opt-dup", -EINVAL, "invalid descriptor: option 'speed' is declared twice."},
    {"bad-opt-badname", -EINVAL, "option name 'Speed_2' is not lower-case letters"},
    {"bad-opt-common", -EINVAL, "option 'loc' is a common option the host handles"},
    {"bad-opt-type", -EINVAL, "option 'mystery' has unknown type 42."},
    {"bad-opt-flags", -EINVAL, "option 'flagged' has unknown flag bits 0x200."},
    {"bad-enum-nochoices", -EINVAL, "enum option 'colour' has no choices."},
    {"bad-noarg-nonbool", -EINVAL, "option 'count' is NOARG but not a bool."},
    {"bad-default-bad", -EINVAL,
     "bad default '12x': option 'count' expects an unsigned "
     "integer"},
    {"bad-default-range", -EINVAL,
     "bad default '20': option 'count' is 20, outside its "
     "range 1..10."},
    {"bad-default-choice", -EINVAL,
     "bad default 'purple': option 'colour' is one of red, "
     "green; 'purple' is none of them."},
};

static void test_refusals(void **state)
{
	const char *dirs[] = {plugin_dir};
	struct vdev_plugin_set *set = vdev_plugin_set_new();
	char err[VDEV_HOST_ERRLEN], file[2 * PATH_MAX];
	struct vdev_plugin *p;
	unsigned i;
	int rc;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *r = &refusals[i];

		err[0] = '\0';
		p = (struct vdev_plugin *)1;
		rc = vdev_plugin_set_load(set, r->type, dirs, 1, &p, err, sizeof(err));
		print_message("%-20s %d %s\n", r->type, rc, err);
		assert_int_equal(rc, r->rc);
		assert_null(p);
		/* Every message names the file... */
		snprintf(file, sizeof(file), "%s/vdev-%s.so: ", plugin_dir, r->type);
		assert_true(strncmp(err, file, strlen(file)) == 0);
		/* ...and says what is wrong. */
		assert_non_null(strstr(err, r->message));
	}
	/* And the same file without its mistake loads. */
	assert_int_equal(vdev_plugin_set_load(set, "bad-ok", dirs, 1, &p, err, sizeof(err)), 0);
	assert_string_equal(p->desc->name, "bad-ok");
	vdev_plugin_set_free(set);
}

static void test_unresolved_names_symbol(void **state)
{
	char err[VDEV_HOST_ERRLEN], path[2 * PATH_MAX];
	struct vdev_plugin *p;

	snprintf(path, sizeof(path), "%s/vdev-unresolved.so", plugin_dir);
	assert_int_equal(vdev_plugin_open(path, NULL, &p, err, sizeof(err)), -ENOEXEC);
	/* RTLD_NOW: the missing symbol is found at load time, not at first call. */
	assert_non_null(strstr(err, "vdev_test_missing_function"));
}

static void test_not_elf(void **state)
{
	char dir[] = "/tmp/vdev-loader-XXXXXX", path[64], err[VDEV_HOST_ERRLEN];
	const char *dirs[] = {dir};
	struct vdev_plugin_set *set;
	struct vdev_plugin *p;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vdev-garbage.so", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not an ELF file\n", f);
	fclose(f);
	set = vdev_plugin_set_new();
	assert_int_equal(vdev_plugin_set_load(set, "garbage", dirs, 1, &p, err, sizeof(err)),
			 -ENOEXEC);
	assert_non_null(strstr(err, "vdev-garbage.so: cannot load the plugin: "));
	vdev_plugin_set_free(set);
	unlink(path);
	rmdir(dir);
}

/* ---- descriptors linked into the program: the same checks ---- */

static int ok_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		     void **dev)
{
	return 0;
}

static void ok_destroy(void *dev)
{
}

static const struct vdev_ops ok_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ok_create,
    .destroy = ok_destroy,
};

static int check_with_option(const struct vdev_option_spec *spec, char *err, size_t errlen)
{
	struct vdev_descriptor d = {
	    VDEV_DESCRIPTOR_INIT, .name = "linked",
	    .version = "1",	  .access_sizes = VDEV_ACCESS_SIZE(4),
	    .options = spec,	  .option_count = 1,
	    .ops = &ok_ops,
	};

	return vdev_descriptor_check(&d, "<linked>", NULL, err, errlen);
}

static void test_schema_checks(void **state)
{
	char err[VDEV_HOST_ERRLEN];
	struct vdev_option_spec s;

	memset(&s, 0, sizeof(s));
	s.name = "mode";
	s.type = VDEV_OPT_STRING;
	s.flags = VDEV_OPTF_RANGE;
	assert_int_equal(check_with_option(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "option 'mode' has RANGE but is a string, not a number."));

	s.type = VDEV_OPT_INT;
	s.min = 5;
	s.max = -5;
	assert_int_equal(check_with_option(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "min above max"));

	s.flags = VDEV_OPTF_REQUIRED;
	s.default_value = "3";
	assert_int_equal(check_with_option(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is REQUIRED and has a default: drop one of them."));

	s.flags = VDEV_OPTF_RANGE;
	s.min = -10;
	s.max = 10;
	s.default_value = "-3";
	assert_int_equal(check_with_option(&s, err, sizeof(err)), 0);

	s.type = VDEV_OPT_LOC;
	s.flags = 0;
	s.default_value = "pci:1:2.3";
	assert_int_equal(check_with_option(&s, err, sizeof(err)), 0);
	s.default_value = "io:zz";
	assert_int_equal(check_with_option(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad default 'io:zz'"));

	s.type = VDEV_OPT_INTR;
	s.default_value = "pic:3";
	assert_int_equal(check_with_option(&s, err, sizeof(err)), 0);
	s.default_value = "pic";
	assert_int_equal(check_with_option(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "controller:line"));

	s.type = VDEV_OPT_BOOL;
	s.default_value = "maybe";
	assert_int_equal(check_with_option(&s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "on or off"));
}

static void test_descriptor_struct_sizes(void **state)
{
	struct vdev_ops small_ops = ok_ops;
	struct vdev_descriptor d = {
	    VDEV_DESCRIPTOR_INIT, .name = "linked",
	    .version = "1",	  .access_sizes = VDEV_ACCESS_SIZE(4),
	    .ops = &small_ops,
	};
	char err[VDEV_HOST_ERRLEN];

	assert_int_equal(vdev_descriptor_check(&d, NULL, NULL, err, sizeof(err)), 0);
	/* A later minor may be bigger: fine. */
	d.struct_size = sizeof(d) + 64;
	assert_int_equal(vdev_descriptor_check(&d, NULL, NULL, err, sizeof(err)), 0);
	small_ops.struct_size = 8;
	assert_int_equal(vdev_descriptor_check(&d, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(
	    strstr(err, "<linked>: invalid descriptor: the ops table's struct_size is 8"));
	small_ops.struct_size = sizeof(small_ops);
	d.default_space = VDEV_SPACE_PCICFG;
	assert_int_equal(vdev_descriptor_check(&d, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "default_space"));
	d.default_space = VDEV_SPACE_PIO;
	d.name = "linked";
	assert_int_equal(vdev_descriptor_check(&d, NULL, "other", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "the device is named 'linked' but the file says 'other'"));
	assert_int_equal(vdev_descriptor_check(NULL, "x.so", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "x.so: the entry point returned NULL"));
}

struct arity_question {
	const char *type, *option;
	int expected;
};

/* Ask the resolver with stdout and stderr captured: it must print nothing. */
static long resolver_output_size(struct vdev_arity_resolver *r, const struct arity_question *q,
				 int *answers, unsigned n)
{
	FILE *cap = tmpfile();
	int saved_out, saved_err;
	long size;

	assert_non_null(cap);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	assert_true(saved_out >= 0 && saved_err >= 0);
	assert_true(dup2(fileno(cap), 1) >= 0 && dup2(fileno(cap), 2) >= 0);
	for (unsigned i = 0; i < n; i++)
		answers[i] = vdev_arity_resolver_answer(r, q[i].type, q[i].option);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	fseek(cap, 0, SEEK_END);
	size = ftell(cap);
	fclose(cap);
	return size;
}

/* The resolver vdm gives the config parser: loads by type, answers from
 * the schema, -1 without a word for what does not load. */
static void test_arity_resolver(void **state)
{
	const char *dirs[] = {"/nonexistent/dir", plugin_dir};
	static const struct arity_question q[] = {
	    {"good", "period", 1},	    /* UINT */
	    {"vdev-good", "pulse", 1},	    /* BOOL without NOARG */
	    {"good", "loc", -1},	    /* common: not the schema's */
	    {"good", "nope", -1},	    /* not in the schema */
	    {"nosuch", "start", -1},	    /* no such plugin */
	    {"bad-abi2", "speed", -1},	    /* refused descriptor */
	    {"unresolved", "x", -1},	    /* does not dlopen */
	    {"bad-Name!", "x", -1},	    /* not a plugin name */
	    {"/nonexistent/x.so", "x", -1}, /* a path that is not there */
	};
	enum { N = sizeof(q) / sizeof(q[0]) };
	int answers[N];
	struct vdev_arity_resolver *r = vdev_arity_resolver_new(dirs, 2);

	assert_non_null(r);
	assert_int_equal(resolver_output_size(r, q, answers, N), 0);
	for (unsigned i = 0; i < N; i++) {
		if (answers[i] != q[i].expected)
			fail_msg("%s %s: %d, expected %d", q[i].type, q[i].option, answers[i],
				 q[i].expected);
	}
	assert_int_equal(vdev_arity_resolver_answer(NULL, "good", "period"), -1);
	assert_int_equal(vdev_arity_resolver_answer(r, NULL, "period"), -1);
	assert_int_equal(vdev_arity_resolver_answer(r, "good", NULL), -1);
	vdev_arity_resolver_free(r);
	vdev_arity_resolver_free(NULL);
}

/* One load per type: the answer stays after the file is gone. */
static void test_arity_resolver_loads_once(void **state)
{
	char dir[] = "/tmp/vdm-arity-XXXXXX", src[2 * PATH_MAX], dst[PATH_MAX + 32],
	     cmd[6 * PATH_MAX];
	const char *dirs[1] = {dir};
	struct vdev_arity_resolver *r;

	assert_non_null(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/vdev-good.so", plugin_dir);
	snprintf(dst, sizeof(dst), "%s/vdev-good.so", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	assert_int_equal(system(cmd), 0);
	r = vdev_arity_resolver_new(dirs, 1);
	assert_non_null(r);
	assert_int_equal(vdev_arity_resolver_answer(r, "good", "period"), 1);
	assert_int_equal(unlink(dst), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(vdev_arity_resolver_answer(r, "good", "pulse"), 1);
	assert_int_equal(vdev_arity_resolver_answer(r, "good", "nope"), -1);
	/* A failure is remembered too: the type is not searched again. */
	assert_int_equal(vdev_arity_resolver_answer(r, "other", "x"), -1);
	vdev_arity_resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolve_by_name),
	    cmocka_unit_test(test_resolve_errors),
	    cmocka_unit_test(test_load_once),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_unresolved_names_symbol),
	    cmocka_unit_test(test_not_elf),
	    cmocka_unit_test(test_schema_checks),
	    cmocka_unit_test(test_descriptor_struct_sizes),
	    cmocka_unit_test(test_arity_resolver),
	    cmocka_unit_test(test_arity_resolver_loads_once),
	};

	if (find_plugin_dir() < 0 || access(plugin_dir, R_OK) < 0) {
		printf("SKIP: test plugins not found next to the executable\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
