/*
 * devmodel/evloop.h: the event loop of one VM: fd watches and timers on an
 * epoll set, run by one thread.
 *
 * Each timer is a timerfd (CLOCK_MONOTONIC) in the epoll set: the kernel
 * keeps the deadlines, re-arming is one syscall, and a timer re-armed after
 * it fired but before its callback read it reports no expiry, which is what
 * lets a callback ignore a stale expiry (evloop_timer_expired returns 0).
 *
 * Lifetime: evloop_remove may be called from any thread, also from inside a
 * callback. After it returns no new call of the item's fn starts; the
 * item's release function (if any) runs once no call can be running any
 * more: at once when the loop thread is not running, else on the loop
 * thread after its current round of events.
 */
#ifndef VDM_EVLOOP_H
#define VDM_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;
struct evloop_item;

/* An item is ready: `events` are EPOLL* bits (timers: EPOLLIN). */
typedef void evloop_fn(void *ctx, struct evloop_item *item, uint32_t events);
typedef void evloop_release_fn(void *ctx);

/* A loop with nothing watched; NULL with errno on failure. */
struct evloop *evloop_new(void);
/* Stops the thread if running, removes and releases every item, frees. */
void evloop_free(struct evloop *l);

/* evloop_start: run the loop on a new thread. 0 or a negative errno. */
int evloop_start(struct evloop *l);
/* evloop_stop: make the thread return and join it (not from the loop thread). */
void evloop_stop(struct evloop *l);
/* evloop_run_once: one round on the calling thread (tests), waiting up to
 * timeout_ms; returns how many callbacks ran. Not while the thread runs. */
int evloop_run_once(struct evloop *l, int timeout_ms);
/* True on the loop thread. */
bool evloop_on_loop_thread(const struct evloop *l);

/*
 * evloop_watch: call fn when fd is ready for `events` (EPOLLIN, EPOLLOUT;
 * EPOLLERR/EPOLLHUP are always reported). The caller keeps owning fd.
 * Returns 0 and *item, or a negative errno (-EEXIST: fd already watched).
 */
int evloop_watch(struct evloop *l, int fd, uint32_t events, evloop_fn *fn, void *ctx,
		 evloop_release_fn *release, struct evloop_item **item);
/* evloop_modify: change the events of a watch. 0 or a negative errno. */
int evloop_modify(struct evloop *l, struct evloop_item *item, uint32_t events);
/* evloop_remove: see the lifetime rule above. Closes the item's timerfd. */
void evloop_remove(struct evloop *l, struct evloop_item *item);

/* evloop_timer_new: a disarmed timer calling fn when it expires. */
int evloop_timer_new(struct evloop *l, evloop_fn *fn, void *ctx, evloop_release_fn *release,
		     struct evloop_item **item);
/* evloop_timer_arm: first expiry delay_ns from now (0 disarms unless
 * period_ns is set: then it fires at once), then every period_ns if not 0. */
int evloop_timer_arm(struct evloop_item *timer, uint64_t delay_ns, uint64_t period_ns);
/* evloop_timer_expired: expiries since the last call (0 when none, e.g. after
 * a re-arm), consuming them. Call it in fn before acting. */
uint64_t evloop_timer_expired(struct evloop_item *timer);

/*
 * Virtual time (the sim backend's scripted guests). evloop_use_virtual_clock:
 * from now on timers count on the loop's own clock, which starts at 0 and
 * moves only with evloop_advance; call it before any timer exists (-EBUSY
 * otherwise). evloop_advance: move the clock by ns, running each timer that
 * falls due, in deadline order, on the calling thread (the loop thread when
 * it runs), with the clock at that timer's deadline; returns how many
 * callbacks ran, or -EINVAL on a real clock. evloop_clock_ns: the loop's
 * clock (virtual, or evloop_now_ns()).
 */
int evloop_use_virtual_clock(struct evloop *l);
int evloop_advance(struct evloop *l, uint64_t ns);
uint64_t evloop_clock_ns(struct evloop *l);

/* How many items are alive (not removed), for leak checks. */
unsigned evloop_item_count(struct evloop *l);

/* The monotonic clock timers use, in ns. */
uint64_t evloop_now_ns(void);

#endif /* VDM_EVLOOP_H */
