/*
 * conf/file.c: reading a file a user named (an @file, a guest script, a
 * guest image, a plugin) without ever blocking on it.
 *
 * Why not fopen: opening a FIFO with no writer blocks until one appears,
 * a terminal or a socket read blocks until the other end writes, and
 * /dev/zero never ends. So a user-named path is opened with O_NONBLOCK
 * (which makes open return at once whatever the file is), checked with
 * fstat, and only then read, with a size cap. conf_file_read also takes a
 * pipe (`vdm @<(generate-config)`, `@/dev/stdin`), read without blocking:
 * one with no writer is an error at once, one whose writer stalls is an
 * error after CONF_PIPE_TIMEOUT_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "is a directory";
	if (S_ISFIFO(mode))
		return "is a FIFO (named pipe), not a regular file";
	if (S_ISSOCK(mode))
		return "is a socket, not a regular file";
	if (S_ISCHR(mode))
		return "is a character device, not a regular file";
	if (S_ISBLK(mode))
		return "is a block device, not a regular file";
	return "is not a regular file";
}

/* How long a pipe's writer may stay silent before the read gives up. */
#define CONF_PIPE_TIMEOUT_MS 10000

/* Open for reading without blocking; a regular file (or also a pipe). */
static int file_open(const char *path, bool allow_pipe, const char **why, bool *is_pipe)
{
	struct stat st;
	int fd, flags;

	*why = NULL;
	*is_pipe = false;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		*why = strerror(err);
		return -err;
	}
	if (fstat(fd, &st) < 0) {
		int err = errno;

		*why = strerror(err);
		close(fd);
		return -err;
	}
	if (allow_pipe && S_ISFIFO(st.st_mode)) {
		*is_pipe = true; /* stays non-blocking: read_pipe polls */
		return fd;
	}
	if (!S_ISREG(st.st_mode)) {
		int err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;

		*why = file_kind(st.st_mode);
		close(fd);
		return -err;
	}
	/* A regular file never blocks; clear the flag for whoever reads it. */
	flags = fcntl(fd, F_GETFL);
	if (flags >= 0)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

int conf_file_open(const char *path, const char **why)
{
	bool is_pipe;

	return file_open(path, false, why, &is_pipe);
}

/*
 * One read of a pipe opened O_NONBLOCK: data, 0 at end of file, or -EAGAIN
 * turned into a bounded wait. A FIFO nobody has opened for writing reads
 * as end of file at once (no hang), which `first` reports as an error.
 */
static ssize_t read_pipe(int fd, char *buf, size_t len, bool first, const char **why)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int ready;

		if (n > 0)
			return n;
		if (n == 0) {
			if (first)
				*why = "is a FIFO (named pipe) with no writer: nothing to read";
			return first ? -ENODATA : 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ready = poll(&pfd, 1, CONF_PIPE_TIMEOUT_MS);
		if (ready == 0) {
			*why = "is a pipe whose writer sent nothing for 10 s";
			return -ETIMEDOUT;
		}
		if (ready < 0 && errno != EINTR)
			return -errno;
	}
}

int conf_file_read(const char *path, size_t max, char **text, size_t *length, const char **why)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	bool is_pipe;
	int fd = file_open(path, true, why, &is_pipe), err = 0;

	*text = NULL;
	if (length)
		*length = 0;
	if (fd < 0)
		return fd;
	/* Read to the end, not to st_size: /proc files report a size of 0. */
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb;

			if (ncap > max + 4096)
				ncap = max + 4096;
			if (ncap <= cap) {
				err = EFBIG;
				break;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				err = ENOMEM;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		if (is_pipe) {
			n = read_pipe(fd, buf + len, cap - len - 1, len == 0, why);
			if (n < 0) {
				err = (int)-n;
				break;
			}
		} else {
			n = read(fd, buf + len, cap - len - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				err = errno;
				break;
			}
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			err = EFBIG;
			break;
		}
	}
	close(fd);
	if (err) {
		free(buf);
		if (!*why || err == EFBIG)
			*why = err == EFBIG ? "the file is too large" : strerror(err);
		return -err;
	}
	if (!buf && !(buf = malloc(1))) {
		*why = strerror(ENOMEM);
		return -ENOMEM;
	}
	buf[len] = '\0';
	*text = buf;
	if (length)
		*length = len;
	return 0;
}
