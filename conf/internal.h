/*
 * conf/internal.h: what the files of conf/ share and nobody else sees.
 */
#ifndef VDM_CONF_INTERNAL_H
#define VDM_CONF_INTERNAL_H

#include "conf/conf.h"

/* Growable array helper: make room for one more element of `size` bytes in
 * *array (holding *count). Returns a pointer to the new zeroed element, or
 * NULL when out of memory. */
void *conf_array_push(void *array_ptr, unsigned *count, size_t size);

/* Edit distance (Levenshtein, capped at a few edits) between two words. */
unsigned conf_edit_distance(const char *a, const char *b);
/* The candidate closest to `word`, or NULL when none is close enough. */
const char *conf_suggest(const char *word, const char *const *candidates, unsigned count);

/*
 * The full location parse the parser uses: conf_loc_parse plus whether a
 * space prefix was written, and (when `pass` is true) the pass-through
 * forms `spec[,len][,flags][=host]`.
 */
struct conf_loc_ext {
	bool has_space;
	const char *flags_start; /* into text; NULL when no flags */
	size_t flags_len;
	bool has_host;
	struct vdev_loc host;
};
int conf_loc_parse_ext(const char *text, enum vdev_space default_space, bool pass,
		       struct vdev_loc *loc, struct conf_loc_ext *ext, char *errbuf, size_t errlen,
		       size_t *bad_offset);

/* One number in text[s, e) (flags as conf_number_parse), `what` naming it
 * in the message put in errbuf; *bad_offset is relative to text. */
int conf_span_number(const char *text, size_t s, size_t e, unsigned flags, const char *what,
		     uint64_t *v, char *errbuf, size_t errlen, size_t *bad_offset);

/* The fields of one `intr` value: "ctrl:line", "ctrl", or (pass/reserve)
 * "line" with pass attributes `,u`, `,t`, `=vector`. */
struct conf_intr_ext {
	bool unmask, ist, has_vector;
	unsigned vector;
};
int conf_intr_parse(const char *text, size_t len, bool pass, char **controller, bool *has_line,
		    unsigned *line, struct conf_intr_ext *ext, char *errbuf, size_t errlen,
		    size_t *bad_offset);

#endif /* VDM_CONF_INTERNAL_H */

/* ------------------------------------------------------------ the lexer */

/* One word of input, after quote removal and substitution. */
struct conf_token {
	char *text; /* NUL-terminated */
	size_t len;
	struct conf_pos pos;   /* of the first character as written */
	struct conf_pos *cpos; /* len + 1 entries: where each character came from */
	bool quoted;	       /* some part was quoted: never an option keyword */
	bool boundary;	       /* not a word: the start or end of an @file */
	bool bad;	       /* a substitution in it failed (already reported) */
};

/* A lexer diagnostic, held back so that the parser reports it in input
 * order with its own errors (when it reaches word `token`). */
struct conf_lex_msg {
	unsigned token;
	bool note;
	struct conf_pos pos;
	char *text;
};

struct conf_tokens {
	struct conf_token *v;
	unsigned count;
	struct conf_lex_msg *msgs;
	unsigned msg_count;
	size_t chars; /* characters in words so far, after substitution (CONF_MAX_CHARS) */
};

/*
 * The most characters all the words of one configuration may hold, after
 * $env{} substitution: each costs some 20 bytes of memory (its position is
 * kept for diagnostics), and 20 000 uses of a 100 KB variable must be an
 * error at the place it happens, not gigabytes.
 */
#define CONF_MAX_CHARS (4u << 20)

/* Queue a diagnostic about the word being built (index t->count). */
int conf_tokens_msg(struct conf_tokens *t, const struct conf_pos *pos, bool note, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
/* Report the queued diagnostics of words before `upto` to diag. */
void conf_tokens_flush(struct conf_tokens *t, unsigned upto, struct conf_diag *diag);

/*
 * conf_lex_text: split the text of one config file (named `file`, a string
 * that outlives the tokens) into words: whitespace separates, `#` at the
 * start of a word comments to end of line, "..." quotes with \" and \\.
 * Substitutions are expanded. Errors go to diag; lexing goes on after a bad
 * substitution, and stops at an unterminated quote. Returns 0, -ENOMEM, or
 * -E2BIG when the words of the whole configuration passed CONF_MAX_CHARS
 * (an error is queued at that place: stop reading more).
 */
int conf_lex_text(const char *text, const char *file, const struct conf_env *env,
		  struct conf_tokens *out);
/* conf_lex_word: one command-line word, at column `col` of line 1 of
 * `file`: a single token (the shell already split and unquoted it), with
 * substitutions expanded. Returns what conf_lex_text returns. */
int conf_lex_word(const char *word, const char *file, unsigned col, const struct conf_env *env,
		  struct conf_tokens *out);
int conf_tokens_push_boundary(struct conf_tokens *out);
void conf_tokens_free(struct conf_tokens *t);

/*
 * conf_subst: `s` starts with '$'. When it starts a substitution
 * ($env{NAME}, $asinfo_start{NAME}, $asinfo_length{NAME}), returns 1 with
 * *value (malloc'd) and *consumed; an error is reported at `pos` and
 * returns -EINVAL with *consumed covering the bad construct. Returns 0 when
 * the '$' is a plain character. `stop` lists characters that end the name
 * search (besides NUL). Errors are queued on `toks`. -ENOMEM when out of
 * memory.
 */
int conf_subst(const char *s, const char *stop, const struct conf_env *env,
	       struct conf_tokens *toks, const struct conf_pos *pos, char **value,
	       size_t *consumed);

/* ------------------------------------------------------------ the tree */

/* conf_vm_new: an empty VM with the documented defaults. */
struct conf_vm *conf_vm_new(void);
/* conf_vm_strndup: a string owned by the VM (freed by conf_vm_free). */
char *conf_vm_strndup(struct conf_vm *vm, const char *s, size_t n);
char *conf_vm_strdup(struct conf_vm *vm, const char *s);
/* conf_vm_add_file: remember an input file name; the returned string is
 * the one positions point to. */
const char *conf_vm_add_file(struct conf_vm *vm, const char *name);

/* The parser's entry on a token list (conf_parse_string/argv lex first). */
struct conf_vm *conf_parse_tokens(struct conf_vm *vm, struct conf_tokens *toks,
				  const struct conf_env *env, struct conf_diag *diag);
