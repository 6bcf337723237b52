/*
 * tests/unit/test_request.c: dm_request_execute against every row of
 * xen-ioreq.md 3.1 (in/out, rep ins/outs, MMIO mov, rep movs both ways,
 * rep stos, PCI config), df up and down, guest buffers straddling a page
 * and the end of RAM, count 0, bad sizes and wrapping ranges.
 *
 * The device side is a recording dispatcher: every access is appended to a
 * trace (space, address, size, direction, value), reads answer from a
 * deterministic pattern (optionally with garbage above `size`), and an
 * access can be made to fail. Guest RAM is a 3-page array at RAM_BASE with
 * the bounds checks the real host does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "devmodel/request.h"

#define RAM_BASE 0x10000ULL
#define RAM_SIZE 0x3000ULL
#define RAM_END	 (RAM_BASE + RAM_SIZE)
#define MAX_OPS	 4096

struct op {
	enum vdev_space space;
	uint64_t addr;
	unsigned size;
	bool is_write;
	uint64_t value;
	int32_t vcpu;
};

struct testdev {
	struct op ops[MAX_OPS];
	unsigned n;
	unsigned fail_at; /* 1-based access number that fails; 0 = never */
	int fail_err;
	bool garbage; /* reads set bits above size */
	unsigned mem_reads, mem_writes;
	uint8_t ram[RAM_SIZE];
};

static struct testdev dev;

/* What the device returns for a read: depends on the address and order. */
static uint64_t pattern(uint64_t addr, unsigned nth)
{
	return 0x8877665544332211ULL ^ (addr * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)nth << 8);
}

static uint64_t mask(unsigned size)
{
	return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static int dev_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size, bool is_write,
		      uint64_t *value, int32_t vcpu)
{
	struct testdev *d = ctx;
	struct op *op;

	if (d->n >= MAX_OPS)
		return -ENOSPC;
	op = &d->ops[d->n++];
	op->space = space;
	op->addr = addr;
	op->size = size;
	op->is_write = is_write;
	op->vcpu = vcpu;
	if (d->fail_at && d->n == d->fail_at) {
		op->value = 0;
		return d->fail_err;
	}
	if (!is_write) {
		uint64_t v = pattern(addr, d->n);
		*value = d->garbage ? v : v & mask(size);
	}
	op->value = *value;
	return 0;
}

static bool in_ram(uint64_t gpa, size_t length)
{
	return gpa >= RAM_BASE && length <= RAM_SIZE && gpa - RAM_BASE <= RAM_SIZE - length;
}

static int dev_mem_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	struct testdev *d = ctx;

	d->mem_reads++;
	if (!in_ram(gpa, length))
		return -EFAULT;
	memcpy(buf, d->ram + (gpa - RAM_BASE), length);
	return 0;
}

static int dev_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	struct testdev *d = ctx;

	d->mem_writes++;
	if (!in_ram(gpa, length))
		return -EFAULT;
	memcpy(d->ram + (gpa - RAM_BASE), buf, length);
	return 0;
}

static const struct dm_io io = {
    .access = dev_access,
    .mem_read = dev_mem_read,
    .mem_write = dev_mem_write,
    .ctx = &dev,
};

static int setup(void **state)
{
	memset(&dev, 0, sizeof(dev));
	for (size_t i = 0; i < RAM_SIZE; i++)
		dev.ram[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

static uint8_t *ram_at(uint64_t gpa)
{
	return dev.ram + (gpa - RAM_BASE);
}

static uint64_t ram_le(uint64_t gpa, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = size; i-- > 0;)
		v = (v << 8) | ram_at(gpa)[i];
	return v;
}

static void check_op(unsigned i, enum vdev_space space, uint64_t addr, unsigned size, bool is_write,
		     uint64_t value)
{
	assert_true(i < dev.n);
	assert_int_equal(dev.ops[i].space, space);
	assert_int_equal(dev.ops[i].addr, addr);
	assert_int_equal(dev.ops[i].size, size);
	assert_int_equal(dev.ops[i].is_write, is_write);
	assert_int_equal(dev.ops[i].value, value);
}

/* ---- single accesses: in/out and MMIO mov (row 1) ---- */

static void test_out_masks_data(void **state)
{
	struct dm_request r = {.space = VDEV_SPACE_PIO,
			       .addr = 0x3f8,
			       .size = 2,
			       .count = 1,
			       .dir = DM_WRITE,
			       .data = 0xdeadbeefcafef00dULL,
			       .vcpu = 3};

	assert_int_equal(dm_request_execute(&io, &r), 0);
	assert_int_equal(dev.n, 1);
	check_op(0, VDEV_SPACE_PIO, 0x3f8, 2, true, 0xf00d);
	assert_int_equal(dev.ops[0].vcpu, 3);
	assert_int_equal(dev.mem_reads + dev.mem_writes, 0);
}

static void test_in_zero_extends(void **state)
{
	struct dm_request r = {.space = VDEV_SPACE_PIO,
			       .addr = 0x60,
			       .size = 1,
			       .count = 1,
			       .dir = DM_READ,
			       .data = ~0ULL};

	dev.garbage = true;
	assert_int_equal(dm_request_execute(&io, &r), 0);
	assert_int_equal(dev.n, 1);
	assert_false(dev.ops[0].is_write);
	assert_int_equal(r.data, pattern(0x60, 1) & 0xff);
}

static void test_mmio_mov_sizes(void **state)
{
	static const unsigned sizes[] = {1, 2, 4, 8};

	dev.garbage = true;
	for (unsigned i = 0; i < 4; i++) {
		unsigned s = sizes[i];
		struct dm_request w = {.space = VDEV_SPACE_MMIO,
				       .addr = 0xfe000000 + 8 * i,
				       .size = (uint8_t)s,
				       .count = 1,
				       .dir = DM_WRITE,
				       .data = 0x0123456789abcdefULL};
		struct dm_request rd = {.space = VDEV_SPACE_MMIO,
					.addr = 0xfe001000 + 8 * i,
					.size = (uint8_t)s,
					.count = 1,
					.dir = DM_READ,
					.data = 0x5555555555555555ULL};

		assert_int_equal(dm_request_execute(&io, &w), 0);
		check_op(dev.n - 1, VDEV_SPACE_MMIO, 0xfe000000 + 8 * i, s, true,
			 0x0123456789abcdefULL & mask(s));
		assert_int_equal(dm_request_execute(&io, &rd), 0);
		assert_int_equal(rd.data, pattern(0xfe001000 + 8 * i, dev.n) & mask(s));
	}
	assert_int_equal(dev.n, 8);
}

/* ---- rep outs / rep ins (row 2) ---- */

static void test_rep_outs_up(void **state)
{
	uint64_t buf = RAM_BASE + 0x100;
	struct dm_request r = {.space = VDEV_SPACE_PIO,
			       .addr = 0x1f0,
			       .size = 2,
			       .count = 5,
			       .dir = DM_WRITE,
			       .data_is_ptr = true,
			       .data = buf};

	assert_int_equal(dm_request_execute(&io, &r), 0);
	assert_int_equal(dev.n, 5);
	for (unsigned i = 0; i < 5; i++)
		check_op(i, VDEV_SPACE_PIO, 0x1f0, 2, true, ram_le(buf + 2 * i, 2));
	assert_int_equal(r.data, buf);
}

static void test_rep_outs_down(void **state)
{
	uint64_t buf = RAM_BASE + 0x200;
	struct dm_request r = {.space = VDEV_SPACE_PIO,
			       .addr = 0x1f0,
			       .size = 4,
			       .count = 4,
			       .dir = DM_WRITE,
			       .data_is_ptr = true,
			       .df = true,
			       .data = buf};

	assert_int_equal(dm_request_execute(&io, &r), 0);
	assert_int_equal(dev.n, 4);
	for (unsigned i = 0; i < 4; i++)
		check_op(i, VDEV_SPACE_PIO, 0x1f0, 4, true, ram_le(buf - 4 * i, 4));
}

static void test_rep_ins_up_and_down(void **state)
{
	uint64_t buf = RAM_BASE + 0x400;
	struct dm_request up = {.space = VDEV_SPACE_PIO,
				.addr = 0x170,
				.size = 4,
				.count = 3,
				.dir = DM_READ,
				.data_is_ptr = true,
				.data = buf};
	struct dm_request down = {.space = VDEV_SPACE_PIO,
				  .addr = 0x171,
				  .size = 2,
				  .count = 3,
				  .dir = DM_READ,
				  .data_is_ptr = true,
				  .df = true,
				  .data = buf + 0x100};
	uint8_t before[0x200];

	dev.garbage = true; /* bits above size must not reach RAM */
	memcpy(before, ram_at(buf - 0x10), sizeof(before));
	assert_int_equal(dm_request_execute(&io, &up), 0);
	assert_int_equal(dev.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(dev.ops[i].addr, 0x170);
		assert_false(dev.ops[i].is_write);
		assert_int_equal(ram_le(buf + 4 * i, 4), pattern(0x170, i + 1) & 0xffffffff);
	}
	assert_int_equal(up.data, buf);
	/* bytes around the buffer untouched */
	assert_memory_equal(ram_at(buf - 0x10), before, 0x10);
	assert_memory_equal(ram_at(buf + 12), before + 0x10 + 12, 0x40);

	assert_int_equal(dm_request_execute(&io, &down), 0);
	assert_int_equal(dev.n, 6);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(ram_le(buf + 0x100 - 2 * i, 2), pattern(0x171, 4 + i) & 0xffff);
	/* the byte above item 0 and below item 2 are untouched */
	assert_int_equal(*ram_at(buf + 0x102), before[0x10 + 0x102]);
	assert_int_equal(*ram_at(buf + 0xfb), before[0x10 + 0xfb]);
}

/* ---- rep movs (row 3) ---- */

static void test_rep_movs_ram_to_mmio(void **state)
{
	static const bool dfs[] = {false, true};

	for (unsigned k = 0; k < 2; k++) {
		uint64_t buf = RAM_BASE + 0x800, mmio = 0xfed00100;
		struct dm_request r = {.space = VDEV_SPACE_MMIO,
				       .addr = mmio,
				       .size = 8,
				       .count = 6,
				       .dir = DM_WRITE,
				       .data_is_ptr = true,
				       .df = dfs[k],
				       .data = buf};

		dev.n = 0;
		assert_int_equal(dm_request_execute(&io, &r), 0);
		assert_int_equal(dev.n, 6);
		for (unsigned i = 0; i < 6; i++) {
			uint64_t step = 8 * i;
			check_op(i, VDEV_SPACE_MMIO, dfs[k] ? mmio - step : mmio + step, 8, true,
				 ram_le(dfs[k] ? buf - step : buf + step, 8));
		}
	}
}

static void test_rep_movs_mmio_to_ram(void **state)
{
	static const bool dfs[] = {false, true};

	for (unsigned k = 0; k < 2; k++) {
		uint64_t buf = RAM_BASE + 0x1800, mmio = 0xfed00800;
		struct dm_request r = {.space = VDEV_SPACE_MMIO,
				       .addr = mmio,
				       .size = 2,
				       .count = 7,
				       .dir = DM_READ,
				       .data_is_ptr = true,
				       .df = dfs[k],
				       .data = buf};

		dev.n = 0;
		assert_int_equal(dm_request_execute(&io, &r), 0);
		assert_int_equal(dev.n, 7);
		for (unsigned i = 0; i < 7; i++) {
			uint64_t step = 2 * i;
			uint64_t a = dfs[k] ? mmio - step : mmio + step;

			assert_int_equal(dev.ops[i].addr, a);
			assert_false(dev.ops[i].is_write);
			assert_int_equal(ram_le(dfs[k] ? buf - step : buf + step, 2),
					 pattern(a, i + 1) & 0xffff);
		}
	}
}

/* ---- rep stos to MMIO (row 4): same value, moving address ---- */

static void test_rep_stos(void **state)
{
	struct dm_request up = {.space = VDEV_SPACE_MMIO,
				.addr = 0xa0000,
				.size = 4,
				.count = 5,
				.dir = DM_WRITE,
				.data = 0xffffffff11223344ULL};
	struct dm_request down = {.space = VDEV_SPACE_MMIO,
				  .addr = 0xa1000,
				  .size = 1,
				  .count = 3,
				  .dir = DM_WRITE,
				  .df = true,
				  .data = 0x1ab};

	assert_int_equal(dm_request_execute(&io, &up), 0);
	assert_int_equal(dm_request_execute(&io, &down), 0);
	assert_int_equal(dev.n, 8);
	for (unsigned i = 0; i < 5; i++)
		check_op(i, VDEV_SPACE_MMIO, 0xa0000 + 4 * i, 4, true, 0x11223344);
	for (unsigned i = 0; i < 3; i++)
		check_op(5 + i, VDEV_SPACE_MMIO, 0xa1000 - i, 1, true, 0xab);
	assert_int_equal(dev.mem_reads + dev.mem_writes, 0);
}

/* A value read with count > 1 (not sent by Xen) reads every item, keeps the last. */
static void test_read_count_keeps_last(void **state)
{
	struct dm_request r = {
	    .space = VDEV_SPACE_MMIO, .addr = 0x1000, .size = 4, .count = 3, .dir = DM_READ};

	assert_int_equal(dm_request_execute(&io, &r), 0);
	assert_int_equal(dev.n, 3);
	assert_int_equal(dev.ops[2].addr, 0x1008);
	assert_int_equal(r.data, pattern(0x1008, 3) & 0xffffffff);
}

/* ---- PCI config ---- */

static void test_pcicfg(void **state)
{
	uint64_t a = VDEV_PCICFG_ADDR(0, 3, 0, 0x10);
	struct dm_request rd = {
	    .space = VDEV_SPACE_PCICFG, .addr = a, .size = 4, .count = 1, .dir = DM_READ};
	struct dm_request wp = {.space = VDEV_SPACE_PCICFG,
				.addr = a,
				.size = 2,
				.count = 1,
				.dir = DM_WRITE,
				.data_is_ptr = true,
				.data = RAM_BASE + 6};
	struct dm_request two = {.space = VDEV_SPACE_PCICFG,
				 .addr = a,
				 .size = 4,
				 .count = 2,
				 .dir = DM_WRITE,
				 .data = 1};

	assert_int_equal(dm_request_execute(&io, &rd), 0);
	assert_int_equal(rd.data, pattern(a, 1) & 0xffffffff);
	assert_int_equal(dm_request_execute(&io, &wp), 0);
	check_op(1, VDEV_SPACE_PCICFG, a, 2, true, ram_le(RAM_BASE + 6, 2));
	assert_int_equal(dm_request_execute(&io, &two), -EINVAL);
	assert_int_equal(dev.n, 2);
}

/* ---- count 0: nothing at all, every form ---- */

/* A count no real hypervisor sends (2^32 - 1 port writes) is refused
 * before anything runs, instead of holding the vCPU thread for minutes. */
static void test_count_cap(void **state)
{
	struct dm_request huge = {.space = VDEV_SPACE_PIO,
				  .addr = 0x80,
				  .size = 1,
				  .count = 0xffffffffu,
				  .dir = DM_WRITE,
				  .data = 5};
	struct dm_request most = huge;

	assert_int_equal(dm_request_execute(&io, &huge), -E2BIG);
	assert_int_equal(dev.n, 0);
	most.count = DM_REQUEST_MAX_COUNT + 1;
	assert_int_equal(dm_request_execute(&io, &most), -E2BIG);
	most.count = 16;
	assert_int_equal(dm_request_execute(&io, &most), 0);
	assert_int_equal(dev.n, 16);
}

static void test_count_zero(void **state)
{
	struct dm_request forms[] = {
	    {.space = VDEV_SPACE_PIO, .addr = 0x80, .size = 1, .dir = DM_WRITE, .data = 5},
	    {.space = VDEV_SPACE_PIO, .addr = 0x80, .size = 1, .dir = DM_READ, .data = 77},
	    {.space = VDEV_SPACE_PIO,
	     .addr = 0x80,
	     .size = 2,
	     .dir = DM_READ,
	     .data_is_ptr = true,
	     .data = RAM_BASE},
	    {.space = VDEV_SPACE_MMIO,
	     .addr = 0x1000,
	     .size = 4,
	     .dir = DM_WRITE,
	     .data_is_ptr = true,
	     .df = true,
	     .data = RAM_BASE},
	    {.space = VDEV_SPACE_MMIO, .addr = 0x1000, .size = 8, .dir = DM_READ, .data = 99},
	    /* an address that would wrap with any item is still fine with none */
	    {.space = VDEV_SPACE_MMIO, .addr = ~0ULL, .size = 8, .dir = DM_WRITE},
	};
	uint8_t before[RAM_SIZE];

	memcpy(before, dev.ram, RAM_SIZE);
	for (unsigned i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		uint64_t data = forms[i].data;

		assert_int_equal(dm_request_execute(&io, &forms[i]), 0);
		assert_int_equal(forms[i].data, data);
	}
	assert_int_equal(dev.n, 0);
	assert_int_equal(dev.mem_reads + dev.mem_writes, 0);
	assert_memory_equal(dev.ram, before, RAM_SIZE);
	/* but a bad size is refused even with count 0 */
	forms[0].size = 3;
	assert_int_equal(dm_request_execute(&io, &forms[0]), -EINVAL);
}

/* ---- refused requests: no device call ---- */

static void test_bad_sizes(void **state)
{
	static const uint8_t bad[] = {0, 3, 5, 6, 7, 9, 16, 255};

	for (unsigned i = 0; i < sizeof(bad); i++) {
		struct dm_request r = {.space = VDEV_SPACE_MMIO,
				       .addr = 0x1000,
				       .size = bad[i],
				       .count = 1,
				       .dir = DM_WRITE,
				       .data = 1};
		struct dm_request rd = {.space = VDEV_SPACE_PIO,
					.addr = 0x10,
					.size = bad[i],
					.count = 1,
					.dir = DM_READ,
					.data = 42};

		assert_int_equal(dm_request_execute(&io, &r), -EINVAL);
		assert_int_equal(dm_request_execute(&io, &rd), -EINVAL);
		assert_int_equal(rd.data, 42);
	}
	{
		struct dm_request pio8 = {
		    .space = VDEV_SPACE_PIO, .addr = 0x10, .size = 8, .count = 1, .dir = DM_WRITE};
		struct dm_request space = {.space = (enum vdev_space)7,
					   .addr = 0x10,
					   .size = 4,
					   .count = 1,
					   .dir = DM_WRITE};

		assert_int_equal(dm_request_execute(&io, &pio8), -EINVAL);
		assert_int_equal(dm_request_execute(&io, &space), -EINVAL);
	}
	assert_int_equal(dev.n, 0);
}

static void test_wrapping_ranges(void **state)
{
	struct dm_request ok_top = {.space = VDEV_SPACE_MMIO,
				    .addr = 0xfffffffffffffffcULL,
				    .size = 4,
				    .count = 1,
				    .dir = DM_WRITE,
				    .data = 1};
	struct dm_request up = {.space = VDEV_SPACE_MMIO,
				.addr = 0xfffffffffffffffcULL,
				.size = 4,
				.count = 2,
				.dir = DM_WRITE,
				.data = 1};
	struct dm_request top_item = {.space = VDEV_SPACE_MMIO,
				      .addr = 0xfffffffffffffffeULL,
				      .size = 4,
				      .count = 1,
				      .dir = DM_WRITE,
				      .data = 1};
	struct dm_request down = {.space = VDEV_SPACE_MMIO,
				  .addr = 4,
				  .size = 4,
				  .count = 3,
				  .dir = DM_WRITE,
				  .df = true,
				  .data = 1};
	struct dm_request down_ok = {.space = VDEV_SPACE_MMIO,
				     .addr = 8,
				     .size = 4,
				     .count = 3,
				     .dir = DM_WRITE,
				     .df = true,
				     .data = 1};
	struct dm_request ram_wrap = {.space = VDEV_SPACE_PIO,
				      .addr = 0x10,
				      .size = 2,
				      .count = 4,
				      .dir = DM_READ,
				      .data_is_ptr = true,
				      .df = true,
				      .data = 2};
	struct dm_request ram_wrap_up = {.space = VDEV_SPACE_MMIO,
					 .addr = 0x1000,
					 .size = 8,
					 .count = 2,
					 .dir = DM_WRITE,
					 .data_is_ptr = true,
					 .data = 0xfffffffffffffff8ULL};
	/* ports do not move: a long rep at the top port is no wrap */
	struct dm_request pio_rep = {.space = VDEV_SPACE_PIO,
				     .addr = 0xfffffffffffffffcULL,
				     .size = 4,
				     .count = 3,
				     .dir = DM_WRITE,
				     .data = 9};

	assert_int_equal(dm_request_execute(&io, &up), -EINVAL);
	assert_int_equal(dm_request_execute(&io, &top_item), -EINVAL);
	assert_int_equal(dm_request_execute(&io, &down), -EINVAL);
	assert_int_equal(dm_request_execute(&io, &ram_wrap), -EINVAL);
	assert_int_equal(dm_request_execute(&io, &ram_wrap_up), -EINVAL);
	assert_int_equal(dev.n, 0);
	assert_int_equal(dev.mem_reads + dev.mem_writes, 0);

	assert_int_equal(dm_request_execute(&io, &ok_top), 0);
	assert_int_equal(dm_request_execute(&io, &down_ok), 0);
	assert_int_equal(dm_request_execute(&io, &pio_rep), 0);
	assert_int_equal(dev.n, 7);
	check_op(0, VDEV_SPACE_MMIO, 0xfffffffffffffffcULL, 4, true, 1);
	check_op(3, VDEV_SPACE_MMIO, 0, 4, true, 1);
	check_op(6, VDEV_SPACE_PIO, 0xfffffffffffffffcULL, 4, true, 9);
}

/* ---- guest buffers straddling a page and the end of RAM ---- */

static void test_item_straddles_page(void **state)
{
	uint64_t gpa = RAM_BASE + 0x1000 - 3; /* 3 bytes in page 0, 5 in page 1 */
	struct dm_request w = {.space = VDEV_SPACE_MMIO,
			       .addr = 0xfe000000,
			       .size = 8,
			       .count = 1,
			       .dir = DM_WRITE,
			       .data_is_ptr = true,
			       .data = gpa};
	struct dm_request r = {.space = VDEV_SPACE_PIO,
			       .addr = 0x40,
			       .size = 4,
			       .count = 1,
			       .dir = DM_READ,
			       .data_is_ptr = true,
			       .data = RAM_BASE + 0x2000 - 1};

	assert_int_equal(dm_request_execute(&io, &w), 0);
	check_op(0, VDEV_SPACE_MMIO, 0xfe000000, 8, true, ram_le(gpa, 8));
	assert_int_equal(dm_request_execute(&io, &r), 0);
	assert_int_equal(ram_le(RAM_BASE + 0x2000 - 1, 4), pattern(0x40, 2) & 0xffffffff);
}

static void test_rep_buffer_straddles_pages(void **state)
{
	/* 600 bytes across the page boundary, down and up, size 1 (chunked) */
	static const bool dfs[] = {false, true};

	for (unsigned k = 0; k < 2; k++) {
		uint64_t buf = dfs[k] ? RAM_BASE + 0x1000 + 299 : RAM_BASE + 0x1000 - 300;
		struct dm_request r = {.space = VDEV_SPACE_PIO,
				       .addr = 0xe9,
				       .size = 1,
				       .count = 600,
				       .dir = DM_WRITE,
				       .data_is_ptr = true,
				       .df = dfs[k],
				       .data = buf};

		dev.n = 0;
		assert_int_equal(dm_request_execute(&io, &r), 0);
		assert_int_equal(dev.n, 600);
		for (unsigned i = 0; i < 600; i++)
			check_op(i, VDEV_SPACE_PIO, 0xe9, 1, true,
				 *ram_at(dfs[k] ? buf - i : buf + i));
	}
}

static void test_rep_outs_end_of_ram(void **state)
{
	/* items 0 and 1 fit, item 2 straddles the end: stop there, -EFAULT */
	uint64_t buf = RAM_END - 10;
	struct dm_request r = {.space = VDEV_SPACE_PIO,
			       .addr = 0x1f0,
			       .size = 4,
			       .count = 4,
			       .dir = DM_WRITE,
			       .data_is_ptr = true,
			       .data = buf};
	/* going down from the start of RAM: items at base+4, base, base-4 */
	struct dm_request down = {.space = VDEV_SPACE_MMIO,
				  .addr = 0xfe000100,
				  .size = 4,
				  .count = 3,
				  .dir = DM_WRITE,
				  .data_is_ptr = true,
				  .df = true,
				  .data = RAM_BASE + 4};

	assert_int_equal(dm_request_execute(&io, &r), -EFAULT);
	assert_int_equal(dev.n, 2);
	check_op(0, VDEV_SPACE_PIO, 0x1f0, 4, true, ram_le(buf, 4));
	check_op(1, VDEV_SPACE_PIO, 0x1f0, 4, true, ram_le(buf + 4, 4));

	assert_int_equal(dm_request_execute(&io, &down), -EFAULT);
	assert_int_equal(dev.n, 4);
	check_op(2, VDEV_SPACE_MMIO, 0xfe000100, 4, true, ram_le(RAM_BASE + 4, 4));
	check_op(3, VDEV_SPACE_MMIO, 0xfe0000fc, 4, true, ram_le(RAM_BASE, 4));
}

static void test_rep_outs_chunk_partly_outside(void **state)
{
	/* 300 items, the first 280 in RAM: the second chunk falls back per item */
	uint64_t buf = RAM_END - 280;
	struct dm_request r = {.space = VDEV_SPACE_PIO,
			       .addr = 0x80,
			       .size = 1,
			       .count = 300,
			       .dir = DM_WRITE,
			       .data_is_ptr = true,
			       .data = buf};

	assert_int_equal(dm_request_execute(&io, &r), -EFAULT);
	assert_int_equal(dev.n, 280);
	for (unsigned i = 0; i < 280; i++)
		assert_int_equal(dev.ops[i].value, *ram_at(buf + i));
}

static void test_rep_ins_end_of_ram(void **state)
{
	/* the third item's RAM straddles the end: its port read has happened */
	uint64_t buf = RAM_END - 5;
	uint8_t before[5];
	struct dm_request r = {.space = VDEV_SPACE_PIO,
			       .addr = 0x60,
			       .size = 2,
			       .count = 4,
			       .dir = DM_READ,
			       .data_is_ptr = true,
			       .data = buf};

	memcpy(before, ram_at(buf), 5);
	assert_int_equal(dm_request_execute(&io, &r), -EFAULT);
	assert_int_equal(dev.n, 3);
	assert_int_equal(ram_le(buf, 2), pattern(0x60, 1) & 0xffff);
	assert_int_equal(ram_le(buf + 2, 2), pattern(0x60, 2) & 0xffff);
	/* the last byte, inside RAM, was not half-written */
	assert_int_equal(*ram_at(buf + 4), before[4]);
}

static void test_buffer_outside_ram(void **state)
{
	struct dm_request r = {.space = VDEV_SPACE_MMIO,
			       .addr = 0x1000,
			       .size = 4,
			       .count = 2,
			       .dir = DM_WRITE,
			       .data_is_ptr = true,
			       .data = 0x100};

	assert_int_equal(dm_request_execute(&io, &r), -EFAULT);
	assert_int_equal(dev.n, 0);
}

/* ---- device errors stop the rep; earlier items stay done ---- */

static void test_device_error_stops(void **state)
{
	struct dm_request r = {.space = VDEV_SPACE_MMIO,
			       .addr = 0x2000,
			       .size = 4,
			       .count = 6,
			       .dir = DM_WRITE,
			       .data = 0x77};
	struct dm_request ins = {.space = VDEV_SPACE_PIO,
				 .addr = 0x60,
				 .size = 1,
				 .count = 4,
				 .dir = DM_READ,
				 .data_is_ptr = true,
				 .data = RAM_BASE + 0x10};
	uint8_t before[4];

	dev.fail_at = 3;
	dev.fail_err = -EIO;
	assert_int_equal(dm_request_execute(&io, &r), -EIO);
	assert_int_equal(dev.n, 3);
	check_op(0, VDEV_SPACE_MMIO, 0x2000, 4, true, 0x77);
	check_op(1, VDEV_SPACE_MMIO, 0x2004, 4, true, 0x77);
	assert_int_equal(dev.ops[2].addr, 0x2008);

	dev.n = 0;
	dev.fail_at = 2;
	memcpy(before, ram_at(RAM_BASE + 0x10), 4);
	assert_int_equal(dm_request_execute(&io, &ins), -EIO);
	assert_int_equal(dev.n, 2);
	assert_int_equal(*ram_at(RAM_BASE + 0x10), pattern(0x60, 1) & 0xff);
	assert_memory_equal(ram_at(RAM_BASE + 0x11), before + 1, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_out_masks_data, setup),
	    cmocka_unit_test_setup(test_in_zero_extends, setup),
	    cmocka_unit_test_setup(test_mmio_mov_sizes, setup),
	    cmocka_unit_test_setup(test_rep_outs_up, setup),
	    cmocka_unit_test_setup(test_rep_outs_down, setup),
	    cmocka_unit_test_setup(test_rep_ins_up_and_down, setup),
	    cmocka_unit_test_setup(test_rep_movs_ram_to_mmio, setup),
	    cmocka_unit_test_setup(test_rep_movs_mmio_to_ram, setup),
	    cmocka_unit_test_setup(test_rep_stos, setup),
	    cmocka_unit_test_setup(test_read_count_keeps_last, setup),
	    cmocka_unit_test_setup(test_pcicfg, setup),
	    cmocka_unit_test_setup(test_count_zero, setup),
	    cmocka_unit_test_setup(test_count_cap, setup),
	    cmocka_unit_test_setup(test_bad_sizes, setup),
	    cmocka_unit_test_setup(test_wrapping_ranges, setup),
	    cmocka_unit_test_setup(test_item_straddles_page, setup),
	    cmocka_unit_test_setup(test_rep_buffer_straddles_pages, setup),
	    cmocka_unit_test_setup(test_rep_outs_end_of_ram, setup),
	    cmocka_unit_test_setup(test_rep_outs_chunk_partly_outside, setup),
	    cmocka_unit_test_setup(test_rep_ins_end_of_ram, setup),
	    cmocka_unit_test_setup(test_buffer_outside_ram, setup),
	    cmocka_unit_test_setup(test_device_error_stops, setup),
	};

	return cmocka_run_group_tests_name("request", tests, NULL, NULL);
}
