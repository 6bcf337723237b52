/*
 * devmodel/isolate.c: `vdev NAME isolate`: the plugin runs in a child
 * process; vdm keeps a proxy instance.
 *
 * Protocol. One SOCK_SEQPACKET socketpair per instance, one message per
 * record: a fixed header (struct isolate_msg) and up to ISOLATE_PAYLOAD_MAX
 * bytes. vdm sends a request (create, read, write, reset, save, restore,
 * guest_starting, status, host_endpoint, a timer's expiry, destroy) and
 * waits for its ISOLATE_REPLY; while it waits, the child's host-service
 * calls arrive as requests the other way, each answered by a reply. The
 * calls nest strictly, so one socket and no ids suffice. Every call from
 * vdm runs under the instance lock (the proxy is never self-locked).
 *
 * What vdm trusts of the child: nothing. Handles the child holds (lines,
 * timers) are indexes into tables of the proxy, checked on every use;
 * lengths are checked against the record received; guest memory is only
 * copied by the host's bounds-checked mem_read/mem_write. The child never
 * sees guest RAM: it unmaps every RAM and ROM range right after the fork,
 * and closes every descriptor but stdio and its socket.
 *
 * Failure. A call whose reply does not come within the timeout (a hung
 * plugin), a closed socket (a dead child) or a malformed message marks
 * the device failed: the child is killed and reaped, the cause is logged
 * once with the instance name, and from then on the policy answers:
 * on-failure=ignore (default) reads all-ones and drops writes; terminate
 * also ends the VM with VDM_EXIT_VDEV_ERROR (6).
 *
 * Services an isolated plugin has: region_add/remove, intr_lookup,
 * line_set/pulse, msi_send, mem_read/mem_write (bounds-checked by vdm,
 * ISOLATE_PAYLOAD_MAX bytes per request, larger copies split), timers,
 * clock_ns, fd_watch/modify/unwatch (vdm watches a copy of the descriptor,
 * passed with SCM_RIGHTS), log/vlog, terminate, mem_ranges,
 * platform_shutdown, pci_link_route. Not: mem_map (NULL, errno ENOTSUP: it
 * would need guest RAM in the child), interrupt controllers
 * (VDEV_F_INTC: refused at the config), fdt_node, and save states above
 * ISOLATE_PAYLOAD_MAX bytes (-EFBIG).
 */
#include "devmodel/isolate.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devmodel/exitcode.h"
#include "devmodel/guest_mem.h"
#include "devmodel/lockdown.h"
#include "devmodel/plugin_host.h"
#include "devmodel/vm.h"
#include "sdk/host/plugin.h"

#define ISOLATE_PAYLOAD_MAX  (60u * 1024)
#define ISOLATE_MAX_LINES    64
#define ISOLATE_MAX_TIMERS   64
#define ISOLATE_MAX_WATCHES  16
#define ISOLATE_TIMEOUT_MS   1000u
#define ISOLATE_DESTROY_WAIT 1000
#define ISOLATE_CREATE_WAIT  5000u

enum isolate_op {
	/* vdm -> child */
	ISOLATE_CREATE = 1,
	ISOLATE_DESTROY,
	ISOLATE_READ,
	ISOLATE_WRITE,
	ISOLATE_RESET,
	ISOLATE_SAVE,
	ISOLATE_RESTORE,
	ISOLATE_GUEST_STARTING,
	ISOLATE_STATUS,
	ISOLATE_ENDPOINT,
	ISOLATE_TIMER_FIRE,
	ISOLATE_FD_EVENT,
	/* either way: the answer to the request in progress */
	ISOLATE_REPLY = 64,
	/* child -> vdm: host services */
	ISOLATE_REGION_ADD,
	ISOLATE_REGION_REMOVE,
	ISOLATE_INTR_LOOKUP,
	ISOLATE_LINE_SET,
	ISOLATE_LINE_PULSE,
	ISOLATE_MSI_SEND,
	ISOLATE_MEM_READ,
	ISOLATE_MEM_WRITE,
	ISOLATE_TIMER_CREATE,
	ISOLATE_TIMER_ARM,
	ISOLATE_TIMER_CANCEL,
	ISOLATE_TIMER_DESTROY,
	ISOLATE_CLOCK,
	ISOLATE_LOG,
	ISOLATE_TERMINATE,
	ISOLATE_MEM_RANGES,
	ISOLATE_PLATFORM_SHUTDOWN,
	ISOLATE_PCI_LINK_ROUTE,
	ISOLATE_FD_WATCH, /* carries the descriptor (SCM_RIGHTS) */
	ISOLATE_FD_MODIFY,
	ISOLATE_FD_UNWATCH,
};

struct isolate_msg {
	uint32_t op;
	uint32_t length; /* payload bytes after the header */
	int64_t ret;
	uint64_t arg[5];
};

struct isolate_buf {
	struct isolate_msg msg;
	uint8_t data[ISOLATE_PAYLOAD_MAX];
	int fd; /* a descriptor that came with the record, else -1 (not sent) */
};

/* ------------------------------------------------------------ transport */

static int isolate_send_fd(int fd, uint32_t op, int64_t ret, const uint64_t *args, unsigned nargs,
			   const void *data, size_t length, int pass_fd)
{
	struct isolate_msg m = {.op = op, .length = (uint32_t)length, .ret = ret};
	struct iovec iov[2] = {{&m, sizeof(m)}, {(void *)data, length}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = length ? 2 : 1};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}

	if (length > ISOLATE_PAYLOAD_MAX)
		return -EMSGSIZE;
	for (unsigned i = 0; i < nargs && i < 5; i++)
		m.arg[i] = args[i];
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)(sizeof(m) + length) ? 0 : -EPIPE;
}

static int isolate_send(int fd, uint32_t op, int64_t ret, const uint64_t *args, unsigned nargs,
			const void *data, size_t length)
{
	return isolate_send_fd(fd, op, ret, args, nargs, data, length, -1);
}

/* One record into b; 0, -EPIPE (peer gone) or -EPROTO (malformed). */
static int isolate_recv(int fd, struct isolate_buf *b)
{
	struct iovec iov = {b, offsetof(struct isolate_buf, fd)};
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = control.buf,
	    .msg_controllen = sizeof(control.buf),
	};
	ssize_t n;

	b->fd = -1;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -EPIPE;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)) && b->fd < 0)
			memcpy(&b->fd, CMSG_DATA(cm), sizeof(int));
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(b->msg) ||
	    b->msg.length != (size_t)n - sizeof(b->msg)) {
		if (b->fd >= 0)
			close(b->fd);
		b->fd = -1;
		return -EPROTO;
	}
	return 0;
}

/* ------------------------------------------------------- the vdm side */

struct isolate_proxy {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vm *vm;
	const struct vdev_descriptor *real;
	const char *name;
	int fd;
	pid_t pid;
	bool failed;
	bool terminate; /* on-failure=terminate */
	unsigned timeout_ms;
	struct vdev_line *lines[ISOLATE_MAX_LINES];
	unsigned line_count;
	struct vdev_timer *timers[ISOLATE_MAX_TIMERS];
	struct isolate_slot {
		struct isolate_proxy *proxy;
		uint32_t index;
	} slots[ISOLATE_MAX_TIMERS], watch_slots[ISOLATE_MAX_WATCHES];
	struct vdev_watch *watches[ISOLATE_MAX_WATCHES];
	int watch_fds[ISOLATE_MAX_WATCHES]; /* vdm's copies of the child's fds */
	struct isolate_buf rx, tx;
};

static uint64_t isolate_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Kill and reap the child; describe how it ended into why. */
static void isolate_reap(struct isolate_proxy *p, char *why, size_t cap)
{
	int status = 0;
	pid_t r;

	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	do
		r = waitpid(p->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (why && r == p->pid) {
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			snprintf(why, cap, "crashed (signal %d, %s)", WTERMSIG(status),
				 strsignal(WTERMSIG(status)));
		else if (WIFEXITED(status))
			snprintf(why, cap, "exited with status %d", WEXITSTATUS(status));
	}
	p->pid = -1;
}

/* Stop watching vdm's copy of a child's descriptor, and close it. */
static void isolate_unwatch(struct isolate_proxy *p, unsigned i)
{
	if (!p->watches[i])
		return;
	p->host->fd_unwatch(p->h, p->watches[i]);
	p->watches[i] = NULL;
	close(p->watch_fds[i]);
	p->watch_fds[i] = -1;
}

/* The device failed: say so once, end the child, apply the policy. */
static void isolate_fail(struct isolate_proxy *p, const char *during, const char *cause)
{
	char why[160];

	if (p->failed)
		return;
	p->failed = true;
	snprintf(why, sizeof(why), "%s", cause);
	isolate_reap(p, why, sizeof(why));
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	/* a line it left asserted would storm the guest with a dead device */
	for (unsigned i = 0; i < p->line_count; i++)
		p->host->line_set(p->h, p->lines[i], 0);
	for (unsigned i = 0; i < ISOLATE_MAX_TIMERS; i++)
		if (p->timers[i])
			p->host->timer_cancel(p->h, p->timers[i]);
	/* a dead child's pipe stays readable: its watches would spin */
	for (unsigned i = 0; i < ISOLATE_MAX_WATCHES; i++)
		isolate_unwatch(p, i);
	/*
	 * The policy is for a running VM: a failed create is a failed create
	 * (reported with this line as its reason), and at destroy the VM is
	 * ending anyway.
	 */
	if (strcmp(during, "create") == 0) {
		p->host->log(p->h, VDEV_LOG_ERROR, "isolated plugin %s %s during create",
			     p->real->name, why);
		return;
	}
	p->host->log(p->h, VDEV_LOG_ERROR, "isolated plugin %s %s during %s; %s", p->real->name,
		     why, during,
		     strcmp(during, "destroy") == 0 ? "its process is killed"
		     : p->terminate		    ? "the VM ends (on-failure=terminate)"
				    : "the device now reads as all-ones and drops writes");
	if (p->terminate && strcmp(during, "destroy") != 0)
		vm_stop(p->vm, VDM_EXIT_VDEV_ERROR);
}

static void isolate_serve(struct isolate_proxy *p);

/*
 * A request to the child and its reply (in p->rx), serving the child's
 * service requests meanwhile. Returns the reply's ret, or -EIO after
 * marking the device failed.
 */
static int64_t isolate_call(struct isolate_proxy *p, const char *what, uint32_t op,
			    const uint64_t *args, unsigned nargs, const void *data, size_t length)
{
	uint64_t deadline;

	if (p->failed)
		return -EIO;
	if (isolate_send(p->fd, op, 0, args, nargs, data, length) < 0) {
		isolate_fail(p, what, "closed its socket");
		return -EIO;
	}
	deadline = isolate_now_ms() + p->timeout_ms;
	for (;;) {
		struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
		uint64_t now = isolate_now_ms();
		int n, rc;

		if (now >= deadline) {
			char cause[64];

			snprintf(cause, sizeof(cause), "did not answer within %u ms (hung)",
				 p->timeout_ms);
			isolate_fail(p, what, cause);
			return -EIO;
		}
		n = poll(&pfd, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			continue;
		rc = n < 0 ? -EPIPE : isolate_recv(p->fd, &p->rx);
		if (rc < 0) {
			isolate_fail(p, what, rc == -EPROTO ? "sent a malformed message" : "died");
			return -EIO;
		}
		if (p->rx.msg.op == ISOLATE_REPLY)
			return p->rx.msg.ret;
		isolate_serve(p);
		if (p->failed)
			return -EIO;
	}
}

static void isolate_reply(struct isolate_proxy *p, int64_t ret, const void *data, size_t length)
{
	if (isolate_send(p->fd, ISOLATE_REPLY, ret, NULL, 0, data, length) < 0)
		isolate_fail(p, "a host service", "closed its socket");
}

static void isolate_timer_fn(void *dev, void *arg)
{
	struct isolate_slot *slot = arg;
	uint64_t index = slot->index;

	(void)dev;
	isolate_call(slot->proxy, "a timer", ISOLATE_TIMER_FIRE, &index, 1, NULL, 0);
}

static void isolate_fd_fn(void *dev, void *arg, int fd, uint32_t events)
{
	struct isolate_slot *slot = arg;
	uint64_t args[2] = {slot->index, events};

	(void)dev, (void)fd;
	isolate_call(slot->proxy, "an fd event", ISOLATE_FD_EVENT, args, 2, NULL, 0);
}

/* The child's text argument (a line spec, a log line), NUL-terminated. */
static const char *isolate_text(struct isolate_proxy *p)
{
	if (p->rx.msg.length == 0 || p->rx.data[p->rx.msg.length - 1] != '\0')
		return NULL;
	return (const char *)p->rx.data;
}

/* One host-service request of the child, in p->rx: do it, reply. */
static void isolate_serve(struct isolate_proxy *p)
{
	const struct vdev_host *host = p->host;
	const uint64_t *a = p->rx.msg.arg;
	uint32_t length = p->rx.msg.length;
	int64_t ret = -EINVAL;
	size_t out = 0;
	int fd = p->rx.fd; /* closed below unless a watch keeps it */

	p->rx.fd = -1;
	switch (p->rx.msg.op) {
	case ISOLATE_REGION_ADD:
		ret = host->region_add(p->h, (enum vdev_space)a[0], a[1], a[2], (uint32_t)a[3]);
		break;
	case ISOLATE_REGION_REMOVE:
		ret = host->region_remove(p->h, (uint32_t)a[0]);
		break;
	case ISOLATE_INTR_LOOKUP: {
		const char *spec = isolate_text(p);
		struct vdev_line *line;

		if (!spec)
			break;
		if (p->line_count == ISOLATE_MAX_LINES) {
			ret = -ENOSPC;
			break;
		}
		ret = host->intr_lookup(p->h, spec, &line);
		if (ret == 0) {
			p->lines[p->line_count] = line;
			ret = p->line_count++;
		}
		break;
	}
	case ISOLATE_LINE_SET:
	case ISOLATE_LINE_PULSE:
		if (a[0] >= p->line_count)
			break;
		ret = p->rx.msg.op == ISOLATE_LINE_SET
			  ? host->line_set(p->h, p->lines[a[0]], (int)(a[1] != 0))
			  : host->line_pulse(p->h, p->lines[a[0]]);
		break;
	case ISOLATE_MSI_SEND:
		ret = host->msi_send(p->h, a[0], (uint32_t)a[1]);
		break;
	case ISOLATE_MEM_READ:
		if (a[1] > ISOLATE_PAYLOAD_MAX)
			break;
		ret = host->mem_read(p->h, a[0], p->tx.data, (size_t)a[1]);
		out = ret == 0 ? (size_t)a[1] : 0;
		break;
	case ISOLATE_MEM_WRITE:
		ret = host->mem_write(p->h, a[0], p->rx.data, length);
		break;
	case ISOLATE_TIMER_CREATE: {
		unsigned i;

		for (i = 0; i < ISOLATE_MAX_TIMERS && p->timers[i]; i++)
			;
		if (i == ISOLATE_MAX_TIMERS) {
			ret = -ENOSPC;
			break;
		}
		p->slots[i] = (struct isolate_slot){p, i};
		ret = host->timer_create(p->h, isolate_timer_fn, &p->slots[i], &p->timers[i]);
		if (ret == 0)
			ret = i;
		break;
	}
	case ISOLATE_TIMER_ARM:
	case ISOLATE_TIMER_CANCEL:
	case ISOLATE_TIMER_DESTROY:
		if (a[0] >= ISOLATE_MAX_TIMERS || !p->timers[a[0]])
			break;
		if (p->rx.msg.op == ISOLATE_TIMER_ARM)
			ret = host->timer_arm(p->h, p->timers[a[0]], a[1], a[2]);
		else if (p->rx.msg.op == ISOLATE_TIMER_CANCEL)
			ret = host->timer_cancel(p->h, p->timers[a[0]]);
		else {
			host->timer_destroy(p->h, p->timers[a[0]]);
			p->timers[a[0]] = NULL;
			ret = 0;
		}
		break;
	case ISOLATE_CLOCK:
		ret = (int64_t)host->clock_ns(p->h);
		break;
	case ISOLATE_LOG: {
		const char *text = isolate_text(p);

		if (text && a[0] <= VDEV_LOG_VERBOSE) {
			host->log(p->h, (enum vdev_log_level)a[0], "%s", text);
			ret = 0;
		}
		break;
	}
	case ISOLATE_TERMINATE:
		ret = host->terminate(p->h, (int)a[0]);
		break;
	case ISOLATE_MEM_RANGES: {
		unsigned max = ISOLATE_PAYLOAD_MAX / sizeof(struct vdev_mem_range);

		if (a[0] < max)
			max = (unsigned)a[0];
		ret = host->mem_ranges(p->h, (struct vdev_mem_range *)p->tx.data, max);
		out = ret > 0 ? (size_t)(ret < max ? ret : max) * sizeof(struct vdev_mem_range) : 0;
		break;
	}
	case ISOLATE_PLATFORM_SHUTDOWN:
		ret = host->platform_shutdown(p->h, (enum vdev_shutdown_reason)a[0]);
		break;
	case ISOLATE_PCI_LINK_ROUTE:
		ret = host->pci_link_route(p->h, (unsigned)a[0], (unsigned)a[1]);
		break;
	case ISOLATE_FD_WATCH: {
		unsigned i;

		if (fd < 0)
			break;
		for (i = 0; i < ISOLATE_MAX_WATCHES && p->watches[i]; i++)
			;
		if (i == ISOLATE_MAX_WATCHES) {
			ret = -ENOSPC;
			break;
		}
		p->watch_slots[i] = (struct isolate_slot){p, i};
		ret = host->fd_watch(p->h, fd, (uint32_t)a[0], isolate_fd_fn, &p->watch_slots[i],
				     &p->watches[i]);
		if (ret == 0) {
			p->watch_fds[i] = fd;
			fd = -1;
			ret = i;
		}
		break;
	}
	case ISOLATE_FD_MODIFY:
	case ISOLATE_FD_UNWATCH:
		if (a[0] >= ISOLATE_MAX_WATCHES || !p->watches[a[0]])
			break;
		if (p->rx.msg.op == ISOLATE_FD_MODIFY)
			ret = host->fd_modify(p->h, p->watches[a[0]], (uint32_t)a[1]);
		else {
			isolate_unwatch(p, (unsigned)a[0]);
			ret = 0;
		}
		break;
	default:
		if (fd >= 0)
			close(fd);
		isolate_fail(p, "a host service", "sent a malformed message");
		return;
	}
	if (fd >= 0)
		close(fd);
	isolate_reply(p, ret, p->tx.data, out);
}

/* ---------------------------------------------------- the child side */

struct isolate_child {
	int fd;
	const struct vdev_descriptor *desc;
	const struct conf_vm *conf; /* for `set seccomp` */
	pid_t tid;		    /* the thread that serves vdm's requests */
	void *dev;
	struct {
		vdev_timer_fn *fn;
		void *arg;
	} timers[ISOLATE_MAX_TIMERS];
	struct {
		vdev_fd_fn *fn;
		void *arg;
		int fd;
	} watches[ISOLATE_MAX_WATCHES];
	struct isolate_buf rx;
};

static struct isolate_child *isolate_child_of(vdev_host_t *h);

/* A service of vdm: request, then the reply (its data copied to out). */
static int64_t isolate_child_call_fd(vdev_host_t *h, uint32_t op, const uint64_t *args,
				     unsigned nargs, const void *data, size_t length, void *out,
				     size_t out_cap, int pass_fd)
{
	struct isolate_child *c = isolate_child_of(h);

	if (!c)
		return -EINVAL;
	/* One socket, strictly nested calls: only the thread that serves vdm's
	 * requests may call vdm (a plugin's own threads would interleave). */
	if (gettid() != c->tid)
		return -ENOTSUP;
	if (isolate_send_fd(c->fd, op, 0, args, nargs, data, length, pass_fd) < 0 ||
	    isolate_recv(c->fd, &c->rx) < 0 || c->rx.msg.op != ISOLATE_REPLY)
		_exit(0); /* vdm is gone or gave up on us */
	if (out)
		memcpy(out, c->rx.data, c->rx.msg.length < out_cap ? c->rx.msg.length : out_cap);
	return c->rx.msg.ret;
}

static int64_t isolate_child_call(vdev_host_t *h, uint32_t op, const uint64_t *args, unsigned nargs,
				  const void *data, size_t length, void *out, size_t out_cap)
{
	return isolate_child_call_fd(h, op, args, nargs, data, length, out, out_cap, -1);
}

#define CHILD_CALL(h, op, ...)                                                                     \
	isolate_child_call(h, op, (const uint64_t[]){__VA_ARGS__},                                 \
			   sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t), NULL, 0,    \
			   NULL, 0)

/* Handles the child gives the plugin: index + 1, never 0 (NULL). */
static void *isolate_handle(int64_t index)
{
	return (void *)(uintptr_t)(index + 1);
}

static uint64_t isolate_index(const void *handle)
{
	return (uint64_t)(uintptr_t)handle - 1;
}

static int child_region_add(vdev_host_t *h, enum vdev_space space, uint64_t base, uint64_t length,
			    uint32_t id)
{
	return (int)CHILD_CALL(h, ISOLATE_REGION_ADD, space, base, length, id);
}

static int child_region_remove(vdev_host_t *h, uint32_t id)
{
	return (int)CHILD_CALL(h, ISOLATE_REGION_REMOVE, id);
}

static int child_intr_lookup(vdev_host_t *h, const char *spec, struct vdev_line **line)
{
	int64_t r;

	if (!spec || !line || strlen(spec) >= ISOLATE_PAYLOAD_MAX)
		return -EINVAL;
	r = isolate_child_call(h, ISOLATE_INTR_LOOKUP, NULL, 0, spec, strlen(spec) + 1, NULL, 0);
	if (r < 0)
		return (int)r;
	*line = isolate_handle(r);
	return 0;
}

static int child_line_set(vdev_host_t *h, struct vdev_line *line, int level)
{
	return (int)CHILD_CALL(h, ISOLATE_LINE_SET, isolate_index(line), level != 0);
}

static int child_line_pulse(vdev_host_t *h, struct vdev_line *line)
{
	return (int)CHILD_CALL(h, ISOLATE_LINE_PULSE, isolate_index(line));
}

static int child_msi_send(vdev_host_t *h, uint64_t address, uint32_t data)
{
	return (int)CHILD_CALL(h, ISOLATE_MSI_SEND, address, data);
}

static int child_mem_read(vdev_host_t *h, uint64_t gpa, void *buf, size_t length)
{
	for (size_t done = 0; done < length;) {
		size_t n =
		    length - done < ISOLATE_PAYLOAD_MAX ? length - done : ISOLATE_PAYLOAD_MAX;
		int64_t r =
		    isolate_child_call(h, ISOLATE_MEM_READ, (const uint64_t[]){gpa + done, n}, 2,
				       NULL, 0, (uint8_t *)buf + done, n);

		if (r < 0)
			return (int)r;
		done += n;
	}
	return 0;
}

static int child_mem_write(vdev_host_t *h, uint64_t gpa, const void *buf, size_t length)
{
	for (size_t done = 0; done < length;) {
		size_t n =
		    length - done < ISOLATE_PAYLOAD_MAX ? length - done : ISOLATE_PAYLOAD_MAX;
		int64_t r = isolate_child_call(h, ISOLATE_MEM_WRITE, (const uint64_t[]){gpa + done},
					       1, (const uint8_t *)buf + done, n, NULL, 0);

		if (r < 0)
			return (int)r;
		done += n;
	}
	return 0;
}

static void *child_mem_map(vdev_host_t *h, uint64_t gpa, size_t length, uint32_t prot)
{
	(void)h, (void)gpa, (void)length, (void)prot;
	errno = ENOTSUP; /* guest RAM is never mapped into an isolated plugin */
	return NULL;
}

static void child_mem_unmap(vdev_host_t *h, void *ptr, size_t length)
{
	(void)h, (void)ptr, (void)length;
}

static int child_timer_create(vdev_host_t *h, vdev_timer_fn *fn, void *arg,
			      struct vdev_timer **timer)
{
	struct isolate_child *c = isolate_child_of(h);
	int64_t r;

	if (!c || !fn || !timer)
		return -EINVAL;
	r = isolate_child_call(h, ISOLATE_TIMER_CREATE, NULL, 0, NULL, 0, NULL, 0);
	if (r < 0)
		return (int)r;
	if (r >= ISOLATE_MAX_TIMERS)
		_exit(0);
	c->timers[r].fn = fn;
	c->timers[r].arg = arg;
	*timer = isolate_handle(r);
	return 0;
}

static int child_timer_arm(vdev_host_t *h, struct vdev_timer *timer, uint64_t delay_ns,
			   uint64_t period_ns)
{
	return (int)CHILD_CALL(h, ISOLATE_TIMER_ARM, isolate_index(timer), delay_ns, period_ns);
}

static int child_timer_cancel(vdev_host_t *h, struct vdev_timer *timer)
{
	return (int)CHILD_CALL(h, ISOLATE_TIMER_CANCEL, isolate_index(timer));
}

static void child_timer_destroy(vdev_host_t *h, struct vdev_timer *timer)
{
	struct isolate_child *c = isolate_child_of(h);
	uint64_t i = isolate_index(timer);

	if (CHILD_CALL(h, ISOLATE_TIMER_DESTROY, i) == 0 && c && i < ISOLATE_MAX_TIMERS)
		c->timers[i].fn = NULL;
}

static uint64_t child_clock_ns(vdev_host_t *h)
{
	return (uint64_t)isolate_child_call(h, ISOLATE_CLOCK, NULL, 0, NULL, 0, NULL, 0);
}

/* vdm watches a copy of the descriptor (SCM_RIGHTS); the events come back. */
static int child_fd_watch(vdev_host_t *h, int fd, uint32_t events, vdev_fd_fn *fn, void *arg,
			  struct vdev_watch **watch)
{
	struct isolate_child *c = isolate_child_of(h);
	int64_t r;

	if (!c || fd < 0 || !fn || !watch)
		return -EINVAL;
	r = isolate_child_call_fd(h, ISOLATE_FD_WATCH, (const uint64_t[]){events}, 1, NULL, 0, NULL,
				  0, fd);
	if (r < 0)
		return (int)r;
	if (r >= ISOLATE_MAX_WATCHES)
		_exit(0);
	c->watches[r].fn = fn;
	c->watches[r].arg = arg;
	c->watches[r].fd = fd;
	*watch = isolate_handle(r);
	return 0;
}

static int child_fd_modify(vdev_host_t *h, struct vdev_watch *watch, uint32_t events)
{
	return (int)CHILD_CALL(h, ISOLATE_FD_MODIFY, isolate_index(watch), events);
}

static void child_fd_unwatch(vdev_host_t *h, struct vdev_watch *watch)
{
	struct isolate_child *c = isolate_child_of(h);
	uint64_t i = isolate_index(watch);

	if (CHILD_CALL(h, ISOLATE_FD_UNWATCH, i) == 0 && c && i < ISOLATE_MAX_WATCHES)
		c->watches[i].fn = NULL;
}

static void child_vlog(vdev_host_t *h, enum vdev_log_level level, const char *fmt, va_list ap)
{
	char text[1024];
	int n;

	if (!fmt)
		return;
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return;
	isolate_child_call(h, ISOLATE_LOG, (const uint64_t[]){level}, 1, text, strlen(text) + 1,
			   NULL, 0);
}

static void child_log(vdev_host_t *h, enum vdev_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	child_vlog(h, level, fmt, ap);
	va_end(ap);
}

static int child_terminate(vdev_host_t *h, int cause)
{
	return (int)CHILD_CALL(h, ISOLATE_TERMINATE, (uint64_t)(uint32_t)cause);
}

static int child_mem_ranges(vdev_host_t *h, struct vdev_mem_range *ranges, unsigned max)
{
	size_t cap = (size_t)max * sizeof(*ranges);

	return (int)isolate_child_call(h, ISOLATE_MEM_RANGES, (const uint64_t[]){max}, 1, NULL, 0,
				       ranges, ranges ? cap : 0);
}

static int child_platform_shutdown(vdev_host_t *h, enum vdev_shutdown_reason reason)
{
	return (int)CHILD_CALL(h, ISOLATE_PLATFORM_SHUTDOWN, reason);
}

static int child_pci_link_route(vdev_host_t *h, unsigned link, unsigned irq)
{
	return (int)CHILD_CALL(h, ISOLATE_PCI_LINK_ROUTE, link, irq);
}

static const struct vdev_host isolate_child_table = {
    .struct_size = sizeof(struct vdev_host),
    .abi_major = VDEV_ABI_MAJOR,
    .abi_minor = VDEV_ABI_MINOR,
    .region_add = child_region_add,
    .region_remove = child_region_remove,
    .intr_lookup = child_intr_lookup,
    .line_set = child_line_set,
    .line_pulse = child_line_pulse,
    .msi_send = child_msi_send,
    .mem_read = child_mem_read,
    .mem_write = child_mem_write,
    .mem_map = child_mem_map,
    .mem_unmap = child_mem_unmap,
    .timer_create = child_timer_create,
    .timer_arm = child_timer_arm,
    .timer_cancel = child_timer_cancel,
    .timer_destroy = child_timer_destroy,
    .clock_ns = child_clock_ns,
    .fd_watch = child_fd_watch,
    .fd_modify = child_fd_modify,
    .fd_unwatch = child_fd_unwatch,
    .log = child_log,
    .vlog = child_vlog,
    .terminate = child_terminate,
    .mem_ranges = child_mem_ranges,
    .platform_shutdown = child_platform_shutdown,
    .pci_link_route = child_pci_link_route,
};

/* The child is a process of its own: one instance, found by address. */
static struct isolate_child isolate_the_child;

static struct isolate_child *isolate_child_of(vdev_host_t *h)
{
	return (void *)h == (void *)&isolate_the_child ? &isolate_the_child : NULL;
}

static void isolate_child_reply(struct isolate_child *c, int64_t ret, const void *data,
				size_t length)
{
	if (isolate_send(c->fd, ISOLATE_REPLY, ret, NULL, 0, data, length) < 0)
		_exit(0);
}

/* The child's loop: vdm's requests, one at a time, until destroy. */
static _Noreturn void isolate_child_run(struct isolate_child *c, const struct vdev_config *cfg)
{
	static uint8_t out[ISOLATE_PAYLOAD_MAX];
	vdev_host_t *h = (vdev_host_t *)(void *)c;
	const struct vdev_ops *ops = c->desc->ops;

	for (;;) {
		const uint64_t *a = c->rx.msg.arg;
		int64_t ret = 0;
		size_t length = 0;

		if (isolate_recv(c->fd, &c->rx) < 0)
			_exit(0);
		switch (c->rx.msg.op) {
		case ISOLATE_CREATE:
			ret = ops->create(&isolate_child_table, h, cfg, &c->dev);
			/* what it opened, it has; from now on it needs no more than vdm */
			if (ret == 0 && lockdown_apply_isolated(c->conf) < 0) {
				child_log(h, VDEV_LOG_ERROR, "cannot install the seccomp filter");
				ret = -EPERM;
			}
			break;
		case ISOLATE_DESTROY:
			ops->destroy(c->dev);
			isolate_child_reply(c, 0, NULL, 0);
			_exit(0);
		case ISOLATE_READ:
		case ISOLATE_WRITE: {
			struct vdev_access access = {
			    .region = (uint32_t)a[0],
			    .space = (enum vdev_space)a[1],
			    .offset = a[2],
			    .size = (uint8_t)a[3],
			    .vcpu = (int32_t)a[4],
			};
			uint64_t v = 0;

			if (c->rx.msg.op == ISOLATE_WRITE) {
				memcpy(&v, c->rx.data, c->rx.msg.length >= 8 ? 8 : 0);
				ret = ops->write(c->dev, &access, v);
			} else {
				ret = ops->read(c->dev, &access, &v);
				memcpy(out, &v, 8);
				length = 8;
			}
			break;
		}
		case ISOLATE_RESET:
			ops->reset(c->dev);
			break;
		case ISOLATE_GUEST_STARTING:
			ops->guest_starting(c->dev);
			break;
		case ISOLATE_SAVE: {
			size_t cap = a[0] < sizeof(out) ? (size_t)a[0] : sizeof(out);

			ret = ops->save(c->dev, out, cap);
			length = ret > 0 && (size_t)ret <= cap ? (size_t)ret : 0;
			break;
		}
		case ISOLATE_RESTORE:
			ret = ops->restore(c->dev, c->rx.data, c->rx.msg.length);
			break;
		case ISOLATE_STATUS:
		case ISOLATE_ENDPOINT:
			out[0] = '\0';
			if (c->rx.msg.op == ISOLATE_STATUS)
				ret = ops->status ? ops->status(c->dev, (char *)out, 256) : 0;
			else
				ret = ops->host_endpoint(c->dev, (char *)out, 256);
			out[255] = '\0';
			length = strlen((char *)out) + 1;
			break;
		case ISOLATE_TIMER_FIRE:
			if (a[0] < ISOLATE_MAX_TIMERS && c->timers[a[0]].fn)
				c->timers[a[0]].fn(c->dev, c->timers[a[0]].arg);
			break;
		case ISOLATE_FD_EVENT:
			if (a[0] < ISOLATE_MAX_WATCHES && c->watches[a[0]].fn)
				c->watches[a[0]].fn(c->dev, c->watches[a[0]].arg,
						    c->watches[a[0]].fd, (uint32_t)a[1]);
			break;
		default:
			_exit(0);
		}
		isolate_child_reply(c, ret, out, length);
	}
}

/*
 * Right after the fork: no guest RAM, no descriptors of vdm's but stdio
 * and the socket, die with vdm, then serve.
 */
static _Noreturn void isolate_child_start(int fd, pid_t parent, struct vm *vm,
					  const struct vdev_descriptor *real,
					  const struct vdev_config *cfg)
{
	struct isolate_child *c = &isolate_the_child;
	const struct guest_mem *gm = vm_mem(vm);
	long page = sysconf(_SC_PAGESIZE);

	static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};
	sigset_t set;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0); /* vdm died before the line above */
	/* A fault kills this process the plain way, so vdm can name the
	 * signal: no inherited handler (a sanitizer's) turns it into an exit. */
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		signal(fatal[i], SIG_DFL);
		sigaddset(&set, fatal[i]);
	}
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	for (unsigned i = 0; gm && i < guest_mem_count(gm); i++) {
		const struct guest_mem_range *r = guest_mem_range_at(gm, i);
		uintptr_t start, end;

		if (!r->host)
			continue;
		start = (uintptr_t)r->host & ~(uintptr_t)(page - 1);
		end = ((uintptr_t)r->host + (uintptr_t)r->length + (uintptr_t)page - 1) &
		      ~(uintptr_t)(page - 1);
		munmap((void *)start, end - start);
	}
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			_exit(1);
		fd = 3;
	}
	close_range(4, ~0u, 0);
	c->fd = fd;
	c->desc = real;
	c->conf = vm_conf(vm);
	c->tid = gettid();
	isolate_child_run(c, cfg);
}

/* ------------------------------------------------------- the proxy ops */

static int isolate_create(const struct vdev_host *host, vdev_host_t *h,
			  const struct vdev_config *cfg, void **dev)
{
	struct isolate_proxy *p = calloc(1, sizeof(*p));
	const struct conf_vdev *v = plugin_host_conf(h);
	pid_t parent;
	int sv[2];
	int64_t ret;

	if (!p)
		return -ENOMEM;
	p->host = host;
	p->h = h;
	p->vm = plugin_host_vm(h);
	p->real = plugin_host_plugin(h)->desc;
	p->name = plugin_host_name(h);
	p->terminate = v && v->isolate_terminate;
	p->timeout_ms = v && v->isolate_timeout_ms ? v->isolate_timeout_ms : ISOLATE_TIMEOUT_MS;
	p->fd = -1;
	for (unsigned i = 0; i < ISOLATE_MAX_WATCHES; i++)
		p->watch_fds[i] = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		free(p);
		return (int)ret;
	}
	fflush(NULL);
	parent = getpid();
	p->pid = fork();
	if (p->pid < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		free(p);
		return (int)ret;
	}
	if (p->pid == 0) {
		close(sv[0]);
		isolate_child_start(sv[1], parent, p->vm, p->real, cfg);
	}
	close(sv[1]);
	p->fd = sv[0];
	/* a create may open files or connect: more time than an access */
	p->timeout_ms = p->timeout_ms > ISOLATE_CREATE_WAIT ? p->timeout_ms : ISOLATE_CREATE_WAIT;
	ret = isolate_call(p, "create", ISOLATE_CREATE, NULL, 0, NULL, 0);
	p->timeout_ms = v && v->isolate_timeout_ms ? v->isolate_timeout_ms : ISOLATE_TIMEOUT_MS;
	if (ret != 0) {
		if (!p->failed) { /* it has no instance to destroy */
			isolate_reap(p, NULL, 0);
			close(p->fd);
		}
		free(p);
		return ret > 0 || ret < -4095 ? -EINVAL : (int)ret;
	}
	*dev = p;
	return 0;
}

static void isolate_destroy(void *dev)
{
	struct isolate_proxy *p = dev;

	if (!p->failed) {
		unsigned timeout = p->timeout_ms;

		/* a destroy may flush output: give it at least a second */
		p->timeout_ms = timeout > ISOLATE_DESTROY_WAIT ? timeout : ISOLATE_DESTROY_WAIT;
		isolate_call(p, "destroy", ISOLATE_DESTROY, NULL, 0, NULL, 0);
	}
	isolate_reap(p, NULL, 0);
	if (p->fd >= 0)
		close(p->fd);
	for (unsigned i = 0; i < ISOLATE_MAX_WATCHES; i++)
		isolate_unwatch(p, i);
	/* The host frees the timers and lines the instance still holds. */
	free(p);
}

static int isolate_access(struct isolate_proxy *p, uint32_t op, const struct vdev_access *access,
			  uint64_t *value)
{
	uint64_t args[5] = {access->region, access->space, access->offset, access->size,
			    (uint64_t)(uint32_t)access->vcpu};
	int64_t ret;
	uint64_t mask = access->size >= 8 ? ~0ull : (1ull << (access->size * 8)) - 1;

	ret = isolate_call(p, op == ISOLATE_READ ? "a read" : "a write", op, args, 5,
			   op == ISOLATE_WRITE ? value : NULL, op == ISOLATE_WRITE ? 8 : 0);
	if (p->failed) {
		/* the policy: a failed device reads as all-ones, drops writes */
		if (op == ISOLATE_READ)
			*value = mask;
		return 0;
	}
	/* the child's value, no wider than the access */
	if (op == ISOLATE_READ && p->rx.msg.length == 8) {
		memcpy(value, p->rx.data, 8);
		*value &= mask;
	}
	return ret == 0 ? 0 : VDEV_ACCESS_BUS_ERROR;
}

static int isolate_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	return isolate_access(dev, ISOLATE_READ, access, value);
}

static int isolate_write(void *dev, const struct vdev_access *access, uint64_t value)
{
	return isolate_access(dev, ISOLATE_WRITE, access, &value);
}

static void isolate_reset(void *dev)
{
	isolate_call(dev, "reset", ISOLATE_RESET, NULL, 0, NULL, 0);
}

static void isolate_guest_starting(void *dev)
{
	isolate_call(dev, "guest_starting", ISOLATE_GUEST_STARTING, NULL, 0, NULL, 0);
}

static ssize_t isolate_save(void *dev, void *buf, size_t cap)
{
	struct isolate_proxy *p = dev;
	uint64_t c = cap;
	int64_t ret;

	if (cap > ISOLATE_PAYLOAD_MAX && p->real->state_size > ISOLATE_PAYLOAD_MAX)
		return -EFBIG;
	ret = isolate_call(p, "save", ISOLATE_SAVE, &c, 1, NULL, 0);
	if (ret < 0)
		return (ssize_t)ret;
	if ((uint64_t)ret > cap || (uint64_t)ret != p->rx.msg.length)
		return -EPROTO;
	memcpy(buf, p->rx.data, (size_t)ret);
	return (ssize_t)ret;
}

static int isolate_restore(void *dev, const void *buf, size_t length)
{
	if (length > ISOLATE_PAYLOAD_MAX)
		return -EFBIG;
	return (int)isolate_call(dev, "restore", ISOLATE_RESTORE, NULL, 0, buf, length);
}

static int isolate_text_op(struct isolate_proxy *p, uint32_t op, char *buf, size_t cap)
{
	int64_t ret = isolate_call(p, op == ISOLATE_STATUS ? "status" : "host_endpoint", op, NULL,
				   0, NULL, 0);

	if (p->failed)
		return op == ISOLATE_STATUS ? snprintf(buf, cap, "isolated, failed") : -ENOENT;
	if (ret < 0)
		return (int)ret;
	if (p->rx.msg.length == 0 || p->rx.data[p->rx.msg.length - 1] != '\0')
		return -EPROTO;
	if (op == ISOLATE_STATUS)
		return snprintf(buf, cap, "isolated pid %d%s%s", (int)p->pid,
				p->rx.data[0] ? "  " : "", (const char *)p->rx.data);
	return snprintf(buf, cap, "%s", (const char *)p->rx.data);
}

static int isolate_status(void *dev, char *buf, size_t cap)
{
	return isolate_text_op(dev, ISOLATE_STATUS, buf, cap);
}

static int isolate_host_endpoint(void *dev, char *buf, size_t cap)
{
	return isolate_text_op(dev, ISOLATE_ENDPOINT, buf, cap);
}

struct isolate_descriptor *isolate_descriptor_make(const struct vdev_descriptor *real)
{
	struct isolate_descriptor *d = calloc(1, sizeof(*d));
	const struct vdev_ops *r = real->ops;

	if (!d)
		return NULL;
	memcpy(&d->desc, real,
	       real->struct_size < sizeof(d->desc) ? real->struct_size : sizeof(d->desc));
	d->desc.struct_size = sizeof(d->desc);
	d->desc.flags &= ~VDEV_F_SELF_LOCKED;
	d->ops.struct_size = sizeof(d->ops);
	d->ops.create = isolate_create;
	d->ops.destroy = isolate_destroy;
	d->ops.read = r->read ? isolate_read : NULL;
	d->ops.write = r->write ? isolate_write : NULL;
	d->ops.reset = r->reset ? isolate_reset : NULL;
	d->ops.save = r->save ? isolate_save : NULL;
	d->ops.restore = r->restore ? isolate_restore : NULL;
	d->ops.guest_starting = r->guest_starting ? isolate_guest_starting : NULL;
	d->ops.status = isolate_status; /* the process's state, and the device's own */
	if (VDEV_OPS_HAS(r, host_endpoint) && r->host_endpoint)
		d->ops.host_endpoint = isolate_host_endpoint;
	d->desc.ops = &d->ops;
	return d;
}
