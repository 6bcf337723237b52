/*
 * devmodel/xl/xl_mode.h: vdm as the device model libxl starts for an HVM
 * guest (`xl create` with device_model_override=<prefix>/lib/vdm/xl-dm).
 *
 * main.c calls, in order:
 *   xl_mode_new        parse libxl's argv (xl_args.h) into configuration
 *                      words and named texts, find the HVM platform fragment
 *   xl_mode_options    what the VM options gain (backend readiness hook,
 *                      the xenstore state key, restrict, user)
 *   xl_mode_start      after vm_assemble: restore `-incoming fd:N`, create
 *                      the QMP sockets (served from readiness on)
 *   vm_run             the backend calls the readiness hook: QMP accepts,
 *                      and (without -S) the xen backend writes "running"
 *   xl_mode_stop       after vm_run: QMP sockets closed and unlinked
 *   xl_mode_free
 * The rest of vdm does not know it was started this way.
 */
#ifndef VDM_XL_MODE_H
#define VDM_XL_MODE_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"

struct vm;
struct vm_options;
struct xl_mode;

/*
 * xl_mode_new: 0 and *out; 0 and *out NULL when the job is done (-vdm-print
 * printed the translation); else the exit code (65 refused, 64 ENOMEM).
 */
int xl_mode_new(int argc, char *const *argv, FILE *log, struct xl_mode **out);
void xl_mode_free(struct xl_mode *xl);

/* The configuration words (each "@NAME": a generated text or a file), in order. */
char **xl_mode_words(struct xl_mode *xl, int *count);
/* The generated texts for conf_env.texts. */
const struct conf_text *xl_mode_texts(struct xl_mode *xl, unsigned *count);
int xl_mode_domid(const struct xl_mode *xl);
/* -vdm-check: validate and print the VM description (vdm --check), start nothing. */
bool xl_mode_check_only(const struct xl_mode *xl);
/* -vdm-plugin-path directories, searched first. */
const char *const *xl_mode_plugin_dirs(const struct xl_mode *xl, unsigned *count);

void xl_mode_options(struct xl_mode *xl, struct vm_options *opts);
/* Returns 0 or an exit code (64: the state could not be restored, sockets failed). */
int xl_mode_start(struct xl_mode *xl, struct vm *vm);
void xl_mode_stop(struct xl_mode *xl);

#endif /* VDM_XL_MODE_H */
