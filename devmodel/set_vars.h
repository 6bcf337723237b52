/*
 * devmodel/set_vars.h: the `set VAR VALUE` variables vdm knows.
 *
 * Every `set` a configuration gives either does what it says or is refused
 * at its file:line:col (65), for a run, dryrun and --check alike: a qvm
 * variable vdm has no use for (fdt-dump-file, message-block-timeout...)
 * is refused saying why, not ignored. The table is in set_vars.c and in
 * conf/README.md ("set variables").
 */
#ifndef VDM_SET_VARS_H
#define VDM_SET_VARS_H

#include <stdbool.h>

#include "conf/conf.h"

/*
 * set_vars_check: every global, cpu and vdev `set` of `conf` is one vdm
 * honours for `backend` (its name; NULL: none compiled in), with a valid
 * value. Returns 0 or VDM_EXIT_CONFIG after reporting to diag.
 */
int set_vars_check(const struct conf_vm *conf, const char *backend, struct conf_diag *diag);

/* The last global `set NAME` as a bool (on/off, yes/no, true/false, 1/0),
 * else `fallback`. Checked values only (set_vars_check refused others). */
bool set_vars_bool(const struct conf_vm *conf, const char *name, bool fallback);

#endif /* VDM_SET_VARS_H */
