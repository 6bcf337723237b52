/*
 * sdk/lib/virtio_worker.c: worker threads for the virtio helper; the
 * contract is vdev/virtio.h ("worker").
 *
 * A job's work function runs on one of the threads and touches only the
 * job's own buffers; finished jobs are queued, an eventfd wakes the host's
 * event loop, and the fd callback (a host callback, under the instance
 * lock) runs their done functions, which do every host call: guest
 * memory, the used ring, the interrupt. So a slow backend never stalls a
 * vCPU and no host service is ever called from a thread of the plugin's.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_internal.h"

#define WORKER_THREADS_MAX 32u

struct vdev_virtio_worker {
	struct vdev_virtio *vio;
	pthread_mutex_t lock;
	pthread_cond_t work_cond; /* a job to run, or stop */
	pthread_cond_t idle_cond; /* a job finished its work */
	struct vdev_virtio_job *todo, **todo_tail;
	struct vdev_virtio_job *done, **done_tail;
	unsigned running; /* jobs inside work() */
	bool stop;
	int efd;
	struct vdev_watch *watch;
	unsigned nthreads;
	pthread_t threads[WORKER_THREADS_MAX];
};

static void worker_append(struct vdev_virtio_job ***tail, struct vdev_virtio_job *job)
{
	job->next = NULL;
	**tail = job;
	*tail = &job->next;
}

static void *worker_main(void *arg)
{
	struct vdev_virtio_worker *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct vdev_virtio_job *job;

		while (!w->todo && !w->stop)
			pthread_cond_wait(&w->work_cond, &w->lock);
		if (w->stop)
			break;
		job = w->todo;
		w->todo = job->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		w->running++;
		pthread_mutex_unlock(&w->lock);
		job->work(job);
		pthread_mutex_lock(&w->lock);
		w->running--;
		worker_append(&w->done_tail, job);
		pthread_cond_broadcast(&w->idle_cond);
		/* an eventfd write cannot block below 2^64 - 1 */
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* the count is only a wake-up; a lost one is found at drain */
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Take the finished jobs (under the lock) and complete them (outside it). */
static void worker_complete(struct vdev_virtio_worker *w)
{
	struct vdev_virtio_job *job;

	pthread_mutex_lock(&w->lock);
	job = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->lock);
	while (job) {
		struct vdev_virtio_job *next = job->next;

		job->done(w->vio->info.dev, job);
		job = next;
	}
}

static void worker_fd_event(void *dev, void *arg, int fd, uint32_t events)
{
	struct vdev_virtio_worker *w = arg;
	uint64_t count;

	(void)dev;
	(void)events;
	if (read(fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: a drain got there first */
	}
	worker_complete(w);
}

static void worker_stop_threads(struct vdev_virtio_worker *w, unsigned started)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->work_cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(w->threads[i], NULL);
}

static void worker_release(struct vdev_virtio *vio, struct vdev_virtio_worker *w)
{
	if (w->watch)
		vio->host->fd_unwatch(vio->h, w->watch);
	if (w->efd >= 0)
		close(w->efd);
	pthread_cond_destroy(&w->idle_cond);
	pthread_cond_destroy(&w->work_cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

int vdev_virtio_worker_start(struct vdev_virtio *vio, unsigned threads)
{
	struct vdev_virtio_worker *w;
	int err;

	if (vio->worker)
		return -EBUSY;
	if (threads < 1 || threads > WORKER_THREADS_MAX)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->vio = vio;
	w->todo_tail = &w->todo;
	w->done_tail = &w->done;
	w->efd = -1;
	if (pthread_mutex_init(&w->lock, NULL)) {
		free(w);
		return -ENOMEM;
	}
	if (pthread_cond_init(&w->work_cond, NULL)) {
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -ENOMEM;
	}
	if (pthread_cond_init(&w->idle_cond, NULL)) {
		pthread_cond_destroy(&w->work_cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -ENOMEM;
	}
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		err = -errno;
		worker_release(vio, w);
		return err;
	}
	err = vio->host->fd_watch(vio->h, w->efd, VDEV_FD_IN, worker_fd_event, w, &w->watch);
	if (err) {
		w->watch = NULL;
		worker_release(vio, w);
		return err;
	}
	for (w->nthreads = 0; w->nthreads < threads; w->nthreads++) {
		err = pthread_create(&w->threads[w->nthreads], NULL, worker_main, w);
		if (err) {
			worker_stop_threads(w, w->nthreads);
			worker_release(vio, w);
			return -err;
		}
	}
	vio->worker = w;
	return 0;
}

int vdev_virtio_worker_submit(struct vdev_virtio *vio, struct vdev_virtio_job *job)
{
	struct vdev_virtio_worker *w = vio->worker;

	if (!w)
		return -ENODEV;
	if (!job || !job->work || !job->done)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	worker_append(&w->todo_tail, job);
	pthread_cond_signal(&w->work_cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void vdev_virtio_worker_drain(struct vdev_virtio *vio)
{
	struct vdev_virtio_worker *w = vio->worker;
	uint64_t count;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	while (w->todo || w->running)
		pthread_cond_wait(&w->idle_cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (read(w->efd, &count, sizeof(count)) < 0) {
		/* nothing was signalled: fine */
	}
	worker_complete(w);
}

void vdev_virtio_worker_free__(struct vdev_virtio *vio)
{
	struct vdev_virtio_worker *w = vio->worker;
	struct vdev_virtio_job *job;

	if (!w)
		return;
	worker_stop_threads(w, w->nthreads);
	/* jobs whose work never ran complete too, so the device frees them;
	 * vio->dead keeps their done functions away from the host */
	while ((job = w->todo)) {
		w->todo = job->next;
		worker_append(&w->done_tail, job);
	}
	worker_complete(w);
	vio->worker = NULL;
	worker_release(vio, w);
}
