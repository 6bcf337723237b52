/*
 * sdk/conform/checks_life.c: lifecycle checks: lifecycle-repeat,
 * lifecycle-no-leftovers and time-budget.
 *
 * Leaks are found with LeakSanitizer when the runner is built with ASan
 * (build/san): its interface is declared weak, so the same source links
 * without the sanitizer and the memory part of the check then says it did
 * not run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sdk/conform/conform.h"

/* From <sanitizer/lsan_interface.h>, weak so that a plain build links. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#define REPEAT_CYCLES 200

void conform_check_lifecycle_repeat(struct conform_run *run)
{
	struct conform_session s;
	unsigned i;

	if (conform_session_open(&s, run) < 0)
		return;
	for (i = 0; i < REPEAT_CYCLES; i++) {
		struct vdev_testdev *dev;

		conform_where(run, "cycle %u of %u: create", i + 1, REPEAT_CYCLES);
		dev = conform_create(&s, false, i != 0);
		if (!dev) {
			if (i)
				conform_fail(run,
					     "create failed in cycle %u after %u successes: %s",
					     i + 1, i, vdev_testhost_error(s.th));
			break;
		}
		conform_where(run, "cycle %u of %u: destroy", i + 1, REPEAT_CYCLES);
		vdev_testhost_destroy(dev);
	}
	conform_session_close(&s);
	if (i < REPEAT_CYCLES)
		return;
	if (!__lsan_do_recoverable_leak_check) {
		conform_note(run, "%u cycles; leak check not run (build with SAN=1 for it)",
			     REPEAT_CYCLES);
		return;
	}
	conform_where(run, "LeakSanitizer leak check");
	if (__lsan_do_recoverable_leak_check())
		conform_fail(run,
			     "LeakSanitizer found memory leaked after %u create/destroy "
			     "cycles (its report is on stderr)",
			     REPEAT_CYCLES);
	else
		conform_note(run, "%u cycles, no leak", REPEAT_CYCLES);
}

void conform_check_lifecycle_no_leftovers(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testhost_usage usage;
	struct vdev_testdev *dev;
	int before, after, threads_before, threads_after;

	if (conform_session_open(&s, run) < 0)
		return;
	/* A first cycle lets the host open whatever it opens once. */
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	vdev_testhost_destroy(dev);

	before = conform_open_fds();
	threads_before = conform_threads();
	for (unsigned cycle = 0; cycle < 3; cycle++) {
		dev = conform_create(&s, false, false);
		if (!dev)
			goto out;
		conform_workload(&s, dev, &s.rng, 500, CONFORM_WL_ALL);
		conform_where(run, "destroy");
		vdev_testhost_destroy(dev);
		vdev_testhost_usage(s.th, &usage);
		if (usage.regions || usage.lines || usage.timers || usage.watches || usage.maps) {
			conform_fail(run,
				     "after destroy the host still holds %u region(s), %u "
				     "line(s), %u timer(s), %u fd watch(es), %u mapping(s)",
				     usage.regions, usage.lines, usage.timers, usage.watches,
				     usage.maps);
			break;
		}
	}
	after = conform_open_fds();
	/* A thread a plugin started ends by the time destroy returns. */
	threads_after = conform_threads();
	for (unsigned i = 0; i < 50 && threads_after > threads_before; i++) {
		struct timespec ts = {.tv_nsec = 10000000L};

		nanosleep(&ts, NULL); /* a thread told to stop may take a moment to exit */
		threads_after = conform_threads();
	}
	if (threads_before > 0 && threads_after > threads_before)
		conform_fail(run,
			     "%d thread(s) still running 0.5 s after 3 create/destroy cycles "
			     "(%d before, %d after): destroy must stop and join what create "
			     "started",
			     threads_after - threads_before, threads_before, threads_after);
	if (before >= 0 && after > before)
		conform_fail(run,
			     "%d file descriptor(s) still open after 3 create/destroy cycles "
			     "(%d before, %d after): destroy must close what create opened",
			     after - before, before, after);
out:
	conform_session_close(&s);
}

#define CREATE_BUDGET_NS 100000000ull
#define ACCESS_BUDGET_NS 10000000ull
#define WARM_CREATES	 10
#define TIMED_ACCESSES	 2000

void conform_check_time_budget(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testdev *dev;
	struct conform_rng rng;
	uint64_t t0, cold, warm = 0, access;

	if (conform_session_open(&s, run) < 0)
		return;
	t0 = conform_now_ns();
	dev = conform_create(&s, false, false);
	cold = conform_now_ns() - t0;
	if (!dev)
		goto out;
	vdev_testhost_destroy(dev);
	for (unsigned i = 0; i < WARM_CREATES; i++) {
		t0 = conform_now_ns();
		dev = conform_create(&s, false, false);
		warm += conform_now_ns() - t0;
		if (!dev)
			goto out;
		if (i + 1 < WARM_CREATES)
			vdev_testhost_destroy(dev);
	}
	warm /= WARM_CREATES;
	conform_rng_seed(&rng, run->opts->seed);
	t0 = conform_now_ns();
	conform_workload(&s, dev, &rng, TIMED_ACCESSES, CONFORM_WL_READ | CONFORM_WL_WRITE);
	access = (conform_now_ns() - t0) / TIMED_ACCESSES;
	vdev_testhost_destroy(dev);

	if (cold > CREATE_BUDGET_NS)
		conform_warn(run, "the first create took %.1f ms (budget 100 ms)", cold / 1e6);
	if (warm > CREATE_BUDGET_NS)
		conform_warn(run, "create took %.1f ms on average (budget 100 ms)", warm / 1e6);
	if (access > ACCESS_BUDGET_NS)
		conform_warn(run, "a register access took %.2f ms on average (budget 10 ms)",
			     access / 1e6);
	conform_note(run,
		     "create: first %.2f ms, then %.2f ms on average; access %.1f us on "
		     "average",
		     cold / 1e6, warm / 1e6, access / 1e3);
out:
	conform_session_close(&s);
}

/* A bound per call, not an average: one read that sleeps for a second
 * stalls a vCPU (or, from a timer, every device) for that second, however
 * fast the other calls are. */
#define LATENCY_HARD_NS 1000000000ull
#define LATENCY_STEPS	5000

static bool latency_seen(void)
{
	struct conform_record rec;

	conform_record_get(&rec);
	return rec.slowest_ns >= LATENCY_HARD_NS || rec.over_bound >= 2;
}

/* One life of an instance: every register at every declared width, a
 * random workload with time (timers, fd events), reset, save and restore. */
static void latency_life(struct conform_session *s, struct vdev_testdev *dev)
{
	unsigned char *state = NULL;

	for (unsigned w = 1; w <= 8 && !latency_seen(); w *= 2) {
		struct conform_point *points;
		size_t n;

		if (!(s->desc->access_sizes & VDEV_ACCESS_SIZE(w)))
			continue;
		n = conform_points(dev, w, &points);
		for (size_t i = 0; i < n && !latency_seen(); i++) {
			uint64_t v = 0;

			conform_where(s->run, "read width %u at 0x%llx, write it back", w,
				      (unsigned long long)points[i].addr);
			if (vdev_testhost_read(s->th, points[i].space, points[i].addr, w, &v) == 0)
				vdev_testhost_write(s->th, points[i].space, points[i].addr, w, v);
		}
		free(points);
	}
	for (unsigned i = 0; i < LATENCY_STEPS / 100 && !latency_seen(); i++)
		conform_workload(s, dev, &s->rng, 100, CONFORM_WL_ALL);
	if (s->desc->ops->reset && !latency_seen()) {
		conform_where(s->run, "reset");
		vdev_testhost_reset(dev);
	}
	if (s->desc->state_size && !latency_seen() && (state = malloc(s->desc->state_size))) {
		ssize_t len;

		conform_where(s->run, "save and restore");
		len = vdev_testhost_save(dev, state, s->desc->state_size);
		if (len >= 0)
			vdev_testhost_restore(dev, state, (size_t)len);
		conform_workload(s, dev, &s->rng, 200, CONFORM_WL_ALL);
	}
	free(state);
}

void conform_check_callback_latency(struct conform_run *run)
{
	struct conform_session s;
	struct conform_record rec;

	if (conform_session_open(&s, run) < 0)
		return;
	conform_session_want_intr(&s);
	/* Two lives: a device that blocks once per instance shows twice. */
	for (int life = 0; life < 2 && !latency_seen(); life++) {
		struct vdev_testdev *dev = conform_create(&s, false, false);

		if (!dev)
			goto out;
		latency_life(&s, dev);
		conform_where(run, "destroy");
		vdev_testhost_destroy(dev);
	}
	conform_record_get(&rec);
	if (rec.slowest_ns >= LATENCY_HARD_NS)
		conform_fail(run,
			     "a %s callback took %.0f ms: callbacks never block (a per-call "
			     "bound of %llu ms; defer slow work to a timer or a thread of "
			     "your own)",
			     rec.slowest, rec.slowest_ns / 1e6,
			     CONFORM_CALLBACK_BOUND_NS / 1000000);
	else if (rec.over_bound >= 2)
		conform_fail(run,
			     "%u callbacks took more than %llu ms each (the slowest, %s, %.0f ms): "
			     "callbacks never block",
			     rec.over_bound, CONFORM_CALLBACK_BOUND_NS / 1000000, rec.slowest,
			     rec.slowest_ns / 1e6);
	else if (rec.over_bound)
		conform_warn(run,
			     "one %s callback took %.0f ms (bound %llu ms); once only, so "
			     "perhaps the machine",
			     rec.slowest, rec.slowest_ns / 1e6,
			     CONFORM_CALLBACK_BOUND_NS / 1000000);
	conform_note(run, "slowest callback: %s, %.2f ms", rec.slowest[0] ? rec.slowest : "none",
		     rec.slowest_ns / 1e6);
out:
	conform_session_close(&s);
}

/* ------------------------------------------------------- service-faults */

#define FAULT_CYCLES 40

/*
 * Create while timer_create and fd_watch fail: a create that cannot get
 * what it needs fails cleanly (a negative errno, nothing of its own left
 * open), and one that goes on anyway must not use what it did not get.
 */
void conform_check_service_faults(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testdev *dev;
	unsigned created = 0, refused = 0, failed;
	int leaked = 0;

	if (conform_session_open(&s, run) < 0)
		return;
	conform_session_want_intr(&s);
	/* One plain cycle first, so that the host's own descriptors exist. */
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	vdev_testhost_destroy(dev);
	for (unsigned i = 0; i < FAULT_CYCLES; i++) {
		int open_before = conform_open_fds();

		vdev_testhost_inject_faults(
		    s.th, VDEV_TESTHOST_FAULT_TIMER_CREATE | VDEV_TESTHOST_FAULT_FD_WATCH,
		    i < FAULT_CYCLES / 2 ? 2 : 1, run->opts->seed + i);
		conform_where(run, "cycle %u: create with timer_create/fd_watch failing", i + 1);
		dev = vdev_testhost_create(s.th, s.desc, s.options);
		vdev_testhost_inject_faults(s.th, 0, 0, 0);
		if (!dev) {
			/* What a destroyed instance leaves is lifecycle-no-leftovers'
			 * business; what a refused create leaves is this check's. */
			int open_after = conform_open_fds();

			if (open_before >= 0 && open_after > open_before)
				leaked += open_after - open_before;
			refused++;
			continue;
		}
		created++;
		conform_workload(&s, dev, &s.rng, 300, CONFORM_WL_ALL);
		if (s.desc->ops->reset) {
			conform_where(run, "cycle %u: reset", i + 1);
			vdev_testhost_reset(dev);
		}
		conform_where(run, "cycle %u: destroy", i + 1);
		vdev_testhost_destroy(dev);
	}
	failed = vdev_testhost_inject_faults(s.th, 0, 0, 0);
	if (leaked)
		conform_fail(run,
			     "%d file descriptor(s) left open by creates that failed: a failing "
			     "create closes what it opened",
			     leaked);
	dev = conform_create(&s, false, true);
	if (!dev)
		conform_fail(run,
			     "after the injected failures, a create with nothing failing "
			     "fails too: %s",
			     vdev_testhost_error(s.th));
	else
		vdev_testhost_destroy(dev);
	if (!failed)
		conform_skip(run, "the device creates no timer and watches no fd");
	else
		conform_note(run,
			     "%u service call(s) made to fail; %u create(s) refused, %u went on",
			     failed, refused, created);
out:
	conform_session_close(&s);
}
