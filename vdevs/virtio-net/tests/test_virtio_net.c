/*
 * vdevs/virtio-net/tests/test_virtio_net.c: vdev-virtio-net as vdm loads
 * it, through the SDK test host, driven as a virtio-net driver does
 * (tests/unit/virtio_driver.h). The test stands at the other end of the
 * `peer` socket (a SOCK_SEQPACKET unix socket, one message per frame:
 * virtio_net_hdr_v1 + frame): frames both ways, the header as each guest
 * negotiated it (a partial checksum completed for a guest without
 * GUEST_CSUM, passed on to one with it), frames larger than the guest's
 * buffer dropped and counted, malformed transmit chains and headers,
 * either side listening first, link status and its interrupt, two
 * devices linked to each other, backpressure; and a tap test through a
 * packet socket on the tap interface when /dev/net/tun is usable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <vdev/testhost.h>
#include <vdev/virtio.h>

#include "virtio_driver.h"

#define BASE_A	       0xd0000000ull
#define BASE_B	       0xd0001000ull
#define RAM	       0x1000000ull
#define QSIZE	       16
#define V1	       VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1)
#define F_CSUM	       VDEV_VIRTIO_BIT(0)
#define F_GCSUM	       VDEV_VIRTIO_BIT(1)
#define F_MAC	       VDEV_VIRTIO_BIT(5)
#define F_TSO4	       VDEV_VIRTIO_BIT(11)
#define F_STATUS       VDEV_VIRTIO_BIT(16)
#define HDR	       12u
#define ETHERTYPE_TEST 0x88b5 /* IEEE local experimental */

/* One driver: its rings and buffers at `mem` (each device has its own). */
struct nic {
	struct vdrv d;
	struct vdev_testdev *dev;
	uint64_t mem;
};

#define RX_DESC(n)  ((n)->mem + 0x0000)
#define RX_AVAIL(n) ((n)->mem + 0x1000)
#define RX_USED(n)  ((n)->mem + 0x2000)
#define TX_DESC(n)  ((n)->mem + 0x3000)
#define TX_AVAIL(n) ((n)->mem + 0x4000)
#define TX_USED(n)  ((n)->mem + 0x5000)
#define RX_BUF(n)   ((n)->mem + 0x10000) /* 16 buffers of 0x1000 */
#define TX_BUF(n)   ((n)->mem + 0x30000) /* 16 buffers of 0x1000 */

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct nic a, b;
	char dir[32], path[64];
	int listener, peer;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->listener = f->peer = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vnet-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/link", f->dir);
	f->th = vdrv_host_new("virtio-net", VDEV_PLUGIN_PATH, RAM, &f->desc);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	if (f->b.dev)
		vdev_testhost_destroy(f->b.dev);
	if (f->a.dev)
		vdrv_destroy_host(f->th, f->a.dev);
	else
		vdev_testhost_free(f->th);
	if (f->peer >= 0)
		close(f->peer);
	if (f->listener >= 0)
		close(f->listener);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void nic_create(struct fixture *f, struct nic *n, uint64_t base, uint64_t mem,
		       const char *options)
{
	char text[512];

	snprintf(text, sizeof(text), "loc %#llx intr ioapic:%d %s", (unsigned long long)base,
		 base == BASE_A ? 5 : 6, options);
	n->dev = vdev_testhost_create(f->th, f->desc, text);
	if (!n->dev)
		fail_msg("create: %s", vdev_testhost_error(f->th));
	n->d = (struct vdrv){.th = f->th, .base = base, .qsize = QSIZE};
	n->d.ram = vdev_testhost_ram(f->th, 0, RAM);
	n->mem = mem;
}

/* 5.1.5: negotiate, two queues, DRIVER_OK; `rx` receive buffers of `len`. */
static void nic_up(struct nic *n, uint64_t features, unsigned rx, uint32_t len)
{
	memset(n->d.ram + n->mem, 0, 0x6000);
	assert_true(vdrv_negotiate(&n->d, V1 | features) & VDEV_VIRTIO_S_FEATURES_OK);
	vdrv_queue_setup(&n->d, 0, RX_DESC(n), RX_AVAIL(n), RX_USED(n));
	vdrv_queue_setup(&n->d, 1, TX_DESC(n), TX_AVAIL(n), TX_USED(n));
	for (unsigned i = 0; i < rx; i++) {
		vdrv_put_desc(&n->d, RX_DESC(n), i, RX_BUF(n) + 0x1000 * i, len, 2, 0);
		vdrv_avail_add(&n->d, 0, RX_AVAIL(n), (uint16_t)i);
	}
	vdrv_w32(&n->d, VDEV_VIRTIO_MMIO_STATUS, 0xf);
	vdrv_w32(&n->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* Send hdr + frame from the guest: header and frame in two descriptors. */
static void nic_send(struct nic *n, unsigned i, const uint8_t hdr[HDR], const void *frame,
		     uint32_t len)
{
	uint64_t buf = TX_BUF(n) + 0x1000 * (i % QSIZE);

	memcpy(n->d.ram + buf, hdr, HDR);
	memcpy(n->d.ram + buf + 0x100, frame, len);
	vdrv_put_desc(&n->d, TX_DESC(n), 2 * (i % 8), buf, HDR, 1, (uint16_t)(2 * (i % 8) + 1));
	vdrv_put_desc(&n->d, TX_DESC(n), 2 * (i % 8) + 1, buf + 0x100, len, 0, 0);
	vdrv_avail_add(&n->d, 1, TX_AVAIL(n), (uint16_t)(2 * (i % 8)));
	vdrv_w32(&n->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

static uint16_t rx_used(struct nic *n)
{
	return vdrv_get16(&n->d, RX_USED(n) + 2);
}

/* The used length of receive element i, and its buffer. */
static uint32_t rx_len(struct nic *n, unsigned i)
{
	return vdrv_get32(&n->d, RX_USED(n) + 4 + 8 * i + 4);
}

static const uint8_t *rx_buf(struct nic *n, unsigned i)
{
	return n->d.ram + RX_BUF(n) + 0x1000 * vdrv_get32(&n->d, RX_USED(n) + 4 + 8 * i);
}

/* Poll until the receive ring has `count` used entries (or give up). */
static void wait_rx(struct fixture *f, struct nic *n, uint16_t count)
{
	for (int i = 0; i < 100 && rx_used(n) < count; i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(rx_used(n), count);
}

/* An Ethernet frame of `len` bytes: test ethertype, numbered payload. */
static void make_frame(uint8_t *frame, size_t len, unsigned seq)
{
	memset(frame, 0xff, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x09", 6);
	frame[12] = ETHERTYPE_TEST >> 8;
	frame[13] = ETHERTYPE_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		frame[i] = (uint8_t)(seq * 31 + i);
}

static void listen_first(struct fixture *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->listener = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(f->listener >= 0);
	assert_int_equal(bind(f->listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listener, 1), 0);
}

/* The test as the peer: it listens, the device connects. */
static void peer_linked(struct fixture *f, const char *extra)
{
	char opt[256];

	listen_first(f);
	snprintf(opt, sizeof(opt), "peer %s %s", f->path, extra);
	nic_create(f, &f->a, BASE_A, 0x100000, opt);
	f->peer = accept(f->listener, NULL, NULL);
	assert_true(f->peer >= 0);
}

static const char *nic_status(struct fixture *f, struct nic *n)
{
	static char buf[512];

	assert_true(f->desc->ops->status(vdev_testdev_state(n->dev), buf, sizeof(buf)) > 0);
	return buf;
}

static void test_identity(void **state)
{
	struct fixture *f = *state;
	uint64_t id = 0;
	struct vdev_testdev *pci;

	peer_linked(f, "mac 52:54:00:12:34:56");
	assert_int_equal(vdrv_r32(&f->a.d, VDEV_VIRTIO_MMIO_DEVICE_ID), 1);
	vdrv_w32(&f->a.d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	assert_int_equal(vdrv_r32(&f->a.d, VDEV_VIRTIO_MMIO_DEV_FEATURES) & 0xffffff,
			 F_CSUM | F_GCSUM | F_MAC | F_STATUS);
	static const uint8_t mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56};

	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x100 + i, 1), mac[i]);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2), 1); /* link up */
	/* no backend: link down, no offload; a default mac, locally administered */
	pci = vdev_testhost_create(f->th, f->desc, "loc pci:0:7 peerfeats 0 legacy");
	assert_non_null(pci);
	assert_int_equal(
	    vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 7, 0, 0), 4, &id), 0);
	assert_int_equal(id, 0x10411af4);
	vdrv_w32(&f->a.d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	assert_non_null(strstr(vdev_testhost_log(f->th), "only the VIRTIO 1.x interface"));
	vdev_testhost_destroy(pci);
	/* bad options */
	assert_null(vdev_testhost_create(f->th, f->desc, "mac 01:00:00:00:00:01"));
	assert_null(vdev_testhost_create(f->th, f->desc, "mac 02:00:00:00:00"));
	assert_null(vdev_testhost_create(f->th, f->desc, "tapdev x peer /tmp/y"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "one backend"));
}

static void test_default_mac(void **state)
{
	struct fixture *f = *state;
	uint8_t m0[6], m1[6];

	nic_create(f, &f->a, BASE_A, 0x100000, "");
	nic_create(f, &f->b, BASE_B, 0x200000, "");
	for (unsigned i = 0; i < 6; i++) {
		m0[i] = (uint8_t)vdev_testhost_mmio_read(f->th, BASE_A + 0x100 + i, 1);
		m1[i] = (uint8_t)vdev_testhost_mmio_read(f->th, BASE_B + 0x100 + i, 1);
	}
	assert_int_equal(m0[0], 0x02);
	assert_int_equal(m1[0], 0x02);
	assert_memory_not_equal(m0, m1, 6);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2), 0); /* no cable */
	assert_non_null(strstr(nic_status(f, &f->a), "no backend, link down"));
}

static void test_frames_both_ways(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR] = {0}, frame[200], msg[HDR + 300];

	peer_linked(f, "");
	nic_up(&f->a, F_MAC | F_STATUS, 4, 1526);
	/* guest to peer: one message, header cleaned (num_buffers 0) */
	make_frame(frame, 60, 1);
	hdr[10] = 7; /* num_buffers is the device's: not passed on */
	nic_send(&f->a, 0, hdr, frame, 60);
	assert_int_equal(vdrv_get16(&f->a.d, TX_USED(&f->a) + 2), 1);
	assert_int_equal(recv(f->peer, msg, sizeof(msg), MSG_DONTWAIT), HDR + 60);
	assert_memory_equal(msg, (uint8_t[HDR]){0}, HDR);
	assert_memory_equal(msg + HDR, frame, 60);
	/* peer to guest: into one receive buffer, num_buffers 1 */
	memset(msg, 0, HDR);
	make_frame(msg + HDR, 200, 2);
	assert_int_equal(send(f->peer, msg, HDR + 200, 0), HDR + 200);
	wait_rx(f, &f->a, 1);
	assert_int_equal(rx_len(&f->a, 0), HDR + 200);
	assert_int_equal(rx_buf(&f->a, 0)[10], 1);
	assert_memory_equal(rx_buf(&f->a, 0) + HDR, msg + HDR, 200);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
	/* several frames in a row keep their order */
	for (unsigned i = 0; i < 3; i++) {
		make_frame(msg + HDR, 100 + i, 10 + i);
		assert_int_equal(send(f->peer, msg, HDR + 100 + i, 0), (ssize_t)(HDR + 100 + i));
	}
	wait_rx(f, &f->a, 4);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(rx_len(&f->a, 1 + i), HDR + 100 + i);
	assert_non_null(strstr(nic_status(f, &f->a), "rx 4 tx 1"));
}

/* The checksum a receiver computes over frame[start..len) (RFC 1071). */
static uint16_t inet_csum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_partial_checksum(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[HDR + 128] = {0};
	const uint16_t start = 34, offset = 6;

	peer_linked(f, "");
	nic_up(&f->a, F_MAC, 4, 1526);
	/* NEEDS_CSUM: a UDP-like checksum at 34 + 6, the seed already there */
	make_frame(msg + HDR, 128, 3);
	msg[0] = 1;
	memcpy(msg + 6, &start, 2);
	memcpy(msg + 8, &offset, 2);
	msg[HDR + start + offset] = 0x12;
	msg[HDR + start + offset + 1] = 0x34;
	assert_int_equal(send(f->peer, msg, sizeof(msg), 0), sizeof(msg));
	wait_rx(f, &f->a, 1);
	/* the guest took no GUEST_CSUM: the device completed it */
	assert_int_equal(rx_buf(&f->a, 0)[0], 0);
	/* what the receiver checks: the data and the seed (the pseudo-header) */
	uint32_t sum = inet_csum(rx_buf(&f->a, 0) + HDR + start, 128 - start) + 0x1234u;
	assert_int_equal((sum & 0xffff) + (sum >> 16), 0xffff);
	assert_memory_equal(rx_buf(&f->a, 0) + HDR, msg + HDR, start + offset);
	/* a guest with GUEST_CSUM gets the header and the frame as sent */
	nic_up(&f->a, F_MAC | F_GCSUM, 4, 1526);
	assert_int_equal(send(f->peer, msg, sizeof(msg), 0), sizeof(msg));
	wait_rx(f, &f->a, 1);
	assert_int_equal(rx_buf(&f->a, 0)[0], 1);
	assert_memory_equal(rx_buf(&f->a, 0) + HDR, msg + HDR, 128);
	/* a checksum position outside the frame is dropped */
	msg[8] = 200;
	assert_int_equal(send(f->peer, msg, sizeof(msg), 0), sizeof(msg));
	vdev_testhost_poll(f->th, 20);
	assert_int_equal(rx_used(&f->a), 1);
	assert_non_null(strstr(nic_status(f, &f->a), "rx 1,"));
}

static void test_oversize_dropped(void **state)
{
	struct fixture *f = *state;
	uint8_t msg[HDR + 1000] = {0};

	peer_linked(f, "");
	nic_up(&f->a, F_MAC, 4, 200);
	memset(f->a.d.ram + RX_BUF(&f->a), 0xee, 0x4000);
	make_frame(msg + HDR, 1000, 4);
	assert_int_equal(send(f->peer, msg, HDR + 1000, 0), HDR + 1000);
	make_frame(msg + HDR, 150, 5);
	assert_int_equal(send(f->peer, msg, HDR + 150, 0), HDR + 150);
	wait_rx(f, &f->a, 2);
	/* the big one: its buffer back empty, not one byte past it written */
	assert_int_equal(rx_len(&f->a, 0), 0);
	assert_int_equal(f->a.d.ram[RX_BUF(&f->a)], 0xee);
	assert_int_equal(f->a.d.ram[RX_BUF(&f->a) + 200], 0xee);
	assert_int_equal(rx_len(&f->a, 1), HDR + 150);
	assert_int_equal(f->a.d.ram[RX_BUF(&f->a) + 0x1000 + HDR + 150], 0xee);
	assert_non_null(strstr(nic_status(f, &f->a), "rx oversize 1"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "larger than the guest's receive buffer"));
	/* a message larger than any frame is dropped too */
	uint8_t *huge = calloc(1, HDR + 70000);
	assert_non_null(huge);
	assert_int_equal(send(f->peer, huge, HDR + 70000, 0), HDR + 70000);
	free(huge);
	make_frame(msg + HDR, 60, 6);
	assert_int_equal(send(f->peer, msg, HDR + 60, 0), HDR + 60);
	wait_rx(f, &f->a, 3);
	assert_int_equal(rx_len(&f->a, 2), HDR + 60);
	assert_non_null(strstr(nic_status(f, &f->a), "rx oversize 2"));
}

static void test_malformed_transmit(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR] = {0}, frame[64], msg[256];
	const uint16_t start = 60, offset = 6;

	peer_linked(f, "");
	nic_up(&f->a, F_MAC | F_CSUM, 0, 0);
	make_frame(frame, 64, 7);
	/* shorter than an Ethernet header */
	nic_send(&f->a, 0, hdr, frame, 10);
	/* GSO without HOST_TSO4 */
	hdr[1] = 1;
	memcpy(hdr + 4, "\x00\x05", 2);
	nic_send(&f->a, 1, hdr, frame, 64);
	/* a checksum that would land past the frame */
	hdr[1] = 0;
	hdr[0] = 1;
	memcpy(hdr + 6, &start, 2);
	memcpy(hdr + 8, &offset, 2);
	nic_send(&f->a, 2, hdr, frame, 64);
	assert_int_equal(vdrv_get16(&f->a.d, TX_USED(&f->a) + 2), 3);
	assert_int_equal(recv(f->peer, msg, sizeof(msg), MSG_DONTWAIT), -1);
	assert_non_null(strstr(nic_status(f, &f->a), "tx 3"));
	/* a good partial checksum goes out with its header (CSUM negotiated) */
	hdr[8] = 2;
	nic_send(&f->a, 3, hdr, frame, 64);
	assert_int_equal(recv(f->peer, msg, sizeof(msg), MSG_DONTWAIT), HDR + 64);
	assert_int_equal(msg[0], 1);
	/* a malformed chain: a descriptor loop puts the device in NEEDS_RESET */
	vdrv_put_desc(&f->a.d, TX_DESC(&f->a), 0, TX_BUF(&f->a), 12, 1, 0);
	vdrv_avail_add(&f->a.d, 1, TX_AVAIL(&f->a), 0);
	vdrv_w32(&f->a.d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(vdrv_r32(&f->a.d, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
	/* a buffer past the end of RAM too, after a reset */
	nic_up(&f->a, F_MAC, 0, 0);
	vdrv_put_desc(&f->a.d, TX_DESC(&f->a), 0, RAM - 8, 64, 0, 0);
	vdrv_avail_add(&f->a.d, 1, TX_AVAIL(&f->a), 0);
	vdrv_w32(&f->a.d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(vdrv_r32(&f->a.d, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
	assert_int_equal(recv(f->peer, msg, sizeof(msg), MSG_DONTWAIT), -1);
}

static void test_device_listens_first(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char opt[256];
	uint8_t msg[HDR + 60] = {0};

	snprintf(opt, sizeof(opt), "peer %s", f->path);
	nic_create(f, &f->a, BASE_A, 0x100000, opt);
	assert_non_null(strstr(nic_status(f, &f->a), "listening"));
	nic_up(&f->a, F_MAC | F_STATUS, 4, 1526);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2), 0);
	vdrv_w32(&f->a.d, VDEV_VIRTIO_MMIO_INT_ACK, 3);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->peer = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_int_equal(connect(f->peer, (struct sockaddr *)&sa, sizeof(sa)), 0);
	vdev_testhost_poll(f->th, 50);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2), 1);
	assert_int_equal(vdrv_r32(&f->a.d, VDEV_VIRTIO_MMIO_INT_STATUS) & 2, 2);
	make_frame(msg + HDR, 60, 8);
	assert_int_equal(send(f->peer, msg, sizeof(msg), 0), sizeof(msg));
	wait_rx(f, &f->a, 1);
	/* the peer leaves: link down, and a new one is accepted */
	vdrv_w32(&f->a.d, VDEV_VIRTIO_MMIO_INT_ACK, 3);
	close(f->peer);
	for (int i = 0; i < 20 && vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2); i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2), 0);
	assert_int_equal(vdrv_r32(&f->a.d, VDEV_VIRTIO_MMIO_INT_STATUS) & 2, 2);
	f->peer = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_int_equal(connect(f->peer, (struct sockaddr *)&sa, sizeof(sa)), 0);
	vdev_testhost_poll(f->th, 50);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2), 1);
	/* destroying the listener removes the socket file */
	vdrv_destroy_host(f->th, f->a.dev);
	f->a.dev = NULL;
	f->th = vdrv_host_new("virtio-net", VDEV_PLUGIN_PATH, RAM, &f->desc);
	assert_int_equal(access(f->path, F_OK), -1);
}

/* Two devices on one path: the second connects to the first; frames flow. */
static void test_two_devices(void **state)
{
	struct fixture *f = *state;
	char opt[256];
	uint8_t hdr[HDR] = {0}, frame[300];

	snprintf(opt, sizeof(opt), "peer %s", f->path);
	nic_create(f, &f->a, BASE_A, 0x100000, opt);
	nic_create(f, &f->b, BASE_B, 0x200000, opt);
	nic_up(&f->a, F_MAC | F_STATUS | F_CSUM | F_GCSUM, 8, 1526);
	nic_up(&f->b, F_MAC | F_STATUS, 8, 1526);
	vdev_testhost_poll(f->th, 50); /* a accepts b */
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2), 1);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_B + 0x106, 2), 1);
	for (unsigned i = 0; i < 5; i++) {
		make_frame(frame, 100 + 40 * i, 20 + i);
		nic_send(&f->a, i, hdr, frame, 100 + 40 * i);
	}
	wait_rx(f, &f->b, 5);
	for (unsigned i = 0; i < 5; i++) {
		make_frame(frame, 100 + 40 * i, 20 + i);
		assert_int_equal(rx_len(&f->b, i), HDR + 100 + 40 * i);
		assert_memory_equal(rx_buf(&f->b, i) + HDR, frame, 100 + 40 * i);
	}
	/* and back, with a partial checksum b cannot send (no CSUM): dropped */
	hdr[0] = 1;
	hdr[6] = 34;
	hdr[8] = 6;
	make_frame(frame, 100, 30);
	nic_send(&f->b, 0, hdr, frame, 100);
	hdr[0] = hdr[6] = hdr[8] = 0;
	nic_send(&f->b, 1, hdr, frame, 100);
	wait_rx(f, &f->a, 1);
	assert_memory_equal(rx_buf(&f->a, 0) + HDR, frame, 100);
}

static void test_backpressure(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[HDR] = {0}, frame[1500], msg[HDR + 1500];
	int small = 2048;
	unsigned got = 0, sent = 0;
	uint16_t used;

	peer_linked(f, "");
	setsockopt(f->peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	nic_up(&f->a, F_MAC, 0, 0);
	/* more than the socket holds, nobody reading */
	for (; sent < 300; sent++) {
		make_frame(frame, 1500, sent);
		nic_send(&f->a, sent, hdr, frame, 1500);
		used = vdrv_get16(&f->a.d, TX_USED(&f->a) + 2);
		if ((uint16_t)(sent + 1 - used) >= QSIZE / 2)
			break; /* the device stopped taking: the ring fills */
	}
	assert_true(sent < 300);
	/* the reader drains; every frame arrives, in order */
	for (int spins = 0; got <= sent && spins < 2000; spins++) {
		ssize_t n = recv(f->peer, msg, sizeof(msg), MSG_DONTWAIT);

		if (n > 0) {
			make_frame(frame, 1500, got);
			assert_int_equal(n, HDR + 1500);
			assert_memory_equal(msg + HDR, frame, 1500);
			got++;
		}
		vdev_testhost_poll(f->th, 1);
	}
	assert_int_equal(got, sent + 1);
	assert_int_equal(vdrv_get16(&f->a.d, TX_USED(&f->a) + 2), (uint16_t)(sent + 1));
}

/* ------------------------------------------------------------ tap */

static int tap_usable(void)
{
	int fd = open("/dev/net/tun", O_RDWR);

	if (fd < 0)
		return 0;
	close(fd);
	return geteuid() == 0;
}

static void test_tap(void **state)
{
	struct fixture *f = *state;
	char name[IFNAMSIZ], opt[64], path[128];
	struct ifreq ifr = {0};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET};
	uint8_t hdr[HDR] = {0}, frame[200], got[2048];
	int ctl, pkt;
	FILE *fp;

	if (!tap_usable()) {
		printf("SKIP: /dev/net/tun not usable (needs root)\n");
		skip();
	}
	snprintf(name, sizeof(name), "vdmt%d", (int)getpid() % 1000000);
	snprintf(opt, sizeof(opt), "tapdev %s", name);
	nic_create(f, &f->a, BASE_A, 0x100000, opt);
	/* the vnet header: offloads offered */
	vdrv_w32(&f->a.d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	assert_int_equal(vdrv_r32(&f->a.d, VDEV_VIRTIO_MMIO_DEV_FEATURES) & (F_CSUM | F_TSO4),
			 F_CSUM | F_TSO4);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fp = fopen(path, "w");
	if (fp) {
		fputs("1", fp); /* no neighbour discovery noise on the interface */
		fclose(fp);
	}
	ctl = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(ctl >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(ctl, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(ctl, SIOCSIFFLAGS, &ifr), 0);
	close(ctl);
	pkt = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETHERTYPE_TEST));
	assert_true(pkt >= 0);
	sll.sll_protocol = htons(ETHERTYPE_TEST);
	sll.sll_ifindex = (int)if_nametoindex(name);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
	nic_up(&f->a, F_MAC | F_STATUS, 8, 1526);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE_A + 0x106, 2), 1);
	/* guest to host */
	make_frame(frame, 200, 40);
	nic_send(&f->a, 0, hdr, frame, 200);
	ssize_t n = -1;
	for (int i = 0; i < 100 && n < 0; i++) {
		n = recv(pkt, got, sizeof(got), 0);
		if (n < 0)
			usleep(10000);
	}
	assert_int_equal(n, 200);
	assert_memory_equal(got, frame, 200);
	/* host to guest */
	make_frame(frame, 150, 41);
	assert_int_equal(send(pkt, frame, 150, 0), 150);
	uint16_t want = 0;
	for (int i = 0; i < 100 && !want; i++) {
		vdev_testhost_poll(f->th, 10);
		for (uint16_t u = 0; u < rx_used(&f->a); u++)
			if (rx_len(&f->a, u) == HDR + 150 &&
			    !memcmp(rx_buf(&f->a, u) + HDR, frame, 150))
				want = (uint16_t)(u + 1);
	}
	assert_true(want > 0);
	/* the vnet header reaches the kernel: a frame the guest leaves the
	 * checksum of (CSUM negotiated) is CHECKSUM_PARTIAL there, which a
	 * packet socket reports as TP_STATUS_CSUMNOTREADY */
	int on = 1;
	assert_int_equal(setsockopt(pkt, SOL_PACKET, PACKET_AUXDATA, &on, sizeof(on)), 0);
	nic_up(&f->a, F_MAC | F_STATUS | F_CSUM, 8, 1526);
	make_frame(frame, 120, 42);
	hdr[0] = 1;  /* NEEDS_CSUM */
	hdr[6] = 34; /* csum_start */
	hdr[8] = 6;  /* csum_offset */
	nic_send(&f->a, 1, hdr, frame, 120);
	uint32_t status = 0;
	n = -1;
	for (int i = 0; i < 100 && n < 0; i++) {
		char control[256];
		struct iovec iov = {.iov_base = got, .iov_len = sizeof(got)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = control,
				    .msg_controllen = sizeof(control)};

		n = recvmsg(pkt, &mh, 0);
		if (n < 0) {
			usleep(10000);
			continue;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA)
				status = ((struct tpacket_auxdata *)CMSG_DATA(c))->tp_status;
	}
	assert_int_equal(n, 120);
	assert_true(status & TP_STATUS_CSUMNOTREADY);
	close(pkt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_default_mac, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_frames_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_checksum, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_transmit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_listens_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_devices, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
