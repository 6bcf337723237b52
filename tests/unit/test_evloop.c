/*
 * tests/unit/test_evloop.c: the event loop (devmodel/evloop.c): timers
 * (periodic, cancelled, stale expiries), fd watches, fds epoll refuses
 * (reported always ready, as poll does), removal from inside a callback and
 * from another thread while the loop runs, release callbacks.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "devmodel/evloop.h"

struct counter {
	unsigned calls;
	uint64_t expiries;
	uint32_t last_events;
	unsigned released;
	struct evloop *loop;
	bool remove_self;
};

static void on_timer(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct counter *c = ctx;
	uint64_t n = evloop_timer_expired(item);

	if (n == 0)
		return; /* stale: re-armed or cancelled since it fired */
	c->calls++;
	c->expiries += n;
	if (c->remove_self)
		evloop_remove(c->loop, item);
}

static void on_fd(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct counter *c = ctx;

	c->calls++;
	c->last_events = events;
	if (c->remove_self)
		evloop_remove(c->loop, item);
}

static void on_release(void *ctx)
{
	struct counter *c = ctx;

	c->released++;
}

/* Run rounds on this thread for about `ms` milliseconds. */
static void spin(struct evloop *l, unsigned ms)
{
	uint64_t end = evloop_now_ns() + ms * 1000000ull;

	while (evloop_now_ns() < end)
		evloop_run_once(l, 1);
}

static void test_timer(void **state)
{
	struct evloop *l = evloop_new();
	struct counter c = {.loop = l};
	struct evloop_item *t;

	assert_int_equal(evloop_timer_new(l, on_timer, &c, on_release, &t), 0);
	spin(l, 5);
	assert_int_equal(c.calls, 0); /* created disarmed */
	assert_int_equal(evloop_timer_arm(t, 1000000, 1000000), 0);
	spin(l, 30);
	assert_true(c.expiries >= 10 && c.expiries <= 40);
	/* disarm: nothing more, also not an expiry that was already pending */
	usleep(3000);
	assert_int_equal(evloop_timer_arm(t, 0, 0), 0);
	c.calls = 0;
	spin(l, 10);
	assert_int_equal(c.calls, 0);
	/* one-shot */
	assert_int_equal(evloop_timer_arm(t, 2000000, 0), 0);
	spin(l, 15);
	assert_int_equal(c.calls, 1);
	assert_int_equal(evloop_item_count(l), 1);
	evloop_remove(l, t);
	assert_int_equal(c.released, 1); /* loop not running: released at once */
	assert_int_equal(evloop_item_count(l), 0);
	evloop_free(l);
}

static void test_fd_watch(void **state)
{
	struct evloop *l = evloop_new();
	struct counter c = {.loop = l};
	struct evloop_item *w;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(evloop_watch(l, p[0], EPOLLIN, on_fd, &c, on_release, &w), 0);
	assert_int_equal(evloop_watch(l, p[0], EPOLLIN, on_fd, &c, NULL, &w), -EEXIST);
	assert_int_equal(evloop_run_once(l, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(evloop_run_once(l, 100), 1);
	assert_int_equal(c.calls, 1);
	assert_true(c.last_events & EPOLLIN);
	/* watching nothing: no calls even though data waits */
	assert_int_equal(evloop_modify(l, w, 0), 0);
	assert_int_equal(evloop_run_once(l, 10), 0);
	/* removal from inside the callback: released after the round */
	assert_int_equal(evloop_modify(l, w, EPOLLIN), 0);
	c.remove_self = true;
	assert_int_equal(evloop_run_once(l, 100), 1);
	assert_int_equal(c.released, 1);
	assert_int_equal(evloop_run_once(l, 0), 0);
	close(p[0]);
	close(p[1]);
	evloop_free(l);
}

static void test_always_ready(void **state)
{
	struct evloop *l = evloop_new();
	struct counter c = {.loop = l};
	struct evloop_item *w;
	int fd = open("/dev/null", O_WRONLY);

	assert_true(fd >= 0);
	/* epoll refuses /dev/null; poll calls it always ready: so do we */
	assert_int_equal(evloop_watch(l, fd, 0, on_fd, &c, on_release, &w), 0);
	assert_int_equal(evloop_run_once(l, 5), 0);
	assert_int_equal(evloop_modify(l, w, EPOLLOUT), 0);
	assert_int_equal(evloop_run_once(l, 1000), 1);
	assert_int_equal(c.last_events, EPOLLOUT);
	assert_int_equal(evloop_modify(l, w, 0), 0);
	assert_int_equal(evloop_run_once(l, 5), 0);
	assert_int_equal(c.calls, 1);
	evloop_remove(l, w);
	assert_int_equal(c.released, 1);
	close(fd);
	evloop_free(l);
}

struct threaded {
	struct evloop *loop;
	struct evloop_item *item;
};

static void test_thread_and_remove(void **state)
{
	struct evloop *l = evloop_new();
	struct counter c = {.loop = l}, d = {.loop = l};
	struct evloop_item *t, *u;
	int fd = open("/dev/null", O_WRONLY);
	unsigned seen;

	assert_int_equal(evloop_timer_new(l, on_timer, &c, on_release, &t), 0);
	assert_int_equal(evloop_watch(l, fd, 0, on_fd, &d, on_release, &u), 0);
	assert_int_equal(evloop_start(l), 0);
	assert_int_equal(evloop_start(l), -EBUSY);
	assert_int_equal(evloop_timer_arm(t, 1000000, 1000000), 0);
	usleep(20000);
	/* enabling an always-ready watch from another thread wakes the loop */
	assert_int_equal(evloop_modify(l, u, EPOLLOUT), 0);
	usleep(5000);
	assert_true(d.calls > 0);
	assert_int_equal(evloop_modify(l, u, 0), 0);
	/* removed from this thread while the loop runs: no call after, released later */
	evloop_remove(l, t);
	seen = c.calls;
	usleep(10000);
	assert_int_equal(c.calls, seen);
	assert_true(seen >= 5);
	evloop_stop(l);
	assert_int_equal(c.released, 1);
	evloop_free(l); /* releases what is left */
	assert_int_equal(d.released, 1);
	close(fd);
}

/* A one-shot timer that re-arms itself 1 ns ahead from its own callback. */
struct rearm {
	struct evloop_item *timer;
	uint64_t calls;
};

static void on_rearm(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct rearm *r = ctx;

	r->calls++;
	evloop_timer_expired(item);
	evloop_timer_arm(item, 1, 0);
}

/* Neither kind of timer may make one advance endless: virtual time moves
 * to the target after a bounded number of calls. */
static void test_virtual_storms(void **state)
{
	struct evloop *l = evloop_new();
	struct rearm oneshot = {0};
	struct counter periodic = {0};
	struct evloop_item *ptimer;
	uint64_t t0 = evloop_now_ns();
	int ran;

	assert_int_equal(evloop_use_virtual_clock(l), 0);
	assert_int_equal(evloop_timer_new(l, on_rearm, &oneshot, NULL, &oneshot.timer), 0);
	assert_int_equal(evloop_timer_arm(oneshot.timer, 1, 0), 0);
	/* 100 ms of 1 ns re-arms would be 10^8 calls */
	ran = evloop_advance(l, 100000000ull);
	assert_true(ran > 0);
	assert_true(oneshot.calls <= 1000001u);
	assert_int_equal(evloop_clock_ns(l), 100000000ull);
	/* it keeps firing, boundedly, in the next advance too */
	oneshot.calls = 0;
	evloop_advance(l, 100000000ull);
	assert_true(oneshot.calls > 0 && oneshot.calls <= 1000001u);
	assert_int_equal(evloop_clock_ns(l), 200000000ull);
	evloop_remove(l, oneshot.timer);

	assert_int_equal(evloop_timer_new(l, on_timer, &periodic, NULL, &ptimer), 0);
	assert_int_equal(evloop_timer_arm(ptimer, 1, 1), 0);
	ran = evloop_advance(l, 1000000000ull);
	assert_true(ran > 0 && ran <= 1000001);
	assert_int_equal(periodic.expiries, 1000000000ull); /* every period counted */
	assert_int_equal(evloop_clock_ns(l), 1200000000ull);
	evloop_remove(l, ptimer);
	/* bounded in real time too (10^9 calls would take minutes) */
	assert_true(evloop_now_ns() - t0 < 20000000000ull);
	evloop_free(l);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timer),	   cmocka_unit_test(test_fd_watch),
	    cmocka_unit_test(test_always_ready),   cmocka_unit_test(test_thread_and_remove),
	    cmocka_unit_test(test_virtual_storms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
