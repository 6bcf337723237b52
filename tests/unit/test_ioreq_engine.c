/*
 * tests/unit/test_ioreq_engine.c: the synchronous ioreq protocol of
 * devmodel/ioreq_engine.c against a simulated Xen.
 *
 * The simulated hypervisor writes ioreq_t into a real shared_iopage_t the
 * way Xen's ioreq_send does: it refuses to post unless the slot is NONE,
 * writes the body with state NONE, then stores READY with release order and
 * raises the vCPU's event. It waits like wait_for_io: it samples the state,
 * and fails the test if it ever moves backwards or takes a value above 3,
 * takes `data` back only when ioreq_needs_completion says so, and sets NONE.
 *
 * Two harnesses:
 *  - direct: the engine runs in the test thread; the ops record what they
 *    see (including the slot's state at each device access, at invalidate
 *    and at notify), so the exact order of the protocol is asserted;
 *  - forked: the engine runs in a child process that shares the pages,
 *    guest RAM and the device trace with the test through a memfd, and
 *    gets events through eventfds, as a simulated hypervisor in another
 *    process would drive it. The parent is Xen and checks every response.
 *
 * The device side is a recording dispatcher: every access is appended to a
 * trace; reads answer a pattern of the address with garbage above `size`
 * (the path must mask it); an access can be made to fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devmodel/ioreq_engine.h"

#define NR_VCPUS  8
#define RAM_BASE  0x100000ULL
#define RAM_SIZE  0x4000ULL
#define MAX_TRACE 512
#define MAX_LOG	  64

/* ------------------------------------------------------------ shared world */

struct access {
	enum vdev_space space;
	uint64_t addr;
	uint32_t size;
	bool is_write;
	uint64_t value;
	int32_t vcpu;
	uint8_t slot_state; /* the slot's state when the device ran */
};

enum log_kind { LOG_ACK = 1, LOG_NOTIFY, LOG_INVALIDATE, LOG_TIMEOFFSET, LOG_FAILED };

struct log_entry {
	enum log_kind kind;
	uint32_t vcpu;
	uint8_t slot_state; /* NOTIFY/INVALIDATE: state at that moment */
	int64_t value;	    /* TIMEOFFSET delta, FAILED errno */
	uint32_t n_access;  /* accesses done before this entry */
};

/* Everything both sides see; in the forked harness it lives in a memfd. */
struct world {
	uint8_t page[4096] __attribute__((aligned(4096)));
	uint8_t ram[RAM_SIZE];
	struct access trace[MAX_TRACE];
	uint32_t n_trace;
	struct log_entry log[MAX_LOG];
	uint32_t n_log;
	uint32_t fail_at; /* 1-based access that fails with fail_err */
	int fail_err;
	/* event channels: Xen -> DM pending bits, DM -> Xen notify counters */
	uint64_t pending;
	uint32_t notified[NR_VCPUS];
	uint32_t invalidates;
	int notify_err;
	uint32_t slow_device_ns; /* the device spins this long per access */
	int stop;
	/* forked harness */
	int to_dm, to_xen;
};

static struct world *w;

static ioreq_t *slot(uint32_t vcpu)
{
	return &((shared_iopage_t *)w->page)->vcpu_ioreq[vcpu];
}

static uint8_t slot_state_now(uint32_t vcpu)
{
	return __atomic_load_n((uint8_t *)slot(vcpu) + 30, __ATOMIC_ACQUIRE) & 0x0f;
}

static uint64_t pattern(uint64_t addr)
{
	return 0xa5a5a5a500000000ULL | ((addr * 2654435761u) & 0xffffffffu);
}

static uint64_t mask(uint32_t size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void log_add(enum log_kind kind, uint32_t vcpu, int64_t value)
{
	uint32_t i = w->n_log;

	if (i >= MAX_LOG)
		return;
	w->log[i].kind = kind;
	w->log[i].vcpu = vcpu;
	w->log[i].value = value;
	w->log[i].n_access = w->n_trace;
	w->log[i].slot_state = vcpu < NR_VCPUS ? slot_state_now(vcpu) : 0xff;
	w->n_log = i + 1;
}

/* ---------------------------------------------------- the device side (DM) */

static int dev_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size, bool is_write,
		      uint64_t *value, int32_t vcpu)
{
	uint32_t n = w->n_trace;
	struct access *a;

	if (n >= MAX_TRACE)
		return -ENOSPC;
	a = &w->trace[n];
	a->space = space;
	a->addr = addr;
	a->size = size;
	a->is_write = is_write;
	a->vcpu = vcpu;
	a->slot_state = vcpu >= 0 && vcpu < NR_VCPUS ? slot_state_now((uint32_t)vcpu) : 0xff;
	w->n_trace = n + 1;
	if (w->slow_device_ns) {
		uint64_t until = now_ns() + w->slow_device_ns;
		while (now_ns() < until)
			;
	}
	if (w->fail_at && n + 1 == w->fail_at) {
		a->value = 0;
		return w->fail_err;
	}
	if (!is_write)
		*value = pattern(addr); /* garbage above size on purpose */
	a->value = *value;
	return 0;
}

static int dev_mem_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	if (gpa < RAM_BASE || length > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - length)
		return -EFAULT;
	memcpy(buf, w->ram + (gpa - RAM_BASE), length);
	return 0;
}

static int dev_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	if (gpa < RAM_BASE || length > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - length)
		return -EFAULT;
	memcpy(w->ram + (gpa - RAM_BASE), buf, length);
	return 0;
}

static const struct dm_io test_io = {
    .access = dev_access,
    .mem_read = dev_mem_read,
    .mem_write = dev_mem_write,
};

/* ------------------------------------------- event-channel ops (DM side) */

static int op_pending(void *ctx, uint32_t *source)
{
	uint64_t bits = __atomic_load_n(&w->pending, __ATOMIC_ACQUIRE);

	if (!bits)
		return 0;
	for (uint32_t b = 0; b < 64; b++) {
		if (bits & (1ULL << b)) {
			__atomic_fetch_and(&w->pending, ~(1ULL << b), __ATOMIC_ACQ_REL);
			*source = b == 63 ? IOREQ_ENGINE_SOURCE_BUFFERED : b;
			return 1;
		}
	}
	return 0;
}

static int op_ack(void *ctx, uint32_t source)
{
	log_add(LOG_ACK, source, 0);
	return 0;
}

static int op_notify(void *ctx, uint32_t vcpu)
{
	log_add(LOG_NOTIFY, vcpu, 0);
	if (vcpu < NR_VCPUS)
		__atomic_fetch_add(&w->notified[vcpu], 1, __ATOMIC_RELEASE);
	if (w->to_xen > 0) {
		uint64_t one = 1;
		if (write(w->to_xen, &one, sizeof(one)) != sizeof(one))
			return -errno;
	}
	return w->notify_err;
}

static void op_invalidate(void *ctx)
{
	log_add(LOG_INVALIDATE, 0, 0);
	/* which slot is being answered: the one in INPROCESS */
	for (uint32_t v = 0; v < NR_VCPUS; v++)
		if (slot_state_now(v) == STATE_IOREQ_INPROCESS)
			w->log[w->n_log - 1].vcpu = v;
	w->log[w->n_log - 1].slot_state = slot_state_now(w->log[w->n_log - 1].vcpu);
	__atomic_fetch_add(&w->invalidates, 1, __ATOMIC_RELEASE);
}

static void op_timeoffset(void *ctx, int64_t delta)
{
	log_add(LOG_TIMEOFFSET, 0xffff, delta);
}

static void op_failed(void *ctx, uint32_t vcpu, const ioreq_t *req, int err)
{
	log_add(LOG_FAILED, vcpu, err);
}

static const struct ioreq_engine_ops test_ops = {
    .pending = op_pending,
    .ack = op_ack,
    .notify = op_notify,
    .invalidate = op_invalidate,
    .timeoffset = op_timeoffset,
    .request_failed = op_failed,
};

static struct ioreq_engine *engine_new(void)
{
	struct ioreq_engine_config cfg = {
	    .shared = (shared_iopage_t *)w->page,
	    .nr_vcpus = NR_VCPUS,
	    .io = &test_io,
	    .ops = &test_ops,
	};
	struct ioreq_engine *e;

	assert_int_equal(ioreq_engine_create(&cfg, &e), 0);
	assert_non_null(e);
	return e;
}

/* ------------------------------------------------------ the simulated Xen */

struct xreq {
	uint8_t type;
	uint8_t dir;
	bool ptr;
	bool df;
	uint32_t size;
	uint32_t count;
	uint64_t addr;
	uint64_t data;
};

/* ioreq_send: the slot must be NONE; body first, then READY (release). */
static void xen_post(uint32_t vcpu, const struct xreq *r)
{
	ioreq_t *s = slot(vcpu);
	uint8_t flags;

	assert_int_equal(slot_state_now(vcpu), STATE_IOREQ_NONE);
	assert_int_equal(s->vp_eport, 100 + vcpu); /* "bad event channel" otherwise */
	s->addr = r->addr;
	s->data = r->data;
	s->count = r->count;
	s->size = r->size;
	s->type = r->type;
	flags = (uint8_t)(STATE_IOREQ_NONE | (r->ptr ? 0x10 : 0) | (r->dir ? 0x20 : 0) |
			  (r->df ? 0x40 : 0));
	__atomic_store_n((uint8_t *)s + 30, flags, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_release);
	__atomic_store_n((uint8_t *)s + 30, (uint8_t)(flags | STATE_IOREQ_READY), __ATOMIC_RELEASE);
	__atomic_fetch_or(&w->pending, 1ULL << vcpu, __ATOMIC_RELEASE);
	if (w->to_dm > 0) {
		uint64_t one = 1;
		assert_int_equal(write(w->to_dm, &one, sizeof(one)), sizeof(one));
	}
}

static bool needs_completion(const ioreq_t *s)
{
	return !s->data_is_ptr && !(s->type == IOREQ_TYPE_PIO && s->dir == IOREQ_WRITE);
}

struct xen_result {
	uint64_t data;
	bool saw_inprocess;
};

/*
 * wait_for_io: sample the state until IORESP_READY; any backwards move
 * between non-NONE values or a value above 3 is what makes Xen crash the
 * domain, so it fails the test. Then check the post-protocol bits and set
 * NONE. Returns the data Xen would take back.
 */
static struct xen_result xen_wait(uint32_t vcpu, const struct xreq *posted)
{
	ioreq_t *s = slot(vcpu);
	uint8_t last = STATE_IOREQ_READY, flags;
	uint64_t deadline = now_ns() + 5000000000ULL;
	struct xen_result res = {0};

	for (;;) {
		uint8_t st = slot_state_now(vcpu);

		if (st > STATE_IORESP_READY)
			fail_msg("Weird HVM iorequest state %u on vCPU %u", st, vcpu);
		if (st == STATE_IOREQ_NONE)
			fail_msg("DM wrote NONE on vCPU %u", vcpu);
		if (st < last)
			fail_msg("Weird HVM ioreq state transition %u -> %u on vCPU %u", last, st,
				 vcpu);
		if (st == STATE_IOREQ_INPROCESS)
			res.saw_inprocess = true;
		last = st;
		if (st == STATE_IORESP_READY)
			break;
		if (now_ns() > deadline)
			fail_msg("vCPU %u hangs: state stays %u", vcpu, st);
	}
	atomic_thread_fence(memory_order_acquire);
	/* the DM leaves everything but state and data alone */
	flags = __atomic_load_n((uint8_t *)s + 30, __ATOMIC_RELAXED);
	assert_int_equal(flags & 0xf0, (posted->ptr ? 0x10 : 0) | (posted->dir ? 0x20 : 0) |
					   (posted->df ? 0x40 : 0));
	assert_int_equal(s->type, posted->type);
	assert_int_equal(s->addr, posted->addr);
	assert_int_equal(s->count, posted->count);
	assert_int_equal(s->size, posted->size);
	assert_int_equal(s->vp_eport, 100 + vcpu);
	res.data = needs_completion(s) ? s->data : posted->data;
	if (!needs_completion(s))
		assert_int_equal(s->data, posted->data); /* untouched */
	__atomic_store_n((uint8_t *)s + 30, (uint8_t)(flags & 0xf0), __ATOMIC_RELEASE);
	return res;
}

/* --------------------------------------------------------------- fixtures */

static void world_init(struct world *wd)
{
	memset(wd, 0, sizeof(*wd));
	for (uint32_t v = 0; v < NR_VCPUS; v++)
		((shared_iopage_t *)wd->page)->vcpu_ioreq[v].vp_eport = 100 + v;
	for (size_t i = 0; i < RAM_SIZE; i++)
		wd->ram[i] = (uint8_t)(i * 13 + 1);
	wd->to_dm = -1;
	wd->to_xen = -1;
}

static int setup(void **state)
{
	w = aligned_alloc(4096, sizeof(*w));
	if (!w)
		return -1;
	world_init(w);
	*state = engine_new();
	return 0;
}

static int teardown(void **state)
{
	ioreq_engine_destroy(*state);
	free(w);
	w = NULL;
	return 0;
}

/* One request through the direct harness: post, service, wait. */
static uint64_t roundtrip(struct ioreq_engine *e, uint32_t vcpu, const struct xreq *r)
{
	xen_post(vcpu, r);
	assert_int_equal(ioreq_engine_service_vcpu(e, vcpu), 1);
	return xen_wait(vcpu, r).data;
}

static const struct log_entry *find_log(enum log_kind kind, unsigned nth)
{
	for (uint32_t i = 0; i < w->n_log; i++)
		if (w->log[i].kind == kind && nth-- == 0)
			return &w->log[i];
	return NULL;
}

static unsigned count_log(enum log_kind kind)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < w->n_log; i++)
		n += w->log[i].kind == kind;
	return n;
}

/* ----------------------------------------------------------- direct tests */

static void test_create_checks(void **state)
{
	struct ioreq_engine_ops no_notify = test_ops;
	struct ioreq_engine_config cfg = {
	    .shared = (shared_iopage_t *)w->page,
	    .nr_vcpus = 0,
	    .io = &test_io,
	    .ops = &test_ops,
	};
	struct ioreq_engine *e = (void *)1;

	assert_int_equal(ioreq_engine_create(&cfg, &e), -EINVAL);
	assert_null(e);
	cfg.nr_vcpus = IOREQ_ENGINE_MAX_VCPUS + 1;
	assert_int_equal(ioreq_engine_create(&cfg, &e), -EINVAL);
	cfg.nr_vcpus = 1;
	cfg.shared = (shared_iopage_t *)(w->page + 4);
	assert_int_equal(ioreq_engine_create(&cfg, &e), -EINVAL);
	cfg.shared = NULL;
	assert_int_equal(ioreq_engine_create(&cfg, &e), -EINVAL);
	cfg.shared = (shared_iopage_t *)w->page;
	no_notify.notify = NULL;
	cfg.ops = &no_notify;
	assert_int_equal(ioreq_engine_create(&cfg, &e), -EINVAL);

	/* remote ports are read from the slots, never written */
	assert_int_equal(ioreq_engine_remote_port(*state, 0), 100);
	assert_int_equal(ioreq_engine_remote_port(*state, 7), 107);
	assert_int_equal(ioreq_engine_remote_port(*state, 8), 0);
}

static void test_spurious_events(void **state)
{
	struct ioreq_engine *e = *state;
	uint8_t before[4096];

	memcpy(before, w->page, sizeof(before));
	assert_int_equal(ioreq_engine_service_vcpu(e, 3), 0); /* NONE */
	slot(4)->state = STATE_IORESP_READY;		      /* answered, not yet taken */
	memcpy(before, w->page, sizeof(before));
	assert_int_equal(ioreq_engine_service_vcpu(e, 4), 0);
	assert_int_equal(ioreq_engine_service_vcpu(e, NR_VCPUS), -EINVAL);
	assert_memory_equal(w->page, before, sizeof(before));
	assert_int_equal(w->n_log, 0);
	assert_int_equal(w->n_trace, 0);
}

static void test_pio_write_masked(void **state)
{
	struct xreq r = {.type = IOREQ_TYPE_PIO,
			 .dir = IOREQ_WRITE,
			 .size = 1,
			 .count = 1,
			 .addr = 0x3f8,
			 .data = 0xffffffffffffff41ULL};

	roundtrip(*state, 2, &r);
	assert_int_equal(w->n_trace, 1);
	assert_int_equal(w->trace[0].space, VDEV_SPACE_PIO);
	assert_int_equal(w->trace[0].addr, 0x3f8);
	assert_int_equal(w->trace[0].size, 1);
	assert_true(w->trace[0].is_write);
	assert_int_equal(w->trace[0].value, 0x41);
	assert_int_equal(w->trace[0].vcpu, 2);
	/* the device ran while the slot was INPROCESS */
	assert_int_equal(w->trace[0].slot_state, STATE_IOREQ_INPROCESS);
	/* exactly one notify, on vCPU 2, after IORESP_READY was visible */
	assert_int_equal(count_log(LOG_NOTIFY), 1);
	assert_int_equal(find_log(LOG_NOTIFY, 0)->vcpu, 2);
	assert_int_equal(find_log(LOG_NOTIFY, 0)->slot_state, STATE_IORESP_READY);
	assert_int_equal(find_log(LOG_NOTIFY, 0)->n_access, 1);
	assert_int_equal(count_log(LOG_FAILED), 0);
}

static void test_reads_zero_extended(void **state)
{
	static const uint32_t sizes[] = {1, 2, 4, 8};

	for (unsigned i = 0; i < 4; i++) {
		struct xreq pio = {.type = IOREQ_TYPE_PIO,
				   .dir = IOREQ_READ,
				   .size = sizes[i],
				   .count = 1,
				   .addr = 0x60 + i,
				   .data = ~0ULL};
		struct xreq mmio = {.type = IOREQ_TYPE_COPY,
				    .dir = IOREQ_READ,
				    .size = sizes[i],
				    .count = 1,
				    .addr = 0xfe000000 + 8 * i,
				    .data = ~0ULL};

		if (sizes[i] < 8)
			assert_int_equal(roundtrip(*state, 1, &pio),
					 pattern(0x60 + i) & mask(sizes[i]));
		assert_int_equal(roundtrip(*state, 5, &mmio),
				 pattern(0xfe000000 + 8 * i) & mask(sizes[i]));
	}
	assert_int_equal(count_log(LOG_NOTIFY), 7);
	assert_int_equal(count_log(LOG_FAILED), 0);
}

static void test_mmio_write_masked_on_arm_style_data(void **state)
{
	/* Arm passes the whole source register: the bits above size are garbage */
	struct xreq r = {.type = IOREQ_TYPE_COPY,
			 .dir = IOREQ_WRITE,
			 .size = 2,
			 .count = 1,
			 .addr = 0x02000050,
			 .data = 0xdeadbeef0000abcdULL};

	roundtrip(*state, 0, &r);
	assert_int_equal(w->trace[0].space, VDEV_SPACE_MMIO);
	assert_int_equal(w->trace[0].value, 0xabcd);
}

static void test_rep_forms(void **state)
{
	uint64_t buf = RAM_BASE + 0x1000 - 4; /* straddles a page */
	struct xreq outs = {.type = IOREQ_TYPE_PIO,
			    .dir = IOREQ_WRITE,
			    .ptr = true,
			    .size = 2,
			    .count = 4,
			    .addr = 0x1f0,
			    .data = buf};
	struct xreq ins_df = {.type = IOREQ_TYPE_PIO,
			      .dir = IOREQ_READ,
			      .ptr = true,
			      .df = true,
			      .size = 4,
			      .count = 3,
			      .addr = 0x1f4,
			      .data = RAM_BASE + 0x200};
	struct xreq movs = {.type = IOREQ_TYPE_COPY,
			    .dir = IOREQ_READ,
			    .ptr = true,
			    .size = 8,
			    .count = 2,
			    .addr = 0xfe001000,
			    .data = RAM_BASE + 0x300};
	struct xreq stos_df = {.type = IOREQ_TYPE_COPY,
			       .dir = IOREQ_WRITE,
			       .df = true,
			       .size = 4,
			       .count = 3,
			       .addr = 0xfe002000,
			       .data = 0x1122334455667788ULL};
	uint64_t v;

	roundtrip(*state, 0, &outs);
	assert_int_equal(w->n_trace, 4);
	for (unsigned i = 0; i < 4; i++) {
		memcpy(&v, w->ram + (buf - RAM_BASE) + 2 * i, 8);
		assert_int_equal(w->trace[i].addr, 0x1f0);
		assert_int_equal(w->trace[i].value, v & 0xffff);
	}
	roundtrip(*state, 1, &ins_df);
	for (unsigned i = 0; i < 3; i++) {
		uint32_t got;
		memcpy(&got, w->ram + 0x200 - 4 * i, 4);
		assert_int_equal(got, (uint32_t)pattern(0x1f4));
	}
	roundtrip(*state, 2, &movs);
	for (unsigned i = 0; i < 2; i++) {
		memcpy(&v, w->ram + 0x300 + 8 * i, 8);
		assert_int_equal(v, pattern(0xfe001000 + 8 * i));
		assert_int_equal(w->trace[7 + i].addr, 0xfe001000 + 8 * i);
	}
	roundtrip(*state, 3, &stos_df);
	assert_int_equal(w->n_trace, 12);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(w->trace[9 + i].addr, 0xfe002000 - 4 * i);
		assert_int_equal(w->trace[9 + i].value, 0x55667788);
		assert_int_equal(w->trace[9 + i].slot_state, STATE_IOREQ_INPROCESS);
	}
	assert_int_equal(count_log(LOG_FAILED), 0);
}

static void test_pci_config_decoding(void **state)
{
	/* addr = (sbdf << 32) | reg, sbdf in XEN_DMOP_PCI_SBDF layout */
	uint64_t sbdf = (0x12u << 8) | (0x1fu << 3) | 7u;
	struct xreq rd = {.type = IOREQ_TYPE_PCI_CONFIG,
			  .dir = IOREQ_READ,
			  .size = 4,
			  .count = 1,
			  .addr = (sbdf << 32) | 0xffc,
			  .data = ~0ULL};
	struct xreq wr = {.type = IOREQ_TYPE_PCI_CONFIG,
			  .dir = IOREQ_WRITE,
			  .size = 2,
			  .count = 1,
			  .addr = ((uint64_t)((3u << 3) | 1u) << 32) | 0x44,
			  .data = 0xffff0000ffff1234ULL};
	struct xreq seg1 = rd, past_end = rd;

	assert_int_equal(roundtrip(*state, 0, &rd),
			 pattern(VDEV_PCICFG_ADDR(0x12, 0x1f, 7, 0xffc)) & 0xffffffff);
	assert_int_equal(w->trace[0].space, VDEV_SPACE_PCICFG);
	assert_int_equal(w->trace[0].addr, VDEV_PCICFG_ADDR(0x12, 0x1f, 7, 0xffc));
	roundtrip(*state, 0, &wr);
	assert_int_equal(w->trace[1].space, VDEV_SPACE_PCICFG);
	assert_int_equal(w->trace[1].addr, VDEV_PCICFG_ADDR(0, 3, 1, 0x44));
	assert_int_equal(w->trace[1].value, 0x1234);
	assert_true(w->trace[1].is_write);

	/* segment 1 and a register past 4 KiB reach no device: all-ones */
	seg1.addr = (1ULL << 48) | (sbdf << 32) | 0x10;
	past_end.addr = (sbdf << 32) | 0xffe;
	assert_int_equal(roundtrip(*state, 6, &seg1), 0xffffffff);
	assert_int_equal(roundtrip(*state, 6, &past_end), 0xffffffff);
	assert_int_equal(w->n_trace, 2);
	assert_int_equal(count_log(LOG_FAILED), 2);
	assert_int_equal(find_log(LOG_FAILED, 0)->value, -ENODEV);
	assert_int_equal(find_log(LOG_FAILED, 0)->vcpu, 6);
}

static void test_invalidate_count_zero(void **state)
{
	/* exactly what ioreq_signal_mapcache_invalidate sends */
	struct xreq inv = {.type = IOREQ_TYPE_INVALIDATE,
			   .dir = IOREQ_WRITE,
			   .size = 4,
			   .count = 0,
			   .data = ~0ULL};
	const struct log_entry *l, *n;

	roundtrip(*state, 3, &inv);
	assert_int_equal(w->n_trace, 0);
	assert_int_equal(count_log(LOG_INVALIDATE), 1);
	assert_int_equal(count_log(LOG_FAILED), 0);
	l = find_log(LOG_INVALIDATE, 0);
	n = find_log(LOG_NOTIFY, 0);
	assert_non_null(n);
	/* the cache is dropped while the slot is still in process, before the answer */
	assert_int_equal(l->vcpu, 3);
	assert_int_equal(l->slot_state, STATE_IOREQ_INPROCESS);
	assert_true(l < n);
	assert_int_equal(n->vcpu, 3);
	assert_int_equal(slot(3)->data, ~0ULL);
}

static void test_invalidate_without_callback(void **state)
{
	struct ioreq_engine_ops ops = test_ops;
	struct ioreq_engine_config cfg = {
	    .shared = (shared_iopage_t *)w->page,
	    .nr_vcpus = 2,
	    .io = &test_io,
	    .ops = &ops,
	};
	struct xreq inv = {.type = IOREQ_TYPE_INVALIDATE,
			   .dir = IOREQ_WRITE,
			   .size = 4,
			   .count = 0,
			   .data = ~0ULL};
	struct ioreq_engine *e;

	ops.invalidate = NULL;
	ops.timeoffset = NULL;
	assert_int_equal(ioreq_engine_create(&cfg, &e), 0);
	roundtrip(e, 1, &inv); /* still answered: the vCPU would hang */
	assert_int_equal(count_log(LOG_NOTIFY), 1);
	ioreq_engine_destroy(e);
}

static void test_timeoffset_acknowledged(void **state)
{
	struct xreq t = {.type = IOREQ_TYPE_TIMEOFFSET,
			 .dir = IOREQ_WRITE,
			 .size = 8,
			 .count = 1,
			 .data = (uint64_t)-3600};

	roundtrip(*state, 0, &t);
	assert_int_equal(w->n_trace, 0);
	assert_int_equal(count_log(LOG_TIMEOFFSET), 1);
	assert_int_equal(find_log(LOG_TIMEOFFSET, 0)->value, -3600);
	assert_int_equal(count_log(LOG_NOTIFY), 1);
}

static void test_failures_still_answered(void **state)
{
	struct xreq unknown = {
	    .type = 5, .dir = IOREQ_READ, .size = 2, .count = 1, .addr = 0x10, .data = 0};
	struct xreq bad_size = {.type = IOREQ_TYPE_COPY,
				.dir = IOREQ_READ,
				.size = 3,
				.count = 1,
				.addr = 0x1000,
				.data = 0};
	struct xreq huge_size = {.type = IOREQ_TYPE_COPY,
				 .dir = IOREQ_READ,
				 .size = 0x108,
				 .count = 1,
				 .addr = 0x1000,
				 .data = 0};
	struct xreq dev_err = {.type = IOREQ_TYPE_PIO,
			       .dir = IOREQ_READ,
			       .size = 2,
			       .count = 1,
			       .addr = 0x70,
			       .data = 0};
	struct xreq outside = {.type = IOREQ_TYPE_PIO,
			       .dir = IOREQ_WRITE,
			       .ptr = true,
			       .size = 1,
			       .count = 2,
			       .addr = 0x70,
			       .data = 0x10};

	assert_int_equal(roundtrip(*state, 0, &unknown), 0xffff);
	assert_int_equal(roundtrip(*state, 0, &bad_size), 0xffffff);
	assert_int_equal(roundtrip(*state, 0, &huge_size), ~0ULL);
	w->fail_at = 1;
	w->fail_err = -EIO;
	assert_int_equal(roundtrip(*state, 0, &dev_err), 0xffff);
	roundtrip(*state, 0, &outside);
	assert_int_equal(count_log(LOG_FAILED), 5);
	assert_int_equal(find_log(LOG_FAILED, 0)->value, -EPROTO);
	assert_int_equal(find_log(LOG_FAILED, 1)->value, -EINVAL);
	assert_int_equal(find_log(LOG_FAILED, 2)->value, -EINVAL);
	assert_int_equal(find_log(LOG_FAILED, 3)->value, -EIO);
	assert_int_equal(find_log(LOG_FAILED, 4)->value, -EFAULT);
	assert_int_equal(count_log(LOG_NOTIFY), 5);
	assert_int_equal(w->n_trace, 1);
}

static void test_notify_error_after_answer(void **state)
{
	struct xreq r = {.type = IOREQ_TYPE_PIO,
			 .dir = IOREQ_READ,
			 .size = 1,
			 .count = 1,
			 .addr = 0x61,
			 .data = 0};

	w->notify_err = -EBADF;
	xen_post(2, &r);
	assert_int_equal(ioreq_engine_service_vcpu(*state, 2), -EBADF);
	assert_int_equal(xen_wait(2, &r).data, pattern(0x61) & 0xff);
}

static void test_process_events_order(void **state)
{
	struct ioreq_engine *e = *state;
	struct xreq a = {.type = IOREQ_TYPE_PIO,
			 .dir = IOREQ_WRITE,
			 .size = 1,
			 .count = 1,
			 .addr = 0x80,
			 .data = 0xa};
	struct xreq b = {.type = IOREQ_TYPE_COPY,
			 .dir = IOREQ_READ,
			 .size = 4,
			 .count = 1,
			 .addr = 0xfe000000,
			 .data = 0};

	xen_post(5, &a);
	xen_post(1, &b);
	w->pending |= 1ULL << 3;  /* spurious: slot 3 is NONE */
	w->pending |= 1ULL << 63; /* buffered channel, but there is no ring */
	assert_int_equal(ioreq_engine_process_events(e), 2);
	assert_int_equal(w->pending, 0);
	/* per source: ack, then (for a real request) the access, then notify */
	assert_int_equal(w->n_log, 6);
	assert_int_equal(w->log[0].kind, LOG_ACK);
	assert_int_equal(w->log[0].vcpu, 1);
	assert_int_equal(w->log[0].n_access, 0);
	assert_int_equal(w->log[1].kind, LOG_NOTIFY);
	assert_int_equal(w->log[1].vcpu, 1);
	assert_int_equal(w->log[1].n_access, 1);
	assert_int_equal(w->log[2].kind, LOG_ACK);
	assert_int_equal(w->log[2].vcpu, 3);
	assert_int_equal(w->log[3].kind, LOG_ACK);
	assert_int_equal(w->log[3].vcpu, 5);
	assert_int_equal(w->log[4].kind, LOG_NOTIFY);
	assert_int_equal(w->log[4].vcpu, 5);
	assert_int_equal(w->log[5].kind, LOG_ACK);
	assert_int_equal(w->log[5].vcpu, IOREQ_ENGINE_SOURCE_BUFFERED);
	assert_int_equal(xen_wait(1, &b).data, pattern(0xfe000000) & 0xffffffff);
	xen_wait(5, &a);
	assert_int_equal(w->trace[1].value, 0xa);
	assert_int_equal(ioreq_engine_process_events(e), 0);
}

/* ------------------------------------------------- the forked harness */

/* The DM process: poll the Xen->DM eventfd, process events, until stop. */
static void dm_child(void)
{
	struct ioreq_engine *e;
	struct ioreq_engine_config cfg = {
	    .shared = (shared_iopage_t *)w->page,
	    .nr_vcpus = NR_VCPUS,
	    .io = &test_io,
	    .ops = &test_ops,
	};

	if (ioreq_engine_create(&cfg, &e) < 0)
		_exit(2);
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = {.fd = w->to_dm, .events = POLLIN};
		uint64_t n;

		if (poll(&p, 1, 50) < 0)
			_exit(3);
		if (p.revents & POLLIN && read(w->to_dm, &n, sizeof(n)) != sizeof(n))
			_exit(4);
		if (ioreq_engine_process_events(e) < 0)
			_exit(5);
	}
	ioreq_engine_destroy(e);
	_exit(0);
}

static pid_t child;

static int setup_forked(void **state)
{
	int fd = memfd_create("ioreq-world", 0);

	if (fd < 0 || ftruncate(fd, sizeof(struct world)) < 0)
		return -1;
	w = mmap(NULL, sizeof(struct world), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (w == MAP_FAILED)
		return -1;
	world_init(w);
	w->to_dm = eventfd(0, 0);
	w->to_xen = eventfd(0, EFD_NONBLOCK);
	/* slow enough that Xen's side usually sees INPROCESS between READY and the answer */
	w->slow_device_ns = 200000;
	if (w->to_dm < 0 || w->to_xen < 0)
		return -1;
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0)
		dm_child();
	*state = NULL;
	return 0;
}

static int teardown_forked(void **state)
{
	int status = -1;

	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	waitpid(child, &status, 0);
	close(w->to_dm);
	close(w->to_xen);
	munmap(w, sizeof(struct world));
	w = NULL;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Wait until the DM notified vCPU `vcpu` for the n-th time (the event channel). */
static void xen_wait_notify(uint32_t vcpu, uint32_t n)
{
	uint64_t deadline = now_ns() + 5000000000ULL;

	while (__atomic_load_n(&w->notified[vcpu], __ATOMIC_ACQUIRE) < n) {
		struct pollfd p = {.fd = w->to_xen, .events = POLLIN};
		uint64_t v;

		if (now_ns() > deadline)
			fail_msg("no notify for vCPU %u", vcpu);
		if (poll(&p, 1, 10) > 0 && read(w->to_xen, &v, sizeof(v)) < 0)
			assert_int_equal(errno, EAGAIN);
	}
}

static void test_forked_protocol(void **state)
{
	uint64_t buf = RAM_BASE + 0x2000 - 6;
	struct xreq reqs[] = {
	    {.type = IOREQ_TYPE_PIO,
	     .dir = IOREQ_WRITE,
	     .size = 1,
	     .count = 1,
	     .addr = 0x3f8,
	     .data = 0x1234},
	    {.type = IOREQ_TYPE_PIO,
	     .dir = IOREQ_READ,
	     .size = 2,
	     .count = 1,
	     .addr = 0x3fa,
	     .data = ~0ULL},
	    {.type = IOREQ_TYPE_PIO,
	     .dir = IOREQ_WRITE,
	     .ptr = true,
	     .size = 4,
	     .count = 3,
	     .addr = 0x1f0,
	     .data = buf},
	    {.type = IOREQ_TYPE_PIO,
	     .dir = IOREQ_READ,
	     .ptr = true,
	     .df = true,
	     .size = 2,
	     .count = 5,
	     .addr = 0x1f2,
	     .data = RAM_BASE + 0x100},
	    {.type = IOREQ_TYPE_COPY,
	     .dir = IOREQ_WRITE,
	     .ptr = true,
	     .df = true,
	     .size = 8,
	     .count = 2,
	     .addr = 0xfe000ff8,
	     .data = RAM_BASE + 0x800},
	    {.type = IOREQ_TYPE_COPY,
	     .dir = IOREQ_READ,
	     .size = 8,
	     .count = 1,
	     .addr = 0xfe000000,
	     .data = 0},
	    {.type = IOREQ_TYPE_PCI_CONFIG,
	     .dir = IOREQ_READ,
	     .size = 1,
	     .count = 1,
	     .addr = ((uint64_t)(2u << 3) << 32) | 0x3d,
	     .data = ~0ULL},
	    {.type = IOREQ_TYPE_INVALIDATE,
	     .dir = IOREQ_WRITE,
	     .size = 4,
	     .count = 0,
	     .data = ~0ULL},
	};
	const unsigned n = sizeof(reqs) / sizeof(reqs[0]);
	uint32_t notified[NR_VCPUS] = {0};
	unsigned inprocess_seen = 0;

	/* one request at a time, each on its own vCPU */
	for (unsigned i = 0; i < n; i++) {
		uint32_t v = i % NR_VCPUS;
		uint32_t before = __atomic_load_n(&w->n_trace, __ATOMIC_ACQUIRE);
		struct xen_result res;

		xen_post(v, &reqs[i]);
		res = xen_wait(v, &reqs[i]);
		xen_wait_notify(v, ++notified[v]);
		inprocess_seen += res.saw_inprocess;
		switch (i) {
		case 0:
			assert_int_equal(w->trace[before].value, 0x34);
			break;
		case 1:
			assert_int_equal(res.data, pattern(0x3fa) & 0xffff);
			break;
		case 2:
			for (unsigned k = 0; k < 3; k++) {
				uint32_t v32;
				memcpy(&v32, w->ram + (buf - RAM_BASE) + 4 * k, 4);
				assert_int_equal(w->trace[before + k].value, v32);
			}
			break;
		case 3:
			for (unsigned k = 0; k < 5; k++) {
				uint16_t v16;
				memcpy(&v16, w->ram + 0x100 - 2 * k, 2);
				assert_int_equal(v16, (uint16_t)pattern(0x1f2));
			}
			break;
		case 4:
			assert_int_equal(w->trace[before].addr, 0xfe000ff8);
			assert_int_equal(w->trace[before + 1].addr, 0xfe000ff0);
			break;
		case 5:
			assert_int_equal(res.data, pattern(0xfe000000));
			break;
		case 6:
			assert_int_equal(w->trace[before].addr, VDEV_PCICFG_ADDR(0, 2, 0, 0x3d));
			assert_int_equal(res.data, pattern(VDEV_PCICFG_ADDR(0, 2, 0, 0x3d)) & 0xff);
			break;
		case 7:
			assert_int_equal(__atomic_load_n(&w->invalidates, __ATOMIC_ACQUIRE), 1);
			assert_int_equal(w->n_trace, before);
			break;
		}
	}

	/* all vCPUs at once, twice: each slot answered on its own */
	for (unsigned round = 0; round < 2; round++) {
		struct xreq r[NR_VCPUS];

		for (uint32_t v = 0; v < NR_VCPUS; v++) {
			r[v] = (struct xreq){.type = IOREQ_TYPE_COPY,
					     .dir = IOREQ_READ,
					     .size = 4,
					     .count = 1,
					     .addr = 0xfe100000 + 0x100 * v + round};
			xen_post(v, &r[v]);
		}
		for (uint32_t v = 0; v < NR_VCPUS; v++) {
			assert_int_equal(xen_wait(v, &r[v]).data, pattern(r[v].addr) & 0xffffffff);
			xen_wait_notify(v, ++notified[v]);
		}
	}
	print_message("forked DM: INPROCESS observed by the hypervisor in %u of %u requests\n",
		      inprocess_seen, n);
	for (uint32_t v = 0; v < NR_VCPUS; v++)
		assert_int_equal(__atomic_load_n(&w->notified[v], __ATOMIC_ACQUIRE), notified[v]);
	assert_int_equal(count_log(LOG_FAILED), 0);
}

int main(void)
{
	const struct CMUnitTest direct[] = {
	    cmocka_unit_test_setup_teardown(test_create_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spurious_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pio_write_masked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reads_zero_extended, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mmio_write_masked_on_arm_style_data, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rep_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_config_decoding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalidate_count_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalidate_without_callback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeoffset_acknowledged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures_still_answered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_error_after_answer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_process_events_order, setup, teardown),
	};
	const struct CMUnitTest forked[] = {
	    cmocka_unit_test_setup_teardown(test_forked_protocol, setup_forked, teardown_forked),
	};
	int failed;

	signal(SIGPIPE, SIG_IGN);
	failed = cmocka_run_group_tests_name("ioreq_engine", direct, NULL, NULL);
	failed += cmocka_run_group_tests_name("ioreq_engine_forked", forked, NULL, NULL);
	return failed ? 1 : 0;
}
