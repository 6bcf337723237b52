/*
 * sdk/host/options.c: typed option values from config text, against a schema.
 *
 * Numbers and locations are parsed by conf/ (conf_number_parse,
 * conf_loc_parse) so that a device option reads exactly like the rest of the
 * configuration language.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdk/host/options.h"

const char *vdev_option_type_name(enum vdev_option_type type)
{
	switch (type) {
	case VDEV_OPT_INT:
		return "int";
	case VDEV_OPT_UINT:
		return "uint";
	case VDEV_OPT_SIZE:
		return "size";
	case VDEV_OPT_ADDR:
		return "addr";
	case VDEV_OPT_BOOL:
		return "bool";
	case VDEV_OPT_STRING:
		return "string";
	case VDEV_OPT_ENUM:
		return "enum";
	case VDEV_OPT_INTR:
		return "intr";
	case VDEV_OPT_LOC:
		return "loc";
	}
	return "?";
}

static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int parse_number(const struct vdev_option_spec *spec, const char *text,
			struct vdev_option_value *value, char *err, size_t errlen,
			size_t *bad_offset)
{
	unsigned flags = 0;
	const char *what;
	uint64_t u = 0;
	size_t bad = 0;
	int rc;

	switch (spec->type) {
	case VDEV_OPT_INT:
		flags = CONF_NUM_SIGNED;
		what = "a signed integer (decimal or 0x hex)";
		break;
	case VDEV_OPT_UINT:
		what = "an unsigned integer (decimal or 0x hex)";
		break;
	case VDEV_OPT_SIZE:
		flags = CONF_NUM_MULTIPLIERS;
		what = "a size (decimal or 0x hex, optional K/M/G suffix)";
		break;
	default:
		flags = CONF_NUM_MULTIPLIERS;
		what = "an address (decimal or 0x hex, optional K/M/G suffix)";
		break;
	}
	rc = conf_number_parse(text, flags, &u, &bad);
	if (rc == -ERANGE) {
		fmt_err(err, errlen, "'%s' is too large for option '%s'.", text, spec->name);
		return -EINVAL;
	}
	if (rc < 0) {
		*bad_offset = bad <= strlen(text) ? bad : 0;
		fmt_err(err, errlen, "option '%s' expects %s, not '%s'.", spec->name, what, text);
		return -EINVAL;
	}
	if (spec->type == VDEV_OPT_INT)
		value->v.i = (int64_t)u;
	else
		value->v.u = u;
	if (!(spec->flags & VDEV_OPTF_RANGE))
		return 0;
	if (spec->type == VDEV_OPT_INT) {
		if (value->v.i < spec->min || value->v.i > spec->max) {
			fmt_err(err, errlen,
				"option '%s' is %" PRId64 ", outside its range %" PRId64
				"..%" PRId64 ".",
				spec->name, value->v.i, spec->min, spec->max);
			return -EINVAL;
		}
	} else if (u < (uint64_t)spec->min || u > (uint64_t)spec->max) {
		if (spec->type == VDEV_OPT_ADDR)
			fmt_err(err, errlen,
				"option '%s' is %#" PRIx64 ", outside its range %#" PRIx64
				"..%#" PRIx64 ".",
				spec->name, u, (uint64_t)spec->min, (uint64_t)spec->max);
		else
			fmt_err(err, errlen,
				"option '%s' is %" PRIu64 ", outside its range %" PRIu64
				"..%" PRIu64 ".",
				spec->name, u, (uint64_t)spec->min, (uint64_t)spec->max);
		return -EINVAL;
	}
	return 0;
}

static int parse_bool(const struct vdev_option_spec *spec, const char *text,
		      struct vdev_option_value *value, char *err, size_t errlen)
{
	static const char *const yes[] = {"on", "yes", "true", "1"};
	static const char *const no[] = {"off", "no", "false", "0"};
	unsigned i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(text, yes[i])) {
			value->v.b = 1;
			return 0;
		}
		if (!strcasecmp(text, no[i])) {
			value->v.b = 0;
			return 0;
		}
	}
	if (spec->flags & VDEV_OPTF_NOARG)
		fmt_err(err, errlen,
			"option '%s' is written alone, or followed by on or off (also yes/no, "
			"true/false, 1/0); '%s' is neither.",
			spec->name, text);
	else
		fmt_err(err, errlen,
			"option '%s' is on or off (also yes/no, true/false, 1/0), not '%s'.",
			spec->name, text);
	return -EINVAL;
}

static int parse_enum(const struct vdev_option_spec *spec, const char *text,
		      struct vdev_option_value *value, char *err, size_t errlen)
{
	size_t used;
	unsigned i;
	int n;

	for (i = 0; spec->choices && spec->choices[i]; i++) {
		if (!strcmp(text, spec->choices[i])) {
			value->v.e = i;
			return 0;
		}
	}
	if (!err || !errlen)
		return -EINVAL;
	n = snprintf(err, errlen, "option '%s' is one of ", spec->name);
	used = n > 0 ? (size_t)n : 0;
	for (i = 0; spec->choices && spec->choices[i] && used < errlen; i++) {
		n = snprintf(err + used, errlen - used, "%s%s", i ? ", " : "", spec->choices[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	if (used < errlen)
		snprintf(err + used, errlen - used, "; '%s' is none of them.", text);
	return -EINVAL;
}

/* "controller:line": the syntax only; the controller is resolved by the
 * plugin through host->intr_lookup, when controllers exist. */
static int parse_intr(const struct vdev_option_spec *spec, const char *text,
		      struct vdev_option_value *value, char *err, size_t errlen, size_t *bad_offset)
{
	const char *colon = strchr(text, ':');
	const char *p;
	uint64_t line;
	size_t name_len, bad = 0;
	int rc;

	for (p = text; p != colon && *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			break;
	}
	if (!colon || p != colon || colon == text) {
		*bad_offset = (size_t)(p - text);
		fmt_err(
		    err, errlen,
		    "option '%s' names an interrupt as controller:line (e.g. ioapic:4), not '%s'.",
		    spec->name, text);
		return -EINVAL;
	}
	rc = conf_line_parse(text, &name_len, &line, &bad);
	if (rc == 0 && line > UINT32_MAX) {
		rc = -ERANGE;
		bad = (size_t)(colon + 1 - text);
	}
	if (rc < 0) {
		*bad_offset = bad;
		fmt_err(err, errlen, "option '%s': '%s' is not a line number in '%s'.", spec->name,
			colon + 1, text);
		return -EINVAL;
	}
	value->v.s = text;
	return 0;
}

int vdev_option_parse(const struct vdev_option_spec *spec, enum vdev_space default_space,
		      const char *text, struct vdev_option_value *value, char *err, size_t errlen,
		      size_t *bad_offset)
{
	char locerr[256];
	size_t bad_local = 0;

	if (!bad_offset)
		bad_offset = &bad_local;
	*bad_offset = 0;
	memset(&value->v, 0, sizeof(value->v));
	if (!text) {
		if (spec->type == VDEV_OPT_BOOL && (spec->flags & VDEV_OPTF_NOARG)) {
			value->v.b = 1;
			return 0;
		}
		fmt_err(err, errlen, "option '%s' needs a value (%s).", spec->name,
			vdev_option_type_name(spec->type));
		return -EINVAL;
	}
	switch (spec->type) {
	case VDEV_OPT_INT:
	case VDEV_OPT_UINT:
	case VDEV_OPT_SIZE:
	case VDEV_OPT_ADDR:
		return parse_number(spec, text, value, err, errlen, bad_offset);
	case VDEV_OPT_BOOL:
		return parse_bool(spec, text, value, err, errlen);
	case VDEV_OPT_STRING:
		value->v.s = text;
		return 0;
	case VDEV_OPT_ENUM:
		return parse_enum(spec, text, value, err, errlen);
	case VDEV_OPT_INTR:
		return parse_intr(spec, text, value, err, errlen, bad_offset);
	case VDEV_OPT_LOC:
		locerr[0] = '\0';
		if (conf_loc_parse(text, default_space, &value->v.loc, locerr, sizeof(locerr),
				   bad_offset) < 0) {
			size_t n = strlen(locerr);

			fmt_err(err, errlen, "option '%s': %s%s", spec->name,
				n ? locerr : "not a location spec",
				n && locerr[n - 1] == '.' ? "" : ".");
			return -EINVAL;
		}
		return 0;
	}
	fmt_err(err, errlen, "option '%s' has an unknown type %d.", spec->name, (int)spec->type);
	return -EINVAL;
}

/* ------------------------------------------------------------ did you mean */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64], prev, tmp;

	if (lb >= 64 || la >= 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j] > tmp + 1)
				row[j] = tmp + 1;
			if (row[j] > row[j - 1] + 1)
				row[j] = row[j - 1] + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *vdev_name_suggest(const char *word, const char *const *candidates, unsigned count)
{
	size_t best = SIZE_MAX, d, limit;
	const char *found = NULL;
	unsigned i;

	limit = strlen(word) / 3;
	if (limit < 2)
		limit = 2;
	for (i = 0; i < count; i++) {
		if (!candidates[i])
			continue;
		d = edit_distance(word, candidates[i]);
		/* A prefix ("baud" for "baudrate") is as plausible as a typo. */
		if (d > limit && strlen(word) >= 3 &&
		    (!strncmp(word, candidates[i], strlen(word)) ||
		     !strncmp(word, candidates[i], strlen(candidates[i]))))
			d = limit;
		if (d <= limit && d < best) {
			best = d;
			found = candidates[i];
		}
	}
	return found;
}

/* ----------------------------------------------------------- validation */

static int option_index(const struct vdev_descriptor *desc, const char *name)
{
	unsigned i;

	for (i = 0; i < desc->option_count; i++) {
		if (desc->options[i].name && !strcmp(desc->options[i].name, name))
			return (int)i;
	}
	return -1;
}

static void report_unknown(const struct vdev_descriptor *desc, const struct conf_option *opt,
			   struct conf_diag *diag)
{
	const char *names[64], *hint;
	char list[512];
	size_t used = 0;
	unsigned i, n = 0;
	int w;

	for (i = 0; i < desc->option_count && n < 64; i++)
		names[n++] = desc->options[i].name;
	hint = vdev_name_suggest(opt->name, names, n);
	if (hint) {
		conf_diag_error(diag, &opt->pos, "vdev %s has no option '%s'; did you mean '%s'?",
				desc->name, opt->name, hint);
		return;
	}
	if (!n) {
		conf_diag_error(diag, &opt->pos,
				"vdev %s has no option '%s'; it takes only the common options "
				"loc, intr, name and log.",
				desc->name, opt->name);
		return;
	}
	list[0] = '\0';
	for (i = 0; i < n && used < sizeof(list); i++) {
		w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	conf_diag_error(diag, &opt->pos, "vdev %s has no option '%s'; its options are: %s.",
			desc->name, opt->name, list);
}

int vdev_options_validate(const struct vdev_descriptor *desc, const struct conf_option *options,
			  unsigned count, const struct conf_pos *vdev_pos, struct conf_diag *diag,
			  struct vdev_arena *arena, struct vdev_option_value **values)
{
	struct vdev_option_value *vals = NULL, tmp;
	const struct vdev_option_spec *spec;
	unsigned *given = NULL, i, k;
	const char **texts;
	char err[768];
	int rc = 0, idx;
	size_t bad;

	*values = NULL;
	if (desc->option_count) {
		vals = vdev_arena_calloc(arena, desc->option_count, sizeof(*vals));
		given = calloc(desc->option_count, sizeof(*given));
		if (!vals || !given) {
			free(given);
			return -ENOMEM;
		}
	}
	/* First pass: check every occurrence and count them. Every value is
	 * checked, even one a later occurrence overrides: it is still a
	 * mistake in the file. */
	for (i = 0; i < count; i++) {
		const struct conf_option *opt = &options[i];

		idx = option_index(desc, opt->name);
		if (idx < 0) {
			report_unknown(desc, opt, diag);
			rc = -EINVAL;
			continue;
		}
		spec = &desc->options[idx];
		bad = 0;
		if (vdev_option_parse(spec, desc->default_space, opt->value, &tmp, err, sizeof(err),
				      &bad) < 0) {
			struct conf_pos at = opt->value ? opt->value_pos : opt->pos;

			if (opt->value)
				at.col += (unsigned)bad;
			conf_diag_error(diag, &at, "vdev %s: %s", desc->name, err);
			rc = -EINVAL;
			continue;
		}
		vals[idx].v = tmp.v;
		given[idx]++;
	}
	for (k = 0; k < desc->option_count; k++) {
		spec = &desc->options[k];
		if (given[k]) {
			texts = vdev_arena_calloc(arena, given[k], sizeof(*texts));
			if (!texts) {
				rc = -ENOMEM;
				break;
			}
			vals[k].texts = texts;
			/* NOARG booleans written alone read as "on". */
			for (i = 0; i < count; i++) {
				if (strcmp(options[i].name, spec->name))
					continue;
				if (vals[k].count == given[k])
					break;
				/* Occurrences that failed to parse were not counted:
				 * skip them so texts stays parallel to count. */
				if (vdev_option_parse(spec, desc->default_space, options[i].value,
						      &tmp, NULL, 0, NULL) < 0)
					continue;
				texts[vals[k].count] =
				    options[i].value ? vdev_arena_strdup(arena, options[i].value)
						     : "on";
				if (!texts[vals[k].count]) {
					rc = -ENOMEM;
					break;
				}
				vals[k].count++;
			}
			vals[k].text = vals[k].count ? texts[vals[k].count - 1] : NULL;
			/* STRING/INTR values point into the arena copy, not the caller's tree. */
			if (vals[k].text &&
			    (spec->type == VDEV_OPT_STRING || spec->type == VDEV_OPT_INTR))
				vals[k].v.s = vals[k].text;
			continue;
		}
		if (spec->flags & VDEV_OPTF_REQUIRED) {
			conf_diag_error(diag, vdev_pos, "vdev %s needs option '%s'%s%s%s.",
					desc->name, spec->name, spec->help ? " (" : "",
					spec->help ? spec->help : "", spec->help ? ")" : "");
			rc = -EINVAL;
			continue;
		}
		if (spec->default_value) {
			vals[k].text = vdev_arena_strdup(arena, spec->default_value);
			if (!vals[k].text) {
				rc = -ENOMEM;
				break;
			}
			/* The loader checked that defaults parse; a linked descriptor
			 * that skipped the loader is caught here. */
			if (vdev_option_parse(spec, desc->default_space, vals[k].text, &vals[k],
					      err, sizeof(err), NULL) < 0) {
				conf_diag_error(diag, vdev_pos, "vdev %s: the plugin's default: %s",
						desc->name, err);
				rc = -EINVAL;
				continue;
			}
			vals[k].from_default = 1;
		}
	}
	free(given);
	if (rc == 0)
		*values = vals;
	return rc;
}

/* --------------------------------------------------------------- logging */

unsigned vdev_log_level_filter(enum vdev_log_level level)
{
	switch (level) {
	case VDEV_LOG_FATAL:
		return CONF_LOG_FATAL;
	case VDEV_LOG_ERROR:
		return CONF_LOG_ERROR;
	case VDEV_LOG_WARN:
		return CONF_LOG_WARN;
	case VDEV_LOG_INFO:
		return CONF_LOG_INFO;
	case VDEV_LOG_DEBUG:
		return CONF_LOG_DEBUG;
	case VDEV_LOG_VERBOSE:
		return CONF_LOG_VERBOSE;
	}
	return CONF_LOG_ERROR;
}

const char *vdev_log_level_name(enum vdev_log_level level)
{
	static const char *const names[] = {"fatal", "error", "warn", "info", "debug", "verbose"};

	if ((unsigned)level < sizeof(names) / sizeof(names[0]))
		return names[level];
	return "?";
}

/* ---------------------------------------------------------------- config */

int vdev_config_build(const struct vdev_descriptor *desc, const struct conf_vdev *vdev,
		      unsigned index, struct conf_diag *diag, struct vdev_arena *arena,
		      struct vdev_config **config)
{
	struct vdev_option_value *values = NULL;
	struct vdev_config *cfg;
	struct vdev_loc *locs = NULL;
	const char **intrs = NULL;
	unsigned i;
	char err[256], *name;
	int rc = 0, r;

	*config = NULL;
	cfg = vdev_arena_alloc(arena, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	r = vdev_options_validate(desc, vdev->options, vdev->option_count, &vdev->pos, diag, arena,
				  &values);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		rc = r;
	if (vdev->loc_count) {
		locs = vdev_arena_calloc(arena, vdev->loc_count, sizeof(*locs));
		if (!locs)
			return -ENOMEM;
		for (i = 0; i < vdev->loc_count; i++) {
			locs[i] = vdev->locs[i].loc;
			/* The parser did not know the device: a bare address
			 * lives in the device's own default space. */
			if (locs[i].kind == VDEV_LOC_ADDR && !vdev->locs[i].has_space)
				locs[i].space = desc->default_space;
		}
	}
	if (vdev->intr_count) {
		intrs = vdev_arena_calloc(arena, vdev->intr_count, sizeof(*intrs));
		if (!intrs)
			return -ENOMEM;
		for (i = 0; i < vdev->intr_count; i++) {
			intrs[i] = vdev_arena_strdup(arena, vdev->intrs[i].text);
			if (!intrs[i])
				return -ENOMEM;
		}
	}
	if ((desc->flags & VDEV_F_LOC_REQUIRED) && !vdev->loc_count) {
		conf_diag_error(diag, &vdev->pos,
				"vdev %s needs a location: add 'loc ADDRESS' to this vdev.",
				desc->name);
		rc = -EINVAL;
	}
	if ((desc->flags & VDEV_F_INTR_REQUIRED) && !vdev->intr_count) {
		conf_diag_error(
		    diag, &vdev->pos,
		    "vdev %s needs an interrupt: add 'intr CONTROLLER:LINE' to this vdev.",
		    desc->name);
		rc = -EINVAL;
	}
	if (vdev->name) {
		name = vdev_arena_strdup(arena, vdev->name);
	} else {
		snprintf(err, sizeof(err), "%s.%u", desc->name, index);
		name = vdev_arena_strdup(arena, err);
	}
	if (!name)
		return -ENOMEM;
	if (rc < 0)
		return rc;
	cfg->struct_size = sizeof(*cfg);
	cfg->instance_name = name;
	cfg->index = index;
	cfg->locs = locs;
	cfg->loc_count = vdev->loc_count;
	cfg->intrs = intrs;
	cfg->intr_count = vdev->intr_count;
	cfg->options = values;
	cfg->option_count = desc->option_count;
	*config = cfg;
	return 0;
}
