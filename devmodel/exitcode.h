/*
 * devmodel/exitcode.h: the exit codes of the vdm process.
 *
 * They are qvm's (DESIGN.md "Exit codes"), so that scripts written for qvm
 * read vdm's status the same way. A vdev may end the VM with a custom cause
 * in 32..63 (VDEV_TERMINATE_MIN..MAX), which becomes the exit code as is.
 */
#ifndef VDM_EXITCODE_H
#define VDM_EXITCODE_H

enum vdm_exit {
	VDM_EXIT_NORMAL = 0,	   /* guest shut down or restarted normally; --check/dryrun ok */
	VDM_EXIT_POWER_CUT = 3,	   /* ended as if power was cut */
	VDM_EXIT_WATCHDOG = 4,	   /* a watchdog ended the guest */
	VDM_EXIT_UNSUPPORTED = 5,  /* `unsupported ... abort` triggered */
	VDM_EXIT_VDEV_ERROR = 6,   /* unexpected vdev error */
	VDM_EXIT_UNEXPECTED = 7,   /* unexpected error */
	VDM_EXIT_CUSTOM_MIN = 32,  /* first cause a vdev may give */
	VDM_EXIT_CUSTOM_MAX = 63,  /* last cause a vdev may give */
	VDM_EXIT_FATAL_START = 64, /* fatal error before the guest started */
	VDM_EXIT_CONFIG = 65,	   /* configuration error (CONF_EXIT_CONFIG) */
	VDM_EXIT_FATAL_RUN = 96,   /* fatal error after the guest started */
};

#endif /* VDM_EXITCODE_H */
