/*
 * conf/diag.c: the diagnostics sink. Errors and notes are printed at once
 * (so that a crash later still leaves them on the terminal) with the source
 * line and a caret, the way compilers do it, and errors are counted so that
 * the caller can decide to exit with CONF_EXIT_CONFIG.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

struct conf_diag_source {
	char *file;
	char *text;
};

/* A hostile config can have an error on every line: print the first ones. */
#define DIAG_MAX_PRINTED 100

struct conf_diag {
	FILE *out;
	unsigned errors;
	struct conf_diag_source *sources;
	unsigned source_count;
};

struct conf_diag *conf_diag_new(FILE *out)
{
	struct conf_diag *d = calloc(1, sizeof(*d));

	if (d)
		d->out = out;
	return d;
}

void conf_diag_free(struct conf_diag *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->source_count; i++) {
		free(d->sources[i].file);
		free(d->sources[i].text);
	}
	free(d->sources);
	free(d);
}

int conf_diag_source(struct conf_diag *d, const char *file, const char *text)
{
	struct conf_diag_source *s;
	char *f, *t;

	if (!d || !file || !text)
		return -EINVAL;
	f = strdup(file);
	t = strdup(text);
	if (!f || !t) {
		free(f);
		free(t);
		return -ENOMEM;
	}
	/* A file read again (the same @file twice) replaces the old text. */
	for (unsigned i = 0; i < d->source_count; i++) {
		if (strcmp(d->sources[i].file, file) == 0) {
			free(d->sources[i].file);
			free(d->sources[i].text);
			d->sources[i].file = f;
			d->sources[i].text = t;
			return 0;
		}
	}
	s = conf_array_push(&d->sources, &d->source_count, sizeof(*s));
	if (!s) {
		free(f);
		free(t);
		return -ENOMEM;
	}
	s->file = f;
	s->text = t;
	return 0;
}

static const char *diag_find_line(const struct conf_diag *d, const struct conf_pos *pos,
				  size_t *len)
{
	const char *p = NULL;

	for (unsigned i = 0; i < d->source_count; i++)
		if (strcmp(d->sources[i].file, pos->file) == 0)
			p = d->sources[i].text;
	if (!p || pos->line == 0)
		return NULL;
	for (unsigned l = 1; l < pos->line; l++) {
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	*len = strcspn(p, "\r\n");
	return p;
}

static void diag_vprint(struct conf_diag *d, const struct conf_pos *pos, const char *kind,
			const char *fmt, va_list ap)
{
	FILE *out = d->out ? d->out : stderr;
	const char *line = NULL;
	size_t len = 0;

	if (pos && pos->file) {
		fprintf(out, "%s:%u:%u: %s: ", pos->file, pos->line, pos->col, kind);
		line = diag_find_line(d, pos, &len);
	} else {
		fprintf(out, "%s: ", kind);
	}
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	if (!line)
		return;
	fprintf(out, "%.*s\n", (int)len, line);
	/* Tabs are kept so that the caret lines up whatever the tab width. */
	for (size_t i = 0; pos->col > 0 && i < (size_t)pos->col - 1 && i < len; i++)
		fputc(line[i] == '\t' ? '\t' : ' ', out);
	fputs("^\n", out);
}

void conf_diag_error(struct conf_diag *d, const struct conf_pos *pos, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	d->errors++;
	if (d->errors > DIAG_MAX_PRINTED) {
		if (d->errors == DIAG_MAX_PRINTED + 1)
			fprintf(d->out ? d->out : stderr,
				"error: more than %u errors: the rest are counted, not shown\n",
				DIAG_MAX_PRINTED);
		return;
	}
	va_start(ap, fmt);
	diag_vprint(d, pos, "error", fmt, ap);
	va_end(ap);
}

void conf_diag_note(struct conf_diag *d, const struct conf_pos *pos, const char *fmt, ...)
{
	va_list ap;

	if (!d || d->errors > DIAG_MAX_PRINTED)
		return; /* the note of an error not shown */
	va_start(ap, fmt);
	diag_vprint(d, pos, "note", fmt, ap);
	va_end(ap);
}

unsigned conf_diag_error_count(const struct conf_diag *d)
{
	return d ? d->errors : 0;
}
