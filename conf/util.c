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
	unsigned row[SUGGEST_MAX_LEN + 1];

	/* Long words are never typos of option names: no table needed. */
	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return ~0u;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
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
