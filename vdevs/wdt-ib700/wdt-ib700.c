/*
 * vdevs/wdt-ib700/wdt-ib700.c: the watchdog of the iEi IB700 single-board
 * computer, as guests drive it (Linux ib700wdt, QEMU's ib700):
 *
 *   io:0x441  write (any value): stop the watchdog
 *   io:0x443  write V: start it, or refresh it, with the timeout of the
 *             board's table for V & 0xf: 30, 28, 26, ..., 2, 0 seconds
 *             (30 - 2 * V; 0 expires at once)
 *
 * Both ports are write-only (qvm's factory has no vread): reads give 0xff,
 * an undriven ISA bus. `loc` moves the pair (the start port is at loc + 2).
 *
 * When the timeout passes without a refresh or stop, `action` says what
 * happens: `terminate` (default) ends the VM with exit code 4, qvm's
 * watchdog code; `dump,terminate` first logs one status line (timeout
 * programmed, when it was last refreshed, how many refreshes) at error
 * level, then ends it with 4 after the host wrote the guest dump the VM's
 * `dump` asks for (terminate with VDEV_TERMINATE_DUMP). One host timer, armed for the deadline.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/vdev.h>
#include <vdev/state.h>

#define WDT_NAME	  "wdt-ib700"
#define WDT_STATE_VERSION 1
#define WDT_EXIT_CODE	  4 /* qvm: watchdog-triggered termination */
#define NS_PER_SEC	  1000000000ull

enum { REGION_STOP, REGION_START };
enum { OPT_ACTION };
enum { ACTION_TERMINATE, ACTION_DUMP_TERMINATE };

static const char *const wdt_actions[] = {"terminate", "dump,terminate", NULL};

static const struct vdev_option_spec wdt_options[] = {
    [OPT_ACTION] =
	{
	    .name = "action",
	    .type = VDEV_OPT_ENUM,
	    .default_value = "terminate",
	    .help = "on expiry: terminate (exit code 4) or dump,terminate (log a status "
		    "line first)",
	    .choices = wdt_actions,
	},
};

struct wdt {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_timer *timer;
	unsigned action;
	/* Saved state. */
	uint8_t running;
	uint8_t value; /* the last start value, 0..15 */
	uint8_t fired;
	uint32_t refreshes; /* starts and refreshes since the last stop */
	uint64_t deadline;  /* host ns of expiry while running */
	uint64_t refreshed; /* host ns of the last start or refresh */
};

static uint64_t wdt_timeout_ns(uint8_t value)
{
	return (30u - 2u * (value & 0xf)) * NS_PER_SEC;
}

static void wdt_expired(void *dev, void *arg)
{
	struct wdt *w = dev;
	uint64_t now = w->host->clock_ns(w->h);

	if (!w->running || w->fired)
		return;
	w->running = 0;
	w->fired = 1;
	if (w->action == ACTION_DUMP_TERMINATE)
		w->host->log(
		    w->h, VDEV_LOG_ERROR,
		    "watchdog expired: timeout %llu s (value %u), last refresh %llu.%03llu s "
		    "ago, %u refreshes since start; ending the VM with %d",
		    (unsigned long long)(wdt_timeout_ns(w->value) / NS_PER_SEC), w->value,
		    (unsigned long long)((now - w->refreshed) / NS_PER_SEC),
		    (unsigned long long)((now - w->refreshed) % NS_PER_SEC / 1000000), w->refreshes,
		    WDT_EXIT_CODE);
	else
		w->host->log(w->h, VDEV_LOG_WARN, "watchdog expired: ending the VM with %d",
			     WDT_EXIT_CODE);
	/* dump,terminate: the host writes the guest dump (`dump`) first; a
	 * host without dumps refuses the flag, and the VM ends all the same */
	if (w->action != ACTION_DUMP_TERMINATE ||
	    w->host->terminate(w->h, WDT_EXIT_CODE | VDEV_TERMINATE_DUMP) < 0)
		w->host->terminate(w->h, WDT_EXIT_CODE);
}

static int wdt_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	*value = 0xff; /* write-only ports */
	return 0;
}

static int wdt_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct wdt *w = dev;
	uint64_t now = w->host->clock_ns(w->h);

	if (w->fired)
		return 0; /* the VM is ending */
	if (a->region == REGION_STOP) {
		w->running = 0;
		w->refreshes = 0;
		w->host->timer_cancel(w->h, w->timer);
		return 0;
	}
	w->value = value & 0xf;
	w->running = 1;
	w->refreshes++;
	w->refreshed = now;
	w->deadline = now + wdt_timeout_ns(w->value);
	w->host->timer_arm(w->h, w->timer, wdt_timeout_ns(w->value), 0);
	return 0;
}

static void wdt_reset(void *dev)
{
	struct wdt *w = dev;

	w->running = 0;
	w->value = 0;
	w->fired = 0;
	w->refreshes = 0;
	w->deadline = 0;
	w->refreshed = 0;
	w->host->timer_cancel(w->h, w->timer);
}

static int wdt_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **devp)
{
	enum vdev_space space = VDEV_SPACE_PIO;
	uint64_t base = 0x441;
	struct wdt *w;
	int rc;

	if (cfg->loc_count > 1) {
		host->log(h, VDEV_LOG_ERROR, "takes one loc (the stop port), %u given",
			  cfg->loc_count);
		return -EINVAL;
	}
	if (cfg->loc_count == 1) {
		const struct vdev_loc *loc = &cfg->locs[0];

		if (loc->kind != VDEV_LOC_ADDR || (loc->length && loc->length != 1)) {
			host->log(h, VDEV_LOG_ERROR, "loc must be one port (the start port is +2)");
			return -EINVAL;
		}
		space = loc->space;
		base = loc->base;
	}
	if (cfg->intr_count) {
		host->log(h, VDEV_LOG_ERROR, "raises no interrupt; remove `intr`");
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->host = host;
	w->h = h;
	w->action = cfg->options[OPT_ACTION].v.e;
	rc = host->timer_create(h, wdt_expired, NULL, &w->timer);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot create a timer: %d", rc);
		goto fail;
	}
	rc = host->region_add(h, space, base, 1, REGION_STOP);
	if (rc == 0)
		rc = host->region_add(h, space, base + 2, 1, REGION_START);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot claim 0x%llx and 0x%llx: %d",
			  (unsigned long long)base, (unsigned long long)base + 2, rc);
		goto fail;
	}
	*devp = w;
	return 0;
fail:
	free(w);
	return rc;
}

static void wdt_destroy(void *dev)
{
	free(dev);
}

/* Times travel relative to the clock at save time. */
static void wdt_state(struct vdev_state *st, struct wdt *w, uint64_t now)
{
	uint64_t left = w->running && w->deadline > now ? w->deadline - now : 0;
	uint64_t since = now - w->refreshed;

	vdev_state_u8(st, &w->running);
	vdev_state_u8(st, &w->value);
	vdev_state_u8(st, &w->fired);
	vdev_state_u32(st, &w->refreshes);
	vdev_state_u64(st, &left);
	vdev_state_u64(st, &since);
	if (!vdev_state_restoring(st))
		return;
	w->deadline = now + left;
	w->refreshed = now - since;
	if (w->running > 1 || w->value > 15 || w->fired > 1 || (w->running && w->fired) ||
	    left > 30 * NS_PER_SEC || (!w->running && left))
		vdev_state_invalid(st);
}

static ssize_t wdt_save(void *dev, void *buf, size_t cap)
{
	struct wdt *w = dev;
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, WDT_NAME, WDT_STATE_VERSION);
	wdt_state(&st, w, w->host->clock_ns(w->h));
	return vdev_state_save_end(&st);
}

static int wdt_restore(void *dev, const void *buf, size_t length)
{
	struct wdt *w = dev, scratch = *w;
	struct vdev_state st;
	uint64_t now = w->host->clock_ns(w->h);
	int rc;

	vdev_state_restore_begin(&st, buf, length, WDT_NAME, WDT_STATE_VERSION);
	wdt_state(&st, &scratch, now);
	rc = vdev_state_restore_end(&st);
	if (rc < 0)
		return rc;
	*w = scratch;
	if (w->running)
		w->host->timer_arm(w->h, w->timer, w->deadline - now, 0);
	else
		w->host->timer_cancel(w->h, w->timer);
	return 0;
}

static int wdt_status(void *dev, char *buf, size_t cap)
{
	struct wdt *w = dev;
	uint64_t now = w->host->clock_ns(w->h);

	if (w->fired)
		return snprintf(buf, cap, "expired");
	if (!w->running)
		return snprintf(buf, cap, "stopped");
	return snprintf(
	    buf, cap, "running: timeout %llu s, %llu ms left",
	    (unsigned long long)(wdt_timeout_ns(w->value) / NS_PER_SEC),
	    (unsigned long long)((w->deadline > now ? w->deadline - now : 0) / 1000000));
}

static const struct vdev_ops wdt_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = wdt_create,
    .destroy = wdt_destroy,
    .read = wdt_read,
    .write = wdt_write,
    .reset = wdt_reset,
    .save = wdt_save,
    .restore = wdt_restore,
    .status = wdt_status,
};

static const struct vdev_descriptor wdt_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = WDT_NAME,
    .version = "1.0.0",
    .description = "IB700 watchdog (io:0x441 stop, io:0x443 start/refresh)",
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(WDT_NAME) - 1) + 3 * VDEV_STATE_SIZE_U8 +
		  VDEV_STATE_SIZE_U32 + 2 * VDEV_STATE_SIZE_U64,
    .options = wdt_options,
    .option_count = sizeof(wdt_options) / sizeof(wdt_options[0]),
    .ops = &wdt_ops,
};

VDEV_PLUGIN_ENTRY(wdt_descriptor)
