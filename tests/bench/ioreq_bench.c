/*
 * tests/bench/ioreq_bench.c: requests per second through the ioreq engine,
 * against a baseline of calling dm_request_execute directly, in the same
 * run and the same process.
 *
 * The engine side is the full synchronous protocol on a real
 * shared_iopage_t: a Xen-like poster writes the slot body and stores READY
 * (release), ioreq_engine_service_vcpu takes it (acquire, INPROCESS,
 * execute, release, IORESP_READY, notify), and the poster reads the state
 * back and sets NONE. No event channel is involved (notify only counts),
 * so the ratio isolates the protocol's cost over the request path itself.
 * The device is a sink that sums what it is given.
 *
 * Workloads: a single 1-byte PIO write (`out`), and `rep outsb` of 1024
 * bytes from guest RAM (one request, 1024 items).
 *
 * Output (see tests/bench/run): one line per workload,
 *   ioreq <workload>: engine <N> req/s, direct <N> req/s, ratio <engine/direct>
 * BENCH_SECONDS (default 0.3) is the time per measurement; the best of 3
 * rounds is kept for each side.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devmodel/ioreq_engine.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE 4096

static struct {
	shared_iopage_t page __attribute__((aligned(4096)));
	uint8_t pad[4096 - sizeof(shared_iopage_t)];
	uint8_t ram[RAM_SIZE];
	uint64_t sum;
	uint64_t accesses;
	uint64_t notifies;
} b;

static int sink_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size,
		       bool is_write, uint64_t *value, int32_t vcpu)
{
	b.accesses++;
	if (is_write)
		b.sum += *value;
	else
		*value = addr;
	return 0;
}

static int ram_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	if (gpa < RAM_BASE || length > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - length)
		return -EFAULT;
	memcpy(buf, b.ram + (gpa - RAM_BASE), length);
	return 0;
}

static int ram_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	if (gpa < RAM_BASE || length > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - length)
		return -EFAULT;
	memcpy(b.ram + (gpa - RAM_BASE), buf, length);
	return 0;
}

static int count_notify(void *ctx, uint32_t vcpu)
{
	b.notifies++;
	return 0;
}

static const struct dm_io io = {
    .access = sink_access, .mem_read = ram_read, .mem_write = ram_write};
static const struct ioreq_engine_ops ops = {.notify = count_notify};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct workload {
	const char *name;
	struct dm_request req; /* the direct baseline */
	ioreq_t slot;	       /* the same access as Xen posts it */
};

/* One posted-and-answered request, Xen's side of 1.4 included. */
static int engine_once(struct ioreq_engine *e, const ioreq_t *body)
{
	ioreq_t *s = &b.page.vcpu_ioreq[0];
	uint8_t *flags = (uint8_t *)s + 30;
	uint8_t f = ((const uint8_t *)body)[30] & 0xf0;

	s->addr = body->addr;
	s->data = body->data;
	s->count = body->count;
	s->size = body->size;
	s->type = body->type;
	__atomic_store_n(flags, f, __ATOMIC_RELAXED);
	__atomic_store_n(flags, (uint8_t)(f | STATE_IOREQ_READY), __ATOMIC_RELEASE);
	if (ioreq_engine_service_vcpu(e, 0) != 1)
		return -EPROTO;
	if ((__atomic_load_n(flags, __ATOMIC_ACQUIRE) & 0x0f) != STATE_IORESP_READY)
		return -EPROTO;
	__atomic_store_n(flags, f, __ATOMIC_RELAXED); /* NONE */
	return 0;
}

/* Requests per second, best of 3 rounds of `seconds` each. */
static double measure(struct ioreq_engine *e, const struct workload *w, double seconds)
{
	double best = 0;

	for (int round = 0; round < 3; round++) {
		double start = now_s(), elapsed;
		uint64_t n = 0;

		do {
			for (int i = 0; i < 256; i++) {
				int rc;

				if (e) {
					rc = engine_once(e, &w->slot);
				} else {
					struct dm_request r = w->req;
					rc = dm_request_execute(&io, &r);
				}
				if (rc < 0) {
					fprintf(stderr, "ioreq_bench: %s failed: %d\n", w->name,
						rc);
					exit(1);
				}
			}
			n += 256;
			elapsed = now_s() - start;
		} while (elapsed < seconds);
		if (n / elapsed > best)
			best = n / elapsed;
	}
	return best;
}

static void slot_flags(ioreq_t *s, bool ptr, bool dir_read, bool df)
{
	s->data_is_ptr = ptr;
	s->dir = dir_read;
	s->df = df;
	s->state = STATE_IOREQ_NONE;
}

int main(void)
{
	struct workload w[2] = {
	    {.name = "pio-write-1",
	     .req = {.space = VDEV_SPACE_PIO,
		     .addr = 0x80,
		     .size = 1,
		     .count = 1,
		     .dir = DM_WRITE,
		     .data = 0x5a},
	     .slot = {.addr = 0x80, .data = 0x5a, .count = 1, .size = 1, .type = IOREQ_TYPE_PIO}},
	    {.name = "rep-outsb-1024",
	     .req = {.space = VDEV_SPACE_PIO,
		     .addr = 0x1f0,
		     .size = 1,
		     .count = 1024,
		     .dir = DM_WRITE,
		     .data_is_ptr = true,
		     .data = RAM_BASE},
	     .slot = {.addr = 0x1f0,
		      .data = RAM_BASE,
		      .count = 1024,
		      .size = 1,
		      .type = IOREQ_TYPE_PIO}},
	};
	struct ioreq_engine_config cfg = {.shared = &b.page, .nr_vcpus = 1, .io = &io, .ops = &ops};
	const char *env = getenv("BENCH_SECONDS");
	double seconds = env ? atof(env) : 0.3;
	struct ioreq_engine *e;
	uint64_t expect_sum;

	if (seconds <= 0)
		seconds = 0.3;
	slot_flags(&w[0].slot, false, false, false);
	slot_flags(&w[1].slot, true, false, false);
	for (int i = 0; i < RAM_SIZE; i++)
		b.ram[i] = (uint8_t)i;
	if (ioreq_engine_create(&cfg, &e) < 0) {
		fprintf(stderr, "ioreq_bench: cannot create the engine\n");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		double direct, engine;
		uint64_t acc0 = b.accesses, not0 = b.notifies;

		/* sanity: one request of each kind does what it should */
		b.sum = 0;
		if (engine_once(e, &w[i].slot) < 0)
			return 1;
		expect_sum = i == 0 ? 0x5a : 1024 * 255 / 2;
		if (b.sum != expect_sum || b.accesses - acc0 != w[i].req.count ||
		    b.notifies - not0 != 1) {
			fprintf(stderr, "ioreq_bench: %s: wrong result (sum %llu)\n", w[i].name,
				(unsigned long long)b.sum);
			return 1;
		}
		direct = measure(NULL, &w[i], seconds);
		engine = measure(e, &w[i], seconds);
		printf("ioreq %s: engine %.0f req/s, direct %.0f req/s, ratio %.3f\n", w[i].name,
		       engine, direct, engine / direct);
	}
	ioreq_engine_destroy(e);
	return 0;
}
