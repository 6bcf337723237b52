/*
 * tests/unit/test_options.c: option validation against a plugin's schema
 * (sdk/host/options.c): every type, defaults, repeats, range and choices,
 * and every error reported at its file:line:col with a useful message.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "sdk/host/arity.h"
#include "sdk/host/options.h"

static const char *const modes[] = {"fifo", "lifo", "random", NULL};

enum {
	O_COUNT,
	O_OFFSET,
	O_SIZE,
	O_BASE,
	O_FAST,
	O_VERBOSE,
	O_LABEL,
	O_MODE,
	O_IRQ,
	O_WINDOW,
	O_TAG,
	O_NUM
};

static const struct vdev_option_spec specs[O_NUM] = {
    [O_COUNT] = {.name = "count",
		 .type = VDEV_OPT_UINT,
		 .flags = VDEV_OPTF_RANGE,
		 .min = 1,
		 .max = 100,
		 .default_value = "4"},
    [O_OFFSET] =
	{.name = "offset", .type = VDEV_OPT_INT, .flags = VDEV_OPTF_RANGE, .min = -10, .max = 10},
    [O_SIZE] = {.name = "size", .type = VDEV_OPT_SIZE},
    [O_BASE] = {.name = "base", .type = VDEV_OPT_ADDR},
    [O_FAST] = {.name = "fast", .type = VDEV_OPT_BOOL, .flags = VDEV_OPTF_NOARG},
    [O_VERBOSE] = {.name = "verbose", .type = VDEV_OPT_BOOL, .default_value = "yes"},
    [O_LABEL] = {.name = "label", .type = VDEV_OPT_STRING},
    [O_MODE] = {.name = "mode", .type = VDEV_OPT_ENUM, .choices = modes},
    [O_IRQ] = {.name = "irq", .type = VDEV_OPT_INTR},
    [O_WINDOW] = {.name = "window", .type = VDEV_OPT_LOC},
    [O_TAG] = {.name = "tag", .type = VDEV_OPT_STRING, .flags = VDEV_OPTF_REPEAT},
};

static int t_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		    void **dev)
{
	return 0;
}

static void t_destroy(void *dev)
{
}

static const struct vdev_ops t_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = t_create,
    .destroy = t_destroy,
};

static const struct vdev_descriptor desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "test",
    .version = "1",
    .default_space = VDEV_SPACE_PIO,
    .flags = VDEV_F_LOC_REQUIRED,
    .access_sizes = VDEV_ACCESS_SIZE(1),
    .options = specs,
    .option_count = O_NUM,
    .ops = &t_ops,
};

/* One validation run: options written "name value" on line i+2 of
 * "t.conf", name at column 5, value at column 5+len(name)+1. */
struct run {
	struct conf_option opts[16];
	unsigned n;
	char *out;
	size_t outlen;
	unsigned errors;
	struct vdev_arena *arena;
	struct vdev_option_value *values;
	int rc;
};

static void add(struct run *r, const char *name, const char *value)
{
	struct conf_option *o = &r->opts[r->n];

	o->name = name;
	o->value = value;
	o->pos.file = "t.conf";
	o->pos.line = r->n + 2;
	o->pos.col = 5;
	o->value_pos = o->pos;
	o->value_pos.col = 5 + (unsigned)strlen(name) + 1;
	r->n++;
}

static void validate(struct run *r, const struct vdev_descriptor *d)
{
	struct conf_pos vpos = {"t.conf", 1, 1};
	struct conf_diag *diag;
	FILE *f = open_memstream(&r->out, &r->outlen);

	assert_non_null(f);
	diag = conf_diag_new(f);
	r->arena = vdev_arena_new();
	r->rc = vdev_options_validate(d, r->opts, r->n, &vpos, diag, r->arena, &r->values);
	r->errors = conf_diag_error_count(diag);
	conf_diag_free(diag);
	fclose(f);
	print_message("%s", r->out);
}

static void done(struct run *r)
{
	free(r->out);
	vdev_arena_free(r->arena);
	memset(r, 0, sizeof(*r));
}

static void test_defaults(void **state)
{
	struct run r = {0};

	validate(&r, &desc);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.values[O_COUNT].count, 0);
	assert_true(r.values[O_COUNT].from_default);
	assert_string_equal(r.values[O_COUNT].text, "4");
	assert_int_equal(r.values[O_COUNT].v.u, 4);
	assert_true(r.values[O_VERBOSE].from_default);
	assert_int_equal(r.values[O_VERBOSE].v.b, 1);
	/* No default: nothing applied. */
	assert_false(r.values[O_MODE].from_default);
	assert_null(r.values[O_MODE].text);
	assert_int_equal(r.values[O_FAST].v.b, 0);
	done(&r);
}

static void test_every_type(void **state)
{
	struct run r = {0};
	const struct vdev_option_value *v;

	add(&r, "count", "0x10");
	add(&r, "offset", "-5");
	add(&r, "size", "4K");
	add(&r, "base", "0x1M");
	add(&r, "fast", NULL);
	add(&r, "verbose", "off");
	add(&r, "label", "hello world");
	add(&r, "mode", "lifo");
	add(&r, "irq", "pic:5");
	add(&r, "window", "io:0x3f8,8");
	validate(&r, &desc);
	assert_int_equal(r.rc, 0);
	v = r.values;
	assert_int_equal(v[O_COUNT].v.u, 16);
	assert_int_equal(v[O_COUNT].count, 1);
	assert_false(v[O_COUNT].from_default);
	assert_string_equal(v[O_COUNT].text, "0x10");
	assert_int_equal(v[O_OFFSET].v.i, -5);
	assert_int_equal(v[O_SIZE].v.u, 4096);
	assert_int_equal(v[O_BASE].v.u, 0x100000);
	assert_int_equal(v[O_FAST].v.b, 1);
	assert_string_equal(v[O_FAST].text, "on");
	assert_int_equal(v[O_VERBOSE].v.b, 0);
	assert_string_equal(v[O_LABEL].v.s, "hello world");
	assert_int_equal(v[O_MODE].v.e, 1);
	assert_string_equal(v[O_IRQ].v.s, "pic:5");
	assert_int_equal(v[O_WINDOW].v.loc.kind, VDEV_LOC_ADDR);
	assert_int_equal(v[O_WINDOW].v.loc.space, VDEV_SPACE_PIO);
	assert_int_equal(v[O_WINDOW].v.loc.base, 0x3f8);
	assert_int_equal(v[O_WINDOW].v.loc.length, 8);
	done(&r);
}

static void test_bool_words(void **state)
{
	static const char *const on[] = {"on", "yes", "true", "1"};
	static const char *const off[] = {"off", "no", "false", "0"};
	struct run r = {0};
	unsigned i;

	for (i = 0; i < 4; i++) {
		add(&r, "verbose", on[i]);
		validate(&r, &desc);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.values[O_VERBOSE].v.b, 1);
		done(&r);
		add(&r, "verbose", off[i]);
		validate(&r, &desc);
		assert_int_equal(r.rc, 0);
		assert_int_equal(r.values[O_VERBOSE].v.b, 0);
		done(&r);
	}
}

static void test_repeats(void **state)
{
	struct run r = {0};
	const struct vdev_option_value *v;

	add(&r, "count", "5");
	add(&r, "tag", "a");
	add(&r, "count", "7");
	add(&r, "tag", "b");
	add(&r, "tag", "c");
	validate(&r, &desc);
	assert_int_equal(r.rc, 0);
	v = r.values;
	/* Last one wins... */
	assert_int_equal(v[O_COUNT].v.u, 7);
	assert_int_equal(v[O_COUNT].count, 2);
	assert_string_equal(v[O_COUNT].text, "7");
	/* ...and REPEAT keeps them all, in order. */
	assert_int_equal(v[O_TAG].count, 3);
	assert_string_equal(v[O_TAG].texts[0], "a");
	assert_string_equal(v[O_TAG].texts[1], "b");
	assert_string_equal(v[O_TAG].texts[2], "c");
	assert_string_equal(v[O_TAG].v.s, "c");
	done(&r);
}

struct bad_case {
	const char *name, *value;
	const char *where;   /* "file:line:col: error: " expected prefix */
	const char *message; /* expected in the text */
};

static const struct bad_case bad_cases[] = {
    {"cout", "3", "t.conf:2:5: error: ", "vdev test has no option 'cout'; did you mean 'count'?"},
    {"sizes", "3", "t.conf:2:5: error: ", "did you mean 'size'?"},
    {"zzzzzzz", "3", "t.conf:2:5: error: ",
     "vdev test has no option 'zzzzzzz'; its options are: count, offset, size, base, fast"},
    {"count", "200", "t.conf:2:11: error: ", "option 'count' is 200, outside its range 1..100."},
    {"count", "0", "t.conf:2:11: error: ", "outside its range 1..100."},
    {"count", "12x", "t.conf:2:13: error: ", "option 'count' expects an unsigned integer"},
    {"count", "-1", "t.conf:2:11: error: ", "expects an unsigned integer"},
    {"count", "99999999999999999999999", "t.conf:2:11: error: ", "is too large"},
    {"offset", "11", "t.conf:2:12: error: ", "option 'offset' is 11, outside its range -10..10."},
    {"offset", "-11", "t.conf:2:12: error: ", "outside its range -10..10."},
    {"size", "4Q", "t.conf:2:11: error: ", "option 'size' expects a size"},
    {"base", "", "t.conf:2:10: error: ", "option 'base' expects an address"},
    {"verbose", "maybe", "t.conf:2:13: error: ",
     "option 'verbose' is on or off (also yes/no, true/false, 1/0), not 'maybe'."},
    {"mode", "stack", "t.conf:2:10: error: ",
     "option 'mode' is one of fifo, lifo, random; 'stack' is none of them."},
    {"irq", "pic", "t.conf:2:", "option 'irq' names an interrupt as controller:line"},
    {"irq", "pic:x", "t.conf:2:13: error: ", "option 'irq': 'x' is not a line number"},
    {"window", "pci:zz", "t.conf:2:", "option 'window': "},
    {"fast", "period",
     "t.conf:2:10: error: ", "option 'fast' is written alone, or followed by on or off"},
    {"label", NULL, "t.conf:2:5: error: ", "option 'label' needs a value (string)."},
    {"verbose", NULL, "t.conf:2:5: error: ", "option 'verbose' needs a value (bool)."},
};

static void test_errors(void **state)
{
	struct run r = {0};
	unsigned i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		add(&r, c->name, c->value);
		validate(&r, &desc);
		assert_int_equal(r.rc, -EINVAL);
		assert_int_equal(r.errors, 1);
		assert_null(r.values);
		assert_true(strncmp(r.out, c->where, strlen(c->where)) == 0);
		assert_non_null(strstr(r.out, c->message));
		done(&r);
	}
}

static void test_all_errors_reported(void **state)
{
	struct run r = {0};

	add(&r, "cout", "1");
	add(&r, "mode", "x");
	add(&r, "count", "5");
	add(&r, "count", "500"); /* overridden or not, a bad value is reported */
	validate(&r, &desc);
	assert_int_equal(r.rc, -EINVAL);
	assert_int_equal(r.errors, 3);
	assert_non_null(strstr(r.out, "t.conf:2:5: error: "));
	assert_non_null(strstr(r.out, "t.conf:3:10: error: "));
	assert_non_null(strstr(r.out, "t.conf:5:11: error: "));
	done(&r);
}

static const struct vdev_option_spec req_specs[] = {
    {.name = "speed", .type = VDEV_OPT_UINT, .flags = VDEV_OPTF_REQUIRED, .help = "baud rate"},
};

static const struct vdev_descriptor req_desc = {
    VDEV_DESCRIPTOR_INIT, .name = "req",     .version = "1", .access_sizes = VDEV_ACCESS_SIZE(1),
    .options = req_specs, .option_count = 1, .ops = &t_ops,
};

static void test_required(void **state)
{
	struct run r = {0};

	validate(&r, &req_desc);
	assert_int_equal(r.rc, -EINVAL);
	assert_int_equal(r.errors, 1);
	assert_non_null(
	    strstr(r.out, "t.conf:1:1: error: vdev req needs option 'speed' (baud rate)."));
	done(&r);
	add(&r, "speed", "9600");
	validate(&r, &req_desc);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.values[0].v.u, 9600);
	done(&r);
}

static void test_config_build(void **state)
{
	struct conf_loc locs[2] = {0};
	struct conf_intr intr = {.text = "pic:4", .controller = "pic", .has_line = true, .line = 4};
	struct conf_vdev v = {0};
	struct vdev_config *cfg;
	struct vdev_arena *arena = vdev_arena_new();
	struct conf_diag *diag;
	char *out = NULL;
	size_t outlen;
	FILE *f;

	/* A bare address takes the device's default space (PIO here); a
	 * written mem: stays MMIO. */
	locs[0].loc.kind = VDEV_LOC_ADDR;
	locs[0].loc.space = VDEV_SPACE_MMIO;
	locs[0].loc.base = 0x3f8;
	locs[1].loc.kind = VDEV_LOC_ADDR;
	locs[1].loc.space = VDEV_SPACE_MMIO;
	locs[1].loc.base = 0xfe000000;
	locs[1].has_space = true;
	v.pos.file = "t.conf";
	v.pos.line = 1;
	v.pos.col = 1;
	v.type = "test";
	v.locs = locs;
	v.loc_count = 2;
	v.intrs = &intr;
	v.intr_count = 1;
	f = open_memstream(&out, &outlen);
	diag = conf_diag_new(f);
	assert_int_equal(vdev_config_build(&desc, &v, 3, diag, arena, &cfg), 0);
	assert_int_equal(cfg->struct_size, sizeof(*cfg));
	assert_string_equal(cfg->instance_name, "test.3");
	assert_int_equal(cfg->index, 3);
	assert_int_equal(cfg->loc_count, 2);
	assert_int_equal(cfg->locs[0].space, VDEV_SPACE_PIO);
	assert_int_equal(cfg->locs[1].space, VDEV_SPACE_MMIO);
	assert_int_equal(cfg->intr_count, 1);
	assert_string_equal(cfg->intrs[0], "pic:4");
	assert_int_equal(cfg->option_count, O_NUM);
	assert_int_equal(cfg->options[O_COUNT].v.u, 4);

	v.name = "uart0";
	assert_int_equal(vdev_config_build(&desc, &v, 0, diag, arena, &cfg), 0);
	assert_string_equal(cfg->instance_name, "uart0");

	/* VDEV_F_LOC_REQUIRED */
	v.loc_count = 0;
	assert_int_equal(vdev_config_build(&desc, &v, 0, diag, arena, &cfg), -EINVAL);
	assert_null(cfg);
	assert_int_equal(conf_diag_error_count(diag), 1);
	conf_diag_free(diag);
	fclose(f);
	assert_non_null(
	    strstr(out, "t.conf:1:1: error: vdev test needs a location: add 'loc ADDRESS'"));
	free(out);
	vdev_arena_free(arena);
}

static void test_suggest(void **state)
{
	const char *const names[] = {"period", "pulse", "baud"};

	assert_string_equal(vdev_name_suggest("perod", names, 3), "period");
	assert_string_equal(vdev_name_suggest("baudrate", names, 3), "baud");
	assert_null(vdev_name_suggest("xyzzy", names, 3));
}

static void test_arena(void **state)
{
	struct vdev_arena *a = vdev_arena_new();
	char *big, *s;
	unsigned i;

	for (i = 0; i < 1000; i++) {
		s = vdev_arena_strdup(a, "some text");
		assert_string_equal(s, "some text");
		assert_int_equal((uintptr_t)s % 16, 0);
	}
	big = vdev_arena_alloc(a, 100000);
	assert_non_null(big);
	memset(big, 1, 100000);
	assert_null(vdev_arena_calloc(a, SIZE_MAX / 4, 8));
	vdev_arena_free(a);
}

/* Which options take an argument, as the config parser is told it. */
static void test_arity(void **state)
{
	assert_int_equal(vdev_option_arity(&desc, "fast"), 0);	  /* NOARG bool */
	assert_int_equal(vdev_option_arity(&desc, "verbose"), 1); /* plain bool */
	assert_int_equal(vdev_option_arity(&desc, "count"), 1);
	assert_int_equal(vdev_option_arity(&desc, "label"), 1);
	assert_int_equal(vdev_option_arity(&desc, "tag"), 1);
	assert_int_equal(vdev_option_arity(&desc, "loc"), -1); /* the host's, not the schema's */
	assert_int_equal(vdev_option_arity(&desc, "nope"), -1);
	assert_int_equal(vdev_option_arity(&desc, NULL), -1);
	assert_int_equal(vdev_option_arity(NULL, "fast"), -1);

	assert_int_equal(vdev_option_arity_callback((void *)&desc, "test", "fast"), 0);
	assert_int_equal(vdev_option_arity_callback((void *)&desc, "vdev-test", "fast"), 0);
	assert_int_equal(vdev_option_arity_callback((void *)&desc, "test", "label"), 1);
	assert_int_equal(vdev_option_arity_callback((void *)&desc, "other", "fast"), -1);
	assert_int_equal(vdev_option_arity_callback(NULL, "test", "fast"), -1);
}

/* Parse with the descriptor's callback, then validate: every word the parser
 * takes after a NOARG option is one the schema's bool reads, and others are
 * options of their own. */
static void test_arity_parse_and_validate(void **state)
{
	static const char *const words[] = {"on",    "off", "yes", "no",   "true",
					    "false", "1",   "0",   "TRUE", "Off"};
	struct conf_env env = {.option_arity = vdev_option_arity_callback,
			       .option_ctx = (void *)&desc};

	for (unsigned k = 0; k <= sizeof(words) / sizeof(words[0]); k++) {
		struct vdev_option_value *values = NULL;
		struct vdev_arena *arena = vdev_arena_new();
		struct conf_diag *d = conf_diag_new(stderr);
		struct conf_vm *vm;
		char text[128];

		assert_non_null(arena);
		assert_non_null(d);
		if (k < sizeof(words) / sizeof(words[0]))
			snprintf(text, sizeof(text), "vdev test loc io:0x10 fast %s label x\n",
				 words[k]);
		else
			snprintf(text, sizeof(text), "vdev test loc io:0x10 fast label x\n");
		vm = conf_parse_string(text, "t.conf", &env, d);
		assert_non_null(vm);
		assert_int_equal(vdev_options_validate(&desc, vm->vdevs[0].options,
						       vm->vdevs[0].option_count, &vm->vdevs[0].pos,
						       d, arena, &values),
				 0);
		assert_int_equal(conf_diag_error_count(d), 0);
		assert_int_equal(values[O_FAST].count, 1);
		if (k < sizeof(words) / sizeof(words[0]))
			assert_int_equal(values[O_FAST].v.b, k % 2 == 0);
		else
			assert_int_equal(values[O_FAST].v.b, 1);
		assert_int_equal(values[O_LABEL].count, 1);
		assert_string_equal(values[O_LABEL].v.s, "x");
		conf_vm_free(vm);
		conf_diag_free(d);
		vdev_arena_free(arena);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),   cmocka_unit_test(test_every_type),
	    cmocka_unit_test(test_bool_words), cmocka_unit_test(test_repeats),
	    cmocka_unit_test(test_errors),     cmocka_unit_test(test_all_errors_reported),
	    cmocka_unit_test(test_required),   cmocka_unit_test(test_config_build),
	    cmocka_unit_test(test_suggest),    cmocka_unit_test(test_arena),
	    cmocka_unit_test(test_arity),      cmocka_unit_test(test_arity_parse_and_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
