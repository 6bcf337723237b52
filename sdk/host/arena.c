/*
 * sdk/host/arena.c: a bump allocator over a chain of malloc'd blocks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/host/arena.h"

#define ARENA_BLOCK 4096
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	/* Keeps data[] aligned for any type. */
	max_align_t data[];
};

struct vdev_arena {
	struct arena_block *blocks;
};

struct vdev_arena *vdev_arena_new(void)
{
	return calloc(1, sizeof(struct vdev_arena));
}

void vdev_arena_free(struct vdev_arena *a)
{
	struct arena_block *b, *next;

	if (!a)
		return;
	for (b = a->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void *vdev_arena_alloc(struct vdev_arena *a, size_t size)
{
	struct arena_block *b = a->blocks;
	size_t need, block_size;
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need == 0)
		need = ARENA_ALIGN;
	if (!b || b->size - b->used < need) {
		block_size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
		b = malloc(sizeof(*b) + block_size);
		if (!b)
			return NULL;
		b->size = block_size;
		b->used = 0;
		/* A big one-off allocation goes behind the current block so
		 * that the current block's free space is not lost. */
		if (a->blocks && need > ARENA_BLOCK) {
			b->next = a->blocks->next;
			a->blocks->next = b;
		} else {
			b->next = a->blocks;
			a->blocks = b;
		}
	}
	p = (char *)b->data + b->used;
	b->used += need;
	memset(p, 0, size);
	return p;
}

void *vdev_arena_calloc(struct vdev_arena *a, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / 2 / size)
		return NULL;
	return vdev_arena_alloc(a, count * size);
}

char *vdev_arena_strdup(struct vdev_arena *a, const char *s)
{
	size_t n;
	char *p;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	p = vdev_arena_alloc(a, n);
	if (p)
		memcpy(p, s, n);
	return p;
}
