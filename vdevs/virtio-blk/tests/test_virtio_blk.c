/*
 * vdevs/virtio-blk/tests/test_virtio_blk.c: vdev-virtio-blk as vdm loads
 * it, through the SDK test host, on image files in a temporary directory,
 * driven as a virtio-blk driver does (tests/unit/virtio_driver.h):
 * configuration and features, write/flush/read with the image checked on
 * the host, several requests in flight, GET_ID, write-zeroes and discard,
 * direct I/O (dio enable), read-only images, every error status (range, length, type, host I/O
 * error), a request the device cannot answer (NEEDS_RESET), reset and
 * save/restore, configuration errors, and destroy while the disk is stuck.
 * Every case runs twice: aio threads and aio io_uring (skipped, loudly,
 * where the kernel gives no ring).
 *
 * The test exports its own pread (-Wl,--export-dynamic-symbol=pread), which
 * the plugin binds to: armed, it stalls the plugin's reads of one offset,
 * so "a transfer in progress at destroy" is made deterministically, without
 * a FIFO or a slow device.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <vdev/testhost.h>
#include <vdev/virtio.h>

#include "virtio_driver.h"

#define BASE	0xd0000000ull
#define DESC	0x1000ull
#define AVAIL	0x2000ull
#define USED	0x3000ull
#define HDR	0x8000ull   /* request headers, 16 bytes a slot */
#define STAT	0x9000ull   /* status bytes, one a slot */
#define DATA	0x100000ull /* data, 64 KiB a slot */
#define RAM	0x1000000ull
#define QSIZE	32u
#define SECTORS 2048u /* a 1 MiB image */
#define V1	VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1)

enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WZ = 13 };

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct vdev_testdev *dev;
	struct vdrv d;
	char dir[64], image[96];
	int fd; /* the image, as the host sees it */
};

/* ------------------------------------------------- the stalling pread */

static pthread_mutex_t stall_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stall_cond = PTHREAD_COND_INITIALIZER;
static off_t stall_offset = -1; /* reads of this offset stall; -1: none */
static unsigned stall_ms;	/* at most this long, unless released */
static bool stall_released;
static unsigned stall_entered, stall_left, fast_left;

static void stall_deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
	static ssize_t (*real)(int, void *, size_t, off_t);
	bool stalled;
	ssize_t n;

	if (!real)
		real = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread");
	pthread_mutex_lock(&stall_lock);
	stalled = stall_offset >= 0 && offset == stall_offset;
	if (stalled) {
		struct timespec until;

		stall_deadline(&until, stall_ms);
		stall_entered++;
		pthread_cond_broadcast(&stall_cond);
		while (!stall_released &&
		       pthread_cond_timedwait(&stall_cond, &stall_lock, &until) == 0) {
		}
	}
	pthread_mutex_unlock(&stall_lock);
	n = real(fd, buf, count, offset);
	pthread_mutex_lock(&stall_lock);
	if (stalled)
		stall_left++;
	else if (stall_offset >= 0)
		fast_left++;
	pthread_cond_broadcast(&stall_cond);
	pthread_mutex_unlock(&stall_lock);
	return n;
}

/* Wait (up to 5 s) until *counter reaches want. */
static void stall_wait(unsigned *counter, unsigned want)
{
	struct timespec until;

	stall_deadline(&until, 5000);
	pthread_mutex_lock(&stall_lock);
	while (*counter < want && pthread_cond_timedwait(&stall_cond, &stall_lock, &until) == 0) {
	}
	assert_int_equal(*counter, want);
	pthread_mutex_unlock(&stall_lock);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* How many of this process's descriptors are open on `path`. */
static unsigned fds_on(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char link[300], target[256];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		n += strcmp(target, path) == 0;
	}
	closedir(d);
	return n;
}

static const char *test_aio = "threads"; /* the group running */

static struct fixture *fixture_new(const char *extra)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char options[320];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vblk.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->image, sizeof(f->image), "%s/disk.img", f->dir);
	f->fd = open(f->image, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(f->fd >= 0);
	assert_int_equal(ftruncate(f->fd, SECTORS * 512), 0);
	f->th = vdrv_host_new("virtio-blk", VDEV_PLUGIN_PATH, RAM, &f->desc);
	snprintf(options, sizeof(options), "loc 0xd0000000 intr ioapic:5 aio %s hostdev %s%s %s",
		 test_aio, strstr(extra, "readonly") ? "<" : "", f->image,
		 strstr(extra, "readonly") ? "" : extra);
	f->dev = vdev_testhost_create(f->th, f->desc, options);
	if (!f->dev)
		fail_msg("create \"%s\": %s", options, vdev_testhost_error(f->th));
	/* the backend asked for is the one running (no silent fallback) */
	if (!strcmp(test_aio, "io_uring") &&
	    !strstr(vdev_testhost_log(f->th), "aio io_uring: 256 requests"))
		fail_msg("no ring: %s", vdev_testhost_log(f->th));
	f->d = (struct vdrv){.th = f->th, .base = BASE, .qsize = QSIZE};
	f->d.ram = vdev_testhost_ram(f->th, 0, RAM);
	return f;
}

static void fixture_free(struct fixture *f)
{
	if (f->th)
		vdrv_destroy_host(f->th, f->dev);
	close(f->fd);
	unlink(f->image);
	rmdir(f->dir);
	free(f);
}

static int setup(void **state)
{
	*state = fixture_new("serial vm1-disk0 threads 4");
	return 0;
}

static int setup_dio(void **state)
{
	struct fixture *f = fixture_new("serial vm1-disk0 dio enable");

	/* /tmp takes O_DIRECT on this kind of host; where it does not, the
	 * device falls back and says so, and the test still checks the data */
	if (!strstr(vdev_testhost_log(f->th), "direct I/O for reads and writes"))
		print_message("note: %s", vdev_testhost_log(f->th));
	*state = f;
	return 0;
}

static int setup_ro(void **state)
{
	*state = fixture_new("readonly");
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

static void driver_up(struct fixture *f, uint64_t features)
{
	memset(f->d.ram, 0, 0xa000);
	assert_true(vdrv_negotiate(&f->d, V1 | features) & VDEV_VIRTIO_S_FEATURES_OK);
	vdrv_queue_setup(&f->d, 0, DESC, AVAIL, USED);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_STATUS, 0xf);
}

/*
 * Post request `slot` (descriptors 3*slot..3*slot+2): header, optional
 * data of `len` bytes at DATA + slot * 64K (device-writable for IN and
 * GET_ID), status. Returns the gpa of the data.
 */
static uint64_t post(struct fixture *f, unsigned slot, uint32_t type, uint64_t sector, uint32_t len)
{
	uint64_t hdr = HDR + 16 * slot, data = DATA + 0x10000ull * slot;
	uint16_t d0 = (uint16_t)(3 * slot);
	bool in = type == T_IN || type == T_GET_ID;

	memcpy(f->d.ram + hdr, &type, 4);
	memset(f->d.ram + hdr + 4, 0, 4);
	memcpy(f->d.ram + hdr + 8, &sector, 8);
	f->d.ram[STAT + slot] = 0xee;
	vdrv_put_desc(&f->d, DESC, d0, hdr, 16, 1, d0 + 1);
	if (len) {
		vdrv_put_desc(&f->d, DESC, d0 + 1u, data, len, (uint16_t)(1 | (in ? 2 : 0)),
			      d0 + 2);
		vdrv_put_desc(&f->d, DESC, d0 + 2u, STAT + slot, 1, 2, 0);
	} else {
		vdrv_put_desc(&f->d, DESC, d0, hdr, 16, 1, d0 + 2);
		vdrv_put_desc(&f->d, DESC, d0 + 2u, STAT + slot, 1, 2, 0);
	}
	vdrv_avail_add(&f->d, 0, AVAIL, d0);
	return data;
}

/* Kick and wait (polling the worker's completions) for `used` entries. */
static void run_until(struct fixture *f, uint16_t used)
{
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 500 && vdrv_get16(&f->d, USED + 2) < used; i++)
		vdev_testhost_poll(f->th, 20);
	assert_int_equal(vdrv_get16(&f->d, USED + 2), used);
}

/* The used element whose id is descriptor 3*slot: its length. */
static uint32_t used_len(struct fixture *f, unsigned slot)
{
	for (unsigned i = 0; i < QSIZE; i++)
		if (vdrv_get32(&f->d, USED + 4 + 8 * i) == 3 * slot)
			return vdrv_get32(&f->d, USED + 8 + 8 * i);
	fail_msg("slot %u not used", slot);
	return 0;
}

static uint8_t status(struct fixture *f, unsigned slot)
{
	return f->d.ram[STAT + slot];
}

static void test_config(void **state)
{
	struct fixture *f = *state;
	uint32_t lo, hi;

	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEVICE_ID), 2);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	lo = vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEATURES);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 1);
	hi = vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEATURES);
	/* SIZE_MAX, SEG_MAX, BLK_SIZE, FLUSH, DISCARD, WRITE_ZEROES; no RO, no MQ */
	assert_int_equal(lo & 0xffffff,
			 (1u << 1) | (1u << 2) | (1u << 6) | (1u << 9) | (1u << 13) | (1u << 14));
	assert_int_equal(hi & 1, 1);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE + 0x100, 8), SECTORS);
	assert_int_equal(vdrv_r32(&f->d, 0x100 + 0x08), 65536); /* size_max */
	assert_int_equal(vdrv_r32(&f->d, 0x100 + 0x0c), 126);	/* seg_max */
	assert_int_equal(vdrv_r32(&f->d, 0x100 + 0x14), 512);	/* blk_size */
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE + 0x100 + 0x22, 2), 1);
	assert_int_equal(vdrv_r32(&f->d, 0x100 + 0x28), 16); /* max_discard_seg */
}

/* Write, flush, read back; `features`: 0 (no FLUSH: writethrough, each
 * write synced before it completes) or FLUSH (a write cache). */
static void write_flush_read(struct fixture *f, uint64_t features)
{
	uint8_t pattern[4096], back[4096];
	uint64_t data;

	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	driver_up(f, features);
	data = post(f, 0, T_OUT, 5, sizeof(pattern));
	memcpy(f->d.ram + data, pattern, sizeof(pattern));
	run_until(f, 1);
	assert_int_equal(status(f, 0), 0);
	assert_int_equal(used_len(f, 0), 1);
	post(f, 1, T_FLUSH, 0, 0);
	run_until(f, 2);
	assert_int_equal(status(f, 1), 0);
	/* on the host: exactly sectors 5..12 changed */
	assert_int_equal(pread(f->fd, back, sizeof(back), 5 * 512), sizeof(back));
	assert_memory_equal(back, pattern, sizeof(pattern));
	assert_int_equal(pread(f->fd, back, 512, 4 * 512), 512);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(back[i], 0);
	/* and back through the device */
	data = post(f, 2, T_IN, 5, sizeof(pattern));
	run_until(f, 3);
	assert_int_equal(status(f, 2), 0);
	assert_int_equal(used_len(f, 2), sizeof(pattern) + 1);
	assert_memory_equal(f->d.ram + data, pattern, sizeof(pattern));
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
}

static void test_write_flush_read(void **state)
{
	write_flush_read(*state, 0);
}

static void test_write_cache_flush(void **state)
{
	write_flush_read(*state, 1u << 9);
}

/* With dio enable the transfers stay direct (aligned buffers, whole
 * sectors): no fallback is logged. */
static void test_dio_stays_direct(void **state)
{
	struct fixture *f = *state;

	if (!strstr(vdev_testhost_log(f->th), "direct I/O for reads and writes"))
		skip();
	test_write_flush_read(state);
	assert_null(strstr(vdev_testhost_log(f->th), "refused"));
}

static void test_many_in_flight(void **state)
{
	struct fixture *f = *state;

	driver_up(f, VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_EVENT_IDX));
	for (unsigned s = 0; s < 8; s++) {
		uint64_t data = post(f, s, T_OUT, 100 + 16 * s, 8192);

		memset(f->d.ram + data, 0x30 + s, 8192);
	}
	run_until(f, 8);
	for (unsigned s = 0; s < 8; s++) {
		uint8_t b[8192];

		assert_int_equal(status(f, s), 0);
		assert_int_equal(pread(f->fd, b, sizeof(b), (100 + 16 * s) * 512ull), sizeof(b));
		assert_int_equal(b[0], 0x30 + s);
		assert_int_equal(b[8191], 0x30 + s);
	}
}

static void test_get_id(void **state)
{
	struct fixture *f = *state;
	uint64_t data;

	driver_up(f, 0);
	data = post(f, 0, T_GET_ID, 0, 20);
	memset(f->d.ram + data, 0xaa, 20);
	run_until(f, 1);
	assert_int_equal(status(f, 0), 0);
	assert_int_equal(used_len(f, 0), 21);
	assert_memory_equal(f->d.ram + data, "vm1-disk0\0\0\0\0\0\0\0\0\0\0\0", 20);
}

/* A DISCARD or WRITE_ZEROES request (slot) with one segment; its status. */
static uint8_t range_request(struct fixture *f, unsigned slot, uint32_t type, uint64_t sector,
			     uint32_t count, uint32_t flags)
{
	uint64_t data = post(f, slot, type, 0, 16);

	memcpy(f->d.ram + data, &sector, 8);
	memcpy(f->d.ram + data + 8, &count, 4);
	memcpy(f->d.ram + data + 12, &flags, 4);
	run_until(f, (uint16_t)(slot + 1));
	return status(f, slot);
}

static void test_zeroes_and_discard(void **state)
{
	struct fixture *f = *state;
	uint8_t b[512 * 8];

	driver_up(f, 0);
	memset(b, 0x77, sizeof(b));
	assert_int_equal(pwrite(f->fd, b, sizeof(b), 64 * 512), sizeof(b));
	/* write zeroes over sectors 64..67 (with unmap) */
	assert_int_equal(range_request(f, 0, T_WZ, 64, 4, 1), 0);
	assert_int_equal(pread(f->fd, b, sizeof(b), 64 * 512), sizeof(b));
	for (unsigned i = 0; i < 4 * 512; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(b[4 * 512], 0x77);
	/* discard 68..69: advisory, answered OK */
	assert_int_equal(range_request(f, 1, T_DISCARD, 68, 2, 0), 0);
	/* a discard with the unmap flag (only write zeroes has it): UNSUPP */
	assert_int_equal(range_request(f, 2, T_DISCARD, 68, 2, 1), 2);
	/* past the end: IOERR */
	assert_int_equal(range_request(f, 3, T_WZ, SECTORS - 1, 2, 0), 1);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;

	driver_up(f, 0);
	post(f, 0, T_IN, SECTORS - 1, 1024); /* runs past the end */
	post(f, 1, T_OUT, SECTORS, 512);     /* starts at the end */
	post(f, 2, T_IN, 0, 100);	     /* not whole sectors */
	post(f, 3, 77, 0, 512);		     /* unknown type */
	post(f, 4, T_IN, UINT64_MAX, 512);   /* sector * 512 would wrap */
	run_until(f, 5);
	assert_int_equal(status(f, 0), 1);
	assert_int_equal(status(f, 1), 1);
	assert_int_equal(status(f, 2), 1);
	assert_int_equal(status(f, 3), 2);
	assert_int_equal(status(f, 4), 1);
	assert_int_equal(used_len(f, 0), 1);
	/* the host's I/O fails: the image shrank under the device */
	assert_int_equal(ftruncate(f->fd, 512), 0);
	post(f, 5, T_IN, 8, 512);
	run_until(f, 6);
	assert_int_equal(status(f, 5), 1);
	assert_false(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
	/* a request without a status byte cannot be answered */
	vdrv_put_desc(&f->d, DESC, 30, HDR, 16, 0, 0);
	vdrv_avail_add(&f->d, 0, AVAIL, 30);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
	assert_non_null(strstr(vdev_testhost_log(f->th), "status byte"));
}

static void test_read_only(void **state)
{
	struct fixture *f = *state;
	uint8_t b[512];
	uint64_t data;

	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	assert_true(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEATURES) & (1u << 5)); /* RO */
	assert_false(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEATURES) & (1u << 13));
	driver_up(f, 1u << 5);
	data = post(f, 0, T_OUT, 0, 512);
	memset(f->d.ram + data, 0x55, 512);
	post(f, 1, T_IN, 0, 512);
	post(f, 2, T_DISCARD, 0, 16);
	run_until(f, 3);
	assert_int_equal(status(f, 0), 1);
	assert_int_equal(status(f, 1), 0);
	assert_int_equal(status(f, 2), 1);
	assert_int_equal(pread(f->fd, b, 512, 0), 512);
	assert_int_equal(b[0], 0);
}

static void test_reset_and_state(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8192];
	ssize_t len;

	driver_up(f, 0);
	post(f, 0, T_IN, 0, 512);
	run_until(f, 1);
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), 0);
	post(f, 1, T_IN, 1, 512);
	run_until(f, 2);
	assert_int_equal(status(f, 1), 0);
	/* a request in flight when the driver resets completes into nothing */
	post(f, 2, T_IN, 2, 512);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; i < 10; i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(vdrv_get16(&f->d, USED + 2), 2);
	assert_int_equal(status(f, 2), 0xee);
}

static void test_config_errors(void **state)
{
	struct fixture *f = *state;

	assert_null(vdev_testhost_create(f->th, f->desc, "hostdev /nonexistent/disk.img"));
	assert_null(
	    vdev_testhost_create(f->th, f->desc, "hostdev /dev/null serial 123456789012345678901"));
	assert_null(vdev_testhost_create(f->th, f->desc, "hostdev >/dev/null"));
	assert_null(vdev_testhost_create(f->th, f->desc, "serial x")); /* hostdev required */
	assert_null(vdev_testhost_create(f->th, f->desc, "hostdev /dev/null threads 33"));
	assert_null(vdev_testhost_create(f->th, f->desc, "hostdev /dev/null dio sometimes"));
}

static void test_multiqueue(void **state)
{
	struct fixture *f = *state;
	struct fixture *m = fixture_new("queues 4");
	uint32_t lo;

	vdrv_w32(&m->d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	lo = vdrv_r32(&m->d, VDEV_VIRTIO_MMIO_DEV_FEATURES);
	assert_true(lo & (1u << 12));
	assert_int_equal(vdev_testhost_mmio_read(m->th, BASE + 0x100 + 0x22, 2), 4);
	vdrv_w32(&m->d, VDEV_VIRTIO_MMIO_QUEUE_SEL, 3);
	assert_int_equal(vdrv_r32(&m->d, VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	vdrv_w32(&m->d, VDEV_VIRTIO_MMIO_QUEUE_SEL, 4);
	assert_int_equal(vdrv_r32(&m->d, VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	fixture_free(m);
	(void)f;
}

/*
 * The reported hang: destroy (vm_free, after the event loop stopped) while
 * the disk is stuck. Two worker threads are inside a pread that does not
 * return (requests 1 and 2), request 3 waits for a thread, request 0 has
 * finished and its completion sits queued for an event loop that no
 * longer runs. Destroy used to join every thread, so it took as long as
 * the stuck read (for ever, on a dead NFS server); now it returns at once,
 * the stuck requests are abandoned and freed when their reads return, and
 * the image is closed by the last of them. No status byte is written
 * after destroy, and nothing is written to a descriptor the device closed
 * (the number is reused by a file opened meanwhile).
 */
static void test_destroy_while_stuck(void **state)
{
	struct fixture *f = *state;
	char scratch[128];
	uint64_t t0, took;
	struct stat st;
	int other;

	if (strcmp(test_aio, "threads"))
		skip(); /* reads are the kernel's there: test_destroy_in_flight */

	driver_up(f, 0);
	pthread_mutex_lock(&stall_lock);
	stall_offset = 100 * 512;
	stall_ms = 3000;
	stall_released = false;
	stall_entered = stall_left = fast_left = 0;
	pthread_mutex_unlock(&stall_lock);
	post(f, 0, T_IN, 0, 512);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	stall_wait(&fast_left, 1); /* request 0 read; its completion is queued */
	post(f, 1, T_IN, 100, 512);
	post(f, 2, T_IN, 100, 512);
	post(f, 3, T_IN, 100, 512);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	stall_wait(&stall_entered, 2); /* both threads stuck; request 3 waits */

	t0 = now_ms();
	vdev_testhost_destroy(f->dev);
	took = now_ms() - t0;
	assert_in_range(took, 0, 1000); /* not the 3 s of the stuck read */

	snprintf(scratch, sizeof(scratch), "%s/other", f->dir);
	other = open(scratch, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(other >= 0);
	assert_int_equal(fds_on(f->image), 2); /* ours and the abandoned requests' */
	pthread_mutex_lock(&stall_lock);
	stall_released = true;
	pthread_cond_broadcast(&stall_cond);
	pthread_mutex_unlock(&stall_lock);
	stall_wait(&stall_left, 2);
	for (int i = 0; i < 200 && fds_on(f->image) > 1; i++)
		usleep(10000);
	assert_int_equal(fds_on(f->image), 1); /* the last abandoned request closed it */
	assert_int_equal(stall_entered, 2);    /* request 3 never ran */
	for (unsigned s = 0; s < 4; s++)
		assert_int_equal(status(f, s), 0xee);
	assert_int_equal(vdrv_get16(&f->d, USED + 2), 0);
	assert_int_equal(fstat(other, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(other);
	unlink(scratch);
	vdev_testhost_free(f->th);
	f->th = NULL;
	pthread_mutex_lock(&stall_lock);
	stall_offset = -1;
	pthread_mutex_unlock(&stall_lock);
}

/*
 * Destroy with requests posted and kicked but never polled: in the kernel
 * (io_uring) or on the threads, some finished and their completions
 * queued. Destroy returns at once, nothing reaches guest memory after it,
 * and the image is closed once the last request is freed (the ring's by a
 * thread of its own, which reaps what the kernel still had).
 */
static void test_destroy_in_flight(void **state)
{
	struct fixture *f = *state;
	uint64_t t0;

	driver_up(f, 0);
	for (unsigned s = 0; s < 8; s++)
		post(f, s, s & 1 ? T_OUT : T_IN, 64 * s, 65536);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	t0 = now_ms();
	vdev_testhost_destroy(f->dev);
	assert_in_range(now_ms() - t0, 0, 1000);
	for (int i = 0; i < 200 && fds_on(f->image) > 1; i++)
		usleep(10000);
	assert_int_equal(fds_on(f->image), 1);
	for (unsigned s = 0; s < 8; s++)
		assert_int_equal(status(f, s), 0xee);
	assert_int_equal(vdrv_get16(&f->d, USED + 2), 0);
	vdev_testhost_free(f->th);
	f->th = NULL;
}

static int setup_two_threads(void **state)
{
	*state = fixture_new("threads 2");
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_flush_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_flush_read, setup_dio, teardown),
	    cmocka_unit_test_setup_teardown(test_many_in_flight, setup_dio, teardown),
	    cmocka_unit_test_setup_teardown(test_dio_stays_direct, setup_dio, teardown),
	    cmocka_unit_test_setup_teardown(test_many_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zeroes_and_discard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_and_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multiqueue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_cache_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_while_stuck, setup_two_threads, teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_in_flight, setup, teardown),
	};
	struct io_uring_params p = {0};
	long ring;
	int failed;

	failed = cmocka_run_group_tests_name("aio threads", tests, NULL, NULL);
	ring = syscall(__NR_io_uring_setup, 8, &p);
	if (ring < 0) {
		printf("SKIP: aio io_uring: the kernel gives no ring here (%s)\n", strerror(errno));
		return failed;
	}
	close((int)ring);
	test_aio = "io_uring";
	return failed | cmocka_run_group_tests_name("aio io_uring", tests, NULL, NULL);
}
