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

/* An instance with random register contents and some time gone by; with
 * `keep_cfg`, PCI configuration space is left alone (BARs stay mapped). */
static void randomise_some(struct conform_session *s, struct vdev_testdev *dev, bool keep_cfg)
{
	struct conform_point *points;
	unsigned width = conform_compare_width(s->desc, dev);
	size_t n = conform_points(dev, width, &points), kept = 0;

	for (size_t i = 0; i < n; i++)
		if (!keep_cfg || points[i].space != VDEV_SPACE_PCICFG)
			points[kept++] = points[i];
	conform_write_all(s, points, kept, width);
	free(points);
	conform_workload(s, dev, &s->rng, 1000,
			 CONFORM_WL_ALL | (keep_cfg ? CONFORM_WL_NO_CFG : 0));
}

static void randomise(struct conform_session *s, struct vdev_testdev *dev)
{
	randomise_some(s, dev, false);
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

static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t len);
static void name_byte(const unsigned char *st, size_t len, size_t at, char *buf, size_t cap);

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
		char where[160];
		size_t at = len2 == len1 ? first_difference(s1, s2, (size_t)len1) : 0;

		if (len2 != len1) {
			conform_fail(run, "the second save is %zd bytes, the first %zd", len2,
				     len1);
		} else {
			name_byte(s1, (size_t)len1, at, where, sizeof(where));
			conform_fail(run,
				     "the second save differs from the first at byte %zu, %s "
				     "(0x%02x, then 0x%02x): uninitialised padding, a counter "
				     "or a pointer in the state?",
				     at, where, s1[at], s2[at]);
		}
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

/* ------------------------------------------------ restore-validates-fields */

/*
 * A state with valid framing and checksum but values no save would write:
 * the restore must refuse them or cope with them. The check rewrites one
 * field at a time in a valid state and mends the checksum, which it can for
 * the two framings it knows: the SDK codec (vdev/state.h: the fields are
 * tagged) and a trailing CRC-32 over everything before it (then every
 * aligned 32-bit word counts as a field).
 */
#define FIELDS_MAX 96

struct state_field {
	size_t at;    /* byte offset in the state */
	unsigned len; /* 1, 2, 4 or 8 */
};

static uint32_t get_le(const unsigned char *p, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(unsigned char *p, unsigned len, uint64_t v)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Same polynomial as vdev_state_crc32 (IEEE 802.3, reflected). */
static uint32_t crc32_ieee(uint32_t crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
	}
	return ~crc;
}

enum framing { FRAMING_NONE, FRAMING_CODEC, FRAMING_TRAILING_CRC };

/* The SDK codec's header: "VDST", u16 codec 1, u16 name length, name, u32
 * format, u32 payload length, u32 CRC; returns the CRC's offset or 0. */
static size_t codec_crc_at(const unsigned char *st, size_t len)
{
	size_t name_len, crc_at;

	if (len < 12 || memcmp(st, "VDST", 4) || get_le(st + 4, 2) != 1)
		return 0;
	name_len = get_le(st + 6, 2);
	crc_at = 8 + name_len + 8;
	if (crc_at + 4 > len || get_le(st + crc_at - 4, 4) != len - crc_at - 4)
		return 0;
	return crc_at;
}

static void mend_crc(enum framing f, unsigned char *st, size_t len)
{
	size_t crc_at;

	if (f == FRAMING_CODEC) {
		crc_at = codec_crc_at(st, len);
		put_le(st + crc_at, 4,
		       crc32_ieee(crc32_ieee(0, st, crc_at), st + crc_at + 4, len - crc_at - 4));
	} else if (f == FRAMING_TRAILING_CRC) {
		put_le(st + len - 4, 4, crc32_ieee(0, st, len - 4));
	}
}

/* The framing of `st` and its fields (bytes fields count as their first,
 * middle and last bytes and their first and last aligned 32-bit words). */
static enum framing state_fields(const unsigned char *st, size_t len, struct state_field *f,
				 unsigned *n)
{
	size_t crc_at = codec_crc_at(st, len);

	*n = 0;
	if (crc_at && crc32_ieee(crc32_ieee(0, st, crc_at), st + crc_at + 4, len - crc_at - 4) ==
			  get_le(st + crc_at, 4)) {
		for (size_t p = crc_at + 4; p < len && *n < FIELDS_MAX;) {
			unsigned tag = st[p++];

			if (tag == 1 || tag == 2 || tag == 4 || tag == 8) {
				if (p + tag > len)
					break;
				f[(*n)++] = (struct state_field){p, tag};
				p += tag;
			} else if (tag == 0x10 && p + 4 <= len) {
				size_t blen = get_le(st + p, 4), b = p + 4;

				if (blen > len - b)
					break;
				if (blen)
					f[(*n)++] = (struct state_field){b, 1};
				if (blen > 2 && *n < FIELDS_MAX)
					f[(*n)++] = (struct state_field){b + blen / 2, 1};
				if (blen > 1 && *n < FIELDS_MAX)
					f[(*n)++] = (struct state_field){b + blen - 1, 1};
				if (blen >= 8 && *n < FIELDS_MAX)
					f[(*n)++] = (struct state_field){b, 4};
				if (blen >= 8 && *n < FIELDS_MAX)
					f[(*n)++] = (struct state_field){b + (blen - 4) / 4 * 4, 4};
				p = b + blen;
			} else {
				break;
			}
		}
		return FRAMING_CODEC;
	}
	if (len > 8 && crc32_ieee(0, st, len - 4) == get_le(st + len - 4, 4)) {
		for (size_t p = 0; p + 4 <= len - 4 && *n < FIELDS_MAX; p += 4)
			f[(*n)++] = (struct state_field){p, 4};
		return FRAMING_TRAILING_CRC;
	}
	return FRAMING_NONE;
}

/* After a restore that was accepted: use the device as a guest would. */
static void exercise_restored(struct conform_session *s, struct vdev_testdev *dev,
			      unsigned char *buf, size_t cap, const char *what,
			      unsigned *unsaveable)
{
	struct conform_point *points;
	unsigned width = conform_compare_width(s->desc, dev);
	size_t n = conform_points(dev, width, &points);

	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		conform_where(s->run, "after restoring %s: read width %u at 0x%llx", what, width,
			      (unsigned long long)points[i].addr);
		vdev_testhost_read(s->th, points[i].space, points[i].addr, width, &v);
	}
	free(points);
	conform_where(s->run, "after restoring %s: accesses and time", what);
	conform_workload(s, dev, &s->rng, 300, CONFORM_WL_ALL);
	conform_where(s->run, "after restoring %s: save", what);
	if (vdev_testhost_save(dev, buf, cap) < 0 && !(*unsaveable)++)
		conform_fail(s->run,
			     "restore accepted %s, and then the device could not save itself: "
			     "accept only states the device can run with",
			     what);
}

void conform_check_restore_validates_fields(struct conform_run *run)
{
	static const uint64_t values[] = {~0ull,	 0x8000000000000000ull,
					  0x7fffffffull, 0x80000000ull,
					  0xffffull,	 0x1000ull,
					  0x100ull,	 0xffull};
	struct conform_session s;
	struct state_field fields[FIELDS_MAX];
	struct vdev_testdev *dev = NULL;
	unsigned char *good = NULL, *bad = NULL, *scratch = NULL;
	unsigned nfields = 0, accepted = 0, refused = 0, unsaveable = 0;
	enum framing framing;
	size_t cap;
	ssize_t len;
	char what[96];

	if (conform_session_open(&s, run) < 0)
		return;
	if (!s.desc->state_size) {
		conform_skip(run, "state_size is 0: the device keeps no state");
		goto out;
	}
	cap = s.desc->state_size + 64;
	good = calloc(1, cap);
	bad = calloc(1, cap);
	scratch = calloc(1, cap);
	dev = conform_create(&s, false, false);
	if (!dev || !good || !bad || !scratch)
		goto out;
	/* Configuration space as it was: the BARs stay where the registers
	 * restored into them can be read. */
	randomise_some(&s, dev, true);
	len = save(&s, dev, good, cap, "a valid state");
	if (len <= 0)
		goto out;
	framing = state_fields(good, (size_t)len, fields, &nfields);
	if (framing == FRAMING_NONE) {
		conform_skip(run,
			     "the state is neither in the SDK codec's format nor ends in a CRC-32 "
			     "of the rest: its fields cannot be changed with a valid checksum");
		goto out;
	}
	for (unsigned i = 0; i < nfields; i++) {
		uint64_t mask = fields[i].len < 8 ? (1ull << (8 * fields[i].len)) - 1 : ~0ull;

		for (unsigned k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
			uint64_t v = values[k] & mask;
			int rc;

			if (k && v == (values[k - 1] & mask))
				continue; /* the same value once cut to the field */
			memcpy(bad, good, (size_t)len);
			put_le(bad + fields[i].at, fields[i].len, v);
			if (!memcmp(bad, good, (size_t)len))
				continue;
			mend_crc(framing, bad, (size_t)len);
			snprintf(what, sizeof(what), "field %u (%u byte(s) at %zu) = 0x%llx", i,
				 fields[i].len, fields[i].at, (unsigned long long)v);
			conform_where(run, "restore the valid state with %s", what);
			rc = vdev_testhost_restore(dev, bad, (size_t)len);
			if (rc < 0) {
				refused++;
				continue;
			}
			accepted++;
			exercise_restored(&s, dev, scratch, cap, what, &unsaveable);
			/* A fresh instance for the next one, as after a migration. */
			conform_where(run, "destroy");
			vdev_testhost_destroy(dev);
			dev = conform_create(&s, false, false);
			if (!dev)
				goto out;
		}
	}
	conform_note(run,
		     "%s framing, %u field(s): %u altered states refused, %u accepted and "
		     "run",
		     framing == FRAMING_CODEC ? "SDK codec" : "trailing CRC-32", nfields, refused,
		     accepted);
out:
	if (dev) {
		conform_where(run, "destroy");
		vdev_testhost_destroy(dev);
	}
	free(good);
	free(bad);
	free(scratch);
	conform_session_close(&s);
}

/* The first byte where a and b differ, a checksum's bytes left out (a
 * checksum differs whenever anything does: the field that differs is the
 * news). Both are states of the same length that differ somewhere. */
static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t crc_at = codec_crc_at(a, len), skip_from = len, skip_to = len;

	if (crc_at) {
		skip_from = crc_at;
		skip_to = crc_at + 4;
	} else if (len > 8 && crc32_ieee(0, a, len - 4) == get_le(a + len - 4, 4)) {
		skip_from = len - 4;
	}
	for (size_t i = 0; i < len; i++)
		if ((i < skip_from || i >= skip_to) && a[i] != b[i])
			return i;
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return i;
	return 0;
}

/* What byte `at` of a state is: "field N (a u32)" in the SDK codec's
 * payload, "the header", "the CRC", or "the 32-bit word N" under a
 * trailing CRC-32. */
static void name_byte(const unsigned char *st, size_t len, size_t at, char *buf, size_t cap)
{
	static const char *const kinds[] = {[1] = "u8", [2] = "u16", [4] = "u32", [8] = "u64"};
	size_t crc_at = codec_crc_at(st, len);

	snprintf(buf, cap, "in a format vdev-conform does not know");
	if (crc_at) {
		unsigned index = 0;

		if (at < crc_at) {
			snprintf(buf, cap, "in the codec's header");
			return;
		}
		if (at < crc_at + 4) {
			snprintf(buf, cap, "in the CRC (only the checksum differs?)");
			return;
		}
		for (size_t p = crc_at + 4; p < len; index++) {
			unsigned tag = st[p];
			size_t size =
			    tag == 0x10 && p + 5 <= len ? 5 + (size_t)get_le(st + p + 1, 4)
			    : tag == 1 || tag == 2 || tag == 4 || tag == 8 ? 1 + (size_t)tag
									   : 0;

			if (!size)
				break;
			if (at < p + size) {
				size_t head = tag == 0x10 ? 5 : 1;

				if (at < p + head)
					snprintf(buf, cap,
						 "field %u of the payload (%s), in its tag or "
						 "length",
						 index, tag == 0x10 ? "bytes" : kinds[tag]);
				else
					snprintf(
					    buf, cap,
					    "field %u of the payload (%s, byte %zu of its value)",
					    index, tag == 0x10 ? "bytes" : kinds[tag],
					    at - p - head);
				return;
			}
			p += size;
		}
	} else if (len > 8 && crc32_ieee(0, st, len - 4) == get_le(st + len - 4, 4)) {
		if (at >= len - 4)
			snprintf(buf, cap, "in the trailing CRC-32 (only the checksum differs?)");
		else
			snprintf(buf, cap, "32-bit word %zu (bytes %zu..%zu)", at / 4, at / 4 * 4,
				 at / 4 * 4 + 3);
	}
}
