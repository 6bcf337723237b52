/*
 * devmodel/qmp/qmp_server.c: the QMP unix sockets on the event loop.
 *
 * libxl opens a new connection for every operation and closes it after the
 * reply (libxl_qmp.c qmp_ev_connect), so connections are short; at most
 * QMP_MAX_CONNECTIONS are open, and a new one beyond that closes the
 * oldest (libxl's is always the newest). Everything is non-blocking on the
 * loop thread: reads with recvmsg (add-fd's descriptor arrives with the
 * first byte of its command), replies queued by the session and written
 * as the socket takes them.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devmodel/evloop.h"
#include "devmodel/log.h"
#include "devmodel/qmp/qmp_internal.h"

#define QMP_MAX_LISTENERS 2
#define QMP_FDS_PER_READ  4

struct qmp_conn {
	struct qmp_server *srv;
	struct qmp_conn *next;
	int fd;
	struct evloop_item *item;
	struct qmp_session *sess;
	bool closing;
	uint32_t events;
};

struct qmp_listener {
	int fd;
	char *path; /* created by us: unlinked at the end */
	struct evloop_item *item;
};

struct qmp_server {
	struct evloop *loop;
	const struct qmp_ops *ops;
	void *ctx;
	struct qmp_fdsets *sets;
	struct qmp_listener listeners[QMP_MAX_LISTENERS];
	unsigned listener_count;
	struct qmp_conn *conns; /* newest first */
	unsigned conn_count;
};

static void qmp_srv_log(struct qmp_server *s, unsigned level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void qmp_srv_log(struct qmp_server *s, unsigned level, const char *fmt, ...)
{
	char line[300];
	va_list ap;

	if (!s->ops->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->ops->log(s->ctx, level, line);
}

int qmp_server_new(struct evloop *loop, const struct qmp_ops *ops, void *ctx,
		   struct qmp_server **out)
{
	struct qmp_server *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->ops = ops;
	s->ctx = ctx;
	s->sets = qmp_fdsets_new();
	if (!s->sets) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

unsigned qmp_server_connection_count(struct qmp_server *s)
{
	return s->conn_count;
}

/* ---------------------------------------------------------- connections */

static void qmp_conn_release(void *ctx)
{
	struct qmp_conn *c = ctx;

	qmp_session_free(c->sess); /* NULL once qmp_conn_close ran */
	close(c->fd);
	free(c);
}

static void qmp_conn_close(struct qmp_conn *c)
{
	struct qmp_server *s = c->srv;

	for (struct qmp_conn **p = &s->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			s->conn_count--;
			break;
		}
	/* now, not in the deferred release: the session's fd sets are the server's */
	qmp_session_free(c->sess);
	c->sess = NULL;
	if (c->item)
		evloop_remove(s->loop, c->item); /* qmp_conn_release frees it */
	else
		qmp_conn_release(c);
}

/* Write what the session queued; false when the connection is to go. */
static bool qmp_conn_flush(struct qmp_conn *c)
{
	size_t len;
	const char *out;
	uint32_t want;

	while ((out = qmp_session_output(c->sess, &len)) && len) {
		ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return false;
		qmp_session_consume(c->sess, (size_t)n);
	}
	qmp_session_output(c->sess, &len);
	if (c->closing && !len)
		return false;
	want = (c->closing ? 0 : EPOLLIN) | (len ? EPOLLOUT : 0);
	if (want != c->events && c->item) {
		if (evloop_modify(c->srv->loop, c->item, want) < 0)
			return false;
		c->events = want;
	}
	return true;
}

/* Read what is there; false at end of stream or on an error. */
static bool qmp_conn_read(struct qmp_conn *c)
{
	for (;;) {
		char buf[4096];
		char cbuf[CMSG_SPACE(QMP_FDS_PER_READ * sizeof(int))];
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		int fds[QMP_FDS_PER_READ];
		unsigned nfds = 0;
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
				if (nfds < QMP_FDS_PER_READ)
					fds[nfds++] = fd;
				else
					close(fd);
			}
		}
		if (n == 0) {
			for (unsigned k = 0; k < nfds; k++)
				close(fds[k]);
			return false;
		}
		if (qmp_session_input(c->sess, buf, (size_t)n, fds, nfds) < 0) {
			qmp_srv_log(c->srv, LOG_LVL_WARN,
				    "qmp: a client sent malformed or oversized input; closing it");
			c->closing = true;
			return true;
		}
	}
}

static void qmp_conn_ready(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct qmp_conn *c = ctx;
	bool keep = true;

	if ((events & EPOLLIN) && !c->closing)
		keep = qmp_conn_read(c);
	else if (events & (EPOLLERR | EPOLLHUP))
		keep = false;
	if (keep)
		keep = qmp_conn_flush(c);
	if (!keep)
		qmp_conn_close(c);
}

static void qmp_accept(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct qmp_listener *l = NULL;
	struct qmp_server *s = ctx;

	for (unsigned i = 0; i < s->listener_count; i++)
		if (s->listeners[i].item == item)
			l = &s->listeners[i];
	if (!l)
		return;
	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct qmp_conn *c;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				qmp_srv_log(s, LOG_LVL_WARN, "qmp: accept: %s", strerror(errno));
			return;
		}
		if (s->conn_count >= QMP_MAX_CONNECTIONS) {
			struct qmp_conn *oldest = s->conns;

			while (oldest && oldest->next)
				oldest = oldest->next;
			qmp_srv_log(s, LOG_LVL_WARN, "qmp: %u connections open: closing the oldest",
				    s->conn_count);
			if (oldest)
				qmp_conn_close(oldest);
		}
		c = calloc(1, sizeof(*c));
		if (c)
			c->sess = qmp_session_new(s->ops, s->ctx, s->sets);
		if (!c || !c->sess) {
			free(c);
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->events = EPOLLIN;
		if (evloop_watch(s->loop, fd, EPOLLIN, qmp_conn_ready, c, qmp_conn_release,
				 &c->item) < 0) {
			qmp_conn_release(c);
			continue;
		}
		c->next = s->conns;
		s->conns = c;
		s->conn_count++;
		if (!qmp_conn_flush(c)) /* the greeting */
			qmp_conn_close(c);
	}
}

/* ------------------------------------------------------------ listeners */

static int qmp_add_listener(struct qmp_server *s, int fd, const char *path)
{
	struct qmp_listener *l;

	if (s->listener_count >= QMP_MAX_LISTENERS)
		return -ENOSPC;
	l = &s->listeners[s->listener_count];
	l->fd = fd;
	l->path = path ? strdup(path) : NULL;
	l->item = NULL;
	if (path && !l->path)
		return -ENOMEM;
	s->listener_count++;
	return 0;
}

int qmp_server_listen_path(struct qmp_server *s, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a socket left by an earlier device model of the same domain id */
	if (unlink(path) < 0 && errno != ENOENT) {
		rc = -errno;
		close(fd);
		return rc;
	}
	{
		mode_t old = umask(0177);

		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		umask(old);
	}
	if (rc < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = qmp_add_listener(s, fd, path);
	if (rc < 0) {
		unlink(path);
		close(fd);
	}
	return rc;
}

int qmp_server_listen_fd(struct qmp_server *s, int fd)
{
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	len = sizeof(listening);
	if (type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
		return -ENOTSOCK;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return qmp_add_listener(s, fd, NULL);
}

int qmp_server_start(struct qmp_server *s)
{
	for (unsigned i = 0; i < s->listener_count; i++) {
		int rc;

		if (s->listeners[i].item)
			continue;
		rc = evloop_watch(s->loop, s->listeners[i].fd, EPOLLIN, qmp_accept, s, NULL,
				  &s->listeners[i].item);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void qmp_server_free(struct qmp_server *s)
{
	if (!s)
		return;
	while (s->conns)
		qmp_conn_close(s->conns);
	for (unsigned i = 0; i < s->listener_count; i++) {
		struct qmp_listener *l = &s->listeners[i];

		if (l->item)
			evloop_remove(s->loop, l->item);
		close(l->fd);
		if (l->path)
			unlink(l->path);
		free(l->path);
	}
	qmp_fdsets_free(s->sets);
	free(s);
}
