/*
 * sdk/conform/checks_threads.c: the checks that watch host-service calls:
 * interrupts-via-host, no-interrupt-after-destroy, threads-contract, and
 * concurrent-access.
 *
 * The recorder (session.c) classifies each call; the checks split its
 * findings so that one defect is one check's: a call with a destroyed
 * handle is only no-interrupt-after-destroy's, an interrupt service outside
 * a callback or through another instance's handle is interrupts-via-host's,
 * and any service outside a callback (valid handle) is threads-contract's.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "sdk/conform/conform.h"

#define WORKLOAD_STEPS 3000

/* Both instances (when two can live together) under a random workload. */
static void exercise(struct conform_session *s, struct vdev_testdev *a, struct vdev_testdev *b)
{
	conform_workload(s, a, &s->rng, WORKLOAD_STEPS, CONFORM_WL_ALL);
	if (b)
		conform_workload(s, b, &s->rng, WORKLOAD_STEPS, CONFORM_WL_ALL);
	if (s->desc->ops->reset) {
		conform_where(s->run, "reset");
		vdev_testhost_reset(a);
	}
	conform_workload(s, a, &s->rng, WORKLOAD_STEPS / 2, CONFORM_WL_ALL);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

void conform_check_interrupts_via_host(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testdev *a, *b = NULL;
	struct conform_record rec;

	if (conform_session_open(&s, run) < 0)
		return;
	conform_session_want_intr(&s);
	a = conform_create(&s, false, false);
	if (!a)
		goto out;
	if (s.options2[0])
		b = conform_create(&s, true, true);
	exercise(&s, a, b);
	conform_where(run, "destroy");
	if (b)
		vdev_testhost_destroy(b);
	vdev_testhost_destroy(a);
	conform_record_get(&rec);
	if (rec.outside_irq_calls)
		conform_fail(run,
			     "%u interrupt call(s) outside any callback on the calling thread; "
			     "first: %s",
			     rec.outside_irq_calls, rec.first_outside);
	if (rec.foreign_irq_calls)
		conform_fail(run,
			     "%u interrupt call(s) through another instance's handle; first: %s",
			     rec.foreign_irq_calls, rec.first_foreign);
	if (!rec.irq_calls && run->result->outcome == CONFORM_PASS)
		conform_skip(run, "no interrupt call was seen under the workload");
	else
		conform_note(run, "%u interrupt call(s) seen%s", rec.irq_calls,
			     b ? " from two instances" : "");
out:
	conform_session_close(&s);
}

void conform_check_no_interrupt_after_destroy(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testdev *dev;
	struct conform_record rec;

	if (conform_session_open(&s, run) < 0)
		return;
	conform_session_want_intr(&s);
	/* Two lives in a row: a late call may come at the next create too. */
	for (int life = 0; life < 2; life++) {
		dev = conform_create(&s, false, false);
		if (!dev)
			goto out;
		exercise(&s, dev, NULL);
		conform_where(run, "destroy (life %d)", life + 1);
		vdev_testhost_destroy(dev);
		/* Threads, timers or fd events that outlive the instance. */
		for (int i = 0; i < 10; i++) {
			conform_where(run, "after destroy: advance time, poll");
			vdev_testhost_advance(s.th, 100000000);
			vdev_testhost_poll(s.th, 0);
			sleep_ms(10);
		}
	}
	conform_record_get(&rec);
	if (rec.invalid_calls)
		conform_fail(run, "%u host call(s) with a destroyed instance's handle; first: %s",
			     rec.invalid_calls, rec.first_invalid);
out:
	conform_session_close(&s);
}

/* A worker of threads-contract / concurrent-access. */
struct worker {
	struct conform_session *s;
	struct vdev_testdev *dev;
	struct conform_rng rng;
	unsigned steps;
	unsigned flags;
	pthread_t thread;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	conform_workload(w->s, w->dev, &w->rng, w->steps, w->flags | CONFORM_WL_QUIET);
	return NULL;
}

/*
 * Runs n workers on dev and waits for them; meanwhile, with `timers`, this
 * thread advances time so that timer callbacks race with the accesses the
 * way the event loop races with vCPUs. Returns how many started.
 */
static unsigned run_workers(struct conform_session *s, struct vdev_testdev *dev,
			    struct worker *workers, unsigned n, unsigned steps, unsigned flags,
			    bool timers)
{
	unsigned started = 0;

	for (unsigned i = 0; i < n; i++) {
		workers[i] = (struct worker){.s = s, .dev = dev, .steps = steps, .flags = flags};
		conform_rng_seed(&workers[i].rng, s->run->opts->seed + 1000 + i);
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0)
			started++;
		else
			break;
	}
	if (timers && started)
		conform_workload(s, dev, &s->rng, steps / 4, CONFORM_WL_TIME | CONFORM_WL_QUIET);
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	return started;
}

void conform_check_threads_contract(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testdev *dev;
	struct conform_record rec;
	struct worker workers[2];

	if (conform_session_open(&s, run) < 0)
		return;
	conform_session_want_intr(&s);
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	exercise(&s, dev, NULL);
	conform_where(run, "accesses from 2 other threads");
	run_workers(&s, dev, workers, 2, WORKLOAD_STEPS, CONFORM_WL_READ | CONFORM_WL_WRITE, false);
	conform_workload(&s, dev, &s.rng, 200, CONFORM_WL_TIME);
	/* Give a plugin thread of its own the time to show up. */
	sleep_ms(50);
	conform_where(run, "destroy");
	vdev_testhost_destroy(dev);
	conform_record_get(&rec);
	if (rec.outside_calls)
		conform_fail(run,
			     "%u host service call(s) outside any callback on the calling "
			     "thread; first: %s",
			     rec.outside_calls, rec.first_outside);
	conform_note(run, "%u host service call(s) seen", rec.services);
out:
	conform_session_close(&s);
}

#define CONCURRENT_THREADS 4
#define CONCURRENT_STEPS   20000

void conform_check_concurrent_access(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testdev *dev;
	struct worker workers[CONCURRENT_THREADS];
	unsigned started;

	if (conform_session_open(&s, run) < 0)
		return;
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	conform_where(run, "%d threads of random reads and writes", CONCURRENT_THREADS);
	started = run_workers(&s, dev, workers, CONCURRENT_THREADS, CONCURRENT_STEPS,
			      CONFORM_WL_READ | CONFORM_WL_WRITE, true);
	if (started < CONCURRENT_THREADS)
		conform_fail(run, "only %u of %d threads could be started", started,
			     CONCURRENT_THREADS);
	conform_note(run, "%u threads x %d accesses, timers firing%s", started, CONCURRENT_STEPS,
		     s.desc->flags & VDEV_F_SELF_LOCKED ? " (the plugin locks itself)"
							: " (serialised by the host)");
	conform_where(run, "destroy");
	vdev_testhost_destroy(dev);
out:
	conform_session_close(&s);
}
