/*
 * vdev-good.so: a small, correct test device for the loader and test-host
 * tests. Registers (32-bit, at loc's base, 0x20 bytes):
 *   0x00 CTRL   bit0: periodic timer on (period from `period`), bit1: line level
 *   0x04 TICKS  timer expiries counted (write clears)
 *   0x08 SCRATCH read/write
 *   0x0c ID     0x600d0001
 *   0x10 WIDE   reads 0x1ff whatever the size (breaks the contract on purpose)
 * Each expiry pulses the line when `pulse` is on, and logs at debug level.
 */
#include <stdlib.h>
#include <string.h>

#include <vdev/vdev.h>

struct good {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *line;
	struct vdev_timer *timer;
	uint64_t period;
	int pulse;
	uint32_t ctrl, ticks, scratch;
};

static void good_tick(void *dev, void *arg)
{
	struct good *g = dev;

	g->ticks++;
	if (g->pulse && g->line)
		g->host->line_pulse(g->h, g->line);
	g->host->log(g->h, VDEV_LOG_DEBUG, "tick %u at %llu", g->ticks,
		     (unsigned long long)g->host->clock_ns(g->h));
}

static int good_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		       void **dev)
{
	struct good *g;
	int rc;

	if (!cfg->loc_count) {
		host->log(h, VDEV_LOG_ERROR, "needs loc");
		return -EINVAL;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->host = host;
	g->h = h;
	g->period = cfg->options[0].v.u;
	g->pulse = cfg->options[1].v.b;
	rc = host->region_add(h, cfg->locs[0].space, cfg->locs[0].base, 0x20, 0);
	if (rc == 0 && cfg->intr_count)
		rc = host->intr_lookup(h, cfg->intrs[0], &g->line);
	if (rc == 0)
		rc = host->timer_create(h, good_tick, NULL, &g->timer);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "create failed: %d", rc);
		free(g);
		return rc;
	}
	host->log(h, VDEV_LOG_INFO, "created at %#llx", (unsigned long long)cfg->locs[0].base);
	*dev = g;
	return 0;
}

static void good_destroy(void *dev)
{
	struct good *g = dev;

	g->host->timer_destroy(g->h, g->timer);
	free(g);
}

static int good_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct good *g = dev;

	switch (a->offset) {
	case 0x00:
		*value = g->ctrl;
		break;
	case 0x04:
		*value = g->ticks;
		break;
	case 0x08:
		*value = g->scratch;
		break;
	case 0x0c:
		*value = 0x600d0001;
		break;
	case 0x10:
		*value = 0x1ff;
		break;
	default:
		*value = 0;
	}
	return 0;
}

static int good_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct good *g = dev;

	switch (a->offset) {
	case 0x00:
		g->ctrl = (uint32_t)value;
		if (g->ctrl & 1)
			g->host->timer_arm(g->h, g->timer, g->period, g->period);
		else
			g->host->timer_cancel(g->h, g->timer);
		if (g->line)
			g->host->line_set(g->h, g->line, (g->ctrl >> 1) & 1);
		break;
	case 0x04:
		g->ticks = 0;
		break;
	case 0x08:
		g->scratch = (uint32_t)value;
		break;
	}
	return 0;
}

static void good_reset(void *dev)
{
	struct good *g = dev;

	g->ctrl = g->ticks = g->scratch = 0;
	g->host->timer_cancel(g->h, g->timer);
	if (g->line)
		g->host->line_set(g->h, g->line, 0);
}

static ssize_t good_save(void *dev, void *buf, size_t cap)
{
	struct good *g = dev;
	uint32_t s[3] = {g->ctrl, g->ticks, g->scratch};

	if (cap < sizeof(s))
		return -ENOSPC;
	memcpy(buf, s, sizeof(s));
	return sizeof(s);
}

static int good_restore(void *dev, const void *buf, size_t length)
{
	struct good *g = dev;
	uint32_t s[3];

	if (length != sizeof(s))
		return -EINVAL;
	memcpy(s, buf, sizeof(s));
	g->ctrl = s[0];
	g->ticks = s[1];
	g->scratch = s[2];
	return 0;
}

static const struct vdev_ops good_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = good_create,
    .destroy = good_destroy,
    .read = good_read,
    .write = good_write,
    .reset = good_reset,
    .save = good_save,
    .restore = good_restore,
};

static const struct vdev_option_spec good_options[] = {
    {.name = "period",
     .type = VDEV_OPT_UINT,
     .default_value = "1000",
     .help = "timer period in ns",
     .flags = VDEV_OPTF_RANGE,
     .min = 1,
     .max = 1000000000},
    {.name = "pulse",
     .type = VDEV_OPT_BOOL,
     .default_value = "off",
     .help = "pulse the line on each tick"},
};

static const struct vdev_descriptor good_desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "good",
    .version = "1.0.0",
    .description = "a correct test device",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),
    .state_size = 12,
    .options = good_options,
    .option_count = 2,
    .ops = &good_ops,
};

VDEV_PLUGIN_ENTRY(good_desc)
