/*
 * vdevs/common/hostio.h: the host side of an emulated character device
 * (ser8250's UART, virtio-console's port): parse `hostdev` values, open the
 * endpoints, and move bytes without ever blocking. Compiled into each
 * plugin that uses it, so both accept the same `hostdev` spellings. Knows
 * nothing of the device or of the vdev host services (the
 * caller watches the descriptors); safe to call from any one thread.
 */
#ifndef VDEVS_COMMON_HOSTIO_H
#define VDEVS_COMMON_HOSTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The endpoints of one port: input and output may be one descriptor. */
struct hostio {
	int in_fd;	 /* -1: no input */
	int out_fd;	 /* -1: no output (the device discards what it sends) */
	int pty_slave;	 /* pty: our own slave descriptor, keeps the master from HUP */
	bool in_socket;	 /* in_fd is a socket: recv(MSG_DONTWAIT) */
	bool out_socket; /* out_fd is a socket: send(MSG_DONTWAIT | MSG_NOSIGNAL),
			  * which needs no O_NONBLOCK on a description shared with vdm */
	char in_name[128], out_name[128]; /* for logs ("pty /dev/pts/3", ...) */
	pid_t child;			  /* `>|command`: the shell reading the output; 0: none */
};

/*
 * hostio_open: open what `texts` (the `hostdev` values, count of them)
 * name. Each is [<|>]TARGET: `<` input only, `>` output only, neither both
 * ways where the target allows. TARGET is `stdout` or `-` (vdm's standard
 * output), `stdin`, `pty` (a new pseudo-terminal), `unix:PATH` (connect to a
 * stream socket), `|COMMAND` (output only: `sh -c COMMAND` reads it on its
 * standard input, qvm 8.0's `hostdev >"|command"`) or a path (a file or
 * device; `>path` creates/truncates a file). At most one input and one
 * output in all. Every descriptor is non-blocking and close-on-exec
 * (standard streams are reopened or duplicated so that vdm's own streams
 * keep their flags). Returns 0 with *io filled (io->in_fd/out_fd -1 where
 * nothing was named); -EINVAL for a malformed list; a negative errno when a
 * target cannot be opened. In every error case, err holds a sentence and
 * nothing stays open.
 */
int hostio_open(const char *const *texts, unsigned count, struct hostio *io, char *err,
		size_t errlen);

/* hostio_close: close everything open; idempotent. */
void hostio_close(struct hostio *io);

/*
 * hostio_write: write up to len bytes without blocking and without
 * SIGPIPE. Returns the count written (> 0), -EAGAIN when the output is
 * full, or another negative errno (-EPIPE: the reader went away).
 */
ssize_t hostio_write(struct hostio *io, const void *buf, size_t len);

/*
 * hostio_read: read up to len bytes without blocking. Returns the count
 * (> 0), 0 at end of input, -EAGAIN when nothing is there, or another
 * negative errno.
 */
ssize_t hostio_read(struct hostio *io, void *buf, size_t len);

/*
 * hostio_parse_delayed: the `delayed seconds|forever` option (retry
 * opening the host side instead of failing): *deadline is 0 for forever,
 * else now_ns + seconds (never 0). Returns 0, or -EINVAL with a sentence
 * in err for anything else (at most a year of seconds).
 */
int hostio_parse_delayed(const char *text, uint64_t now_ns, uint64_t *deadline, char *err,
			 size_t errlen);

#endif /* VDEVS_COMMON_HOSTIO_H */
