/*
 * tests/unit/test_iomap.c: the dispatcher (devmodel/iomap.c): range checks,
 * overlaps naming both sides, first/last byte, the unsupported-reference
 * policies, splitting by declared sizes, 1000 regions, removal while an
 * access is in flight.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devmodel/iomap.h"

/* A fake owner: registers are offset-derived; every call is recorded. */
#define MAX_CALLS 64
struct call {
	uint32_t id;
	uint64_t offset;
	unsigned size;
	bool is_write;
	uint64_t value;
};
struct fake {
	struct iomap_owner owner;
	struct call calls[MAX_CALLS];
	unsigned ncalls;
	int fail; /* return this from every access */
	/* in-flight test */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool block, entered, release;
};

static int fake_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
		       unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	struct fake *f = ctx;

	if (f->block) {
		pthread_mutex_lock(&f->lock);
		f->entered = true;
		pthread_cond_broadcast(&f->cond);
		while (!f->release)
			pthread_cond_wait(&f->cond, &f->lock);
		pthread_mutex_unlock(&f->lock);
	}
	if (f->ncalls < MAX_CALLS)
		f->calls[f->ncalls++] =
		    (struct call){id, offset, size, is_write, is_write ? *value : 0};
	if (f->fail)
		return f->fail;
	if (!is_write) {
		/* byte k of the register space reads as (offset + k) & 0xff */
		uint64_t v = 0;

		for (unsigned k = 0; k < size; k++)
			v |= ((offset + k + 0x10 * id) & 0xff) << (8 * k);
		*value = v;
	}
	return 0;
}

static void fake_init(struct fake *f, const char *name, uint32_t sizes)
{
	memset(f, 0, sizeof(*f));
	f->owner = (struct iomap_owner){
	    .name = name, .access = fake_access, .access_sizes = sizes, .ctx = f};
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
}

static int abort_calls;
static uint64_t abort_addr;
static void on_abort(void *ctx, enum vdev_space space, uint64_t addr, unsigned size, bool is_write)
{
	abort_calls++;
	abort_addr = addr;
}

static void test_range_checks(void **state)
{
	struct iomap *m = iomap_new();
	struct fake f;

	fake_init(&f, "dev", VDEV_ACCESS_SIZES_ALL);
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x1000, 0, &f.owner, 0, NULL), -EINVAL);
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, UINT64_MAX - 1, 3, &f.owner, 0, NULL),
			 -EINVAL);
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, UINT64_MAX, 2, &f.owner, 0, NULL), -EINVAL);
	/* ending exactly at the last address is fine */
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, UINT64_MAX - 1, 2, &f.owner, 0, NULL), 0);
	assert_int_equal(iomap_add(m, VDEV_SPACE_PIO, 0xfff0, 0x11, &f.owner, 1, NULL), -EINVAL);
	assert_int_equal(iomap_add(m, VDEV_SPACE_PIO, 0xfff0, 0x10, &f.owner, 1, NULL), 0);
	assert_int_equal(iomap_add(m, (enum vdev_space)7, 0, 1, &f.owner, 2, NULL), -EINVAL);
	/* an id already used by this owner */
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x5000, 0x10, &f.owner, 1, NULL), -EINVAL);
	assert_int_equal(iomap_count(m, VDEV_SPACE_MMIO), 1);
	assert_int_equal(iomap_count(m, VDEV_SPACE_PIO), 1);
	iomap_free(m);
}

static void test_overlaps(void **state)
{
	struct iomap *m = iomap_new();
	struct fake a, b;
	struct iomap_conflict c;
	static const struct {
		uint64_t base, len;
	} bad[] = {
	    {0x1000, 0x100}, /* identical */
	    {0x0f00, 0x101}, /* covers the first byte */
	    {0x10ff, 0x10},  /* covers the last byte */
	    {0x1010, 0x10},  /* inside */
	    {0x0f00, 0x400}, /* around */
	};

	fake_init(&a, "uart", VDEV_ACCESS_SIZES_ALL);
	fake_init(&b, "timer", VDEV_ACCESS_SIZES_ALL);
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x1000, 0x100, &a.owner, 0, NULL), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		assert_int_equal(
		    iomap_add(m, VDEV_SPACE_MMIO, bad[i].base, bad[i].len, &b.owner, 0, &c),
		    -EEXIST);
		assert_string_equal(c.owner, "uart");
		assert_int_equal(c.base, 0x1000);
		assert_int_equal(c.length, 0x100);
	}
	/* adjacent on both sides is fine; other spaces are independent */
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x0f00, 0x100, &b.owner, 0, NULL), 0);
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x1100, 0x100, &b.owner, 1, NULL), 0);
	assert_int_equal(iomap_add(m, VDEV_SPACE_PIO, 0x1000, 0x100, &b.owner, 2, NULL), 0);
	/* overlap with the right neighbour is found too */
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x2000 - 0x10, 0x20, &a.owner, 5, NULL), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x1200, 0xe00, &a.owner, 6, &c), -EEXIST);
	assert_string_equal(c.owner, "uart");
	assert_int_equal(c.base, 0x1ff0);
	iomap_free(m);
}

static void test_first_last_byte(void **state)
{
	struct iomap *m = iomap_new();
	struct fake f;
	uint64_t v;

	fake_init(&f, "dev", VDEV_ACCESS_SIZE(1));
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x1000, 0x100, &f.owner, 0, NULL), 0);
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x1000, 1, false, &v, 0), 0);
	assert_int_equal(v, 0x00);
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x10ff, 1, false, &v, 0), 0);
	assert_int_equal(v, 0xff);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(f.calls[1].offset, 0xff);
	/* one byte outside on either side: unowned, all-ones, not routed */
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x0fff, 1, false, &v, 0), 0);
	assert_int_equal(v, 0xff);
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x1100, 1, false, &v, 0), 0);
	assert_int_equal(f.ncalls, 2);
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_MMIO), 2);
	/* a region at the very top of the address space */
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, UINT64_MAX, 1, &f.owner, 1, NULL), 0);
	assert_int_equal(
	    iomap_access(m, VDEV_SPACE_MMIO, UINT64_MAX, 1, true, &(uint64_t){0x5a}, 0), 0);
	assert_int_equal(f.calls[2].offset, 0);
	assert_int_equal(f.calls[2].value, 0x5a);
	iomap_free(m);
}

static void test_policies(void **state)
{
	struct iomap *m = iomap_new();
	uint64_t v = 0;

	/* ignore: all-ones sized to the access, writes dropped */
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x1234, 2, false, &v, 0), 0);
	assert_int_equal(v, 0xffff);
	assert_int_equal(iomap_access(m, VDEV_SPACE_PIO, 0x80, 8, false, &v, 0), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(iomap_access(m, VDEV_SPACE_PIO, 0x80, 1, true, &v, 0), 0);
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_MMIO), 1);
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_PIO), 2);
	/* a size that is not 1/2/4/8 */
	assert_int_equal(iomap_access(m, VDEV_SPACE_PIO, 0x80, 3, false, &v, 0), -EINVAL);

	iomap_set_policy(m, CONF_UNSUP_FAIL, on_abort, NULL);
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x1234, 4, false, &v, 0), -ENXIO);
	assert_int_equal(abort_calls, 0);
	/* pcicfg: absent functions read all-ones whatever the policy */
	assert_int_equal(
	    iomap_access(m, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 3, 0, 0), 4, false, &v, 0), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_PCICFG), 1);

	iomap_set_policy(m, CONF_UNSUP_ABORT, on_abort, NULL);
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0xdead0, 4, true, &v, 0), -ENXIO);
	assert_int_equal(abort_calls, 1);
	assert_int_equal(abort_addr, 0xdead0);
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_MMIO), 3);
	iomap_free(m);
}

static void test_device_error(void **state)
{
	struct iomap *m = iomap_new();
	struct fake f;
	uint64_t v;

	fake_init(&f, "dev", VDEV_ACCESS_SIZES_ALL);
	f.fail = -EIO;
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x1000, 0x10, &f.owner, 0, NULL), 0);
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x1000, 4, false, &v, 0), 0);
	assert_int_equal(v, 0xffffffff);
	iomap_set_policy(m, CONF_UNSUP_FAIL, NULL, NULL);
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x1000, 4, false, &v, 0), -EIO);
	/* a device error is not an unowned access */
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_MMIO), 0);
	iomap_free(m);
}

static void test_split_sizes(void **state)
{
	struct iomap *m = iomap_new();
	struct fake bytes, halves;
	uint64_t v;

	fake_init(&bytes, "bytes", VDEV_ACCESS_SIZE(1));
	fake_init(&halves, "halves", VDEV_ACCESS_SIZE(2));
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x1000, 0x10, &bytes.owner, 0, NULL), 0);
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x2000, 0x10, &halves.owner, 0, NULL), 0);

	/* 4-byte read of a byte-only device: four 1-byte reads, little-endian */
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x1004, 4, false, &v, 0), 0);
	assert_int_equal(bytes.ncalls, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(bytes.calls[i].offset, 4 + i);
		assert_int_equal(bytes.calls[i].size, 1);
	}
	assert_int_equal(v, 0x07060504);
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_MMIO), 0);

	/* 4-byte write: each byte goes to its own offset */
	bytes.ncalls = 0;
	assert_int_equal(
	    iomap_access(m, VDEV_SPACE_MMIO, 0x1000, 4, true, &(uint64_t){0x44332211}, 0), 0);
	assert_int_equal(bytes.ncalls, 4);
	assert_int_equal(bytes.calls[0].value, 0x11);
	assert_int_equal(bytes.calls[3].value, 0x44);
	assert_int_equal(bytes.calls[3].offset, 3);

	/* straddling the end: the last 2 bytes are the device's, the rest unowned */
	bytes.ncalls = 0;
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x100e, 4, false, &v, 0), 0);
	assert_int_equal(bytes.ncalls, 2);
	assert_int_equal(v, 0xffff0f0e);
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_MMIO), 1);

	/* 1-byte read of a 2-byte-only device: no declared size fits -> unowned */
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x2000, 1, false, &v, 0), 0);
	assert_int_equal(halves.ncalls, 0);
	assert_int_equal(v, 0xff);
	/* 8-byte read of it: four 2-byte reads */
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x2000, 8, false, &v, 0), 0);
	assert_int_equal(halves.ncalls, 4);
	assert_true(v == 0x0706050403020100ull);

	/* an access starting in a gap and ending in a region */
	bytes.ncalls = 0;
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x0ffe, 4, false, &v, 0), 0);
	assert_int_equal(bytes.ncalls, 2);
	assert_int_equal(bytes.calls[0].offset, 0);
	assert_int_equal(v, 0x0100ffff);

	/* under `fail`, a partly unowned access is an error */
	iomap_set_policy(m, CONF_UNSUP_FAIL, NULL, NULL);
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x100e, 4, false, &v, 0), -ENXIO);
	iomap_free(m);
}

static void test_many_regions(void **state)
{
	enum { N = 1000 };
	struct iomap *m = iomap_new();
	struct fake f;
	unsigned order[N];
	uint64_t v;

	fake_init(&f, "many", VDEV_ACCESS_SIZES_ALL);
	/* regions of 0x10 bytes every 0x40, inserted in a scrambled order */
	for (unsigned i = 0; i < N; i++)
		order[i] = i;
	srand(7);
	for (unsigned i = N - 1; i > 0; i--) {
		unsigned j = (unsigned)rand() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x100000 + 0x40ull * order[i], 0x10,
					   &f.owner, order[i], NULL),
				 0);
	assert_int_equal(iomap_count(m, VDEV_SPACE_MMIO), N);
	for (unsigned i = 0; i < N; i++) {
		struct iomap_region_info info;

		assert_int_equal(iomap_region_at(m, VDEV_SPACE_MMIO, i, &info), 0);
		assert_int_equal(info.id, i);
		assert_int_equal(info.base, 0x100000 + 0x40ull * i);
	}
	for (unsigned i = 0; i < N; i++) {
		uint64_t base = 0x100000 + 0x40ull * i;

		f.ncalls = 0;
		assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, base, 1, false, &v, 0), 0);
		assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, base + 0xf, 1, false, &v, 0), 0);
		assert_int_equal(f.ncalls, 2);
		assert_int_equal(f.calls[0].id, i);
		assert_int_equal(f.calls[0].offset, 0);
		assert_int_equal(f.calls[1].id, i);
		assert_int_equal(f.calls[1].offset, 0xf);
		/* the gap after it */
		assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, base + 0x10, 1, false, &v, 0), 0);
		assert_int_equal(f.ncalls, 2);
	}
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_MMIO), N);
	/* remove every other one; the rest still route */
	for (unsigned i = 0; i < N; i += 2)
		assert_int_equal(iomap_remove(m, &f.owner, i), 0);
	assert_int_equal(iomap_remove(m, &f.owner, 0), -ENOENT);
	assert_int_equal(iomap_count(m, VDEV_SPACE_MMIO), N / 2);
	f.ncalls = 0;
	assert_int_equal(
	    iomap_access(m, VDEV_SPACE_MMIO, 0x100000 + 0x40 * 501 + 3, 1, false, &v, 0), 0);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(f.calls[0].id, 501);
	assert_int_equal(
	    iomap_access(m, VDEV_SPACE_MMIO, 0x100000 + 0x40 * 500 + 3, 1, false, &v, 0), 0);
	assert_int_equal(f.ncalls, 1);
	assert_int_equal(iomap_remove_owner(m, &f.owner), N / 2);
	assert_int_equal(iomap_count(m, VDEV_SPACE_MMIO), 0);
	iomap_free(m);
}

struct inflight {
	struct iomap *m;
	uint64_t value;
	int ret;
};

/* 200 000 regions of as many owners, added in a scrambled order, then
 * removed owner by owner: O(n log n), so seconds at most (it was O(n^2):
 * minutes), with lookups right in between. */
static void test_scale(void **state)
{
	enum { N = 200000 };
	struct iomap *m = iomap_new();
	struct iomap_owner *owners = calloc(N, sizeof(*owners));
	struct iomap_conflict c;
	struct iomap_region_info info;
	struct timespec t0, t1;
	uint64_t v;

	assert_non_null(owners);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < N; i++) {
		unsigned k =
		    (unsigned)(((uint64_t)i * 7919) % N); /* 7919 is prime, N is not its multiple */

		owners[k] = (struct iomap_owner){.name = "scale", .access = NULL, .ctx = NULL};
		assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x100000000ull + k * 0x1000ull,
					   0x100, &owners[k], 0, NULL),
				 0);
	}
	assert_int_equal(iomap_count(m, VDEV_SPACE_MMIO), N);
	/* overlap still found against the neighbour, at any size */
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x100000000ull + 777 * 0x1000ull + 0xff, 2,
				   &owners[0], 1, &c),
			 -EEXIST);
	assert_int_equal(c.base, 0x100000000ull + 777 * 0x1000ull);
	assert_int_equal(iomap_region_at(m, VDEV_SPACE_MMIO, 12345, &info), 0);
	assert_int_equal(info.base, 0x100000000ull + 12345 * 0x1000ull); /* listed in order */
	assert_ptr_equal(info.owner, &owners[12345]);
	/* a gap between two regions is unowned */
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x100000000ull + 5 * 0x1000ull + 0x200, 4,
				      false, &v, 0),
			 0);
	assert_int_equal(iomap_unowned_count(m, VDEV_SPACE_MMIO), 1);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(iomap_remove_owner(m, &owners[(i * 7919ull) % N]), 1);
	assert_int_equal(iomap_count(m, VDEV_SPACE_MMIO), 0);
	assert_int_equal(iomap_region_at(m, VDEV_SPACE_MMIO, 0, &info), -ENOENT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 20);
	iomap_free(m);
	free(owners);
	(void)state;
}

static void *inflight_reader(void *arg)
{
	struct inflight *in = arg;

	in->ret = iomap_access(in->m, VDEV_SPACE_MMIO, 0x1004, 4, false, &in->value, 1);
	return NULL;
}

static void *inflight_release(void *arg)
{
	struct fake *f = arg;

	usleep(20000);
	pthread_mutex_lock(&f->lock);
	f->release = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static void test_remove_in_flight(void **state)
{
	struct iomap *m = iomap_new();
	struct fake f;
	struct inflight in = {.m = m};
	pthread_t reader, releaser;
	uint64_t v;

	fake_init(&f, "slow", VDEV_ACCESS_SIZES_ALL);
	f.block = true;
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0x1000, 0x10, &f.owner, 0, NULL), 0);
	pthread_create(&reader, NULL, inflight_reader, &in);
	pthread_mutex_lock(&f.lock);
	while (!f.entered)
		pthread_cond_wait(&f.cond, &f.lock);
	pthread_mutex_unlock(&f.lock);

	/* removal returns while the access is still inside the device */
	assert_int_equal(iomap_remove(m, &f.owner, 0), 0);
	assert_false(f.release);
	/* a new access does not reach the device any more */
	f.block = false;
	assert_int_equal(iomap_access(m, VDEV_SPACE_MMIO, 0x1004, 4, false, &v, 0), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(f.ncalls, 0);

	/* drain waits for the access in flight to finish */
	pthread_create(&releaser, NULL, inflight_release, &f);
	iomap_drain(m);
	assert_true(f.release);
	pthread_join(reader, NULL);
	pthread_join(releaser, NULL);
	assert_int_equal(in.ret, 0);
	assert_int_equal(in.value, 0x07060504);
	assert_int_equal(f.ncalls, 1);
	iomap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range_checks),    cmocka_unit_test(test_overlaps),
	    cmocka_unit_test(test_first_last_byte), cmocka_unit_test(test_policies),
	    cmocka_unit_test(test_device_error),    cmocka_unit_test(test_split_sizes),
	    cmocka_unit_test(test_many_regions),    cmocka_unit_test(test_remove_in_flight),
	    cmocka_unit_test(test_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
