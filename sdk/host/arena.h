/*
 * sdk/host/arena.h: one allocation pool freed at once.
 *
 * The host side builds an instance's configuration (option values, texts,
 * locations) out of many small pieces that all live exactly as long as the
 * instance. An arena holds them so that teardown is one call and no piece
 * can leak or be freed twice. Not thread-safe: one owner at a time.
 */
#ifndef VDEV_HOST_ARENA_H
#define VDEV_HOST_ARENA_H

#include <stddef.h>

struct vdev_arena;

/* vdev_arena_new: an empty arena. NULL on ENOMEM. */
struct vdev_arena *vdev_arena_new(void);
/* vdev_arena_free: frees the arena and everything allocated from it. NULL is a no-op. */
void vdev_arena_free(struct vdev_arena *a);
/* vdev_arena_alloc: `size` zeroed bytes aligned for any type, valid until
 * vdev_arena_free. NULL on ENOMEM (or size overflow). */
void *vdev_arena_alloc(struct vdev_arena *a, size_t size);
/* vdev_arena_calloc: `count` elements of `size` bytes, zeroed; NULL on overflow/ENOMEM. */
void *vdev_arena_calloc(struct vdev_arena *a, size_t count, size_t size);
/* vdev_arena_strdup: a copy of s in the arena; NULL for s NULL or on ENOMEM. */
char *vdev_arena_strdup(struct vdev_arena *a, const char *s);

#endif /* VDEV_HOST_ARENA_H */
