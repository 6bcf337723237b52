/*
 * vdevs/virtio-blk/virtio-blk.c: a virtio block device (VIRTIO 1.2
 * section 5.2, device id 2) on the SDK's virtio helper, backed by a raw
 * image file or a block device.
 *
 *	vdev virtio-blk hostdev /var/vm/disk.img                 # virtio-pci
 *	vdev virtio-blk hostdev <disk.img serial vm1-disk0       # read-only
 *	vdev virtio-blk hostdev disk.img loc 0xd0000000 intr ioapic:5  # MMIO
 *
 * Options: `hostdev [<]FILE` (required; `<` opens it read-only and offers
 * VIRTIO_BLK_F_RO), `serial` (GET_ID's answer, up to 20 bytes),
 * `threads` (I/O threads, 1..32 [4]: that many requests in flight),
 * `queues` (request queues, 1..8 [1]; more than one offers
 * VIRTIO_BLK_F_MQ), `dio disable|enable|read` [disable] (as qvm: direct
 * I/O, O_DIRECT, for reads and writes or for reads only; when the file
 * cannot be opened so, or a direct transfer is refused, the device falls
 * back to buffered I/O for good and logs it once), `aio threads|io_uring`
 * [io_uring] (who does reads, writes and flushes: the I/O threads, or the
 * kernel through an io_uring submitted from the vCPU thread, see
 * "io_uring" below; where the kernel or a sandbox refuses a ring the
 * device says so once and uses the threads; discard and write-zeroes
 * always run on the threads). tests/bench/blk.sh measures the two.
 *
 * Requests (5.2.6): IN (read), OUT (write), FLUSH (fdatasync: a completed
 * flush means every write completed before it is on stable storage; and
 * a driver that did not negotiate VIRTIO_BLK_F_FLUSH sees no write cache
 * at all (5.2.5: writeback only with FLUSH), so then every write, discard
 * and write-zeroes is synced before it completes),
 * GET_ID, DISCARD (punch a hole; advisory, so a backend that cannot punch
 * still answers OK) and WRITE_ZEROES (punch a hole or zero the range,
 * else write zeros). The capacity is the image's size in 512-byte
 * sectors (a partial last sector is not exposed). Limits offered:
 * SIZE_MAX 64 KiB per segment and SEG_MAX 126 segments, so a request's
 * data never exceeds BLK_DATA_MAX; larger ones, ranges past the capacity,
 * lengths that are not whole sectors, and every host I/O error are
 * answered VIRTIO_BLK_S_IOERR; unknown types VIRTIO_BLK_S_UNSUPP. A
 * request without a readable header or a writable status byte is a
 * driver bug the device cannot answer: it needs reset.
 *
 * Threads: a request is parsed on the vCPU thread that kicked; written
 * data is copied out of guest memory there; the file I/O runs on the
 * SDK worker threads or in the kernel (io_uring); the completion (read data into guest memory,
 * status byte, used ring, interrupt) on the host's event loop. A vCPU
 * never waits for the disk.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fallocate */
#endif
#include <endian.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <vdev/state.h>
#include <vdev/vdev.h>
#include <vdev/virtio.h>

#include "uring.h"

#define BLK_NAME	  "virtio-blk"
#define BLK_STATE_VERSION 1
#define BLK_QUEUE_SIZE	  256
#define BLK_SECTOR	  512u
#define BLK_SIZE_MAX	  65536u
#define BLK_SEG_MAX	  126u
#define BLK_DATA_MAX	  (BLK_SIZE_MAX * BLK_SEG_MAX)
#define BLK_ID_BYTES	  20u
#define BLK_DISCARD_SEG	  16u
#define BLK_DISCARD_MAX	  0x400000u /* sectors (2 GiB) per segment */
#define BLK_HEADER	  16u
#define BLK_RING_ENTRIES  256u /* requests in the kernel at once; more wait */
/* tests/bench/blk.sh measures both on one image (make bench) */
#define BLK_AIO_DEFAULT "io_uring"

/* Feature bits (5.2.3). */
#define BLK_F_SIZE_MAX	   1
#define BLK_F_SEG_MAX	   2
#define BLK_F_RO	   5
#define BLK_F_BLK_SIZE	   6
#define BLK_F_FLUSH	   9
#define BLK_F_MQ	   12
#define BLK_F_DISCARD	   13
#define BLK_F_WRITE_ZEROES 14

/* Request types and status (5.2.6). */
#define BLK_T_IN	   0
#define BLK_T_OUT	   1
#define BLK_T_FLUSH	   4
#define BLK_T_GET_ID	   8
#define BLK_T_DISCARD	   11
#define BLK_T_WRITE_ZEROES 13
#define BLK_S_OK	   0
#define BLK_S_IOERR	   1
#define BLK_S_UNSUPP	   2

/* struct virtio_blk_config, as the driver reads it (little-endian). */
struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

enum blk_option { OPT_HOSTDEV, OPT_SERIAL, OPT_THREADS, OPT_QUEUES, OPT_DIO, OPT_AIO, OPT_COUNT };
enum blk_dio { DIO_DISABLE, DIO_ENABLE, DIO_READ };
static const char *const blk_dio_choices[] = {"disable", "enable", "read", NULL};
enum blk_aio { AIO_THREADS, AIO_IO_URING };
static const char *const blk_aio_choices[] = {"threads", "io_uring", NULL};

static const struct vdev_option_spec blk_options[OPT_COUNT] = {
    [OPT_HOSTDEV] =
	{
	    .name = "hostdev",
	    .type = VDEV_OPT_STRING,
	    .flags = VDEV_OPTF_REQUIRED,
	    .help = "[<]FILE: the raw image or block device (< read-only)",
	},
    [OPT_SERIAL] =
	{
	    .name = "serial",
	    .type = VDEV_OPT_STRING,
	    .default_value = "",
	    .help = "the disk's serial number for GET_ID (up to 20 bytes)",
	},
    [OPT_THREADS] =
	{
	    .name = "threads",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "4",
	    .help = "I/O threads: requests in flight (1..32)",
	    .min = 1,
	    .max = 32,
	},
    [OPT_QUEUES] =
	{
	    .name = "queues",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "1",
	    .help = "request queues (1..8; more than 1 offers MQ)",
	    .min = 1,
	    .max = 8,
	},
    [OPT_DIO] =
	{
	    .name = "dio",
	    .type = VDEV_OPT_ENUM,
	    .default_value = "disable",
	    .help = "direct I/O: disable, enable (reads and writes), read (reads only)",
	    .choices = blk_dio_choices,
	},
    [OPT_AIO] =
	{
	    .name = "aio",
	    .type = VDEV_OPT_ENUM,
	    .default_value = BLK_AIO_DEFAULT,
	    .help = "reads, writes, flushes: threads (the I/O threads) or io_uring",
	    .choices = blk_aio_choices,
	},
};

/*
 * The image as the I/O threads use it, apart from the instance: destroy
 * does not wait for a transfer in progress (vdev_virtio_destroy abandons
 * it), so the descriptors must stay open, and not be reused for another
 * file, until the last request holding them is freed. Counted: the
 * instance's reference and one per request.
 */
struct blk_file {
	unsigned refs; /* atomic */
	int fd;
	int dio_fd;	 /* the same file with O_DIRECT, or -1 */
	unsigned dio;	 /* enum blk_dio */
	bool dio_failed; /* a direct transfer was refused: buffered from now on */
	uint64_t sectors;
};

struct blk {
	struct vdev_virtio vio;
	const struct vdev_host *host;
	vdev_host_t *h;
	struct blk_config config;
	struct blk_file *file;
	bool dio_logged;
	bool read_only;
	char serial[BLK_ID_BYTES];
	struct vdev_virtio_chain chain;
	/* aio io_uring: reads, writes and flushes go through the ring (fd -1:
	 * through the worker), completions come back on ring_efd */
	struct uring ring;
	int ring_efd;
	struct vdev_watch *ring_watch;
	bool ring_failed;
	bool writes_on_threads; /* the ring cannot write this file without blocking */
	struct blk_req *backlog, **backlog_tail; /* waiting for room in the ring */
};

/* One request on its way through the worker. */
struct blk_req {
	struct vdev_virtio_job job;
	struct blk_file *file; /* a reference */
	uint32_t type;
	uint64_t sector;
	size_t length; /* data bytes */
	uint8_t status;
	bool writethrough; /* FLUSH not negotiated: sync before completing */
	uint8_t *data;
	struct vdev_virtio_chain chain;
	/* on the ring: */
	struct blk_req *next;
	size_t done_bytes; /* of a transfer the kernel did in pieces */
	bool syncing;	   /* writethrough: written, its fdatasync is on the ring */
	bool direct;	   /* the transfer in the ring uses dio_fd */
};

/* ------------------------------------------------------------ backend I/O */

static bool blk_pio_all(int fd, uint8_t *buf, size_t length, uint64_t offset, bool write)
{
	while (length) {
		ssize_t n = write ? pwrite(fd, buf, length, (off_t)offset)
				  : pread(fd, buf, length, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false; /* an error, or the image shrank under us */
		buf += n;
		length -= (size_t)n;
		offset += (uint64_t)n;
	}
	return true;
}

/* Zero [offset, offset+length): a hole where the file system can punch
 * one (reads give zeros), else zeros written. */
static bool blk_zero(int fd, uint64_t offset, uint64_t length, bool must)
{
	static const uint8_t zeros[BLK_SIZE_MAX];

	if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
		       (off_t)length))
		return true;
	if (!must)
		return true; /* discard is a hint */
	if (!fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
		       (off_t)length))
		return true;
	while (length) {
		size_t n = length < sizeof(zeros) ? (size_t)length : sizeof(zeros);

		if (!blk_pio_all(fd, (uint8_t *)zeros, n, offset, true))
			return false;
		offset += n;
		length -= n;
	}
	return true;
}

static struct blk_file *blk_file_get(struct blk_file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
	return f;
}

static void blk_file_put(struct blk_file *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->dio_fd >= 0)
		close(f->dio_fd);
	free(f);
}

/* DISCARD / WRITE_ZEROES: the segments in data (16 bytes each, 5.2.6). */
static uint8_t blk_ranges(struct blk_req *r)
{
	struct blk_file *b = r->file;

	for (size_t at = 0; at + 16 <= r->length; at += 16) {
		uint64_t sector;
		uint32_t count, flags;

		memcpy(&sector, r->data + at, 8);
		memcpy(&count, r->data + at + 8, 4);
		memcpy(&flags, r->data + at + 12, 4);
		sector = le64toh(sector);
		count = le32toh(count);
		flags = le32toh(flags);
		/* flags: only unmap (bit 0), and only for write zeroes */
		if (flags & ~(r->type == BLK_T_WRITE_ZEROES ? 1u : 0u))
			return BLK_S_UNSUPP;
		if (count > BLK_DISCARD_MAX || sector > b->sectors || count > b->sectors - sector)
			return BLK_S_IOERR;
		if (!blk_zero(b->fd, sector * BLK_SECTOR, (uint64_t)count * BLK_SECTOR,
			      r->type == BLK_T_WRITE_ZEROES))
			return BLK_S_IOERR;
	}
	return BLK_S_OK;
}

/*
 * A data transfer, direct when the device is configured so and direct I/O
 * still works: a refusal (EINVAL: alignment, a file system without
 * O_DIRECT) turns it off for good and the transfer is redone buffered.
 */
static bool blk_direct(struct blk_file *b, bool write)
{
	return b->dio_fd >= 0 && !__atomic_load_n(&b->dio_failed, __ATOMIC_RELAXED) &&
	       (b->dio == DIO_ENABLE || (b->dio == DIO_READ && !write));
}

static bool blk_transfer(struct blk_file *b, struct blk_req *r, bool write)
{
	bool direct = blk_direct(b, write);
	uint64_t offset = r->sector * BLK_SECTOR;

	if (direct) {
		errno = 0;
		if (blk_pio_all(b->dio_fd, r->data, r->length, offset, write))
			return true;
		if (errno != EINVAL)
			return false;
		__atomic_store_n(&b->dio_failed, true, __ATOMIC_RELAXED);
	}
	return blk_pio_all(b->fd, r->data, r->length, offset, write);
}

/* The slow part, on a worker thread: the file only, no host call. */
static void blk_work(struct vdev_virtio_job *job)
{
	struct blk_req *r = (struct blk_req *)job;
	int fd = r->file->fd; /* flush, ranges: the buffered descriptor (same file) */
	bool ok = true;

	switch (r->type) {
	case BLK_T_IN:
		ok = blk_transfer(r->file, r, false);
		break;
	case BLK_T_OUT:
		ok = blk_transfer(r->file, r, true);
		break;
	case BLK_T_FLUSH:
		ok = fdatasync(fd) == 0;
		break;
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		r->status = blk_ranges(r);
		if (r->status == BLK_S_OK && r->writethrough && fdatasync(fd))
			r->status = BLK_S_IOERR;
		return;
	}
	if (ok && r->type == BLK_T_OUT && r->writethrough)
		ok = fdatasync(fd) == 0;
	r->status = ok ? BLK_S_OK : BLK_S_IOERR;
}

/* Status byte (last writable byte) and, for reads, the data; push. */
static void blk_complete(struct blk *b, struct blk_req *r)
{
	uint32_t written = 1;

	if (r->status == BLK_S_OK && (r->type == BLK_T_IN || r->type == BLK_T_GET_ID)) {
		ssize_t n = vdev_virtio_chain_write(&b->vio, &r->chain, 0, r->data, r->length);

		if (n == (ssize_t)r->length)
			written += (uint32_t)n;
		else
			r->status = BLK_S_IOERR;
	}
	if (vdev_virtio_chain_write(&b->vio, &r->chain, r->chain.write_bytes - 1, &r->status, 1) ==
		1 &&
	    vdev_virtio_queue_push(&b->vio, &r->chain, written) == 0)
		vdev_virtio_queue_interrupt(&b->vio, r->chain.queue);
}

static void blk_req_free(struct blk_req *r)
{
	blk_file_put(r->file);
	free(r->data);
	free(r);
}

/* The device was destroyed while this request's I/O ran (on its thread). */
static void blk_abandon(struct vdev_virtio_job *job)
{
	blk_req_free((struct blk_req *)job);
}

static void blk_done(void *dev, struct vdev_virtio_job *job)
{
	struct blk_req *r = (struct blk_req *)job;
	struct blk *b = dev;

	if (__atomic_load_n(&b->file->dio_failed, __ATOMIC_RELAXED) && !b->dio_logged) {
		b->dio_logged = true;
		b->host->log(b->h, VDEV_LOG_WARN,
			     "direct I/O refused by the host file: buffered I/O from now on");
	}
	blk_complete(dev, r);
	blk_req_free(r);
}

/* ------------------------------------------------------------ io_uring */

/*
 * aio io_uring: the vCPU thread that parsed a read, write or flush puts it
 * on the ring and submits; the kernel does it (inline from the page cache,
 * or on its own workers); the completion arrives on an eventfd the event
 * loop watches. Every ring call runs under the instance lock (notify,
 * the eventfd callback, save, destroy). The same guarantees as the
 * threads: a flush is IORING_OP_FSYNC with IORING_FSYNC_DATASYNC (what
 * fdatasync does), issued when the driver sends it, so it covers every
 * write completed before; without FLUSH negotiated, a write completes
 * only after its own DATASYNC fsync; a short transfer goes on from where
 * it stopped; a refused direct transfer is redone buffered. Discard and
 * write-zeroes (ranges, fallbacks) stay on the worker threads, and so do
 * buffered writes where the file system cannot do them without blocking
 * (measured: io-wq serialises them, half the random-write IOPS of the
 * threads on ext4).
 */

/* Put r's next step on the ring; false when the ring is full. */
static bool blk_ring_prep(struct blk *b, struct blk_req *r)
{
	struct io_uring_sqe *sqe = uring_sqe(&b->ring);
	struct blk_file *f = r->file;

	if (!sqe)
		return false;
	sqe->user_data = (uint64_t)(uintptr_t)r;
	if (r->type == BLK_T_FLUSH || r->syncing) {
		sqe->opcode = IORING_OP_FSYNC;
		sqe->fd = f->fd;
		sqe->fsync_flags = IORING_FSYNC_DATASYNC;
		return true;
	}
	r->direct = blk_direct(f, r->type == BLK_T_OUT);
	sqe->opcode = r->type == BLK_T_OUT ? IORING_OP_WRITE : IORING_OP_READ;
	/* a buffered write the kernel cannot do at once is answered EAGAIN
	 * instead of going to io-wq, which runs buffered writes to one file
	 * one at a time (hashed by inode): the I/O threads then write */
	if (r->type == BLK_T_OUT && !r->direct)
		sqe->rw_flags = RWF_NOWAIT;
	sqe->fd = r->direct ? f->dio_fd : f->fd;
	sqe->addr = (uint64_t)(uintptr_t)(r->data + r->done_bytes);
	sqe->len = (uint32_t)(r->length - r->done_bytes);
	sqe->off = r->sector * BLK_SECTOR + r->done_bytes;
	return true;
}

/* In order: behind any request already waiting for room. */
static void blk_ring_queue(struct blk *b, struct blk_req *r)
{
	if (!b->backlog && blk_ring_prep(b, r))
		return;
	r->next = NULL;
	*b->backlog_tail = r;
	b->backlog_tail = &r->next;
}

static void blk_ring_submit(struct blk *b)
{
	int err;

	while (b->backlog && blk_ring_prep(b, b->backlog)) {
		b->backlog = b->backlog->next;
		if (!b->backlog)
			b->backlog_tail = &b->backlog;
	}
	err = uring_submit(&b->ring);
	/* EAGAIN/EBUSY: the kernel is short of memory; the entries stay and
	 * go with the next submit. Anything else cannot get better. */
	if (err < 0 && err != -EAGAIN && err != -EBUSY && !b->ring_failed) {
		b->ring_failed = true;
		b->host->log(b->h, VDEV_LOG_ERROR, "io_uring submission failed: %s",
			     strerror(-err));
		vdev_virtio_needs_reset(&b->vio, "the io_uring stopped taking requests");
	}
}

/* One completion of r's step, `res` as the kernel reports it. */
static void blk_ring_complete(struct blk *b, struct blk_req *r, int res)
{
	if (r->type == BLK_T_FLUSH || r->syncing) {
		r->status = res < 0 ? BLK_S_IOERR : BLK_S_OK;
	} else if (res == -EINVAL && r->direct) {
		/* alignment, or a file system without O_DIRECT: buffered for good */
		__atomic_store_n(&r->file->dio_failed, true, __ATOMIC_RELAXED);
		blk_ring_queue(b, r);
		return;
	} else if ((res == -EAGAIN || res == -EOPNOTSUPP) && r->type == BLK_T_OUT && !r->direct) {
		/* ext4, for one: no buffered write without blocking. For good
		 * (the file system does not change): writes on the threads,
		 * which run several at once, as with aio threads. */
		if (!b->writes_on_threads)
			b->host->log(b->h, VDEV_LOG_INFO,
				     "aio io_uring: the host file system cannot take buffered "
				     "writes without blocking; the I/O threads write");
		b->writes_on_threads = true;
		r->done_bytes = 0;
		if (vdev_virtio_worker_submit(&b->vio, &r->job) == 0)
			return;
		r->status = BLK_S_IOERR;
	} else if (res == -EAGAIN || res == -EINTR) {
		blk_ring_queue(b, r);
		return;
	} else if (res <= 0) {
		r->status = BLK_S_IOERR; /* an error, or the image shrank under us */
	} else if ((r->done_bytes += (size_t)res) < r->length) {
		blk_ring_queue(b, r);
		return;
	} else if (r->type == BLK_T_OUT && r->writethrough) {
		r->syncing = true;
		blk_ring_queue(b, r);
		return;
	} else {
		r->status = BLK_S_OK;
	}
	blk_done(b, &r->job);
}

static void blk_ring_reap(struct blk *b)
{
	struct io_uring_cqe cqe;

	while (uring_reap(&b->ring, &cqe))
		blk_ring_complete(b, (struct blk_req *)(uintptr_t)cqe.user_data, cqe.res);
	blk_ring_submit(b);
}

static void blk_ring_event(void *dev, void *arg, int fd, uint32_t events)
{
	uint64_t count;

	(void)arg;
	(void)events;
	if (read(fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: a save's drain reaped them first */
	}
	blk_ring_reap(dev);
}

/* save(): no request in flight in a saved state. */
static void blk_ring_drain(struct blk *b)
{
	while (b->ring.fd >= 0 && (b->ring.inflight || b->backlog) && !b->ring_failed) {
		blk_ring_submit(b);
		if (uring_wait(&b->ring) < 0)
			break;
		blk_ring_reap(b);
	}
}

/* What destroy leaves to a thread of its own: the ring with requests the
 * kernel still reads into or writes from. */
struct blk_ring_orphan {
	struct vdev_virtio_job job;
	struct uring ring;
	int efd;
};

static void blk_ring_orphan_work(struct vdev_virtio_job *job)
{
	struct blk_ring_orphan *o = (struct blk_ring_orphan *)job;
	struct io_uring_cqe cqe;

	while (o->ring.inflight) {
		while (uring_reap(&o->ring, &cqe))
			blk_req_free((struct blk_req *)(uintptr_t)cqe.user_data);
		if (o->ring.inflight && uring_wait(&o->ring) < 0)
			break; /* cannot happen; the requests are then leaked, not freed under the
				  kernel */
	}
}

static void blk_ring_orphan_free(struct vdev_virtio_job *job)
{
	struct blk_ring_orphan *o = (struct blk_ring_orphan *)job;

	uring_exit(&o->ring);
	close(o->efd);
	free(o);
}

/* destroy(): never waits for the kernel (see virtio_worker.c). */
static void blk_ring_close(struct blk *b)
{
	struct blk_ring_orphan *o;

	if (b->ring_watch)
		b->host->fd_unwatch(b->h, b->ring_watch);
	b->ring_watch = NULL;
	while (b->backlog) {
		struct blk_req *r = b->backlog;

		b->backlog = r->next;
		blk_req_free(r);
	}
	b->backlog_tail = &b->backlog;
	if (b->ring.fd < 0)
		goto out;
	if (uring_submit(&b->ring) < 0)
		b->ring.inflight -= b->ring.queued; /* never reached the kernel */
	o = b->ring.inflight ? calloc(1, sizeof(*o)) : NULL;
	if (o) {
		o->job.work = blk_ring_orphan_work;
		o->job.abandon = blk_ring_orphan_free;
		o->ring = b->ring;
		o->efd = b->ring_efd;
		if (vdev_virtio_worker_detach(&o->job) == 0)
			return;
		free(o);
	}
	/* nothing in flight (or no thread to leave it to: then wait here) */
	blk_ring_orphan_work(&(struct blk_ring_orphan){.ring = b->ring}.job);
	uring_exit(&b->ring);
out:
	if (b->ring_efd >= 0)
		close(b->ring_efd);
	b->ring_efd = -1;
}

/* aio io_uring: the ring, its eventfd, the watch; false (logged, the
 * threads then do everything) when the kernel or a sandbox refuses. */
static bool blk_ring_open(struct blk *b)
{
	int err = uring_init(&b->ring, BLK_RING_ENTRIES);

	if (!err) {
		b->ring_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		err = b->ring_efd < 0 ? -errno : uring_eventfd(&b->ring, b->ring_efd);
	}
	if (!err)
		err = b->host->fd_watch(b->h, b->ring_efd, VDEV_FD_IN, blk_ring_event, NULL,
					&b->ring_watch);
	if (!err)
		return true;
	b->ring_watch = NULL;
	blk_ring_close(b);
	b->host->log(b->h, VDEV_LOG_WARN,
		     "aio io_uring unavailable (%s): reads, writes and flushes on the I/O threads",
		     strerror(-err));
	return false;
}

/* ------------------------------------------------------------ requests */

/* Check a data request's range and size; the data length in *length. */
static uint8_t blk_check_rw(struct blk *b, struct blk_req *r)
{
	if (r->length % BLK_SECTOR || r->length > BLK_DATA_MAX)
		return BLK_S_IOERR;
	if (r->sector > b->file->sectors || r->length / BLK_SECTOR > b->file->sectors - r->sector)
		return BLK_S_IOERR;
	if (r->type == BLK_T_OUT && b->read_only)
		return BLK_S_IOERR;
	return BLK_S_OK;
}

/*
 * Parse the chain just popped into a request: the status it already has
 * (checks failed: answered at once) or BLK_S_OK with the data the worker
 * needs. Returns false when the request cannot be answered at all.
 */
static bool blk_parse(struct blk *b, struct blk_req *r)
{
	const struct vdev_virtio_chain *c = &r->chain;
	uint8_t header[BLK_HEADER];
	uint32_t type;
	uint64_t sector;

	if (c->write_bytes < 1 || c->read_bytes < BLK_HEADER ||
	    vdev_virtio_chain_read(&b->vio, c, 0, header, BLK_HEADER) != BLK_HEADER)
		return false;
	memcpy(&type, header, 4);
	memcpy(&sector, header + 8, 8);
	r->type = le32toh(type);
	r->sector = le64toh(sector);
	r->status = BLK_S_OK;
	r->writethrough = !vdev_virtio_has_feature(&b->vio, BLK_F_FLUSH);
	switch (r->type) {
	case BLK_T_IN:
		r->length = c->write_bytes - 1;
		r->status = blk_check_rw(b, r);
		break;
	case BLK_T_OUT:
		r->length = c->read_bytes - BLK_HEADER;
		r->status = blk_check_rw(b, r);
		break;
	case BLK_T_FLUSH:
		r->length = 0;
		break;
	case BLK_T_GET_ID:
		r->length = c->write_bytes - 1 < BLK_ID_BYTES ? c->write_bytes - 1 : BLK_ID_BYTES;
		break;
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		r->length = c->read_bytes - BLK_HEADER;
		if (b->read_only)
			r->status = BLK_S_IOERR;
		else if (r->length % 16 || r->length / 16 > BLK_DISCARD_SEG)
			r->status = BLK_S_IOERR;
		break;
	default:
		r->status = BLK_S_UNSUPP;
		r->length = 0;
	}
	if (r->status != BLK_S_OK || !r->length)
		return true;
	/* aligned for O_DIRECT */
	if (posix_memalign((void **)&r->data, 4096, r->length))
		r->data = NULL;
	if (!r->data) {
		r->status = BLK_S_IOERR;
		return true;
	}
	if (r->type == BLK_T_GET_ID)
		memcpy(r->data, b->serial, r->length);
	else if (r->type != BLK_T_IN && vdev_virtio_chain_read(&b->vio, c, BLK_HEADER, r->data,
							       r->length) != (ssize_t)r->length)
		r->status = BLK_S_IOERR;
	return true;
}

static void blk_queue_notify(void *dev, unsigned queue)
{
	struct blk *b = dev;

	while (vdev_virtio_queue_pop(&b->vio, queue, &b->chain) > 0) {
		struct blk_req *r = calloc(1, sizeof(*r));

		if (!r) {
			vdev_virtio_needs_reset(&b->vio, "out of memory for a request");
			return;
		}
		r->file = blk_file_get(b->file);
		r->chain = b->chain;
		r->job.work = blk_work;
		r->job.done = blk_done;
		r->job.abandon = blk_abandon;
		if (!blk_parse(b, r)) {
			blk_req_free(r);
			vdev_virtio_needs_reset(
			    &b->vio, "request without a 16-byte header or a status byte");
			return;
		}
		/* answered here: errors, GET_ID; reads, writes, flushes through the
		 * ring with aio io_uring; the rest through the worker */
		if (r->status != BLK_S_OK || r->type == BLK_T_GET_ID) {
			blk_complete(b, r);
			blk_req_free(r);
		} else if (b->ring.fd >= 0 &&
			   (r->type == BLK_T_IN || r->type == BLK_T_FLUSH ||
			    (r->type == BLK_T_OUT &&
			     (!b->writes_on_threads || blk_direct(r->file, true))))) {
			blk_ring_queue(b, r);
		} else if (vdev_virtio_worker_submit(&b->vio, &r->job)) {
			blk_complete(b, r);
			blk_req_free(r);
		}
	}
	if (b->ring.fd >= 0)
		blk_ring_submit(b);
	vdev_virtio_queue_interrupt(&b->vio, queue);
}

static const struct vdev_virtio_ops blk_virtio_ops = {
    .queue_notify = blk_queue_notify,
};

/* ------------------------------------------------------------ instance */

static int blk_open(struct blk *b, struct blk_file *f, const char *spec)
{
	const char *path = spec;
	struct stat st;
	uint64_t bytes = 0;

	if (path[0] == '<') {
		b->read_only = true;
		path++;
	}
	if (!*path || path[0] == '>') {
		b->host->log(b->h, VDEV_LOG_ERROR, "hostdev %s: give [<]FILE (> is not supported)",
			     spec);
		return -EINVAL;
	}
	f->fd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (f->fd < 0) {
		int err = -errno;

		b->host->log(b->h, VDEV_LOG_ERROR, "hostdev %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(f->fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		if (ioctl(f->fd, BLKGETSIZE64, &bytes))
			bytes = 0;
	} else if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	}
	f->sectors = bytes / BLK_SECTOR;
	if (f->dio != DIO_DISABLE) {
		f->dio_fd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_DIRECT);
		if (f->dio_fd < 0)
			b->host->log(b->h, VDEV_LOG_WARN,
				     "hostdev %s: no direct I/O (%s): buffered I/O for good", path,
				     strerror(errno));
		else
			b->host->log(b->h, VDEV_LOG_INFO, "hostdev %s: direct I/O for %s", path,
				     f->dio == DIO_ENABLE ? "reads and writes" : "reads");
	}
	return 0;
}

static void blk_fill_config(struct blk *b, unsigned queues)
{
	struct blk_config *c = &b->config;

	c->capacity = htole64(b->file->sectors);
	c->size_max = htole32(BLK_SIZE_MAX);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(BLK_SECTOR);
	c->num_queues = htole16((uint16_t)queues);
	c->max_discard_sectors = htole32(BLK_DISCARD_MAX);
	c->max_discard_seg = htole32(BLK_DISCARD_SEG);
	c->discard_sector_alignment = htole32(1);
	c->max_write_zeroes_sectors = htole32(BLK_DISCARD_MAX);
	c->max_write_zeroes_seg = htole32(BLK_DISCARD_SEG);
	c->write_zeroes_may_unmap = 1;
}

static void blk_destroy(void *dev)
{
	struct blk *b = dev;

	vdev_virtio_destroy(&b->vio);
	blk_ring_close(b);
	/* closed now, or by the last request a worker or the ring still has */
	blk_file_put(b->file);
	free(b);
}

static int blk_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **dev)
{
	struct blk *b = calloc(1, sizeof(*b));
	const char *serial = cfg->options[OPT_SERIAL].v.s;
	unsigned queues = (unsigned)cfg->options[OPT_QUEUES].v.u;
	struct vdev_virtio_info info = {
	    .device_id = VDEV_VIRTIO_ID_BLOCK,
	    .queue_count = queues,
	    .queue_size = BLK_QUEUE_SIZE,
	    .config_size = sizeof(struct blk_config),
	    .pci_class = 0x010000, /* mass storage, SCSI: what virtio-blk uses */
	    .ops = &blk_virtio_ops,
	};
	int err;

	if (!b)
		return -ENOMEM;
	b->host = host;
	b->h = h;
	b->ring.fd = -1;
	b->ring_efd = -1;
	b->backlog_tail = &b->backlog;
	b->file = calloc(1, sizeof(*b->file));
	if (!b->file) {
		free(b);
		return -ENOMEM;
	}
	*b->file = (struct blk_file){.refs = 1, .fd = -1, .dio_fd = -1};
	b->file->dio = cfg->options[OPT_DIO].v.e;
	if (serial && strlen(serial) > BLK_ID_BYTES) {
		host->log(h, VDEV_LOG_ERROR, "serial \"%s\": at most %u bytes", serial,
			  BLK_ID_BYTES);
		err = -EINVAL;
		goto fail;
	}
	if (serial)
		strncpy(b->serial, serial, sizeof(b->serial));
	err = blk_open(b, b->file, cfg->options[OPT_HOSTDEV].v.s);
	if (err)
		goto fail;
	blk_fill_config(b, queues);
	info.features =
	    VDEV_VIRTIO_BIT(BLK_F_SIZE_MAX) | VDEV_VIRTIO_BIT(BLK_F_SEG_MAX) |
	    VDEV_VIRTIO_BIT(BLK_F_BLK_SIZE) | VDEV_VIRTIO_BIT(BLK_F_FLUSH) |
	    (b->read_only ? VDEV_VIRTIO_BIT(BLK_F_RO)
			  : VDEV_VIRTIO_BIT(BLK_F_DISCARD) | VDEV_VIRTIO_BIT(BLK_F_WRITE_ZEROES)) |
	    (queues > 1 ? VDEV_VIRTIO_BIT(BLK_F_MQ) : 0);
	info.config = &b->config;
	info.dev = b;
	err = vdev_virtio_init(&b->vio, host, h, cfg, &info);
	if (err)
		goto fail;
	err = vdev_virtio_worker_start(&b->vio, (unsigned)cfg->options[OPT_THREADS].v.u);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "cannot start the I/O threads: %s", strerror(-err));
		blk_destroy(b);
		return err;
	}
	if (cfg->options[OPT_AIO].v.e == AIO_IO_URING && blk_ring_open(b))
		host->log(h, VDEV_LOG_INFO, "aio io_uring: %u requests in the kernel at once",
			  b->ring.entries);
	*dev = b;
	return 0;
fail:
	blk_file_put(b->file);
	free(b);
	return err;
}

static int blk_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	return vdev_virtio_read(&((struct blk *)dev)->vio, a, value);
}

static int blk_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	return vdev_virtio_write(&((struct blk *)dev)->vio, a, value);
}

static void blk_reset(void *dev)
{
	vdev_virtio_reset(&((struct blk *)dev)->vio);
}

static ssize_t blk_save(void *dev, void *buf, size_t cap)
{
	struct blk *b = dev;
	struct vdev_state st;

	blk_ring_drain(b);
	vdev_state_save_begin(&st, buf, cap, BLK_NAME, BLK_STATE_VERSION);
	vdev_virtio_state(&st, &b->vio);
	return vdev_state_save_end(&st);
}

static int blk_restore(void *dev, const void *buf, size_t length)
{
	struct blk *b = dev;
	struct vdev_state st;

	vdev_state_restore_begin(&st, buf, length, BLK_NAME, BLK_STATE_VERSION);
	vdev_virtio_state(&st, &b->vio);
	if (vdev_state_restore_end(&st))
		return -EINVAL;
	vdev_virtio_restored(&b->vio);
	return 0;
}

static int blk_status(void *dev, char *buf, size_t cap)
{
	struct blk *b = dev;

	return snprintf(
	    buf, cap, "%llu sectors%s, aio %s, %s", (unsigned long long)b->file->sectors,
	    b->read_only ? " read-only" : "", b->ring.fd >= 0 ? "io_uring" : "threads",
	    vdev_virtio_transport(&b->vio) == VDEV_VIRTIO_MMIO ? "virtio-mmio" : "virtio-pci");
}

static const struct vdev_ops blk_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = blk_create,
    .destroy = blk_destroy,
    .read = blk_read,
    .write = blk_write,
    .reset = blk_reset,
    .save = blk_save,
    .restore = blk_restore,
    .status = blk_status,
};

static const struct vdev_descriptor blk_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = BLK_NAME,
    .version = "1.0.0",
    .description = "virtio block device on a raw image or block device",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(BLK_NAME) - 1) + VDEV_VIRTIO_STATE_SIZE,
    .options = blk_options,
    .option_count = OPT_COUNT,
    .ops = &blk_ops,
};

VDEV_PLUGIN_ENTRY(blk_descriptor)
