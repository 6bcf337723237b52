/*
 * sdk/conform/checks_access.c: register access checks: register-sweep,
 * random-access and reset-power-on.
 *
 * Reset is judged against fresh instances read the same way, never against
 * assumed values: registers with side effects on read (clear-on-read,
 * FIFOs) then compare like with like, and registers that change with time
 * (two fresh instances disagree on them) are left out of the comparison.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/conform/conform.h"

#define SWEEP_ALL     4096
#define SWEEP_FIRST   2048
#define SWEEP_LAST    256
#define SWEEP_SAMPLED 1024
#define RANDOM_STEPS  20000

/* One offset of the sweep at every width, read then write back. */
static void sweep_offset(struct conform_session *s, const struct vdev_testhost_region *r,
			 unsigned index, uint64_t offset, unsigned *odd, unsigned *leaked,
			 unsigned *unrefused)
{
	for (unsigned w = 1; w <= 8; w *= 2) {
		bool declared = s->desc->access_sizes & VDEV_ACCESS_SIZE(w);
		bool straddles = offset + w > r->length;
		struct conform_record before, after;
		uint64_t value = 0;
		int rc, wrc;

		conform_record_get(&before);
		conform_where(s->run, "read width %u at 0x%llx (region %u + 0x%llx)", w,
			      (unsigned long long)(r->base + offset), index,
			      (unsigned long long)offset);
		rc = vdev_testhost_read(s->th, r->space, r->base + offset, w, &value);
		conform_where(s->run, "write width %u value 0x%llx at 0x%llx (region %u + 0x%llx)",
			      w, (unsigned long long)(rc ? 0 : value),
			      (unsigned long long)(r->base + offset), index,
			      (unsigned long long)offset);
		wrc = vdev_testhost_write(s->th, r->space, r->base + offset, w, rc ? 0 : value);
		conform_record_get(&after);
		if (!declared) {
			if (after.reads != before.reads || after.writes != before.writes) {
				if (!(*leaked)++)
					conform_fail(s->run,
						     "width %u is not in access_sizes but an "
						     "access at region %u + 0x%llx reached "
						     "the plugin",
						     w, index, (unsigned long long)offset);
			} else if ((rc != -EINVAL || wrc != -EINVAL) &&
				   !(straddles && rc == -ENXIO && wrc == -ENXIO)) {
				if (!(*unrefused)++)
					conform_fail(s->run,
						     "width %u is not in access_sizes but the "
						     "host answered %d/%d, not -EINVAL",
						     w, rc, wrc);
			}
			continue;
		}
		for (int k = 0; k < 2; k++) {
			int c = k ? wrc : rc;

			if (c == 0 || c == -EIO || c == -ENXIO || (straddles && c == -EINVAL))
				continue;
			if (!(*odd)++)
				conform_fail(s->run,
					     "%s width %u at region %u + 0x%llx returned %d: "
					     "read/write return 0 or VDEV_ACCESS_BUS_ERROR",
					     k ? "write" : "read", w, index,
					     (unsigned long long)offset, c);
		}
	}
}

void conform_check_register_sweep(struct conform_run *run)
{
	struct vdev_testhost_region regions[CONFORM_MAX_REGIONS];
	struct conform_session s;
	struct vdev_testdev *dev;
	unsigned count, odd = 0, leaked = 0, unrefused = 0;
	uint64_t offsets = 0;

	if (conform_session_open(&s, run) < 0)
		return;
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	count = vdev_testhost_regions(dev, regions, CONFORM_MAX_REGIONS);
	if (count > CONFORM_MAX_REGIONS)
		count = CONFORM_MAX_REGIONS;
	if (!count) {
		conform_skip(run, "the instance registered no region");
		goto destroy;
	}
	for (unsigned i = 0; i < count; i++) {
		const struct vdev_testhost_region *r = &regions[i];
		struct conform_rng rng;

		if (r->length <= SWEEP_ALL) {
			for (uint64_t off = 0; off < r->length; off++, offsets++)
				sweep_offset(&s, r, i, off, &odd, &leaked, &unrefused);
			continue;
		}
		for (uint64_t off = 0; off < SWEEP_FIRST; off++, offsets++)
			sweep_offset(&s, r, i, off, &odd, &leaked, &unrefused);
		conform_rng_seed(&rng, run->opts->seed + i);
		for (unsigned k = 0; k < SWEEP_SAMPLED; k++, offsets++)
			sweep_offset(&s, r, i,
				     SWEEP_FIRST + conform_rng_below(&rng, r->length - SWEEP_FIRST),
				     &odd, &leaked, &unrefused);
		for (uint64_t off = r->length - SWEEP_LAST; off < r->length; off++, offsets++)
			sweep_offset(&s, r, i, off, &odd, &leaked, &unrefused);
	}
	conform_note(run, "%u region(s), %llu offsets x 4 widths x read/write", count,
		     (unsigned long long)offsets);
	if (odd > 1)
		conform_note(run, "%u accesses returned an unexpected code", odd);
destroy:
	conform_where(run, "destroy");
	vdev_testhost_destroy(dev);
out:
	conform_session_close(&s);
}

void conform_check_random_access(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testdev *dev;
	unsigned odd;

	if (conform_session_open(&s, run) < 0)
		return;
	conform_note(run, "seed %llu (replay with --seed %llu)",
		     (unsigned long long)run->opts->seed, (unsigned long long)run->opts->seed);
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	odd = conform_workload(&s, dev, &s.rng, RANDOM_STEPS, CONFORM_WL_ALL);
	conform_note(run, "%u steps", RANDOM_STEPS);
	if (odd)
		conform_note(run, "%u accesses returned neither 0 nor a bus error", odd);
	conform_where(run, "destroy");
	vdev_testhost_destroy(dev);
out:
	conform_session_close(&s);
}

/* A fresh instance's first sweep, and its line level. */
static int fresh_sweep(struct conform_session *s, unsigned width, size_t n, uint64_t *values,
		       int *rcs, int *level)
{
	struct conform_point *points;
	struct vdev_testdev *dev = conform_create(s, false, false);
	size_t got;

	if (!dev)
		return -1;
	got = conform_points(dev, width, &points);
	if (got != n) {
		conform_fail(s->run,
			     "instances created with the same options registered "
			     "different regions (%zu and %zu points)",
			     n, got);
		free(points);
		vdev_testhost_destroy(dev);
		return -1;
	}
	*level = vdev_testhost_line_level(s->th, "conform:0");
	conform_read_all(s, points, n, width, values, rcs);
	free(points);
	vdev_testhost_destroy(dev);
	return 0;
}

#define MAX_DIFFS 6

/* The descriptor's note (ABI 1.3) on the register at p, or NULL. */
static const struct vdev_register_note *register_note(const struct vdev_descriptor *desc,
						      const struct vdev_testhost_region *regions,
						      unsigned count, const struct conform_point *p,
						      unsigned width)
{
	if (!VDEV_DESCRIPTOR_HAS(desc, register_note_count) || p->region >= count)
		return NULL;
	for (unsigned i = 0; i < desc->register_note_count; i++) {
		const struct vdev_register_note *n = &desc->register_notes[i];

		if (n->region == regions[p->region].id && p->offset < n->offset + n->length &&
		    p->offset + width > n->offset)
			return n;
	}
	return NULL;
}

void conform_check_reset_power_on(struct conform_run *run)
{
	struct conform_session s;
	struct conform_point *points = NULL;
	struct vdev_testdev *dev;
	uint64_t *v1 = NULL, *v2 = NULL, *vr = NULL;
	int *r1 = NULL, *r2 = NULL, *rr = NULL;
	int level1, level2, levelr;
	unsigned width, diffs = 0, volatiles = 0, noted = 0, nregions;
	struct vdev_testhost_region regions[CONFORM_MAX_REGIONS];
	size_t n;

	if (conform_session_open(&s, run) < 0)
		return;
	if (!s.desc->ops->reset) {
		conform_skip(run, "the device has no reset op");
		goto out;
	}
	/* The reset instance first: its point list sizes the others. */
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	width = conform_compare_width(s.desc, dev);
	n = conform_points(dev, width, &points);
	nregions = vdev_testhost_regions(dev, regions, CONFORM_MAX_REGIONS);
	if (nregions > CONFORM_MAX_REGIONS)
		nregions = CONFORM_MAX_REGIONS;
	if (!n) {
		conform_skip(run, "the instance registered no region to compare");
		vdev_testhost_destroy(dev);
		goto out;
	}
	v1 = calloc(n, sizeof(*v1));
	v2 = calloc(n, sizeof(*v2));
	vr = calloc(n, sizeof(*vr));
	r1 = calloc(n, sizeof(*r1));
	r2 = calloc(n, sizeof(*r2));
	rr = calloc(n, sizeof(*rr));
	if (!v1 || !v2 || !vr || !r1 || !r2 || !rr) {
		conform_fail(run, "out of memory");
		vdev_testhost_destroy(dev);
		goto out;
	}
	conform_write_all(&s, points, n, width);
	conform_workload(&s, dev, &s.rng, 2000, CONFORM_WL_WRITE | CONFORM_WL_TIME);
	conform_where(run, "reset");
	vdev_testhost_reset(dev);
	levelr = vdev_testhost_line_level(s.th, "conform:0");
	conform_read_all(&s, points, n, width, vr, rr);
	conform_where(run, "destroy");
	vdev_testhost_destroy(dev);

	/* Two fresh instances, the second at the reset instance's time. */
	if (fresh_sweep(&s, width, n, v2, r2, &level2) < 0)
		goto out;
	vdev_testhost_advance(s.th, 10000000);
	if (fresh_sweep(&s, width, n, v1, r1, &level1) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct vdev_register_note *note =
		    register_note(s.desc, regions, nregions, &points[i], width);

		if (note) {
			if (!noted++)
				conform_note(run,
					     "left out as the descriptor notes: region %u + "
					     "0x%llx (%s%s%s)",
					     note->region, (unsigned long long)note->offset,
					     note->kind == VDEV_REG_VOLATILE ? "volatile"
									     : "preserved",
					     note->why ? ": " : "", note->why ? note->why : "");
			continue;
		}
		if (v1[i] != v2[i] || r1[i] != r2[i]) {
			volatiles++;
			continue;
		}
		if (vr[i] == v2[i] && rr[i] == r2[i])
			continue;
		if (diffs++ < MAX_DIFFS)
			conform_fail(run,
				     "after reset, width %u at region %u + 0x%llx reads 0x%llx "
				     "(rc %d); a fresh instance reads 0x%llx (rc %d)",
				     width, points[i].region, (unsigned long long)points[i].offset,
				     (unsigned long long)vr[i], rr[i], (unsigned long long)v2[i],
				     r2[i]);
	}
	if (diffs > MAX_DIFFS)
		conform_note(run, "%u registers differ in all", diffs);
	if (level1 == level2 && levelr != level2 && levelr >= 0)
		conform_fail(run, "after reset line conform:0 is at %d; on a fresh instance %d",
			     levelr, level2);
	conform_note(run, "%zu offsets compared at width %u", n - volatiles - noted, width);
	if (volatiles)
		conform_note(run, "%u offsets change by themselves (left out)", volatiles);
out:
	free(points);
	free(v1);
	free(v2);
	free(vr);
	free(r1);
	free(r2);
	free(rr);
	conform_session_close(&s);
}
