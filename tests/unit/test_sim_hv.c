/*
 * Unit tests for devmodel/sim/sim_hv.c: the simulated hypervisor posts like
 * Xen and fails loudly where Xen would crash the domain. The device-model
 * side here is a scripted misbehaving thread, one behaviour per test.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "devmodel/sim/sim_hv.h"

enum dm_behaviour { DM_GOOD, DM_BACKWARDS, DM_NONE, DM_HIGH_BITS, DM_EPORT, DM_SILENT };

struct fake_dm {
	struct sim_domain *d;
	enum dm_behaviour how;
	pthread_t thread;
	ioreq_t seen; /* the request as the device model read it */
};

static void set_state(ioreq_t *slot, uint8_t state)
{
	uint8_t *b = (uint8_t *)slot + 30;

	__atomic_store_n(b, (uint8_t)((*b & 0xf0) | state), __ATOMIC_RELEASE);
}

static void *fake_dm_main(void *arg)
{
	struct fake_dm *dm = arg;
	ioreq_t *slot = &dm->d->iopage->vcpu_ioreq[0];
	uint64_t n, one = 1;

	/* wait for Xen's notification (the eventfd is non-blocking) */
	while (read(dm->d->to_dm[0], &n, sizeof(n)) != sizeof(n))
		usleep(100);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	dm->seen = *slot;
	if (dm->how == DM_SILENT)
		return NULL;
	set_state(slot, STATE_IOREQ_INPROCESS);
	usleep(5000); /* let the hypervisor side see INPROCESS */
	switch (dm->how) {
	case DM_BACKWARDS:
		set_state(slot, STATE_IOREQ_READY);
		break;
	case DM_NONE:
		set_state(slot, STATE_IOREQ_NONE);
		break;
	case DM_HIGH_BITS:
		slot->data = 0x1ff;
		set_state(slot, STATE_IORESP_READY);
		break;
	case DM_EPORT:
		slot->vp_eport = 99;
		set_state(slot, STATE_IORESP_READY);
		break;
	default:
		slot->data = 0x5a;
		set_state(slot, STATE_IORESP_READY);
		break;
	}
	if (write(dm->d->to_hv[0], &one, sizeof(one)) != sizeof(one))
		return NULL;
	return NULL;
}

static int post_with(enum dm_behaviour how, unsigned timeout_ms, ioreq_t *req, char *why,
		     size_t whylen, struct fake_dm *dm)
{
	struct sim_domain d;
	int rc;

	assert_int_equal(sim_domain_init(&d, 1), 0);
	d.timeout_ms = timeout_ms;
	dm->d = &d;
	dm->how = how;
	assert_int_equal(pthread_create(&dm->thread, NULL, fake_dm_main, dm), 0);
	rc = sim_hv_post(&d, 0, req, why, whylen);
	pthread_join(dm->thread, NULL);
	sim_domain_destroy(&d);
	return rc;
}

static void test_good_read(void **state)
{
	struct fake_dm dm;
	ioreq_t req = {.type = IOREQ_TYPE_PIO,
		       .addr = 0x3f8,
		       .size = 1,
		       .count = 1,
		       .dir = IOREQ_READ,
		       .data = ~0ull};
	char why[256] = "";

	assert_int_equal(post_with(DM_GOOD, 2000, &req, why, sizeof(why), &dm), 0);
	assert_int_equal(req.data, 0x5a);
	/* what the device model read is what Xen posted, with the vCPU's port */
	assert_int_equal(dm.seen.addr, 0x3f8);
	assert_int_equal(dm.seen.size, 1);
	assert_int_equal(dm.seen.dir, IOREQ_READ);
	assert_int_equal(dm.seen.state, STATE_IOREQ_READY);
	assert_int_equal(dm.seen.vp_eport, 1);
}

static void test_backwards(void **state)
{
	struct fake_dm dm;
	ioreq_t req = {.type = IOREQ_TYPE_COPY,
		       .addr = 0x1000,
		       .size = 4,
		       .count = 1,
		       .dir = IOREQ_WRITE,
		       .data = 7};
	char why[256] = "";

	assert_int_equal(post_with(DM_BACKWARDS, 2000, &req, why, sizeof(why), &dm), -EPROTO);
	assert_non_null(strstr(why, "weird HVM ioreq state transition 2 -> 1"));
}

static void test_none_written(void **state)
{
	struct fake_dm dm;
	ioreq_t req = {.type = IOREQ_TYPE_COPY,
		       .addr = 0x1000,
		       .size = 4,
		       .count = 1,
		       .dir = IOREQ_READ,
		       .data = ~0ull};
	char why[256] = "";

	assert_int_equal(post_with(DM_NONE, 2000, &req, why, sizeof(why), &dm), -EPROTO);
	assert_non_null(strstr(why, "wrote state NONE"));
}

static void test_read_not_zero_extended(void **state)
{
	struct fake_dm dm;
	ioreq_t req = {.type = IOREQ_TYPE_PIO,
		       .addr = 0x60,
		       .size = 1,
		       .count = 1,
		       .dir = IOREQ_READ,
		       .data = ~0ull};
	char why[256] = "";

	assert_int_equal(post_with(DM_HIGH_BITS, 2000, &req, why, sizeof(why), &dm), -EPROTO);
	assert_non_null(strstr(why, "bits above the size must be zero"));
}

static void test_eport_written(void **state)
{
	struct fake_dm dm;
	ioreq_t req = {.type = IOREQ_TYPE_PIO,
		       .addr = 0x60,
		       .size = 1,
		       .count = 1,
		       .dir = IOREQ_WRITE,
		       .data = 1};
	char why[256] = "";

	assert_int_equal(post_with(DM_EPORT, 2000, &req, why, sizeof(why), &dm), -EPROTO);
	assert_non_null(strstr(why, "wrote vp_eport"));
}

static void test_no_answer(void **state)
{
	struct fake_dm dm;
	ioreq_t req = {.type = IOREQ_TYPE_PIO,
		       .addr = 0x60,
		       .size = 1,
		       .count = 1,
		       .dir = IOREQ_WRITE,
		       .data = 1};
	char why[256] = "";

	assert_int_equal(post_with(DM_SILENT, 100, &req, why, sizeof(why), &dm), -ETIMEDOUT);
	assert_non_null(strstr(why, "did not answer within 100 ms"));
}

/* A slot that is not NONE is refused before anything is posted. */
static void test_busy_slot(void **state)
{
	struct sim_domain d;
	ioreq_t req = {.type = IOREQ_TYPE_PIO, .addr = 0x60, .size = 1, .count = 1};
	char why[256] = "";
	uint64_t n;

	assert_int_equal(sim_domain_init(&d, 1), 0);
	set_state(&d.iopage->vcpu_ioreq[0], STATE_IORESP_READY);
	assert_int_equal(sim_hv_post(&d, 0, &req, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "bad IO state 3"));
	assert_int_equal(read(d.to_dm[0], &n, sizeof(n)), -1); /* nothing was notified */
	sim_domain_destroy(&d);
}

/* The buffered ring: 8-byte writes take two slots; a full ring says -EAGAIN. */
static void test_buffered_ring(void **state)
{
	struct sim_domain d;
	unsigned posted = 0;

	assert_int_equal(sim_domain_init(&d, 1), 0);
	assert_int_equal(
	    sim_hv_post_buffered(&d, IOREQ_TYPE_COPY, 0xa0000, 8, 0x1122334455667788ull), 0);
	assert_int_equal(d.bufpage->write_pointer, 2);
	assert_int_equal(d.bufpage->buf_ioreq[0].data, 0x55667788u);
	assert_int_equal(d.bufpage->buf_ioreq[1].data, 0x11223344u);
	assert_int_equal(d.bufpage->buf_ioreq[0].size, 3);
	assert_int_equal(sim_hv_post_buffered(&d, IOREQ_TYPE_COPY, 0x100000, 4, 0), -EINVAL);
	while (sim_hv_post_buffered(&d, IOREQ_TYPE_COPY, 0xa0000, 4, posted) == 0)
		posted++;
	assert_int_equal(posted, IOREQ_BUFFER_SLOT_NUM - 2);
	assert_int_equal(sim_hv_post_buffered(&d, IOREQ_TYPE_COPY, 0xa0000, 1, 0), -EAGAIN);
	sim_domain_destroy(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_read),	  cmocka_unit_test(test_backwards),
	    cmocka_unit_test(test_none_written),  cmocka_unit_test(test_read_not_zero_extended),
	    cmocka_unit_test(test_eport_written), cmocka_unit_test(test_no_answer),
	    cmocka_unit_test(test_busy_slot),	  cmocka_unit_test(test_buffered_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
