/*
 * devmodel/lockdown.h: least privilege once the VM is set up: drop root,
 * PR_SET_NO_NEW_PRIVS, and a seccomp filter (libseccomp) that allows what
 * a device model does and refuses the rest (the list is in lockdown.c and
 * docs/SECURITY.md).
 *
 *   set seccomp off    no filter
 *   set seccomp log    the default: calls outside the list are allowed and
 *                      logged by the kernel (audit), so a guest can never be
 *                      broken by a list that missed something
 *   set seccomp on     they fail with EPERM
 *   set seccomp kill   they kill vdm (SIGSYS)
 *   set run-as USER    drop root to USER (also `--restrict`; default user
 *                      $VDM_USER, else nobody) after the backend opened
 *                      what needs root
 *
 * Each backend calls lockdown_apply from its run(), once what it needs
 * privileges for is open and before the guest's first instruction.
 */
#ifndef VDM_LOCKDOWN_H
#define VDM_LOCKDOWN_H

#include <stdbool.h>

#include "conf/conf.h"

struct vm;

enum {
	LOCKDOWN_SECCOMP_OFF,
	LOCKDOWN_SECCOMP_LOG,
	LOCKDOWN_SECCOMP_ON,
	LOCKDOWN_SECCOMP_KILL,
};

/* lockdown_check_config: `set seccomp` values, reported at file:line:col;
 * 0 or VDM_EXIT_CONFIG. (--check calls it too.) */
int lockdown_check_config(const struct conf_vm *conf, struct conf_diag *diag);

/*
 * lockdown_apply: drop privileges if asked and drop_privileges (a backend
 * that drops them itself passes false), then NO_NEW_PRIVS and the filter.
 * Returns 0, or a negative errno after logging (the VM must not run): a
 * failed drop, or a filter that `on`/`kill` asked for and cannot be
 * installed (with `log` that is only a warning).
 */
int lockdown_apply(struct vm *vm, bool drop_privileges);

/*
 * lockdown_apply_isolated: for the process of an isolated plugin
 * (isolate.c), after its create(): NO_NEW_PRIVS and the same filter in the
 * VM's `set seccomp` mode, less making, signalling and reaping processes
 * (fork, vfork, kill, wait4, waitid; clone only with CLONE_THREAD; clone3
 * fails with ENOSYS so that glibc makes threads with clone). Returns 0 or
 * a negative errno (`on`/`kill` only: with `log` a filter that cannot be
 * installed is not an error).
 */
int lockdown_apply_isolated(const struct conf_vm *conf);

#endif /* VDM_LOCKDOWN_H */
