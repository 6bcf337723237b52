/*
 * vdevs/virtio-entropy/tests/test_virtio_entropy.c: vdev-virtio-entropy
 * as vdm loads it, through the SDK test host, driven as a virtio-rng
 * driver does (tests/unit/virtio_driver.h): identity on both transports,
 * buffers filled with random bytes (lengths, several per kick, a chain of
 * several segments, the per-request cap), a readable descriptor refused,
 * a malformed chain leading to NEEDS_RESET, reset and save/restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vdev/testhost.h>
#include <vdev/virtio.h>

#include "virtio_driver.h"

#define BASE  0xd0000000ull
#define DESC  0x1000ull
#define AVAIL 0x2000ull
#define USED  0x3000ull
#define BUF   0x10000ull
#define RAM   0x200000ull
#define V1    VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1)

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct vdev_testdev *dev;
	struct vdrv d;
};

static struct fixture *fixture_new(const char *options)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->th = vdrv_host_new("virtio-entropy", VDEV_PLUGIN_PATH, RAM, &f->desc);
	f->dev = vdev_testhost_create(f->th, f->desc, options);
	if (!f->dev)
		fail_msg("create: %s", vdev_testhost_error(f->th));
	f->d = (struct vdrv){.th = f->th, .base = BASE, .qsize = 16};
	f->d.ram = vdev_testhost_ram(f->th, 0, RAM);
	return f;
}

static int setup(void **state)
{
	*state = fixture_new("loc 0xd0000000 intr ioapic:5");
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdrv_destroy_host(f->th, f->dev);
	free(f);
	return 0;
}

/* The driver's side of 5.4: one queue, DRIVER_OK. */
static void driver_up(struct fixture *f)
{
	memset(f->d.ram, 0, 0x8000);
	assert_true(vdrv_negotiate(&f->d, V1) & VDEV_VIRTIO_S_FEATURES_OK);
	vdrv_queue_setup(&f->d, 0, DESC, AVAIL, USED);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_STATUS, 0xf);
}

static void kick(struct fixture *f)
{
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* How many of n bytes at gpa differ from `fill`. */
static unsigned changed(struct fixture *f, uint64_t gpa, size_t n, uint8_t fill)
{
	unsigned c = 0;

	for (size_t i = 0; i < n; i++)
		c += f->d.ram[gpa + i] != fill;
	return c;
}

static void test_identity(void **state)
{
	struct fixture *f = *state;
	struct fixture *p = fixture_new("loc pci:0:5");
	uint64_t id = 0;

	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_MAGIC), VDEV_VIRTIO_MMIO_MAGIC_VALUE);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEVICE_ID), 4);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEAT_SEL, 1);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_DEV_FEATURES), 1); /* VERSION_1 (no packed rings unless asked) */
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	assert_int_equal(
	    vdev_testhost_read(p->th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 5, 0, 0), 4, &id), 0);
	assert_int_equal(id, 0x10441af4);
	teardown((void **)&p);
}

static void test_fills_buffers(void **state)
{
	struct fixture *f = *state;

	driver_up(f);
	memset(f->d.ram + BUF, 0xee, 0x4000);
	vdrv_put_desc(&f->d, DESC, 0, BUF, 64, 2, 0);
	vdrv_put_desc(&f->d, DESC, 1, BUF + 0x1000, 1, 2, 0);
	/* one request in three segments */
	vdrv_put_desc(&f->d, DESC, 2, BUF + 0x2000, 100, 3, 3);
	vdrv_put_desc(&f->d, DESC, 3, BUF + 0x2100, 100, 3, 4);
	vdrv_put_desc(&f->d, DESC, 4, BUF + 0x2200, 56, 2, 0);
	vdrv_avail_add(&f->d, 0, AVAIL, 0);
	vdrv_avail_add(&f->d, 0, AVAIL, 1);
	vdrv_avail_add(&f->d, 0, AVAIL, 2);
	kick(f);
	assert_int_equal(vdrv_get16(&f->d, USED + 2), 3);
	assert_int_equal(vdrv_get32(&f->d, USED + 4), 0);
	assert_int_equal(vdrv_get32(&f->d, USED + 8), 64);
	assert_int_equal(vdrv_get32(&f->d, USED + 12), 1);
	assert_int_equal(vdrv_get32(&f->d, USED + 16), 1);
	assert_int_equal(vdrv_get32(&f->d, USED + 20), 2);
	assert_int_equal(vdrv_get32(&f->d, USED + 24), 256);
	/* random bytes: a 64-byte buffer equal to 0xee in more than 8 places
	 * has probability below 1e-9 */
	assert_true(changed(f, BUF, 64, 0xee) > 56);
	assert_true(changed(f, BUF + 0x2000, 100, 0xee) > 90);
	assert_true(changed(f, BUF + 0x2200, 56, 0xee) > 48);
	assert_int_equal(changed(f, BUF + 64, 0x1000 - 64, 0xee), 0); /* nothing past the buffer */
	assert_int_equal(changed(f, BUF + 0x2264, 0x100, 0xee), 0);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_INT_STATUS), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
	vdrv_w32(&f->d, VDEV_VIRTIO_MMIO_INT_ACK, 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 0);
	/* two requests never get the same bytes */
	vdrv_put_desc(&f->d, DESC, 5, BUF + 0x3000, 32, 2, 0);
	vdrv_avail_add(&f->d, 0, AVAIL, 5);
	kick(f);
	assert_memory_not_equal(f->d.ram + BUF, f->d.ram + BUF + 0x3000, 32);
}

static void test_large_request_capped(void **state)
{
	struct fixture *f = *state;

	driver_up(f);
	vdrv_put_desc(&f->d, DESC, 0, 0x100000, 0x80000, 2, 0);
	vdrv_avail_add(&f->d, 0, AVAIL, 0);
	kick(f);
	assert_int_equal(vdrv_get32(&f->d, USED + 8), 64 * 1024);
}

static void test_readable_refused(void **state)
{
	struct fixture *f = *state;

	driver_up(f);
	memset(f->d.ram + BUF, 0xee, 64);
	vdrv_put_desc(&f->d, DESC, 0, BUF, 8, 1, 1);
	vdrv_put_desc(&f->d, DESC, 1, BUF + 8, 56, 2, 0);
	vdrv_avail_add(&f->d, 0, AVAIL, 0);
	kick(f);
	assert_int_equal(vdrv_get16(&f->d, USED + 2), 1);
	assert_int_equal(vdrv_get32(&f->d, USED + 8), 0);
	assert_int_equal(changed(f, BUF, 64, 0xee), 0);
}

static void test_malformed_then_reset(void **state)
{
	struct fixture *f = *state;

	driver_up(f);
	vdrv_put_desc(&f->d, DESC, 0, BUF, 8, 3, 0); /* a loop on itself */
	vdrv_avail_add(&f->d, 0, AVAIL, 0);
	kick(f);
	assert_true(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS) & VDEV_VIRTIO_S_NEEDS_RESET);
	assert_non_null(strstr(vdev_testhost_log(f->th), "descriptor loop"));
	assert_int_equal(vdrv_get16(&f->d, USED + 2), 0);
	driver_up(f);
	vdrv_put_desc(&f->d, DESC, 0, BUF, 8, 2, 0);
	vdrv_avail_add(&f->d, 0, AVAIL, 0);
	kick(f);
	assert_int_equal(vdrv_get32(&f->d, USED + 8), 8);
}

static void test_save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8192];
	ssize_t len;

	driver_up(f);
	vdrv_put_desc(&f->d, DESC, 0, BUF, 8, 2, 0);
	vdrv_avail_add(&f->d, 0, AVAIL, 0);
	kick(f);
	assert_true(f->desc->state_size <= sizeof(buf));
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), 0);
	assert_int_equal(vdrv_r32(&f->d, VDEV_VIRTIO_MMIO_STATUS), 0xf);
	vdrv_avail_add(&f->d, 0, AVAIL, 0);
	kick(f);
	assert_int_equal(vdrv_get16(&f->d, USED + 2), 2);
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len - 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fills_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_request_capped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readable_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_then_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
