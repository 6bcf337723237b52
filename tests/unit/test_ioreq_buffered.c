/*
 * tests/unit/test_ioreq_buffered.c: the buffered ioreq ring of
 * devmodel/ioreq_engine.c against a simulated Xen producer.
 *
 * The producer follows ioreq_send_buffered: only writes below 1 MiB with
 * count 1, refused when wp - rp >= 511 - qw, an 8-byte write in two
 * consecutive slots (both size 3, low half first), slots written before
 * write_pointer (release), and, like BUFIOREQ_ATOMIC mode, it may rebase
 * both pointers by a multiple of 511 at any time. The device side records
 * every access.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/ioreq_engine.h"

#define MAX_TRACE 2048

struct access {
	enum vdev_space space;
	uint64_t addr;
	unsigned size;
	bool is_write;
	uint64_t value;
	int32_t vcpu;
};

static struct {
	shared_iopage_t shared __attribute__((aligned(4096)));
	uint8_t shared_pad[4096 - sizeof(shared_iopage_t)];
	buffered_iopage_t ring __attribute__((aligned(4096)));
	struct access trace[MAX_TRACE];
	unsigned n;
	int64_t deltas[8];
	unsigned n_deltas;
	int errors[8];
	unsigned n_errors;
	unsigned rebase_at;	 /* rebase both pointers during this access (1-based) */
	unsigned post_on_access; /* the producer posts another write per access */
} t;

static struct ioreq_engine *engine;

/* ------------------------------------------------------------ the device */

static int dev_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size, bool is_write,
		      uint64_t *value, int32_t vcpu);

static int dev_mem(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	return -EFAULT; /* buffered requests never point into RAM */
}

static int dev_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	return -EFAULT;
}

static int op_notify(void *ctx, uint32_t vcpu)
{
	fail_msg("buffered requests get no notify (vCPU %u)", vcpu);
	return 0;
}

static void op_timeoffset(void *ctx, int64_t delta)
{
	if (t.n_deltas < 8)
		t.deltas[t.n_deltas++] = delta;
}

static void op_failed(void *ctx, uint32_t vcpu, const ioreq_t *req, int err)
{
	assert_int_equal(vcpu, IOREQ_ENGINE_SOURCE_BUFFERED);
	if (t.n_errors < 8)
		t.errors[t.n_errors++] = err;
}

static const struct dm_io io = {
    .access = dev_access, .mem_read = dev_mem, .mem_write = dev_mem_write};
static const struct ioreq_engine_ops ops = {
    .notify = op_notify,
    .timeoffset = op_timeoffset,
    .request_failed = op_failed,
};

/* ------------------------------------------------------ the Xen producer */

static uint32_t rp_now(void)
{
	return __atomic_load_n(&t.ring.read_pointer, __ATOMIC_ACQUIRE);
}

static uint32_t wp_now(void)
{
	return __atomic_load_n(&t.ring.write_pointer, __ATOMIC_ACQUIRE);
}

/* ioreq_send_buffered; returns false when the ring is full (Xen goes synchronous) */
static bool xen_buf_post(uint8_t type, uint32_t size, uint32_t addr, uint64_t data)
{
	uint32_t qw = size == 8, wp = t.ring.write_pointer;
	buf_ioreq_t e = {.type = type, .dir = IOREQ_WRITE, .addr = addr & 0xfffff};

	assert_true(addr <= 0xfffff);
	if (wp - rp_now() >= IOREQ_BUFFER_SLOT_NUM - qw)
		return false;
	e.size = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
	e.data = (uint32_t)data;
	memcpy(&t.ring.buf_ioreq[wp % IOREQ_BUFFER_SLOT_NUM], &e, sizeof(e));
	if (qw) {
		e.data = (uint32_t)(data >> 32);
		memcpy(&t.ring.buf_ioreq[(wp + 1) % IOREQ_BUFFER_SLOT_NUM], &e, sizeof(e));
	}
	atomic_thread_fence(memory_order_release); /* smp_wmb */
	__atomic_store_n(&t.ring.write_pointer, wp + qw + 1, __ATOMIC_RELEASE);
	return true;
}

/* BUFIOREQ_ATOMIC: both pointers drop by n * 511 in one 64-bit cmpxchg. */
static void xen_rebase(uint32_t slots)
{
	uint64_t *full = (uint64_t *)&t.ring; /* read_pointer is the low half (LE) */
	uint64_t old = __atomic_load_n(full, __ATOMIC_ACQUIRE), new;

	do {
		uint32_t rp = (uint32_t)old, wp = (uint32_t)(old >> 32);
		new = ((uint64_t)(wp - slots) << 32) | (uint32_t)(rp - slots);
	} while (!__atomic_compare_exchange_n(full, &old, new, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
}

static unsigned posted_extra;

static int dev_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size, bool is_write,
		      uint64_t *value, int32_t vcpu)
{
	struct access *a;

	if (t.n >= MAX_TRACE)
		return -ENOSPC;
	a = &t.trace[t.n++];
	a->space = space;
	a->addr = addr;
	a->size = size;
	a->is_write = is_write;
	a->value = *value;
	a->vcpu = vcpu;
	if (t.rebase_at && t.n == t.rebase_at)
		xen_rebase(IOREQ_BUFFER_SLOT_NUM * 3);
	if (t.post_on_access && xen_buf_post(IOREQ_TYPE_PIO, 4, 0x80, t.n))
		posted_extra++;
	return 0;
}

/* -------------------------------------------------------------- fixtures */

static void ring_start(uint32_t pointer)
{
	t.ring.read_pointer = pointer;
	t.ring.write_pointer = pointer;
}

static int setup(void **state)
{
	struct ioreq_engine_config cfg = {
	    .shared = &t.shared,
	    .nr_vcpus = 1,
	    .buffered = &t.ring,
	    .io = &io,
	    .ops = &ops,
	};

	memset(&t, 0, sizeof(t));
	posted_extra = 0;
	return ioreq_engine_create(&cfg, &engine);
}

static int teardown(void **state)
{
	ioreq_engine_destroy(engine);
	engine = NULL;
	return 0;
}

static void check(unsigned i, enum vdev_space space, uint64_t addr, unsigned size, uint64_t value)
{
	assert_true(i < t.n);
	assert_int_equal(t.trace[i].space, space);
	assert_int_equal(t.trace[i].addr, addr);
	assert_int_equal(t.trace[i].size, size);
	assert_true(t.trace[i].is_write);
	assert_int_equal(t.trace[i].value, value);
}

/* ------------------------------------------------------------------ tests */

static void test_no_ring(void **state)
{
	struct ioreq_engine_config cfg = {
	    .shared = &t.shared,
	    .nr_vcpus = 1,
	    .io = &io,
	    .ops = &ops,
	};
	struct ioreq_engine *e;

	assert_int_equal(ioreq_engine_create(&cfg, &e), 0);
	assert_int_equal(ioreq_engine_drain_buffered(e), 0);
	ioreq_engine_destroy(e);
	assert_int_equal(ioreq_engine_drain_buffered(engine), 0); /* empty ring */
}

static void test_single_writes(void **state)
{
	assert_true(xen_buf_post(IOREQ_TYPE_COPY, 1, 0xa0000, 0x5a));
	assert_true(xen_buf_post(IOREQ_TYPE_COPY, 2, 0xa0002, 0xbeef));
	assert_true(xen_buf_post(IOREQ_TYPE_PIO, 4, 0x3c4, 0x12345678));
	assert_true(xen_buf_post(IOREQ_TYPE_COPY, 4, 0xfffff, 0xcafe));
	assert_int_equal(ioreq_engine_drain_buffered(engine), 4);
	assert_int_equal(t.n, 4);
	check(0, VDEV_SPACE_MMIO, 0xa0000, 1, 0x5a);
	check(1, VDEV_SPACE_MMIO, 0xa0002, 2, 0xbeef);
	check(2, VDEV_SPACE_PIO, 0x3c4, 4, 0x12345678);
	check(3, VDEV_SPACE_MMIO, 0xfffff, 4, 0xcafe);
	assert_int_equal(rp_now(), 4);
	assert_int_equal(wp_now(), 4);
	assert_int_equal(ioreq_engine_drain_buffered(engine), 0);
	assert_int_equal(t.n_errors, 0);
}

static void test_eight_byte_pair(void **state)
{
	ring_start(100);
	assert_true(xen_buf_post(IOREQ_TYPE_COPY, 8, 0xa8000, 0x1122334455667788ULL));
	assert_true(xen_buf_post(IOREQ_TYPE_COPY, 1, 0xa8008, 0x99));
	assert_int_equal(wp_now(), 103);
	assert_int_equal(ioreq_engine_drain_buffered(engine), 2);
	assert_int_equal(t.n, 2);
	check(0, VDEV_SPACE_MMIO, 0xa8000, 8, 0x1122334455667788ULL);
	check(1, VDEV_SPACE_MMIO, 0xa8008, 1, 0x99);
	assert_int_equal(rp_now(), 103);
}

static void test_eight_byte_pair_across_wrap(void **state)
{
	/* slot 510 holds the low half, slot 0 the high half */
	ring_start(IOREQ_BUFFER_SLOT_NUM - 1);
	assert_true(xen_buf_post(IOREQ_TYPE_COPY, 8, 0xb0000, 0xfedcba9876543210ULL));
	assert_int_equal(t.ring.buf_ioreq[510].data, 0x76543210);
	assert_int_equal(t.ring.buf_ioreq[0].data, 0xfedcba98);
	assert_true(xen_buf_post(IOREQ_TYPE_PIO, 2, 0x3d4, 0x0e11));
	assert_int_equal(ioreq_engine_drain_buffered(engine), 2);
	check(0, VDEV_SPACE_MMIO, 0xb0000, 8, 0xfedcba9876543210ULL);
	check(1, VDEV_SPACE_PIO, 0x3d4, 2, 0x0e11);
	assert_int_equal(rp_now(), IOREQ_BUFFER_SLOT_NUM + 2);
}

static void test_many_entries_wrap(void **state)
{
	uint64_t expect[64];
	unsigned sizes[64], n = 0;

	ring_start(480);
	for (unsigned i = 0; i < 40; i++) {
		unsigned size = 1u << (i % 4);
		uint64_t v = 0x0101010101010101ULL * (i + 1) + i;

		assert_true(xen_buf_post(IOREQ_TYPE_COPY, size, 0xa0000 + 8 * i, v));
		expect[n] = size == 8 ? v : v & ((1ULL << (size * 8)) - 1);
		sizes[n++] = size;
	}
	assert_int_equal(ioreq_engine_drain_buffered(engine), 40);
	assert_int_equal(t.n, 40);
	for (unsigned i = 0; i < n; i++)
		check(i, VDEV_SPACE_MMIO, 0xa0000 + 8 * i, sizes[i], expect[i]);
	assert_int_equal(rp_now(), wp_now());
}

static void test_read_pointer_atomic_advance(void **state)
{
	/*
	 * While the DM handles the 3rd entry, Xen rebases both pointers by
	 * 3 * 511. A consumer that stored its own rp + n would leave
	 * read_pointer 1533 slots ahead of write_pointer; the atomic add
	 * keeps them equal, and no entry is lost or repeated.
	 */
	ring_start(2000);
	for (unsigned i = 0; i < 6; i++)
		assert_true(xen_buf_post(IOREQ_TYPE_COPY, i == 2 ? 8 : 1, 0x80 + i, 0x10 + i));
	t.rebase_at = 3;
	assert_int_equal(ioreq_engine_drain_buffered(engine), 6);
	assert_int_equal(t.n, 6);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(t.trace[i].addr, 0x80 + i);
	assert_int_equal(t.trace[2].value, 0x12);
	assert_int_equal(t.n_errors, 0);
	assert_int_equal(wp_now(), 2000 + 7 - 3 * IOREQ_BUFFER_SLOT_NUM);
	assert_int_equal(rp_now(), wp_now());
}

static void test_timeoffset_pair(void **state)
{
	ring_start(IOREQ_BUFFER_SLOT_NUM * 2 - 1); /* the pair wraps again */
	assert_true(xen_buf_post(IOREQ_TYPE_TIMEOFFSET, 8, 0, (uint64_t)-86400000LL));
	assert_true(xen_buf_post(IOREQ_TYPE_TIMEOFFSET, 8, 0, 5));
	assert_int_equal(ioreq_engine_drain_buffered(engine), 2);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.n_deltas, 2);
	assert_int_equal(t.deltas[0], -86400000LL);
	assert_int_equal(t.deltas[1], 5);
}

static void test_half_published_pair_waits(void **state)
{
	buf_ioreq_t lo = {.type = IOREQ_TYPE_COPY,
			  .dir = IOREQ_WRITE,
			  .size = 3,
			  .addr = 0xa0000,
			  .data = 0x44332211};
	buf_ioreq_t hi = lo;

	ring_start(7);
	memcpy(&t.ring.buf_ioreq[7], &lo, sizeof(lo));
	__atomic_store_n(&t.ring.write_pointer, 8, __ATOMIC_RELEASE);
	assert_int_equal(ioreq_engine_drain_buffered(engine), 0);
	assert_int_equal(rp_now(), 7);
	assert_int_equal(t.n, 0);
	hi.data = 0x88776655;
	memcpy(&t.ring.buf_ioreq[8], &hi, sizeof(hi));
	__atomic_store_n(&t.ring.write_pointer, 9, __ATOMIC_RELEASE);
	assert_int_equal(ioreq_engine_drain_buffered(engine), 1);
	check(0, VDEV_SPACE_MMIO, 0xa0000, 8, 0x8877665544332211ULL);
	assert_int_equal(rp_now(), 9);
}

static void test_bad_entries_skipped(void **state)
{
	buf_ioreq_t rd = {.type = IOREQ_TYPE_PIO, .dir = IOREQ_READ, .size = 0, .addr = 0x60};
	buf_ioreq_t odd = {.type = 0x42, .dir = IOREQ_WRITE, .size = 2, .addr = 0x60};

	memcpy(&t.ring.buf_ioreq[0], &rd, sizeof(rd));
	memcpy(&t.ring.buf_ioreq[1], &odd, sizeof(odd));
	__atomic_store_n(&t.ring.write_pointer, 2, __ATOMIC_RELEASE);
	assert_true(xen_buf_post(IOREQ_TYPE_PIO, 1, 0x61, 0x7));
	assert_int_equal(ioreq_engine_drain_buffered(engine), 3);
	assert_int_equal(t.n_errors, 2);
	assert_int_equal(t.errors[0], -EPROTO);
	assert_int_equal(t.errors[1], -EPROTO);
	assert_int_equal(t.n, 1);
	check(0, VDEV_SPACE_PIO, 0x61, 1, 0x7);
	assert_int_equal(rp_now(), 3);
}

static void test_garbage_pointers_dropped(void **state)
{
	ring_start(10);
	__atomic_store_n(&t.ring.write_pointer, 10 + 600, __ATOMIC_RELEASE);
	assert_int_equal(ioreq_engine_drain_buffered(engine), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.n_errors, 1);
	assert_int_equal(rp_now(), 610);
}

static void test_full_ring_and_bounded_drain(void **state)
{
	unsigned posted = 0;

	/* Xen's full rule (wp - rp >= 511 - qw): 511 single slots, then it refuses */
	while (xen_buf_post(IOREQ_TYPE_PIO, 4, 0x80, posted))
		posted++;
	assert_int_equal(posted, IOREQ_BUFFER_SLOT_NUM);
	assert_false(xen_buf_post(IOREQ_TYPE_PIO, 8, 0x80, 0));

	/*
	 * The producer posts again during each access once a slot is free, so
	 * the ring never empties: one call stops after one ring's worth.
	 */
	t.post_on_access = 1;
	assert_int_equal(ioreq_engine_drain_buffered(engine), IOREQ_BUFFER_SLOT_NUM);
	assert_int_equal(t.n, IOREQ_BUFFER_SLOT_NUM);
	for (unsigned i = 0; i < posted; i++)
		assert_int_equal(t.trace[i].value, i);
	/* access 1 found the ring full; accesses 2..511 each posted one */
	assert_int_equal(posted_extra, IOREQ_BUFFER_SLOT_NUM - 1);
	t.post_on_access = 0;
	assert_int_equal(wp_now() - rp_now(), posted_extra);
	assert_int_equal(ioreq_engine_drain_buffered(engine), (int)posted_extra);
	for (unsigned i = 0; i < posted_extra; i++)
		assert_int_equal(t.trace[posted + i].value, i + 2);
	assert_int_equal(rp_now(), wp_now());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_no_ring, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_single_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eight_byte_pair, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eight_byte_pair_across_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_entries_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_pointer_atomic_advance, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeoffset_pair, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_half_published_pair_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_entries_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_pointers_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_ring_and_bounded_drain, setup, teardown),
	};

	return cmocka_run_group_tests_name("ioreq_buffered", tests, NULL, NULL);
}
