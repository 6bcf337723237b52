/*
 * libFuzzer target for the translation of libxl's device-model command
 * line (devmodel/xl/xl_args.c): the input's lines are the arguments. Any
 * argv must be translated or refused cleanly (no crash, leak, unbounded
 * text), and what is translated must read back through conf/ as it was
 * meant: every disk's hostdev is the file of its -drive, byte for byte,
 * whatever quotes, backslashes, '#' or ",," the path holds. Built and run
 * by tests/fuzz/run (`make fuzz`).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "devmodel/xl/xl_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static FILE *sink(void)
{
	static FILE *f;

	if (!f)
		f = fopen("/dev/null", "w");
	return f;
}

/* The file= of a -drive as QEMU reads it (",," a comma, the last one wins); NULL if none. */
static char *drive_file(const char *opt)
{
	const char *p = opt;
	char *out = malloc(strlen(opt) + 1), *w;
	bool found = false;

	while (out && *p) {
		bool is_file = strncmp(p, "file=", 5) == 0;

		if (is_file) {
			p += 5;
			w = out;
			found = true;
		}
		while (*p && !(*p == ',' && p[1] != ',')) {
			if (*p == ',')
				p++;
			if (is_file)
				*w++ = *p;
			p++;
		}
		if (is_file)
			*w = '\0';
		if (*p)
			p++;
	}
	if (!found) {
		free(out);
		return NULL;
	}
	return out;
}

static void check_disks(int argc, char **argv, const struct conf_vm *vm)
{
	unsigned disk = 0;

	for (int i = 1; i + 1 < argc; i++) {
		char *file;

		if (strcmp(argv[i], "-drive") || !(file = drive_file(argv[i + 1])))
			continue;
		/* find the next virtio-blk; its last option is hostdev */
		for (; disk < vm->vdev_count; disk++)
			if (!strcmp(vm->vdevs[disk].type, "virtio-blk"))
				break;
		if (disk < vm->vdev_count && *file) {
			const struct conf_vdev *v = &vm->vdevs[disk];
			const char *got = v->options[v->option_count - 1].value;

			/* read-only's "<", and "./" before a relative path, are all that may differ */
			if (*got == '<')
				got++;
			if (file[0] != '/' && strncmp(got, "./", 2) == 0)
				got += 2;
			if (strcmp(got, file) != 0)
				abort(); /* the path did not survive the translation */
			disk++;
		}
		free(file);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[MAX_ARGS + 1];
	int argc = 0;
	struct xl_args a;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = "xl-dm";
	for (char *save = NULL, *s = strtok_r(text, "\n", &save); s && argc < MAX_ARGS;
	     s = strtok_r(NULL, "\n", &save))
		argv[argc++] = s;
	argv[argc] = NULL;
	if (xl_args_parse(argc, argv, &a, sink()) == 0) {
		struct conf_text texts[2] = {{XL_ARGS_MACHINE, a.machine_text},
					     {XL_ARGS_DEVICES, a.devices_text}};
		char *words[] = {"@" XL_ARGS_MACHINE, "@" XL_ARGS_DEVICES};
		struct conf_env env = {.texts = texts, .text_count = 2};
		struct conf_diag *d = conf_diag_new(sink());
		struct conf_vm *vm = conf_parse_argv(2, words, &env, d);

		if (vm)
			check_disks(argc, argv, vm);
		conf_vm_free(vm);
		conf_diag_free(d);
	}
	xl_args_free(&a);
	free(text);
	return 0;
}
