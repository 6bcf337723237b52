/*
 * devmodel/evloop.c: epoll, timerfds, an eventfd to wake the loop, and the
 * deferred release that makes removal safe from any thread.
 *
 * Every item is in `items` until removed; a removed item moves to
 * `zombies` and is freed (release called, timerfd closed) at the start of
 * the loop's next round, when no pointer to it from the previous
 * epoll_wait can be used any more. Calls into fn happen with the loop's
 * mutex released, so a callback may add, modify or remove items.
 *
 * An fd epoll refuses (EPERM: a regular file, /dev/null) is one poll(2)
 * reports always ready; so that a plugin sees the same on every host (the
 * SDK test host polls), such an fd is kept off the epoll set and reported
 * ready for whatever it is watched for on every round, without sleeping
 * while it is watched for anything. A plugin watches an output fd for
 * VDEV_FD_OUT only while it has something to write, as it must anyway.
 *
 * A loop on a virtual clock (evloop_use_virtual_clock, for scripted sim
 * guests) keeps its timers off the epoll set too: a timer is a deadline on
 * the loop's own clock, which only evloop_advance moves, running every
 * timer that falls due in deadline order. Nothing about a test then depends
 * on how fast the machine is.
 */
#include "devmodel/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct evloop_item {
	struct evloop_item *next;
	int fd;
	bool is_timer; /* fd is ours (a timerfd), or -1 on a virtual clock */
	struct evloop *loop;
	/* a timer on a virtual clock: */
	bool armed;
	uint64_t deadline, period, expired;
	bool always_ready; /* epoll refuses the fd (regular file, /dev/null) */
	uint32_t events;   /* what an always-ready item is watched for */
	bool dead;
	evloop_fn *fn;
	evloop_release_fn *release;
	void *ctx;
};

struct evloop {
	int epfd;
	int wakefd;
	pthread_mutex_t lock;
	struct evloop_item *items;
	struct evloop_item *zombies;
	bool running; /* a thread (or evloop_run_once) may hold item pointers */
	bool stopping;
	bool has_thread;
	pthread_t thread;
	bool virtual_clock;
	uint64_t vnow; /* the virtual clock, ns */
};

/* After this many calls in one advance, a periodic virtual timer is
 * coalesced and any other due timer runs late (at the advance's target), so
 * that no timer, periodic or a one-shot re-armed from its own callback, can
 * make one advance run forever. */
#define EVLOOP_ADVANCE_BUDGET 1000000u

#define EVLOOP_MAX_EVENTS 32

struct evloop *evloop_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = {.events = EPOLLIN};

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->wakefd < 0)
		goto fail;
	ev.data.ptr = NULL; /* NULL marks the wake-up eventfd */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
		goto fail;
	pthread_mutex_init(&l->lock, NULL);
	return l;
fail:
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wakefd >= 0)
		close(l->wakefd);
	free(l);
	return NULL;
}

static void evloop_item_free(struct evloop_item *it)
{
	if (it->release)
		it->release(it->ctx);
	if (it->is_timer && it->fd >= 0)
		close(it->fd);
	free(it);
}

/* Frees the zombies; called with l->lock held, releases run unlocked. */
static void evloop_reap_locked(struct evloop *l)
{
	while (l->zombies) {
		struct evloop_item *z = l->zombies;

		l->zombies = z->next;
		pthread_mutex_unlock(&l->lock);
		evloop_item_free(z);
		pthread_mutex_lock(&l->lock);
	}
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	evloop_stop(l);
	pthread_mutex_lock(&l->lock);
	while (l->items) {
		struct evloop_item *it = l->items;

		l->items = it->next;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, it->fd, NULL);
		it->dead = true;
		it->next = l->zombies;
		l->zombies = it;
	}
	evloop_reap_locked(l);
	pthread_mutex_unlock(&l->lock);
	close(l->epfd);
	close(l->wakefd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

uint64_t evloop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool evloop_on_loop_thread(const struct evloop *l)
{
	return l->has_thread && pthread_equal(pthread_self(), l->thread);
}

/*
 * Make epoll_wait return so that the loop looks at its lists again. Not
 * needed from a callback on the loop's own thread: the round it is in ends
 * and the next one rescans the lists before it sleeps. Skipping it there
 * saves a write and an empty round each time a device changes its watch
 * from its own fd callback (a UART's output, once per byte).
 */
static void evloop_wake(struct evloop *l)
{
	uint64_t one = 1;

	if (evloop_on_loop_thread(l))
		return;
	if (write(l->wakefd, &one, sizeof(one)) < 0) {
		/* the counter is full: the loop is awake anyway */
	}
}

static int evloop_add_item(struct evloop *l, struct evloop_item *it, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = it};

	pthread_mutex_lock(&l->lock);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, it->fd, &ev) < 0) {
		int err = -errno;

		if (err != -EPERM || it->is_timer) {
			pthread_mutex_unlock(&l->lock);
			return err;
		}
		/* poll(2) calls such an fd always ready: so do we (see the top comment) */
		it->always_ready = true;
		it->events = events;
	}
	it->next = l->items;
	l->items = it;
	pthread_mutex_unlock(&l->lock);
	if (it->always_ready)
		evloop_wake(l);
	return 0;
}

int evloop_watch(struct evloop *l, int fd, uint32_t events, evloop_fn *fn, void *ctx,
		 evloop_release_fn *release, struct evloop_item **item)
{
	struct evloop_item *it;
	int ret;

	if (fd < 0 || !fn || !item)
		return -EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	*it = (struct evloop_item){.fd = fd, .fn = fn, .ctx = ctx, .release = release};
	ret = evloop_add_item(l, it, events);
	if (ret < 0) {
		free(it);
		return ret;
	}
	*item = it;
	return 0;
}

int evloop_modify(struct evloop *l, struct evloop_item *item, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = item};
	int ret = 0;

	bool wake = false;

	pthread_mutex_lock(&l->lock);
	if (item->dead) {
		ret = -ENOENT;
	} else if (item->always_ready) {
		item->events = events;
		wake = true;
	} else if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, item->fd, &ev) < 0) {
		ret = -errno;
	}
	pthread_mutex_unlock(&l->lock);
	if (wake)
		evloop_wake(l);
	return ret;
}

void evloop_remove(struct evloop *l, struct evloop_item *item)
{
	bool now;

	if (!item)
		return;
	pthread_mutex_lock(&l->lock);
	if (item->dead) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	item->dead = true;
	if (!item->always_ready && item->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, item->fd, NULL);
	for (struct evloop_item **pp = &l->items; *pp; pp = &(*pp)->next) {
		if (*pp == item) {
			*pp = item->next;
			break;
		}
	}
	now = !l->running;
	if (!now) {
		item->next = l->zombies;
		l->zombies = item;
	}
	pthread_mutex_unlock(&l->lock);
	if (now)
		evloop_item_free(item);
}

int evloop_timer_new(struct evloop *l, evloop_fn *fn, void *ctx, evloop_release_fn *release,
		     struct evloop_item **item)
{
	struct evloop_item *it;
	int ret;

	if (!fn || !item)
		return -EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->loop = l;
	pthread_mutex_lock(&l->lock);
	if (l->virtual_clock) {
		it->fd = -1;
		it->is_timer = true;
		it->fn = fn;
		it->ctx = ctx;
		it->release = release;
		it->next = l->items;
		l->items = it;
		pthread_mutex_unlock(&l->lock);
		*item = it;
		return 0;
	}
	pthread_mutex_unlock(&l->lock);
	it->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (it->fd < 0) {
		ret = -errno;
		free(it);
		return ret;
	}
	it->is_timer = true;
	it->fn = fn;
	it->ctx = ctx;
	it->release = release;
	ret = evloop_add_item(l, it, EPOLLIN);
	if (ret < 0) {
		close(it->fd);
		free(it);
		return ret;
	}
	*item = it;
	return 0;
}

static struct timespec evloop_ts(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000ull),
				 .tv_nsec = (long)(ns % 1000000000ull)};
}

int evloop_timer_arm(struct evloop_item *timer, uint64_t delay_ns, uint64_t period_ns)
{
	struct itimerspec its;

	if (!timer || !timer->is_timer)
		return -EINVAL;
	/* A zero it_value disarms: "now" with a period means the smallest delay. */
	if (delay_ns == 0 && period_ns != 0)
		delay_ns = 1;
	if (timer->fd < 0) {
		struct evloop *l = timer->loop;
		pthread_mutex_lock(&l->lock);
		/* like timerfd_settime: re-arming drops expiries not yet read */
		timer->armed = delay_ns != 0;
		timer->deadline = l->vnow + delay_ns;
		timer->period = period_ns;
		timer->expired = 0;
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	its.it_value = evloop_ts(delay_ns);
	its.it_interval = evloop_ts(period_ns);
	if (timerfd_settime(timer->fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

uint64_t evloop_timer_expired(struct evloop_item *timer)
{
	uint64_t n = 0;

	if (!timer || !timer->is_timer)
		return 0;
	if (timer->fd < 0) {
		pthread_mutex_lock(&timer->loop->lock);
		n = timer->expired;
		timer->expired = 0;
		pthread_mutex_unlock(&timer->loop->lock);
		return n;
	}
	if (read(timer->fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	return n;
}

int evloop_use_virtual_clock(struct evloop *l)
{
	int ret = 0;

	pthread_mutex_lock(&l->lock);
	for (struct evloop_item *it = l->items; it; it = it->next)
		if (it->is_timer)
			ret = -EBUSY;
	if (!ret)
		l->virtual_clock = true;
	pthread_mutex_unlock(&l->lock);
	return ret;
}

uint64_t evloop_clock_ns(struct evloop *l)
{
	uint64_t now;

	pthread_mutex_lock(&l->lock);
	now = l->virtual_clock ? l->vnow : evloop_now_ns();
	pthread_mutex_unlock(&l->lock);
	return now;
}

/* The armed virtual timer due first at or before `target`, or NULL. */
static struct evloop_item *evloop_next_due_locked(struct evloop *l, uint64_t target)
{
	struct evloop_item *best = NULL;

	for (struct evloop_item *it = l->items; it; it = it->next)
		if (it->is_timer && it->armed && !it->dead && it->deadline <= target &&
		    (!best || it->deadline < best->deadline))
			best = it;
	return best;
}

int evloop_advance(struct evloop *l, uint64_t ns)
{
	unsigned calls = 0;
	uint64_t target;

	pthread_mutex_lock(&l->lock);
	if (!l->virtual_clock) {
		pthread_mutex_unlock(&l->lock);
		return -EINVAL;
	}
	target = l->vnow + ns < l->vnow ? UINT64_MAX : l->vnow + ns;
	for (;;) {
		struct evloop_item *it = evloop_next_due_locked(l, target);
		if (!it)
			break;
		/*
		 * Past the budget every timer still due runs late, at the
		 * target: a one-shot re-armed from its own callback then lands
		 * beyond the target and this advance ends, whatever the delay.
		 */
		l->vnow = calls >= EVLOOP_ADVANCE_BUDGET ? target : it->deadline;
		it->expired++;
		if (!it->period) {
			it->armed = false;
		} else if (calls >= EVLOOP_ADVANCE_BUDGET) {
			/* coalesce the rest, as a timerfd reports overruns */
			uint64_t missed = (target - it->deadline) / it->period;
			it->expired += missed;
			it->deadline += (missed + 1) * it->period;
		} else {
			it->deadline += it->period;
		}
		evloop_fn *fn = it->fn;
		void *ctx = it->ctx;
		calls++;
		/* Items removed by the callback stay allocated while running is
		 * set (they wait in zombies): it stays valid here. */
		bool was_running = l->running;
		l->running = true;
		pthread_mutex_unlock(&l->lock);
		fn(ctx, it, EPOLLIN);
		pthread_mutex_lock(&l->lock);
		l->running = was_running;
	}
	l->vnow = target;
	if (!l->running)
		evloop_reap_locked(l);
	pthread_mutex_unlock(&l->lock);
	return (int)(calls > INT32_MAX ? INT32_MAX : calls);
}

unsigned evloop_item_count(struct evloop *l)
{
	unsigned n = 0;

	pthread_mutex_lock(&l->lock);
	for (struct evloop_item *it = l->items; it; it = it->next)
		n++;
	pthread_mutex_unlock(&l->lock);
	return n;
}

/* One round: reap, wait, dispatch. Returns callbacks run, or -1 to stop. */
static int evloop_round(struct evloop *l, int timeout_ms)
{
	struct epoll_event ev[EVLOOP_MAX_EVENTS];
	struct evloop_item *ready[EVLOOP_MAX_EVENTS];
	uint32_t ready_events[EVLOOP_MAX_EVENTS];
	unsigned nready = 0;
	int n, ran = 0;

	pthread_mutex_lock(&l->lock);
	evloop_reap_locked(l);
	if (l->stopping) {
		pthread_mutex_unlock(&l->lock);
		return -1;
	}
	/* Always-ready items with events to report: do not sleep. */
	for (struct evloop_item *it = l->items; it && nready < EVLOOP_MAX_EVENTS; it = it->next) {
		if (it->always_ready && (it->events & (EPOLLIN | EPOLLOUT))) {
			ready[nready] = it;
			ready_events[nready++] = it->events & (EPOLLIN | EPOLLOUT);
		}
	}
	pthread_mutex_unlock(&l->lock);

	n = epoll_wait(l->epfd, ev, EVLOOP_MAX_EVENTS, nready ? 0 : timeout_ms);
	for (int i = 0; i < n; i++) {
		struct evloop_item *it = ev[i].data.ptr;
		bool dead;

		if (!it) {
			uint64_t v;

			if (read(l->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
			continue;
		}
		pthread_mutex_lock(&l->lock);
		dead = it->dead;
		pthread_mutex_unlock(&l->lock);
		if (dead)
			continue;
		it->fn(it->ctx, it, ev[i].events);
		ran++;
	}
	/* Removed items stay allocated until the next round's reap. */
	for (unsigned i = 0; i < nready; i++) {
		bool dead;
		uint32_t events;

		pthread_mutex_lock(&l->lock);
		dead = ready[i]->dead;
		events = ready[i]->events & ready_events[i];
		pthread_mutex_unlock(&l->lock);
		if (dead || !events)
			continue;
		ready[i]->fn(ready[i]->ctx, ready[i], events);
		ran++;
	}
	return ran;
}

int evloop_run_once(struct evloop *l, int timeout_ms)
{
	int ran;

	pthread_mutex_lock(&l->lock);
	l->running = true;
	pthread_mutex_unlock(&l->lock);
	ran = evloop_round(l, timeout_ms);
	pthread_mutex_lock(&l->lock);
	evloop_reap_locked(l);
	l->running = false;
	pthread_mutex_unlock(&l->lock);
	return ran < 0 ? 0 : ran;
}

static void *evloop_thread(void *arg)
{
	struct evloop *l = arg;

	while (evloop_round(l, -1) >= 0)
		;
	return NULL;
}

int evloop_start(struct evloop *l)
{
	int ret;

	pthread_mutex_lock(&l->lock);
	if (l->has_thread) {
		pthread_mutex_unlock(&l->lock);
		return -EBUSY;
	}
	l->running = true;
	l->stopping = false;
	ret = pthread_create(&l->thread, NULL, evloop_thread, l);
	if (ret) {
		l->running = false;
		pthread_mutex_unlock(&l->lock);
		return -ret;
	}
	l->has_thread = true;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

void evloop_stop(struct evloop *l)
{
	pthread_mutex_lock(&l->lock);
	if (!l->has_thread) {
		pthread_mutex_unlock(&l->lock);
		return;
	}
	l->stopping = true;
	pthread_mutex_unlock(&l->lock);
	evloop_wake(l);
	pthread_join(l->thread, NULL);
	pthread_mutex_lock(&l->lock);
	l->has_thread = false;
	l->running = false;
	evloop_reap_locked(l);
	pthread_mutex_unlock(&l->lock);
}
