/*
 * vdevs/virtio-net/virtio-net.c: a virtio network device (VIRTIO 1.2
 * section 5.1, device id 1) on the SDK's virtio helper, with a tap
 * backend or a `peer` that links two vdm VMs on one host.
 *
 *	vdev virtio-net tapdev vdm%d                        # a tap, kernel-named
 *	vdev virtio-net peer /run/user/1000/vm-link mac 02:00:00:00:00:01
 *	vdev virtio-net peer /tmp/link loc 0xd0000400 intr ioapic:7  # MMIO
 *
 * Options: `tapdev NAME` (a tap interface, created or attached; `%d` in
 * NAME lets the kernel number it), `tap` (the same with the name vdm%d),
 * `peer PATH` (a unix socket shared with one other vdm), `mac
 * xx:xx:xx:xx:xx:xx` (default: a locally administered address derived
 * from the host name, the process and the instance, so two VMs on one
 * host differ; give `mac` for an address that survives a restart),
 * `peerfeats MASK` (the offloads a peer link may offer, a mask of
 * VIRTIO_NET_F_CSUM (0x1) and VIRTIO_NET_F_GUEST_CSUM (0x2) [0x3]). With
 * no backend the device is a NIC without a cable: link down, frames sent
 * are dropped. qvm's `legacy` is accepted with a warning: the device
 * offers the VIRTIO 1.x interface only.
 *
 * Queues: 0 receiveq, 1 transmitq (no control queue, no multiqueue).
 * Features: MAC, STATUS (link up while the backend is connected), and
 * offloads only where both ends honour them:
 *  - tap: opened with IFF_VNET_HDR when the kernel has it (frames carry
 *    the 12-byte virtio_net_hdr_v1, TUNSETVNETHDRSZ 12), which offers
 *    CSUM, GUEST_CSUM, HOST_TSO4/6 and GUEST_TSO4/6; the guest's choice
 *    reaches the kernel with TUNSETOFFLOAD at DRIVER_OK, so the kernel
 *    sends only what the guest accepts. Without IFF_VNET_HDR, no offload.
 *  - peer: CSUM and GUEST_CSUM (no TSO: segmenting in software is not
 *    done). A frame whose checksum the sender left to be completed
 *    (NEEDS_CSUM) is passed on as such only when the receiving guest
 *    negotiated GUEST_CSUM; otherwise the receiving device completes the
 *    checksum itself. So the offload is used only when both VMs
 *    negotiated it, and a guest never sees a header it did not ask for.
 *
 * The peer link: a SOCK_SEQPACKET unix socket at PATH, one message per
 * frame: the 12-byte virtio_net_hdr_v1 (little-endian, num_buffers 0)
 * then the Ethernet frame. Either VM may start first: a device connects
 * to PATH, and when nobody listens there (no file, or a stale one:
 * ECONNREFUSED) it binds PATH and listens, accepting one peer at a time.
 * When the link drops the link goes down (a configuration interrupt);
 * the listener keeps listening, the other side retries every 100 ms
 * (connecting, or listening itself when the listener is gone). No
 * privilege is needed: only the file system rights on PATH. The listener
 * removes PATH when it is destroyed.
 *
 * Frames are never read past their buffers: a transmitted frame is the
 * chain's readable bytes after the header (at most NET_FRAME_MAX; a
 * longer one, a chain shorter than the header, or a header with an
 * offload the guest did not negotiate or a checksum position outside the
 * frame is dropped and counted); a received frame goes into one receive
 * chain (no MRG_RXBUF) and one that does not fit the chain is dropped and
 * counted, the chain returned to the driver empty (Linux counts it as a
 * length error). The counters show in `status`; the first drop of each
 * kind is logged.
 *
 * Threads: transmit runs on the vCPU thread that kicked, receive on the
 * event loop (fd watch on the backend). Both use non-blocking I/O: when
 * the backend is full, the frame taken waits in a buffer, the transmitq
 * is not read until the descriptor is writable again, and the driver sees
 * its queue fill (no frame lost in vdm). Receive reads the backend only
 * while the guest has buffers posted, so frames wait in the kernel.
 *
 * Save/restore: the transport, the queues and the MAC address (so a
 * default address survives into the restored instance); the backend
 * connection and the frames waiting in vdm are host state, not saved.
 */
#include <endian.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vdev/state.h>
#include <vdev/vdev.h>
#include <vdev/virtio.h>

#define NET_NAME	  "virtio-net"
#define NET_STATE_VERSION 1
#define NET_QUEUE_SIZE	  256
#define NET_RXQ		  0
#define NET_TXQ		  1
#define NET_HDR		  12u	 /* struct virtio_net_hdr_v1 */
#define NET_FRAME_MAX	  65550u /* 64 KiB of GSO payload + Ethernet + VLAN headers */
#define NET_FRAME_MIN	  14u	 /* an Ethernet header */
#define NET_RETRY_NS	  100000000ull

/* Feature bits (5.1.3). */
#define NET_F_CSUM	 0
#define NET_F_GUEST_CSUM 1
#define NET_F_MAC	 5
#define NET_F_GUEST_TSO4 7
#define NET_F_GUEST_TSO6 8
#define NET_F_HOST_TSO4	 11
#define NET_F_HOST_TSO6	 12
#define NET_F_STATUS	 16
#define NET_PEER_FEATS	 (VDEV_VIRTIO_BIT(NET_F_CSUM) | VDEV_VIRTIO_BIT(NET_F_GUEST_CSUM))
#define NET_TAP_FEATS                                                                              \
	(NET_PEER_FEATS | VDEV_VIRTIO_BIT(NET_F_GUEST_TSO4) | VDEV_VIRTIO_BIT(NET_F_GUEST_TSO6) |  \
	 VDEV_VIRTIO_BIT(NET_F_HOST_TSO4) | VDEV_VIRTIO_BIT(NET_F_HOST_TSO6))

/* Header flags and GSO types (5.1.6). */
#define HDR_F_NEEDS_CSUM 1u
#define HDR_F_DATA_VALID 2u
#define GSO_NONE	 0u
#define GSO_TCPV4	 1u
#define GSO_TCPV6	 4u
#define NET_S_LINK_UP	 1u

struct net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

/* struct virtio_net_config (5.1.4), the fields up to max_virtqueue_pairs. */
struct net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
} __attribute__((packed));

enum net_option { OPT_TAPDEV, OPT_TAP, OPT_PEER, OPT_MAC, OPT_PEERFEATS, OPT_LEGACY, OPT_COUNT };

static const struct vdev_option_spec net_options[OPT_COUNT] = {
    [OPT_TAPDEV] =
	{
	    .name = "tapdev",
	    .type = VDEV_OPT_STRING,
	    .help = "NAME: the tap interface (created or attached; %d: the kernel numbers it)",
	},
    [OPT_TAP] =
	{
	    .name = "tap",
	    .type = VDEV_OPT_BOOL,
	    .flags = VDEV_OPTF_NOARG,
	    .default_value = "off",
	    .help = "a tap interface named by the kernel (vdm%d)",
	},
    [OPT_PEER] =
	{
	    .name = "peer",
	    .type = VDEV_OPT_STRING,
	    .help = "PATH: a unix socket linking this NIC to one other vdm VM's",
	},
    [OPT_MAC] =
	{
	    .name = "mac",
	    .type = VDEV_OPT_STRING,
	    .help = "xx:xx:xx:xx:xx:xx (default: locally administered, per process and instance)",
	},
    [OPT_PEERFEATS] =
	{
	    .name = "peerfeats",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0x3",
	    .help = "offloads a peer link offers: CSUM 0x1, GUEST_CSUM 0x2",
	    .min = 0,
	    .max = 0x3,
	},
    [OPT_LEGACY] =
	{
	    .name = "legacy",
	    .type = VDEV_OPT_BOOL,
	    .flags = VDEV_OPTF_NOARG,
	    .default_value = "off",
	    .help = "qvm's virtio 0.9.5 interface: accepted, the device offers VIRTIO 1.x only",
	},
};

enum net_backend { NET_NONE, NET_TAP, NET_PEER };

struct net_stats {
	uint64_t rx_frames, tx_frames;
	uint64_t rx_oversize; /* frames larger than the guest's buffer */
	uint64_t rx_dropped;  /* frames with an offload the guest did not take, or bad headers */
	uint64_t tx_dropped;  /* malformed, oversize or sent with no link */
};

struct net {
	struct vdev_virtio vio;
	const struct vdev_host *host;
	vdev_host_t *h;
	struct net_config config;
	enum net_backend backend;
	int fd;		/* tap, or the peer connection; -1 when none */
	bool vnet_hdr;	/* frames on fd carry a struct net_hdr */
	int listen_fd;	/* peer: our listening socket, -1 when none */
	bool bound;	/* peer: we created path (and remove it) */
	char path[108]; /* peer */
	char ifname[IFNAMSIZ];
	struct vdev_watch *watch, *listen_watch;
	uint32_t events;
	struct vdev_timer *retry;
	struct net_stats stats;
	unsigned logged; /* which drop kinds were logged (bits) */
	/* a frame read from the backend, not yet given to the guest */
	uint8_t rx[NET_HDR + NET_FRAME_MAX + 1];
	size_t rx_len; /* header + frame, 0: none */
	/* a frame taken from the guest, not yet taken by the backend */
	uint8_t tx[NET_HDR + NET_FRAME_MAX];
	size_t tx_len;
	struct vdev_virtio_chain chain;
};

/* Count a drop; log the first of each kind. */
static void net_drop(struct net *n, uint64_t *counter, unsigned kind, const char *why)
{
	(*counter)++;
	if (!(n->logged & (1u << kind)))
		n->host->log(n->h, VDEV_LOG_WARN, "frame dropped: %s (counted; logged once)", why);
	n->logged |= 1u << kind;
}

/* ------------------------------------------------------------ link state */

static void net_set_link(struct net *n, bool up)
{
	uint16_t status = htole16(up ? NET_S_LINK_UP : 0);

	if (n->config.status == status)
		return;
	n->config.status = status;
	if (vdev_virtio_status(&n->vio) & VDEV_VIRTIO_S_DRIVER_OK)
		vdev_virtio_config_changed(&n->vio);
}

/* The peer went away: close the connection, link down, wait for the next. */
static void net_peer_lost(struct net *n, const char *why)
{
	if (n->watch)
		n->host->fd_unwatch(n->h, n->watch);
	n->watch = NULL;
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	n->rx_len = 0;
	n->tx_len = 0;
	n->events = 0;
	n->host->log(n->h, VDEV_LOG_INFO, "peer %s: link down (%s)", n->path, why);
	net_set_link(n, false);
	if (n->listen_fd < 0)
		n->host->timer_arm(n->h, n->retry, NET_RETRY_NS, 0);
}

/* ------------------------------------------------------------ checksums */

/* Complete a partial checksum (NEEDS_CSUM) in software, as the host would. */
static void net_csum_complete(uint8_t *frame, size_t len, unsigned start, unsigned offset)
{
	uint32_t sum = 0;
	uint16_t folded;

	for (size_t i = start; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if ((len - start) & 1)
		sum += (uint32_t)frame[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	folded = (uint16_t)~sum;
	if (!folded)
		folded = 0xffff; /* 0 means "no checksum" to UDP */
	frame[start + offset] = (uint8_t)(folded >> 8);
	frame[start + offset + 1] = (uint8_t)folded;
}

/* A checksum position that lies inside the frame. */
static bool net_csum_ok(const struct net_hdr *hdr, size_t len)
{
	unsigned start = le16toh(hdr->csum_start), offset = le16toh(hdr->csum_offset);

	return start < len && offset + 2u <= len - start;
}

/* ------------------------------------------------------------ receive */

/*
 * Make the header of the frame in rx right for our guest: offloads it did
 * not negotiate are undone (a checksum completed) or the frame dropped.
 * Returns false to drop.
 */
static bool net_rx_fixup(struct net *n)
{
	struct net_hdr hdr;
	uint8_t *frame = n->rx + NET_HDR;
	size_t len = n->rx_len - NET_HDR;

	memcpy(&hdr, n->rx, NET_HDR);
	if (hdr.gso_type != GSO_NONE) {
		unsigned bit = (hdr.gso_type & 0x7f) == GSO_TCPV4   ? NET_F_GUEST_TSO4
			       : (hdr.gso_type & 0x7f) == GSO_TCPV6 ? NET_F_GUEST_TSO6
								    : 64;

		if (bit == 64 || (hdr.gso_type & 0x80) || !vdev_virtio_has_feature(&n->vio, bit))
			return false;
	}
	if (hdr.flags & HDR_F_NEEDS_CSUM) {
		if (!net_csum_ok(&hdr, len))
			return false;
		if (!vdev_virtio_has_feature(&n->vio, NET_F_GUEST_CSUM)) {
			if (hdr.gso_type != GSO_NONE)
				return false;
			net_csum_complete(frame, len, le16toh(hdr.csum_start),
					  le16toh(hdr.csum_offset));
			hdr.flags &= (uint8_t)~HDR_F_NEEDS_CSUM;
		}
	}
	if (!vdev_virtio_has_feature(&n->vio, NET_F_GUEST_CSUM))
		hdr.flags &= (uint8_t)~HDR_F_DATA_VALID;
	hdr.flags &= HDR_F_NEEDS_CSUM | HDR_F_DATA_VALID;
	if (!(hdr.flags & HDR_F_NEEDS_CSUM))
		hdr.csum_start = hdr.csum_offset = 0;
	if (hdr.gso_type == GSO_NONE)
		hdr.hdr_len = hdr.gso_size = 0;
	hdr.num_buffers = htole16(1);
	memcpy(n->rx, &hdr, NET_HDR);
	return true;
}

/* Read one frame from the backend into rx. 1: a frame; 0: none now; -1: link lost. */
static int net_backend_recv(struct net *n)
{
	uint8_t *at = n->vnet_hdr ? n->rx : n->rx + NET_HDR;
	size_t cap = n->vnet_hdr ? sizeof(n->rx) : sizeof(n->rx) - NET_HDR;
	ssize_t got;

	if (n->fd < 0)
		return 0;
	if (n->backend == NET_PEER)
		got = recv(n->fd, at, cap, MSG_DONTWAIT | MSG_TRUNC);
	else
		got = read(n->fd, at, cap);
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (got == 0 && n->backend == NET_PEER)
		return -1;
	if ((size_t)got >= cap) {
		net_drop(n, &n->stats.rx_oversize, 0, "a frame from the backend is over 64 KiB");
		return 2;
	}
	if (!n->vnet_hdr) {
		memset(n->rx, 0, NET_HDR);
		got += NET_HDR;
	}
	if ((size_t)got < NET_HDR + NET_FRAME_MIN) {
		net_drop(n, &n->stats.rx_dropped, 1, "a runt frame from the backend");
		return 2;
	}
	n->rx_len = (size_t)got;
	return 1;
}

static void net_receive(struct net *n)
{
	const struct vdev_virtio_queue *q = vdev_virtio_queue(&n->vio, NET_RXQ);
	bool used = false;

	while (vdev_virtio_live(&n->vio) && q->ready) {
		if (!n->rx_len) {
			int rc = net_backend_recv(n);

			if (rc < 0) {
				net_peer_lost(n, "the connection ended");
				break;
			}
			if (rc == 0)
				break;
			if (rc == 2)
				continue;
			if (!net_rx_fixup(n)) {
				net_drop(n, &n->stats.rx_dropped, 2,
					 "an offload the guest did not negotiate, or a bad header");
				n->rx_len = 0;
				continue;
			}
		}
		if (vdev_virtio_queue_pop(&n->vio, NET_RXQ, &n->chain) <= 0)
			break; /* the frame waits for a buffer */
		uint32_t written = 0;

		if (n->chain.write_bytes < n->rx_len) {
			net_drop(n, &n->stats.rx_oversize, 3,
				 "a frame larger than the guest's receive buffer");
		} else if (vdev_virtio_chain_write(&n->vio, &n->chain, 0, n->rx, n->rx_len) ==
			   (ssize_t)n->rx_len) {
			written = (uint32_t)n->rx_len;
			n->stats.rx_frames++;
		} else {
			vdev_virtio_needs_reset(&n->vio, "receive buffer not writable");
			n->rx_len = 0;
			break;
		}
		n->rx_len = 0;
		if (vdev_virtio_queue_push(&n->vio, &n->chain, written) == 0)
			used = true;
	}
	if (used)
		vdev_virtio_queue_interrupt(&n->vio, NET_RXQ);
}

/* ------------------------------------------------------------ transmit */

/* Send the frame in tx; false while the backend is full (it waits). */
static bool net_flush(struct net *n)
{
	const uint8_t *at = n->vnet_hdr ? n->tx : n->tx + NET_HDR;
	size_t len = n->vnet_hdr ? n->tx_len : n->tx_len - NET_HDR;
	ssize_t sent;

	if (!n->tx_len)
		return true;
	if (n->fd < 0) {
		n->tx_len = 0;
		return true;
	}
	if (n->backend == NET_PEER)
		sent = send(n->fd, at, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		sent = write(n->fd, at, len);
	if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
		return false;
	if (sent < 0 && n->backend == NET_PEER && (errno == EPIPE || errno == ECONNRESET)) {
		net_peer_lost(n, "the peer closed the connection");
		return true;
	}
	if (sent < 0)
		net_drop(n, &n->stats.tx_dropped, 4, "the backend refused it");
	else
		n->stats.tx_frames++;
	n->tx_len = 0;
	return true;
}

/* Check the guest's header against what it negotiated and the backend takes. */
static bool net_tx_header_ok(struct net *n, struct net_hdr *hdr, size_t len)
{
	if (hdr->gso_type != GSO_NONE) {
		unsigned bit = hdr->gso_type == GSO_TCPV4   ? NET_F_HOST_TSO4
			       : hdr->gso_type == GSO_TCPV6 ? NET_F_HOST_TSO6
							    : 64;

		if (bit == 64 || !vdev_virtio_has_feature(&n->vio, bit) || !hdr->gso_size)
			return false;
	}
	if (hdr->flags & HDR_F_NEEDS_CSUM) {
		if (!vdev_virtio_has_feature(&n->vio, NET_F_CSUM) || !net_csum_ok(hdr, len))
			return false;
	}
	hdr->flags &= HDR_F_NEEDS_CSUM;
	hdr->num_buffers = 0;
	if (n->backend == NET_TAP && !n->vnet_hdr && hdr->flags)
		return false;
	return true;
}

/* Take one chain into tx (the chain itself is returned by the caller). */
static void net_take(struct net *n, const struct vdev_virtio_chain *chain)
{
	struct net_hdr hdr;
	size_t len;

	if (chain->read_bytes < NET_HDR + NET_FRAME_MIN || chain->read_bytes > sizeof(n->tx)) {
		net_drop(n, &n->stats.tx_dropped, 5,
			 "a transmit chain shorter than header + Ethernet header, or over 64 KiB");
		return;
	}
	len = chain->read_bytes;
	if (vdev_virtio_chain_read(&n->vio, chain, 0, n->tx, len) != (ssize_t)len) {
		vdev_virtio_needs_reset(&n->vio, "transmit buffer not readable");
		return;
	}
	memcpy(&hdr, n->tx, NET_HDR);
	if (!net_tx_header_ok(n, &hdr, len - NET_HDR)) {
		net_drop(n, &n->stats.tx_dropped, 6,
			 "a header with an offload not negotiated or a checksum outside the frame");
		return;
	}
	memcpy(n->tx, &hdr, NET_HDR);
	if (n->fd < 0) {
		n->stats.tx_dropped++; /* no link: a cable pulled drops frames silently */
		return;
	}
	n->tx_len = len;
}

static void net_transmit(struct net *n)
{
	bool used = false;

	while (net_flush(n) && vdev_virtio_queue_pop(&n->vio, NET_TXQ, &n->chain) > 0) {
		net_take(n, &n->chain);
		if (vdev_virtio_queue_push(&n->vio, &n->chain, 0) == 0)
			used = true;
	}
	if (used)
		vdev_virtio_queue_interrupt(&n->vio, NET_TXQ);
}

/* ------------------------------------------------------------ events */

static void net_sync_watch(struct net *n)
{
	const struct vdev_virtio_queue *q = vdev_virtio_queue(&n->vio, NET_RXQ);
	uint32_t events = 0;

	if (!n->watch)
		return;
	if (!n->rx_len && vdev_virtio_live(&n->vio) && q->ready)
		events |= VDEV_FD_IN;
	if (n->tx_len)
		events |= VDEV_FD_OUT;
	if (events != n->events && n->host->fd_modify(n->h, n->watch, events) == 0)
		n->events = events;
}

static void net_fd_event(void *dev, void *arg, int fd, uint32_t events)
{
	struct net *n = dev;

	if (fd != n->fd)
		return;
	if (events & (VDEV_FD_OUT | VDEV_FD_ERR))
		net_transmit(n);
	if (n->fd >= 0 && (events & (VDEV_FD_IN | VDEV_FD_ERR)))
		net_receive(n);
	if (n->fd >= 0 && (events & (VDEV_FD_HUP | VDEV_FD_ERR)) && n->backend == NET_PEER) {
		net_peer_lost(n, "the peer hung up");
		return;
	}
	net_sync_watch(n);
}

/* A connected peer socket: watch it, link up. */
static void net_peer_up(struct net *n, int fd, const char *how)
{
	int rc = n->host->fd_watch(n->h, fd, 0, net_fd_event, NULL, &n->watch);

	if (rc) {
		n->host->log(n->h, VDEV_LOG_ERROR, "peer %s: cannot watch: %s", n->path,
			     strerror(-rc));
		close(fd);
		return;
	}
	n->fd = fd;
	n->events = 0;
	n->host->log(n->h, VDEV_LOG_INFO, "peer %s: link up (%s)", n->path, how);
	net_set_link(n, true);
	net_sync_watch(n);
	net_receive(n);
	net_transmit(n);
	net_sync_watch(n);
}

static void net_listen_event(void *dev, void *arg, int fd, uint32_t events)
{
	struct net *n = dev;
	int conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (conn < 0)
		return;
	if (n->fd >= 0) {
		close(conn); /* one peer at a time */
		return;
	}
	net_peer_up(n, conn, "accepted");
}

static int net_unix_socket(struct sockaddr_un *sa, const char *path)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);
	return socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

/* Connect to the listener at path, or become it. Retried by the timer. */
static void net_peer_connect(struct net *n)
{
	struct sockaddr_un sa;
	int fd;

	if (n->fd >= 0 || n->listen_fd >= 0)
		return;
	fd = net_unix_socket(&sa, n->path);
	if (fd < 0)
		goto retry;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		net_peer_up(n, fd, "connected");
		return;
	}
	if (errno == ECONNREFUSED)
		unlink(n->path); /* a stale socket: its listener is gone */
	else if (errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EADDRINUSE)
			goto fail; /* the other side was quicker: connect next time */
		n->host->log(n->h, VDEV_LOG_WARN, "peer %s: cannot listen: %s", n->path,
			     strerror(errno));
		goto fail;
	}
	n->bound = true;
	if (listen(fd, 1) < 0 ||
	    n->host->fd_watch(n->h, fd, VDEV_FD_IN, net_listen_event, NULL, &n->listen_watch)) {
		unlink(n->path);
		n->bound = false;
		goto fail;
	}
	n->listen_fd = fd;
	n->host->log(n->h, VDEV_LOG_INFO, "peer %s: listening", n->path);
	return;
fail:
	close(fd);
retry:
	n->host->timer_arm(n->h, n->retry, NET_RETRY_NS, 0);
}

static void net_retry_fired(void *dev, void *arg)
{
	net_peer_connect(dev);
}

/* ------------------------------------------------------------ tap */

static int net_tap_open(struct net *n, const char *name)
{
	struct ifreq ifr = {0};
	unsigned features = 0;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), hdr = NET_HDR;

	if (fd < 0) {
		int err = -errno;

		n->host->log(n->h, VDEV_LOG_ERROR, "tap: /dev/net/tun: %s", strerror(errno));
		return err;
	}
	if (ioctl(fd, TUNGETFEATURES, &features) < 0)
		features = 0;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (features & IFF_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;

		n->host->log(n->h, VDEV_LOG_ERROR, "tap %s: TUNSETIFF: %s", name, strerror(errno));
		close(fd);
		return err;
	}
	n->vnet_hdr = (features & IFF_VNET_HDR) && ioctl(fd, TUNSETVNETHDRSZ, &hdr) == 0 &&
		      ioctl(fd, TUNSETOFFLOAD, 0) == 0;
	if ((features & IFF_VNET_HDR) && !n->vnet_hdr) {
		n->host->log(n->h, VDEV_LOG_ERROR, "tap %s: cannot set up the vnet header",
			     ifr.ifr_name);
		close(fd);
		return -EIO;
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	n->fd = fd;
	return 0;
}

/* The guest's receive offloads, told to the kernel so it sends only those. */
static void net_tap_offload(struct net *n)
{
	unsigned long offload = 0;

	if (n->backend != NET_TAP || !n->vnet_hdr || n->fd < 0)
		return;
	if (vdev_virtio_live(&n->vio) && vdev_virtio_has_feature(&n->vio, NET_F_GUEST_CSUM)) {
		offload |= TUN_F_CSUM;
		if (vdev_virtio_has_feature(&n->vio, NET_F_GUEST_TSO4))
			offload |= TUN_F_TSO4;
		if (vdev_virtio_has_feature(&n->vio, NET_F_GUEST_TSO6))
			offload |= TUN_F_TSO6;
	}
	if (ioctl(n->fd, TUNSETOFFLOAD, offload) < 0)
		n->host->log(n->h, VDEV_LOG_WARN, "tap %s: TUNSETOFFLOAD: %s", n->ifname,
			     strerror(errno));
}

/* ------------------------------------------------------------ virtio */

static void net_queue_notify(void *dev, unsigned queue)
{
	struct net *n = dev;

	if (queue == NET_TXQ)
		net_transmit(n);
	else
		net_receive(n);
	net_sync_watch(n);
}

/* 5.1.3.1: offloads need the checksum offload under them. */
static bool net_features_ok(void *dev, uint64_t f)
{
	bool csum = f & VDEV_VIRTIO_BIT(NET_F_CSUM), gcsum = f & VDEV_VIRTIO_BIT(NET_F_GUEST_CSUM);

	if ((f & (VDEV_VIRTIO_BIT(NET_F_HOST_TSO4) | VDEV_VIRTIO_BIT(NET_F_HOST_TSO6))) && !csum)
		return false;
	if ((f & (VDEV_VIRTIO_BIT(NET_F_GUEST_TSO4) | VDEV_VIRTIO_BIT(NET_F_GUEST_TSO6))) && !gcsum)
		return false;
	return true;
}

static void net_driver_ok(void *dev)
{
	struct net *n = dev;

	net_tap_offload(n);
	net_sync_watch(n);
}

static void net_virtio_reset(void *dev)
{
	struct net *n = dev;

	/* A frame read for the old driver may carry offloads the next one
	 * refuses: net_rx_fixup checks it again when it is delivered. */
	net_tap_offload(n);
	net_sync_watch(n);
}

static const struct vdev_virtio_ops net_virtio_ops = {
    .queue_notify = net_queue_notify,
    .features_ok = net_features_ok,
    .driver_ok = net_driver_ok,
    .reset = net_virtio_reset,
};

/* ------------------------------------------------------------ instance */

static int net_parse_mac(const char *text, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6 ||
	    strlen(text) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return mac[0] & 1 ? -EINVAL : 0; /* a multicast address names no NIC */
}

/* A locally administered unicast address from host, process and instance. */
static void net_default_mac(const struct vdev_config *cfg, uint8_t mac[6])
{
	char text[512], host[256] = "";
	uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a */

	gethostname(host, sizeof(host) - 1);
	snprintf(text, sizeof(text), "%s/%ld/%s/%u", host, (long)getpid(), cfg->instance_name,
		 cfg->index);
	for (const char *p = text; *p; p++)
		hash = (hash ^ (uint8_t)*p) * 0x100000001b3ull;
	mac[0] = 0x02; /* locally administered, unicast */
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(hash >> (8 * i));
}

/* Everything of the backend: watches, timer, descriptors, the socket file. */
static void net_backend_close(struct net *n)
{
	if (n->watch)
		n->host->fd_unwatch(n->h, n->watch);
	if (n->listen_watch)
		n->host->fd_unwatch(n->h, n->listen_watch);
	if (n->retry)
		n->host->timer_destroy(n->h, n->retry);
	if (n->fd >= 0)
		close(n->fd);
	if (n->listen_fd >= 0)
		close(n->listen_fd);
	if (n->bound)
		unlink(n->path);
}

static void net_destroy(void *dev)
{
	struct net *n = dev;

	vdev_virtio_destroy(&n->vio);
	net_backend_close(n);
	free(n);
}

static int net_backend_open(struct net *n, const struct vdev_config *cfg)
{
	const struct vdev_option_value *tapdev = &cfg->options[OPT_TAPDEV];
	const struct vdev_option_value *peer = &cfg->options[OPT_PEER];
	bool tap = cfg->options[OPT_TAP].v.b;
	int rc;

	if ((tapdev->count || tap) + (peer->count > 0) > 1) {
		n->host->log(n->h, VDEV_LOG_ERROR, "give one backend: tapdev/tap or peer");
		return -EINVAL;
	}
	if (tapdev->count || tap) {
		const char *name = tapdev->count ? tapdev->v.s : "vdm%d";

		if (!*name || strlen(name) >= IFNAMSIZ) {
			n->host->log(n->h, VDEV_LOG_ERROR, "tapdev \"%s\": 1..%d characters", name,
				     IFNAMSIZ - 1);
			return -EINVAL;
		}
		n->backend = NET_TAP;
		rc = net_tap_open(n, name);
		if (rc)
			return rc;
		n->config.status = htole16(NET_S_LINK_UP);
		n->host->log(n->h, VDEV_LOG_INFO, "tap %s%s", n->ifname,
			     n->vnet_hdr ? " (vnet header: offloads)" : "");
		return n->host->fd_watch(n->h, n->fd, 0, net_fd_event, NULL, &n->watch);
	}
	if (peer->count) {
		if (!*peer->v.s || strlen(peer->v.s) >= sizeof(n->path)) {
			n->host->log(n->h, VDEV_LOG_ERROR, "peer \"%s\": 1..%zu characters",
				     peer->v.s, sizeof(n->path) - 1);
			return -EINVAL;
		}
		n->backend = NET_PEER;
		n->vnet_hdr = true;
		snprintf(n->path, sizeof(n->path), "%s", peer->v.s);
		rc = n->host->timer_create(n->h, net_retry_fired, NULL, &n->retry);
		if (rc)
			return rc;
		net_peer_connect(n);
	}
	return 0;
}

static int net_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **dev)
{
	struct net *n = calloc(1, sizeof(*n));
	const struct vdev_option_value *mac = &cfg->options[OPT_MAC];
	struct vdev_virtio_info info = {
	    .device_id = VDEV_VIRTIO_ID_NET,
	    .queue_count = 2,
	    .queue_size = NET_QUEUE_SIZE,
	    .config_size = sizeof(struct net_config),
	    .pci_class = 0x020000, /* network controller, Ethernet */
	    .ops = &net_virtio_ops,
	};
	int rc;

	if (!n)
		return -ENOMEM;
	n->host = host;
	n->h = h;
	n->fd = n->listen_fd = -1;
	if (mac->count && net_parse_mac(mac->v.s, n->config.mac)) {
		host->log(h, VDEV_LOG_ERROR, "mac \"%s\": expected xx:xx:xx:xx:xx:xx, unicast",
			  mac->v.s);
		free(n);
		return -EINVAL;
	}
	if (!mac->count)
		net_default_mac(cfg, n->config.mac);
	if (cfg->options[OPT_LEGACY].v.b)
		host->log(h, VDEV_LOG_WARN, "legacy: only the VIRTIO 1.x interface is offered");
	n->config.max_virtqueue_pairs = htole16(1);
	info.features = VDEV_VIRTIO_BIT(NET_F_MAC) | VDEV_VIRTIO_BIT(NET_F_STATUS);
	info.config = &n->config;
	info.dev = n;
	/* the backend first: the features offered depend on it */
	rc = net_backend_open(n, cfg);
	if (rc) {
		net_backend_close(n);
		free(n);
		return rc;
	}
	if (n->backend == NET_TAP && n->vnet_hdr)
		info.features |= NET_TAP_FEATS;
	if (n->backend == NET_PEER)
		info.features |= NET_PEER_FEATS & cfg->options[OPT_PEERFEATS].v.u;
	rc = vdev_virtio_init(&n->vio, host, h, cfg, &info);
	if (rc) {
		net_backend_close(n);
		free(n);
		return rc;
	}
	*dev = n;
	return 0;
}

static int net_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	return vdev_virtio_read(&((struct net *)dev)->vio, a, value);
}

static int net_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	return vdev_virtio_write(&((struct net *)dev)->vio, a, value);
}

static void net_reset(void *dev)
{
	vdev_virtio_reset(&((struct net *)dev)->vio);
}

static ssize_t net_save(void *dev, void *buf, size_t cap)
{
	struct net *n = dev;
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, NET_NAME, NET_STATE_VERSION);
	vdev_virtio_state(&st, &n->vio);
	vdev_state_bytes(&st, n->config.mac, sizeof(n->config.mac));
	return vdev_state_save_end(&st);
}

static int net_restore(void *dev, const void *buf, size_t length)
{
	struct net *n = dev;
	struct vdev_state st;
	uint8_t mac[6] = {0};

	vdev_state_restore_begin(&st, buf, length, NET_NAME, NET_STATE_VERSION);
	vdev_virtio_state(&st, &n->vio);
	vdev_state_bytes(&st, mac, sizeof(mac));
	if (!vdev_state_error(&st) && (mac[0] & 1))
		vdev_state_invalid(&st); /* a multicast address names no NIC */
	if (vdev_state_restore_end(&st))
		return -EINVAL;
	/* the guest keeps the address it had (a default one is per process) */
	memcpy(n->config.mac, mac, sizeof(mac));
	vdev_virtio_restored(&n->vio);
	net_tap_offload(n);
	net_sync_watch(n);
	return 0;
}

static int net_status(void *dev, char *buf, size_t cap)
{
	struct net *n = dev;
	const uint8_t *m = n->config.mac;
	char where[160];

	if (n->backend == NET_TAP)
		snprintf(where, sizeof(where), "tap %s", n->ifname);
	else if (n->backend == NET_PEER)
		snprintf(where, sizeof(where), "peer %s (%s)", n->path,
			 n->fd >= 0	     ? "linked"
			 : n->listen_fd >= 0 ? "listening"
					     : "connecting");
	else
		snprintf(where, sizeof(where), "no backend");
	return snprintf(
	    buf, cap,
	    "%02x:%02x:%02x:%02x:%02x:%02x on %s, link %s; rx %llu tx %llu; "
	    "dropped: rx oversize %llu, rx %llu, tx %llu",
	    m[0], m[1], m[2], m[3], m[4], m[5], where, n->config.status ? "up" : "down",
	    (unsigned long long)n->stats.rx_frames, (unsigned long long)n->stats.tx_frames,
	    (unsigned long long)n->stats.rx_oversize, (unsigned long long)n->stats.rx_dropped,
	    (unsigned long long)n->stats.tx_dropped);
}

static const struct vdev_ops net_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = net_create,
    .destroy = net_destroy,
    .read = net_read,
    .write = net_write,
    .reset = net_reset,
    .save = net_save,
    .restore = net_restore,
    .status = net_status,
};

static const struct vdev_descriptor net_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = NET_NAME,
    .version = "1.0.0",
    .description = "virtio network device on a tap or a peer link to another vdm VM",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(NET_NAME) - 1) + VDEV_VIRTIO_STATE_SIZE +
		  VDEV_STATE_SIZE_BYTES(6),
    .options = net_options,
    .option_count = OPT_COUNT,
    .ops = &net_ops,
};

VDEV_PLUGIN_ENTRY(net_descriptor)
