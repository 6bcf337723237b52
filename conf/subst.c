/*
 * conf/subst.c: the textual substitutions of the qvm language:
 * $env{NAME}, $asinfo_start{NAME} and $asinfo_length{NAME}. They are
 * expanded inside a word before the word is parsed, so a substituted value
 * can be part of a loc spec (`loc 0x10000000,$asinfo_length{guestmem1}`).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

static const char *subst_getenv(const struct conf_env *env, const char *name)
{
	if (env && env->getenv)
		return env->getenv(env->getenv_ctx, name);
	return getenv(name);
}

static const struct conf_asinfo *asinfo_find(const struct conf_env *env, const char *name)
{
	if (!env)
		return NULL;
	/* First match wins: --asinfo entries are put first by the caller. */
	for (unsigned i = 0; i < env->asinfo_count; i++)
		if (env->asinfo[i].name && strcmp(env->asinfo[i].name, name) == 0)
			return &env->asinfo[i];
	return NULL;
}

static void asinfo_suggest(const struct conf_env *env, const char *name, struct conf_tokens *toks,
			   const struct conf_pos *pos)
{
	const char *best = NULL;
	unsigned best_d = ~0u;

	if (!env)
		return;
	for (unsigned i = 0; i < env->asinfo_count; i++) {
		unsigned dist;

		if (!env->asinfo[i].name)
			continue;
		dist = conf_edit_distance(name, env->asinfo[i].name);
		if (dist < best_d) {
			best_d = dist;
			best = env->asinfo[i].name;
		}
	}
	if (best && best_d <= 2)
		conf_tokens_msg(toks, pos, true, "did you mean '%s'?", best);
}

int conf_subst(const char *s, const char *stop, const struct conf_env *env,
	       struct conf_tokens *toks, const struct conf_pos *pos, char **value, size_t *consumed)
{
	static const struct {
		const char *prefix;
		int kind; /* 0 env, 1 start, 2 length */
	} forms[] = {
	    {"$env{", 0},
	    {"$asinfo_start{", 1},
	    {"$asinfo_length{", 2},
	};
	const char *name_start = NULL, *close;
	const struct conf_asinfo *as;
	char *name, buf[32];
	const char *val;
	int kind = -1;
	size_t n;

	*value = NULL;
	*consumed = 0;
	for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t plen = strlen(forms[i].prefix);

		if (strncmp(s, forms[i].prefix, plen) == 0) {
			kind = forms[i].kind;
			name_start = s + plen;
			break;
		}
	}
	if (kind < 0)
		return 0; /* a plain '$' */
	n = strcspn(name_start, stop);
	close = memchr(name_start, '}', n);
	if (!close) {
		*consumed = (size_t)(name_start - s) + n;
		conf_tokens_msg(toks, pos, false,
				"unterminated substitution: missing '}' after '%.*s'",
				(int)(name_start - s), s);
		return -EINVAL;
	}
	*consumed = (size_t)(close - s) + 1;
	name = strndup(name_start, (size_t)(close - name_start));
	if (!name)
		return -ENOMEM;
	if (!name[0]) {
		conf_tokens_msg(toks, pos, false, "empty name in '%.*s'", (int)*consumed, s);
		free(name);
		return -EINVAL;
	}
	if (kind == 0) {
		val = subst_getenv(env, name);
		if (!val) {
			conf_tokens_msg(toks, pos, false, "environment variable '%s' is not set",
					name);
			free(name);
			return -EINVAL;
		}
		*value = strdup(val);
		free(name);
		return *value ? 1 : -ENOMEM;
	}
	if (strchr(name, '/')) {
		/* The seed: $asinfo_start{/foo/guestmem1} is wrong, the name is
		 * the asinfo entry's own name, not a path. */
		const char *base = strrchr(name, '/') + 1;

		conf_tokens_msg(
		    toks, pos, false,
		    "asinfo names are plain names, not paths: write '%s{%s}', not '%.*s'",
		    kind == 1 ? "$asinfo_start" : "$asinfo_length", base, (int)*consumed, s);
		free(name);
		return -EINVAL;
	}
	as = asinfo_find(env, name);
	if (!as) {
		conf_tokens_msg(toks, pos, false, "no asinfo entry named '%s'", name);
		asinfo_suggest(env, name, toks, pos);
		free(name);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "0x%" PRIx64, kind == 1 ? as->start : as->length);
	free(name);
	*value = strdup(buf);
	return *value ? 1 : -ENOMEM;
}
