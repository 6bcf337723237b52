/*
 * conf/file.c: reading a file a user named (an @file, a guest script, a
 * guest image, a plugin) without ever blocking on it.
 *
 * Why not fopen: opening a FIFO with no writer blocks until one appears,
 * a terminal or a socket read blocks until the other end writes, and
 * /dev/zero never ends. So a user-named path is opened with O_NONBLOCK
 * (which makes open return at once whatever the file is), checked with
 * fstat to be a regular file, and only then read, with a size cap.
 */
#include <errno.h>
#include <fcntl.h>
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

int conf_file_open(const char *path, const char **why)
{
	struct stat st;
	int fd, flags;

	*why = NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		*why = strerror(err);
		return -err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
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

int conf_file_read(const char *path, size_t max, char **text, size_t *length, const char **why)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd = conf_file_open(path, why), err = 0;

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
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
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
