/*
 * vdevs/hpet/hpet.c: an IA-PC HPET (High Precision Event Timers, spec 1.0a)
 * timer block: one 64-bit up-counter and 3..32 comparators.
 *
 *	vdev hpet                                  # mem:0xfed00000, 3 timers, isa:0 + isa:8
 *	vdev hpet intr ioapic:2,ioapic:8 timers 4  # timer 0 -> pin 2, timer 1 -> pin 8
 *
 * Options: `frequency` (Hz, default 14318180; the counter period register
 * holds it as a whole number of femtoseconds, 10^15 / frequency rounded,
 * and the counter runs at exactly 10^15 / period so that a guest computing
 * time from the period register sees no drift), `timers` (3..32),
 * `legacy-free` (clears LEG_RT_CAP). `loc` defaults to mem:0xfed00000; the
 * block is 1 KiB (0x100 + 0x20 * timers bytes beyond 24 timers).
 *
 * Interrupt routing. Without `intr`, a PC's wiring: timers 0 and 1 on
 * `isa:0` and `isa:8` (or `ioapic:2` and `ioapic:8` without an ISA bus),
 * the rest FSB only (hpet_default_lines). `intr` (repeated, or a comma list) gives one line per
 * timer, in timer order: entry N is the only I/O APIC input timer N can be
 * routed to, so Tn_INT_ROUTE_CAP has exactly the bit of that entry's line
 * number, and the timer's interrupt reaches the line only when the guest
 * set Tn_INT_ROUTE_CNF to that number. Timers without an entry can deliver
 * only through FSB (Tn_FSB_INT_DEL_CAP is set on every timer: Tn_FSB_EN_CNF
 * sends the FSB route register as an MSI, host->msi_send(address = bits
 * 63:32, data = bits 31:0)). Legacy replacement (LEG_RT_CNF) routes timer 0
 * to the first entry and timer 1 to the second, whatever their route and
 * FSB bits say: give the lines your guest expects for IRQ0 and IRQ8 first
 * (`intr ioapic:2,ioapic:8` for a guest using the usual IRQ0 -> pin 2
 * override, `intr ioapic:0,ioapic:8` for one that does not). Disconnecting
 * the 8254 and RTC interrupts in that mode is up to those devices.
 *
 * Registers (32- or 64-bit accesses, naturally aligned; others are bus
 * errors). 64-bit registers read and write as two 32-bit halves too.
 *	0x000 GCAP_ID    RO  REV_ID 1, NUM_TIM_CAP, COUNT_SIZE_CAP (64-bit),
 *	                     LEG_RT_CAP, VENDOR_ID 0x8086, COUNTER_CLK_PERIOD (fs)
 *	0x010 GEN_CONF   RW  ENABLE_CNF, LEG_RT_CNF (only with LEG_RT_CAP)
 *	0x020 GINTR_STA  W1C Tn_INT_STS: set by a match of a level-triggered
 *	                     timer with Tn_INT_ENB_CNF; edge and FSB timers
 *	                     never set it (as the spec allows)
 *	0x0f0 MAIN_CNT   RW  the counter; writes only while halted
 *	0x100 + 0x20*N   timer N: +0x00 config/capabilities, +0x08 comparator,
 *	                 +0x10 FSB route
 * Timer config bits: INT_TYPE (1 = level), INT_ENB, TYPE (1 = periodic),
 * PER_INT_CAP, SIZE_CAP (64-bit; both set on every timer), VAL_SET,
 * 32MODE, INT_ROUTE (5 bits), FSB_EN, FSB_INT_DEL_CAP, INT_ROUTE_CAP.
 *
 * Comparators. A timer matches when the counter (its low 32 bits in
 * 32-bit mode) becomes equal to the comparator; a one-shot 32-bit timer
 * therefore matches again each time the counter wraps. In periodic mode a
 * match adds the period to the comparator (the accumulator); a comparator
 * write sets the comparator only while VAL_SET is set (or in one-shot
 * mode) and always sets the period in periodic mode, and clears VAL_SET
 * (QEMU's and most hardware's reading of the spec; Linux writes the
 * comparator twice, which works with it). A level-triggered match sets the
 * status bit and holds the line until the guest clears the bit; an edge one
 * pulses the line.
 *
 * Time. The counter is computed from host->clock_ns() while enabled,
 * never ticked. One host timer is armed for the earliest next match of a
 * timer with INT_ENB set, at the exact first nanosecond at which the
 * counter reaches it; periodic timers without INT_ENB advance their
 * accumulator lazily (whenever the device is accessed). A late host timer
 * (a loaded host) delivers one interrupt for the matches it missed and
 * moves the accumulator past the current count.
 *
 * Minimum interval. On average the host timer runs at most once per
 * HPET_MIN_TIMER_NS (100 us): a bucket of HPET_BURST runs, refilled by one
 * every 100 us, lets short bursts of close matches keep their exact times,
 * and once it is empty the next run waits for the next refill: matches
 * closer together than that (a 1-tick period, a comparator re-programmed
 * just ahead of the counter in a loop) merge into one interrupt, as they do
 * when the host is late. So a guest gets at most 10 000 HPET interrupts per
 * second (plus one burst of 64), whatever it programs: a 1 ns timer can
 * neither keep vdm's event loop busy nor, on kvm, take the host's cores
 * with interrupt injection (each costs several exits there). OSes ask for
 * far less (a tick of 1-4 ms, high-resolution timers coalesced).
 *
 * Threads: not SELF_LOCKED; the host serialises read, write and the timer.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/state.h>
#include <vdev/vdev.h>

#define HPET_NAME	   "hpet"
#define HPET_STATE_VERSION 1

#define HPET_DEFAULT_BASE 0xfed00000ull
#define HPET_MIN_LENGTH	  0x400u
#define HPET_MIN_TIMER_NS 100000ull /* at most 10 000 host timer runs a second */
#define HPET_BURST	  64u	    /* runs allowed closer together than that */
#define HPET_MAX_TIMERS	  32u

#define HPET_REG_CAP	 0x000u
#define HPET_REG_CONFIG	 0x010u
#define HPET_REG_STATUS	 0x020u
#define HPET_REG_COUNTER 0x0f0u
#define HPET_REG_TIMER0	 0x100u
#define HPET_TIMER_SIZE	 0x20u
#define HPET_TN_CONFIG	 0x00u
#define HPET_TN_CMP	 0x08u
#define HPET_TN_FSB	 0x10u

#define HPET_CAP_REV_ID	       0x01ull
#define HPET_CAP_NUM_TIM_SHIFT 8
#define HPET_CAP_COUNT_SIZE    (1ull << 13)
#define HPET_CAP_LEG_RT	       (1ull << 15)
#define HPET_CAP_VENDOR	       (0x8086ull << 16)
#define HPET_CAP_PERIOD_SHIFT  32

#define HPET_CFG_ENABLE (1ull << 0)
#define HPET_CFG_LEGACY (1ull << 1)

#define HPET_TN_INT_TYPE	(1ull << 1) /* 1 = level */
#define HPET_TN_INT_ENB		(1ull << 2)
#define HPET_TN_PERIODIC	(1ull << 3)
#define HPET_TN_PER_CAP		(1ull << 4)
#define HPET_TN_SIZE_CAP	(1ull << 5)
#define HPET_TN_VAL_SET		(1ull << 6)
#define HPET_TN_32MODE		(1ull << 8)
#define HPET_TN_ROUTE_SHIFT	9
#define HPET_TN_ROUTE_MASK	(0x1full << HPET_TN_ROUTE_SHIFT)
#define HPET_TN_FSB_EN		(1ull << 14)
#define HPET_TN_FSB_CAP		(1ull << 15)
#define HPET_TN_ROUTE_CAP_SHIFT 32
#define HPET_TN_CAPS		(HPET_TN_PER_CAP | HPET_TN_SIZE_CAP | HPET_TN_FSB_CAP)
#define HPET_TN_WRITABLE                                                                           \
	(HPET_TN_INT_TYPE | HPET_TN_INT_ENB | HPET_TN_PERIODIC | HPET_TN_VAL_SET |                 \
	 HPET_TN_32MODE | HPET_TN_ROUTE_MASK | HPET_TN_FSB_EN)

#define FS_PER_NS 1000000ull
#define FS_PER_S  1000000000000000ull
#define NO_LINE	  (-1)

enum hpet_option { HPET_OPT_FREQUENCY, HPET_OPT_TIMERS, HPET_OPT_LEGACY_FREE, HPET_OPT_COUNT };

static const struct vdev_option_spec hpet_options[HPET_OPT_COUNT] = {
    [HPET_OPT_FREQUENCY] =
	{
	    .name = "frequency",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "14318180",
	    .help = "counter frequency in Hz (10 MHz..1 GHz; the period register is in whole fs)",
	    .min = 10000000,
	    .max = 1000000000,
	},
    [HPET_OPT_TIMERS] =
	{
	    .name = "timers",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "3",
	    .help = "number of comparators (3..32)",
	    .min = 3,
	    .max = HPET_MAX_TIMERS,
	},
    [HPET_OPT_LEGACY_FREE] =
	{
	    .name = "legacy-free",
	    .type = VDEV_OPT_BOOL,
	    .flags = VDEV_OPTF_NOARG,
	    .default_value = "off",
	    .help = "no legacy replacement routing (LEG_RT_CAP clear)",
	},
};

/* Guest-visible state of one comparator (capability bits are computed). */
struct hpet_timer_regs {
	uint64_t config; /* HPET_TN_WRITABLE bits only */
	uint64_t cmp;
	uint64_t period;
	uint64_t fsb;
};

/* Everything save() keeps. */
struct hpet_regs {
	uint64_t config;
	uint64_t status;
	uint64_t counter; /* halted: the count; enabled: the count at base_ns */
	uint64_t last;	  /* the count up to which matches were processed */
	struct hpet_timer_regs t[HPET_MAX_TIMERS];
};

struct hpet {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_timer *timer;
	unsigned timers;
	uint64_t period_fs;
	bool legacy_cap;
	uint64_t length;

	/* Routing from `intr`: per timer an index into lines[] and the line
	 * number (its only INT_ROUTE_CAP bit), NO_LINE when none. */
	int line_of[HPET_MAX_TIMERS];
	int route_of[HPET_MAX_TIMERS];
	struct vdev_line *lines[HPET_MAX_TIMERS];
	unsigned line_count;

	struct hpet_regs regs;
	uint64_t base_ns; /* host clock at which regs.counter was valid, while enabled */
	/* the minimum interval: runs left in the bucket, and when it was last refilled */
	unsigned rate_tokens;
	/* timers that matched while the bucket was empty: delivered (once)
	 * by the next evaluation that may deliver */
	uint32_t deferred;
	uint64_t rate_ns;
	bool rate_started;
};

/* ------------------------------------------------------------ time */

static bool hpet_enabled(const struct hpet *d)
{
	return d->regs.config & HPET_CFG_ENABLE;
}

/* Counter ticks in `ns` nanoseconds (floor). */
static uint64_t hpet_ns_to_ticks(const struct hpet *d, uint64_t ns)
{
	return (uint64_t)(((unsigned __int128)ns * FS_PER_NS) / d->period_fs);
}

static uint64_t hpet_counter_at(const struct hpet *d, uint64_t now)
{
	if (!hpet_enabled(d) || now < d->base_ns)
		return d->regs.counter;
	return d->regs.counter + hpet_ns_to_ticks(d, now - d->base_ns);
}

/* The mask of the bits a timer compares: 32 in 32-bit mode, else 64. */
static uint64_t hpet_timer_mask(const struct hpet_timer_regs *t)
{
	return t->config & HPET_TN_32MODE ? 0xffffffffull : ~0ull;
}

/*
 * Ticks from count `from` to the timer's next match (a match exactly at
 * `from` counts as processed, so it is a whole wrap away). 0 means never
 * (a 64-bit comparator one wrap away).
 */
static uint64_t hpet_ticks_to_match(const struct hpet_timer_regs *t, uint64_t from)
{
	uint64_t mask = hpet_timer_mask(t);
	uint64_t dist = (t->cmp - from) & mask;

	if (dist)
		return dist;
	return mask == ~0ull ? 0 : mask + 1;
}

/* ------------------------------------------------------------ routing */

/* The line index timer n delivers to, or NO_LINE (FSB, unrouted, none). */
static int hpet_timer_line(const struct hpet *d, unsigned n)
{
	const struct hpet_timer_regs *t = &d->regs.t[n];

	if ((d->regs.config & HPET_CFG_LEGACY) && n < 2)
		return d->line_of[n];
	if (t->config & HPET_TN_FSB_EN)
		return NO_LINE;
	if (d->route_of[n] == NO_LINE ||
	    (int)((t->config & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT) != d->route_of[n])
		return NO_LINE;
	return d->line_of[n];
}

static bool hpet_timer_uses_fsb(const struct hpet *d, unsigned n)
{
	if ((d->regs.config & HPET_CFG_LEGACY) && n < 2)
		return false;
	return d->regs.t[n].config & HPET_TN_FSB_EN;
}

/*
 * Drive every line from the state: asserted while a level-triggered,
 * enabled timer routed to it has its status bit set and the block is
 * enabled. Called after every access, match, reset and restore.
 */
static void hpet_update_lines(struct hpet *d)
{
	bool level[HPET_MAX_TIMERS] = {false};
	unsigned n;

	if (hpet_enabled(d)) {
		for (n = 0; n < d->timers; n++) {
			const struct hpet_timer_regs *t = &d->regs.t[n];
			int line = hpet_timer_line(d, n);

			if (line != NO_LINE && (t->config & HPET_TN_INT_TYPE) &&
			    (t->config & HPET_TN_INT_ENB) && (d->regs.status & (1ull << n)))
				level[line] = true;
		}
	}
	for (n = 0; n < d->line_count; n++)
		d->host->line_set(d->h, d->lines[n], level[n]);
}

/* One match of timer n that delivers an interrupt (INT_ENB is set). */
static void hpet_fire(struct hpet *d, unsigned n)
{
	const struct hpet_timer_regs *t = &d->regs.t[n];
	int line;

	if (hpet_timer_uses_fsb(d, n)) {
		d->host->msi_send(d->h, t->fsb >> 32, (uint32_t)t->fsb);
		return;
	}
	if (t->config & HPET_TN_INT_TYPE) {
		d->regs.status |= 1ull << n; /* the line follows in hpet_update_lines */
		return;
	}
	line = hpet_timer_line(d, n);
	if (line != NO_LINE)
		d->host->line_pulse(d->h, d->lines[line]);
}

/*
 * Process every match in (last, counter(now)]: move periodic accumulators
 * past the count and deliver interrupts, or with !deliver (the rate
 * bucket is empty) remember them for the next evaluation that delivers.
 * A timer missing several periods (a late host timer) delivers once.
 * Returns how many timers delivered.
 */
static unsigned hpet_evaluate(struct hpet *d, uint64_t now, bool deliver)
{
	uint64_t count, elapsed;
	uint32_t due = 0;
	unsigned n, fired = 0;

	if (!hpet_enabled(d))
		return 0;
	count = hpet_counter_at(d, now);
	elapsed = count - d->regs.last;
	for (n = 0; n < d->timers; n++) {
		struct hpet_timer_regs *t = &d->regs.t[n];
		uint64_t mask = hpet_timer_mask(t);
		uint64_t dist = hpet_ticks_to_match(t, d->regs.last);
		uint64_t period = t->period & mask;

		if (!elapsed || !dist || elapsed < dist)
			continue;
		if ((t->config & HPET_TN_PERIODIC) && period) {
			/* Matches at last+dist, +period, ...: move past count. */
			unsigned __int128 steps = (elapsed - dist) / period + 1;

			t->cmp = (uint64_t)((t->cmp + steps * period) & mask);
		}
		if (t->config & HPET_TN_INT_ENB)
			due |= 1u << n;
	}
	d->regs.last = count;
	due |= d->deferred;
	if (!deliver) {
		d->deferred = due;
		return 0;
	}
	d->deferred = 0;
	for (n = 0; n < d->timers; n++) {
		if ((due & (1u << n)) && (d->regs.t[n].config & HPET_TN_INT_ENB)) {
			hpet_fire(d, n);
			fired++;
		}
	}
	return fired;
}

/* Arm the host timer for the earliest match of a timer with INT_ENB. */
static void hpet_schedule(struct hpet *d, uint64_t now)
{
	uint64_t best = 0, count, since_base, target_ns;
	unsigned __int128 ns;
	unsigned n;
	int err;

	d->host->timer_cancel(d->h, d->timer);
	if (!hpet_enabled(d))
		return;
	count = hpet_counter_at(d, now);
	for (n = 0; n < d->timers; n++) {
		const struct hpet_timer_regs *t = &d->regs.t[n];
		uint64_t dist;

		if (!(t->config & HPET_TN_INT_ENB))
			continue;
		dist = hpet_ticks_to_match(t, count);
		if (dist && (!best || dist < best))
			best = dist;
	}
	if (!best) {
		/* nothing to match, but a delivery waits for the bucket's refill */
		if (d->deferred) {
			uint64_t at = d->rate_ns + HPET_MIN_TIMER_NS;

			err = d->host->timer_arm(d->h, d->timer, at > now ? at - now : 1, 0);
			if (err)
				d->host->log(d->h, VDEV_LOG_ERROR,
					     "cannot arm the comparator timer: %s", strerror(-err));
		}
		return;
	}
	/* The first nanosecond at which the counter reaches count + best. */
	since_base = count + best - d->regs.counter;
	ns = ((unsigned __int128)since_base * d->period_fs + FS_PER_NS - 1) / FS_PER_NS;
	if (ns > (unsigned __int128)(UINT64_MAX / 2) - d->base_ns)
		return; /* centuries away */
	target_ns = d->base_ns + (uint64_t)ns;
	if (d->rate_started && !d->rate_tokens && target_ns < d->rate_ns + HPET_MIN_TIMER_NS)
		target_ns = d->rate_ns + HPET_MIN_TIMER_NS; /* the next refill */
	err = d->host->timer_arm(d->h, d->timer, target_ns > now ? target_ns - now : 1, 0);
	if (err)
		d->host->log(d->h, VDEV_LOG_ERROR, "cannot arm the comparator timer: %s",
			     strerror(-err));
}

/* Refill the bucket of evaluations for the time gone by. */
static void hpet_rate_refill(struct hpet *d, uint64_t now)
{
	uint64_t gained;

	if (!d->rate_started) {
		d->rate_started = true;
		d->rate_tokens = HPET_BURST;
		d->rate_ns = now;
	}
	gained = (now - d->rate_ns) / HPET_MIN_TIMER_NS;
	if (gained >= HPET_BURST - d->rate_tokens) {
		d->rate_tokens = HPET_BURST;
		d->rate_ns = now;
	} else if (gained) {
		d->rate_tokens += (unsigned)gained;
		d->rate_ns += gained * HPET_MIN_TIMER_NS;
	}
}

/* One host timer run: refill, take one. */
static void hpet_rate_take(struct hpet *d, uint64_t now)
{
	hpet_rate_refill(d, now);
	if (d->rate_tokens)
		d->rate_tokens--;
}

/*
 * A register access brings the device up to date, but an evaluation that
 * delivers interrupts costs a token like a timer run: with the bucket
 * empty the matches wait for the timer run at the next refill, so a guest
 * polling the registers cannot raise interrupts faster than the floor.
 */
static void hpet_access_evaluate(struct hpet *d, uint64_t now)
{
	hpet_rate_refill(d, now);
	if (hpet_evaluate(d, now, d->rate_tokens != 0))
		d->rate_tokens--;
}

static void hpet_tick(void *dev, void *arg)
{
	struct hpet *d = dev;
	uint64_t now = d->host->clock_ns(d->h);

	(void)arg;
	hpet_rate_take(d, now);
	hpet_evaluate(d, now, true);
	hpet_update_lines(d);
	hpet_schedule(d, now);
}

/* ------------------------------------------------------------ registers */

static uint64_t hpet_cap(const struct hpet *d)
{
	return HPET_CAP_REV_ID | ((uint64_t)(d->timers - 1) << HPET_CAP_NUM_TIM_SHIFT) |
	       HPET_CAP_COUNT_SIZE | (d->legacy_cap ? HPET_CAP_LEG_RT : 0) | HPET_CAP_VENDOR |
	       (d->period_fs << HPET_CAP_PERIOD_SHIFT);
}

static uint64_t hpet_timer_config(const struct hpet *d, unsigned n)
{
	uint64_t route_cap = d->route_of[n] == NO_LINE ? 0 : 1ull << d->route_of[n];

	return d->regs.t[n].config | HPET_TN_CAPS | (route_cap << HPET_TN_ROUTE_CAP_SHIFT);
}

/* The 64-bit register at an 8-aligned offset. */
static uint64_t hpet_reg_read(const struct hpet *d, uint64_t reg, uint64_t now)
{
	unsigned n;

	switch (reg) {
	case HPET_REG_CAP:
		return hpet_cap(d);
	case HPET_REG_CONFIG:
		return d->regs.config;
	case HPET_REG_STATUS:
		return d->regs.status;
	case HPET_REG_COUNTER:
		return hpet_counter_at(d, now);
	}
	if (reg < HPET_REG_TIMER0)
		return 0;
	n = (unsigned)((reg - HPET_REG_TIMER0) / HPET_TIMER_SIZE);
	if (n >= d->timers)
		return 0;
	switch ((reg - HPET_REG_TIMER0) % HPET_TIMER_SIZE) {
	case HPET_TN_CONFIG:
		return hpet_timer_config(d, n);
	case HPET_TN_CMP:
		return d->regs.t[n].cmp & hpet_timer_mask(&d->regs.t[n]);
	case HPET_TN_FSB:
		return d->regs.t[n].fsb;
	}
	return 0;
}

static void hpet_write_config(struct hpet *d, uint64_t value, uint64_t now)
{
	uint64_t valid = HPET_CFG_ENABLE | (d->legacy_cap ? HPET_CFG_LEGACY : 0);
	uint64_t old = d->regs.config;

	value &= valid;
	if ((value & HPET_CFG_ENABLE) && !(old & HPET_CFG_ENABLE)) {
		d->base_ns = now;
		d->regs.last = d->regs.counter;
	} else if (!(value & HPET_CFG_ENABLE) && (old & HPET_CFG_ENABLE)) {
		d->regs.counter = hpet_counter_at(d, now); /* halt */
		d->regs.last = d->regs.counter;
	}
	d->regs.config = value;
}

static void hpet_write_timer_config(struct hpet *d, unsigned n, uint64_t value)
{
	struct hpet_timer_regs *t = &d->regs.t[n];
	uint64_t old = t->config;

	t->config = value & HPET_TN_WRITABLE;
	if (t->config & HPET_TN_32MODE) {
		t->cmp &= 0xffffffffull;
		t->period &= 0xffffffffull;
	}
	/* A timer leaving level mode (or going to FSB) drops its status. */
	if (((old & HPET_TN_INT_TYPE) && !(t->config & HPET_TN_INT_TYPE)) ||
	    (!(old & HPET_TN_FSB_EN) && (t->config & HPET_TN_FSB_EN)))
		d->regs.status &= ~(1ull << n);
}

static void hpet_write_cmp(struct hpet *d, unsigned n, uint64_t value, uint64_t written)
{
	struct hpet_timer_regs *t = &d->regs.t[n];
	bool periodic = t->config & HPET_TN_PERIODIC;

	written &= hpet_timer_mask(t);
	if (!periodic || (t->config & HPET_TN_VAL_SET))
		t->cmp = (t->cmp & ~written) | (value & written);
	if (periodic)
		t->period = (t->period & ~written) | (value & written);
	t->config &= ~HPET_TN_VAL_SET;
}

/* Write `value` to the bits `written` of the 64-bit register at reg. */
static void hpet_reg_write(struct hpet *d, uint64_t reg, uint64_t value, uint64_t written,
			   uint64_t now)
{
	uint64_t merged = (hpet_reg_read(d, reg, now) & ~written) | (value & written);
	unsigned n;

	switch (reg) {
	case HPET_REG_CAP:
		return;
	case HPET_REG_CONFIG:
		hpet_write_config(d, merged, now);
		return;
	case HPET_REG_STATUS:
		d->regs.status &= ~(value & written);
		return;
	case HPET_REG_COUNTER:
		if (hpet_enabled(d)) {
			d->host->log(d->h, VDEV_LOG_DEBUG,
				     "main counter write while enabled ignored");
			return;
		}
		d->regs.counter = merged;
		d->regs.last = merged;
		return;
	}
	if (reg < HPET_REG_TIMER0)
		return;
	n = (unsigned)((reg - HPET_REG_TIMER0) / HPET_TIMER_SIZE);
	if (n >= d->timers)
		return;
	switch ((reg - HPET_REG_TIMER0) % HPET_TIMER_SIZE) {
	case HPET_TN_CONFIG:
		hpet_write_timer_config(d, n, merged);
		break;
	case HPET_TN_CMP:
		hpet_write_cmp(d, n, value, written);
		break;
	case HPET_TN_FSB:
		d->regs.t[n].fsb = merged;
		break;
	}
}

static bool hpet_access_ok(const struct vdev_access *access)
{
	return (access->size == 4 || access->size == 8) && access->offset % access->size == 0;
}

static int hpet_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct hpet *d = dev;
	uint64_t now, v;

	if (!hpet_access_ok(access))
		return VDEV_ACCESS_BUS_ERROR;
	now = d->host->clock_ns(d->h);
	hpet_access_evaluate(d, now);
	v = hpet_reg_read(d, access->offset & ~7ull, now);
	if (access->size == 4)
		v = access->offset & 4 ? v >> 32 : v & 0xffffffffull;
	*value = v;
	hpet_update_lines(d);
	return 0;
}

static int hpet_write(void *dev, const struct vdev_access *access, uint64_t value)
{
	struct hpet *d = dev;
	uint64_t now, written = ~0ull;

	if (!hpet_access_ok(access))
		return VDEV_ACCESS_BUS_ERROR;
	now = d->host->clock_ns(d->h);
	hpet_access_evaluate(d, now);
	if (access->size == 4) {
		unsigned shift = access->offset & 4 ? 32 : 0;

		written = 0xffffffffull << shift;
		value = (value & 0xffffffffull) << shift;
	}
	hpet_reg_write(d, access->offset & ~7ull, value, written, now);
	hpet_update_lines(d);
	hpet_schedule(d, now);
	return 0;
}

/* ------------------------------------------------------------ lifecycle */

static void hpet_power_on(struct hpet *d)
{
	unsigned n;

	d->host->timer_cancel(d->h, d->timer);
	memset(&d->regs, 0, sizeof(d->regs));
	d->deferred = 0;
	for (n = 0; n < HPET_MAX_TIMERS; n++)
		d->regs.t[n].cmp = ~0ull;
	d->base_ns = 0;
	hpet_update_lines(d);
}

/*
 * No `intr`: wired as a PC's HPET. Timer 0 and 1 drive ISA IRQ 0 and 8
 * (what legacy replacement routes them to; `isa` reaches the 8259 and the
 * I/O APIC, IRQ 0 on pin 2), else I/O APIC pins 2 and 8 when there is no
 * ISA bus, else nothing but FSB. Said at info level: a user should not have
 * to guess. The host does not report a default it lacks as an error.
 */
static int hpet_default_lines(struct hpet *d)
{
	static const struct {
		const char *spec[2];
		unsigned route[2];
	} pc[] = {{{"isa:0", "isa:8"}, {0, 8}}, {{"ioapic:2", "ioapic:8"}, {2, 8}}};

	for (unsigned k = 0; k < sizeof(pc) / sizeof(pc[0]); k++) {
		struct vdev_line *line[2];

		if (d->host->intr_lookup(d->h, pc[k].spec[0], &line[0]) < 0 ||
		    d->host->intr_lookup(d->h, pc[k].spec[1], &line[1]) < 0)
			continue; /* a line taken is released with the instance */
		for (unsigned t = 0; t < 2; t++) {
			d->lines[d->line_count] = line[t];
			d->line_of[t] = (int)d->line_count++;
			d->route_of[t] = (int)pc[k].route[t];
		}
		d->host->log(d->h, VDEV_LOG_INFO,
			     "no intr given: PC defaults, timer 0 -> %s, timer 1 -> %s (also their "
			     "legacy replacement routes: IRQ0, IRQ8); other timers by FSB only",
			     pc[k].spec[0], pc[k].spec[1]);
		return 0;
	}
	d->host->log(d->h, VDEV_LOG_INFO,
		     "no intr given and no isa or ioapic controller: every timer delivers by FSB "
		     "(MSI) only");
	return 0;
}

/*
 * The `intr` entries, split at commas (`intr a:1,b:2` may reach us as one
 * text or as several), one per timer, looked up once per distinct text.
 */
static int hpet_setup_lines(struct hpet *d, const struct vdev_config *cfg)
{
	const char *specs[HPET_MAX_TIMERS];
	unsigned entries = 0, i, k;
	size_t total = 1;
	char *all, *save = NULL, *tok;
	int err = 0;

	for (i = 0; i < HPET_MAX_TIMERS; i++) {
		d->line_of[i] = NO_LINE;
		d->route_of[i] = NO_LINE;
	}
	for (i = 0; i < cfg->intr_count; i++)
		total += strlen(cfg->intrs[i]) + 1;
	all = calloc(1, total);
	if (!all)
		return -ENOMEM;
	for (i = 0; i < cfg->intr_count; i++) {
		strcat(all, cfg->intrs[i]);
		strcat(all, ",");
	}
	for (tok = strtok_r(all, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':'), *end = NULL;
		unsigned long num = 0;
		struct vdev_line *line;
		int found = NO_LINE;

		if (entries >= d->timers) {
			d->host->log(d->h, VDEV_LOG_ERROR,
				     "more intr entries than timers (%u): give one per timer",
				     d->timers);
			err = -EINVAL;
			break;
		}
		if (colon && colon[1])
			num = strtoul(colon + 1, &end, 0);
		if (!colon || !colon[1] || *end || num >= 32) {
			d->host->log(d->h, VDEV_LOG_ERROR,
				     "intr %s: expected CONTROLLER:LINE with LINE 0..31", tok);
			err = -EINVAL;
			break;
		}
		for (k = 0; k < entries; k++)
			if (!strcmp(specs[k], tok))
				found = d->line_of[k];
		if (found == NO_LINE) {
			err = d->host->intr_lookup(d->h, tok, &line);
			if (err) {
				d->host->log(d->h, VDEV_LOG_ERROR, "intr %s: %s", tok,
					     strerror(-err));
				break;
			}
			found = (int)d->line_count;
			d->lines[d->line_count++] = line;
		}
		d->line_of[entries] = found;
		d->route_of[entries] = (int)num;
		specs[entries++] = tok;
	}
	free(all);
	if (!err && cfg->intr_count == 0)
		return hpet_default_lines(d);
	if (!err && d->legacy_cap && entries < 2)
		d->host->log(
		    d->h, VDEV_LOG_INFO,
		    "legacy replacement has no IRQ8 line: give two intr entries (IRQ0, IRQ8)");
	return err;
}

static int hpet_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		       void **devp)
{
	const struct vdev_option_value *opt = cfg->options;
	uint64_t base = HPET_DEFAULT_BASE, freq;
	struct hpet *d;
	int err;

	if (cfg->option_count < HPET_OPT_COUNT)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	freq = opt[HPET_OPT_FREQUENCY].v.u;
	d->timers = (unsigned)opt[HPET_OPT_TIMERS].v.u;
	d->legacy_cap = !opt[HPET_OPT_LEGACY_FREE].v.b;
	if (freq < 10000000 || freq > 1000000000 || d->timers < 3 || d->timers > HPET_MAX_TIMERS) {
		host->log(h, VDEV_LOG_ERROR, "frequency or timers out of range");
		err = -EINVAL;
		goto fail;
	}
	d->period_fs = (FS_PER_S + freq / 2) / freq;
	d->length = HPET_REG_TIMER0 + (uint64_t)HPET_TIMER_SIZE * d->timers;
	if (d->length < HPET_MIN_LENGTH)
		d->length = HPET_MIN_LENGTH;
	if (cfg->loc_count > 1) {
		host->log(h, VDEV_LOG_ERROR, "takes one loc, %u given", cfg->loc_count);
		err = -EINVAL;
		goto fail;
	}
	if (cfg->loc_count == 1) {
		const struct vdev_loc *loc = &cfg->locs[0];

		if (loc->kind != VDEV_LOC_ADDR || loc->space != VDEV_SPACE_MMIO) {
			host->log(h, VDEV_LOG_ERROR, "loc must be a memory address (mem:)");
			err = -EINVAL;
			goto fail;
		}
		if (loc->length && loc->length != d->length) {
			host->log(h, VDEV_LOG_ERROR,
				  "loc length must be 0x%" PRIx64 " (or left out), not 0x%" PRIx64,
				  d->length, loc->length);
			err = -EINVAL;
			goto fail;
		}
		base = loc->base;
	}
	if (base % 0x400) {
		host->log(h, VDEV_LOG_ERROR, "loc 0x%" PRIx64 " is not 1 KiB aligned", base);
		err = -EINVAL;
		goto fail;
	}
	err = hpet_setup_lines(d, cfg);
	if (err)
		goto fail;
	err = host->timer_create(h, hpet_tick, NULL, &d->timer);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "cannot create a timer: %s", strerror(-err));
		goto fail;
	}
	err = host->region_add(h, VDEV_SPACE_MMIO, base, d->length, 0);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "cannot map registers at mem 0x%" PRIx64 ": %s", base,
			  strerror(-err));
		goto fail;
	}
	hpet_power_on(d);
	host->log(h, VDEV_LOG_INFO, "mem 0x%" PRIx64 ", %u timers, period %" PRIu64 " fs%s", base,
		  d->timers, d->period_fs, d->legacy_cap ? ", legacy replacement" : "");
	*devp = d;
	return 0;
fail:
	free(d);
	return err;
}

static void hpet_destroy(void *dev)
{
	struct hpet *d = dev;

	d->host->region_remove(d->h, 0);
	d->host->timer_destroy(d->h, d->timer);
	free(d);
}

static void hpet_reset(void *dev)
{
	hpet_power_on(dev);
}

/* ------------------------------------------------------------ state */

static void hpet_state(struct vdev_state *st, struct hpet_regs *r, unsigned timers, bool legacy_cap)
{
	uint64_t valid_cfg = HPET_CFG_ENABLE | (legacy_cap ? HPET_CFG_LEGACY : 0);
	uint64_t timer_bits = timers >= 64 ? ~0ull : (1ull << timers) - 1;
	unsigned n;

	vdev_state_u64(st, &r->config);
	vdev_state_u64(st, &r->status);
	vdev_state_u64(st, &r->counter);
	vdev_state_u64(st, &r->last);
	for (n = 0; n < timers; n++) {
		struct hpet_timer_regs *t = &r->t[n];

		vdev_state_u64(st, &t->config);
		vdev_state_u64(st, &t->cmp);
		vdev_state_u64(st, &t->period);
		vdev_state_u64(st, &t->fsb);
		if (vdev_state_restoring(st) &&
		    ((t->config & ~HPET_TN_WRITABLE) ||
		     ((t->config & HPET_TN_32MODE) && ((t->cmp | t->period) >> 32))))
			vdev_state_invalid(st);
	}
	if (vdev_state_restoring(st) &&
	    ((r->config & ~valid_cfg) || (r->status & ~timer_bits) || r->counter < r->last))
		vdev_state_invalid(st);
}

#define HPET_STATE_SIZE                                                                            \
	(VDEV_STATE_HEADER_SIZE(sizeof(HPET_NAME) - 1) + 4 * VDEV_STATE_SIZE_U64 +                 \
	 HPET_MAX_TIMERS * 4 * VDEV_STATE_SIZE_U64)

static ssize_t hpet_save(void *dev, void *buf, size_t cap)
{
	struct hpet *d = dev;
	struct hpet_regs r = d->regs;
	struct vdev_state st;

	/* The count now, so that restore continues from here. */
	r.counter = hpet_counter_at(d, d->host->clock_ns(d->h));
	if (vdev_state_save_begin(&st, buf, cap, HPET_NAME, HPET_STATE_VERSION) == 0)
		hpet_state(&st, &r, d->timers, d->legacy_cap);
	return vdev_state_save_end(&st);
}

static int hpet_restore(void *dev, const void *buf, size_t length)
{
	struct hpet *d = dev;
	struct hpet_regs r = d->regs;
	struct vdev_state st;
	uint64_t now;
	int err;

	if (vdev_state_restore_begin(&st, buf, length, HPET_NAME, HPET_STATE_VERSION) == 0)
		hpet_state(&st, &r, d->timers, d->legacy_cap);
	err = vdev_state_restore_end(&st);
	if (err) {
		d->host->log(d->h, VDEV_LOG_WARN, "refused saved state (%zu bytes)", length);
		return err;
	}
	now = d->host->clock_ns(d->h);
	d->regs = r;
	d->base_ns = now;
	hpet_evaluate(d, now, true); /* matches between last and the saved count */
	hpet_update_lines(d);
	hpet_schedule(d, now);
	return 0;
}

static int hpet_status(void *dev, char *buf, size_t cap)
{
	struct hpet *d = dev;
	int n;

	n = snprintf(buf, cap, "%s counter=0x%" PRIx64 " status=0x%" PRIx64 "%s",
		     hpet_enabled(d) ? "running" : "halted",
		     hpet_counter_at(d, d->host->clock_ns(d->h)), d->regs.status,
		     d->regs.config & HPET_CFG_LEGACY ? " legacy" : "");
	return n < 0 ? -EINVAL : 0;
}

static const struct vdev_ops hpet_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = hpet_create,
    .destroy = hpet_destroy,
    .read = hpet_read,
    .write = hpet_write,
    .reset = hpet_reset,
    .save = hpet_save,
    .restore = hpet_restore,
    .status = hpet_status,
};

static const struct vdev_descriptor hpet_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = HPET_NAME,
    .version = "1.0.0",
    .description = "IA-PC HPET timer block (64-bit counter, 3..32 comparators, FSB/MSI)",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZE(4) | VDEV_ACCESS_SIZE(8),
    .state_size = HPET_STATE_SIZE,
    .options = hpet_options,
    .option_count = HPET_OPT_COUNT,
    .ops = &hpet_ops,
};

VDEV_PLUGIN_ENTRY(hpet_descriptor)
