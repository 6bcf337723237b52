/*
 * devmodel/qmp/qmp_commands.c: the commands vdm answers, one handler each,
 * in the shapes QEMU gives them (libxl reads: query-chardev's "label" and
 * "filename", query-vnc's "enabled", query-status's "status", add-fd's
 * "fdset-id"). Everything else is CommandNotFound, which libxl reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "devmodel/qmp/qmp_internal.h"

void qmp_call_error(struct qmp_call *call, const char *cls, const char *fmt, ...)
{
	va_list ap;

	call->err_class = cls;
	va_start(ap, fmt);
	vsnprintf(call->err, sizeof(call->err), fmt, ap);
	va_end(ap);
}

static struct json_object *qmp_version_object(void)
{
	struct json_object *v = json_object_new_object(), *q = json_object_new_object();

	json_object_object_add(q, "major", json_object_new_int(QMP_QEMU_MAJOR));
	json_object_object_add(q, "minor", json_object_new_int(QMP_QEMU_MINOR));
	json_object_object_add(q, "micro", json_object_new_int(QMP_QEMU_MICRO));
	json_object_object_add(v, "qemu", q);
	return v;
}

static void qmp_cmd_query_version(struct qmp_call *call)
{
	struct json_object *v = qmp_version_object();

	json_object_object_add(
	    v, "package", json_object_new_string(call->ops->package ? call->ops->package : "vdm"));
	call->ret = v;
}

static void qmp_cmd_query_status(struct qmp_call *call)
{
	const char *st = call->ops->status ? call->ops->status(call->ctx) : "running";
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "status", json_object_new_string(st));
	json_object_object_add(r, "running", json_object_new_boolean(strcmp(st, "running") == 0));
	json_object_object_add(r, "singlestep", json_object_new_boolean(0));
	call->ret = r;
}

static void qmp_cmd_run_state(struct qmp_call *call, int (*op)(void *ctx, char *err, size_t errlen),
			      const char *what)
{
	char err[200] = "";

	if (!op) {
		qmp_call_error(call, QMP_ERR_GENERIC, "%s is not supported here", what);
		return;
	}
	if (op(call->ctx, err, sizeof(err)) < 0) {
		qmp_call_error(call, QMP_ERR_GENERIC, "%s failed: %s", what,
			       err[0] ? err : "the device model refused");
		return;
	}
	call->ret = json_object_new_object();
}

static void qmp_cmd_cont(struct qmp_call *call)
{
	qmp_cmd_run_state(call, call->ops->cont, "cont");
}

static void qmp_cmd_stop(struct qmp_call *call)
{
	qmp_cmd_run_state(call, call->ops->stop, "stop");
}

static void qmp_cmd_query_vnc(struct qmp_call *call)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "enabled", json_object_new_boolean(0));
	call->ret = r;
}

static void qmp_cmd_query_chardev(struct qmp_call *call)
{
	struct qmp_chardev devs[8];
	struct json_object *list = json_object_new_array();
	int n = call->ops->chardevs ? call->ops->chardevs(call->ctx, devs, 8) : 0;

	for (int i = 0; i < n && i < 8; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "label", json_object_new_string(devs[i].label));
		json_object_object_add(e, "filename", json_object_new_string(devs[i].filename));
		json_object_object_add(e, "frontend-open", json_object_new_boolean(1));
		json_object_array_add(list, e);
	}
	call->ret = list;
}

/*
 * query-cpus-fast (QEMU >= 2.12) and the older query-cpus: libxl's
 * libxl_retrieve_domain_configuration (xl save, xl list -l) reads which
 * vCPUs are online from "cpu-index" (or "CPU").
 */
static void qmp_cmd_query_cpus_common(struct qmp_call *call, bool fast)
{
	unsigned n = call->ops->vcpus ? call->ops->vcpus(call->ctx) : 1;
	struct json_object *list = json_object_new_array();

	for (unsigned i = 0; i < n && i < 4096; i++) {
		struct json_object *e = json_object_new_object();
		char path[64];

		snprintf(path, sizeof(path), "/machine/unattached/device[%u]", i);
		json_object_object_add(e, fast ? "cpu-index" : "CPU", json_object_new_int((int)i));
		json_object_object_add(e, fast ? "qom-path" : "qom_path",
				       json_object_new_string(path));
		json_object_object_add(e, fast ? "thread-id" : "thread_id", json_object_new_int(0));
		if (fast) {
			json_object_object_add(e, "target", json_object_new_string("x86_64"));
		} else {
			json_object_object_add(e, "current", json_object_new_boolean(i == 0));
			json_object_object_add(e, "halted", json_object_new_boolean(0));
		}
		json_object_array_add(list, e);
	}
	call->ret = list;
}

static void qmp_cmd_query_cpus_fast(struct qmp_call *call)
{
	qmp_cmd_query_cpus_common(call, true);
}

static void qmp_cmd_query_cpus(struct qmp_call *call)
{
	qmp_cmd_query_cpus_common(call, false);
}

/* An argument of the expected type, or NULL (and the error set when required). */
static struct json_object *qmp_arg(struct qmp_call *call, const char *key, json_type type,
				   bool required)
{
	struct json_object *v = NULL;

	if (call->args && json_object_object_get_ex(call->args, key, &v) &&
	    json_object_is_type(v, type))
		return v;
	if (v || required)
		qmp_call_error(call, QMP_ERR_GENERIC, "Parameter '%s' %s", key,
			       v ? "has the wrong type" : "is missing");
	return NULL;
}

static void qmp_cmd_add_fd(struct qmp_call *call)
{
	struct json_object *idv = qmp_arg(call, "fdset-id", json_type_int, false), *r;
	int id = -1, set_id, rc;
	int64_t want;

	if (call->err_class)
		return;
	if (call->fd < 0) {
		qmp_call_error(call, QMP_ERR_GENERIC, "No file descriptor supplied via SCM_RIGHTS");
		return;
	}
	if (idv) {
		want = json_object_get_int64(idv);
		if (want < 0 || want > 0x7fffffff) {
			qmp_call_error(call, QMP_ERR_GENERIC, "fdset-id %lld is out of range",
				       (long long)want);
			return;
		}
		id = (int)want;
	}
	rc = qmp_fdsets_add(call->sets, call->owner, id, call->fd, &set_id);
	if (rc < 0) {
		qmp_call_error(call, QMP_ERR_GENERIC, "cannot keep the descriptor: %s",
			       strerror(-rc));
		return;
	}
	r = json_object_new_object();
	json_object_object_add(r, "fdset-id", json_object_new_int(set_id));
	json_object_object_add(r, "fd", json_object_new_int(call->fd));
	call->fd = -1; /* the set has it */
	call->ret = r;
}

static void qmp_cmd_save_devices(struct qmp_call *call)
{
	struct json_object *fv = qmp_arg(call, "filename", json_type_string, true);
	struct json_object *lv = qmp_arg(call, "live", json_type_boolean, false);
	const char *name;
	char err[200] = "";
	int fd, rc;

	if (call->err_class)
		return;
	name = json_object_get_string(fv);
	if (!call->ops->save) {
		qmp_call_error(call, QMP_ERR_GENERIC, "saving is not supported here");
		return;
	}
	if (strncmp(name, "/dev/fdset/", 11) == 0) {
		char *end;
		long id = strtol(name + 11, &end, 10);

		fd = (*end || end == name + 11 || id < 0 || id > 0x7fffffff)
			 ? -EINVAL
			 : qmp_fdsets_dup(call->sets, (int)id);
	} else {
		fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0) {
		qmp_call_error(call, QMP_ERR_GENERIC, "cannot open '%s': %s", name, strerror(-fd));
		return;
	}
	rc = call->ops->save(call->ctx, fd, lv && json_object_get_boolean(lv), err, sizeof(err));
	if (rc == 0 && fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
		rc = -errno;
	close(fd);
	if (rc < 0) {
		qmp_call_error(call, QMP_ERR_GENERIC, "saving the devices' state failed: %s",
			       err[0] ? err : strerror(-rc));
		return;
	}
	call->ret = json_object_new_object();
}

/*
 * xen-set-global-dirty-log: libxc's save turns it on for every HVM save,
 * live or not. A non-live save (xl save) suspends the guest and stops vdm
 * (QMP stop) before it copies the guest's pages, so nothing vdm wrote can
 * be missed; a live migration would also need vdm's own writes to guest
 * RAM reported (xendevicemodel_modified_memory), which it does not do yet:
 * the log line says so.
 */
static void qmp_cmd_dirty_log(struct qmp_call *call)
{
	struct json_object *ev = qmp_arg(call, "enable", json_type_boolean, true);

	if (call->err_class)
		return;
	if (call->ops->log)
		call->ops->log(call->ctx, CONF_LOG_INFO,
			       json_object_get_boolean(ev)
				   ? "qmp: xen-set-global-dirty-log on: fine for xl save; a live "
				     "migration would miss vdm's own writes to guest RAM"
				   : "qmp: xen-set-global-dirty-log off");
	call->ret = json_object_new_object();
}

/* xentop (libxenstat's QMP socket): no block statistics yet, an empty list. */
static void qmp_cmd_query_blockstats(struct qmp_call *call)
{
	call->ret = json_object_new_array();
}

static const struct {
	const char *name;
	void (*fn)(struct qmp_call *call);
} qmp_commands[] = {
    {"query-blockstats", qmp_cmd_query_blockstats},
    {"xen-set-global-dirty-log", qmp_cmd_dirty_log},
    {"query-version", qmp_cmd_query_version},
    {"query-status", qmp_cmd_query_status},
    {"query-chardev", qmp_cmd_query_chardev},
    {"query-vnc", qmp_cmd_query_vnc},
    {"query-cpus-fast", qmp_cmd_query_cpus_fast},
    {"query-cpus", qmp_cmd_query_cpus},
    {"cont", qmp_cmd_cont},
    {"stop", qmp_cmd_stop},
    {"add-fd", qmp_cmd_add_fd},
    {"xen-save-devices-state", qmp_cmd_save_devices},
};

void qmp_command_run(const char *name, struct qmp_call *call)
{
	for (unsigned i = 0; i < sizeof(qmp_commands) / sizeof(qmp_commands[0]); i++)
		if (strcmp(name, qmp_commands[i].name) == 0) {
			qmp_commands[i].fn(call);
			return;
		}
	qmp_call_error(call, QMP_ERR_NOT_FOUND, "The command %.100s has not been found", name);
}

struct json_object *qmp_greeting_version(void)
{
	return qmp_version_object();
}
