/*
 * vdevs/virtio-blk/uring.c: io_uring on its three system calls.
 *
 * Why not liburing: a plugin imports only libc (tests/unit/plugin-exports.sh:
 * any host must be able to load it without more libraries), so liburing
 * could only be linked in statically. Debian's liburing.a would link into
 * the shared object (it has only PC-relative relocations: checked), but
 * the plugin would then carry a private copy that no liburing update
 * reaches, and every out-of-tree build of the device would need
 * liburing-dev, for six operations: set up one ring, fill entries,
 * submit, reap, wait, an eventfd. Those are io_uring_setup/enter/register
 * and the ring layout of <linux/io_uring.h> (Linux's uapi header, which is
 * the ABI itself), through libc's syscall(): about 150 lines, here.
 *
 * Memory ordering, as the kernel expects it (io_uring(7)): entries and the
 * index array are written before the SQ tail is published with a release
 * store; the CQ tail is read with an acquire load before the entries, and
 * the CQ head is published with a release store once they are consumed.
 */
#include "uring.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int uring_enter(struct uring *u, unsigned submit, unsigned min_complete, unsigned flags)
{
	long r = syscall(__NR_io_uring_enter, u->fd, submit, min_complete, flags, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

int uring_init(struct uring *u, unsigned entries)
{
	struct io_uring_params p;
	uint8_t *sq, *cq;
	long fd;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = 2 * entries;
	fd = syscall(__NR_io_uring_setup, entries, &p);
	if (fd < 0)
		return -errno;
	u->fd = (int)fd;
	if (!(p.features & IORING_FEAT_RW_CUR_POS)) {
		/* before Linux 5.6: no IORING_OP_READ/WRITE */
		uring_exit(u);
		return -EOPNOTSUPP;
	}
	u->entries = p.sq_entries < entries ? p.sq_entries : entries;
	u->sq_map_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	u->cq_map_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (u->cq_map_size > u->sq_map_size)
			u->sq_map_size = u->cq_map_size;
		u->cq_map_size = 0;
	}
	u->sq_map = mmap(NULL, u->sq_map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 u->fd, IORING_OFF_SQ_RING);
	if (u->sq_map == MAP_FAILED)
		goto fail;
	if (u->cq_map_size) {
		u->cq_map = mmap(NULL, u->cq_map_size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_CQ_RING);
		if (u->cq_map == MAP_FAILED)
			goto fail;
	} else {
		u->cq_map = u->sq_map;
	}
	u->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
	u->sqes = mmap(NULL, u->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		       IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED) {
		u->sqes = NULL;
		goto fail;
	}
	sq = u->sq_map;
	cq = u->cq_map;
	u->sq_head = (unsigned *)(sq + p.sq_off.head);
	u->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	u->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	u->sq_array = (unsigned *)(sq + p.sq_off.array);
	u->cq_head = (unsigned *)(cq + p.cq_off.head);
	u->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	u->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	u->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
fail : {
	int err = -errno;

	if (u->sq_map == MAP_FAILED)
		u->sq_map = NULL;
	if (u->cq_map == MAP_FAILED)
		u->cq_map = NULL;
	uring_exit(u);
	return err;
}
}

void uring_exit(struct uring *u)
{
	if (u->sqes)
		munmap(u->sqes, u->sqes_size);
	if (u->cq_map && u->cq_map != u->sq_map)
		munmap(u->cq_map, u->cq_map_size);
	if (u->sq_map)
		munmap(u->sq_map, u->sq_map_size);
	if (u->fd >= 0)
		close(u->fd);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

struct io_uring_sqe *uring_sqe(struct uring *u)
{
	unsigned tail, index;
	struct io_uring_sqe *sqe;

	if (u->fd < 0 || u->inflight >= u->entries)
		return NULL;
	/* the SQ has room: at most `entries` are in flight, and a submitted
	 * entry leaves the SQ before it completes */
	tail = *u->sq_tail + u->queued;
	index = tail & *u->sq_mask;
	sqe = &u->sqes[index];
	memset(sqe, 0, sizeof(*sqe));
	u->sq_array[index] = index;
	u->queued++;
	u->inflight++;
	return sqe;
}

int uring_submit(struct uring *u)
{
	unsigned pending;
	int r;

	if (u->fd < 0)
		return 0;
	if (u->queued) {
		__atomic_store_n(u->sq_tail, *u->sq_tail + u->queued, __ATOMIC_RELEASE);
		u->queued = 0;
	}
	/* entries a failed enter left in the ring go with these */
	pending = *u->sq_tail - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE);
	if (!pending)
		return 0;
	do {
		r = uring_enter(u, pending, 0, 0);
	} while (r == -EINTR);
	return r;
}

bool uring_reap(struct uring *u, struct io_uring_cqe *cqe)
{
	unsigned head = *u->cq_head;

	if (u->fd < 0 || head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE))
		return false;
	*cqe = u->cqes[head & *u->cq_mask];
	__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
	if (u->inflight)
		u->inflight--;
	return true;
}

int uring_wait(struct uring *u)
{
	int r;

	do {
		r = uring_enter(u, 0, 1, IORING_ENTER_GETEVENTS);
	} while (r == -EINTR);
	return r < 0 ? r : 0;
}

int uring_eventfd(struct uring *u, int efd)
{
	long r = syscall(__NR_io_uring_register, u->fd, IORING_REGISTER_EVENTFD, &efd, 1);

	return r < 0 ? -errno : 0;
}
