/*
 * vdevs/common/hostio.c: host endpoints of a character device (a serial
 * port, a console) (see hostio.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <spawn.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vdevs/common/hostio.h"

enum hostio_dir { DIR_BOTH, DIR_IN, DIR_OUT };

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/*
 * open_stdio: a descriptor of our own on standard stream `fd`. Setting
 * O_NONBLOCK on fd itself would change the open file description vdm (and
 * the shell) share, so pipes and terminals are reopened through /proc to
 * get a description of our own; regular files never block and are
 * duplicated; sockets are duplicated and written with MSG_DONTWAIT
 * (*socket set).
 */
static int open_stdio(int fd, int flags, bool *socket)
{
	struct stat st;
	char path[64];
	int nfd;

	*socket = false;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)) {
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nfd < 0)
			return -errno;
		*socket = S_ISSOCK(st.st_mode);
		return nfd;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0)
		return -errno;
	return nfd;
}

static int open_pty(struct hostio *io, char *err, size_t errlen)
{
	struct termios tio;
	const char *name;
	int master, slave;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    !(name = ptsname(master))) {
		int rc = -errno;

		snprintf(err, errlen, "cannot create a pty: %s", strerror(errno));
		if (master >= 0)
			close(master);
		return rc;
	}
	/* Hold the slave open so that the master does not report hang-up
	 * while nobody is attached, and make it raw: bytes pass unchanged. */
	slave = open(name, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (slave < 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot open %s: %s", name, strerror(errno));
		close(master);
		return rc;
	}
	if (tcgetattr(slave, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(slave, TCSANOW, &tio);
	}
	set_nonblock(master);
	io->pty_slave = slave;
	snprintf(io->in_name, sizeof(io->in_name), "pty %s", name);
	snprintf(io->out_name, sizeof(io->out_name), "pty %s", name);
	return master;
}

static int open_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path) || !*path) {
		snprintf(err, errlen, "unix socket path \"%s\" is empty or too long", path);
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot connect to unix:%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * open_command: `>|COMMAND`: a pipe into `sh -c COMMAND`. posix_spawn, not
 * fork, since vdm has threads; the shell gets default signal actions and
 * an empty mask (vdm ignores SIGPIPE and blocks its signals, which a child
 * would inherit), vdm's stdout and stderr, and the pipe as stdin.
 */
static int open_command(const char *command, struct hostio *io, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int fds[2], rc;
	char *argv[] = {"sh", "-c", (char *)command, NULL};

	if (!*command) {
		snprintf(err, errlen, "hostdev >|: no command after '|'");
		return -EINVAL;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return rc;
	}
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawn(&io->child, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[0]);
	if (rc == 0)
		rc = set_nonblock(fds[1]);
	else
		rc = -rc;
	if (rc < 0) {
		snprintf(err, errlen, "cannot start sh -c \"%s\": %s", command, strerror(-rc));
		close(fds[1]);
		if (io->child > 0)
			waitpid(io->child, NULL, 0);
		io->child = 0;
		return rc;
	}
	return fds[1];
}

/* open_one: one hostdev value; sets in/out descriptors (the same one for both ways). */
static int open_one(const char *text, struct hostio *io, char *err, size_t errlen)
{
	enum hostio_dir dir = DIR_BOTH;
	bool want_in, want_out, shared = false;
	int fd, flags;

	if (*text == '<' || *text == '>') {
		dir = *text == '<' ? DIR_IN : DIR_OUT;
		text++;
	}
	if (!*text) {
		snprintf(err, errlen, "hostdev needs a target after '%c'", text[-1]);
		return -EINVAL;
	}
	/* The standard streams have one way only, whatever the prefix. */
	if (!strcmp(text, "stdout") || !strcmp(text, "-")) {
		if (dir == DIR_IN) {
			snprintf(err, errlen, "hostdev <%s: standard output cannot be read", text);
			return -EINVAL;
		}
		dir = DIR_OUT;
	} else if (!strcmp(text, "stdin")) {
		if (dir == DIR_OUT) {
			snprintf(err, errlen, "hostdev >stdin: standard input cannot be written");
			return -EINVAL;
		}
		dir = DIR_IN;
	}
	want_in = dir != DIR_OUT;
	want_out = dir != DIR_IN;
	if ((want_in && io->in_fd >= 0) || (want_out && io->out_fd >= 0)) {
		snprintf(err, errlen, "hostdev %s: the port already has an %s", text,
			 want_in && io->in_fd >= 0 ? "input" : "output");
		return -EINVAL;
	}

	if (!strcmp(text, "stdout") || !strcmp(text, "-")) {
		fd = open_stdio(STDOUT_FILENO, O_WRONLY, &shared);
	} else if (!strcmp(text, "stdin")) {
		fd = open_stdio(STDIN_FILENO, O_RDONLY, &shared);
	} else if (!strcmp(text, "pty")) {
		if (io->pty_slave >= 0) {
			snprintf(err, errlen, "hostdev pty given twice");
			return -EINVAL;
		}
		fd = open_pty(io, err, errlen);
		if (fd < 0)
			return fd;
	} else if (text[0] == '|') {
		if (dir != DIR_OUT) {
			snprintf(err, errlen,
				 "hostdev %s%s: a command only reads the output: write "
				 "hostdev >\"%s\"",
				 dir == DIR_IN ? "<" : "", text, text);
			return -EINVAL;
		}
		if (io->child) {
			snprintf(err, errlen, "hostdev >|: one command per port");
			return -EINVAL;
		}
		fd = open_command(text + 1, io, err, errlen);
		if (fd < 0)
			return fd;
	} else if (!strncmp(text, "unix:", 5)) {
		fd = open_unix(text + 5, err, errlen);
		if (fd < 0)
			return fd;
		shared = true;
	} else {
		flags = dir == DIR_IN	 ? O_RDONLY
			: dir == DIR_OUT ? O_WRONLY | O_CREAT | O_TRUNC
					 : O_RDWR;
		fd = open(text, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0666);
		if (fd < 0)
			fd = -errno; /* open returns -1: the reason is errno */
	}
	if (fd < 0) {
		if (!*err)
			snprintf(err, errlen, "cannot open %s: %s", text, strerror(-fd));
		return fd;
	}
	if (want_in) {
		io->in_fd = fd;
		io->in_socket = shared;
		if (!io->in_name[0])
			snprintf(io->in_name, sizeof(io->in_name), "%s", text);
	}
	if (want_out) {
		io->out_fd = fd;
		io->out_socket = shared;
		if (!io->out_name[0])
			snprintf(io->out_name, sizeof(io->out_name), "%s", text);
	}
	return 0;
}

int hostio_open(const char *const *texts, unsigned count, struct hostio *io, char *err,
		size_t errlen)
{
	int rc;

	memset(io, 0, sizeof(*io));
	io->in_fd = io->out_fd = io->pty_slave = -1;
	if (errlen)
		err[0] = '\0';
	for (unsigned i = 0; i < count; i++) {
		rc = open_one(texts[i], io, err, errlen);
		if (rc < 0) {
			hostio_close(io);
			return rc;
		}
	}
	return 0;
}

void hostio_close(struct hostio *io)
{
	if (io->in_fd >= 0)
		close(io->in_fd);
	if (io->out_fd >= 0 && io->out_fd != io->in_fd)
		close(io->out_fd);
	if (io->pty_slave >= 0)
		close(io->pty_slave);
	io->in_fd = io->out_fd = io->pty_slave = -1;
	if (io->child > 0) {
		/* the command saw end of input: give it a moment to finish its
		 * output, then stop it; never wait for it for long */
		for (int i = 0; i < 100 && waitpid(io->child, NULL, WNOHANG) == 0; i++)
			usleep(10000);
		if (waitpid(io->child, NULL, WNOHANG) == 0) {
			kill(io->child, SIGTERM);
			waitpid(io->child, NULL, 0);
		}
		io->child = 0;
	}
}

/*
 * write_nosigpipe: write() with SIGPIPE blocked on this thread, and a
 * SIGPIPE it raised consumed, so that a reader going away is -EPIPE and
 * never kills vdm. Changes no process-wide signal setting.
 */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old, pending;
	struct timespec zero = {0, 0};
	bool was_pending;
	ssize_t n;
	int saved;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = write(fd, buf, len);
	saved = errno;
	if (n < 0 && saved == EPIPE && !was_pending)
		sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

ssize_t hostio_write(struct hostio *io, const void *buf, size_t len)
{
	ssize_t n;

	if (io->out_fd < 0)
		return -EBADF;
	if (io->out_socket)
		n = send(io->out_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		n = write_nosigpipe(io->out_fd, buf, len);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EAGAIN;
	return n;
}

ssize_t hostio_read(struct hostio *io, void *buf, size_t len)
{
	ssize_t n;

	if (io->in_fd < 0)
		return -EBADF;
	if (io->in_socket)
		n = recv(io->in_fd, buf, len, MSG_DONTWAIT);
	else
		n = read(io->in_fd, buf, len);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

int hostio_parse_delayed(const char *text, uint64_t now_ns, uint64_t *deadline, char *err,
			 size_t errlen)
{
	char *end;
	unsigned long long secs;

	if (!strcmp(text, "forever")) {
		*deadline = 0;
		return 0;
	}
	secs = strtoull(text, &end, 0);
	if (!*text || *end || secs > 86400ull * 365) {
		snprintf(err, errlen, "delayed \"%s\": expected a number of seconds or `forever`",
			 text);
		return -EINVAL;
	}
	*deadline = now_ns + secs * 1000000000ull;
	if (!*deadline)
		*deadline = 1;
	return 0;
}
