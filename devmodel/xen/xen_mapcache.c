/*
 * devmodel/xen/xen_mapcache.c: buckets of foreign-mapped guest RAM.
 *
 * A bucket belongs to one RAM range: it starts at range.start + k * size and
 * is cut at the range's end, so it never asks Xen for a page the guest was
 * not given as RAM. Copies are checked before anything is copied (every
 * byte inside RAM, every page of every touched bucket mapped), as
 * guest_mem does, so a refused access has no partial effect.
 *
 * Copies run under the cache lock: a bucket cannot be evicted or
 * invalidated under a memcpy. Pointers handed out by map() outlive the
 * lock, hence the retired list (see the header).
 */
#include "devmodel/xen/xen_mapcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

const struct xen_mapcache_params xen_mapcache_default_params = {
	.bucket_shift = 20,
	.max_buckets = 64,
	.grace_ns = 1000000000ull,
};

struct xen_mapcache_bucket {
	uint64_t gpa;	 /* first byte */
	size_t length;	 /* bytes, whole pages */
	uint8_t *host;	 /* NULL: slot free */
	uint8_t *bad;	 /* per page: Xen refused to map it */
	uint64_t used;	 /* LRU tick */
	bool lent;	 /* a pointer into it was handed out */
};

struct xen_mapcache_retired {
	void *host;
	size_t pages;
	uint64_t since_ns;
};

struct xen_mapcache {
	xenforeignmemory_handle *fmem;
	uint32_t domid;
	struct xen_mapcache_range *ranges;
	unsigned range_count;
	struct xen_mapcache_params params;
	struct xen_mapcache_bucket *buckets;
	struct xen_mapcache_retired *retired;
	unsigned retired_count, retired_cap;
	uint64_t tick;
	struct xen_mapcache_stats stats;
	pthread_mutex_t lock;
};

static uint64_t mapcache_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int range_cmp(const void *a, const void *b)
{
	const struct xen_mapcache_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int xen_mapcache_new(xenforeignmemory_handle *fmem, uint32_t domid,
		     const struct xen_mapcache_range *ranges, unsigned count,
		     const struct xen_mapcache_params *params, struct xen_mapcache **out)
{
	struct xen_mapcache *mc;

	*out = NULL;
	if (!params)
		params = &xen_mapcache_default_params;
	if (params->bucket_shift < XEN_MAPCACHE_PAGE_SHIFT || params->bucket_shift > 30 ||
	    params->max_buckets == 0)
		return -EINVAL;
	for (unsigned i = 0; i < count; i++) {
		const struct xen_mapcache_range *r = &ranges[i];

		if (r->length == 0 || ((r->start | r->length) & (XEN_MAPCACHE_PAGE_SIZE - 1)) ||
		    r->start + r->length < r->start)
			return -EINVAL;
	}
	mc = calloc(1, sizeof(*mc));
	if (!mc)
		return -ENOMEM;
	mc->ranges = calloc(count ? count : 1, sizeof(*mc->ranges));
	mc->buckets = calloc(params->max_buckets, sizeof(*mc->buckets));
	if (!mc->ranges || !mc->buckets) {
		free(mc->ranges);
		free(mc->buckets);
		free(mc);
		return -ENOMEM;
	}
	if (count)
		memcpy(mc->ranges, ranges, count * sizeof(*ranges));
	qsort(mc->ranges, count, sizeof(*mc->ranges), range_cmp);
	for (unsigned i = 1; i < count; i++) {
		if (mc->ranges[i - 1].start + mc->ranges[i - 1].length > mc->ranges[i].start) {
			free(mc->ranges);
			free(mc->buckets);
			free(mc);
			return -EINVAL;
		}
	}
	mc->range_count = count;
	mc->fmem = fmem;
	mc->domid = domid;
	mc->params = *params;
	pthread_mutex_init(&mc->lock, NULL);
	*out = mc;
	return 0;
}

static void bucket_unmap(struct xen_mapcache *mc, struct xen_mapcache_bucket *b)
{
	xenforeignmemory_unmap(mc->fmem, b->host, b->length >> XEN_MAPCACHE_PAGE_SHIFT);
	mc->stats.unmaps++;
	mc->stats.mapped--;
	free(b->bad);
	memset(b, 0, sizeof(*b));
}

/* Keep a mapping someone may still point into; 0 or -ENOMEM (then unmapped). */
static int mapcache_retire(struct xen_mapcache *mc, void *host, size_t pages)
{
	if (mc->retired_count == mc->retired_cap) {
		unsigned cap = mc->retired_cap ? mc->retired_cap * 2 : 8;
		struct xen_mapcache_retired *n = realloc(mc->retired, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		mc->retired = n;
		mc->retired_cap = cap;
	}
	mc->retired[mc->retired_count++] = (struct xen_mapcache_retired){
		.host = host, .pages = pages, .since_ns = mapcache_now_ns() };
	return 0;
}

/* Drop a bucket: unmap it, or retire it when a pointer into it was lent. */
static void bucket_drop(struct xen_mapcache *mc, struct xen_mapcache_bucket *b)
{
	if (b->lent && mapcache_retire(mc, b->host, b->length >> XEN_MAPCACHE_PAGE_SHIFT) == 0) {
		/* still counted in stats.mapped until the retired entry goes */
		free(b->bad);
		memset(b, 0, sizeof(*b));
		return;
	}
	bucket_unmap(mc, b);
}

static void mapcache_reap(struct xen_mapcache *mc, bool all)
{
	uint64_t now = mapcache_now_ns();
	unsigned k = 0;

	for (unsigned i = 0; i < mc->retired_count; i++) {
		struct xen_mapcache_retired *r = &mc->retired[i];

		if (all || now - r->since_ns >= mc->params.grace_ns) {
			xenforeignmemory_unmap(mc->fmem, r->host, r->pages);
			mc->stats.unmaps++;
			mc->stats.mapped--;
		} else {
			mc->retired[k++] = *r;
		}
	}
	mc->retired_count = k;
}

void xen_mapcache_free(struct xen_mapcache *mc)
{
	if (!mc)
		return;
	for (unsigned i = 0; i < mc->params.max_buckets; i++)
		if (mc->buckets[i].host)
			bucket_unmap(mc, &mc->buckets[i]);
	mapcache_reap(mc, true);
	pthread_mutex_destroy(&mc->lock);
	free(mc->retired);
	free(mc->buckets);
	free(mc->ranges);
	free(mc);
}

/* The RAM range holding gpa, or NULL. */
static const struct xen_mapcache_range *mapcache_range(const struct xen_mapcache *mc, uint64_t gpa)
{
	for (unsigned i = 0; i < mc->range_count; i++) {
		const struct xen_mapcache_range *r = &mc->ranges[i];

		if (gpa >= r->start && gpa - r->start < r->length)
			return r;
	}
	return NULL;
}

int xen_mapcache_contains(const struct xen_mapcache *mc, uint64_t gpa, size_t length)
{
	uint64_t last = gpa + (length - 1);

	if (length == 0 || last < gpa)
		return 0;
	while (true) {
		const struct xen_mapcache_range *r = mapcache_range(mc, gpa);
		uint64_t rlast;

		if (!r)
			return 0;
		rlast = r->start + (r->length - 1);
		if (last <= rlast)
			return 1;
		gpa = rlast + 1; /* may continue into an adjacent range */
	}
}

/* Map n pages starting at gpa; the per-page results in bad[] (may be NULL). */
static void *mapcache_map_pages(struct xen_mapcache *mc, uint64_t gpa, size_t pages,
				uint8_t *bad)
{
	xen_pfn_t *pfns = calloc(pages, sizeof(*pfns));
	int *err = calloc(pages, sizeof(*err));
	void *host = NULL;

	if (pfns && err) {
		for (size_t i = 0; i < pages; i++)
			pfns[i] = (xen_pfn_t)((gpa >> XEN_MAPCACHE_PAGE_SHIFT) + i);
		host = xenforeignmemory_map(mc->fmem, mc->domid, PROT_READ | PROT_WRITE, pages,
					    pfns, err);
		if (host) {
			mc->stats.maps++;
			mc->stats.mapped++;
			for (size_t i = 0; i < pages; i++) {
				if (bad)
					bad[i] = err[i] != 0;
				else if (err[i]) {
					/* an ad-hoc map must be whole */
					xenforeignmemory_unmap(mc->fmem, host, pages);
					mc->stats.unmaps++;
					mc->stats.mapped--;
					host = NULL;
					errno = EFAULT;
					break;
				}
			}
		}
	} else {
		errno = ENOMEM;
	}
	free(pfns);
	free(err);
	return host;
}

/* The bucket holding gpa (which is RAM), mapping it if needed; NULL on error. */
static struct xen_mapcache_bucket *mapcache_bucket(struct xen_mapcache *mc, uint64_t gpa)
{
	const struct xen_mapcache_range *r = mapcache_range(mc, gpa);
	uint64_t size = 1ull << mc->params.bucket_shift;
	uint64_t start = r->start + (((gpa - r->start) >> mc->params.bucket_shift)
				     << mc->params.bucket_shift);
	uint64_t end = r->start + r->length;
	struct xen_mapcache_bucket *b = NULL, *lru = NULL;
	size_t pages;

	for (unsigned i = 0; i < mc->params.max_buckets; i++) {
		struct xen_mapcache_bucket *c = &mc->buckets[i];

		if (c->host && c->gpa == start) {
			c->used = ++mc->tick;
			mc->stats.hits++;
			return c;
		}
		if (!c->host && !b)
			b = c;
		if (c->host && (!lru || c->used < lru->used))
			lru = c;
	}
	if (!b) {
		bucket_drop(mc, lru);
		mc->stats.evictions++;
		b = lru;
	}
	mapcache_reap(mc, false);
	b->length = (size_t)(end - start < size ? end - start : size);
	pages = b->length >> XEN_MAPCACHE_PAGE_SHIFT;
	b->bad = calloc(pages, 1);
	if (!b->bad) {
		b->length = 0;
		errno = ENOMEM;
		return NULL;
	}
	b->host = mapcache_map_pages(mc, start, pages, b->bad);
	if (!b->host) {
		free(b->bad);
		memset(b, 0, sizeof(*b));
		return NULL;
	}
	b->gpa = start;
	b->used = ++mc->tick;
	return b;
}

/* Are the pages of [gpa, gpa+n) in bucket b all mapped? */
static bool bucket_pages_ok(const struct xen_mapcache_bucket *b, uint64_t gpa, size_t n)
{
	size_t first = (size_t)((gpa - b->gpa) >> XEN_MAPCACHE_PAGE_SHIFT);
	size_t last = (size_t)((gpa + n - 1 - b->gpa) >> XEN_MAPCACHE_PAGE_SHIFT);

	for (size_t p = first; p <= last; p++)
		if (b->bad[p])
			return false;
	return true;
}

/*
 * Walk [gpa, gpa+length) bucket by bucket; copy when buf is not NULL,
 * else only check. 0, -EFAULT or -ENOMEM.
 */
static int mapcache_walk(struct xen_mapcache *mc, uint64_t gpa, uint8_t *buf, size_t length,
			 bool to_guest)
{
	while (length > 0) {
		struct xen_mapcache_bucket *b = mapcache_bucket(mc, gpa);
		uint64_t off;
		size_t n;

		if (!b)
			return errno == ENOMEM ? -ENOMEM : -EFAULT;
		off = gpa - b->gpa;
		n = b->length - off < length ? (size_t)(b->length - off) : length;
		if (!bucket_pages_ok(b, gpa, n))
			return -EFAULT;
		if (buf) {
			if (to_guest)
				memcpy(b->host + off, buf, n);
			else
				memcpy(buf, b->host + off, n);
			buf += n;
		}
		gpa += n;
		length -= n;
	}
	return 0;
}

static int mapcache_copy(struct xen_mapcache *mc, uint64_t gpa, void *buf, size_t length,
			 bool to_guest)
{
	int rc;

	if (length == 0)
		return 0;
	if (!xen_mapcache_contains(mc, gpa, length)) {
		pthread_mutex_lock(&mc->lock);
		mc->stats.refused++;
		pthread_mutex_unlock(&mc->lock);
		return -EFAULT;
	}
	pthread_mutex_lock(&mc->lock);
	/* check first, copy second: a refused copy copies nothing */
	rc = mapcache_walk(mc, gpa, NULL, length, to_guest);
	if (rc == 0)
		rc = mapcache_walk(mc, gpa, buf, length, to_guest);
	if (rc < 0)
		mc->stats.refused++;
	pthread_mutex_unlock(&mc->lock);
	return rc;
}

int xen_mapcache_read(struct xen_mapcache *mc, uint64_t gpa, void *buf, size_t length)
{
	return mapcache_copy(mc, gpa, buf, length, false);
}

int xen_mapcache_write(struct xen_mapcache *mc, uint64_t gpa, const void *buf, size_t length)
{
	return mapcache_copy(mc, gpa, (void *)buf, length, true);
}

void *xen_mapcache_map(struct xen_mapcache *mc, uint64_t gpa, size_t length)
{
	struct xen_mapcache_bucket *b;
	void *p = NULL;

	if (length == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (!xen_mapcache_contains(mc, gpa, length)) {
		errno = EFAULT;
		goto refused;
	}
	pthread_mutex_lock(&mc->lock);
	b = mapcache_bucket(mc, gpa);
	if (b && gpa + length - b->gpa <= b->length) {
		if (bucket_pages_ok(b, gpa, length)) {
			b->lent = true;
			p = b->host + (gpa - b->gpa);
		} else {
			errno = EFAULT;
		}
	} else if (b) {
		/* spans buckets (or ranges): a mapping of its own, retired at once */
		uint64_t first = gpa & ~(uint64_t)(XEN_MAPCACHE_PAGE_SIZE - 1);
		size_t pages = (size_t)((gpa + length - 1 - first) >> XEN_MAPCACHE_PAGE_SHIFT) + 1;
		uint8_t *host = mapcache_map_pages(mc, first, pages, NULL);

		if (host) {
			if (mapcache_retire(mc, host, pages) < 0) {
				xenforeignmemory_unmap(mc->fmem, host, pages);
				mc->stats.unmaps++;
				mc->stats.mapped--;
				errno = ENOMEM;
			} else {
				p = host + (gpa - first);
			}
		}
	}
	if (!p)
		mc->stats.refused++;
	pthread_mutex_unlock(&mc->lock);
	return p;
refused:
	pthread_mutex_lock(&mc->lock);
	mc->stats.refused++;
	pthread_mutex_unlock(&mc->lock);
	return NULL;
}

void xen_mapcache_invalidate(struct xen_mapcache *mc)
{
	pthread_mutex_lock(&mc->lock);
	for (unsigned i = 0; i < mc->params.max_buckets; i++)
		if (mc->buckets[i].host)
			bucket_drop(mc, &mc->buckets[i]);
	mapcache_reap(mc, false);
	mc->stats.invalidations++;
	pthread_mutex_unlock(&mc->lock);
}

void xen_mapcache_get_stats(struct xen_mapcache *mc, struct xen_mapcache_stats *stats)
{
	pthread_mutex_lock(&mc->lock);
	*stats = mc->stats;
	pthread_mutex_unlock(&mc->lock);
}
