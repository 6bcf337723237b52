/*
 * devmodel/qmp/qmp_internal.h: what the files of devmodel/qmp/ share.
 */
#ifndef VDM_QMP_INTERNAL_H
#define VDM_QMP_INTERNAL_H

#include <json-c/json.h>

#include "devmodel/qmp/qmp.h"

/* The error classes QEMU uses and libxl reads ("class"). */
#define QMP_ERR_GENERIC	  "GenericError"
#define QMP_ERR_NOT_FOUND "CommandNotFound"

/* What a command handler has: the session's ops and fd sets, its arguments. */
struct qmp_call {
	const struct qmp_ops *ops;
	void *ctx;
	struct qmp_fdsets *sets;
	const void *owner;	  /* the session: fd sets added by it close with it */
	struct json_object *args; /* may be NULL */
	/* a descriptor that came with the command (SCM_RIGHTS), -1 if none; a
	 * handler that keeps it sets it to -1 */
	int fd;
	/* the answer: *ret (a new reference), or error class + description */
	struct json_object *ret;
	const char *err_class;
	char err[256];
};

/* qmp_command_run: answer call->args for `name` (qmp_commands.c). */
void qmp_command_run(const char *name, struct qmp_call *call);
/* The version object of the greeting and of query-version (a new reference). */
struct json_object *qmp_greeting_version(void);
/* qmp_call_error: set the call's error (class, printf description). */
void qmp_call_error(struct qmp_call *call, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* add-fd: keep fd in set `id` (-1: a new set) for `owner`. 0 and *set_id, or -errno. */
int qmp_fdsets_add(struct qmp_fdsets *sets, const void *owner, int id, int fd, int *set_id);
/* A duplicate of the newest descriptor in set `id`, or -ENOENT. */
int qmp_fdsets_dup(struct qmp_fdsets *sets, int id);
/* Close every set `owner` added. */
void qmp_fdsets_release(struct qmp_fdsets *sets, const void *owner);

#endif /* VDM_QMP_INTERNAL_H */
