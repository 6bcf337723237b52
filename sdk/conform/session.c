/*
 * sdk/conform/session.c: what the checks share.
 *
 * A session is one SDK test host with the plugin loaded and the instance
 * options chosen. The recorder sits on the test host's hooks and classifies
 * every host service the plugin calls: with a destroyed handle, outside any
 * callback on the calling thread, or (for interrupt services) with another
 * instance's handle. Register points, sweeps and the random workload are
 * here so that every check reads and writes registers the same way (the
 * reset and save/restore comparisons depend on that).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk/conform/conform.h"

#define RAM_BASE       CONFORM_RAM_BASE
#define RAM_SIZE       CONFORM_RAM_SIZE
#define INTC_NAME      "conform"
#define INTC_LINES     32
#define CALLBACK_DEPTH 16

/* conform_where from the workload, unless a worker thread runs it. */
#define WHERE(flags, ...)                                                                          \
	do {                                                                                       \
		if (!((flags)&CONFORM_WL_QUIET))                                                   \
			conform_where(__VA_ARGS__);                                                \
	} while (0)

/* ------------------------------------------------------------------ rng */

void conform_rng_seed(struct conform_rng *rng, uint64_t seed)
{
	rng->state = seed;
}

uint64_t conform_rng_next(struct conform_rng *rng)
{
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t conform_rng_below(struct conform_rng *rng, uint64_t bound)
{
	return bound ? conform_rng_next(rng) % bound : 0;
}

/* ------------------------------------------------------------- recorder */

static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conform_record record;

/* The callbacks in progress on this thread, innermost last. */
static __thread struct vdev_testdev *callback_dev[CALLBACK_DEPTH];
static __thread uint64_t callback_start[CALLBACK_DEPTH];
static __thread unsigned callback_depth;
static bool forbid_dma;

/* Callbacks on the guest's and the event loop's path: they must return
 * promptly every time. create, destroy, save and restore run while the
 * guest does not (time-budget watches their averages). */
static bool bounded_callback(const char *callback)
{
	static const char *const bounded[] = {"read",	   "write", "timer",	 "fd",
					      "set_level", "reset", "line_count"};

	for (unsigned i = 0; i < sizeof(bounded) / sizeof(bounded[0]); i++)
		if (!strcmp(callback, bounded[i]))
			return true;
	return false;
}

static bool is_dma_service(const char *service)
{
	return !strncmp(service, "mem_", 4) && strcmp(service, "mem_ranges") != 0;
}

/* The check that owns each class of host-reported violation (see
 * conform_violation_owner); a class not listed is judged where it happens. */
static const struct {
	const char *kind, *owner;
} violation_owners[] = {
    {"access-return", "register-sweep"},
    {"read-width", "register-sweep"},
    {"create-return", "options-defaults"},
    {"save-overflow", "save-restore-roundtrip"},
    {"restore-return", "restore-rejects-garbage"},
    {"destroyed-handle", "no-interrupt-after-destroy"},
    {"dead-controller", "no-interrupt-after-destroy"},
    {"line-handle", "interrupts-via-host"},
    {"line-unconfigured", "interrupts-via-host"},
    {"leftover", "lifecycle-no-leftovers"},
    {"poison", "dma-faults"},
};

const char *conform_violation_owner(const char *kind)
{
	for (unsigned i = 0; i < sizeof(violation_owners) / sizeof(violation_owners[0]); i++)
		if (!strcmp(kind, violation_owners[i].kind))
			return violation_owners[i].owner;
	return NULL;
}

static void record_violation(void *ctx, const char *kind, const char *text)
{
	unsigned i;

	pthread_mutex_lock(&record_lock);
	for (i = 0; i < record.violation_kinds; i++)
		if (!strcmp(record.violations[i].kind, kind))
			break;
	if (i == record.violation_kinds && i < CONFORM_VIOLATION_KINDS) {
		record.violation_kinds++;
		snprintf(record.violations[i].kind, sizeof(record.violations[i].kind), "%s", kind);
		snprintf(record.violations[i].first, sizeof(record.violations[i].first), "%s",
			 text);
	}
	if (i < CONFORM_VIOLATION_KINDS)
		record.violations[i].count++;
	pthread_mutex_unlock(&record_lock);
}

static bool is_irq_service(const char *service)
{
	return !strcmp(service, "line_set") || !strcmp(service, "line_pulse") ||
	       !strcmp(service, "msi_send");
}

static void record_service(void *ctx, struct vdev_testdev *dev, const char *service,
			   bool handle_valid)
{
	bool irq = is_irq_service(service);
	unsigned depth = callback_depth;
	struct vdev_testdev *current = depth ? callback_dev[depth - 1] : NULL;

	pthread_mutex_lock(&record_lock);
	record.services++;
	if (!handle_valid) {
		if (!record.invalid_calls++)
			snprintf(record.first_invalid, sizeof(record.first_invalid),
				 "%s with a destroyed handle, %s", service,
				 depth ? "inside a callback" : "outside any callback");
	} else if (!depth) {
		record.outside_calls++;
		if (irq)
			record.outside_irq_calls++;
		if (record.outside_calls == 1)
			snprintf(record.first_outside, sizeof(record.first_outside),
				 "%s called outside any callback on the calling thread", service);
	} else if (irq && current != dev) {
		if (!record.foreign_irq_calls++)
			snprintf(record.first_foreign, sizeof(record.first_foreign),
				 "%s with the handle of another instance", service);
	}
	if (handle_valid && irq)
		record.irq_calls++;
	if (handle_valid && forbid_dma &&
	    (irq ? !strcmp(service, "msi_send") : is_dma_service(service))) {
		if (!record.forbidden_dma++)
			snprintf(record.first_forbidden_dma, sizeof(record.first_forbidden_dma),
				 "%s", service);
	}
	pthread_mutex_unlock(&record_lock);
}

static void record_enter(void *ctx, struct vdev_testdev *dev, const char *callback)
{
	if (callback_depth < CALLBACK_DEPTH) {
		callback_dev[callback_depth] = dev;
		callback_start[callback_depth] = conform_now_ns();
	}
	callback_depth++;
	if (!strcmp(callback, "read") || !strcmp(callback, "write")) {
		pthread_mutex_lock(&record_lock);
		if (callback[0] == 'r')
			record.reads++;
		else
			record.writes++;
		pthread_mutex_unlock(&record_lock);
	}
}

static void record_exit(void *ctx, struct vdev_testdev *dev, const char *callback)
{
	uint64_t took;

	if (!callback_depth)
		return;
	callback_depth--;
	if (callback_depth >= CALLBACK_DEPTH || !bounded_callback(callback))
		return;
	took = conform_now_ns() - callback_start[callback_depth];
	pthread_mutex_lock(&record_lock);
	if (took > record.slowest_ns) {
		record.slowest_ns = took;
		snprintf(record.slowest, sizeof(record.slowest), "%s", callback);
	}
	if (took > CONFORM_CALLBACK_BOUND_NS)
		record.over_bound++;
	pthread_mutex_unlock(&record_lock);
}

static const struct vdev_testhost_hooks record_hooks = {
    .service = record_service,
    .callback_enter = record_enter,
    .callback_exit = record_exit,
    .violation = record_violation,
};

void conform_record_clear_violations(void)
{
	pthread_mutex_lock(&record_lock);
	memset(record.violations, 0, sizeof(record.violations));
	record.violation_kinds = 0;
	pthread_mutex_unlock(&record_lock);
}

void conform_record_forbid_dma(bool forbid)
{
	pthread_mutex_lock(&record_lock);
	forbid_dma = forbid;
	pthread_mutex_unlock(&record_lock);
}

void conform_record_reset(void)
{
	pthread_mutex_lock(&record_lock);
	memset(&record, 0, sizeof(record));
	pthread_mutex_unlock(&record_lock);
}

void conform_record_get(struct conform_record *rec)
{
	pthread_mutex_lock(&record_lock);
	*rec = record;
	pthread_mutex_unlock(&record_lock);
}

/* -------------------------------------------------------------- session */

/* Where an instance goes when the device needs a `loc` and the user gave
 * no options: far from the RAM, one per instance. */
static void loc_text(const struct vdev_descriptor *desc, unsigned which, char *buf, size_t len)
{
	switch (desc->default_space) {
	case VDEV_SPACE_PIO:
		snprintf(buf, len, "loc 0x%x", which ? 0x6000 : 0x2000);
		break;
	case VDEV_SPACE_PCICFG:
		snprintf(buf, len, "loc pci:0:%u", which ? 4 : 3);
		break;
	default:
		snprintf(buf, len, "loc 0x%llx", which ? 0x200000000ull : 0x100000000ull);
		break;
	}
}

static void default_options(const struct vdev_descriptor *desc, unsigned which, char *buf,
			    size_t len)
{
	char loc[64] = "";

	if (desc->flags & VDEV_F_LOC_REQUIRED)
		loc_text(desc, which, loc, sizeof(loc));
	snprintf(buf, len, "%s%s%s", loc, (desc->flags & VDEV_F_INTR_REQUIRED) && loc[0] ? " " : "",
		 !(desc->flags & VDEV_F_INTR_REQUIRED) ? ""
		 : which			       ? "intr " INTC_NAME ":1"
						       : "intr " INTC_NAME ":0");
}

int conform_session_open(struct conform_session *s, struct conform_run *run)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->run = run;
	conform_rng_seed(&s->rng, run->opts->seed);
	conform_record_reset();
	s->th = vdev_testhost_new();
	if (!s->th) {
		conform_fail(run, "the test host could not be created (out of memory)");
		return -1;
	}
	vdev_testhost_set_hooks(s->th, &record_hooks);
	if (vdev_testhost_add_ram(s->th, RAM_BASE, RAM_SIZE) < 0 ||
	    vdev_testhost_add_intc(s->th, INTC_NAME, INTC_LINES) < 0) {
		conform_fail(run, "the test host could not be set up: %s",
			     vdev_testhost_error(s->th));
		goto fail;
	}
	conform_where(run, "loading the plugin");
	rc = vdev_testhost_load(s->th, run->opts->plugin, &s->desc);
	if (rc < 0) {
		conform_skip(run, "the plugin does not load (see the checks before): %s",
			     vdev_testhost_error(s->th));
		goto fail;
	}
	if (run->opts->options) {
		snprintf(s->options, sizeof(s->options), "%s", run->opts->options);
		s->user_options = true;
	} else {
		default_options(s->desc, 0, s->options, sizeof(s->options));
		if (!(s->desc->flags & VDEV_F_SINGLETON))
			default_options(s->desc, 1, s->options2, sizeof(s->options2));
	}
	return 0;
fail:
	vdev_testhost_free(s->th);
	s->th = NULL;
	return -1;
}

/* Every violation the host reported that this check owns, or that no
 * check owns (then the check during which it happened is the one that
 * provoked it). */
static void judge_violations(struct conform_session *s)
{
	struct conform_record rec;

	conform_record_get(&rec);
	for (unsigned i = 0; i < rec.violation_kinds; i++) {
		const struct conform_violation *v = &rec.violations[i];
		const char *owner = conform_violation_owner(v->kind);

		if (owner && strcmp(owner, s->run->check->id) != 0)
			continue;
		conform_fail(s->run, "the host saw %u contract violation(s) of kind %s; first: %s",
			     v->count, v->kind, v->first);
	}
}

void conform_session_close(struct conform_session *s)
{
	if (s->th) {
		conform_where(s->run, "freeing the test host");
		vdev_testhost_free(s->th);
		judge_violations(s);
	}
	s->th = NULL;
}

void conform_session_want_intr(struct conform_session *s)
{
	char opts[sizeof(s->options)], opts2[sizeof(s->options2)];
	struct vdev_testdev *dev;

	if (s->user_options || (s->desc->flags & VDEV_F_INTR_REQUIRED))
		return;
	/* Options too long to extend stay as they are. */
	if (snprintf(opts, sizeof(opts), "%s%sintr " INTC_NAME ":0", s->options,
		     s->options[0] ? " " : "") >= (int)sizeof(opts) ||
	    snprintf(opts2, sizeof(opts2), "%s%sintr " INTC_NAME ":1", s->options2,
		     s->options2[0] ? " " : "") >= (int)sizeof(opts2))
		return;
	conform_where(s->run, "create with options \"%s\" (does it take an intr?)", opts);
	dev = vdev_testhost_create(s->th, s->desc, opts);
	if (!dev)
		return; /* it does not: keep the options as they were */
	vdev_testhost_destroy(dev);
	memcpy(s->options, opts, sizeof(opts));
	if (s->options2[0])
		memcpy(s->options2, opts2, sizeof(opts2));
}

struct vdev_testdev *conform_create(struct conform_session *s, bool second, bool quiet)
{
	const char *options = second ? s->options2 : s->options;
	struct vdev_testdev *dev;

	conform_where(s->run, "create with options \"%s\"", options);
	dev = vdev_testhost_create(s->th, s->desc, options);
	if (!dev && !quiet)
		conform_skip(s->run, "no instance with options \"%s\": %s%s", options,
			     vdev_testhost_error(s->th),
			     s->user_options ? "" : " (give working ones with --options)");
	return dev;
}

unsigned conform_compare_width(const struct vdev_descriptor *desc, struct vdev_testdev *dev)
{
	static const unsigned order[] = {4, 8, 2, 1};
	struct vdev_testhost_region regions[CONFORM_MAX_REGIONS];
	unsigned count = vdev_testhost_regions(dev, regions, CONFORM_MAX_REGIONS);
	uint64_t shortest = UINT64_MAX;

	if (count > CONFORM_MAX_REGIONS)
		count = CONFORM_MAX_REGIONS;
	for (unsigned i = 0; i < count; i++)
		if (regions[i].length < shortest)
			shortest = regions[i].length;
	/* Prefer a width every region can hold, so no region is left out. */
	for (unsigned i = 0; i < 4; i++)
		if ((desc->access_sizes & VDEV_ACCESS_SIZE(order[i])) && order[i] <= shortest)
			return order[i];
	for (unsigned i = 0; i < 4; i++)
		if (desc->access_sizes & VDEV_ACCESS_SIZE(order[i]))
			return order[i];
	return 1;
}

/* ------------------------------------------------------------ registers */

#define POINTS_ALL     4096
#define POINTS_FIRST   2048
#define POINTS_LAST    1024
#define POINTS_SAMPLED 1024

static void point_add(struct conform_point *p, const struct vdev_testhost_region *r, uint32_t index,
		      uint64_t offset)
{
	p->space = r->space;
	p->addr = r->base + offset;
	p->region = index;
	p->offset = offset;
}

size_t conform_points(struct vdev_testdev *dev, unsigned width, struct conform_point **points)
{
	struct vdev_testhost_region regions[CONFORM_MAX_REGIONS];
	unsigned count = vdev_testhost_regions(dev, regions, CONFORM_MAX_REGIONS);
	struct conform_point *p;
	size_t n = 0;

	*points = NULL;
	if (count > CONFORM_MAX_REGIONS)
		count = CONFORM_MAX_REGIONS;
	if (!count)
		return 0;
	p = calloc((size_t)count * POINTS_ALL, sizeof(*p));
	if (!p)
		return 0;
	for (unsigned i = 0; i < count; i++) {
		uint64_t slots = regions[i].length / width;
		struct conform_rng rng;

		if (slots <= POINTS_ALL) {
			for (uint64_t k = 0; k < slots; k++)
				point_add(&p[n++], &regions[i], i, k * width);
			continue;
		}
		for (uint64_t k = 0; k < POINTS_FIRST; k++)
			point_add(&p[n++], &regions[i], i, k * width);
		/* Sampled from the middle with a seed fixed per region, so that
		 * two sweeps of two instances visit the same offsets. */
		conform_rng_seed(&rng, 0x5eed0000u + i);
		for (uint64_t k = 0; k < POINTS_SAMPLED; k++) {
			uint64_t mid = POINTS_FIRST +
				       conform_rng_below(&rng, slots - POINTS_FIRST - POINTS_LAST);
			point_add(&p[n++], &regions[i], i, mid * width);
		}
		for (uint64_t k = slots - POINTS_LAST; k < slots; k++)
			point_add(&p[n++], &regions[i], i, k * width);
	}
	*points = p;
	return n;
}

void conform_read_all(struct conform_session *s, const struct conform_point *points, size_t n,
		      unsigned width, uint64_t *values, int *rcs)
{
	for (size_t i = 0; i < n; i++) {
		conform_where(s->run, "read width %u at 0x%llx (region %u + 0x%llx)", width,
			      (unsigned long long)points[i].addr, points[i].region,
			      (unsigned long long)points[i].offset);
		values[i] = 0;
		rcs[i] =
		    vdev_testhost_read(s->th, points[i].space, points[i].addr, width, &values[i]);
	}
}

static uint64_t width_mask(unsigned width)
{
	return width >= 8 ? ~0ull : (1ull << (8 * width)) - 1;
}

void conform_write_all(struct conform_session *s, const struct conform_point *points, size_t n,
		       unsigned width)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = conform_rng_next(&s->rng) & width_mask(width);

		conform_where(s->run, "write width %u value 0x%llx at 0x%llx (region %u + 0x%llx)",
			      width, (unsigned long long)v, (unsigned long long)points[i].addr,
			      points[i].region, (unsigned long long)points[i].offset);
		vdev_testhost_write(s->th, points[i].space, points[i].addr, width, v);
	}
}

uint64_t conform_dma_value(struct conform_rng *rng)
{
	uint64_t small = 1 + conform_rng_below(rng, 4096);

	switch (conform_rng_below(rng, 11)) {
	case 0:
	case 1:
		return RAM_BASE + (conform_rng_below(rng, RAM_SIZE) & ~7ull); /* inside RAM */
	case 2:
		return RAM_BASE + RAM_SIZE - small; /* a buffer that runs past the end */
	case 3:
		return RAM_BASE + RAM_SIZE + (small & ~7ull); /* just outside */
	case 4:
		return (1ull << 32) - small; /* wraps a 32-bit address */
	case 5:
		return ~0ull - small + 1; /* wraps a 64-bit one */
	case 6:
	case 7:
		return conform_rng_below(rng, 257); /* lengths, counts, command bits */
	case 8:
		return 0; /* the high half of an address in RAM */
	default:
		return conform_rng_next(rng);
	}
}

unsigned conform_workload(struct conform_session *s, struct vdev_testdev *dev,
			  struct conform_rng *rng, unsigned steps, unsigned flags)
{
	struct vdev_testhost_region regions[CONFORM_MAX_REGIONS];
	unsigned count = vdev_testhost_regions(dev, regions, CONFORM_MAX_REGIONS);
	unsigned widths[4], nwidths = 0, odd = 0;

	if (count > CONFORM_MAX_REGIONS)
		count = CONFORM_MAX_REGIONS;
	if (flags & CONFORM_WL_NO_CFG) {
		unsigned kept = 0;

		for (unsigned i = 0; i < count; i++)
			if (regions[i].space != VDEV_SPACE_PCICFG)
				regions[kept++] = regions[i];
		count = kept;
	}
	for (unsigned w = 1; w <= 8; w *= 2)
		if (s->desc->access_sizes & VDEV_ACCESS_SIZE(w))
			widths[nwidths++] = w;
	for (unsigned i = 0; i < steps; i++) {
		unsigned kind = (unsigned)conform_rng_below(rng, 100);

		if ((flags & CONFORM_WL_TIME) &&
		    (kind < 8 || !count || !nwidths ||
		     !(flags & (CONFORM_WL_READ | CONFORM_WL_WRITE)))) {
			uint64_t ns = conform_rng_below(rng, 2000000);

			WHERE(flags, s->run, "step %u: advance time by %llu ns", i,
			      (unsigned long long)ns);
			vdev_testhost_advance(s->th, ns);
			if (kind < 2)
				vdev_testhost_poll(s->th, 0);
			continue;
		}
		if (!count || !nwidths)
			continue;
		const struct vdev_testhost_region *r = &regions[conform_rng_below(rng, count)];
		unsigned w = widths[conform_rng_below(rng, nwidths)];

		/* DMA registers take addresses: 32 or 64 bits at a time. */
		if ((flags & CONFORM_WL_ADDRS) && conform_rng_below(rng, 2)) {
			unsigned wide = (s->desc->access_sizes & VDEV_ACCESS_SIZE(8)) &&
						conform_rng_below(rng, 2)
					    ? 8
					    : 4;

			if (s->desc->access_sizes & VDEV_ACCESS_SIZE(wide))
				w = wide;
		}
		uint64_t span = r->length;
		uint64_t offset, value = 0;
		bool write;
		int rc;

		if (span < w)
			continue;
		/* Registers cluster at the start of a region. */
		if (span > 0x1000 && conform_rng_below(rng, 2))
			span = 0x1000;
		/* A DMA engine's few registers sit at the very start. */
		if ((flags & CONFORM_WL_ADDRS) && span > 0x40 && conform_rng_below(rng, 4) < 3)
			span = conform_rng_below(rng, 3) ? 0x40 : 0x100;
		offset = conform_rng_below(rng, span - w + 1) & ~(uint64_t)(w - 1);
		write = (flags & CONFORM_WL_WRITE) &&
			(!(flags & CONFORM_WL_READ) || conform_rng_below(rng, 2));
		if (!write && !(flags & CONFORM_WL_READ))
			continue;
		if (write) {
			value = (flags & CONFORM_WL_ADDRS) ? conform_dma_value(rng)
							   : conform_rng_next(rng);
			value &= width_mask(w);
			WHERE(flags, s->run, "step %u: write width %u value 0x%llx at 0x%llx", i, w,
			      (unsigned long long)value, (unsigned long long)(r->base + offset));
			rc = vdev_testhost_write(s->th, r->space, r->base + offset, w, value);
		} else {
			WHERE(flags, s->run, "step %u: read width %u at 0x%llx", i, w,
			      (unsigned long long)(r->base + offset));
			rc = vdev_testhost_read(s->th, r->space, r->base + offset, w, &value);
		}
		if (rc < 0 && rc != -EIO && rc != -ENXIO)
			odd++;
	}
	return odd;
}

/* ------------------------------------------------------------------ misc */

int conform_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

int conform_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

uint64_t conform_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
