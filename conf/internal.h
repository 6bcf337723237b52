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
