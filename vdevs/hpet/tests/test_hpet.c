/*
 * vdevs/hpet/tests/test_hpet.c: the HPET through the SDK test host, in
 * virtual time: the counter rate, one-shot and periodic matches at the
 * exact nanosecond the spec's arithmetic gives, 32-bit mode wrap, legacy
 * replacement routing, level (status W1C) versus edge, FSB messages,
 * save/restore, and configurations that must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vdev/testhost.h>

#define BASE      0xfed00000ull
#define PERIOD_FS 69841279ull /* 10^15 / 14318180, rounded */

#define REG_CAP     0x000
#define REG_CONFIG  0x010
#define REG_STATUS  0x020
#define REG_COUNTER 0x0f0
#define TN_CONFIG(n) (0x100 + 0x20 * (n))
#define TN_CMP(n)    (0x108 + 0x20 * (n))
#define TN_FSB(n)    (0x110 + 0x20 * (n))

#define CFG_ENABLE 1u
#define CFG_LEGACY 2u
#define TN_LEVEL    (1u << 1)
#define TN_INT_ENB  (1u << 2)
#define TN_PERIODIC (1u << 3)
#define TN_VAL_SET  (1u << 6)
#define TN_32MODE   (1u << 8)
#define TN_ROUTE(r) ((uint64_t)(r) << 9)
#define TN_FSB_EN   (1u << 14)

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct vdev_testdev *dev;
};

static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	if (dir)
		snprintf(path, sizeof(path), "%s/vdev-hpet.so", dir);
	else
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
	assert_int_equal(vdev_testhost_add_intc(f->th, "ioapic", 24), 0);
	return f;
}

static void create(struct fixture *f, const char *options)
{
	f->dev = vdev_testhost_create(f->th, f->desc, options);
	if (!f->dev)
		fail_msg("create \"%s\": %s", options, vdev_testhost_error(f->th));
}

static int setup(void **state)
{
	struct fixture *f = fixture_new();

	create(f, "intr ioapic:2,ioapic:8 intr ioapic:11");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_free(f->th);
	free(f);
	return 0;
}

static uint64_t rd(struct fixture *f, unsigned reg, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE + reg, size, &v), 0);
	return v;
}

static void wr(struct fixture *f, unsigned reg, unsigned size, uint64_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, BASE + reg, size, v), 0);
}

/* The first nanosecond at which `ticks` have elapsed since enabling. */
static uint64_t tick_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * PERIOD_FS + 999999) / 1000000);
}

/* Advance to absolute virtual time t (the fixture starts at 0). */
static void advance_to(struct fixture *f, uint64_t t)
{
	uint64_t now = vdev_testhost_now(f->th);

	assert_true(t >= now);
	vdev_testhost_advance(f->th, t - now);
}

static void test_capabilities(void **state)
{
	struct fixture *f = *state;
	uint64_t cap = rd(f, REG_CAP, 8);

	assert_int_equal(cap & 0xff, 1);                 /* REV_ID */
	assert_int_equal((cap >> 8) & 0x1f, 2);          /* 3 timers */
	assert_true(cap & (1u << 13));                   /* COUNT_SIZE_CAP */
	assert_true(cap & (1u << 15));                   /* LEG_RT_CAP */
	assert_int_equal((cap >> 16) & 0xffff, 0x8086);
	assert_int_equal(cap >> 32, PERIOD_FS);
	/* 32-bit halves of the same register */
	assert_int_equal(rd(f, REG_CAP, 4), cap & 0xffffffff);
	assert_int_equal(rd(f, REG_CAP + 4, 4), PERIOD_FS);
	/* route capabilities: exactly the line of each timer's intr entry */
	assert_int_equal(rd(f, TN_CONFIG(0) + 4, 4), 1u << 2);
	assert_int_equal(rd(f, TN_CONFIG(1) + 4, 4), 1u << 8);
	assert_int_equal(rd(f, TN_CONFIG(2) + 4, 4), 1u << 11);
	/* PER_INT_CAP, SIZE_CAP, FSB_INT_DEL_CAP; nothing enabled */
	assert_int_equal(rd(f, TN_CONFIG(0), 4), (1u << 4) | (1u << 5) | (1u << 15));
	/* comparators reset to all-ones; timers beyond 3 are absent */
	assert_int_equal(rd(f, TN_CMP(0), 8), ~0ull);
	assert_int_equal(rd(f, TN_CONFIG(3), 8), 0);
	/* read-only capability register */
	wr(f, REG_CAP, 8, 0);
	assert_int_equal(rd(f, REG_CAP, 8), cap);
}

static void test_legacy_free_and_options(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *dev;
	uint64_t cap;

	(void)f;
	vdev_testhost_destroy(f->dev);
	dev = vdev_testhost_create(f->th, f->desc,
				   "loc mem:0xfed01000 legacy-free timers 5 frequency 100000000");
	if (!dev)
		fail_msg("%s", vdev_testhost_error(f->th));
	cap = vdev_testhost_mmio_read(f->th, 0xfed01000, 8);
	assert_false(cap & (1u << 15));
	assert_int_equal((cap >> 8) & 0x1f, 4);
	assert_int_equal(cap >> 32, 10000000); /* 10 ns */
	/* LEG_RT_CNF cannot be set without the capability */
	vdev_testhost_write(f->th, VDEV_SPACE_MMIO, 0xfed01000 + REG_CONFIG, 4, 3);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xfed01000 + REG_CONFIG, 4), 1);
	/* no intr: a PC's wiring; this host has no `isa`, so I/O APIC pins 2
	 * and 8 for timers 0 and 1, and timer 2 on FSB only */
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xfed01000 + TN_CONFIG(0) + 4, 4), 1u << 2);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xfed01000 + TN_CONFIG(1) + 4, 4), 1u << 8);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xfed01000 + TN_CONFIG(2) + 4, 4), 0);
}

static void test_counter_rate(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, REG_COUNTER, 8), 0);
	vdev_testhost_advance(f->th, 1000000);
	assert_int_equal(rd(f, REG_COUNTER, 8), 0); /* halted */
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	vdev_testhost_advance(f->th, 1000000000);
	/* 10^15 / P = 14318179.7: the counter follows the period register */
	assert_int_equal(rd(f, REG_COUNTER, 8), 14318179);
	assert_int_equal(rd(f, REG_COUNTER, 4), 14318179);
	assert_int_equal(rd(f, REG_COUNTER + 4, 4), 0);
	/* writes while running are ignored */
	wr(f, REG_COUNTER, 8, 5);
	assert_true(rd(f, REG_COUNTER, 8) >= 14318179);
	/* halt: frozen, then writable */
	wr(f, REG_CONFIG, 4, 0);
	uint64_t frozen = rd(f, REG_COUNTER, 8);
	vdev_testhost_advance(f->th, 5000000);
	assert_int_equal(rd(f, REG_COUNTER, 8), frozen);
	wr(f, REG_COUNTER, 8, 0x123456789abull);
	assert_int_equal(rd(f, REG_COUNTER, 8), 0x123456789abull);
	wr(f, REG_COUNTER + 4, 4, 0x1);
	assert_int_equal(rd(f, REG_COUNTER, 8), 0x1456789abull);
	/* resume from the written value */
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	vdev_testhost_advance(f->th, tick_ns(1000));
	assert_int_equal(rd(f, REG_COUNTER, 8), 0x1456789abull + 1000);
}

static void test_oneshot_edge_exact(void **state)
{
	struct fixture *f = *state;
	uint64_t t0;

	wr(f, TN_CONFIG(0), 4, TN_INT_ENB | TN_ROUTE(2));
	wr(f, TN_CMP(0), 8, 1000);
	t0 = vdev_testhost_now(f->th);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	advance_to(f, t0 + tick_ns(1000) - 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 0);
	vdev_testhost_advance(f->th, 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 1);
	assert_string_equal(vdev_testhost_trace(f->th), "ioapic:2 1\nioapic:2 0\n");
	/* a 64-bit one-shot does not match again; status stays clear (edge) */
	vdev_testhost_advance(f->th, 10000000000ull);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 1);
	assert_int_equal(rd(f, REG_STATUS, 4), 0);
	assert_int_equal(rd(f, TN_CMP(0), 8), 1000);
}

/* A 1-tick period (70 ns) cannot make a storm: after a burst of 64 the
 * host timer runs once per 100 us, so 1 ms gives at most 64 + 11. */
static void test_minimum_interval(void **state)
{
	struct fixture *f = *state;
	unsigned edges;

	wr(f, TN_CONFIG(0), 4, TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_ROUTE(2));
	wr(f, TN_CMP(0), 8, 1);
	wr(f, TN_CMP(0), 8, 1);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	vdev_testhost_advance(f->th, 1000000);
	edges = vdev_testhost_line_edges(f->th, "ioapic:2");
	assert_true(edges >= 64 + 8);
	assert_true(edges <= 64 + 11);
	/* and it goes on at that rate: 10 ms more, 100 more */
	vdev_testhost_advance(f->th, 10000000);
	edges = vdev_testhost_line_edges(f->th, "ioapic:2") - edges;
	assert_true(edges >= 95);
	assert_true(edges <= 101);
	/* and the guest still sees its accumulator move past the counter */
	assert_true(rd(f, TN_CMP(0), 8) > rd(f, REG_COUNTER, 8));
}

static void test_periodic_exact(void **state)
{
	struct fixture *f = *state;
	uint64_t t0;
	int k;

	wr(f, TN_CONFIG(0), 4, TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_ROUTE(2));
	wr(f, TN_CMP(0), 8, 500);   /* with VAL_SET: the accumulator (and period) */
	assert_int_equal(rd(f, TN_CONFIG(0), 4) & TN_VAL_SET, 0); /* cleared */
	wr(f, TN_CMP(0), 8, 300);   /* without: the period only */
	assert_int_equal(rd(f, TN_CMP(0), 8), 500);
	t0 = vdev_testhost_now(f->th);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	for (k = 0; k < 4; k++) {
		uint64_t match = 500 + 300 * (uint64_t)k;

		advance_to(f, t0 + tick_ns(match) - 1);
		assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), k);
		vdev_testhost_advance(f->th, 1);
		assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), k + 1);
		assert_int_equal(rd(f, TN_CMP(0), 8), match + 300);
	}
	/* disabling INT_ENB stops interrupts; the accumulator still advances */
	wr(f, TN_CONFIG(0), 4, TN_PERIODIC | TN_ROUTE(2));
	advance_to(f, t0 + tick_ns(500 + 300 * 10) + 5);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 4);
	assert_int_equal(rd(f, TN_CMP(0), 8), 500 + 300 * 11);
}

static void test_level_status_w1c(void **state)
{
	struct fixture *f = *state;

	wr(f, TN_CONFIG(1), 4, TN_LEVEL | TN_INT_ENB | TN_ROUTE(8));
	wr(f, TN_CMP(1), 8, 100);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	vdev_testhost_advance(f->th, tick_ns(100) - 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:8"), 0);
	assert_int_equal(rd(f, REG_STATUS, 8), 0);
	vdev_testhost_advance(f->th, 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:8"), 1);
	assert_int_equal(rd(f, REG_STATUS, 8), 1u << 1);
	/* writing 0, or another timer's bit, changes nothing */
	wr(f, REG_STATUS, 4, 0);
	wr(f, REG_STATUS, 4, 1u << 0);
	assert_int_equal(rd(f, REG_STATUS, 8), 1u << 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:8"), 1);
	/* write 1 to clear: the line drops */
	wr(f, REG_STATUS, 4, 1u << 1);
	assert_int_equal(rd(f, REG_STATUS, 8), 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:8"), 0);
	assert_string_equal(vdev_testhost_trace(f->th), "ioapic:8 1\nioapic:8 0\n");
}

static void test_level_vs_edge_and_route(void **state)
{
	struct fixture *f = *state;

	/* timer 2 edge on its line; timer 1 level but routed to a line it
	 * cannot use (route 3, capability is 8): status set, no line */
	wr(f, TN_CONFIG(2), 4, TN_INT_ENB | TN_ROUTE(11));
	wr(f, TN_CMP(2), 8, 50);
	wr(f, TN_CONFIG(1), 4, TN_LEVEL | TN_INT_ENB | TN_ROUTE(3));
	wr(f, TN_CMP(1), 8, 50);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	vdev_testhost_advance(f->th, tick_ns(50));
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:11"), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:11"), 0);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:8"), 0);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:3"), 0);
	assert_int_equal(rd(f, REG_STATUS, 8), 1u << 1); /* level timer only */
	/* switching timer 1 to edge mode drops its status bit */
	wr(f, TN_CONFIG(1), 4, TN_INT_ENB | TN_ROUTE(8));
	assert_int_equal(rd(f, REG_STATUS, 8), 0);
}

static void test_32bit_wrap(void **state)
{
	struct fixture *f = *state;
	uint64_t t0;

	wr(f, REG_COUNTER, 8, 0xffffff00ull);
	wr(f, TN_CONFIG(2), 4, TN_INT_ENB | TN_32MODE | TN_ROUTE(11));
	wr(f, TN_CMP(2), 8, 0x100000010ull); /* upper half ignored in 32-bit mode */
	assert_int_equal(rd(f, TN_CMP(2), 8), 0x10);
	assert_int_equal(rd(f, TN_CMP(2) + 4, 4), 0);
	t0 = vdev_testhost_now(f->th);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	advance_to(f, t0 + tick_ns(0x110) - 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:11"), 0);
	vdev_testhost_advance(f->th, 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:11"), 1);
	assert_int_equal(rd(f, REG_COUNTER, 8), 0x100000010ull); /* the main counter is 64-bit */
	/* a 32-bit one-shot matches again after the next wrap, 2^32 ticks on */
	advance_to(f, t0 + tick_ns(0x110 + 0x100000000ull) - 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:11"), 1);
	vdev_testhost_advance(f->th, 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:11"), 2);
}

static void test_32bit_periodic_accumulator_wraps(void **state)
{
	struct fixture *f = *state;
	uint64_t t0;

	wr(f, REG_COUNTER, 8, 0xfffffff0ull);
	wr(f, TN_CONFIG(0), 4, TN_INT_ENB | TN_32MODE | TN_PERIODIC | TN_VAL_SET | TN_ROUTE(2));
	wr(f, TN_CMP(0), 4, 0xfffffff8u);
	wr(f, TN_CMP(0), 4, 0x10);
	t0 = vdev_testhost_now(f->th);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	vdev_testhost_advance(f->th, tick_ns(8));
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 1);
	assert_int_equal(rd(f, TN_CMP(0), 8), 0x8); /* 0xfffffff8 + 0x10, 32 bits */
	advance_to(f, t0 + tick_ns(8 + 0x10) - 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 1);
	vdev_testhost_advance(f->th, 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 2);
}

static void test_legacy_replacement(void **state)
{
	struct fixture *f = *state;

	/* routes the guest did not (or could not) choose, and FSB on timer 1:
	 * legacy replacement ignores both */
	wr(f, TN_CONFIG(0), 4, TN_INT_ENB | TN_ROUTE(0));
	wr(f, TN_CMP(0), 8, 10);
	wr(f, TN_CONFIG(1), 4, TN_INT_ENB | TN_LEVEL | TN_FSB_EN | TN_ROUTE(0));
	wr(f, TN_CMP(1), 8, 20);
	wr(f, REG_CONFIG, 4, CFG_ENABLE | CFG_LEGACY);
	vdev_testhost_advance(f->th, tick_ns(20));
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 1);   /* IRQ0 entry */
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:8"), 1);   /* IRQ8 entry */
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:0"), 0);
	assert_null(strstr(vdev_testhost_trace(f->th), "msi"));
	/* leaving legacy mode: timer 1 goes back to its FSB route, the
	 * level line drops */
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:8"), 0);
}

static void test_fsb_msi(void **state)
{
	struct fixture *f = *state;

	wr(f, TN_FSB(2), 8, (0xfee01000ull << 32) | 0x41);
	wr(f, TN_CONFIG(2), 4, TN_INT_ENB | TN_FSB_EN | TN_PERIODIC | TN_VAL_SET);
	wr(f, TN_CMP(2), 8, 100);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	vdev_testhost_advance(f->th, tick_ns(300));
	assert_string_equal(vdev_testhost_trace(f->th),
			    "msi 0xfee01000 0x41\nmsi 0xfee01000 0x41\nmsi 0xfee01000 0x41\n");
	assert_int_equal(rd(f, REG_STATUS, 8), 0);
}

static void test_bad_accesses(void **state)
{
	struct fixture *f = *state;
	uint64_t v;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE + REG_CAP, 2, &v),
			 -EINVAL);
	assert_int_not_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, BASE + 4 + 8, 8, &v), 0);
	/* reserved registers read 0 */
	assert_int_equal(rd(f, 0x30, 8), 0);
	assert_int_equal(rd(f, 0x3f8, 8), 0);
}

static void test_reset_and_restore(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *other;
	unsigned char buf[8192];
	ssize_t len;

	wr(f, TN_CONFIG(0), 4, TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_ROUTE(2));
	wr(f, TN_CMP(0), 8, 1000);
	wr(f, REG_CONFIG, 4, CFG_ENABLE);
	vdev_testhost_advance(f->th, tick_ns(1500));
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 1);
	len = vdev_testhost_save(f->dev, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(f->dev);
	assert_int_equal(rd(f, REG_CONFIG, 8), 0);
	assert_int_equal(rd(f, REG_COUNTER, 8), 0);
	assert_int_equal(rd(f, TN_CMP(0), 8), ~0ull);
	vdev_testhost_advance(f->th, tick_ns(5000));
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 1);
	/* corrupt state is refused and changes nothing */
	buf[len - 1] ^= 1;
	assert_int_equal(vdev_testhost_restore(f->dev, buf, (size_t)len), -EINVAL);
	buf[len - 1] ^= 1;
	assert_int_equal(rd(f, REG_CONFIG, 8), 0);
	/* into another instance: the count continues, the next match comes
	 * 500 ticks after the restore */
	vdev_testhost_destroy(f->dev);
	f->dev = NULL;
	other = vdev_testhost_create(f->th, f->desc, "intr ioapic:2,ioapic:8");
	assert_non_null(other);
	assert_int_equal(vdev_testhost_restore(other, buf, (size_t)len), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE + REG_COUNTER, 8), 1500);
	vdev_testhost_advance(f->th, tick_ns(500) + 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:2"), 2);
	assert_int_equal(vdev_testhost_mmio_read(f->th, BASE + TN_CMP(0), 8), 3000);
}

static void test_bad_configs(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"intr ioapic:1,ioapic:2,ioapic:3,ioapic:4",  /* 4 entries, 3 timers */
		"loc mem:0xfed00100",                        /* not 1 KiB aligned */
		"loc io:0x100",                              /* not memory */
		"intr nosuch:2",
		"intr ioapic:40",                            /* no such line */
		"timers 33",
		"frequency 1000",
	};
	unsigned i;

	vdev_testhost_destroy(f->dev);
	f->dev = NULL;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (vdev_testhost_create(f->th, f->desc, bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	}
	struct vdev_testhost_usage u;
	vdev_testhost_usage(f->th, &u);
	assert_int_equal(u.regions + u.lines + u.timers, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_free_and_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oneshot_edge_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_exact, setup, teardown),		cmocka_unit_test_setup_teardown(test_minimum_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_status_w1c, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_vs_edge_and_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_periodic_accumulator_wraps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_legacy_replacement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsb_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_configs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
