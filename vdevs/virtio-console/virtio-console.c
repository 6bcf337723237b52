/*
 * vdevs/virtio-console/virtio-console.c: a virtio console (VIRTIO 1.2
 * section 5.3, device id 3) on the SDK's virtio helper, its one port
 * connected to a host endpoint exactly as ser8250's is
 * (vdevs/common/hostio.h).
 *
 *	vdev virtio-console hostdev stdout                     # virtio-pci
 *	vdev virtio-console hostdev pty loc 0xd0000200 intr ioapic:6  # MMIO
 *	vdev virtio-console hostdev <in.fifo hostdev >out.log
 *
 * Options: `hostdev [<|>]stdout|-|stdin|pty|unix:PATH|PATH`, repeatable
 * for separate input and output (as ser8250; without any, output is
 * discarded and there is no input); `delayed seconds|forever` (as
 * ser8250: an endpoint that cannot be opened at creation, a socket server
 * not up yet, is retried every 100 ms; until then the transmitq is not
 * read, so the guest's output waits in its own buffers; after `seconds`
 * without success the device logs an error and discards output); qvm's
 * `legacy` (accepted with a warning: VIRTIO 1.x only) and `sched` (no
 * pulse priorities in vdm: ignored); `port NAME`: offer
 * VIRTIO_CONSOLE_F_MULTIPORT with port 0 a named generic port (Linux:
 * /dev/vport0p0 and /dev/virtio-ports/NAME) rather than a console.
 *
 * Queues (5.3.2): 0 receiveq (host to guest), 1 transmitq (guest to
 * host) of port 0; with `port`, 2 and 3 the control receiveq and
 * transmitq. VIRTIO_CONSOLE_F_SIZE is offered when the output is a
 * terminal whose size the host can read (the config then holds its
 * columns and rows); no emergency write.
 *
 * Multiport (5.3.6.2), when the driver takes it: the driver's
 * DEVICE_READY is answered with DEVICE_ADD for port 0 (max_nr_ports 1);
 * its PORT_READY with PORT_NAME and PORT_OPEN (the host side is always
 * there); its PORT_OPEN tells whether a guest program has the port open,
 * and input is delivered only then (Linux drops data for a closed port).
 * Control messages wait in the device (CTRL_PENDING at most) until the
 * driver gives control receive buffers. Without the feature, port 0 is
 * the console and input flows as soon as the driver is live.
 *
 * No byte is lost under backpressure. Transmit: a chain is taken from
 * the transmitq only when the previous one's bytes are all written to
 * the host; its bytes are copied out of guest memory, the chain goes back
 * to the driver, and what the host did not take at once waits in a
 * bounded buffer (TX_MAX, a longer chain is cut there and the cut bytes
 * counted in the log) written when the descriptor becomes writable. While
 * it waits the transmitq is not read, so the driver sees its buffers
 * still in use and stops. Receive: input is read only while the guest has
 * given buffers (the rest waits in the kernel); bytes read that do not
 * fit the buffers at hand wait (RX_BUF at most) for the next ones.
 *
 * Threads: everything runs in the host's callbacks under the instance
 * lock: kicks on the vCPU thread, descriptor events on the event loop.
 * Host I/O is non-blocking, so neither ever waits for the host side.
 * destroy() gives the output at most EXIT_FLUSH_MS to drain.
 *
 * Save/restore: the transport and queues; the bytes waiting on the host
 * side are host state and are not saved (as for ser8250).
 */
#include <endian.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <vdev/state.h>
#include <vdev/vdev.h>
#include <vdev/virtio.h>

#include "vdevs/common/hostio.h"

#define CON_NAME	  "virtio-console"
#define CON_STATE_VERSION 1
#define CON_QUEUE_SIZE	  128
#define CON_RXQ		  0
#define CON_TXQ		  1
#define CON_CTRL_RXQ	  2
#define CON_CTRL_TXQ	  3
#define CON_F_SIZE	  0
#define CON_F_MULTIPORT	  1
#define CON_NAME_MAX	  64u
#define CTRL_PENDING	  8u
#define CTRL_HEADER	  8u
/* Control events (5.3.6.2). */
#define EV_DEVICE_READY 0
#define EV_DEVICE_ADD	1
#define EV_PORT_READY	3
#define EV_PORT_OPEN	6
#define EV_PORT_NAME	7
#define RX_BUF		4096u
#define TX_MAX		(1u << 20) /* a transmit chain is never buffered beyond this */
#define EXIT_FLUSH_MS	500
#define RETRY_NS	100000000ull

/* struct virtio_console_config (5.3.4), little-endian. */
struct con_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

enum con_option { OPT_HOSTDEV, OPT_PORT, OPT_DELAYED, OPT_LEGACY, OPT_SCHED, OPT_COUNT };

static const struct vdev_option_spec con_options[OPT_COUNT] = {
    [OPT_HOSTDEV] =
	{
	    .name = "hostdev",
	    .type = VDEV_OPT_STRING,
	    .flags = VDEV_OPTF_REPEAT,
	    .help = "[<|>]stdout|-|stdin|pty|unix:PATH|PATH: the host side (< in, > out)",
	},
    [OPT_PORT] =
	{
	    .name = "port",
	    .type = VDEV_OPT_STRING,
	    .help = "NAME: multiport, port 0 a generic port with this name (not a console)",
	},
    [OPT_DELAYED] =
	{
	    .name = "delayed",
	    .type = VDEV_OPT_STRING,
	    .help = "seconds|forever: retry opening the host side instead of failing",
	},
    [OPT_LEGACY] =
	{
	    .name = "legacy",
	    .type = VDEV_OPT_BOOL,
	    .flags = VDEV_OPTF_NOARG,
	    .default_value = "off",
	    .help = "qvm's virtio 0.9.5 interface: accepted, the device offers VIRTIO 1.x only",
	},
    [OPT_SCHED] =
	{
	    .name = "sched",
	    .type = VDEV_OPT_UINT,
	    .help = "qvm's pulse priority: accepted, vdm has none (events run on its loop)",
	},
};

/* One control message for the driver: header (id, event, value) and data. */
struct con_ctrl {
	uint8_t bytes[CTRL_HEADER + CON_NAME_MAX];
	uint32_t length;
};

struct con {
	struct vdev_virtio vio;
	const struct vdev_host *host;
	vdev_host_t *h;
	struct con_config config;
	struct hostio io;
	struct vdev_watch *in_watch, *out_watch; /* the same one when in_fd == out_fd */
	uint32_t in_events, out_events;
	bool in_eof;	/* input ended or failed: no more reading */
	bool in_hup;	/* the writer went away: read what is left, unwatched */
	bool discard;	/* the output failed for good: transmit bytes are dropped */
	bool connected; /* the endpoints are open (or delayed gave up) */
	const struct vdev_option_value *hostdev;
	uint64_t delay_deadline; /* 0: forever */
	struct vdev_timer *retry;
	/* transmit: bytes copied from the guest, not yet taken by the host */
	uint8_t *tx;
	size_t tx_cap, tx_head, tx_len;
	uint64_t tx_cut; /* bytes of over-long chains not kept */
	/* receive: bytes read from the host, not yet in a guest buffer */
	uint8_t rx[RX_BUF];
	size_t rx_head, rx_len;
	/* multiport */
	char port_name[CON_NAME_MAX];
	bool guest_open; /* the driver said PORT_OPEN 1 */
	struct con_ctrl ctrl[CTRL_PENDING];
	uint32_t ctrl_count;
	struct vdev_virtio_chain chain;
};

/* Multiport negotiated: the port's data waits for the guest to open it. */
static bool con_multiport(const struct con *c)
{
	return c->port_name[0] && vdev_virtio_has_feature(&c->vio, CON_F_MULTIPORT);
}

static bool con_rx_open(const struct con *c)
{
	return !con_multiport(c) || c->guest_open;
}

/* ------------------------------------------------------------ host side */

static void con_set_watch(struct con *c, struct vdev_watch *w, uint32_t *cur, uint32_t events)
{
	if (w && *cur != events && c->host->fd_modify(c->h, w, events) == 0)
		*cur = events;
}

/* Watch input while the guest has buffers or bytes wait, output while bytes wait. */
static void con_sync_watches(struct con *c)
{
	const struct vdev_virtio_queue *rxq = vdev_virtio_queue(&c->vio, CON_RXQ);
	bool want_in = c->io.in_fd >= 0 && !c->in_eof && !c->in_hup && !c->rx_len &&
		       vdev_virtio_live(&c->vio) && rxq && rxq->ready && con_rx_open(c);
	bool want_out = c->io.out_fd >= 0 && c->tx_len && !c->discard;

	if (c->in_watch && c->in_watch == c->out_watch) {
		con_set_watch(c, c->in_watch, &c->in_events,
			      (want_in ? VDEV_FD_IN : 0) | (want_out ? VDEV_FD_OUT : 0));
		c->out_events = c->in_events;
		return;
	}
	con_set_watch(c, c->in_watch, &c->in_events, want_in ? VDEV_FD_IN : 0);
	con_set_watch(c, c->out_watch, &c->out_events, want_out ? VDEV_FD_OUT : 0);
}

/* Write what waits; false while bytes remain (the host side is full or not there yet). */
static bool con_flush(struct con *c)
{
	if (!c->connected)
		return false;
	while (c->tx_len) {
		ssize_t n = hostio_write(&c->io, c->tx + c->tx_head, c->tx_len);

		if (n == -EAGAIN)
			return false;
		if (n < 0) {
			c->host->log(c->h, VDEV_LOG_WARN,
				     "output %s failed (%s): discarding output from now on",
				     c->io.out_name, strerror((int)-n));
			c->discard = true;
			c->tx_len = 0;
			break;
		}
		c->tx_head += (size_t)n;
		c->tx_len -= (size_t)n;
	}
	c->tx_head = 0;
	return true;
}

/* Copy one chain's readable bytes into the transmit buffer. */
static void con_take(struct con *c, const struct vdev_virtio_chain *chain)
{
	size_t want = chain->read_bytes, keep = want < TX_MAX ? want : TX_MAX;
	ssize_t n;

	if (c->discard || c->io.out_fd < 0)
		return;
	if (keep > c->tx_cap) {
		uint8_t *grown = realloc(c->tx, keep);

		if (!grown) {
			c->tx_cut += want;
			return;
		}
		c->tx = grown;
		c->tx_cap = keep;
	}
	n = vdev_virtio_chain_read(&c->vio, chain, 0, c->tx, keep);
	if (n < 0) {
		vdev_virtio_needs_reset(&c->vio, "transmit buffer not readable");
		return;
	}
	c->tx_head = 0;
	c->tx_len = (size_t)n;
	if (want > keep) {
		if (!c->tx_cut)
			c->host->log(c->h, VDEV_LOG_WARN,
				     "a transmit chain of %zu bytes: only %u kept", want, TX_MAX);
		c->tx_cut += want - keep;
	}
}

/* Transmit: flush, then take chains one at a time while the host keeps up. */
static void con_transmit(struct con *c)
{
	bool used = false;

	while (con_flush(c) && vdev_virtio_queue_pop(&c->vio, CON_TXQ, &c->chain) > 0) {
		con_take(c, &c->chain);
		if (vdev_virtio_queue_push(&c->vio, &c->chain, 0) == 0)
			used = true;
	}
	if (used)
		vdev_virtio_queue_interrupt(&c->vio, CON_TXQ);
}

/* Receive: bytes waiting into guest buffers, reading more as long as both last. */
static void con_receive(struct con *c)
{
	bool used = false;

	for (;;) {
		if (!c->rx_len && !c->in_eof && c->io.in_fd >= 0) {
			const struct vdev_virtio_queue *q = vdev_virtio_queue(&c->vio, CON_RXQ);
			ssize_t n;

			if (!vdev_virtio_live(&c->vio) || !q->ready || !con_rx_open(c))
				break;
			n = hostio_read(&c->io, c->rx, sizeof(c->rx));
			if (n == -EAGAIN)
				break;
			if (n <= 0) {
				c->host->log(c->h, VDEV_LOG_INFO, "input %s ended%s", c->io.in_name,
					     n < 0 ? " with an error" : "");
				c->in_eof = true;
				break;
			}
			c->rx_head = 0;
			c->rx_len = (size_t)n;
		}
		if (!c->rx_len || !con_rx_open(c) ||
		    vdev_virtio_queue_pop(&c->vio, CON_RXQ, &c->chain) <= 0)
			break;
		ssize_t n =
		    vdev_virtio_chain_write(&c->vio, &c->chain, 0, c->rx + c->rx_head, c->rx_len);

		if (n < 0) {
			vdev_virtio_needs_reset(&c->vio, "receive buffer not writable");
			break;
		}
		c->rx_head += (size_t)n;
		c->rx_len -= (size_t)n;
		if (vdev_virtio_queue_push(&c->vio, &c->chain, (uint32_t)n) == 0)
			used = true;
	}
	if (used)
		vdev_virtio_queue_interrupt(&c->vio, CON_RXQ);
}

static void con_fd_event(void *dev, void *arg, int fd, uint32_t events)
{
	struct con *c = dev;

	if (fd == c->io.out_fd && (events & (VDEV_FD_OUT | VDEV_FD_ERR)))
		con_transmit(c);
	if (fd == c->io.in_fd && (events & (VDEV_FD_IN | VDEV_FD_HUP | VDEV_FD_ERR)))
		con_receive(c);
	if (fd == c->io.in_fd && (events & (VDEV_FD_HUP | VDEV_FD_ERR)) && !c->in_eof) {
		if (c->in_watch == c->out_watch) {
			c->in_eof = true; /* a socket or pty peer is gone for good */
		} else if (c->in_watch) {
			/* poll would report the hang-up forever: read the rest
			 * when the guest gives buffers, unwatched */
			c->host->fd_unwatch(c->h, c->in_watch);
			c->in_watch = NULL;
			c->in_hup = true;
		}
	}
	con_sync_watches(c);
}

static int con_watch(struct con *c);

/* delayed: try the endpoints again; give up at the deadline. */
static void con_retry_fired(void *dev, void *arg)
{
	struct con *c = dev;
	char err[256];

	if (c->connected)
		return;
	if (hostio_open(c->hostdev->texts, c->hostdev->count, &c->io, err, sizeof(err)) == 0) {
		if (con_watch(c)) {
			hostio_close(&c->io);
			return;
		}
		c->host->log(c->h, VDEV_LOG_INFO, "host side: in %s, out %s",
			     c->io.in_fd >= 0 ? c->io.in_name : "none",
			     c->io.out_fd >= 0 ? c->io.out_name : "none");
	} else if (c->delay_deadline && c->host->clock_ns(c->h) >= c->delay_deadline) {
		c->host->log(c->h, VDEV_LOG_ERROR, "%s; gave up waiting: output is discarded", err);
		c->discard = true;
	} else {
		return;
	}
	c->host->timer_cancel(c->h, c->retry);
	c->connected = true;
	con_transmit(c);
	con_receive(c);
	con_sync_watches(c);
}

/* ------------------------------------------------------------ multiport */

/* Give waiting control messages to the driver's control receive buffers. */
static void con_ctrl_deliver(struct con *c)
{
	bool used = false;

	while (c->ctrl_count && vdev_virtio_queue_pop(&c->vio, CON_CTRL_RXQ, &c->chain) > 0) {
		struct con_ctrl *m = &c->ctrl[0];
		ssize_t n = vdev_virtio_chain_write(&c->vio, &c->chain, 0, m->bytes, m->length);

		if (n < 0) {
			vdev_virtio_needs_reset(&c->vio, "control buffer not writable");
			return;
		}
		if (vdev_virtio_queue_push(&c->vio, &c->chain, (uint32_t)n) == 0)
			used = true;
		c->ctrl_count--;
		memmove(&c->ctrl[0], &c->ctrl[1], c->ctrl_count * sizeof(c->ctrl[0]));
	}
	if (used)
		vdev_virtio_queue_interrupt(&c->vio, CON_CTRL_RXQ);
}

static void con_ctrl_queue(struct con *c, uint16_t event, uint16_t value, const char *data)
{
	struct con_ctrl *m;
	uint32_t id = 0;
	size_t extra = data ? strlen(data) : 0;

	if (c->ctrl_count == CTRL_PENDING) {
		vdev_virtio_needs_reset(&c->vio, "the driver gives no control receive buffers");
		return;
	}
	m = &c->ctrl[c->ctrl_count++];
	event = htole16(event);
	value = htole16(value);
	memcpy(m->bytes, &id, 4);
	memcpy(m->bytes + 4, &event, 2);
	memcpy(m->bytes + 6, &value, 2);
	if (extra)
		memcpy(m->bytes + CTRL_HEADER, data, extra);
	m->length = (uint32_t)(CTRL_HEADER + extra);
}

/* The driver's control messages (the control transmitq). */
static void con_ctrl_receive(struct con *c)
{
	bool used = false;

	while (vdev_virtio_queue_pop(&c->vio, CON_CTRL_TXQ, &c->chain) > 0) {
		uint8_t msg[CTRL_HEADER];
		uint32_t id;
		uint16_t event, value;

		if (vdev_virtio_chain_read(&c->vio, &c->chain, 0, msg, sizeof(msg)) ==
		    sizeof(msg)) {
			memcpy(&id, msg, 4);
			memcpy(&event, msg + 4, 2);
			memcpy(&value, msg + 6, 2);
			id = le32toh(id);
			event = le16toh(event);
			value = le16toh(value);
			if (event == EV_DEVICE_READY && value == 1) {
				con_ctrl_queue(c, EV_DEVICE_ADD, 0, NULL);
			} else if (event == EV_PORT_READY && id == 0 && value == 1) {
				con_ctrl_queue(c, EV_PORT_NAME, 0, c->port_name);
				con_ctrl_queue(c, EV_PORT_OPEN, 1,
					       NULL); /* the host side is there */
			} else if (event == EV_PORT_OPEN && id == 0) {
				c->guest_open = value != 0;
			} else if (event == EV_PORT_READY || event == EV_DEVICE_READY) {
				c->host->log(
				    c->h, VDEV_LOG_WARN,
				    "the driver could not set up port %u (event %u value %u)", id,
				    event, value);
			}
		}
		if (vdev_virtio_queue_push(&c->vio, &c->chain, 0) == 0)
			used = true;
	}
	if (used)
		vdev_virtio_queue_interrupt(&c->vio, CON_CTRL_TXQ);
	con_ctrl_deliver(c);
}

/* ------------------------------------------------------------ virtio */

static void con_queue_notify(void *dev, unsigned queue)
{
	struct con *c = dev;

	if (queue == CON_TXQ)
		con_transmit(c);
	else if (queue == CON_RXQ)
		con_receive(c);
	else if (queue == CON_CTRL_TXQ && con_multiport(c))
		con_ctrl_receive(c);
	else if (queue == CON_CTRL_RXQ && con_multiport(c))
		con_ctrl_deliver(c);
	if (queue == CON_CTRL_TXQ)
		con_receive(c); /* a port just opened takes the input waiting */
	con_sync_watches(c);
}

static void con_driver_ok(void *dev)
{
	con_sync_watches(dev);
}

static void con_virtio_reset(void *dev)
{
	struct con *c = dev;

	/* Bytes already taken from the guest still go out; bytes read
	 * from the host but not delivered go to the next driver. */
	c->guest_open = false;
	c->ctrl_count = 0;
	con_sync_watches(c);
}

static const struct vdev_virtio_ops con_virtio_ops = {
    .queue_notify = con_queue_notify,
    .driver_ok = con_driver_ok,
    .reset = con_virtio_reset,
};

/* ------------------------------------------------------------ instance */

/* What the guest sent reaches the host when the VM ends, within a bound. */
static void con_flush_at_exit(struct con *c)
{
	int waited = 0;

	if (c->io.out_fd < 0 || c->discard || !c->connected)
		return;
	while (!con_flush(c) && waited < EXIT_FLUSH_MS) {
		struct pollfd p = {.fd = c->io.out_fd, .events = POLLOUT};

		if (poll(&p, 1, 50) < 0)
			break;
		waited += 50;
	}
	if (c->tx_len)
		c->host->log(c->h, VDEV_LOG_WARN, "%zu byte(s) of output not delivered at exit",
			     c->tx_len);
}

static void con_destroy(void *dev)
{
	struct con *c = dev;

	con_flush_at_exit(c);
	vdev_virtio_destroy(&c->vio);
	if (c->in_watch)
		c->host->fd_unwatch(c->h, c->in_watch);
	if (c->out_watch && c->out_watch != c->in_watch)
		c->host->fd_unwatch(c->h, c->out_watch);
	if (c->retry)
		c->host->timer_destroy(c->h, c->retry);
	hostio_close(&c->io);
	free(c->tx);
	free(c);
}

static int con_watch(struct con *c)
{
	int rc = 0;

	c->in_watch = c->out_watch = NULL;
	c->in_events = c->out_events = 0;
	if (c->io.in_fd >= 0)
		rc = c->host->fd_watch(c->h, c->io.in_fd, 0, con_fd_event, NULL, &c->in_watch);
	if (!rc && c->io.out_fd >= 0 && c->io.out_fd == c->io.in_fd)
		c->out_watch = c->in_watch;
	else if (!rc && c->io.out_fd >= 0)
		rc = c->host->fd_watch(c->h, c->io.out_fd, 0, con_fd_event, NULL, &c->out_watch);
	if (rc)
		c->host->log(c->h, VDEV_LOG_ERROR, "cannot watch the host side: %s", strerror(-rc));
	return rc;
}

/* F_SIZE when the output is a terminal that knows its size. */
static bool con_size(struct con *c)
{
	struct winsize ws;

	if (c->io.out_fd < 0 || !isatty(c->io.out_fd) || ioctl(c->io.out_fd, TIOCGWINSZ, &ws) ||
	    !ws.ws_col || !ws.ws_row)
		return false;
	c->config.cols = htole16(ws.ws_col);
	c->config.rows = htole16(ws.ws_row);
	return true;
}

static int con_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **dev)
{
	struct con *c = calloc(1, sizeof(*c));
	struct vdev_virtio_info info = {
	    .device_id = VDEV_VIRTIO_ID_CONSOLE,
	    .queue_count = 2,
	    .queue_size = CON_QUEUE_SIZE,
	    .config_size = sizeof(struct con_config),
	    .pci_class = 0x078000, /* simple communication controller, other */
	    .ops = &con_virtio_ops,
	};
	const struct vdev_option_value *delayed = &cfg->options[OPT_DELAYED];
	char err[256];
	int rc;

	if (!c)
		return -ENOMEM;
	c->host = host;
	c->h = h;
	c->hostdev = &cfg->options[OPT_HOSTDEV];
	if (cfg->options[OPT_LEGACY].v.b)
		host->log(h, VDEV_LOG_WARN, "legacy: only the VIRTIO 1.x interface is offered");
	if (cfg->options[OPT_PORT].count) {
		const char *name = cfg->options[OPT_PORT].v.s;

		if (!*name || strlen(name) >= CON_NAME_MAX) {
			host->log(h, VDEV_LOG_ERROR, "port \"%s\": 1..%u characters", name,
				  CON_NAME_MAX - 1);
			free(c);
			return -EINVAL;
		}
		snprintf(c->port_name, sizeof(c->port_name), "%s", name);
		info.features |= VDEV_VIRTIO_BIT(CON_F_MULTIPORT);
		info.queue_count = 4;
	}
	if (delayed->count && hostio_parse_delayed(delayed->v.s, host->clock_ns(h),
						   &c->delay_deadline, err, sizeof(err))) {
		host->log(h, VDEV_LOG_ERROR, "%s", err);
		free(c);
		return -EINVAL;
	}
	rc = hostio_open(c->hostdev->texts, c->hostdev->count, &c->io, err, sizeof(err));
	if (rc < 0 && (!delayed->count || rc == -EINVAL)) {
		host->log(h, VDEV_LOG_ERROR, "%s", err);
		free(c);
		return rc;
	}
	c->connected = rc == 0;
	if (!c->connected) {
		rc = host->timer_create(h, con_retry_fired, NULL, &c->retry);
		if (rc) {
			free(c);
			return rc;
		}
		host->log(h, VDEV_LOG_INFO, "%s; retrying (delayed)", err);
		host->timer_arm(h, c->retry, RETRY_NS, RETRY_NS);
	}
	c->config.max_nr_ports = htole32(1);
	info.features |= con_size(c) ? VDEV_VIRTIO_BIT(CON_F_SIZE) : 0;
	info.config = &c->config;
	info.dev = c;
	rc = vdev_virtio_init(&c->vio, host, h, cfg, &info);
	if (rc) {
		if (c->retry)
			host->timer_destroy(h, c->retry);
		hostio_close(&c->io);
		free(c);
		return rc;
	}
	rc = c->connected ? con_watch(c) : 0;
	if (rc) {
		con_destroy(c);
		return rc;
	}
	if (c->connected && (c->io.in_fd >= 0 || c->io.out_fd >= 0))
		host->log(h, VDEV_LOG_INFO, "host side: in %s, out %s",
			  c->io.in_fd >= 0 ? c->io.in_name : "none",
			  c->io.out_fd >= 0 ? c->io.out_name : "none");
	*dev = c;
	return 0;
}

static int con_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	return vdev_virtio_read(&((struct con *)dev)->vio, a, value);
}

static int con_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	return vdev_virtio_write(&((struct con *)dev)->vio, a, value);
}

static void con_reset(void *dev)
{
	vdev_virtio_reset(&((struct con *)dev)->vio);
}

/* The multiport state: whether the port is open, control messages waiting. */
static void con_ctrl_state(struct vdev_state *st, bool *open, uint32_t *count,
			   struct con_ctrl ctrl[CTRL_PENDING])
{
	vdev_state_bool(st, open);
	vdev_state_u32(st, count);
	if (!vdev_state_error(st) && *count > CTRL_PENDING)
		vdev_state_invalid(st);
	for (unsigned i = 0; i < CTRL_PENDING; i++) {
		vdev_state_bytes(st, ctrl[i].bytes, sizeof(ctrl[i].bytes));
		vdev_state_u32(st, &ctrl[i].length);
		if (!vdev_state_error(st) && ctrl[i].length > sizeof(ctrl[i].bytes))
			vdev_state_invalid(st);
	}
}

static ssize_t con_save(void *dev, void *buf, size_t cap)
{
	struct con *c = dev;
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, CON_NAME, CON_STATE_VERSION);
	vdev_virtio_state(&st, &c->vio);
	con_ctrl_state(&st, &c->guest_open, &c->ctrl_count, c->ctrl);
	return vdev_state_save_end(&st);
}

static int con_restore(void *dev, const void *buf, size_t length)
{
	struct con *c = dev;
	struct vdev_state st;
	struct con_ctrl ctrl[CTRL_PENDING] = {0};
	uint32_t count = 0;
	bool open = false;

	vdev_state_restore_begin(&st, buf, length, CON_NAME, CON_STATE_VERSION);
	vdev_virtio_state(&st, &c->vio);
	con_ctrl_state(&st, &open, &count, ctrl);
	if (vdev_state_restore_end(&st))
		return -EINVAL;
	c->guest_open = open;
	c->ctrl_count = count;
	memcpy(c->ctrl, ctrl, sizeof(ctrl));
	vdev_virtio_restored(&c->vio);
	con_sync_watches(c);
	return 0;
}

static int con_status(void *dev, char *buf, size_t cap)
{
	struct con *c = dev;

	return snprintf(buf, cap, "in %s, out %s, %zu byte(s) waiting for the host, %s",
			c->io.in_fd >= 0 ? c->io.in_name : "none",
			c->io.out_fd >= 0 ? c->io.out_name : "none", c->tx_len,
			vdev_virtio_transport(&c->vio) == VDEV_VIRTIO_MMIO ? "virtio-mmio"
									   : "virtio-pci");
}

static const struct vdev_ops con_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = con_create,
    .destroy = con_destroy,
    .read = con_read,
    .write = con_write,
    .reset = con_reset,
    .save = con_save,
    .restore = con_restore,
    .status = con_status,
};

static const struct vdev_descriptor con_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = CON_NAME,
    .version = "1.0.0",
    .description = "virtio console on a host endpoint (stdout, file, pty, unix socket)",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size =
	VDEV_STATE_HEADER_SIZE(sizeof(CON_NAME) - 1) + VDEV_VIRTIO_STATE_SIZE +
	VDEV_STATE_SIZE_BOOL + VDEV_STATE_SIZE_U32 +
	CTRL_PENDING * (VDEV_STATE_SIZE_BYTES(CTRL_HEADER + CON_NAME_MAX) + VDEV_STATE_SIZE_U32),
    .options = con_options,
    .option_count = OPT_COUNT,
    .ops = &con_ops,
};

VDEV_PLUGIN_ENTRY(con_descriptor)
