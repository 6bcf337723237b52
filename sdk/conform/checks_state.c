/*
 * sdk/conform/checks_state.c: save-restore-roundtrip and
 * restore-rejects-garbage.
 *
 * The round trip restores into a new instance (the way a migration does),
 * and compares both the registers and a second save's bytes: equal bytes
 * catch uninitialised padding and counters in the state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/conform/conform.h"

#define MAX_DIFFS 6

/* An instance with random register contents and some time gone by. */
static void randomise(struct conform_session *s, struct vdev_testdev *dev)
{
	struct conform_point *points;
	unsigned width = conform_compare_width(s->desc, dev);
	size_t n = conform_points(dev, width, &points);

	conform_write_all(s, points, n, width);
	free(points);
	conform_workload(s, dev, &s->rng, 1000, CONFORM_WL_ALL);
}

static ssize_t save(struct conform_session *s, struct vdev_testdev *dev, void *buf, size_t cap,
		    const char *what)
{
	ssize_t len;

	conform_where(s->run, "save (%s)", what);
	len = vdev_testhost_save(dev, buf, cap);
	if (len < 0)
		conform_fail(s->run, "save (%s) failed: %zd", what, len);
	else if ((size_t)len > s->desc->state_size)
		conform_fail(s->run, "save (%s) wrote %zd bytes, more than state_size %zu", what,
			     len, s->desc->state_size);
	return len;
}

void conform_check_save_restore_roundtrip(struct conform_run *run)
{
	struct conform_session s;
	struct conform_point *points = NULL;
	struct vdev_testdev *dev;
	unsigned char *s1 = NULL, *s2 = NULL;
	uint64_t *va = NULL, *vb = NULL;
	int *ra = NULL, *rb = NULL, rc;
	unsigned width, diffs = 0;
	ssize_t len1, len2;
	size_t cap, n;

	if (conform_session_open(&s, run) < 0)
		return;
	if (!s.desc->state_size) {
		conform_skip(run, "state_size is 0: the device keeps no state");
		goto out;
	}
	/* Room beyond state_size shows whether save respects its bound. */
	cap = s.desc->state_size * 2 + 64;
	s1 = calloc(1, cap);
	s2 = calloc(1, cap);
	dev = conform_create(&s, false, false);
	if (!dev || !s1 || !s2)
		goto out;
	width = conform_compare_width(s.desc, dev);
	randomise(&s, dev);
	len1 = save(&s, dev, s1, cap, "first");
	n = conform_points(dev, width, &points);
	va = calloc(n + 1, sizeof(*va));
	vb = calloc(n + 1, sizeof(*vb));
	ra = calloc(n + 1, sizeof(*ra));
	rb = calloc(n + 1, sizeof(*rb));
	if (!va || !vb || !ra || !rb) {
		conform_fail(run, "out of memory");
		vdev_testhost_destroy(dev);
		goto out;
	}
	conform_read_all(&s, points, n, width, va, ra);
	conform_where(run, "destroy the saved instance");
	vdev_testhost_destroy(dev);
	if (len1 < 0)
		goto out;

	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	conform_where(run, "restore %zd bytes into a new instance", len1);
	rc = vdev_testhost_restore(dev, s1, (size_t)len1);
	if (rc < 0) {
		conform_fail(run, "restoring a state it saved failed: %d", rc);
		vdev_testhost_destroy(dev);
		goto out;
	}
	len2 = save(&s, dev, s2, cap, "second, after restore");
	if (len2 >= 0 && (len2 != len1 || memcmp(s1, s2, (size_t)len1))) {
		size_t at = 0;

		while (len2 == len1 && at < (size_t)len1 && s1[at] == s2[at])
			at++;
		if (len2 != len1)
			conform_fail(run, "the second save is %zd bytes, the first %zd", len2,
				     len1);
		else
			conform_fail(run,
				     "the second save differs from the first at byte %zu "
				     "(0x%02x, then 0x%02x): uninitialised padding, a counter "
				     "or a pointer in the state?",
				     at, s1[at], s2[at]);
	}
	conform_read_all(&s, points, n, width, vb, rb);
	for (size_t i = 0; i < n; i++) {
		if (va[i] == vb[i] && ra[i] == rb[i])
			continue;
		if (diffs++ < MAX_DIFFS)
			conform_fail(run,
				     "after restore, width %u at region %u + 0x%llx reads "
				     "0x%llx (rc %d); the saved instance read 0x%llx (rc %d)",
				     width, points[i].region, (unsigned long long)points[i].offset,
				     (unsigned long long)vb[i], rb[i], (unsigned long long)va[i],
				     ra[i]);
	}
	if (diffs > MAX_DIFFS)
		conform_note(run, "%u registers differ in all", diffs);
	conform_note(run, "state %zd bytes; %zu offsets compared at width %u", len1, n, width);
	conform_where(run, "destroy the restored instance");
	vdev_testhost_destroy(dev);
out:
	free(points);
	free(va);
	free(vb);
	free(ra);
	free(rb);
	free(s1);
	free(s2);
	conform_session_close(&s);
}

/* One garbage input: must be refused, with no crash. */
static void expect_refused(struct conform_session *s, struct vdev_testdev *dev, const void *buf,
			   size_t len, const char *what, unsigned *accepted)
{
	int rc;

	conform_where(s->run, "restore %s (%zu bytes)", what, len);
	rc = vdev_testhost_restore(dev, buf, len);
	if (rc >= 0 && !(*accepted)++)
		conform_fail(s->run,
			     "restore accepted %s (%zu bytes): it must return -EINVAL "
			     "for empty, truncated or corrupt state",
			     what, len);
}

void conform_check_restore_rejects_garbage(struct conform_run *run)
{
	struct conform_session s;
	struct vdev_testdev *dev = NULL;
	unsigned char *good = NULL, *bad = NULL;
	unsigned accepted = 0, tried = 0;
	unsigned char *again = NULL;
	bool stable;
	size_t cap;
	ssize_t len;
	char what[96];

	if (conform_session_open(&s, run) < 0)
		return;
	if (!s.desc->state_size) {
		conform_skip(run, "state_size is 0: the device keeps no state");
		goto out;
	}
	cap = s.desc->state_size * 3 + 64;
	good = calloc(1, cap);
	bad = calloc(1, cap);
	dev = conform_create(&s, false, false);
	if (!dev || !good || !bad)
		goto out;
	randomise(&s, dev);
	len = save(&s, dev, good, cap, "a valid state");
	if (len < 0)
		goto out;
	/*
	 * A refusal must change nothing: the state saved after the garbage
	 * equals the state saved before. Saves, not register reads, since
	 * reads have side effects (FIFOs). Only judged when two saves in a row
	 * agree (if they do not, save-restore-roundtrip says so).
	 */
	again = calloc(1, cap);
	if (!again) {
		conform_fail(run, "out of memory");
		goto out;
	}
	stable = save(&s, dev, again, cap, "again") == len && !memcmp(good, again, (size_t)len);

	/* Empty. */
	expect_refused(&s, dev, bad, 0, "an empty state", &accepted);
	tried++;
	/* Truncated at several lengths. */
	size_t cuts[] = {1, 4, 8, (size_t)len / 2, (size_t)len - 1};
	for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] == 0 || cuts[i] >= (size_t)len)
			continue;
		memcpy(bad, good, cuts[i]);
		snprintf(what, sizeof(what), "the valid state cut to %zu bytes", cuts[i]);
		expect_refused(&s, dev, bad, cuts[i], what, &accepted);
		tried++;
	}
	/* Random bytes, of the state's length and of the largest allowed. */
	size_t lens[] = {(size_t)len, s.desc->state_size, s.desc->state_size * 3};
	for (unsigned i = 0; i < 3; i++) {
		for (size_t k = 0; k < lens[i]; k++)
			bad[k] = (unsigned char)conform_rng_next(&s.rng);
		snprintf(what, sizeof(what), "random bytes");
		expect_refused(&s, dev, bad, lens[i], what, &accepted);
		tried++;
	}
	/* The valid state with one bit flipped, at the ends and inside. */
	for (unsigned i = 0; i < 8 && len > 0; i++) {
		size_t at = i == 0   ? 0
			    : i == 1 ? (size_t)len - 1
			    : i == 2 ? (size_t)len / 2
				     : (size_t)conform_rng_below(&s.rng, (uint64_t)len);
		unsigned bit = (unsigned)conform_rng_below(&s.rng, 8);

		memcpy(bad, good, (size_t)len);
		bad[at] ^= (unsigned char)(1u << bit);
		snprintf(what, sizeof(what), "the valid state with bit %u of byte %zu flipped", bit,
			 at);
		expect_refused(&s, dev, bad, (size_t)len, what, &accepted);
		tried++;
	}
	if (stable && !accepted) {
		ssize_t after = save(&s, dev, again, cap, "after the refused restores");

		if (after != len || memcmp(good, again, (size_t)len))
			conform_fail(run,
				     "the state saved after the refused restores differs from "
				     "the state before: a refused restore must change nothing");
	}
	/* The good state is still accepted afterwards. */
	conform_where(run, "restore the valid state after the garbage");
	if (vdev_testhost_restore(dev, good, (size_t)len) < 0)
		conform_fail(run, "after refusing garbage, the valid state is refused too");
	if (accepted)
		conform_note(run, "%u of %u bad states accepted", accepted, tried);
	else
		conform_note(run, "%u bad states refused", tried);
out:
	if (dev) {
		conform_where(run, "destroy");
		vdev_testhost_destroy(dev);
	}
	free(good);
	free(bad);
	free(again);
	conform_session_close(&s);
}
