/*
 * sdk/testhost/events.c: the test host's event loop: timers in virtual time
 * (which moves only in vdev_testhost_advance) and fd watches (polled in
 * vdev_testhost_poll), both run on the calling thread.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "sdk/testhost/internal.h"

/* The armed timer due first (deadline, then arming order), or NULL. th->lock held. */
static struct vdev_timer *timer_next(struct vdev_testhost *th, uint64_t until)
{
	struct vdev_timer *best = NULL, *t;
	struct vdev_testdev *dev;

	for (dev = th->devs; dev; dev = dev->next) {
		if (dev->dying)
			continue;
		for (t = dev->timers; t; t = t->next) {
			if (!t->armed || t->deadline > until)
				continue;
			if (!best || t->deadline < best->deadline ||
			    (t->deadline == best->deadline && t->seq < best->seq))
				best = t;
		}
	}
	return best;
}

void vdev_testhost_advance(struct vdev_testhost *th, uint64_t ns)
{
	struct vdev_testdev *dev;
	struct vdev_timer *t;
	uint64_t until, gen;
	bool still;

	pthread_mutex_lock(&th->lock);
	until = ns > UINT64_MAX - th->now ? UINT64_MAX : th->now + ns;
	for (;;) {
		t = timer_next(th, until);
		if (!t)
			break;
		/* Time jumps to the expiry, so clock_ns inside the callback
		 * reads the time it fired at, and a re-arm counts from it. */
		if (t->deadline > th->now)
			th->now = t->deadline;
		if (t->period) {
			t->deadline = t->period > UINT64_MAX - t->deadline ? UINT64_MAX
									   : t->deadline + t->period;
			t->seq = ++th->timer_seq;
		} else {
			t->armed = false;
		}
		gen = t->gen;
		dev = t->dev;
		pthread_mutex_unlock(&th->lock);

		th_dev_lock(dev, true);
		/* No call starts after timer_cancel/destroy returned, even one
		 * picked just before. */
		pthread_mutex_lock(&th->lock);
		still = t->gen == gen && !dev->dying;
		pthread_mutex_unlock(&th->lock);
		if (still) {
			th_hook_enter(dev, "timer");
			t->fn(dev->state, t->arg);
			th_hook_exit(dev, "timer");
		}
		th_dev_unlock(dev, true);
		pthread_mutex_lock(&th->lock);
	}
	th->now = until;
	pthread_mutex_unlock(&th->lock);
}

/* th->lock held by the caller. */
void th_timers_release(struct vdev_testdev *dev)
{
	struct vdev_testhost *th = dev->th;
	struct vdev_timer *t;

	while ((t = dev->timers)) {
		dev->timers = t->next;
		t->armed = false;
		t->gen++;
		t->magic = TH_MAGIC_DEAD;
		t->next = th->dead_timers;
		th->dead_timers = t;
	}
}

/* th->lock held by the caller. */
void th_watches_release(struct vdev_testdev *dev)
{
	struct vdev_testhost *th = dev->th;
	struct vdev_watch *w;

	while ((w = dev->watches)) {
		dev->watches = w->next;
		w->gen++;
		w->magic = TH_MAGIC_DEAD;
		w->next = th->dead_watches;
		th->dead_watches = w;
	}
}

struct ready {
	struct vdev_watch *watch;
	uint64_t gen;
	uint32_t events;
};

int vdev_testhost_poll(struct vdev_testhost *th, int timeout_ms)
{
	struct pollfd *fds = NULL;
	struct ready *list = NULL;
	struct vdev_testdev *dev;
	struct vdev_watch *w;
	unsigned n = 0, i, ran = 0;
	bool still;
	int rc;

	pthread_mutex_lock(&th->lock);
	for (dev = th->devs; dev; dev = dev->next) {
		for (w = dev->watches; w; w = w->next)
			n++;
	}
	if (n) {
		fds = calloc(n, sizeof(*fds));
		list = calloc(n, sizeof(*list));
		if (!fds || !list) {
			pthread_mutex_unlock(&th->lock);
			free(fds);
			free(list);
			return -ENOMEM;
		}
	}
	n = 0;
	for (dev = th->devs; dev; dev = dev->next) {
		if (dev->dying)
			continue;
		for (w = dev->watches; w; w = w->next) {
			fds[n].fd = w->fd;
			fds[n].events = (short)(((w->events & VDEV_FD_IN) ? POLLIN : 0) |
						((w->events & VDEV_FD_OUT) ? POLLOUT : 0));
			list[n].watch = w;
			list[n].gen = w->gen;
			n++;
		}
	}
	pthread_mutex_unlock(&th->lock);

	rc = poll(fds, n, timeout_ms);
	if (rc < 0) {
		rc = -errno;
		free(fds);
		free(list);
		return rc;
	}
	for (i = 0; i < n; i++) {
		uint32_t ev = 0;

		if (fds[i].revents & POLLIN)
			ev |= VDEV_FD_IN;
		if (fds[i].revents & POLLOUT)
			ev |= VDEV_FD_OUT;
		if (fds[i].revents & (POLLERR | POLLNVAL))
			ev |= VDEV_FD_ERR;
		if (fds[i].revents & POLLHUP)
			ev |= VDEV_FD_HUP;
		w = list[i].watch;
		if (!ev)
			continue;
		dev = w->dev;
		th_dev_lock(dev, true);
		/* The watch may have been modified or removed by an earlier
		 * callback of this round: skip it then. */
		pthread_mutex_lock(&th->lock);
		still = w->gen == list[i].gen && !dev->dying;
		pthread_mutex_unlock(&th->lock);
		if (still) {
			th_hook_enter(dev, "fd");
			w->fn(dev->state, w->arg, w->fd, ev);
			th_hook_exit(dev, "fd");
			ran++;
		}
		th_dev_unlock(dev, true);
	}
	free(fds);
	free(list);
	return (int)ran;
}
