/*
 * devmodel/teardown_guard.c: the watchdog thread of vdm's teardown
 * (teardown_guard.h says why it exists).
 *
 * The thread waits in sigtimedwait on the signals every thread keeps
 * blocked, so a signal sent to vdm during teardown reaches it; the main
 * thread wakes it at the end with a thread-directed SIGUSR2.
 */
#include "devmodel/teardown_guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devmodel/exitcode.h"

static pthread_t guard_thread;
static atomic_bool guard_running, guard_done;
static int guard_exit_code;
static unsigned guard_timeout_ms;
static pthread_mutex_t guard_stage_lock = PTHREAD_MUTEX_INITIALIZER;
static char guard_stage_text[160] = "starting the teardown";

static void guard_stage_copy(char *out, size_t len)
{
	if (pthread_mutex_lock(&guard_stage_lock) == 0) {
		snprintf(out, len, "%s", guard_stage_text);
		pthread_mutex_unlock(&guard_stage_lock);
	} else {
		snprintf(out, len, "(unknown)");
	}
}

static const char *guard_signal_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	case SIGQUIT:
		return "SIGQUIT";
	default:
		return "a signal";
	}
}

static void guard_end(const char *why, int code)
{
	char stage[sizeof(guard_stage_text)];
	char msg[512];
	int n;

	guard_stage_copy(stage, sizeof(stage));
	n = snprintf(msg, sizeof(msg), "vdm: %s (stuck in: %s); ending now with exit code %d\n",
		     why, stage, code);
	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, msg,
				  (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);

		(void)w; /* nothing more can be done about a failed write to stderr */
	}
	_exit(code);
}

/* How long a teardown may go on once a signal asked vdm to end (libxl's
 * SIGHUP usually arrives while vdm is already tearing down: that is no
 * reason to skip the rest of it, but a stuck one ends soon). */
#define GUARD_SIGNAL_GRACE_MS 2000

static long long guard_ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000LL + (now.tv_nsec - start->tv_nsec) / 1000000LL;
}

static void *guard_main(void *arg)
{
	struct timespec start;
	long long deadline_ms;
	int signalled = 0;
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR2);
	clock_gettime(CLOCK_MONOTONIC, &start);
	deadline_ms = guard_timeout_ms;
	while (!atomic_load(&guard_done)) {
		long long left_ms = deadline_ms - guard_ms_since(&start);
		struct timespec wait;
		int sig;

		if (left_ms <= 0) {
			char why[96];

			if (signalled) {
				snprintf(why, sizeof(why),
					 "%s during teardown, which did not finish "
					 "within %d ms of it",
					 guard_signal_name(signalled), GUARD_SIGNAL_GRACE_MS);
				guard_end(why, signalled == SIGQUIT ? VDM_EXIT_POWER_CUT
								    : guard_exit_code);
			}
			snprintf(why, sizeof(why), "teardown did not finish within %u ms",
				 guard_timeout_ms);
			guard_end(why, VDM_EXIT_UNEXPECTED);
		}
		wait.tv_sec = left_ms / 1000;
		wait.tv_nsec = (left_ms % 1000) * 1000000L;
		sig = sigtimedwait(&set, NULL, &wait);
		if (sig < 0 || sig == SIGUSR2 || atomic_load(&guard_done))
			continue; /* timeout (checked above), EINTR, or the wake-up */
		/* Already ending: the teardown goes on, with a shorter bound. */
		if (!signalled || sig == SIGQUIT)
			signalled = sig;
		if (guard_ms_since(&start) + GUARD_SIGNAL_GRACE_MS < deadline_ms)
			deadline_ms = guard_ms_since(&start) + GUARD_SIGNAL_GRACE_MS;
	}
	return NULL;
}

int teardown_guard_start(int exit_code)
{
	const char *env = getenv("VDM_TEARDOWN_TIMEOUT_MS");
	int err;

	if (atomic_load(&guard_running))
		return -EALREADY;
	guard_timeout_ms = TEARDOWN_GUARD_DEFAULT_MS;
	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);

		if (*end == '\0' && v > 0 && v <= 3600000)
			guard_timeout_ms = (unsigned)v;
	}
	guard_exit_code = exit_code;
	atomic_store(&guard_done, false);
	err = pthread_create(&guard_thread, NULL, guard_main, NULL);
	if (err)
		return -err;
	atomic_store(&guard_running, true);
	return 0;
}

void teardown_guard_stage(const char *fmt, ...)
{
	va_list ap;

	if (pthread_mutex_lock(&guard_stage_lock) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(guard_stage_text, sizeof(guard_stage_text), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&guard_stage_lock);
}

void teardown_guard_finish(void)
{
	int err;

	if (!atomic_load(&guard_running))
		return;
	atomic_store(&guard_done, true);
	err = pthread_kill(guard_thread, SIGUSR2);
	if (err == 0)
		err = pthread_join(guard_thread, NULL);
	if (err)
		fprintf(stderr, "vdm: teardown guard: cannot stop its thread: %s\n", strerror(err));
	atomic_store(&guard_running, false);
}
