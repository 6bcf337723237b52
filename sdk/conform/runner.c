/*
 * sdk/conform/runner.c: runs one check, isolated in a child process.
 *
 * A plugin under test may crash, hang, call exit() or trip a sanitizer; none
 * of that may take the runner down or lose the other checks' results. So
 * each check runs in a fork()ed child whose result lives in a shared
 * mapping (the parent reads it whatever happened), with a deadline after
 * which the child is killed. The child's stdout/stderr go to a memfd so
 * they cannot corrupt --json/--tap output; their tail explains a crash.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sdk/conform/conform.h"

#define OUTPUT_TAIL 1200

static void run_here(const struct conform_opts *opts, const struct conform_check *check,
		     struct conform_result *result)
{
	struct conform_run run = {.opts = opts, .check = check, .result = result};

	/* A check may open several test hosts one after the other, each
	 * unloading the plugin when it is freed; code of a thread the plugin
	 * leaked must not be unmapped under it (that check's finding, not a
	 * crash of the next session). A plugin that does not load is the
	 * business of the loading checks. */
	if (strcmp(check->id, "load-rtld-now") != 0)
		(void)dlopen(opts->plugin, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	check->run(&run);
	result->complete = true;
}

/* Appends the last OUTPUT_TAIL bytes the child printed, if any. */
static void append_output(struct conform_result *r, int fd)
{
	char buf[OUTPUT_TAIL + 1];
	off_t end = lseek(fd, 0, SEEK_END);
	off_t start = end > OUTPUT_TAIL ? end - OUTPUT_TAIL : 0;
	ssize_t got;
	size_t len = strlen(r->details);

	if (end <= 0)
		return;
	got = pread(fd, buf, (size_t)(end - start), start);
	if (got <= 0)
		return;
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		got--;
	buf[got] = '\0';
	if (!got)
		return;
	snprintf(r->details + len, sizeof(r->details) - len, "%soutput of the check:\n%s",
		 len ? "\n" : "", buf);
}

static void mark_crashed(struct conform_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mark_crashed(struct conform_result *r, const char *fmt, ...)
{
	char what[256];
	char old[CONFORM_DETAILS_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(old, sizeof(old), "%s", r->details);
	/* Cut when too long: the start says what happened. */
	if (snprintf(r->details, sizeof(r->details), "%s%s%s%s%s", what,
		     r->where[0] ? " during: " : "", r->where, old[0] ? "; before that: " : "",
		     old) >= (int)sizeof(r->details))
		r->details[sizeof(r->details) - 1] = '\0';
	r->outcome = CONFORM_CRASHED;
}

int conform_run_check(const struct conform_opts *opts, const struct conform_check *check,
		      struct conform_result *result)
{
	struct conform_result *shared;
	int out, status = 0, rc = 0;
	pid_t pid;

	memset(result, 0, sizeof(*result));
	if (opts->in_process) {
		run_here(opts, check, result);
		return 0;
	}
	shared =
	    mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return -errno;
	memset(shared, 0, sizeof(*shared));
	out = memfd_create("vdev-conform-output", MFD_CLOEXEC);
	if (out < 0) {
		rc = -errno;
		goto unmap;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto close_out;
	}
	if (pid == 0) {
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		close(out);
		run_here(opts, check, shared);
		/* _exit: no atexit handlers (a leak check at exit would blame
		 * this check for what belongs to lifecycle-repeat), no second
		 * flush of stdio buffers inherited from the parent. */
		_exit(0);
	}

	/* Wait for the child with a deadline: on a pidfd where the kernel has
	 * them (wakes when the child ends), else in short naps. */
	struct timespec start, now;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	unsigned timeout_s = opts->timeout_s * (check->timeout_factor ? check->timeout_factor : 1);

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t done = waitpid(pid, &status, WNOHANG);

		if (done == pid)
			break;
		if (done < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
			kill(pid, SIGKILL);
			if (pidfd >= 0)
				close(pidfd);
			waitpid(pid, &status, 0);
			*result = *shared;
			mark_crashed(result, "timed out after %u s (--timeout)", timeout_s);
			append_output(result, out);
			goto close_out;
		}
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};

			poll(&p, 1, 100);
		} else {
			poll(NULL, 0, 5);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	*result = *shared;
	if (WIFSIGNALED(status)) {
		mark_crashed(result, "killed by signal %d (%s)", WTERMSIG(status),
			     strsignal(WTERMSIG(status)));
		append_output(result, out);
	} else if (WIFEXITED(status) && (!result->complete || WEXITSTATUS(status) != 0)) {
		mark_crashed(result,
			     "exited with status %d (a sanitizer report, or exit() in the "
			     "plugin)",
			     WEXITSTATUS(status));
		append_output(result, out);
	}
close_out:
	close(out);
unmap:
	munmap(shared, sizeof(*shared));
	return rc;
}
