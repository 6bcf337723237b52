/*
 * devmodel/control.c: the VM's control socket (see control.h).
 *
 * Why a line protocol over a Unix socket: any client (a test's shell, a
 * supervisor, `vdm --control`) can speak it without a library, and file
 * permissions on the socket's directory (0700) decide who may.
 */
#include "devmodel/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devmodel/evloop.h"
#include "devmodel/iomap.h"
#include "devmodel/log.h"
#include "devmodel/plugin_host.h"
#include "devmodel/vm.h"

#define CONTROL_MAX_CLIENTS 16
#define CONTROL_LINE_MAX    256

struct control_client {
	struct control *c;
	int fd;
	struct evloop_item *item;
	char line[CONTROL_LINE_MAX];
	size_t used;
	bool overlong; /* the current line is too long: drop it */
};

struct control {
	struct vm *vm;
	int fd;
	struct evloop_item *item;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct control_client *clients[CONTROL_MAX_CLIENTS];
};

static int control_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (xdg && *xdg)
		n = snprintf(buf, len, "%s/vdm", xdg);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/vdm");
	else
		n = snprintf(buf, len, "/tmp/vdm-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int control_socket_path(const char *system, char *buf, size_t len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n;

	if (control_dir(dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	n = snprintf(buf, len, "%s/%s.sock", dir, system && *system ? system : "guest");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------- commands */

static void control_stats(struct vm *vm, FILE *out)
{
	static const enum vdev_space spaces[] = {VDEV_SPACE_MMIO, VDEV_SPACE_PIO,
						 VDEV_SPACE_PCICFG};

	fprintf(out, "uuid=%s\n", vm_uuid(vm));
	fprintf(out, "state=%s\n",
		vm_stopping(vm)	       ? "stopping"
		: vm_guest_started(vm) ? "running"
				       : "configured");
	for (unsigned i = 0; i < 3; i++)
		fprintf(out, "unowned.%s=%llu\n", iomap_space_name(spaces[i]),
			(unsigned long long)iomap_unowned_count(vm_iomap(vm), spaces[i]));
	for (unsigned i = 0; i < vm_vdev_count(vm); i++) {
		struct vdev_host_ctx *inst = vm_vdev_at(vm, i);
		struct plugin_host_counters cnt;
		const char *name = plugin_host_name(inst);
		plugin_host_counters(inst, &cnt);
		fprintf(out, "vdev.%s.device=%s\n", name, plugin_host_descriptor(inst)->name);
		fprintf(out, "vdev.%s.reads=%llu\n", name, (unsigned long long)cnt.reads);
		fprintf(out, "vdev.%s.writes=%llu\n", name, (unsigned long long)cnt.writes);
		fprintf(out, "vdev.%s.errors=%llu\n", name, (unsigned long long)cnt.errors);
	}
}

/* Run one command line; the reply (ending "ok" or "error: ...") goes to out. */
static void control_execute(struct control *c, char *line, FILE *out)
{
	char *save = NULL, *cmd = strtok_r(line, " \t\r", &save);
	char *arg = strtok_r(NULL, " \t\r", &save);

	if (!cmd) {
		fprintf(out, "error: empty command (try help)\n");
		return;
	}
	if (!strcmp(cmd, "status") && !arg) {
		vm_status(c->vm, out);
	} else if (!strcmp(cmd, "stats") && !arg) {
		control_stats(c->vm, out);
	} else if (!strcmp(cmd, "reset") && !arg) {
		for (unsigned i = 0; i < vm_vdev_count(c->vm); i++)
			plugin_host_reset(vm_vdev_at(c->vm, i));
		vm_log(c->vm, LOG_LVL_INFO, "control: every vdev reset");
	} else if (!strcmp(cmd, "quit")) {
		long code = 0;
		if (arg) {
			char *end;
			errno = 0;
			code = strtol(arg, &end, 0);
			if (errno || *end || code < 0 || code > 255 ||
			    strtok_r(NULL, " \t\r", &save)) {
				fprintf(out, "error: quit takes an exit code 0..255\n");
				return;
			}
		}
		vm_log(c->vm, LOG_LVL_INFO, "control: quit %ld", code);
		vm_stop_from_host(c->vm, (int)code);
	} else if (!strcmp(cmd, "help") && !arg) {
		fprintf(out, "status\nstats\nreset\nquit [CODE]\nhelp\n");
	} else {
		fprintf(out, "error: unknown command '%s'%s (try help)\n", cmd,
			arg ? " or unexpected argument" : "");
		return;
	}
	fprintf(out, "ok\n");
}

/* -------------------------------------------------------------- clients */

static void control_client_drop(struct control_client *cl)
{
	struct control *c = cl->c;

	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	evloop_remove(vm_evloop(c->vm), cl->item);
}

static void control_client_release(void *ctx)
{
	struct control_client *cl = ctx;

	close(cl->fd);
	free(cl);
}

/* A reply is small; the client gets a second to take it, then is dropped. */
static int control_reply(struct control_client *cl, const char *buf, size_t len)
{
	while (len) {
		struct pollfd pfd = {.fd = cl->fd, .events = POLLOUT};
		ssize_t n = send(cl->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN && poll(&pfd, 1, 1000) > 0)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void control_client_fire(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct control_client *cl = ctx;
	char buf[512];
	ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		control_client_drop(cl);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (cl->used + 1 < sizeof(cl->line))
				cl->line[cl->used++] = buf[i];
			else
				cl->overlong = true;
			continue;
		}
		char *reply = NULL;
		size_t reply_len = 0;
		FILE *out = open_memstream(&reply, &reply_len);
		if (!out) {
			control_client_drop(cl);
			return;
		}
		cl->line[cl->used] = '\0';
		if (cl->overlong)
			fprintf(out, "error: command longer than %d bytes\n", CONTROL_LINE_MAX - 1);
		else
			control_execute(cl->c, cl->line, out);
		fclose(out);
		cl->used = 0;
		cl->overlong = false;
		int rc = control_reply(cl, reply, reply_len);
		free(reply);
		if (rc < 0) {
			control_client_drop(cl);
			return;
		}
	}
}

static void control_accept(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct control *c = ctx;
	int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	unsigned slot;

	if (fd < 0)
		return;
	for (slot = 0; slot < CONTROL_MAX_CLIENTS && c->clients[slot]; slot++)
		;
	struct control_client *cl = slot < CONTROL_MAX_CLIENTS ? calloc(1, sizeof(*cl)) : NULL;
	if (!cl) {
		static const char busy[] = "error: too many control clients\n";
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* the client is gone anyway */
		}
		close(fd);
		return;
	}
	cl->c = c;
	cl->fd = fd;
	if (evloop_watch(vm_evloop(c->vm), fd, EPOLLIN, control_client_fire, cl,
			 control_client_release, &cl->item) < 0) {
		close(fd);
		free(cl);
		return;
	}
	c->clients[slot] = cl;
}

/* ----------------------------------------------------------- the socket */

static int control_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int control_open(struct vm *vm, struct control **out)
{
	const char *system = vm_conf(vm)->system;
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)];
	int ret, fd;

	if (!c)
		return -ENOMEM;
	c->vm = vm;
	c->fd = -1;
	if (control_dir(dir, sizeof(dir)) < 0 ||
	    control_socket_path(system, c->path, sizeof(c->path)) < 0) {
		vm_log(vm, LOG_LVL_ERROR, "control socket: the path for '%s' is too long",
		       system ? system : "guest");
		free(c);
		return -ENAMETOOLONG;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		vm_log(vm, LOG_LVL_ERROR, "control socket: cannot create %s: %s", dir,
		       strerror(errno));
		free(c);
		return ret;
	}
	/* Another vdm answering on this name keeps it; a dead socket is replaced. */
	fd = control_connect(c->path);
	if (fd >= 0) {
		close(fd);
		vm_log(vm, LOG_LVL_ERROR,
		       "control socket %s is in use by another vdm: give this VM another `system` "
		       "name",
		       c->path);
		free(c);
		return -EADDRINUSE;
	}
	unlink(c->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->fd, CONTROL_MAX_CLIENTS) < 0) {
		ret = -errno;
		vm_log(vm, LOG_LVL_ERROR, "control socket %s: %s", c->path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return ret;
	}
	ret = evloop_watch(vm_evloop(vm), c->fd, EPOLLIN, control_accept, c, NULL, &c->item);
	if (ret < 0) {
		close(c->fd);
		unlink(c->path);
		free(c);
		return ret;
	}
	vm_log(vm, LOG_LVL_INFO, "control socket %s", c->path);
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i])
			control_client_drop(c->clients[i]);
	evloop_remove(vm_evloop(c->vm), c->item);
	close(c->fd);
	unlink(c->path);
	free(c);
}

const char *control_path(const struct control *c)
{
	return c->path;
}

int control_client(const char *system, const char *command)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], buf[4096],
	    last[CONTROL_LINE_MAX] = "";
	size_t last_len = 0;
	int fd, ret = -EPROTO;
	ssize_t n;

	if (control_socket_path(system, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	fd = control_connect(path);
	if (fd < 0)
		return fd;
	if (send(fd, command, strlen(command), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* Read until the reply's last line: "ok" or "error: ...". */
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (last_len + 1 < sizeof(last))
					last[last_len++] = buf[i];
				continue;
			}
			last[last_len] = '\0';
			last_len = 0;
			if (!strcmp(last, "ok"))
				ret = 0;
			else if (!strncmp(last, "error:", 6))
				ret = 1;
		}
		if (ret >= 0)
			break;
	}
	fflush(stdout);
	close(fd);
	return ret;
}
