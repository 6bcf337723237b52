/*
 * devmodel/teardown_guard.h: a bound on vdm's teardown.
 *
 * Once the VM has ended, nothing else reads signals (the event loop has
 * stopped) and a plugin or backend stuck in its teardown would keep vdm
 * alive until someone sends SIGKILL. The guard is a thread that watches
 * the teardown: when it takes longer than its timeout, it names the stage
 * the teardown is stuck in and ends the process with _exit (7, "unexpected
 * error"). SIGTERM, SIGINT, SIGHUP or SIGQUIT arriving meanwhile do not cut
 * a teardown short (libxl sends SIGHUP while vdm is already ending); they
 * shorten its bound to 2 s, and a teardown still stuck then ends with the
 * code the guard was started with (3 for SIGQUIT).
 *
 * One guard per process. Threads: start/finish from the main thread;
 * teardown_guard_stage from the thread doing the teardown.
 */
#ifndef VDM_TEARDOWN_GUARD_H
#define VDM_TEARDOWN_GUARD_H

/* Default bound; VDM_TEARDOWN_TIMEOUT_MS in the environment overrides it. */
#define TEARDOWN_GUARD_DEFAULT_MS 10000u

/*
 * teardown_guard_start: the teardown begins; `exit_code` is what vdm
 * would exit with. The signals must be blocked in every thread (as
 * vm_block_signals does). Returns 0, or a negative errno when the thread
 * cannot start (teardown then runs unguarded).
 */
int teardown_guard_start(int exit_code);
/* What the teardown is doing now (printf format), for the message. */
void teardown_guard_stage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The teardown finished: the guard thread is stopped and joined. */
void teardown_guard_finish(void);

#endif /* VDM_TEARDOWN_GUARD_H */
