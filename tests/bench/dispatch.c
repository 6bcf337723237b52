/*
 * tests/bench/dispatch.c: the cost of the core's address dispatch
 * (devmodel/iomap.c, iomap_access: find the region, call its owner) with
 * 10, 100 and 1000 MMIO regions of 4 KiB at scrambled addresses, each
 * access to a random region of the map. The owner only counts, so the
 * figure is the lookup and the call. Flat is the goal: the ratio is the
 * time per access with 1000 regions over that with 10.
 *
 * Line (tests/bench/run convention):
 *   dispatch lookup: 10 T ns, 100 T ns, 1000 T ns, 1000/10 R
 * Each figure is the best of 3 rounds of BENCH_SECONDS / 9 (default 0.3 s
 * in all); exit 1 when an access did not reach the owner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "devmodel/iomap.h"

#define REGION 4096u
#define BASE   0x80000000ull
#define PROBES 4096u

static uint64_t calls;

static int count_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
			unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	calls++;
	*value = id;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Nanoseconds per access with n regions, best of 3 rounds. */
static double ns_per_access(unsigned n, double seconds)
{
	static const struct iomap_owner owner = {
	    .name = "bench", .access = count_access, .access_sizes = VDEV_ACCESS_SIZE(4)};
	static uint64_t probe[PROBES];
	struct iomap *m = iomap_new();
	double best = 0;
	unsigned seed = 1;

	if (!m)
		exit(1);
	/* 7919 is prime, so i * 7919 % n visits every slot once: scrambled order */
	for (unsigned i = 0; i < n; i++) {
		uint64_t slot = (uint64_t)(i * 7919u % n);

		if (iomap_add(m, VDEV_SPACE_MMIO, BASE + slot * 2 * REGION, REGION, &owner, i,
			      NULL) < 0) {
			fprintf(stderr, "dispatch: iomap_add %u failed\n", i);
			exit(1);
		}
	}
	for (unsigned i = 0; i < PROBES; i++)
		probe[i] = BASE + (uint64_t)(rand_r(&seed) % n) * 2 * REGION + 4 * (i % 64);
	for (int round = 0; round < 3; round++) {
		uint64_t done = 0, before = calls;
		double t0 = now_s(), t;

		do {
			for (unsigned i = 0; i < PROBES; i++) {
				uint64_t v;

				iomap_access(m, VDEV_SPACE_MMIO, probe[i], 4, false, &v, 0);
			}
			done += PROBES;
			t = now_s() - t0;
		} while (t < seconds);
		if (calls - before != done) {
			fprintf(stderr, "dispatch: %llu of %llu accesses reached the owner\n",
				(unsigned long long)(calls - before), (unsigned long long)done);
			exit(1);
		}
		if (best == 0 || t * 1e9 / (double)done < best)
			best = t * 1e9 / (double)done;
	}
	iomap_free(m);
	return best;
}

int main(void)
{
	const char *env = getenv("BENCH_SECONDS");
	double seconds = env ? atof(env) : 0.3;
	double t10, t100, t1000;

	if (seconds <= 0)
		seconds = 0.3;
	seconds /= 9;
	t10 = ns_per_access(10, seconds);
	t100 = ns_per_access(100, seconds);
	t1000 = ns_per_access(1000, seconds);
	printf("dispatch lookup: 10 %.1f ns, 100 %.1f ns, 1000 %.1f ns, 1000/10 %.2f\n", t10, t100,
	       t1000, t1000 / t10);
	return 0;
}
