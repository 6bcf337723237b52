/*
 * vdev-template/src/ticker.c: vdev-ticker, a periodic timer device.
 *
 * This is the SDK's template: copy it, rename it, replace the registers.
 * It shows every part of the plugin contract (sdk/include/vdev/vdev.h) in
 * one small device: an option schema, a register file with a
 * write-1-to-clear status register, an interrupt line found by name,
 * a host timer, reset, save/restore through vdev/state.h, and logging.
 *
 *	vdev ticker loc 0x10000 intr pic:3 period 500 irq-mode level
 *
 * Registers (32-bit accesses only, offsets from `loc`):
 *	0x00 ID       RO   0x4b434954 ("TICK" in little-endian bytes)
 *	0x04 CTRL     RW   bit 0 ENABLE: count, one tick every PERIOD us
 *	0x08 PERIOD   RW   tick period in microseconds, 1..10000000;
 *	                   other values are ignored. Re-arms when enabled.
 *	                   A period under TICKER_MIN_PERIOD_US (10) ticks every
 *	                   10 us: like the 8254's minimum interval, it keeps a
 *	                   guest from asking the host for a million timer runs
 *	                   a second (at most 100 000 ticks a second).
 *	0x0c COUNTER  RW   ticks so far; a write loads it
 *	0x10 STATUS   W1C  bit 0 TICK: a tick happened; bit 1 OVERRUN: a tick
 *	                   happened while TICK was still set
 *	0x14 IEN      RW   which STATUS bits drive the interrupt line
 *	0x18..0x1f         reserved: read 0, writes ignored
 * Unaligned accesses are refused (bus error).
 *
 * Interrupt: with irq-mode level (the default) the line's level is
 * (STATUS & IEN) != 0, recomputed after every register access and tick;
 * with irq-mode edge the line gets one pulse each time (STATUS & IEN)
 * becomes non-zero. `intr` is required: the line is looked up by name
 * ("controller:line") when the instance is created.
 *
 * Threads: the descriptor does not set VDEV_F_SELF_LOCKED, so the host
 * serialises read, write and the timer callback of an instance; nothing
 * here locks, and nothing blocks.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/state.h>
#include <vdev/vdev.h>

#define TICKER_NAME          "ticker"
#define TICKER_VERSION       "1.0.0"
#define TICKER_STATE_VERSION 1 /* bump when ticker_state()'s field list changes */

#define TICKER_REG_ID      0x00
#define TICKER_REG_CTRL    0x04
#define TICKER_REG_PERIOD  0x08
#define TICKER_REG_COUNTER 0x0c
#define TICKER_REG_STATUS  0x10
#define TICKER_REG_IEN     0x14
#define TICKER_REGION_SIZE 0x20

#define TICKER_ID_VALUE      0x4b434954u
#define TICKER_CTRL_ENABLE   (1u << 0)
#define TICKER_STATUS_TICK   (1u << 0)
#define TICKER_STATUS_OVERRUN (1u << 1)
#define TICKER_STATUS_ALL    (TICKER_STATUS_TICK | TICKER_STATUS_OVERRUN)
#define TICKER_PERIOD_MAX_US 10000000u
#define TICKER_MIN_PERIOD_US 10u /* the effective period's floor (see PERIOD) */

#define NS_PER_US 1000u

/* ------------------------------------------------------------ the schema */

/* Indexes into the option schema and into vdev_config.options. */
enum ticker_option {
	TICKER_OPT_PERIOD,
	TICKER_OPT_START,
	TICKER_OPT_IRQ_MODE,
	TICKER_OPT_COUNT
};

enum ticker_irq_mode { TICKER_IRQ_LEVEL, TICKER_IRQ_EDGE };
static const char *const ticker_irq_modes[] = {"level", "edge", NULL};

static const struct vdev_option_spec ticker_options[TICKER_OPT_COUNT] = {
	[TICKER_OPT_PERIOD] = {
		.name = "period",
		.type = VDEV_OPT_UINT,
		.flags = VDEV_OPTF_RANGE,
		.default_value = "1000",
		.help = "tick period in microseconds after reset (the PERIOD register)",
		.min = 1,
		.max = TICKER_PERIOD_MAX_US,
	},
	[TICKER_OPT_START] = {
		.name = "start",
		.type = VDEV_OPT_BOOL,
		.flags = VDEV_OPTF_NOARG,
		.default_value = "off",
		.help = "count from reset on, without the guest setting CTRL.ENABLE",
	},
	[TICKER_OPT_IRQ_MODE] = {
		.name = "irq-mode",
		.type = VDEV_OPT_ENUM,
		.default_value = "level",
		.help = "level: the line follows STATUS & IEN; edge: one pulse per new event",
		.choices = ticker_irq_modes,
	},
};

/* ------------------------------------------------------------- instance */

/* Everything save() keeps: the guest-visible registers and the timer phase. */
struct ticker_regs {
	uint32_t ctrl;
	uint32_t period_us;
	uint32_t counter;
	uint32_t status;
	uint32_t ien;
	uint64_t remaining_ns; /* until the next tick, while enabled */
};

/* The period the timer runs at: PERIOD, but never under the floor. */
static uint64_t ticker_period_ns(const struct ticker_regs *r)
{
	uint32_t us = r->period_us < TICKER_MIN_PERIOD_US ? TICKER_MIN_PERIOD_US : r->period_us;

	return (uint64_t)us * NS_PER_US;
}

struct ticker {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *line; /* from `intr`, valid until destroy */
	struct vdev_timer *timer;

	/* From the options; what reset returns to. */
	uint32_t reset_period_us;
	bool reset_enabled;
	enum ticker_irq_mode irq_mode;

	struct ticker_regs regs;
	uint64_t deadline_ns; /* host clock of the next tick, while enabled */
	bool line_level;      /* the condition last signalled */
};

/*
 * The one description of the saved state, for save and restore alike.
 * Restoring, it also checks what the registers could never hold, so that
 * a crafted blob cannot put the device in an impossible state.
 */
static void ticker_state(struct vdev_state *st, struct ticker_regs *r)
{
	vdev_state_u32(st, &r->ctrl);
	vdev_state_u32(st, &r->period_us);
	vdev_state_u32(st, &r->counter);
	vdev_state_u32(st, &r->status);
	vdev_state_u32(st, &r->ien);
	vdev_state_u64(st, &r->remaining_ns);
	if (vdev_state_restoring(st) &&
	    ((r->ctrl & ~TICKER_CTRL_ENABLE) || r->period_us == 0 ||
	     r->period_us > TICKER_PERIOD_MAX_US || (r->status & ~TICKER_STATUS_ALL) ||
	     (r->ien & ~TICKER_STATUS_ALL) ||
	     r->remaining_ns > ticker_period_ns(r)))
		vdev_state_invalid(st);
}

#define TICKER_STATE_SIZE                                                                          \
	(VDEV_STATE_HEADER_SIZE(sizeof(TICKER_NAME) - 1) + 5 * VDEV_STATE_SIZE_U32 +               \
	 VDEV_STATE_SIZE_U64)

/*
 * Drive the interrupt line from the registers. Called after every register
 * access, tick, reset and restore: the line is a function of the state,
 * never something a code path remembers to raise. The host filters repeated
 * levels, but the cached level also gives edge mode its edge.
 */
static void ticker_update_line(struct ticker *t)
{
	bool level = (t->regs.status & t->regs.ien) != 0;

	if (t->irq_mode == TICKER_IRQ_LEVEL)
		t->host->line_set(t->h, t->line, level);
	else if (level && !t->line_level)
		t->host->line_pulse(t->h, t->line);
	t->line_level = level;
}

/* Start counting: first tick after `delay_ns`, then every period. */
static void ticker_arm(struct ticker *t, uint64_t delay_ns)
{
	uint64_t period_ns = ticker_period_ns(&t->regs);
	int err;

	t->deadline_ns = t->host->clock_ns(t->h) + delay_ns;
	err = t->host->timer_arm(t->h, t->timer, delay_ns, period_ns);
	if (err)
		t->host->log(t->h, VDEV_LOG_ERROR, "cannot arm the tick timer: %s",
			     strerror(-err));
}

static void ticker_stop(struct ticker *t)
{
	t->host->timer_cancel(t->h, t->timer);
}

/* The timer callback (event-loop thread, serialised with read/write). */
static void ticker_tick(void *dev, void *arg)
{
	struct ticker *t = dev;

	/* timer_cancel guarantees no call starts after it returns; this only
	 * guards against a host that breaks that promise. */
	if (!(t->regs.ctrl & TICKER_CTRL_ENABLE))
		return;
	t->regs.counter++;
	if (t->regs.status & TICKER_STATUS_TICK)
		t->regs.status |= TICKER_STATUS_OVERRUN;
	t->regs.status |= TICKER_STATUS_TICK;
	t->deadline_ns += ticker_period_ns(&t->regs);
	ticker_update_line(t);
}

/* Power-on state: what create() starts from and reset() returns to. */
static void ticker_power_on(struct ticker *t)
{
	ticker_stop(t);
	memset(&t->regs, 0, sizeof(t->regs));
	t->regs.period_us = t->reset_period_us;
	if (t->reset_enabled)
		t->regs.ctrl = TICKER_CTRL_ENABLE;
	ticker_update_line(t);
	if (t->regs.ctrl & TICKER_CTRL_ENABLE)
		ticker_arm(t, ticker_period_ns(&t->regs));
}

/* ----------------------------------------------------------------- ops */

static int ticker_check_config(struct ticker *t, const struct vdev_config *cfg,
			       const struct vdev_loc **loc)
{
	if (!VDEV_CONFIG_HAS(cfg, option_count) || cfg->option_count < TICKER_OPT_COUNT) {
		t->host->log(t->h, VDEV_LOG_ERROR, "host passed an incomplete configuration");
		return -EINVAL;
	}
	if (cfg->loc_count != 1) {
		t->host->log(t->h, VDEV_LOG_ERROR, "needs exactly one loc, got %u",
			     cfg->loc_count);
		return -EINVAL;
	}
	*loc = &cfg->locs[0];
	if ((*loc)->kind != VDEV_LOC_ADDR ||
	    ((*loc)->space != VDEV_SPACE_MMIO && (*loc)->space != VDEV_SPACE_PIO)) {
		t->host->log(t->h, VDEV_LOG_ERROR, "loc must be a memory or I/O address");
		return -EINVAL;
	}
	if ((*loc)->length != 0 && (*loc)->length != TICKER_REGION_SIZE) {
		t->host->log(t->h, VDEV_LOG_ERROR,
			     "loc length must be 0x%x (or left out), not 0x%" PRIx64,
			     TICKER_REGION_SIZE, (*loc)->length);
		return -EINVAL;
	}
	if (cfg->intr_count != 1) {
		t->host->log(t->h, VDEV_LOG_ERROR, "needs exactly one intr, got %u",
			     cfg->intr_count);
		return -EINVAL;
	}
	return 0;
}

static int ticker_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **devp)
{
	const struct vdev_option_value *opt;
	const struct vdev_loc *loc;
	struct ticker *t;
	int err;

	/* Refuse a host too old for what we call (we call up to `terminate`'s
	 * neighbours; log is checked first so that we can say why). */
	if (host->abi_major != VDEV_ABI_MAJOR || !VDEV_HOST_HAS(host, log))
		return -EINVAL;
	if (!VDEV_HOST_HAS(host, terminate)) {
		host->log(h, VDEV_LOG_ERROR, "host services table too small (%u bytes)",
			  host->struct_size);
		return -EINVAL;
	}

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->host = host;
	t->h = h;
	err = ticker_check_config(t, cfg, &loc);
	if (err)
		goto fail;

	opt = cfg->options;
	t->reset_period_us = (uint32_t)opt[TICKER_OPT_PERIOD].v.u; /* range-checked by the host */
	t->reset_enabled = opt[TICKER_OPT_START].v.b != 0;
	t->irq_mode = opt[TICKER_OPT_IRQ_MODE].v.e == TICKER_IRQ_EDGE ? TICKER_IRQ_EDGE
								       : TICKER_IRQ_LEVEL;
	if (t->reset_period_us == 0 || t->reset_period_us > TICKER_PERIOD_MAX_US) {
		host->log(h, VDEV_LOG_ERROR, "period %u out of range", t->reset_period_us);
		err = -EINVAL;
		goto fail;
	}

	/* The line by name, now, so that a typo is a configuration error. */
	err = host->intr_lookup(h, cfg->intrs[0], &t->line);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "intr %s: %s", cfg->intrs[0], strerror(-err));
		goto fail;
	}
	err = host->timer_create(h, ticker_tick, NULL, &t->timer);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "cannot create a timer: %s", strerror(-err));
		goto fail;
	}
	err = host->region_add(h, loc->space, loc->base, TICKER_REGION_SIZE, 0);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "cannot map registers at %s 0x%" PRIx64 ": %s",
			  loc->space == VDEV_SPACE_PIO ? "io" : "mem", loc->base, strerror(-err));
		goto fail;
	}

	ticker_power_on(t);
	host->log(h, VDEV_LOG_INFO, "%s 0x%" PRIx64 ", period %u us, %s interrupt on %s",
		  loc->space == VDEV_SPACE_PIO ? "io" : "mem", loc->base, t->reset_period_us,
		  ticker_irq_modes[t->irq_mode], cfg->intrs[0]);
	*devp = t;
	return 0;

fail:
	/* The host undoes the line, timer and region this instance took. */
	free(t);
	return err;
}

static void ticker_destroy(void *dev)
{
	struct ticker *t = dev;

	/* The host would clean up after us; releasing what we took, in
	 * reverse order, keeps the habit of one deinit per init. */
	t->host->region_remove(t->h, 0);
	t->host->timer_destroy(t->h, t->timer);
	free(t);
}

static int ticker_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct ticker *t = dev;

	if (access->size != 4 || access->offset % 4)
		return VDEV_ACCESS_BUS_ERROR;
	switch (access->offset) {
	case TICKER_REG_ID:
		*value = TICKER_ID_VALUE;
		break;
	case TICKER_REG_CTRL:
		*value = t->regs.ctrl;
		break;
	case TICKER_REG_PERIOD:
		*value = t->regs.period_us;
		break;
	case TICKER_REG_COUNTER:
		*value = t->regs.counter;
		break;
	case TICKER_REG_STATUS:
		*value = t->regs.status;
		break;
	case TICKER_REG_IEN:
		*value = t->regs.ien;
		break;
	default:
		*value = 0; /* reserved */
		break;
	}
	ticker_update_line(t);
	return 0;
}

static void ticker_write_ctrl(struct ticker *t, uint32_t value)
{
	bool was = t->regs.ctrl & TICKER_CTRL_ENABLE;
	bool now = value & TICKER_CTRL_ENABLE;

	t->regs.ctrl = value & TICKER_CTRL_ENABLE;
	if (now && !was)
		ticker_arm(t, ticker_period_ns(&t->regs));
	else if (!now && was)
		ticker_stop(t);
}

static void ticker_write_period(struct ticker *t, uint32_t value)
{
	if (value == 0 || value > TICKER_PERIOD_MAX_US) {
		/* Guest-controlled: log quietly, keep the old period. */
		t->host->log(t->h, VDEV_LOG_DEBUG, "PERIOD %u ignored (1..%u)", value,
			     TICKER_PERIOD_MAX_US);
		return;
	}
	t->regs.period_us = value;
	if (t->regs.ctrl & TICKER_CTRL_ENABLE)
		ticker_arm(t, (uint64_t)value * NS_PER_US);
}

static int ticker_write(void *dev, const struct vdev_access *access, uint64_t value)
{
	struct ticker *t = dev;
	uint32_t v = (uint32_t)value;

	if (access->size != 4 || access->offset % 4)
		return VDEV_ACCESS_BUS_ERROR;
	switch (access->offset) {
	case TICKER_REG_CTRL:
		ticker_write_ctrl(t, v);
		break;
	case TICKER_REG_PERIOD:
		ticker_write_period(t, v);
		break;
	case TICKER_REG_COUNTER:
		t->regs.counter = v;
		break;
	case TICKER_REG_STATUS:
		t->regs.status &= ~(v & TICKER_STATUS_ALL); /* write 1 to clear */
		break;
	case TICKER_REG_IEN:
		t->regs.ien = v & TICKER_STATUS_ALL;
		break;
	default:
		/* ID is read-only; the rest is reserved. */
		break;
	}
	ticker_update_line(t);
	return 0;
}

static void ticker_reset(void *dev)
{
	ticker_power_on(dev);
}

static ssize_t ticker_save(void *dev, void *buf, size_t cap)
{
	struct ticker *t = dev;
	struct ticker_regs r = t->regs;
	struct vdev_state st;
	uint64_t now;

	r.remaining_ns = 0;
	if (r.ctrl & TICKER_CTRL_ENABLE) {
		now = t->host->clock_ns(t->h);
		if (t->deadline_ns > now)
			r.remaining_ns = t->deadline_ns - now;
		if (r.remaining_ns > ticker_period_ns(&r))
			r.remaining_ns = ticker_period_ns(&r);
	}
	if (vdev_state_save_begin(&st, buf, cap, TICKER_NAME, TICKER_STATE_VERSION) == 0)
		ticker_state(&st, &r);
	return vdev_state_save_end(&st);
}

static int ticker_restore(void *dev, const void *buf, size_t length)
{
	struct ticker *t = dev;
	struct ticker_regs r = t->regs;
	struct vdev_state st;
	int err;

	/* Into a scratch copy first: a bad blob changes nothing. */
	if (vdev_state_restore_begin(&st, buf, length, TICKER_NAME, TICKER_STATE_VERSION) == 0)
		ticker_state(&st, &r);
	err = vdev_state_restore_end(&st);
	if (err) {
		t->host->log(t->h, VDEV_LOG_WARN, "refused saved state (%zu bytes)", length);
		return err;
	}

	ticker_stop(t);
	t->regs = r;
	t->regs.remaining_ns = 0;
	/* An edge already delivered before the save is not delivered again. */
	if (t->irq_mode == TICKER_IRQ_EDGE)
		t->line_level = (t->regs.status & t->regs.ien) != 0;
	ticker_update_line(t);
	if (t->regs.ctrl & TICKER_CTRL_ENABLE)
		ticker_arm(t, r.remaining_ns ? r.remaining_ns
					     : ticker_period_ns(&t->regs));
	return 0;
}

static int ticker_status(void *dev, char *buf, size_t cap)
{
	struct ticker *t = dev;
	int n;

	n = snprintf(buf, cap, "%s counter=%u period=%uus status=0x%x ien=0x%x",
		     t->regs.ctrl & TICKER_CTRL_ENABLE ? "running" : "stopped", t->regs.counter,
		     t->regs.period_us, t->regs.status, t->regs.ien);
	return n < 0 ? -EINVAL : 0;
}

static const struct vdev_ops ticker_ops = {
	.struct_size = sizeof(struct vdev_ops),
	.create = ticker_create,
	.destroy = ticker_destroy,
	.read = ticker_read,
	.write = ticker_write,
	.reset = ticker_reset,
	.save = ticker_save,
	.restore = ticker_restore,
	.status = ticker_status,
};

static const struct vdev_descriptor ticker_descriptor = {
	VDEV_DESCRIPTOR_INIT,
	.name = TICKER_NAME,
	.version = TICKER_VERSION,
	.description = "periodic timer with a status/interrupt-enable register pair",
	.flags = VDEV_F_LOC_REQUIRED | VDEV_F_INTR_REQUIRED,
	.default_space = VDEV_SPACE_MMIO,
	.access_sizes = VDEV_ACCESS_SIZE(4),
	.state_size = TICKER_STATE_SIZE,
	.options = ticker_options,
	.option_count = TICKER_OPT_COUNT,
	.ops = &ticker_ops,
	.intc = NULL,
};

VDEV_PLUGIN_ENTRY(ticker_descriptor)
