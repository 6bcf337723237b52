/*
 * vdevs/virtio-entropy/virtio-entropy.c: virtio-rng (VIRTIO 1.2 section
 * 5.4, device id 4) on the SDK's virtio helper: the guest posts writable
 * buffers on its one queue (requestq) and gets them back filled with
 * bytes from the host kernel's CSPRNG (getrandom(2)).
 *
 *	vdev virtio-entropy                                # virtio-pci, first free slot
 *	vdev virtio-entropy loc pci:0:5                    # virtio-pci at 0:5.0
 *	vdev virtio-entropy loc 0xd0000000 intr ioapic:5   # virtio-mmio
 *
 * No device options, no feature bits, no configuration space. Requests
 * are served on the vCPU thread that kicked (getrandom with GRND_NONBLOCK
 * never blocks once the kernel's pool is initialised, which is the case
 * on any running host); only when it would block, early in the host's
 * boot, the request goes to a worker thread that waits for the pool, so
 * a vCPU never stalls. At most ENTROPY_REQUEST_MAX bytes per request (the
 * driver gets the length written in the used ring, as 5.4.6.1 allows).
 * A readable descriptor in a request is a driver error (5.4.6.1: "MUST
 * NOT"): the request is returned with nothing written.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <vdev/state.h>
#include <vdev/vdev.h>
#include <vdev/virtio.h>

#define ENTROPY_NAME	      "virtio-entropy"
#define ENTROPY_STATE_VERSION 1
#define ENTROPY_QUEUE_SIZE    256
#define ENTROPY_REQUEST_MAX   (64u * 1024)
#define ENTROPY_CHUNK	      4096u

struct entropy {
	struct vdev_virtio vio;
	struct vdev_virtio_chain chain;
	uint8_t chunk[ENTROPY_CHUNK];
};

/* A request waiting on the worker for the kernel's pool. */
struct entropy_job {
	struct vdev_virtio_job job;
	struct entropy *e;
	size_t length;
	ssize_t got;
	struct vdev_virtio_chain chain;
	uint8_t bytes[];
};

static size_t entropy_want(const struct vdev_virtio_chain *chain)
{
	if (chain->readable)
		return 0;
	return chain->write_bytes < ENTROPY_REQUEST_MAX ? chain->write_bytes : ENTROPY_REQUEST_MAX;
}

/* Fill the chain from getrandom without blocking: bytes written, or -1
 * when the pool is not ready yet (nothing written). */
static ssize_t entropy_fill_now(struct entropy *e)
{
	size_t want = entropy_want(&e->chain), done = 0;

	while (done < want) {
		size_t n = want - done < ENTROPY_CHUNK ? want - done : ENTROPY_CHUNK;
		ssize_t got = getrandom(e->chunk, n, GRND_NONBLOCK);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return done ? (ssize_t)done : -1;
		if (vdev_virtio_chain_write(&e->vio, &e->chain, done, e->chunk, (size_t)got) != got)
			break; /* guest memory refused: return what was written */
		done += (size_t)got;
	}
	return (ssize_t)done;
}

static void entropy_job_work(struct vdev_virtio_job *job)
{
	struct entropy_job *j = (struct entropy_job *)job;
	size_t done = 0;

	/* blocking: waits for the kernel's pool; no host call here */
	while (done < j->length) {
		ssize_t got = getrandom(j->bytes + done, j->length - done, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		done += (size_t)got;
	}
	j->got = (ssize_t)done;
}

static void entropy_job_done(void *dev, struct vdev_virtio_job *job)
{
	struct entropy_job *j = (struct entropy_job *)job;
	struct entropy *e = dev;
	ssize_t n = vdev_virtio_chain_write(&e->vio, &j->chain, 0, j->bytes, (size_t)j->got);

	if (vdev_virtio_queue_push(&e->vio, &j->chain, n > 0 ? (uint32_t)n : 0) == 0)
		vdev_virtio_queue_interrupt(&e->vio, 0);
	free(j);
}

/* Destroyed while getrandom still waited for the pool (early boot): the
 * job uses only its own memory, so freeing it is all there is to do. */
static void entropy_job_abandon(struct vdev_virtio_job *job)
{
	free(job);
}

/* The pool is not ready: let a worker wait for it. False if it cannot. */
static bool entropy_defer(struct entropy *e)
{
	size_t want = entropy_want(&e->chain);
	struct entropy_job *j = malloc(sizeof(*j) + want);

	if (!j)
		return false;
	j->job.work = entropy_job_work;
	j->job.done = entropy_job_done;
	j->job.abandon = entropy_job_abandon;
	j->e = e;
	j->length = want;
	j->got = 0;
	j->chain = e->chain;
	if (vdev_virtio_worker_submit(&e->vio, &j->job)) {
		free(j);
		return false;
	}
	return true;
}

static void entropy_queue_notify(void *dev, unsigned queue)
{
	struct entropy *e = dev;

	while (vdev_virtio_queue_pop(&e->vio, queue, &e->chain) > 0) {
		ssize_t n = entropy_fill_now(e);

		if (n < 0 && entropy_defer(e))
			continue;
		vdev_virtio_queue_push(&e->vio, &e->chain, n > 0 ? (uint32_t)n : 0);
	}
	vdev_virtio_queue_interrupt(&e->vio, queue);
}

static const struct vdev_virtio_ops entropy_virtio_ops = {
    .queue_notify = entropy_queue_notify,
};

static int entropy_create(const struct vdev_host *host, vdev_host_t *h,
			  const struct vdev_config *cfg, void **dev)
{
	struct entropy *e = calloc(1, sizeof(*e));
	struct vdev_virtio_info info = {
	    .device_id = VDEV_VIRTIO_ID_ENTROPY,
	    .queue_count = 1,
	    .queue_size = ENTROPY_QUEUE_SIZE,
	    .pci_class = 0xff0000, /* "other", as virtio-rng has no class of its own */
	    .ops = &entropy_virtio_ops,
	};
	int err;

	if (!e)
		return -ENOMEM;
	info.dev = e;
	err = vdev_virtio_init(&e->vio, host, h, cfg, &info);
	if (err) {
		free(e);
		return err;
	}
	err = vdev_virtio_worker_start(&e->vio, 1);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "cannot start the worker thread: %s", strerror(-err));
		vdev_virtio_destroy(&e->vio);
		free(e);
		return err;
	}
	*dev = e;
	return 0;
}

static void entropy_destroy(void *dev)
{
	struct entropy *e = dev;

	vdev_virtio_destroy(&e->vio);
	free(e);
}

static int entropy_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	return vdev_virtio_read(&((struct entropy *)dev)->vio, a, value);
}

static int entropy_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	return vdev_virtio_write(&((struct entropy *)dev)->vio, a, value);
}

static void entropy_reset(void *dev)
{
	vdev_virtio_reset(&((struct entropy *)dev)->vio);
}

static ssize_t entropy_save(void *dev, void *buf, size_t cap)
{
	struct entropy *e = dev;
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, ENTROPY_NAME, ENTROPY_STATE_VERSION);
	vdev_virtio_state(&st, &e->vio);
	return vdev_state_save_end(&st);
}

static int entropy_restore(void *dev, const void *buf, size_t length)
{
	struct entropy *e = dev;
	struct vdev_state st;

	vdev_state_restore_begin(&st, buf, length, ENTROPY_NAME, ENTROPY_STATE_VERSION);
	vdev_virtio_state(&st, &e->vio);
	if (vdev_state_restore_end(&st))
		return -EINVAL;
	vdev_virtio_restored(&e->vio);
	return 0;
}

static const struct vdev_ops entropy_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = entropy_create,
    .destroy = entropy_destroy,
    .read = entropy_read,
    .write = entropy_write,
    .reset = entropy_reset,
    .save = entropy_save,
    .restore = entropy_restore,
};

static const struct vdev_descriptor entropy_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = ENTROPY_NAME,
    .version = "1.0.0",
    .description = "virtio entropy device (virtio-rng) fed by getrandom",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(ENTROPY_NAME) - 1) + VDEV_VIRTIO_STATE_SIZE,
    .ops = &entropy_ops,
};

VDEV_PLUGIN_ENTRY(entropy_descriptor)
