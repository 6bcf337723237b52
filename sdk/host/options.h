/*
 * sdk/host/options.h: a vdev's configuration, checked against its schema.
 *
 * The conf/ parser keeps a vdev's device options as text (it does not know
 * the plugin). This module turns them into the typed struct vdev_option_value
 * array a plugin's create() receives, and builds the whole struct vdev_config
 * (common options included). vdm, the SDK test host and vdev-conform all go
 * through vdev_config_build, so an option means the same everywhere.
 *
 * Errors in the configuration are reported with conf_diag_error at the
 * option's position (file:line:col), all of them, not just the first; the
 * caller exits with CONF_EXIT_CONFIG (65) when conf_diag_error_count grew.
 * Everything produced lives in the caller's arena (sdk/host/arena.h).
 * Not thread-safe per arena/diag; otherwise reentrant.
 */
#ifndef VDEV_HOST_OPTIONS_H
#define VDEV_HOST_OPTIONS_H

#include <stddef.h>

#include <vdev/vdev.h>

#include "conf/conf.h"
#include "sdk/host/arena.h"

/*
 * vdev_option_parse: one value text for one option spec, as the config
 * would give it. text NULL means the option was written alone: accepted for
 * a NOARG BOOL (value on) only. Fills value->v (STRING/INTR: v.s = text, so
 * text must outlive value) and checks range/choices; count, text and texts
 * are left to the caller. Returns 0, or -EINVAL with a complete sentence in
 * err (not naming the file) and, when known, *bad_offset the byte of text
 * at fault (0 otherwise).
 */
int vdev_option_parse(const struct vdev_option_spec *spec, enum vdev_space default_space,
		      const char *text, struct vdev_option_value *value, char *err, size_t errlen,
		      size_t *bad_offset);

/* vdev_option_type_name: "int", "uint", ..., "loc"; "?" for an unknown type. */
const char *vdev_option_type_name(enum vdev_option_type type);

/*
 * vdev_options_validate: the device options of one vdev (conf_vdev.options,
 * in config order) against desc's schema. *values gets an array parallel to
 * desc->options (option_count entries, NULL when 0), allocated in arena:
 * absent options have count 0 and, with a default, from_default 1 and the
 * default's value; a repeated option keeps every text in texts, in order,
 * and its typed value is the last one's (last one wins). Reported, each at
 * its position: an unknown option (with a did-you-mean from the schema), a
 * value that does not parse for its type or is out of range/choices, a
 * missing value, a missing REQUIRED option (at vdev_pos).
 * Returns 0; -EINVAL when anything was reported; -ENOMEM.
 */
int vdev_options_validate(const struct vdev_descriptor *desc, const struct conf_option *options,
			  unsigned count, const struct conf_pos *vdev_pos, struct conf_diag *diag,
			  struct vdev_arena *arena, struct vdev_option_value **values);

/*
 * vdev_config_build: the struct vdev_config for one `vdev` context: device
 * options as vdev_options_validate; locations (a bare address takes the
 * descriptor's default_space); intr texts; instance_name (`name`, else
 * "<device>.<index>"); `loc` and `intr` given when the descriptor's flags require them. `index` is
 * the instance's number among this plugin's instances. VDEV_F_SINGLETON is the caller's to check
 * (it knows the other instances). Everything is allocated in arena and reported to diag. Returns 0;
 * -EINVAL when anything was reported; -ENOMEM.
 */
int vdev_config_build(const struct vdev_descriptor *desc, const struct conf_vdev *vdev,
		      unsigned index, struct conf_diag *diag, struct vdev_arena *arena,
		      struct vdev_config **config);

/* vdev_log_level_filter: the CONF_LOG_* bit a plugin's log level is filtered by. */
unsigned vdev_log_level_filter(enum vdev_log_level level);
/* vdev_log_level_name: "fatal", "error", "warn", "info", "debug", "verbose"; "?" otherwise. */
const char *vdev_log_level_name(enum vdev_log_level level);

/* vdev_name_suggest: the candidate closest to `word` by edit distance, or
 * NULL when none is close enough to be a plausible typo. */
const char *vdev_name_suggest(const char *word, const char *const *candidates, unsigned count);

#endif /* VDEV_HOST_OPTIONS_H */
