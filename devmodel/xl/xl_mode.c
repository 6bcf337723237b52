/*
 * devmodel/xl/xl_mode.c: the glue between libxl's device-model protocol
 * and one vdm VM (xl_mode.h has the call order).
 *
 * The configuration is words for conf_parse_argv, in this order:
 *   @<xl-dm machine>            system and RAM from libxl's argv
 *   @.../hvm-platform.vmconf    the HVM platform (host bridge, PIIX3/4, ...),
 *                               when it is installed or in the build tree
 *   @<xl-dm devices>            UARTs, disks, NICs from libxl's argv
 *   @FILE ...                   device_model_args=["-vdm-config","FILE"]
 * so the platform takes its fixed PCI slots before any disk or NIC is
 * placed, and a user's vmconf can add vdevs (third-party plugins too).
 *
 * The QMP ops answer from the VM: status from stop/cont, the UARTs' ptys
 * from their host_endpoint op, saves through devmodel/snapshot.c.
 */
#include "devmodel/xl/xl_mode.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devmodel/exitcode.h"
#include "devmodel/log.h"
#include "devmodel/plugin_host.h"
#include "devmodel/qmp/qmp.h"
#include "devmodel/snapshot.h"
#include "devmodel/vm.h"
#include "devmodel/xl/xl_args.h"

#ifndef VDM_SHARE_DIR
#define VDM_SHARE_DIR "/usr/local/share/vdm"
#endif
#ifndef VDM_VERSION
#define VDM_VERSION "0.1"
#endif

#define XL_PLATFORM_FILE "hvm-platform.vmconf"

struct xl_mode {
	struct xl_args args;
	struct conf_text texts[2];
	char *words[4 + XL_ARGS_MAX_CONFIGS];
	int word_count;
	char platform[PATH_MAX + 64];
	struct vm *vm;
	struct qmp_server *qmp;
	pthread_mutex_t lock;
	const char *status; /* query-status */
};

/* ---------------------------------------------------------- the platform */

/* The HVM platform fragment: $VDM_HVM_PLATFORM, the build tree, the install prefix. */
static bool xl_find_platform(struct xl_mode *xl, FILE *log)
{
	const char *env = getenv("VDM_HVM_PLATFORM");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (env) {
		if (!*env || !strcmp(env, "none"))
			return false;
		snprintf(xl->platform, sizeof(xl->platform), "%s", env);
		return true;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			/* <O>/bin/vdm: <O>/share/vdm, then the source tree it was built from */
			snprintf(xl->platform, sizeof(xl->platform), "%s/../share/vdm/%s", exe,
				 XL_PLATFORM_FILE);
			if (access(xl->platform, R_OK) == 0)
				return true;
			snprintf(xl->platform, sizeof(xl->platform), "%s/../../../devmodel/xen/%s",
				 exe, XL_PLATFORM_FILE);
			if (access(xl->platform, R_OK) == 0)
				return true;
		}
	}
	snprintf(xl->platform, sizeof(xl->platform), "%s/%s", VDM_SHARE_DIR, XL_PLATFORM_FILE);
	if (access(xl->platform, R_OK) == 0)
		return true;
	fprintf(log,
		"vdm: xl-dm: note: no %s (looked in the build tree and %s): the guest gets no "
		"PCI host bridge, PIIX3/PIIX4 or CMOS from vdm, which hvmloader needs\n",
		XL_PLATFORM_FILE, VDM_SHARE_DIR);
	return false;
}

static int xl_add_word(struct xl_mode *xl, const char *prefix, const char *name)
{
	size_t len = strlen(prefix) + strlen(name) + 1;
	char *w = malloc(len);

	if (!w)
		return -ENOMEM;
	snprintf(w, len, "%s%s", prefix, name);
	xl->words[xl->word_count++] = w;
	return 0;
}

int xl_mode_new(int argc, char *const *argv, FILE *log, struct xl_mode **out)
{
	struct xl_mode *xl = calloc(1, sizeof(*xl));
	int rc;

	*out = NULL;
	if (!xl)
		return VDM_EXIT_FATAL_START;
	pthread_mutex_init(&xl->lock, NULL);
	rc = xl_args_parse(argc, argv, &xl->args, log);
	if (rc) {
		xl_mode_free(xl);
		return rc;
	}
	if (xl->args.print_only) {
		fputs(xl->args.machine_text, stdout);
		fputs(xl->args.devices_text, stdout);
		xl_mode_free(xl);
		return 0;
	}
	xl->texts[0] = (struct conf_text){XL_ARGS_MACHINE, xl->args.machine_text};
	xl->texts[1] = (struct conf_text){XL_ARGS_DEVICES, xl->args.devices_text};
	rc = xl_add_word(xl, "@", XL_ARGS_MACHINE);
	if (!rc && xl_find_platform(xl, log))
		rc = xl_add_word(xl, "@", xl->platform);
	if (!rc)
		rc = xl_add_word(xl, "@", XL_ARGS_DEVICES);
	for (unsigned i = 0; !rc && i < xl->args.config_count; i++)
		rc = xl_add_word(xl, "@", xl->args.configs[i]);
	if (rc) {
		xl_mode_free(xl);
		return VDM_EXIT_FATAL_START;
	}
	xl->status = xl->args.start_paused ? (xl->args.incoming_fd >= 0 ? "paused" : "prelaunch")
					   : "running";
	*out = xl;
	return 0;
}

void xl_mode_free(struct xl_mode *xl)
{
	if (!xl)
		return;
	xl_mode_stop(xl);
	for (int i = 0; i < xl->word_count; i++)
		free(xl->words[i]);
	xl_args_free(&xl->args);
	pthread_mutex_destroy(&xl->lock);
	free(xl);
}

char **xl_mode_words(struct xl_mode *xl, int *count)
{
	*count = xl->word_count;
	return xl->words;
}

const struct conf_text *xl_mode_texts(struct xl_mode *xl, unsigned *count)
{
	*count = 2;
	return xl->texts;
}

int xl_mode_domid(const struct xl_mode *xl)
{
	return xl->args.domid;
}

bool xl_mode_check_only(const struct xl_mode *xl)
{
	return xl->args.check_only;
}

const char *const *xl_mode_plugin_dirs(const struct xl_mode *xl, unsigned *count)
{
	*count = xl->args.plugin_dir_count;
	return xl->args.plugin_dirs;
}

/* ------------------------------------------------------------- QMP ops */

static const char *xl_status(void *ctx)
{
	struct xl_mode *xl = ctx;
	const char *s;

	pthread_mutex_lock(&xl->lock);
	s = xl->status;
	pthread_mutex_unlock(&xl->lock);
	return s;
}

static int xl_run_state(struct xl_mode *xl, bool paused, char *err, size_t errlen)
{
	int rc = vm_pause(xl->vm, paused);

	if (rc < 0) {
		snprintf(err, errlen, "the backend cannot %s the guest",
			 paused ? "pause" : "resume");
		return rc;
	}
	pthread_mutex_lock(&xl->lock);
	xl->status = paused ? "paused" : "running";
	pthread_mutex_unlock(&xl->lock);
	vm_log(xl->vm, LOG_LVL_INFO, "qmp: %s: guest requests %s", paused ? "stop" : "cont",
	       paused ? "wait" : "are served");
	return 0;
}

static int xl_cont(void *ctx, char *err, size_t errlen)
{
	return xl_run_state(ctx, false, err, errlen);
}

static int xl_stop(void *ctx, char *err, size_t errlen)
{
	return xl_run_state(ctx, true, err, errlen);
}

/* serialK for each UART the translation made, with its host endpoint. */
static int xl_chardevs(void *ctx, struct qmp_chardev *out, unsigned max)
{
	struct xl_mode *xl = ctx;
	unsigned n = 0;

	for (unsigned k = 0; k < xl->args.serial_count && n < max; k++) {
		char label[32];
		struct vdev_host_ctx *inst;

		snprintf(label, sizeof(label), "serial%u", k);
		inst = vm_vdev_find(xl->vm, label);
		if (!inst ||
		    plugin_host_endpoint(inst, out[n].filename, sizeof(out[n].filename)) < 0)
			continue;
		snprintf(out[n].label, sizeof(out[n].label), "%s", label);
		n++;
	}
	return (int)n;
}

static int xl_save(void *ctx, int fd, bool live, char *err, size_t errlen)
{
	struct xl_mode *xl = ctx;
	int rc = snapshot_save(xl->vm, fd, err, errlen);

	vm_log(xl->vm, rc ? LOG_LVL_ERROR : LOG_LVL_INFO, "qmp: xen-save-devices-state: %s",
	       rc ? err : "every device's state written");
	return rc;
}

static unsigned xl_vcpus(void *ctx)
{
	struct xl_mode *xl = ctx;

	return xl->args.vcpus;
}

static void xl_log(void *ctx, unsigned level, const char *line)
{
	struct xl_mode *xl = ctx;

	vm_log(xl->vm, level, "%s", line);
}

static const struct qmp_ops xl_qmp_ops = {
    .status = xl_status,
    .cont = xl_cont,
    .stop = xl_stop,
    .chardevs = xl_chardevs,
    .save = xl_save,
    .vcpus = xl_vcpus,
    .log = xl_log,
    .package = "vdm " VDM_VERSION,
};

/* ----------------------------------------------------------- lifecycle */

static void xl_ready(void *ctx, struct vm *vm)
{
	struct xl_mode *xl = ctx;
	int rc = xl->qmp ? qmp_server_start(xl->qmp) : 0;

	if (rc < 0) {
		vm_log(vm, LOG_LVL_FATAL, "qmp: cannot serve: %s", strerror(-rc));
		vm_stop(vm, VDM_EXIT_FATAL_START);
		return;
	}
	vm_log(vm, LOG_LVL_INFO, "ready for libxl: QMP on %s%s",
	       xl->args.qmp_path ? xl->args.qmp_path : "the socket libxl passed",
	       xl->args.start_paused ? " (-S: waiting for cont)" : "");
}

/* -no-shutdown: the domain shut down and vdm stays for libxl's SIGHUP. */
static void xl_shut_down(void *ctx, struct vm *vm)
{
	struct xl_mode *xl = ctx;

	pthread_mutex_lock(&xl->lock);
	xl->status = "shutdown"; /* QEMU's run state then */
	pthread_mutex_unlock(&xl->lock);
}

void xl_mode_options(struct xl_mode *xl, struct vm_options *opts)
{
	opts->ready = xl_ready;
	opts->ready_ctx = xl;
	/* libxl always passes -no-shutdown and destroys the domain and its DM
	 * itself (SIGHUP); without it vdm ends with the domain's shutdown */
	opts->xen_stay_after_shutdown = xl->args.no_shutdown;
	opts->shut_down = xl_shut_down;
	/* backendtype=qdisk disks are the device model's: served as virtio-blk */
	opts->xen_decline_qdisk = true;
	/* with -S libxl judges readiness by query-status and wants no key */
	opts->xen_dm_state = !xl->args.start_paused;
	if (xl->args.restrict_xen)
		opts->restrict_xen = true;
	if (xl->args.runas)
		setenv("VDM_XEN_USER", xl->args.runas, 1);
}

int xl_mode_start(struct xl_mode *xl, struct vm *vm)
{
	int rc;

	xl->vm = vm;
	if (xl->args.incoming_fd >= 0) {
		char err[256] = "";

		rc = snapshot_restore(vm, xl->args.incoming_fd, err, sizeof(err));
		close(xl->args.incoming_fd);
		xl->args.incoming_fd = -1;
		if (rc < 0) {
			vm_log(vm, LOG_LVL_FATAL, "-incoming: %s", err);
			return VDM_EXIT_FATAL_START;
		}
		vm_log(vm, LOG_LVL_INFO, "-incoming: every device's state restored");
	}
	rc = qmp_server_new(vm_evloop(vm), &xl_qmp_ops, xl, &xl->qmp);
	if (!rc && xl->args.qmp_path)
		rc = qmp_server_listen_path(xl->qmp, xl->args.qmp_path);
	else if (!rc && xl->args.qmp_fd >= 0)
		rc = qmp_server_listen_fd(xl->qmp, xl->args.qmp_fd);
	if (rc < 0) {
		vm_log(vm, LOG_LVL_FATAL, "qmp: cannot listen on %s: %s",
		       xl->args.qmp_path ? xl->args.qmp_path : "the socket libxl passed",
		       strerror(-rc));
		return VDM_EXIT_FATAL_START;
	}
	if (xl->args.xenstat_path) {
		rc = qmp_server_listen_path(xl->qmp, xl->args.xenstat_path);
		if (rc < 0)
			vm_log(vm, LOG_LVL_WARN, "qmp: %s: %s (xentop shows no disk figures)",
			       xl->args.xenstat_path, strerror(-rc));
	}
	if (xl->args.start_paused && vm_pause(vm, true) < 0)
		vm_log(vm, LOG_LVL_WARN, "-S: this backend cannot hold the guest's requests");
	return 0;
}

void xl_mode_stop(struct xl_mode *xl)
{
	if (!xl)
		return;
	qmp_server_free(xl->qmp);
	xl->qmp = NULL;
}
