/*
 * devmodel/xl/xl_args.h: the QEMU-style command line libxl gives its device
 * model, translated into vdm's own configuration language.
 *
 * libxl 4.17 (device_model_version="qemu-xen", device_model_override=vdm or
 * <prefix>/lib/vdm/xl-dm) starts the device model with the argv of
 * libxl__build_device_model_args_new (reference/xen-hvm-dm.md 1.2). vdm
 * recognises that form (argv[1] is -xen-domid, or --xl-dm) and turns it into
 * two vmconf texts that go through conf/ like any file:
 *
 *   "<xl-dm machine>"  system, guest RAM (from -name, -m, -machine)
 *   "<xl-dm devices>"  the CMOS with -boot's order, one vdev per -serial,
 *                      disk and NIC
 *
 * with the HVM platform fragment between them (its host bridge must take
 * PCI 00:00.0 before any disk or NIC is placed) and the -vdm-config files
 * after. Each generated line ends with a comment naming the argument it
 * came from, so a diagnostic quoting it says where it came from. What vdm
 * cannot serve is refused with a message naming the argument and the xl.cfg
 * setting to change; what is harmless to ignore is noted. docs/xen.md has
 * the table.
 */
#ifndef VDM_XL_ARGS_H
#define VDM_XL_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#define XL_ARGS_MAX_CONFIGS 16
#define XL_ARGS_MAX_DIRS    16
#define XL_ARGS_MAX_SERIALS 2

/* The names of the generated texts (conf_env.texts, diagnostics). */
#define XL_ARGS_MACHINE "<xl-dm machine>"
#define XL_ARGS_DEVICES "<xl-dm devices>"

struct xl_args {
	int domid;		    /* -xen-domid */
	const char *name;	    /* -name, NULL when absent */
	const char *qmp_path;	    /* -chardev socket,id=libxl-cmd,path=P */
	int qmp_fd;		    /* -chardev socket,id=libxl-cmd,fd=N (dm_restrict); -1 */
	const char *xenstat_path;   /* -chardev socket,id=libxenstat-cmd,path=P */
	bool start_paused;	    /* -S: wait for `cont`, readiness by query-status */
	bool no_shutdown;	    /* -no-shutdown: outlive the domain's shutdown until SIGHUP */
	const char *boot_order;	    /* -boot order=X: the CMOS boot order, "cda" by default */
	int incoming_fd;	    /* -incoming fd:N; -1 */
	bool restrict_xen;	    /* -xen-domid-restrict */
	const char *runas;	    /* -runas USER */
	unsigned serial_count;	    /* ser8250 instances serial0.. */
	unsigned vcpus;		    /* online vCPUs: -smp N[,maxcpus=M], else 1 */
	unsigned long long ram_mib; /* -m */
	bool print_only;	    /* -vdm-print: print the translation, exit */
	bool check_only;	    /* -vdm-check: vdm --check of the result */
	char *machine_text, *devices_text;
	const char *configs[XL_ARGS_MAX_CONFIGS]; /* -vdm-config FILE */
	unsigned config_count;
	const char *plugin_dirs[XL_ARGS_MAX_DIRS]; /* -vdm-plugin-path DIR */
	unsigned plugin_dir_count;
	char **owned; /* NULL-terminated: the strings above that are copies */
};

/* xl_args_detect: is this libxl's form of the command line? */
bool xl_args_detect(int argc, char *const *argv);

/*
 * xl_args_parse: translate argv (argv[0] is the program). Every problem is
 * reported to `log` as "vdm: xl-dm: ARG: why; what to change", all of them
 * before returning; notes about ignored arguments too. Returns 0, or the
 * exit code: 65 (VDM_EXIT_CONFIG) when something was refused, 64 on ENOMEM.
 * The strings in *out point into argv or are owned by it (xl_args_free).
 */
int xl_args_parse(int argc, char *const *argv, struct xl_args *out, FILE *log);
void xl_args_free(struct xl_args *a);

#endif /* VDM_XL_ARGS_H */
