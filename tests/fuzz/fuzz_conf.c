/*
 * libFuzzer target for conf/: any bytes, as a config file and as
 * command-line words, must parse or fail cleanly: no crash, hang or leak,
 * and a parsed VM must print. The number and loc parsers get the same
 * bytes. Built and run by tests/fuzz/run (`make fuzz`).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_getenv(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "HOST_DEV") == 0)
		return "/dev/ser3";
	if (strcmp(name, "LOOP") == 0)
		return "$env{LOOP}"; /* substitution is not recursive */
	return NULL;
}

static const struct conf_asinfo fuzz_asinfo[] = {
    {"guestmem1", 0x80000000, 0x100000},
    {"top", 0xfffffffffffff000ull, 0x1000},
};

/* A schema answer like a plugin's: `start` takes no argument, names a
 * device knows take one, anything else is unknown (the parser's fallback). */
static int fuzz_option_arity(void *ctx, const char *vdev_type, const char *option)
{
	(void)ctx;
	(void)vdev_type;
	if (strcmp(option, "start") == 0)
		return 0;
	if (strcmp(option, "period") == 0 || strcmp(option, "hostdev") == 0)
		return 1;
	return -1;
}

static const struct conf_env fuzz_env = {
    .getenv = fuzz_getenv,
    .asinfo = fuzz_asinfo,
    .asinfo_count = 2,
    .option_arity = fuzz_option_arity,
};

static FILE *sink(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "w");
	return f;
}

static void parse_text(const char *text)
{
	struct conf_diag *d = conf_diag_new(sink());
	struct conf_vm *vm = conf_parse_string(text, "fuzz.vmconf", &fuzz_env, d);

	if (vm)
		conf_vm_print(vm, sink());
	conf_vm_free(vm);
	conf_diag_free(d);
}

/* The same bytes as command-line words, one per line (no @file: the
 * fuzzer must not read the file system). */
static void parse_words(char *text)
{
	char *argv[64];
	int argc = 0;

	for (char *s = strtok(text, "\n"); s && argc < 64; s = strtok(NULL, "\n")) {
		if (s[0] == '@')
			s[0] = '_';
		argv[argc++] = s;
	}
	struct conf_diag *d = conf_diag_new(sink());
	struct conf_vm *vm = conf_parse_argv(argc, argv, &fuzz_env, d);

	if (vm)
		conf_vm_print(vm, sink());
	conf_vm_free(vm);
	conf_diag_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct vdev_loc loc;
	char err[160];
	uint64_t v;
	size_t bad;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	parse_text(text);
	conf_number_parse(text, (unsigned)(size & 3), &v, &bad);
	conf_loc_parse(text, (size & 4) ? VDEV_SPACE_PIO : VDEV_SPACE_MMIO, &loc, err, sizeof(err),
		       &bad);
	parse_words(text);
	free(text);
	return 0;
}
