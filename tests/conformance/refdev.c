/*
 * tests/conformance/refdev.c: the reference device of the conformance
 * fixtures (refdev.h describes its registers). It follows every rule of
 * the SDK guide, so that a fixture built from it has only the defect it
 * adds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tests/conformance/refdev.h"

static const char *const ref_modes[] = {"normal", "fast", NULL};

const struct vdev_option_spec ref_options[REF_OPT_COUNT] = {
    [REF_OPT_DATA_INIT] = {.name = "data-init",
			   .type = VDEV_OPT_UINT,
			   .default_value = "0",
			   .help = "power-on value of DATA"},
    [REF_OPT_MODE] = {.name = "mode",
		      .type = VDEV_OPT_ENUM,
		      .default_value = "normal",
		      .help = "timer speed",
		      .choices = ref_modes},
    [REF_OPT_QUIET] = {.name = "quiet",
		       .type = VDEV_OPT_BOOL,
		       .flags = VDEV_OPTF_NOARG,
		       .default_value = "off",
		       .help = "log nothing"},
    [REF_OPT_LABEL] = {.name = "label",
		       .type = VDEV_OPT_STRING,
		       .default_value = "ref",
		       .help = "a name for log lines"},
    [REF_OPT_DEPTH] = {.name = "depth",
		       .type = VDEV_OPT_UINT,
		       .flags = VDEV_OPTF_RANGE,
		       .default_value = "16",
		       .help = "a bounded number",
		       .min = 1,
		       .max = 64},
};

const struct vdev_ops ref_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ref_create,
    .destroy = ref_destroy,
    .read = ref_read,
    .write = ref_write,
    .reset = ref_reset,
    .save = ref_save,
    .restore = ref_restore,
};

void ref_update_line(struct ref_dev *d)
{
	int level = (d->regs[REF_CTRL] & REF_CTRL_IRQ) && d->regs[REF_EVENTS];

	/* The host filters repeats; the cache only saves a call. */
	if (level != d->level) {
		struct ref_dev *via = d->line_via ? d->line_via : d;

		d->level = level;
		via->host->line_set(via->h, via->line, level);
	}
}

static void ref_arm(struct ref_dev *d)
{
	uint64_t period = d->regs[REF_PERIOD] ? d->regs[REF_PERIOD] : 1000;

	if (d->regs[REF_CTRL] & REF_CTRL_TIMER)
		d->host->timer_arm(d->h, d->timer, period * 1000, period * 1000);
	else
		d->host->timer_cancel(d->h, d->timer);
}

static void ref_tick(void *dev, void *arg)
{
	struct ref_dev *d = dev;

	d->regs[REF_COUNT]++;
	d->regs[REF_EVENTS] |= 1;
	ref_update_line(d);
}

static void ref_power_on(struct ref_dev *d)
{
	memset(d->regs, 0, sizeof(d->regs));
	d->regs[REF_ID_REG] = REF_ID;
	d->regs[REF_DATA] = d->data_init;
}

int ref_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
	       void **dev)
{
	struct ref_dev *d;
	int rc;

	if (cfg->loc_count < 1 || cfg->locs[0].kind != VDEV_LOC_ADDR || cfg->intr_count < 1)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	d->data_init = (uint32_t)cfg->options[REF_OPT_DATA_INIT].v.u;
	rc = host->intr_lookup(h, cfg->intrs[0], &d->line);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "intr %s: %d", cfg->intrs[0], rc);
		goto fail;
	}
	rc = host->timer_create(h, ref_tick, NULL, &d->timer);
	if (rc < 0)
		goto fail;
	rc = host->region_add(h, cfg->locs[0].space, cfg->locs[0].base, REF_REGION_LEN, 0);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "region at 0x%llx: %d",
			  (unsigned long long)cfg->locs[0].base, rc);
		goto fail;
	}
	ref_power_on(d);
	*dev = d;
	return 0;
fail:
	/* The host undoes the line, timer and region. */
	free(d);
	return rc;
}

void ref_destroy(void *dev)
{
	struct ref_dev *d = dev;

	d->host->timer_destroy(d->h, d->timer);
	free(d);
}

static uint8_t ref_byte(const struct ref_dev *d, uint64_t offset)
{
	if (offset >= REF_REGION_LEN)
		return 0;
	return (uint8_t)(d->regs[offset / 4] >> (8 * (offset % 4)));
}

int ref_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct ref_dev *d = dev;
	bool events = false;
	uint64_t v = 0;

	for (unsigned i = 0; i < access->size; i++) {
		uint64_t off = access->offset + i;

		v |= (uint64_t)ref_byte(d, off) << (8 * i);
		if (off / 4 == REF_EVENTS)
			events = true;
	}
	*value = v;
	if (events) {
		d->regs[REF_EVENTS] = 0;
		ref_update_line(d);
	}
	return 0;
}

static bool ref_writable(unsigned reg)
{
	return reg == REF_CTRL || reg == REF_DATA || reg == REF_PERIOD || reg >= REF_SCRATCH;
}

int ref_write(void *dev, const struct vdev_access *access, uint64_t value)
{
	struct ref_dev *d = dev;
	bool timer = false;

	for (unsigned i = 0; i < access->size; i++) {
		uint64_t off = access->offset + i;
		unsigned reg = (unsigned)(off / 4), shift = 8 * (unsigned)(off % 4);

		if (off >= REF_REGION_LEN || !ref_writable(reg))
			continue;
		d->regs[reg] = (d->regs[reg] & ~(0xffu << shift)) |
			       ((uint32_t)(value >> (8 * i)) & 0xffu) << shift;
		if (reg == REF_DATA)
			d->regs[REF_EVENTS] |= 2;
		if (reg == REF_CTRL || reg == REF_PERIOD)
			timer = true;
	}
	if (timer)
		ref_arm(d);
	ref_update_line(d);
	return 0;
}

void ref_reset(void *dev)
{
	struct ref_dev *d = dev;

	ref_power_on(d);
	ref_arm(d);
	ref_update_line(d);
}

uint32_t ref_crc32(const void *buf, size_t length)
{
	const uint8_t *p = buf;
	uint32_t crc = ~0u;

	while (length--) {
		crc ^= *p++;
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
	}
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ssize_t ref_save(void *dev, void *buf, size_t cap)
{
	struct ref_dev *d = dev;
	uint8_t *p = buf;

	if (cap < REF_STATE_LEN)
		return -ENOSPC;
	put32(p, REF_ID);
	put32(p + 4, REF_STATE_VERSION);
	put32(p + 8, d->save_stamp);
	for (unsigned i = 0; i < REF_REGS; i++)
		put32(p + 12 + 4 * i, d->regs[i]);
	put32(p + REF_STATE_LEN - 4, ref_crc32(p, REF_STATE_LEN - 4));
	return REF_STATE_LEN;
}

int ref_restore(void *dev, const void *buf, size_t length)
{
	struct ref_dev *d = dev;
	const uint8_t *p = buf;

	if (length != REF_STATE_LEN || get32(p) != REF_ID || get32(p + 4) != REF_STATE_VERSION ||
	    get32(p + REF_STATE_LEN - 4) != ref_crc32(p, REF_STATE_LEN - 4))
		return -EINVAL;
	for (unsigned i = 0; i < REF_REGS; i++)
		d->regs[i] = get32(p + 12 + 4 * i);
	d->regs[REF_ID_REG] = REF_ID;
	ref_arm(d);
	ref_update_line(d);
	return 0;
}
