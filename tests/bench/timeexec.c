/*
 * tests/bench/timeexec.c: run a command, print how long it took and how
 * much memory it used, for the benches' shell scripts:
 *   timeexec [-o FILE] COMMAND [ARG...]
 * prints (to FILE or stdout) one line "<ns> <peak RSS KiB> <status> <cpu us>":
 * the wall time from just before fork to the child's exit (CLOCK_MONOTONIC,
 * no shell in between), the child's ru_maxrss from wait4, its exit status
 * (128 + signal when killed), and the CPU time it used, user and system, all
 * threads (on a loaded machine the CPU time moves less than the wall time:
 * waiting for a core is not in it). The command's own output goes where
 * the caller sent timeexec's stdout and stderr. Exits 0 unless it could not
 * run the command (127) or -o failed (1).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *outname = NULL;
	struct rusage ru;
	long long t0, t1;
	int first = 1, status, code;
	FILE *out = stdout;
	pid_t pid;

	if (argc > 2 && strcmp(argv[1], "-o") == 0) {
		outname = argv[2];
		first = 3;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: timeexec [-o FILE] COMMAND [ARG...]\n");
		return 127;
	}
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("timeexec: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[first], argv + first);
		fprintf(stderr, "timeexec: %s: %s\n", argv[first], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("timeexec: wait4");
			return 127;
		}
	}
	t1 = now_ns();
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (outname) {
		out = fopen(outname, "w");
		if (!out) {
			perror(outname);
			return 1;
		}
	}
	fprintf(out, "%lld %ld %d %lld\n", t1 - t0, ru.ru_maxrss, code,
		(long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
		    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	return out != stdout && fclose(out) ? 1 : 0;
}
