/*
 * sdk/lib/virtio_internal.h: what the virtio helper's files share
 * (virtio.c: transports, status, state; virtio_queue.c: split rings;
 * virtio_worker.c: worker threads). Not part of the SDK's API; installed
 * beside the sources because they include it. Names end in __ so that
 * they cannot collide with a plugin's own.
 */
#ifndef VDEV_SDK_VIRTIO_INTERNAL_H
#define VDEV_SDK_VIRTIO_INTERNAL_H

#include <vdev/virtio.h>

/* Raise queue `queue`'s used-buffer interrupt (MSI-X vector, or ISR + line). */
void vdev_virtio_raise_queue__(struct vdev_virtio *vio, unsigned queue);

/* Is [gpa, gpa + len) guest RAM (writable) or RAM/ROM (readable)? */
bool vdev_virtio_mem_ok__(struct vdev_virtio *vio, uint64_t gpa, uint64_t len, bool writable);

/* A malformed ring or chain on `queue`: log `what` once, NEEDS_RESET. */
void vdev_virtio_malformed__(struct vdev_virtio *vio, unsigned queue, const char *what);

/* A queue's first last_avail/used_idx: 0 (split), or position 0 with
 * the wrap counter 1 (packed). */
uint16_t vdev_virtio_queue_start__(const struct vdev_virtio *vio);

/* Stop and join the worker threads, complete what is left, free it. */
void vdev_virtio_worker_free__(struct vdev_virtio *vio);

#endif
