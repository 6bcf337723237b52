/*
 * devmodel/guest_mem.c: sorted ranges, binary search, checked copies.
 *
 * A copy first walks the ranges to check that every byte is backed (and of
 * an allowed kind), then copies: a partial copy would let a guest observe
 * half-done device DMA on an access that is reported as failed. Backend
 * RAM (no host memory) counts as backed for that check; its bytes are
 * copied by the backend, one call per range.
 */
#include "devmodel/guest_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vdev/vdev.h>

struct guest_mem {
	struct guest_mem_range *range;
	unsigned count, cap;
	struct guest_mem_backend backend;
	bool has_backend;
};

struct guest_mem *guest_mem_new(void)
{
	return calloc(1, sizeof(struct guest_mem));
}

void guest_mem_free(struct guest_mem *gm)
{
	if (!gm)
		return;
	for (unsigned i = 0; i < gm->count; i++)
		if (gm->range[i].host && !gm->range[i].external)
			munmap(gm->range[i].host, gm->range[i].length);
	free(gm->range);
	free(gm);
}

void guest_mem_set_backend(struct guest_mem *gm, const struct guest_mem_backend *b)
{
	gm->has_backend = b != NULL;
	if (b)
		gm->backend = *b;
}

const char *guest_mem_kind_name(enum guest_mem_kind kind)
{
	switch (kind) {
	case GUEST_MEM_RAM:
		return "ram";
	case GUEST_MEM_ROM:
		return "rom";
	case GUEST_MEM_RESERVE:
		return "reserve";
	}
	return "?";
}

/* Index of the last range starting at or below gpa, or -1. */
static long guest_mem_search(const struct guest_mem *gm, uint64_t gpa)
{
	long lo = 0, hi = (long)gm->count - 1, found = -1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;

		if (gm->range[mid].start <= gpa) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

int guest_mem_add(struct guest_mem *gm, enum guest_mem_kind kind, uint64_t start, uint64_t length,
		  void *host, struct guest_mem_range *conflict)
{
	uint64_t last;
	long below;
	unsigned at;
	struct guest_mem_range r = {.kind = kind, .start = start, .length = length};

	if (length == 0 ||
	    (kind != GUEST_MEM_RAM && kind != GUEST_MEM_ROM && kind != GUEST_MEM_RESERVE))
		return -EINVAL;
	last = start + (length - 1);
	if (last < start)
		return -EINVAL;
	below = guest_mem_search(gm, start);
	if (below >= 0) {
		const struct guest_mem_range *b = &gm->range[below];

		if (b->start + (b->length - 1) >= start) {
			if (conflict)
				*conflict = *b;
			return -EEXIST;
		}
	}
	at = (unsigned)(below + 1);
	if (at < gm->count && gm->range[at].start <= last) {
		if (conflict)
			*conflict = gm->range[at];
		return -EEXIST;
	}
	if (kind != GUEST_MEM_RESERVE) {
		if (host) {
			r.host = host;
			r.external = 1;
		} else if (kind == GUEST_MEM_RAM && gm->has_backend) {
			r.via_backend = 1;
		} else {
			if (length > SIZE_MAX)
				return -ENOMEM;
			r.host = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (r.host == MAP_FAILED)
				return -ENOMEM;
		}
	}
	if (gm->count == gm->cap) {
		unsigned cap = gm->cap ? gm->cap * 2 : 8;
		struct guest_mem_range *n = realloc(gm->range, cap * sizeof(*n));

		if (!n) {
			if (r.host && !r.external)
				munmap(r.host, (size_t)length);
			return -ENOMEM;
		}
		gm->range = n;
		gm->cap = cap;
	}
	memmove(&gm->range[at + 1], &gm->range[at], (gm->count - at) * sizeof(gm->range[0]));
	gm->range[at] = r;
	gm->count++;
	return 0;
}

unsigned guest_mem_count(const struct guest_mem *gm)
{
	return gm->count;
}

const struct guest_mem_range *guest_mem_range_at(const struct guest_mem *gm, unsigned index)
{
	return index < gm->count ? &gm->range[index] : NULL;
}

/* Has the range bytes to access (host memory, or a backend installed now)? */
static bool guest_mem_backed(const struct guest_mem *gm, const struct guest_mem_range *r)
{
	return r->host || (r->via_backend && gm->has_backend);
}

/*
 * Is every byte of [gpa, gpa+length) backed by a range whose kind is in
 * `kinds` (bit per kind)? length > 0.
 */
static bool guest_mem_covered(const struct guest_mem *gm, uint64_t gpa, size_t length,
			      unsigned kinds)
{
	uint64_t last = gpa + (length - 1);
	long i;

	if (last < gpa)
		return false;
	i = guest_mem_search(gm, gpa);
	if (i < 0)
		return false;
	for (;;) {
		const struct guest_mem_range *r = &gm->range[i];
		uint64_t rlast = r->start + (r->length - 1);

		if (gpa < r->start || gpa > rlast || !guest_mem_backed(gm, r) ||
		    !(kinds & (1u << r->kind)))
			return false;
		if (last <= rlast)
			return true;
		/* continue only into a range that starts right after this one */
		gpa = rlast + 1;
		if ((unsigned long)++i >= gm->count)
			return false;
	}
}

/* Copy between guest and buf, assuming guest_mem_covered said yes. */
static int guest_mem_copy(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t length,
			  bool to_guest)
{
	uint8_t *p = buf;

	while (length > 0) {
		const struct guest_mem_range *r = &gm->range[guest_mem_search(gm, gpa)];
		uint64_t off = gpa - r->start;
		uint64_t avail = r->length - off;
		size_t n = avail < length ? (size_t)avail : length;

		if (r->via_backend) {
			int ret = to_guest ? gm->backend.write(gm->backend.ctx, gpa, p, n)
					   : gm->backend.read(gm->backend.ctx, gpa, p, n);

			if (ret < 0)
				return ret;
		} else if (to_guest) {
			memcpy(r->host + off, p, n);
		} else {
			memcpy(p, r->host + off, n);
		}
		p += n;
		gpa += n;
		length -= n;
	}
	return 0;
}

#define KIND_BIT(k) (1u << (k))

int guest_mem_read(const struct guest_mem *gm, uint64_t gpa, void *buf, size_t length)
{
	if (length == 0)
		return 0;
	if (!guest_mem_covered(gm, gpa, length, KIND_BIT(GUEST_MEM_RAM) | KIND_BIT(GUEST_MEM_ROM)))
		return -EFAULT;
	return guest_mem_copy(gm, gpa, buf, length, false);
}

int guest_mem_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t length)
{
	if (length == 0)
		return 0;
	if (!guest_mem_covered(gm, gpa, length, KIND_BIT(GUEST_MEM_RAM)))
		return -EFAULT;
	return guest_mem_copy(gm, gpa, (void *)buf, length, true);
}

int guest_mem_load(const struct guest_mem *gm, uint64_t gpa, const void *buf, size_t length)
{
	if (length == 0)
		return 0;
	if (!guest_mem_covered(gm, gpa, length, KIND_BIT(GUEST_MEM_RAM) | KIND_BIT(GUEST_MEM_ROM)))
		return -EFAULT;
	return guest_mem_copy(gm, gpa, (void *)buf, length, true);
}

void *guest_mem_map(const struct guest_mem *gm, uint64_t gpa, size_t length, uint32_t prot)
{
	const struct guest_mem_range *r;
	uint64_t last;
	long i;

	if (length == 0 || prot == 0 || (prot & ~(VDEV_MAP_READ | VDEV_MAP_WRITE))) {
		errno = EINVAL;
		return NULL;
	}
	last = gpa + (length - 1);
	i = guest_mem_search(gm, gpa);
	if (last < gpa || i < 0)
		goto fault;
	r = &gm->range[i];
	if (!guest_mem_backed(gm, r) || last > r->start + (r->length - 1))
		goto fault;
	if ((prot & VDEV_MAP_WRITE) && r->kind != GUEST_MEM_RAM)
		goto fault;
	if (r->via_backend)
		return gm->backend.map(gm->backend.ctx, gpa, length, prot);
	return r->host + (gpa - r->start);
fault:
	errno = EFAULT;
	return NULL;
}
