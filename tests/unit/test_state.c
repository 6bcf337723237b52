/*
 * tests/unit/test_state.c: the SDK's save/restore codec (sdk/lib/state.c).
 *
 * Checks the wire format byte for byte, that one description round-trips
 * in both directions, and that every empty, truncated, foreign, corrupt or
 * mismatched input is refused with -EINVAL without touching the target.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <vdev/state.h>

struct sample {
	uint8_t a;
	uint16_t b;
	uint32_t c;
	uint64_t d;
	bool e;
	uint8_t blob[5];
};

/* The one description of struct sample, used for save and restore. */
static void sample_state(struct vdev_state *st, struct sample *s)
{
	vdev_state_u8(st, &s->a);
	vdev_state_u16(st, &s->b);
	vdev_state_u32(st, &s->c);
	vdev_state_u64(st, &s->d);
	vdev_state_bool(st, &s->e);
	vdev_state_bytes(st, s->blob, sizeof(s->blob));
	if (vdev_state_restoring(st) && s->c == 0xdeadbeef)
		vdev_state_invalid(st);
}

#define SAMPLE_SIZE                                                                                \
	(VDEV_STATE_HEADER_SIZE(6) + VDEV_STATE_SIZE_U8 + VDEV_STATE_SIZE_U16 +                    \
	 VDEV_STATE_SIZE_U32 + VDEV_STATE_SIZE_U64 + VDEV_STATE_SIZE_BOOL +                        \
	 VDEV_STATE_SIZE_BYTES(5))

static const struct sample sample_value = {
    .a = 0x12,
    .b = 0x3456,
    .c = 0x789abcde,
    .d = 0x0102030405060708ull,
    .e = true,
    .blob = {'h', 'e', 'l', 'l', 'o'},
};

static ssize_t sample_save(const struct sample *in, void *buf, size_t cap)
{
	struct vdev_state st;
	struct sample s = *in;

	if (vdev_state_save_begin(&st, buf, cap, "sample", 3) == 0)
		sample_state(&st, &s);
	return vdev_state_save_end(&st);
}

/* Restore the way the guide says: into a scratch copy, committed on 0. */
static int sample_restore(struct sample *out, const void *buf, size_t len)
{
	struct vdev_state st;
	struct sample s = *out;

	if (vdev_state_restore_begin(&st, buf, len, "sample", 3) == 0)
		sample_state(&st, &s);
	if (vdev_state_restore_end(&st) != 0)
		return vdev_state_error(&st);
	*out = s;
	return 0;
}

static void test_crc32_check_value(void **unused)
{
	/* The standard check value of CRC-32/ISO-HDLC. */
	assert_int_equal(vdev_state_crc32(0, "123456789", 9), 0xcbf43926u);
	/* Continuation gives the same as one pass. */
	assert_int_equal(vdev_state_crc32(vdev_state_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
	assert_int_equal(vdev_state_crc32(0, "", 0), 0);
}

static void test_wire_format(void **unused)
{
	uint8_t buf[128];
	ssize_t n = sample_save(&sample_value, buf, sizeof(buf));
	static const uint8_t expect_head[] = {
	    'V', 'D', 'S', 'T', 1, 0, 6, 0, 's', 'a', 'm', 'p', 'l', 'e', 3, 0, 0, 0,
	};
	static const uint8_t expect_payload[] = {
	    0x01, 0x12,						       /* u8 */
	    0x02, 0x56, 0x34,					       /* u16 */
	    0x04, 0xde, 0xbc, 0x9a, 0x78,			       /* u32 */
	    0x08, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,      /* u64 */
	    0x01, 0x01,						       /* bool */
	    0x10, 5,	0,    0,    0,	  'h',	'e',  'l',  'l',  'o', /* bytes */
	};
	size_t head = sizeof(expect_head);
	uint32_t crc;

	assert_int_equal(n, SAMPLE_SIZE);
	assert_memory_equal(buf, expect_head, head);
	/* payload length */
	assert_int_equal(buf[head], sizeof(expect_payload));
	assert_int_equal(buf[head + 1] | buf[head + 2] | buf[head + 3], 0);
	assert_memory_equal(buf + head + 8, expect_payload, sizeof(expect_payload));
	crc = vdev_state_crc32(0, buf, head + 4);
	crc = vdev_state_crc32(crc, expect_payload, sizeof(expect_payload));
	assert_int_equal(buf[head + 4] | buf[head + 5] << 8 | buf[head + 6] << 16 |
			     (uint32_t)buf[head + 7] << 24,
			 crc);
}

static void test_round_trip_and_determinism(void **unused)
{
	uint8_t a[128], b[128];
	struct sample s = {0};
	ssize_t n = sample_save(&sample_value, a, sizeof(a));

	assert_true(n > 0);
	assert_int_equal(sample_restore(&s, a, (size_t)n), 0);
	assert_int_equal(s.a, sample_value.a);
	assert_int_equal(s.b, sample_value.b);
	assert_int_equal(s.c, sample_value.c);
	assert_true(s.d == sample_value.d);
	assert_true(s.e);
	assert_memory_equal(s.blob, "hello", 5);
	/* The same state gives the same bytes. */
	memset(b, 0xa5, sizeof(b));
	assert_int_equal(sample_save(&s, b, sizeof(b)), n);
	assert_memory_equal(a, b, (size_t)n);
}

static void assert_refused(const void *buf, size_t len)
{
	struct sample s, before;

	memset(&s, 0x5a, sizeof(s));
	s.e = false;
	memcpy(&before, &s, sizeof(s));

	assert_int_equal(sample_restore(&s, buf, len), -EINVAL);
	assert_memory_equal(&s, &before, sizeof(s));
}

static void test_empty_and_truncated(void **unused)
{
	uint8_t buf[128];
	ssize_t n = sample_save(&sample_value, buf, sizeof(buf));

	assert_refused(NULL, 0);
	assert_refused(NULL, 10);
	for (ssize_t len = 0; len < n; len++)
		assert_refused(buf, (size_t)len);
}

static void test_every_bit_flip_refused(void **unused)
{
	uint8_t buf[128];
	ssize_t n = sample_save(&sample_value, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			assert_refused(buf, (size_t)n);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Untouched again, it still restores. */
	struct sample s = {0};
	assert_int_equal(sample_restore(&s, buf, (size_t)n), 0);
}

static void test_trailing_bytes_refused(void **unused)
{
	uint8_t buf[128];
	ssize_t n = sample_save(&sample_value, buf, sizeof(buf));

	buf[n] = 0;
	assert_refused(buf, (size_t)n + 1);
}

static void test_foreign_name_and_version(void **unused)
{
	uint8_t buf[128];
	struct vdev_state st;
	struct sample s = sample_value;
	ssize_t n;

	/* Same fields, other device name: valid CRC, still foreign. */
	assert_int_equal(vdev_state_save_begin(&st, buf, sizeof(buf), "sampl3", 3), 0);
	sample_state(&st, &s);
	n = vdev_state_save_end(&st);
	assert_true(n > 0);
	assert_refused(buf, (size_t)n);

	/* Same device, other format version. */
	assert_int_equal(vdev_state_save_begin(&st, buf, sizeof(buf), "sample", 4), 0);
	sample_state(&st, &s);
	n = vdev_state_save_end(&st);
	assert_refused(buf, (size_t)n);
}

static void test_field_mismatch_refused(void **unused)
{
	uint8_t buf[128];
	struct vdev_state st;
	uint8_t u8 = 1;
	uint16_t u16 = 2;
	uint32_t u32 = 3;
	uint64_t u64 = 4;
	ssize_t n;

	/* Fields in another order: tags disagree. */
	vdev_state_save_begin(&st, buf, sizeof(buf), "sample", 3);
	vdev_state_u16(&st, &u16);
	vdev_state_u8(&st, &u8);
	vdev_state_u32(&st, &u32);
	vdev_state_u64(&st, &u64);
	n = vdev_state_save_end(&st);
	assert_refused(buf, (size_t)n);

	/* A bytes field of another length. */
	uint8_t blob[3] = {1, 2, 3};
	uint8_t out[4] = {9, 9, 9, 9};
	vdev_state_save_begin(&st, buf, sizeof(buf), "x", 1);
	vdev_state_bytes(&st, blob, sizeof(blob));
	n = vdev_state_save_end(&st);
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)n, "x", 1), 0);
	vdev_state_bytes(&st, out, sizeof(out));
	assert_int_equal(vdev_state_restore_end(&st), -EINVAL);
	assert_memory_equal(out, "\x09\x09\x09\x09", 4);

	/* Fewer fields read than written: leftover bytes. */
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)n, "x", 1), 0);
	assert_int_equal(vdev_state_restore_end(&st), -EINVAL);
}

static void test_bool_and_invalid(void **unused)
{
	uint8_t buf[128];
	struct vdev_state st;
	struct sample s = sample_value;
	uint8_t two = 2;
	bool b = false;
	ssize_t n;

	/* A u8 of 2 has the bool's tag but is not a bool. */
	vdev_state_save_begin(&st, buf, sizeof(buf), "x", 1);
	vdev_state_u8(&st, &two);
	n = vdev_state_save_end(&st);
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)n, "x", 1), 0);
	vdev_state_bool(&st, &b);
	assert_int_equal(vdev_state_restore_end(&st), -EINVAL);
	assert_false(b);

	/* The description's own check (c == 0xdeadbeef is invalid). */
	s.c = 0xdeadbeef;
	n = sample_save(&s, buf, sizeof(buf));
	assert_true(n > 0);
	assert_refused(buf, (size_t)n);

	/* invalid() while saving fails the save. */
	vdev_state_save_begin(&st, buf, sizeof(buf), "x", 1);
	vdev_state_invalid(&st);
	assert_int_equal(vdev_state_save_end(&st), -EINVAL);
}

static void test_save_capacity(void **unused)
{
	uint8_t buf[128];

	for (size_t cap = 0; cap < SAMPLE_SIZE; cap++)
		assert_int_equal(sample_save(&sample_value, buf, cap), -ENOSPC);
	assert_int_equal(sample_save(&sample_value, buf, SAMPLE_SIZE), SAMPLE_SIZE);
}

static void test_bad_names(void **unused)
{
	uint8_t buf[256];
	char long_name[VDEV_STATE_NAME_MAX + 2];
	struct vdev_state st;

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	assert_int_equal(vdev_state_save_begin(&st, buf, sizeof(buf), long_name, 1), -EINVAL);
	assert_int_equal(vdev_state_save_end(&st), -EINVAL);
	assert_int_equal(vdev_state_save_begin(&st, buf, sizeof(buf), "", 1), -EINVAL);
	assert_int_equal(vdev_state_save_begin(&st, NULL, 10, "x", 1), -EINVAL);
	assert_int_equal(vdev_state_restore_begin(&st, buf, sizeof(buf), "", 1), -EINVAL);
	/* A name of exactly the maximum length works both ways. */
	long_name[VDEV_STATE_NAME_MAX] = 0;
	assert_int_equal(vdev_state_save_begin(&st, buf, sizeof(buf), long_name, 1), 0);
	ssize_t n = vdev_state_save_end(&st);
	assert_int_equal(n, VDEV_STATE_HEADER_SIZE(VDEV_STATE_NAME_MAX));
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)n, long_name, 1), 0);
	assert_int_equal(vdev_state_restore_end(&st), 0);
}

static void test_direction_misuse(void **unused)
{
	uint8_t buf[64];
	struct vdev_state st;
	ssize_t n;

	vdev_state_save_begin(&st, buf, sizeof(buf), "x", 1);
	assert_false(vdev_state_restoring(&st));
	assert_int_equal(vdev_state_restore_end(&st), -EINVAL);

	vdev_state_save_begin(&st, buf, sizeof(buf), "x", 1);
	n = vdev_state_save_end(&st);
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)n, "x", 1), 0);
	assert_true(vdev_state_restoring(&st));
	assert_int_equal(vdev_state_save_end(&st), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32_check_value),
	    cmocka_unit_test(test_wire_format),
	    cmocka_unit_test(test_round_trip_and_determinism),
	    cmocka_unit_test(test_empty_and_truncated),
	    cmocka_unit_test(test_every_bit_flip_refused),
	    cmocka_unit_test(test_trailing_bytes_refused),
	    cmocka_unit_test(test_foreign_name_and_version),
	    cmocka_unit_test(test_field_mismatch_refused),
	    cmocka_unit_test(test_bool_and_invalid),
	    cmocka_unit_test(test_save_capacity),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_direction_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
