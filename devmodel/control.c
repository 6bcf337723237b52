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
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf/conf.h"
#include "devmodel/evloop.h"
#include "devmodel/iomap.h"
#include "devmodel/log.h"
#include "devmodel/plugin_host.h"
#include "devmodel/vm.h"

#define CONTROL_MAX_CLIENTS 16
#define CONTROL_LINE_MAX    256
/* A client silent this long (not sending, not taking its reply) is dropped. */
static unsigned control_idle_ms = 10000;
/* Reply bytes waiting for a client that does not read, before it is dropped. */
#define CONTROL_OUT_MAX (256u << 10)
/* How long `vdm --control` waits for a reply. */
#define CONTROL_CLIENT_TIMEOUT_S 10

struct control_client {
	struct control *c;
	int fd;
	struct evloop_item *item;
	char line[CONTROL_LINE_MAX];
	size_t used;
	bool overlong; /* the current line is too long: drop it */
	bool closing;  /* after quit or EOF: deliver the pending reply, run nothing more */
	char *out;     /* reply bytes not sent yet */
	size_t out_len;
	uint64_t last_active; /* monotonic ns of the last byte in or out */
};

struct control {
	struct vm *vm;
	struct evloop *loop; /* its own thread: no device callback can starve it */
	int fd;
	int lock_fd; /* flock'd SYSTEM.lock: one vdm per name, even when both start at once */
	int idle_fd; /* a timerfd on the host clock (the loop's own clock may be virtual) */
	struct evloop_item *item, *idle_item;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
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

/*
 * The directory holds the socket, so whoever controls it controls the VM:
 * another local user who made /tmp/vdm-UID first could put their own
 * socket there and answer our clients. It must be a real directory (not a
 * symlink), ours, with no access for group or others. Returns 0, or
 * -EPERM with `why` filled.
 */
static int control_dir_check(const char *dir, char *why, size_t len)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		snprintf(why, len, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "%s is not a directory (a symlink or a file)", dir);
		return -EPERM;
	}
	if (st.st_uid != geteuid()) {
		snprintf(why, len, "%s is owned by uid %u, not by us (uid %u)", dir,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 077) {
		snprintf(why, len, "%s has mode 0%o: group or others may use it (it must be 0700)",
			 dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Only our own user (or root) may speak to a VM, and only a VM of those. */
static int control_peer_check(int fd, uid_t *peer_uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	*peer_uid = cred.uid;
	return cred.uid == geteuid() || cred.uid == 0 ? 0 : -EPERM;
}

int control_socket_path(const char *system, char *buf, size_t len)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n;

	/* The name becomes a file name: never a path (the parser checks it too). */
	if (system && *system && conf_system_name_check(system, NULL))
		return -EINVAL;
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

/* Run one command line; the reply (ending "ok" or "error: ...") goes to
 * out. True when it was a quit: the connection runs nothing after it. */
static bool control_execute(struct control *c, char *line, FILE *out)
{
	char *save = NULL, *cmd = strtok_r(line, " \t\r", &save);
	char *arg = strtok_r(NULL, " \t\r", &save);

	if (!cmd) {
		fprintf(out, "error: empty command (try help)\n");
		return false;
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
				return false;
			}
		}
		vm_log(c->vm, LOG_LVL_INFO, "control: quit %ld", code);
		vm_stop_from_host(c->vm, (int)code);
		fprintf(out, "ok\n");
		return true;
	} else if (!strcmp(cmd, "help") && !arg) {
		fprintf(out, "status\nstats\nreset\nquit [CODE]\nhelp\n");
	} else {
		fprintf(out, "error: unknown command '%s'%s (try help)\n", cmd,
			arg ? " or unexpected argument" : "");
		return false;
	}
	fprintf(out, "ok\n");
	return false;
}

/* -------------------------------------------------------------- clients */

static void control_client_drop(struct control_client *cl)
{
	struct control *c = cl->c;

	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	evloop_remove(c->loop, cl->item);
}

static void control_client_release(void *ctx)
{
	struct control_client *cl = ctx;

	close(cl->fd);
	free(cl->out);
	free(cl);
}

/* Queue reply bytes; false when a client that does not read has too many. */
static bool control_queue(struct control_client *cl, const char *buf, size_t len)
{
	char *nb;

	if (cl->out_len + len > CONTROL_OUT_MAX)
		return false;
	nb = realloc(cl->out, cl->out_len + len + 1);
	if (!nb)
		return false;
	memcpy(nb + cl->out_len, buf, len);
	cl->out = nb;
	cl->out_len += len;
	return true;
}

/* Send what the socket takes now, never waiting. -1: the client is gone. */
static int control_flush(struct control_client *cl)
{
	while (cl->out_len) {
		ssize_t n = send(cl->fd, cl->out, cl->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		memmove(cl->out, cl->out + n, cl->out_len - (size_t)n);
		cl->out_len -= (size_t)n;
		cl->last_active = evloop_now_ns();
	}
	return 0;
}

/* Run every complete line received; stops for good after quit. */
static bool control_client_lines(struct control_client *cl, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && !cl->closing; i++) {
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
		if (!out)
			return false;
		cl->line[cl->used] = '\0';
		if (cl->overlong)
			fprintf(out, "error: command longer than %d bytes\n", CONTROL_LINE_MAX - 1);
		else if (control_execute(cl->c, cl->line, out))
			cl->closing = true; /* quit: nothing after it runs */
		fclose(out);
		cl->used = 0;
		cl->overlong = false;
		bool queued = control_queue(cl, reply, reply_len);
		free(reply);
		if (!queued)
			return false;
	}
	return true;
}

static void control_client_fire(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct control_client *cl = ctx;
	struct control *c = cl->c;

	if (control_flush(cl) < 0)
		goto drop;
	/* A reply still waiting: read nothing more until it is taken. */
	if (!cl->out_len && !cl->closing && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		char buf[512];
		ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0)
			goto drop;
		if (n == 0) {
			cl->closing = true; /* the client is done sending */
		} else {
			cl->last_active = evloop_now_ns();
			if (!control_client_lines(cl, buf, (size_t)n))
				goto drop;
		}
		if (control_flush(cl) < 0)
			goto drop;
	}
	if (cl->closing && !cl->out_len)
		goto drop;
	if (evloop_modify(c->loop, item, cl->out_len ? EPOLLOUT : EPOLLIN) < 0)
		goto drop;
	return;
drop:
	control_client_drop(cl);
}

/* Drop clients idle for CONTROL_IDLE_MS; on the host clock, once a second. */
static void control_idle_fire(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct control *c = ctx;
	uint64_t expiries, now = evloop_now_ns();

	if (read(c->idle_fd, &expiries, sizeof(expiries)) < 0) {
		/* nothing expired after all: look anyway */
	}
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *cl = c->clients[i];

		if (cl && now - cl->last_active > control_idle_ms * 1000000ull)
			control_client_drop(cl);
	}
}

static void control_refuse(int fd, const char *text)
{
	if (send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the client is gone anyway */
	}
	close(fd);
}

static void control_accept(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct control *c = ctx;
	int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	unsigned slot, oldest = 0;
	uid_t uid = (uid_t)-1;

	if (fd < 0)
		return;
	if (control_peer_check(fd, &uid) < 0) {
		vm_log(c->vm, LOG_LVL_WARN, "control: refused a client of uid %d (not ours)",
		       (int)uid);
		control_refuse(fd, "error: permission denied\n");
		return;
	}
	for (slot = 0; slot < CONTROL_MAX_CLIENTS && c->clients[slot]; slot++)
		if (c->clients[slot]->last_active < c->clients[oldest]->last_active)
			oldest = slot;
	if (slot == CONTROL_MAX_CLIENTS) {
		/* Full: the longest-idle client makes room, so that idle
		 * connections can never lock everyone out. */
		struct control_client *victim = c->clients[oldest];

		static const char note[] = "error: dropped: too many control clients\n";

		if (send(victim->fd, note, sizeof(note) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* it does not read anyway */
		}
		control_client_drop(victim);
		slot = oldest;
	}
	struct control_client *cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->c = c;
	cl->fd = fd;
	cl->last_active = evloop_now_ns();
	if (evloop_watch(c->loop, fd, EPOLLIN, control_client_fire, cl, control_client_release,
			 &cl->item) < 0) {
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

/*
 * One vdm per name: an exclusive flock on SYSTEM.lock, held while the VM
 * runs. Unlike "is the socket answering", it cannot race with a second
 * vdm starting at the same moment, and a crashed vdm leaves no lock.
 */
static int control_lock(struct control *c)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		struct stat held, named;
		int fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int err = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;

			close(fd);
			return err;
		}
		/* Locked a file its previous owner has just unlinked? Then again. */
		if (fstat(fd, &held) == 0 && stat(c->lock_path, &named) == 0 &&
		    held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
			c->lock_fd = fd;
			return 0;
		}
		close(fd);
	}
	return -EADDRINUSE;
}

static void control_free(struct control *c)
{
	if (c->loop)
		evloop_stop(c->loop);
	if (c->idle_item)
		evloop_remove(c->loop, c->idle_item);
	if (c->idle_fd >= 0)
		close(c->idle_fd);
	if (c->item)
		evloop_remove(c->loop, c->item);
	if (c->fd >= 0) {
		close(c->fd);
		unlink(c->path);
	}
	if (c->lock_fd >= 0) {
		unlink(c->lock_path);
		close(c->lock_fd);
	}
	evloop_free(c->loop);
	free(c);
}

int control_open(struct vm *vm, struct control **out)
{
	const char *system = vm_conf(vm)->system;
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	/* look at idle clients a few times per idle period, at most once a second */
	long tick_ns = control_idle_ms >= 4000 ? 1000000000l : (long)control_idle_ms * 250000l;
	struct itimerspec tick = {.it_value = {tick_ns / 1000000000l, tick_ns % 1000000000l},
				  .it_interval = {tick_ns / 1000000000l, tick_ns % 1000000000l}};
	char dir[sizeof(sa.sun_path)], why[PATH_MAX + 128];
	int ret;

	if (!c)
		return -ENOMEM;
	c->vm = vm;
	c->fd = c->lock_fd = c->idle_fd = -1;
	c->loop = evloop_new();
	if (!c->loop) {
		free(c);
		return -ENOMEM;
	}
	ret = control_socket_path(system, c->path, sizeof(c->path));
	if (ret < 0 || control_dir(dir, sizeof(dir)) < 0) {
		vm_log(vm, LOG_LVL_FATAL, "control socket: %s '%s'",
		       ret == -EINVAL ? "not a usable system name:" : "the path is too long for",
		       system ? system : "guest");
		control_free(c);
		return ret < 0 ? ret : -ENAMETOOLONG;
	}
	snprintf(c->lock_path, sizeof(c->lock_path), "%.*s.lock", (int)(strlen(c->path) - 5),
		 c->path);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		vm_log(vm, LOG_LVL_FATAL, "control socket: cannot create %s: %s", dir,
		       strerror(errno));
		control_free(c);
		return ret;
	}
	ret = control_dir_check(dir, why, sizeof(why));
	if (ret < 0) {
		vm_log(vm, LOG_LVL_FATAL,
		       "control socket: refusing an unsafe directory: %s; remove it (or set "
		       "XDG_RUNTIME_DIR to a directory of your own)",
		       why);
		control_free(c);
		return ret;
	}
	ret = control_lock(c);
	if (ret < 0) {
		if (ret == -EADDRINUSE)
			vm_log(vm, LOG_LVL_FATAL,
			       "a VM named '%s' is already running (%s is locked): give this VM "
			       "another `system` name",
			       system ? system : "guest", c->lock_path);
		else
			vm_log(vm, LOG_LVL_FATAL, "control socket: cannot lock %s: %s",
			       c->lock_path, strerror(-ret));
		control_free(c);
		return ret;
	}
	/* We hold the name: a socket file left there is a dead vdm's. */
	unlink(c->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(c->path, 0600) < 0 || listen(c->fd, CONTROL_MAX_CLIENTS) < 0) {
		ret = -errno;
		vm_log(vm, LOG_LVL_FATAL, "control socket %s: %s", c->path, strerror(errno));
		control_free(c);
		return ret;
	}
	c->idle_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->idle_fd < 0 || timerfd_settime(c->idle_fd, 0, &tick, NULL) < 0) {
		ret = -errno;
		control_free(c);
		return ret;
	}
	ret = evloop_watch(c->loop, c->fd, EPOLLIN, control_accept, c, NULL, &c->item);
	if (ret == 0)
		ret = evloop_watch(c->loop, c->idle_fd, EPOLLIN, control_idle_fire, c, NULL,
				   &c->idle_item);
	if (ret == 0)
		ret = evloop_start(c->loop);
	if (ret < 0) {
		control_free(c);
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
	evloop_stop(c->loop); /* no command runs from here on */
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i])
			control_client_drop(c->clients[i]);
	control_free(c);
}

void control_set_idle_ms(unsigned idle_ms)
{
	control_idle_ms = idle_ms ? idle_ms : 1;
}

const char *control_path(const struct control *c)
{
	return c->path;
}

int control_client(const char *system, const char *command)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], buf[4096],
	    last[CONTROL_LINE_MAX] = "", dir[sizeof(path)], why[PATH_MAX + 128];
	struct timeval timeout = {.tv_sec = CONTROL_CLIENT_TIMEOUT_S};
	size_t last_len = 0;
	struct stat st;
	int fd, ret = -EPROTO;
	ssize_t n;

	ret = control_socket_path(system, path, sizeof(path));
	if (ret < 0)
		return ret;
	/* The same rule as the VM's: never talk to a socket another user placed. */
	if (control_dir(dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	if (control_dir_check(dir, why, sizeof(why)) < 0) {
		fprintf(stderr, "vdm: --control: refusing an unsafe directory: %s\n", why);
		return -EPERM;
	}
	/* The socket file must be ours (or root's): the VM may run as another
	 * user after a privilege drop, but it created the socket before. */
	if (lstat(path, &st) == 0 &&
	    (!S_ISSOCK(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0))) {
		fprintf(stderr, "vdm: --control: %s is not a socket of ours (uid %u)\n", path,
			(unsigned)st.st_uid);
		return -EPERM;
	}
	fd = control_connect(path);
	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
	ret = -EPROTO;
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
	if (n < 0 && ret < 0)
		ret = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	fflush(stdout);
	close(fd);
	return ret;
}
