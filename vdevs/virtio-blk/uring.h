/*
 * vdevs/virtio-blk/uring.h: the little of io_uring virtio-blk needs, on
 * the raw system calls (uring.c says why not liburing).
 *
 * One ring, used by one thread at a time: the caller serialises every
 * call (virtio-blk: the instance lock, which covers the vCPU thread that
 * submits and the event loop that reaps). Errors are negative errno.
 */
#ifndef VDEVS_VIRTIO_BLK_URING_H
#define VDEVS_VIRTIO_BLK_URING_H

#include <linux/io_uring.h>
#include <stdbool.h>
#include <stddef.h>

struct uring {
	int fd; /* -1: no ring */
	unsigned entries;
	void *sq_map, *cq_map;
	size_t sq_map_size, cq_map_size;
	struct io_uring_sqe *sqes;
	size_t sqes_size;
	unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	unsigned queued;   /* SQEs filled since the last submit */
	unsigned inflight; /* submitted or queued, not reaped */
};

/* uring_init: a ring of `entries` (a power of two) submissions. Returns 0;
 * -ENOSYS, -EPERM (seccomp, io_uring_disabled), -ENOMEM... when the kernel
 * will not give one (then u->fd is -1 and uring_exit is harmless). */
int uring_init(struct uring *u, unsigned entries);
void uring_exit(struct uring *u);

/* uring_sqe: a zeroed submission entry to fill, or NULL when as many
 * requests are in flight as the ring holds (the completion ring, twice
 * the size, can then never overflow). Submitted by uring_submit. */
struct io_uring_sqe *uring_sqe(struct uring *u);
/* uring_submit: hand the filled entries to the kernel. Returns how many
 * it took, or a negative errno (the entries stay queued). */
int uring_submit(struct uring *u);
/* uring_reap: take the next completion into *cqe; false when none. */
bool uring_reap(struct uring *u, struct io_uring_cqe *cqe);
/* uring_wait: block until at least one completion is there. */
int uring_wait(struct uring *u);
/* uring_eventfd: signal `efd` on every completion. */
int uring_eventfd(struct uring *u, int efd);

#endif
