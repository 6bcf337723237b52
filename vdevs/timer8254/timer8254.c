/*
 * vdevs/timer8254/timer8254.c: the PC's Intel 8254 programmable interval
 * timer (three channels at io:0x40-0x43) and the timer-2 bits of system
 * control port B (io:0x61).
 *
 * Modelled (8254 datasheet): modes 0-5 (6 and 7 alias 2 and 3), binary and
 * BCD counting, LSB / MSB / LSB-then-MSB access with its flip-flops, the
 * counter latch command, the read-back command (count and status latches;
 * status = OUT, null count, RW, mode, BCD), null count (set by a control
 * word or a count write, cleared when the count reaches the counting
 * element), gate behaviour per mode (channel 2's gate is port 0x61 bit 0;
 * channels 0 and 1 have theirs tied high, as on a PC), initial counts
 * loaded on the CLK pulse after the write (so mode 0 OUT rises N+1 clocks
 * after the count is written), new counts in modes 2 and 3 taken at the end
 * of the current period (the datasheet's mode 3 takes them at the end of
 * the half-cycle; the whole period here keeps the phase simple).
 *
 * Time. The 1.193182 MHz input clock is not simulated: clock k happens at
 * host time ceil(k * 1e9 / 1193182) ns, every counter and OUT level is
 * computed from the clocks elapsed since the counting element was loaded.
 * Only channel 0's OUT drives an interrupt (`intr`, e.g. pic:0 or
 * myioapic:2), and only then is one host timer armed, for the next rising
 * edge of OUT (the edge an ISA controller latches). At that edge the line
 * is driven low then high, so a mode 2 or 4 strobe (OUT low one clock) and
 * a mode 3 square wave both give one edge per period; after every register
 * access the line is set to OUT's current level. Edges closer than
 * PIT_MIN_TIMER_NS apart, or missed while the host was late, merge into
 * one (the guest's clock catches up by reading the counter, as with a real
 * lost tick).
 *
 * Port 0x61: bit 0 timer 2 gate, bit 1 speaker data, bits 2-3 kept (parity
 * and channel-check enables), bit 4 the refresh toggle (flips every
 * 15.085 us of host time, which some BIOS delay loops count), bit 5 OUT2,
 * bits 6-7 read 0 (no NMI sources). The speaker is not heard; its tone is
 * logged at debug level.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/intr.h>
#include <vdev/vdev.h>
#include <vdev/state.h>

#define PIT_NAME	  "timer8254"
#define PIT_STATE_VERSION 1
#define PIT_HZ		  1193182ull
#define PIT_CHANNELS	  3
#define PIT_MIN_TIMER_NS  20000ull /* at most 50 000 interrupts per second */
#define REFRESH_HALF_NS	  15085ull

enum { REGION_PIT, REGION_PORTB };

/* Where the counting element is. */
enum pit_run {
	PIT_IDLE = 0, /* no count loaded, or waiting for a gate trigger */
	PIT_RUNNING,  /* counting since start_tick from value */
	PIT_PAUSED,   /* modes 0/4 with the gate low: counter frozen in ce */
};

/* One counter. Only fixed-width fields: all of it is saved. */
struct pit_channel {
	uint8_t mode; /* 0..5 */
	uint8_t bcd;
	uint8_t rw;	       /* 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t write_msb;     /* LSB-then-MSB write: the next byte is the MSB */
	uint8_t write_lsb;     /* the LSB held until the MSB arrives */
	uint8_t read_msb;      /* LSB-then-MSB read: the next byte is the MSB */
	uint8_t count_latched; /* a latched count is waiting to be read */
	uint8_t status_latched;
	uint8_t status;	  /* the latched status byte */
	uint8_t cr_valid; /* a count was written since the control word */
	uint8_t null_count;
	uint8_t run;	  /* enum pit_run */
	uint8_t out_idle; /* OUT while not running */
	uint8_t gate;
	uint8_t pending; /* modes 2/3: a new count waits for the period end */
	uint8_t tc_done; /* mode 0/1: OUT already high when paused */
	uint16_t latch;	 /* the latched count */
	uint16_t cr;	 /* the count register (0 = the maximum) */
	uint16_t ce;	 /* counter shown while not running */
	uint32_t value;	 /* the count being run, 1..65536 (binary) */
	uint32_t pending_value;
	uint64_t start_tick; /* the clock at which the counting element got value */
	uint64_t pending_tick;
};

struct pit {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *line; /* channel 0's OUT, or NULL */
	struct vdev_timer *timer;
	struct pit_channel ch[PIT_CHANNELS];
	uint8_t portb;	       /* port 0x61 bits 0-3 */
	uint8_t speaker_on;    /* last logged speaker state */
	uint64_t last_fire_ns; /* when the timer last ran (rate limit) */
	uint64_t due_ns;       /* the edge the host timer is armed for, 0 if none */
};

/* ------------------------------------------------------------------ time */

static uint64_t pit_tick_at(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

/* pit_tick_ns: host time of clock k (the first ns at which it happened). */
static uint64_t pit_tick_ns(uint64_t tick)
{
	unsigned __int128 num = (unsigned __int128)tick * 1000000000u;

	return (uint64_t)((num + PIT_HZ - 1) / PIT_HZ);
}

static uint64_t pit_now_tick(const struct pit *p)
{
	return pit_tick_at(p->host->clock_ns(p->h));
}

/* ------------------------------------------------------------- counting */

static uint32_t pit_modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

/* pit_count_of: the count register as a number of clocks (0 = maximum). */
static uint32_t pit_count_of(const struct pit_channel *c)
{
	uint32_t v = c->cr;

	if (c->bcd)
		v = (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 + (v >> 4 & 0xf) * 10 + (v & 0xf);
	return v ? v : pit_modulus(c);
}

static uint16_t pit_to_reg(const struct pit_channel *c, uint32_t v)
{
	v %= pit_modulus(c);
	if (!c->bcd)
		return (uint16_t)v;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

/* pit_sync: apply what happened up to clock t (a pending reload, null count). */
static void pit_sync(struct pit_channel *c, uint64_t t)
{
	if (c->run != PIT_RUNNING)
		return;
	if (c->pending && t >= c->pending_tick) {
		c->start_tick = c->pending_tick;
		c->value = c->pending_value;
		c->pending = 0;
	}
	if (!c->pending && t >= c->start_tick)
		c->null_count = 0;
}

/* pit_counter: the counting element at clock t, binary. */
static uint32_t pit_counter_bin(const struct pit_channel *c, uint64_t t)
{
	uint64_t d;
	uint32_t n = c->value, m = pit_modulus(c);

	d = t - c->start_tick; /* callers check RUNNING and t >= start_tick */
	switch (c->mode) {
	case 2:
		return (uint32_t)(n - d % n) % m;
	case 3:
		return (uint32_t)((n - (2 * d) % n) & 0x1fffe) % m;
	default: /* 0, 1, 4, 5: count down, wrapping after terminal count */
		return (uint32_t)((n + m - d % m) % m);
	}
}

static uint16_t pit_counter(const struct pit_channel *c, uint64_t t)
{
	if (c->run != PIT_RUNNING || t < c->start_tick)
		return c->ce;
	return pit_to_reg(c, pit_counter_bin(c, t));
}

static int pit_out(const struct pit_channel *c, uint64_t t)
{
	uint64_t d, n = c->value;

	if (c->run == PIT_PAUSED)
		return c->mode == 0 ? c->tc_done : 1;
	if (c->run != PIT_RUNNING || t < c->start_tick)
		return c->out_idle;
	d = t - c->start_tick;
	switch (c->mode) {
	case 0:
	case 1:
		return c->tc_done || d >= n;
	case 2:
		return d % n != n - 1;
	case 3:
		return d % n < (n + 1) / 2;
	default: /* 4, 5: low for the one clock at terminal count */
		return c->tc_done || d != n;
	}
}

/*
 * pit_next_rise: the first clock > t at which OUT rises, or 0 when it
 * never will without a register write or a gate change.
 */
static uint64_t pit_next_rise(const struct pit_channel *c, uint64_t t)
{
	uint64_t s = c->start_tick, n = c->value, k;

	if (c->run != PIT_RUNNING)
		return 0;
	if (c->pending && (c->mode == 2 || c->mode == 3) && c->pending_tick > t) {
		/* The current period ends at pending_tick: a rise there. */
		if (t < s)
			return s + n <= c->pending_tick ? s + n : c->pending_tick;
		k = (t - s) / n + 1;
		return s + k * n < c->pending_tick ? s + k * n : c->pending_tick;
	}
	if (c->tc_done && c->mode != 2 && c->mode != 3)
		return 0; /* one-shot modes: terminal count already passed */
	switch (c->mode) {
	case 0:
	case 1:
		return t < s + n ? s + n : 0;
	case 2:
	case 3:
		if (t < s)
			return s + n;
		k = (t - s) / n + 1;
		return s + k * n;
	default:
		return t < s + n + 1 ? s + n + 1 : 0;
	}
}

/* pit_start: load the counting element on the clock after t. */
static void pit_start(struct pit_channel *c, uint64_t t, uint32_t value)
{
	c->run = PIT_RUNNING;
	c->start_tick = t + 1;
	c->value = value;
	c->pending = 0;
	c->tc_done = 0;
}

/* pit_tc_passed: has a one-shot count reached its terminal count by clock t? */
static int pit_tc_passed(const struct pit_channel *c, uint64_t t)
{
	if (c->tc_done)
		return 1;
	return c->run == PIT_RUNNING && t >= c->start_tick && t - c->start_tick >= c->value;
}

/* pit_stop: leave RUNNING at clock t, keeping the counter and OUT it had. */
static void pit_stop(struct pit_channel *c, uint64_t t, enum pit_run run, int out)
{
	c->tc_done = (uint8_t)pit_tc_passed(c, t);
	c->ce = pit_counter(c, t);
	c->out_idle = (uint8_t)out;
	c->run = (uint8_t)run;
	c->pending = 0;
}

/* --------------------------------------------------------------- output */

static void pit_update(struct pit *p)
{
	uint64_t now, t, rise;
	struct pit_channel *c0 = &p->ch[0];
	int speaker;

	now = p->host->clock_ns(p->h);
	t = pit_tick_at(now);
	for (int i = 0; i < PIT_CHANNELS; i++)
		pit_sync(&p->ch[i], t);
	speaker = (p->portb & 3) == 3;
	if (speaker != p->speaker_on) {
		p->speaker_on = (uint8_t)speaker;
		if (speaker && p->ch[2].run == PIT_RUNNING)
			p->host->log(p->h, VDEV_LOG_DEBUG, "speaker on, mode %u, %llu Hz",
				     p->ch[2].mode, (unsigned long long)(PIT_HZ / p->ch[2].value));
		else
			p->host->log(p->h, VDEV_LOG_DEBUG, "speaker %s", speaker ? "on" : "off");
	}
	if (!p->line)
		return;
	if (p->due_ns && p->due_ns <= now) {
		/*
		 * An edge fell due but its timer has not run yet (the guest's
		 * access came first): give it now, since re-arming below for the
		 * next edge would drop it and a guest polling the counter would
		 * lose ticks.
		 */
		p->last_fire_ns = now;
		p->host->line_set(p->h, p->line, 0);
	}
	p->due_ns = 0;
	p->host->line_set(p->h, p->line, pit_out(c0, t));
	rise = pit_next_rise(c0, t);
	if (rise) {
		uint64_t at = pit_tick_ns(rise);

		/* Rate limit: never sooner than PIT_MIN_TIMER_NS after the last run. */
		if (p->last_fire_ns && at < p->last_fire_ns + PIT_MIN_TIMER_NS)
			at = p->last_fire_ns + PIT_MIN_TIMER_NS;
		p->due_ns = at;
		p->host->timer_arm(p->h, p->timer, at > now ? at - now : 0, 0);
	} else {
		p->host->timer_cancel(p->h, p->timer);
	}
}

/* pit_timer_fired: a rising edge of channel 0's OUT is due (or passed). */
static void pit_timer_fired(void *dev, void *arg)
{
	struct pit *p = dev;

	p->last_fire_ns = p->host->clock_ns(p->h);
	p->due_ns = 0; /* this is the edge: pit_update must not give it twice */
	/* The edge: low (if the line still shows the last level) then high. */
	p->host->line_set(p->h, p->line, 0);
	p->host->line_set(p->h, p->line, 1);
	pit_update(p);
}

/* ------------------------------------------------------------- registers */

static void pit_latch_count(struct pit_channel *c, uint64_t t)
{
	if (c->count_latched)
		return; /* a second latch before the read is ignored */
	c->latch = pit_counter(c, t);
	c->count_latched = 1;
	c->read_msb = 0;
}

static void pit_latch_status(struct pit_channel *c, uint64_t t)
{
	if (c->status_latched)
		return;
	c->status =
	    (uint8_t)(pit_out(c, t) << 7 | c->null_count << 6 | c->rw << 4 | c->mode << 1 | c->bcd);
	c->status_latched = 1;
}

static void pit_control(struct pit *p, uint8_t value, uint64_t t)
{
	unsigned sc = value >> 6, rw = value >> 4 & 3;
	struct pit_channel *c;

	if (sc == 3) { /* read-back: bit 5 = 0 latch count, bit 4 = 0 latch status */
		for (int i = 0; i < PIT_CHANNELS; i++) {
			if (!(value & (2u << i)))
				continue;
			if (!(value & 0x20))
				pit_latch_count(&p->ch[i], t);
			if (!(value & 0x10))
				pit_latch_status(&p->ch[i], t);
		}
		return;
	}
	c = &p->ch[sc];
	if (rw == 0) {
		pit_latch_count(c, t);
		return;
	}
	c->ce = pit_counter(c, t);
	c->rw = (uint8_t)rw;
	c->mode = (uint8_t)(value >> 1 & 7);
	if (c->mode > 5)
		c->mode -= 4; /* 6 and 7 are 2 and 3 */
	c->bcd = value & 1;
	c->write_msb = 0;
	c->read_msb = 0;
	c->cr_valid = 0;
	c->null_count = 1;
	c->run = PIT_IDLE;
	c->pending = 0;
	c->tc_done = 0;
	c->out_idle = c->mode == 0 ? 0 : 1; /* datasheet: initial OUT per mode */
}

/* pit_count_written: a complete count reached the count register at clock t. */
static void pit_count_written(struct pit_channel *c, uint64_t t)
{
	uint32_t n = pit_count_of(c);
	uint64_t s, k;

	c->cr_valid = 1;
	c->null_count = 1;
	switch (c->mode) {
	case 0:
	case 4:
		if (c->gate) {
			pit_start(c, t, n);
		} else {
			c->run = PIT_PAUSED;
			c->ce = pit_to_reg(c, n);
			c->tc_done = 0;
		}
		if (c->mode == 0)
			c->out_idle = 0;
		break;
	case 1:
	case 5:
		break; /* taken at the next gate trigger */
	default:       /* 2, 3 */
		if (c->run == PIT_RUNNING && t >= c->start_tick) {
			s = c->start_tick;
			k = (t - s) / c->value + 1;
			c->pending = 1;
			c->pending_tick = s + k * c->value;
			c->pending_value = n;
		} else if (c->gate) {
			pit_start(c, t, n);
		}
		break;
	}
}

static void pit_data_write(struct pit_channel *c, uint8_t value, uint64_t t)
{
	switch (c->rw) {
	case 1:
		c->cr = value;
		break;
	case 2:
		c->cr = (uint16_t)(value << 8);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = value;
			c->write_msb = 1;
			/* Mode 0: the first byte stops counting and drops OUT. */
			if (c->mode == 0 && c->run == PIT_RUNNING)
				pit_stop(c, t, PIT_IDLE, 0);
			else if (c->mode == 0)
				c->out_idle = 0;
			return;
		}
		c->write_msb = 0;
		c->cr = (uint16_t)(c->write_lsb | value << 8);
		break;
	}
	pit_count_written(c, t);
}

static uint8_t pit_data_read(struct pit_channel *c, uint64_t t)
{
	uint16_t v;
	uint8_t byte;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	v = c->count_latched ? c->latch : pit_counter(c, t);
	switch (c->rw) {
	case 1:
		byte = (uint8_t)v;
		c->count_latched = 0;
		break;
	case 2:
		byte = (uint8_t)(v >> 8);
		c->count_latched = 0;
		break;
	default:
		byte = c->read_msb ? (uint8_t)(v >> 8) : (uint8_t)v;
		if (c->read_msb)
			c->count_latched = 0;
		c->read_msb ^= 1;
		break;
	}
	return byte;
}

/* pit_gate: channel 2's gate changed at clock t. */
static void pit_gate(struct pit_channel *c, int gate, uint64_t t)
{
	if (gate == c->gate)
		return;
	c->gate = (uint8_t)gate;
	if (gate) {
		switch (c->mode) {
		case 0:
		case 4:
			if (c->run == PIT_PAUSED) { /* counting resumes where it stopped */
				uint32_t v = c->ce;
				uint8_t done = c->tc_done;

				if (c->bcd)
					v = (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 +
					    (v >> 4 & 0xf) * 10 + (v & 0xf);
				pit_start(c, t, v ? v : pit_modulus(c));
				c->tc_done = done;
			}
			break;
		default: /* 1, 5 trigger; 2, 3 restart */
			if (c->cr_valid) {
				pit_start(c, t, pit_count_of(c));
				if (c->mode == 1)
					c->out_idle = 1;
			}
			break;
		}
		return;
	}
	if (c->run != PIT_RUNNING)
		return;
	switch (c->mode) {
	case 0:
	case 4:
		pit_stop(c, t, PIT_PAUSED, pit_out(c, t));
		break;
	case 2:
	case 3:
		pit_stop(c, t, PIT_IDLE, 1); /* gate low forces OUT high */
		break;
	default:
		break; /* modes 1 and 5 ignore a falling gate */
	}
}

static uint8_t pit_portb_read(const struct pit *p, uint64_t now)
{
	uint64_t t = pit_tick_at(now);
	uint8_t v = p->portb & 0x0f;

	if ((now / REFRESH_HALF_NS) & 1)
		v |= 0x10;
	if (pit_out(&p->ch[2], t))
		v |= 0x20;
	return v;
}

static int pit_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct pit *p = dev;
	uint64_t now = p->host->clock_ns(p->h), t = pit_tick_at(now);

	for (int i = 0; i < PIT_CHANNELS; i++)
		pit_sync(&p->ch[i], t);
	if (a->region == REGION_PORTB)
		*value = pit_portb_read(p, now);
	else if (a->offset < 3)
		*value = pit_data_read(&p->ch[a->offset], t);
	else
		*value = 0; /* the control word register is write-only */
	pit_update(p);
	return 0;
}

static int pit_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct pit *p = dev;
	uint64_t t = pit_now_tick(p);

	for (int i = 0; i < PIT_CHANNELS; i++)
		pit_sync(&p->ch[i], t);
	if (a->region == REGION_PORTB) {
		p->portb = (uint8_t)(value & 0x0f);
		pit_gate(&p->ch[2], value & 1, t);
	} else if (a->offset < 3) {
		pit_data_write(&p->ch[a->offset], (uint8_t)value, t);
	} else {
		pit_control(p, (uint8_t)value, t);
	}
	pit_update(p);
	return 0;
}

/* ------------------------------------------------------------- lifecycle */

/* Power-on: no counts, every channel idle (mode 0 bits, OUT low), speaker off. */
static void pit_reset(void *dev)
{
	struct pit *p = dev;

	memset(p->ch, 0, sizeof(p->ch));
	for (int i = 0; i < PIT_CHANNELS; i++) {
		p->ch[i].rw = 3;
		p->ch[i].null_count = 1; /* no count written yet */
		p->ch[i].gate = i < 2;	 /* channel 2's gate follows port 0x61 */
	}
	p->portb = 0;
	p->speaker_on = 0;
	p->last_fire_ns = 0;
	p->due_ns = 0;
	if (p->line)
		p->host->line_set(p->h, p->line, 0);
	p->host->timer_cancel(p->h, p->timer);
}

static int pit_claim(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		     unsigned index, uint64_t base, uint64_t length, uint32_t id)
{
	enum vdev_space space = VDEV_SPACE_PIO;
	int rc;

	if (index < cfg->loc_count) {
		const struct vdev_loc *loc = &cfg->locs[index];

		if (loc->kind != VDEV_LOC_ADDR || (loc->length && loc->length != length)) {
			host->log(h, VDEV_LOG_ERROR, "loc %u must be an address of length %llu",
				  index + 1, (unsigned long long)length);
			return -EINVAL;
		}
		space = loc->space;
		base = loc->base;
	}
	rc = host->region_add(h, space, base, length, id);
	if (rc < 0)
		host->log(h, VDEV_LOG_ERROR, "cannot claim 0x%llx+%llu: %d",
			  (unsigned long long)base, (unsigned long long)length, rc);
	return rc;
}

static int pit_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **devp)
{
	struct pit *p;
	int rc;

	if (cfg->loc_count > 2) {
		host->log(h, VDEV_LOG_ERROR, "takes up to two loc (timer, port B), %u given",
			  cfg->loc_count);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->host = host;
	p->h = h;
	/* channel 0's OUT; several intr entries all hear it (pic:0,ioapic:2) */
	if (cfg->intr_count) {
		rc = vdev_intr_lookup_all(host, h, cfg, &p->line);
		if (rc < 0) {
			host->log(h, VDEV_LOG_ERROR, "cannot find interrupt line %s: %d",
				  cfg->intrs[0], rc);
			goto fail;
		}
	}
	rc = host->timer_create(h, pit_timer_fired, NULL, &p->timer);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot create a timer: %d", rc);
		goto fail;
	}
	rc = pit_claim(host, h, cfg, 0, 0x40, 4, REGION_PIT);
	if (rc == 0)
		rc = pit_claim(host, h, cfg, 1, 0x61, 1, REGION_PORTB);
	if (rc < 0)
		goto fail;
	pit_reset(p);
	*devp = p;
	return 0;
fail:
	free(p); /* the host undoes the regions, lines and timer taken */
	return rc;
}

static void pit_destroy(void *dev)
{
	free(dev);
}

/*
 * pit_state: clocks are saved relative to the clock at save time (as u64,
 * two's complement), so a restore on a host whose clock started elsewhere
 * continues the counts where they were.
 */
static void pit_state(struct vdev_state *st, struct pit *p, uint64_t now_tick)
{
	for (int i = 0; i < PIT_CHANNELS; i++) {
		struct pit_channel *c = &p->ch[i];
		uint8_t *bytes[] = {
		    &c->mode,
		    &c->bcd,
		    &c->rw,
		    &c->write_msb,
		    &c->write_lsb,
		    &c->read_msb,
		    &c->count_latched,
		    &c->status_latched,
		    &c->status,
		    &c->cr_valid,
		    &c->null_count,
		    &c->run,
		    &c->out_idle,
		    &c->gate,
		    &c->pending,
		    &c->tc_done,
		};
		uint64_t start = now_tick - c->start_tick, pend = now_tick - c->pending_tick;

		for (size_t k = 0; k < sizeof(bytes) / sizeof(bytes[0]); k++)
			vdev_state_u8(st, bytes[k]);
		vdev_state_u16(st, &c->latch);
		vdev_state_u16(st, &c->cr);
		vdev_state_u16(st, &c->ce);
		vdev_state_u32(st, &c->value);
		vdev_state_u32(st, &c->pending_value);
		vdev_state_u64(st, &start);
		vdev_state_u64(st, &pend);
		if (!vdev_state_restoring(st))
			continue;
		c->start_tick = now_tick - start;
		c->pending_tick = now_tick - pend;
		if (c->mode > 5 || c->bcd > 1 || c->rw < 1 || c->rw > 3 || c->write_msb > 1 ||
		    c->read_msb > 1 || c->count_latched > 1 || c->status_latched > 1 ||
		    c->cr_valid > 1 || c->null_count > 1 || c->run > PIT_PAUSED ||
		    c->out_idle > 1 || c->gate > 1 || c->pending > 1 || c->tc_done > 1 ||
		    (c->run == PIT_RUNNING && (c->value < 1 || c->value > 65536)) ||
		    (c->pending && (c->pending_value < 1 || c->pending_value > 65536)) ||
		    (i < 2 && !c->gate) ||
		    /* loaded at most one clock ahead; a new count within a period */
		    (c->run == PIT_RUNNING && (int64_t)start < -1) ||
		    (c->pending && (int64_t)pend < -65536))
			vdev_state_invalid(st);
	}
	vdev_state_u8(st, &p->portb);
	if (vdev_state_restoring(st) && (p->portb & ~0x0f || (p->portb & 1) != p->ch[2].gate))
		vdev_state_invalid(st);
}

static ssize_t pit_save(void *dev, void *buf, size_t cap)
{
	struct pit *p = dev;
	struct vdev_state st;

	uint64_t t = pit_now_tick(p);

	/*
	 * Bring every channel to the current clock first (what restore's
	 * pit_update does too), so that the same device state always saves as
	 * the same bytes.
	 */
	for (int i = 0; i < PIT_CHANNELS; i++)
		pit_sync(&p->ch[i], t);
	vdev_state_save_begin(&st, buf, cap, PIT_NAME, PIT_STATE_VERSION);
	pit_state(&st, p, t);
	return vdev_state_save_end(&st);
}

static int pit_restore(void *dev, const void *buf, size_t length)
{
	struct pit *p = dev, scratch = *p;
	struct vdev_state st;
	int rc;

	vdev_state_restore_begin(&st, buf, length, PIT_NAME, PIT_STATE_VERSION);
	pit_state(&st, &scratch, pit_now_tick(p));
	rc = vdev_state_restore_end(&st);
	if (rc < 0)
		return rc;
	*p = scratch;
	pit_update(p);
	return 0;
}

static int pit_status(void *dev, char *buf, size_t cap)
{
	struct pit *p = dev;
	uint64_t t = pit_now_tick(p);

	return snprintf(
	    buf, cap, "ch0 mode %u count %u out %d; ch1 mode %u; ch2 mode %u gate %u out %d",
	    p->ch[0].mode, p->ch[0].run == PIT_RUNNING ? p->ch[0].value : 0, pit_out(&p->ch[0], t),
	    p->ch[1].mode, p->ch[2].mode, p->ch[2].gate, pit_out(&p->ch[2], t));
}

static const struct vdev_ops pit_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = pit_create,
    .destroy = pit_destroy,
    .read = pit_read,
    .write = pit_write,
    .reset = pit_reset,
    .save = pit_save,
    .restore = pit_restore,
    .status = pit_status,
};

#define PIT_CHANNEL_STATE                                                                          \
	(16 * VDEV_STATE_SIZE_U8 + 3 * VDEV_STATE_SIZE_U16 + 2 * VDEV_STATE_SIZE_U32 +             \
	 2 * VDEV_STATE_SIZE_U64)

static const struct vdev_descriptor pit_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = PIT_NAME,
    .version = "1.0.0",
    .description = "Intel 8254 interval timer (io:0x40) with port B (io:0x61)",
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(PIT_NAME) - 1) + PIT_CHANNELS * PIT_CHANNEL_STATE +
		  VDEV_STATE_SIZE_U8,
    .ops = &pit_ops,
};

VDEV_PLUGIN_ENTRY(pit_descriptor)
