/*
 * conf/lexer.c: words out of config text. A word is a run of non-space
 * characters in which "..." parts may hold spaces (so `hostdev >"|cmd x"` is
 * one word). Every character keeps the position it was written at, so that
 * an error found deep inside a word (a bad digit in a loc spec) points at the
 * right column; characters produced by a substitution point at its `$`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

struct tokbuf {
	struct conf_tokens *toks; /* whose character budget the words use */
	bool too_big;		  /* the budget ran out (CONF_MAX_CHARS) */
	bool bad;
	char *text;
	struct conf_pos *cpos;
	size_t len, cap;
};

static int tokbuf_put(struct tokbuf *b, char c, const struct conf_pos *pos)
{
	if (b->toks->chars >= CONF_MAX_CHARS) {
		b->too_big = true;
		return -E2BIG;
	}
	b->toks->chars++;
	if (b->len + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		char *t = realloc(b->text, cap);

		if (!t)
			return -ENOMEM;
		b->text = t;
		struct conf_pos *p = realloc(b->cpos, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->cpos = p;
		b->cap = cap;
	}
	b->text[b->len] = c;
	b->cpos[b->len] = *pos;
	b->len++;
	return 0;
}

static int tokbuf_puts(struct tokbuf *b, const char *s, const struct conf_pos *pos)
{
	for (; *s; s++)
		if (tokbuf_put(b, *s, pos))
			return -ENOMEM;
	return 0;
}

/* Hand the buffer over to a new token (the buffer is left empty). */
static int tokbuf_emit(struct tokbuf *b, const struct conf_pos *start, const struct conf_pos *end,
		       bool quoted, struct conf_tokens *out)
{
	struct conf_token *t;

	if (tokbuf_put(b, '\0', end))
		return -ENOMEM;
	t = conf_array_push(&out->v, &out->count, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->text = b->text;
	t->cpos = b->cpos;
	t->len = b->len - 1;
	t->pos = *start;
	t->quoted = quoted;
	t->bad = b->bad;
	*b = (struct tokbuf){.toks = out};
	return 0;
}

/* How lexing failed: out of memory, or the character budget (queued as an
 * error at the place it ran out). Frees the word being built. */
static int lex_fail(struct tokbuf *b, const struct conf_pos *pos)
{
	bool too_big = b->too_big;

	free(b->text);
	free(b->cpos);
	if (!too_big)
		return -ENOMEM;
	if (conf_tokens_msg(b->toks, pos, false,
			    "the configuration is too large: more than %u characters in its words "
			    "(after $env{} substitution); is a large variable expanded many times?",
			    CONF_MAX_CHARS))
		return -ENOMEM;
	return -E2BIG;
}

int conf_tokens_push_boundary(struct conf_tokens *out)
{
	struct conf_token *t = conf_array_push(&out->v, &out->count, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->boundary = true;
	return 0;
}

int conf_tokens_msg(struct conf_tokens *t, const struct conf_pos *pos, bool note, const char *fmt,
		    ...)
{
	struct conf_lex_msg *m;
	char *text;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	m = conf_array_push(&t->msgs, &t->msg_count, sizeof(*m));
	if (!m) {
		free(text);
		return -ENOMEM;
	}
	m->token = t->count;
	m->note = note;
	m->pos = *pos;
	m->text = text;
	return 0;
}

void conf_tokens_flush(struct conf_tokens *t, unsigned upto, struct conf_diag *diag)
{
	for (unsigned i = 0; i < t->msg_count; i++) {
		struct conf_lex_msg *m = &t->msgs[i];

		if (!m->text || m->token >= upto)
			continue;
		if (m->note)
			conf_diag_note(diag, &m->pos, "%s", m->text);
		else
			conf_diag_error(diag, &m->pos, "%s", m->text);
		free(m->text);
		m->text = NULL;
	}
}

void conf_tokens_free(struct conf_tokens *t)
{
	for (unsigned i = 0; i < t->count; i++) {
		free(t->v[i].text);
		free(t->v[i].cpos);
	}
	free(t->v);
	for (unsigned i = 0; i < t->msg_count; i++)
		free(t->msgs[i].text);
	free(t->msgs);
	memset(t, 0, sizeof(*t));
}

/* Expand the substitution at s[0] == '$' into b. Returns the number of
 * input bytes used (at least 1), or -ENOMEM. */
static long lex_dollar(const char *s, const char *stop, const struct conf_pos *pos,
		       const struct conf_env *env, struct conf_tokens *out, struct tokbuf *b)
{
	char *value = NULL;
	size_t used = 0;
	int rc = conf_subst(s, stop, env, out, pos, &value, &used);

	if (rc == -ENOMEM)
		return -ENOMEM;
	if (rc == 0)
		return tokbuf_put(b, '$', pos) ? -ENOMEM : 1;
	if (rc < 0)
		b->bad = true;
	if (rc > 0) {
		rc = tokbuf_puts(b, value, pos);
		free(value);
		if (rc)
			return -ENOMEM;
	}
	/* After an error the construct is dropped; the caller's error count
	 * already makes the parse fail. */
	return used ? (long)used : 1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int conf_lex_text(const char *text, const char *file, const struct conf_env *env,
		  struct conf_tokens *out)
{
	struct conf_pos pos = {file, 1, 1}, start;
	struct tokbuf b = {.toks = out};
	const char *s = text;
	bool quoted;
	long used;

#define ADVANCE()                                                                                  \
	do {                                                                                       \
		if (*s == '\n') {                                                                  \
			pos.line++;                                                                \
			pos.col = 1;                                                               \
		} else {                                                                           \
			pos.col++;                                                                 \
		}                                                                                  \
		s++;                                                                               \
	} while (0)

	while (*s) {
		if (is_space(*s)) {
			ADVANCE();
			continue;
		}
		if (*s == '#') {
			while (*s && *s != '\n')
				ADVANCE();
			continue;
		}
		start = pos;
		quoted = false;
		while (*s && !is_space(*s)) {
			if (*s == '"') {
				struct conf_pos open = pos;

				quoted = true;
				ADVANCE();
				while (*s && *s != '"') {
					if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) {
						ADVANCE();
						if (tokbuf_put(&b, *s, &pos))
							goto nomem;
						ADVANCE();
					} else if (*s == '$') {
						used = lex_dollar(s, "\"\n", &pos, env, out, &b);
						if (used < 0)
							goto nomem;
						for (long i = 0; i < used; i++)
							ADVANCE();
					} else {
						if (tokbuf_put(&b, *s, &pos))
							goto nomem;
						ADVANCE();
					}
				}
				if (!*s) {
					if (conf_tokens_msg(
						out, &open, false,
						"unterminated quoted string: missing '\"'"))
						goto nomem;
					/* The word is kept, marked bad, so that the
					 * option before it does not also complain. */
					b.bad = true;
					if (tokbuf_emit(&b, &start, &pos, true, out))
						goto nomem;
					return 0;
				}
				ADVANCE(); /* the closing quote */
			} else if (*s == '$') {
				used = lex_dollar(s, " \t\r\n\v\f\"", &pos, env, out, &b);
				if (used < 0)
					goto nomem;
				for (long i = 0; i < used; i++)
					ADVANCE();
			} else {
				if (tokbuf_put(&b, *s, &pos))
					goto nomem;
				ADVANCE();
			}
		}
		if (tokbuf_emit(&b, &start, &pos, quoted, out))
			goto nomem;
	}
	return 0;
#undef ADVANCE
nomem:
	return lex_fail(&b, &pos);
}

int conf_lex_word(const char *word, const char *file, unsigned col, const struct conf_env *env,
		  struct conf_tokens *out)
{
	struct conf_pos pos = {file, 1, col}, start = pos;
	struct tokbuf b = {.toks = out};
	const char *s = word;
	long used;

	while (*s) {
		if (*s == '$') {
			used = lex_dollar(s, "", &pos, env, out, &b);
			if (used < 0)
				goto nomem;
		} else {
			if (tokbuf_put(&b, *s, &pos))
				goto nomem;
			used = 1;
		}
		s += used;
		pos.col += (unsigned)used;
	}
	/* A command-line word was quoted by the shell if it needed to be: it
	 * is never taken for an option keyword only when it holds a space. */
	if (tokbuf_emit(&b, &start, &pos, strpbrk(word, " \t\n") != NULL, out))
		goto nomem;
	return 0;
nomem:
	return lex_fail(&b, &pos);
}
