/*
 * sdk/conform/checks_valgrind.c: uninitialised-reads, vdev-conform run
 * again under valgrind's memcheck.
 *
 * A register that reads memory the device never wrote returns whatever the
 * heap held: the guest sees noise, and a save carries it along. Neither
 * crashes, so only a tool that tracks definedness sees it. The check runs
 * this program again as `valgrind vdev-conform --in-process --only ...` on
 * the same plugin, seed and options, over the checks whose values are
 * compared (so that a read of undefined bytes reaches a branch, where
 * memcheck reports it), and fails when memcheck reported an error. It runs
 * only with --valgrind (it is slow), skips without valgrind, and skips in a
 * sanitizer build (valgrind cannot run ASan code).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sdk/conform/conform.h"

/* Defined (non-NULL) only in an ASan build, as in checks_life.c. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#define VALGRIND_ERROR_EXIT 99
#define INNER_CHECKS                                                                               \
	"register-sweep,random-access,reset-power-on,save-restore-roundtrip,"                      \
	"restore-rejects-garbage,interrupts-via-host"

static bool valgrind_installed(void)
{
	const char *path = getenv("PATH");
	char file[PATH_MAX];

	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(file, sizeof(file), "%.*s/valgrind", (int)len, path);
		if (access(file, X_OK) == 0)
			return true;
		path += len;
		if (*path == ':')
			path++;
	}
	return false;
}

/* The first error memcheck reported: its lines, the "==PID== " cut off. */
static void first_error(const char *out, char *buf, size_t len)
{
	const char *p = out, *start = NULL;
	size_t used = 0;
	unsigned lines = 0;

	buf[0] = '\0';
	for (; *p && lines < 10; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *text = p;

		if (n < 3 || strncmp(p, "==", 2))
			continue;
		text = strstr(p, "== ");
		if (!text || text > p + n)
			continue;
		text += 3;
		if (!start && !strstr(text, "uninitialised") && !strstr(text, "Invalid") &&
		    !strstr(text, "unaddressable"))
			continue;
		if (start && (size_t)(p + n - text) == 0)
			break; /* the blank line after the block */
		start = p;
		used += (size_t)snprintf(buf + used, len > used ? len - used : 0, "%s%.*s",
					 lines ? "\n" : "", (int)(p + n - text), text);
		lines++;
		if (used >= len)
			break;
	}
}

void conform_check_uninitialised_reads(struct conform_run *run)
{
	const struct conform_opts *o = run->opts;
	char self[PATH_MAX], seed[32], error[1600];
	ssize_t got;
	int out, status;
	pid_t pid;

	if (!o->valgrind) {
		conform_skip(run, "run with --valgrind to look for reads of uninitialised memory");
		return;
	}
	if (__lsan_do_recoverable_leak_check) {
		conform_skip(run, "a sanitizer build of vdev-conform cannot run under valgrind: "
				  "use a release build (and a plugin built without ASan)");
		return;
	}
	if (!valgrind_installed()) {
		conform_skip(run, "valgrind is not installed (apt-get install valgrind)");
		return;
	}
	got = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (got <= 0) {
		conform_skip(run, "cannot find this program (/proc/self/exe): %s", strerror(errno));
		return;
	}
	self[got] = '\0';
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)o->seed);
	out = memfd_create("vdev-conform-valgrind", MFD_CLOEXEC);
	if (out < 0) {
		conform_fail(run, "memfd_create: %s", strerror(errno));
		return;
	}
	conform_where(run, "valgrind %s --in-process --only " INNER_CHECKS, self);
	pid = fork();
	if (pid == 0) {
		char errexit[32];
		const char *argv[16];
		unsigned n = 0;

		snprintf(errexit, sizeof(errexit), "--error-exitcode=%d", VALGRIND_ERROR_EXIT);
		argv[n++] = "valgrind";
		argv[n++] = "--quiet";
		argv[n++] = errexit;
		argv[n++] = "--track-origins=yes";
		argv[n++] = "--leak-check=no";
		argv[n++] = self;
		argv[n++] = "--in-process";
		argv[n++] = "--only";
		argv[n++] = INNER_CHECKS;
		argv[n++] = "--seed";
		argv[n++] = seed;
		if (o->options) {
			argv[n++] = "--options";
			argv[n++] = o->options;
		}
		argv[n++] = o->plugin;
		argv[n] = NULL;
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		execvp("valgrind", (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		conform_fail(run, "could not run valgrind: %s", strerror(errno));
		close(out);
		return;
	}
	{
		off_t end = lseek(out, 0, SEEK_END);
		size_t len = end > 0 ? (size_t)end : 0;
		char *text = calloc(1, len + 1);

		if (text && len && pread(out, text, len, 0) < 0)
			text[0] = '\0';
		first_error(text ? text : "", error, sizeof(error));
		if (WIFEXITED(status) && WEXITSTATUS(status) == VALGRIND_ERROR_EXIT)
			conform_fail(
			    run,
			    "valgrind's memcheck reported an error (replay: valgrind "
			    "--track-origins=yes vdev-conform --in-process --only %s --seed "
			    "%s PLUGIN):\n%s",
			    INNER_CHECKS, seed, error[0] ? error : "(see its output)");
		else if (text && strstr(text, "ASan runtime does not come first"))
			conform_skip(run, "the plugin is built with ASan: valgrind cannot run it");
		else if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 127))
			conform_skip(run, "valgrind did not finish (%s); the other checks say why",
				     WIFSIGNALED(status) ? strsignal(WTERMSIG(status))
							 : "could not start it");
		else
			conform_note(run, "memcheck found nothing in %s", INNER_CHECKS);
		free(text);
	}
	close(out);
}
