/*
 * vdevs/virtio-console/tests/test_virtio_console.c: vdev-virtio-console
 * as vdm loads it, through the SDK test host, driven as Linux's
 * virtio_console driver drives port 0 (tests/unit/virtio_driver.h):
 * identity on both transports, transmit to a file (chains of several
 * segments, in order), receive from a unix socket (buffers smaller than
 * the input, input before buffers), backpressure (a socket nobody reads:
 * the device stops taking chains and resumes when the reader drains it,
 * every byte arriving in order), hostdev errors, reset, and multiport
 * with one named port (the control queues' handshake as Linux does it,
 * input held until the guest opens the port).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <vdev/testhost.h>
#include <vdev/virtio.h>

#include "virtio_driver.h"

#define BASE	    0xd0000000ull
#define RX_DESC	    0x1000ull
#define RX_AVAIL    0x2000ull
#define RX_USED	    0x3000ull
#define TX_DESC	    0x4000ull
#define TX_AVAIL    0x5000ull
#define TX_USED	    0x6000ull
#define CRX_DESC    0x7000ull
#define CRX_AVAIL   0x8000ull
#define CRX_USED    0x9000ull
#define CTX_DESC    0xa000ull
#define CTX_AVAIL   0xb000ull
#define CTX_USED    0xc000ull
#define CBUF	    0xd000ull
#define F_MULTIPORT VDEV_VIRTIO_BIT(1)
#define BUF	    0x10000ull
#define RAM	    0x800000ull
#define QSIZE	    16
#define V1	    VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1)

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct vdev_testdev *dev;
	struct vdrv d;
	char dir[64];
	char path[128];
	int listener, peer; /* the test's end of a unix:PATH hostdev */
};

static struct fixture *fixture_alloc(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->listener = f->peer = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vcon-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->th = vdrv_host_new("virtio-console", VDEV_PLUGIN_PATH, RAM, &f->desc);
	f->d = (struct vdrv){.th = f->th, .base = BASE, .qsize = QSIZE};
	f->d.ram = vdev_testhost_ram(f->th, 0, RAM);
	return f;
}

static void fixture_create(struct fixture *f, const char *hostdev)
{
	char options[512];

	snprintf(options, sizeof(options), "loc 0xd0000000 intr ioapic:5 %s", hostdev);
	f->dev = vdev_testhost_create(f->th, f->desc, options);
	if (!f->dev)
		fail_msg("create: %s", vdev_testhost_error(f->th));
}

/* A listening unix socket at dir/sock; the device (with `extra`) connects, we accept. */
static void fixture_unix_with(struct fixture *f, int rcvbuf, const char *extra)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char opt[256];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", f->dir);
	f->listener = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->listener >= 0);
	assert_int_equal(bind(f->listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listener, 1), 0);
	snprintf(opt, sizeof(opt), "hostdev unix:%s %s", sa.sun_path, extra);
	fixture_create(f, opt);
	f->peer = accept(f->listener, NULL, NULL);
	assert_true(f->peer >= 0);
	if (rcvbuf)
		setsockopt(f->peer, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
}

static void fixture_unix(struct fixture *f, int rcvbuf)
{
	fixture_unix_with(f, rcvbuf, "");
}

static void listen_first_console(struct fixture *f, const char *extra)
{
	fixture_unix_with(f, 0, extra);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	if (f->dev)
		vdrv_destroy_host(f->th, f->dev);
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

static int setup(void **state)
{
	*state = fixture_alloc();
	return 0;
}

/* The driver's side of 5.3: two queues, DRIVER_OK. */
static void driver_up(struct fixture *f)
{
	memset(f->d.ram, 0, 0x8000);
	assert_true(vdrv_negotiate(&f->d, V1) & VDEV_VIRTIO_S_FEATURES_OK);
	vdrv_queue_setup(&f->d, 0, RX_DESC, RX_AVAIL, RX_USED);
	vdrv_queue_setup(&f->d, 1, TX_DESC, TX_AVAIL, TX_USED);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_STATUS, 0xf);
}

static void kick(struct fixture *f, unsigned q)
{
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Transmit `len` bytes from gpa as one chain at descriptor i. */
static void tx_post(struct fixture *f, unsigned i, uint64_t gpa, uint32_t len)
{
	vdrv_put_desc(&f->d, TX_DESC, i, gpa, len, 0, 0);
	vdrv_avail_add(&f->d, 1, TX_AVAIL, (uint16_t)i);
}

static void rx_post(struct fixture *f, unsigned i, uint64_t gpa, uint32_t len)
{
	vdrv_put_desc(&f->d, RX_DESC, i, gpa, len, 2, 0);
	vdrv_avail_add(&f->d, 0, RX_AVAIL, (uint16_t)i);
}

static void test_identity(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *pci;
	uint64_t id = 0;

	fixture_create(f, "");
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_MAGIC), VDEV_VIRTIO_MMIO_MAGIC_VALUE);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEVICE_ID), 3);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEATURES) & 0xffffff, 0);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX), 128);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_CONFIG + 4), 1); /* max_nr_ports */
	pci = vdev_testhost_create(f->th, f->desc, "loc pci:0:6");
	assert_non_null(pci);
	assert_int_equal(
	    vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 6, 0, 0), 4, &id), 0);
	assert_int_equal(id, 0x10431af4);
	vdev_testhost_destroy(pci);
}

static void test_transmit_to_file(void **state)
{
	struct fixture *f = *state;
	char opt[256], path[128], got[64] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/out", f->dir);
	snprintf(opt, sizeof(opt), "hostdev >%s", path);
	fixture_create(f, opt);
	driver_up(f);
	memcpy(f->d.ram + BUF, "hello, ", 7);
	memcpy(f->d.ram + BUF + 0x100, "world\n", 6);
	memcpy(f->d.ram + BUF + 0x200, "again\n", 6);
	/* one chain of two segments, then a second chain */
	vdrv_put_desc(&f->d, TX_DESC, 0, BUF, 7, 1, 1);
	vdrv_put_desc(&f->d, TX_DESC, 1, BUF + 0x100, 6, 0, 0);
	vdrv_avail_add(&f->d, 1, TX_AVAIL, 0);
	tx_post(f, 2, BUF + 0x200, 6);
	kick(f, 1);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), 2);
	assert_int_equal(vdrv_get32(&f->d, TX_USED + 4), 0);
	assert_int_equal(vdrv_get32(&f->d, TX_USED + 8), 0); /* nothing written to the guest */
	assert_int_equal(vdrv_get32(&f->d, TX_USED + 12), 2);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fread(got, 1, sizeof(got) - 1, fp), 19);
	fclose(fp);
	assert_string_equal(got, "hello, world\nagain\n");
}

static void test_receive_from_socket(void **state)
{
	struct fixture *f = *state;

	fixture_unix(f, 0);
	driver_up(f);
	/* input before any buffer: it waits in the kernel */
	assert_int_equal(write(f->peer, "abcde", 5), 5);
	vdev_testhost_poll(f->th, 50);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 0);
	memset(f->d.ram + BUF, '.', 0x100);
	rx_post(f, 0, BUF, 2);
	rx_post(f, 1, BUF + 0x10, 2);
	kick(f, 0);
	vdev_testhost_poll(f->th, 50);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 2);
	assert_int_equal(vdrv_get32(&f->d, RX_USED + 8), 2);
	assert_int_equal(vdrv_get32(&f->d, RX_USED + 16), 2);
	assert_memory_equal(f->d.ram + BUF, "ab..", 4);
	assert_memory_equal(f->d.ram + BUF + 0x10, "cd..", 4);
	/* the rest goes into the next buffer the driver gives */
	rx_post(f, 2, BUF + 0x20, 64);
	kick(f, 0);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 3);
	assert_int_equal(vdrv_get32(&f->d, RX_USED + 24), 1);
	assert_memory_equal(f->d.ram + BUF + 0x20, "e.", 2);
	/* input arriving while a buffer waits is delivered from the event loop */
	rx_post(f, 3, BUF + 0x80, 64);
	kick(f, 0);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 3);
	assert_int_equal(write(f->peer, "xyz", 3), 3);
	for (int i = 0; i < 20 && vdrv_get16(&f->d, RX_USED + 2) < 4; i++)
		vdev_testhost_poll(f->th, 50);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 4);
	assert_int_equal(vdrv_get32(&f->d, RX_USED + 32), 3);
	assert_memory_equal(f->d.ram + BUF + 0x80, "xyz.", 4);
	/* and the guest's transmit reaches the socket */
	memcpy(f->d.ram + BUF + 0x1000, "ok\n", 3);
	tx_post(f, 0, BUF + 0x1000, 3);
	kick(f, 1);
	char got[8] = "";
	assert_int_equal(read(f->peer, got, sizeof(got)), 3);
	assert_memory_equal(got, "ok\n", 3);
}

/* The byte at position i of the test stream. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void test_backpressure(void **state)
{
	struct fixture *f = *state;
	const size_t chunk = 0x10000, chains = 12, total = chunk * chains;
	uint8_t *got = malloc(total);
	size_t have = 0;
	uint16_t used;

	assert_non_null(got);
	fixture_unix(f, 4096);
	driver_up(f);
	for (size_t i = 0; i < total; i++)
		f->d.ram[0x100000 + i] = pattern(i);
	for (unsigned i = 0; i < chains; i++)
		tx_post(f, i, 0x100000 + i * chunk, (uint32_t)chunk);
	kick(f, 1);
	used = vdrv_get16(&f->d, TX_USED + 2);
	/* the socket holds far less than 768 KiB: the device stopped */
	assert_true(used < chains);
	vdev_testhost_poll(f->th, 20);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), used);
	/* the reader drains it; the device resumes on writability */
	for (int spins = 0; have < total && spins < 10000; spins++) {
		ssize_t n = recv(f->peer, got + have, total - have, MSG_DONTWAIT);

		if (n > 0)
			have += (size_t)n;
		vdev_testhost_poll(f->th, 5);
	}
	assert_int_equal(have, total);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), chains);
	for (size_t i = 0; i < total; i++)
		if (got[i] != pattern(i))
			fail_msg("byte %zu: %#x, expected %#x", i, got[i], pattern(i));
	free(got);
}

static void test_hostdev_errors(void **state)
{
	struct fixture *f = *state;

	assert_null(
	    vdev_testhost_create(f->th, f->desc, "loc 0xd0000000 intr ioapic:5 hostdev <stdout"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "cannot be read"));
	assert_null(vdev_testhost_create(f->th, f->desc,
					 "loc 0xd0000000 intr ioapic:5 hostdev >/nonexistent/x"));
	assert_null(vdev_testhost_create(
	    f->th, f->desc, "loc 0xd0000000 intr ioapic:5 hostdev >/dev/null hostdev >/dev/null"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "already has an output"));
}

static void test_malformed_and_reset(void **state)
{
	struct fixture *f = *state;
	char opt[256];

	snprintf(opt, sizeof(opt), "hostdev >%s/out", f->dir);
	fixture_create(f, opt);
	driver_up(f);
	vdrv_put_desc(&f->d, TX_DESC, 0, BUF, 8, 1, 0); /* a loop */
	vdrv_avail_add(&f->d, 1, TX_AVAIL, 0);
	kick(f, 1);
	assert_true(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
	/* a buffer past the end of RAM too */
	driver_up(f);
	vdrv_put_desc(&f->d, TX_DESC, 0, RAM - 4, 8, 0, 0); /* past the end of RAM */
	vdrv_avail_add(&f->d, 1, TX_AVAIL, 0);
	kick(f, 1);
	assert_true(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
	vdev_testhost_reset(f->dev);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS), 0);
	driver_up(f);
	tx_post(f, 0, BUF, 4);
	kick(f, 1);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), 1);
}

/* Multiport: the driver's control message (id, event, value) on the control transmitq. */
static void ctrl_send(struct fixture *f, unsigned i, uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t *m = f->d.ram + CBUF + 0x100 + 16 * i;

	memcpy(m, &id, 4);
	memcpy(m + 4, &event, 2);
	memcpy(m + 6, &value, 2);
	vdrv_put_desc(&f->d, CTX_DESC, i, CBUF + 0x100 + 16 * i, 8, 0, 0);
	vdrv_avail_add(&f->d, 3, CTX_AVAIL, (uint16_t)i);
	kick(f, 3);
}

/* The device's control message in used element i of the control receiveq. */
static void ctrl_expect(struct fixture *f, unsigned i, uint16_t event, uint16_t value,
			const char *data)
{
	uint32_t id = vdrv_get32(&f->d, CRX_USED + 4 + 8 * i);
	uint32_t len = vdrv_get32(&f->d, CRX_USED + 8 + 8 * i);
	const uint8_t *m = f->d.ram + CBUF + 0x800 + 0x80 * id;

	assert_int_equal(len, 8 + (data ? strlen(data) : 0));
	assert_int_equal(vdrv_get32(&f->d, CBUF + 0x800 + 0x80 * id), 0); /* port 0 */
	assert_int_equal(m[4] | m[5] << 8, event);
	assert_int_equal(m[6] | m[7] << 8, value);
	if (data)
		assert_memory_equal(m + 8, data, strlen(data));
}

static void test_multiport(void **state)
{
	struct fixture *f = *state;
	char opt[256];

	listen_first_console(f, "port org.vdm.test");
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEATURES) & 3, 2);
	memset(f->d.ram, 0, 0x10000);
	assert_true(vdrv_negotiate(&f->d, V1 | F_MULTIPORT) & VDEV_VIRTIO_S_FEATURES_OK);
	vdrv_queue_setup(&f->d, 0, RX_DESC, RX_AVAIL, RX_USED);
	vdrv_queue_setup(&f->d, 1, TX_DESC, TX_AVAIL, TX_USED);
	vdrv_queue_setup(&f->d, 2, CRX_DESC, CRX_AVAIL, CRX_USED);
	vdrv_queue_setup(&f->d, 3, CTX_DESC, CTX_AVAIL, CTX_USED);
	for (unsigned i = 0; i < 4; i++) {
		vdrv_put_desc(&f->d, CRX_DESC, i, CBUF + 0x800 + 0x80 * i, 0x80, 2, 0);
		vdrv_avail_add(&f->d, 2, CRX_AVAIL, (uint16_t)i);
	}
	rx_post(f, 0, BUF, 64);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_STATUS, 0xf);
	/* input waits: the port is not open */
	assert_int_equal(write(f->peer, "early", 5), 5);
	vdev_testhost_poll(f->th, 30);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 0);
	/* 5.3.6.2: DEVICE_READY -> DEVICE_ADD; PORT_READY -> PORT_NAME, PORT_OPEN */
	ctrl_send(f, 0, 0, 0, 1);
	assert_int_equal(vdrv_get16(&f->d, CTX_USED + 2), 1);
	assert_int_equal(vdrv_get16(&f->d, CRX_USED + 2), 1);
	ctrl_expect(f, 0, 1, 0, NULL);
	ctrl_send(f, 1, 0, 3, 1);
	assert_int_equal(vdrv_get16(&f->d, CRX_USED + 2), 3);
	ctrl_expect(f, 1, 7, 0, "org.vdm.test");
	ctrl_expect(f, 2, 6, 1, NULL);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 0);
	/* the guest opens the port: the waiting input flows */
	ctrl_send(f, 2, 0, 6, 1);
	vdev_testhost_poll(f->th, 30);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 1);
	assert_memory_equal(f->d.ram + BUF, "early", 5);
	/* closed again: input waits */
	ctrl_send(f, 3, 0, 6, 0);
	rx_post(f, 1, BUF + 0x100, 64);
	kick(f, 0);
	assert_int_equal(write(f->peer, "late", 4), 4);
	vdev_testhost_poll(f->th, 30);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 1);
	/* a driver without MULTIPORT: port 0 is the console, input flows */
	memset(f->d.ram, 0, 0x10000);
	assert_true(vdrv_negotiate(&f->d, V1) & VDEV_VIRTIO_S_FEATURES_OK);
	vdrv_queue_setup(&f->d, 0, RX_DESC, RX_AVAIL, RX_USED);
	vdrv_queue_setup(&f->d, 1, TX_DESC, TX_AVAIL, TX_USED);
	rx_post(f, 0, BUF, 64);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_STATUS, 0xf);
	for (int i = 0; i < 10 && !vdrv_get16(&f->d, RX_USED + 2); i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(vdrv_get16(&f->d, RX_USED + 2), 1);
	assert_memory_equal(f->d.ram + BUF, "late", 4);
	/* a bad name */
	snprintf(opt, sizeof(opt), "port \"\"");
	assert_null(vdev_testhost_create(f->th, f->desc, opt));
}

/* delayed: the socket server comes up later; output waits for it, then flows. */
static void test_delayed(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char opt[256], got[16] = "";

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", f->dir);
	snprintf(opt, sizeof(opt), "hostdev unix:%s delayed forever", sa.sun_path);
	fixture_create(f, opt);
	assert_non_null(strstr(vdev_testhost_log(f->th), "retrying (delayed)"));
	driver_up(f);
	memcpy(f->d.ram + BUF, "held\n", 5);
	tx_post(f, 0, BUF, 5);
	kick(f, 1);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), 0); /* not taken: nobody to write to */
	vdev_testhost_advance(f->th, 300000000);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), 0);
	f->listener = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listener, 1), 0);
	vdev_testhost_advance(f->th, 100000000);
	f->peer = accept(f->listener, NULL, NULL);
	assert_true(f->peer >= 0);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), 1);
	assert_int_equal(read(f->peer, got, sizeof(got)), 5);
	assert_memory_equal(got, "held\n", 5);
	/* bad values */
	assert_null(vdev_testhost_create(f->th, f->desc, "delayed soon"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "expected a number of seconds"));
}

/* delayed N: after N seconds without the host side, output is discarded. */
static void test_delayed_gives_up(void **state)
{
	struct fixture *f = *state;

	fixture_create(f, "hostdev unix:/nonexistent/vcon.sock delayed 1");
	driver_up(f);
	tx_post(f, 0, BUF, 5);
	kick(f, 1);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), 0);
	vdev_testhost_advance(f->th, 1200000000);
	assert_non_null(strstr(vdev_testhost_log(f->th), "gave up waiting"));
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), 1);
	tx_post(f, 1, BUF, 5);
	kick(f, 1);
	assert_int_equal(vdrv_get16(&f->d, TX_USED + 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transmit_to_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_receive_from_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostdev_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_and_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiport, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delayed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delayed_gives_up, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
