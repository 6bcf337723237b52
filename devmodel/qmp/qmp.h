/*
 * devmodel/qmp/qmp.h: the QMP server libxl talks to (reference/xen-hvm-dm.md
 * 1.3-1.4; libxl 4.17's libxl_qmp.c is the client it is written against).
 *
 * Files: qmp_session.c is the protocol of one connection (greeting,
 * capabilities negotiation, commands, replies, CRLF framing, size bound)
 * with no sockets in it, so that unit tests and the fuzzer drive it with
 * bytes; qmp_commands.c answers each command through struct qmp_ops;
 * qmp_fdset.c keeps the descriptors add-fd received; qmp_server.c is the
 * unix sockets on the event loop (accept, non-blocking reads with
 * SCM_RIGHTS, writes, the connection bound). JSON is json-c's.
 *
 * The server knows nothing of the VM: whoever starts it (devmodel/xl/)
 * gives the ops. Every op runs on the event-loop thread, one at a time.
 */
#ifndef VDM_QMP_H
#define VDM_QMP_H

#include <stdbool.h>
#include <stddef.h>

struct evloop;
struct qmp_server;

/* The version vdm claims: libxl needs >= 2.11 for xen-save-devices-state's "live". */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 0

/* Bounds: one message (bytes of an unfinished JSON value), connections, fds. */
#define QMP_MAX_MESSAGE	    (64u << 10)
#define QMP_MAX_CONNECTIONS 8u
#define QMP_MAX_FDS	    16u

/* One character device of query-chardev. */
struct qmp_chardev {
	char label[32];	     /* "serial0" */
	char filename[4160]; /* "pty:/dev/pts/3" */
};

/*
 * What the server asks of the VM. Each returns 0 or a negative errno;
 * on failure `err` (capacity errlen) may say why, for the reply's "desc".
 */
struct qmp_ops {
	/* "prelaunch", "running", "paused", "inmigrate", "shutdown" */
	const char *(*status)(void *ctx);
	int (*cont)(void *ctx, char *err, size_t errlen);
	int (*stop)(void *ctx, char *err, size_t errlen);
	/* Fill up to `max` entries; return how many. */
	int (*chardevs)(void *ctx, struct qmp_chardev *out, unsigned max);
	/* Write every device's state to fd (the server closes it afterwards). */
	int (*save)(void *ctx, int fd, bool live, char *err, size_t errlen);
	/* How many vCPUs are online (query-cpus-fast: libxl reads the
	 * domain's configuration back before a save). May be NULL: 1. */
	unsigned (*vcpus)(void *ctx);
	/* A line for the VM's log (level: LOG_LVL_*). May be NULL. */
	void (*log)(void *ctx, unsigned level, const char *line);
	/* "vdm VERSION", for the greeting's "package" */
	const char *package;
};

/*
 * qmp_server_new: a server with no socket yet. 0 and *out, or -ENOMEM.
 * qmp_server_listen_path: create the unix socket `path` (a stale file there
 * is replaced), mode 0600, and listen; the server unlinks it when freed.
 * qmp_server_listen_fd: serve a socket libxl created and passed (dm_restrict,
 * "fd=N"); it becomes the server's, nothing is unlinked.
 * Both return 0 or a negative errno; connections wait in the backlog until
 * qmp_server_start.
 * qmp_server_start: begin accepting (vdm is ready: libxl may talk now).
 * Any thread. 0 or a negative errno.
 * qmp_server_free: close every connection, listener and fd set; unlink the
 * paths it created. Call with the loop stopped or from its thread.
 */
int qmp_server_new(struct evloop *loop, const struct qmp_ops *ops, void *ctx,
		   struct qmp_server **out);
int qmp_server_listen_path(struct qmp_server *s, const char *path);
int qmp_server_listen_fd(struct qmp_server *s, int fd);
int qmp_server_start(struct qmp_server *s);
void qmp_server_free(struct qmp_server *s);
/* Connections open now (tests). */
unsigned qmp_server_connection_count(struct qmp_server *s);

/* ---------------------------------------------------- one connection */

struct qmp_session;
struct qmp_fdsets;

/*
 * The protocol of one connection without its socket. qmp_session_new
 * queues the greeting. qmp_session_input takes bytes as they arrive, and
 * the descriptors that came with them (SCM_RIGHTS; the session owns them
 * from then on); it runs each complete command and queues its reply.
 * Returns 0, or -EPROTO when the connection must end (malformed JSON, a
 * message over QMP_MAX_MESSAGE): the error reply is queued first.
 * qmp_session_output: the bytes queued and not yet taken; qmp_session_consume
 * drops the first n of them.
 */
struct qmp_session *qmp_session_new(const struct qmp_ops *ops, void *ctx, struct qmp_fdsets *sets);
void qmp_session_free(struct qmp_session *s);
int qmp_session_input(struct qmp_session *s, const char *data, size_t len, const int *fds,
		      unsigned nfds);
const char *qmp_session_output(struct qmp_session *s, size_t *len);
void qmp_session_consume(struct qmp_session *s, size_t n);

/* Descriptor sets of add-fd, shared by the connections of one server. */
struct qmp_fdsets *qmp_fdsets_new(void);
void qmp_fdsets_free(struct qmp_fdsets *sets);
/* How many descriptors the sets hold (tests, leak checks). */
unsigned qmp_fdsets_count(const struct qmp_fdsets *sets);

#endif /* VDM_QMP_H */
