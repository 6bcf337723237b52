/*
 * conf/util.c: small helpers shared by the parser: growable arrays and the
 * "did you mean" suggestion (edit distance).
 */
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

void *conf_array_push(void *array_ptr, unsigned *count, size_t size)
{
	void **array = array_ptr;
	unsigned n = *count;
	char *p;

	/* Grow by powers of two: the capacity is implied by the count. */
	if ((n & (n - 1)) == 0) {
		unsigned cap = n ? n * 2 : 1;

		if (cap < n || (size_t)cap > SIZE_MAX / size)
			return NULL;
		p = realloc(*array, (size_t)cap * size);
		if (!p)
			return NULL;
		*array = p;
	}
	p = (char *)*array + (size_t)n * size;
	memset(p, 0, size);
	*count = n + 1;
	return p;
}

#define SUGGEST_MAX_LEN 64

unsigned conf_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned rows[3][SUGGEST_MAX_LEN + 1];
	unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	/* Long words are never typos of option names: no table needed. */
	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return ~0u;
	/* Levenshtein plus adjacent transpositions ("rma" is one edit from
	 * "ram"): the optimal-string-alignment distance, three rows. */
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned best = prev[j - 1] + (a[i - 1] != b[j - 1]);

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		unsigned *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *conf_suggest(const char *word, const char *const *candidates, unsigned count)
{
	const char *best = NULL;
	unsigned best_d = ~0u;
	size_t len = strlen(word);
	/* One edit for short words, two for longer ones: beyond that the
	 * suggestion is more confusing than helpful. */
	unsigned limit = len <= 4 ? 1 : 2;

	for (unsigned i = 0; i < count; i++) {
		unsigned dist;

		if (!candidates[i])
			continue;
		dist = conf_edit_distance(word, candidates[i]);
		if (dist < best_d) {
			best_d = dist;
			best = candidates[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

const char *conf_system_name_check(const char *name, size_t *bad_offset)
{
	size_t len = strlen(name);

	if (bad_offset)
		*bad_offset = 0;
	if (len == 0)
		return "a system name cannot be empty";
	if (name[0] == '.' || name[0] == '-')
		return "a system name cannot start with '.' or '-'";
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-')
			continue;
		if (bad_offset)
			*bad_offset = i;
		return "a system name is letters, digits, '.', '_' and '-' (it names the control "
		       "socket file)";
	}
	if (len > CONF_SYSTEM_NAME_MAX) {
		if (bad_offset)
			*bad_offset = CONF_SYSTEM_NAME_MAX;
		return "a system name is at most 64 characters";
	}
	return NULL;
}
