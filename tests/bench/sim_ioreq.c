/*
 * tests/bench/sim_ioreq.c: the ioreq path of the sim backend with the
 * hypervisor side in another process (what `set sim-process on` runs),
 * against its floor, in the same run:
 *
 *   floor  an eventfd ping-pong between two processes: one write and one
 *          read each way, nothing else. A round trip cannot cost less.
 *   sync   the child is the hypervisor (devmodel/sim/sim_hv.c's
 *          sim_hv_post, Xen's protocol on a shared shared_iopage_t: body,
 *          READY, notify, wait, IORESP_READY, NONE); the parent is the
 *          device model (devmodel/ioreq_engine.c, as backend_sim's vCPU
 *          thread runs it: poll the port, service the slot, notify back).
 *          One 1-byte port write per round trip.
 *   buffered  the child posts 1-byte writes into the buffered ring
 *          (sim_hv_post_buffered, one notification each, as Xen sends);
 *          the parent drains it (ioreq_engine_drain_buffered). Writes/s.
 *
 * Line (tests/bench/run convention):
 *   sim_ioreq sync: rtt U us, floor U us, rtt/floor R
 *   sim_ioreq buffered: writes W /s, sync W /s, buffered/sync R
 * Each figure is the best of 3 rounds of BENCH_SECONDS / 3 (default 0.3 s
 * in all) of the one side timed by the other's count; the device checks
 * that it saw every access (exit 1 otherwise).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devmodel/ioreq_engine.h"
#include "devmodel/sim/sim_hv.h"

static uint64_t accesses;

static int sink_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size,
		       bool is_write, uint64_t *value, int32_t vcpu)
{
	if (space == VDEV_SPACE_PIO && addr == 0x80 && size == 1 && is_write)
		accesses++;
	return 0;
}

static int no_ram(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	return -EFAULT;
}

static int no_ram_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	return -EFAULT;
}

static int notify_hv(void *ctx, uint32_t vcpu)
{
	struct sim_domain *d = ctx;
	uint64_t one = 1;

	return write(d->to_hv[vcpu], &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	fprintf(stderr, "sim_ioreq: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			die("poll");
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		die("read");
}

static void post_one(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		die("write");
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Seconds for n eventfd round trips between two processes. */
static double floor_round(uint64_t n)
{
	int there = eventfd(0, EFD_CLOEXEC), back = eventfd(0, EFD_CLOEXEC);
	double t0;
	pid_t pid;

	if (there < 0 || back < 0)
		die("eventfd");
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (uint64_t i = 0; i < n; i++) {
			wait_readable(there);
			post_one(back);
		}
		_exit(0);
	}
	for (uint64_t i = 0; i < n; i++) {
		post_one(there);
		wait_readable(back);
	}
	if (reap(pid) != 0)
		exit(1);
	t0 = now_s() - t0;
	close(there);
	close(back);
	return t0;
}

/* Seconds for n synchronous (buffered: false) or buffered writes posted by
 * a child hypervisor and served here. */
static double ioreq_round(uint64_t n, bool buffered)
{
	struct sim_domain d;
	const struct dm_io io = {
	    .access = sink_access, .mem_read = no_ram, .mem_write = no_ram_write};
	const struct ioreq_engine_ops ops = {.notify = notify_hv};
	struct ioreq_engine *e;
	double t0;
	pid_t pid;

	if (sim_domain_init(&d, 1) < 0)
		die("sim_domain_init");
	struct ioreq_engine_config cfg = {.shared = d.iopage,
					  .nr_vcpus = 1,
					  .buffered = d.bufpage,
					  .io = &io,
					  .ops = &ops,
					  .ctx = &d};
	if (ioreq_engine_create(&cfg, &e) < 0)
		die("ioreq_engine_create");
	accesses = 0;
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (uint64_t i = 0; i < n; i++) {
			ioreq_t req = {.addr = 0x80,
				       .data = i & 0xff,
				       .count = 1,
				       .size = 1,
				       .type = IOREQ_TYPE_PIO,
				       .dir = IOREQ_WRITE};
			char why[160];
			int rc;

			if (!buffered) {
				rc = sim_hv_post(&d, 0, &req, why, sizeof(why));
				if (rc < 0) {
					fprintf(stderr, "sim_ioreq: post: %s\n", why);
					_exit(1);
				}
				continue;
			}
			/* a full ring: Xen would send it synchronously; wait instead,
			 * so that every write is a buffered one */
			while ((rc = sim_hv_post_buffered(&d, IOREQ_TYPE_PIO, 0x80, 1, i)) ==
			       -EAGAIN)
				usleep(10);
			if (rc < 0)
				_exit(1);
		}
		_exit(0);
	}
	while (accesses < n) {
		if (buffered) {
			wait_readable(d.buf_to_dm);
			if (ioreq_engine_drain_buffered(e) < 0)
				die("drain");
		} else {
			wait_readable(d.to_dm[0]);
			if (ioreq_engine_service_vcpu(e, 0) < 0)
				die("service");
		}
	}
	if (reap(pid) != 0)
		exit(1);
	t0 = now_s() - t0;
	if (accesses != n) {
		fprintf(stderr, "sim_ioreq: %llu accesses served, %llu posted\n",
			(unsigned long long)accesses, (unsigned long long)n);
		exit(1);
	}
	ioreq_engine_destroy(e);
	sim_domain_destroy(&d);
	return t0;
}

/* Operations per second of `kind` (0 floor, 1 sync, 2 buffered), best of
 * 3 rounds, each sized from a short calibration to last `seconds`. */
static double rate(int kind, double seconds)
{
	uint64_t n = 500;
	double best = 0, t;

	for (;;) {
		t = kind == 0 ? floor_round(n) : ioreq_round(n, kind == 2);
		if (t > seconds / 10 || n > (1u << 26))
			break;
		n *= 4;
	}
	n = (uint64_t)((double)n * seconds / t) + 1;
	for (int round = 0; round < 3; round++) {
		t = kind == 0 ? floor_round(n) : ioreq_round(n, kind == 2);
		if (n / t > best)
			best = n / t;
	}
	return best;
}

int main(void)
{
	const char *env = getenv("BENCH_SECONDS");
	double seconds = env ? atof(env) : 0.3;
	double floor_rate, sync_rate, buf_rate;

	if (seconds <= 0)
		seconds = 0.3;
	seconds /= 3;
	signal(SIGPIPE, SIG_IGN);
	floor_rate = rate(0, seconds);
	sync_rate = rate(1, seconds);
	buf_rate = rate(2, seconds);
	printf("sim_ioreq sync: rtt %.2f us, floor %.2f us, rtt/floor %.3f\n", 1e6 / sync_rate,
	       1e6 / floor_rate, floor_rate / sync_rate);
	printf("sim_ioreq buffered: writes %.0f /s, sync %.0f /s, buffered/sync %.2f\n", buf_rate,
	       sync_rate, buf_rate / sync_rate);
	return 0;
}
