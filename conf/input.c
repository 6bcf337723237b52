/*
 * conf/input.c: where configuration text comes from: one buffer, or the
 * command line with its @file arguments, read in order as one stream.
 * Every source is registered with the diag so that errors quote its lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

#define CMDLINE_FILE  "<command line>"
#define MAX_FILE_SIZE (16u << 20)

static struct conf_vm *finish(struct conf_vm *vm, struct conf_tokens *toks,
			      const struct conf_env *env, struct conf_diag *diag,
			      unsigned errors_before)
{
	conf_parse_tokens(vm, toks, env, diag);
	conf_tokens_free(toks);
	if (conf_diag_error_count(diag) != errors_before) {
		conf_vm_free(vm);
		return NULL;
	}
	return vm;
}

struct conf_vm *conf_parse_string(const char *text, const char *file, const struct conf_env *env,
				  struct conf_diag *diag)
{
	unsigned errors_before = conf_diag_error_count(diag);
	struct conf_tokens toks = {0};
	struct conf_vm *vm;
	const char *name;

	if (!diag)
		return NULL;
	vm = conf_vm_new();
	name = vm ? conf_vm_add_file(vm, file ? file : "<string>") : NULL;
	if (!name || !text) {
		conf_diag_error(diag, NULL, text ? "out of memory" : "no configuration text");
		conf_vm_free(vm);
		return NULL;
	}
	conf_diag_source(diag, name, text);
	if (conf_lex_text(text, name, env, &toks) == -ENOMEM)
		conf_diag_error(diag, NULL, "out of memory while reading %s", name);
	return finish(vm, &toks, env, diag, errors_before);
}

/* The whole of a file as text; NULL with *why saying why not. */
static char *read_file(const char *path, const char **why)
{
	char *text;
	size_t len;

	if (conf_file_read(path, MAX_FILE_SIZE, &text, &len, why) < 0)
		return NULL;
	if (strlen(text) != len) {
		free(text);
		*why = "it contains a NUL byte: not a text file";
		return NULL;
	}
	return text;
}

/* A copy of the text env names `name` (conf_env.texts); NULL if none. */
static char *conf_text_find(const struct conf_env *env, const char *name)
{
	for (unsigned i = 0; env && i < env->text_count; i++)
		if (env->texts[i].name && env->texts[i].text &&
		    strcmp(env->texts[i].name, name) == 0)
			return strdup(env->texts[i].text);
	return NULL;
}

struct conf_vm *conf_parse_argv(int argc, char *const *argv, const struct conf_env *env,
				struct conf_diag *diag)
{
	unsigned errors_before = conf_diag_error_count(diag);
	struct conf_tokens toks = {0};
	struct conf_vm *vm;
	const char *cmd_name = NULL;
	const char *reading = "the command line"; /* for an out-of-memory message */
	char *joined = NULL;
	size_t jlen = 0;
	unsigned col = 1;
	bool in_words = false;

	if (!diag)
		return NULL;
	vm = conf_vm_new();
	if (!vm)
		goto nomem;
	/* The joined command line, for positions and quoting in errors. */
	for (int i = 0; i < argc; i++)
		jlen += strlen(argv[i]) + 1;
	joined = calloc(1, jlen + 1);
	if (!joined)
		goto nomem;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(joined, " ");
		strcat(joined, argv[i]);
	}
	for (char *c = joined; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (argc > 0) {
		cmd_name = conf_vm_add_file(vm, CMDLINE_FILE);
		if (!cmd_name)
			goto nomem;
		conf_diag_source(diag, cmd_name, joined);
	}

	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];

		if (w[0] == '@') {
			struct conf_pos pos = {cmd_name, 1, col};
			const char *name, *why = NULL;
			char *text;

			/* A file is a unit: a context open before it ends at
			 * its start, and one it opens ends at its end. */
			if (in_words && conf_tokens_push_boundary(&toks))
				goto nomem;
			in_words = false;
			/* Reported in order with the parser's errors. */
			if (!w[1]) {
				if (conf_tokens_msg(&toks, &pos, false,
						    "'@' needs a file name: @file.vmconf"))
					goto nomem;
			} else if (!(text = conf_text_find(env, w + 1)) &&
				   !(text = read_file(w + 1, &why))) {
				if (conf_tokens_msg(&toks, &pos, false, "cannot read '%s': %s",
						    w + 1, why))
					goto nomem;
			} else {
				name = conf_vm_add_file(vm, w + 1);
				if (!name) {
					free(text);
					goto nomem;
				}
				conf_diag_source(diag, name, text);
				reading = name;
				int rc = conf_lex_text(text, name, env, &toks);
				free(text);
				if (rc == -E2BIG)
					break; /* reported where it happened: read no more */
				if (rc < 0 || conf_tokens_push_boundary(&toks))
					goto nomem;
				reading = "the command line";
			}
		} else {
			int rc = conf_lex_word(w, cmd_name, col, env, &toks);

			if (rc == -E2BIG)
				break;
			if (rc < 0)
				goto nomem;
			in_words = true;
		}
		col += (unsigned)strlen(w) + 1;
	}
	free(joined);
	return finish(vm, &toks, env, diag, errors_before);
nomem:
	conf_diag_error(diag, NULL, "out of memory while reading %s", reading);
	conf_tokens_free(&toks);
	free(joined);
	conf_vm_free(vm);
	return NULL;
}
