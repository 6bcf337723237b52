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
 *
 * Teardown never waits for the disk. Destroy used to join every thread,
 * so one pread stuck in the kernel (a dead NFS server, a failing disk, a
 * dom0 under load, a guest's huge write-zeroes on a file system that
 * cannot punch holes) kept vdm in the device's destroy until the I/O
 * returned. Now destroy joins the idle threads only; a thread inside a
 * work function is detached with its job ("orphaned"): when work returns
 * it hands the job to job->abandon instead of queueing it for done,
 * writes nothing to the (closed) eventfd, and the last one out frees the
 * worker. Because the helper's code is in the plugin, which the host may
 * dlclose right after destroy, orphaning pins the plugin (RTLD_NODELETE).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio_internal.h"

#define WORKER_THREADS_MAX 32u

struct vdev_virtio_worker;

struct worker_thread {
	struct vdev_virtio_worker *w;
	pthread_t id;
	bool busy;   /* inside a work function */
	bool exited; /* left worker_main's loop: joinable at once */
};

struct vdev_virtio_worker {
	struct vdev_virtio *vio;
	pthread_mutex_t lock;
	pthread_cond_t work_cond; /* a job to run, or stop */
	pthread_cond_t idle_cond; /* a job finished its work, or a thread exited */
	struct vdev_virtio_job *todo, **todo_tail;
	struct vdev_virtio_job *done, **done_tail;
	unsigned running; /* jobs inside work() */
	bool stop;
	bool orphaned; /* destroy returned while threads were busy */
	unsigned refs; /* once orphaned: destroy's and each busy thread's */
	int efd;
	struct vdev_watch *watch;
	unsigned nthreads;
	struct worker_thread threads[WORKER_THREADS_MAX];
};

static void worker_free_struct(struct vdev_virtio_worker *w)
{
	pthread_cond_destroy(&w->idle_cond);
	pthread_cond_destroy(&w->work_cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void worker_append(struct vdev_virtio_job ***tail, struct vdev_virtio_job *job)
{
	job->next = NULL;
	**tail = job;
	*tail = &job->next;
}

static void *worker_main(void *arg)
{
	struct worker_thread *t = arg;
	struct vdev_virtio_worker *w = t->w;
	uint64_t one = 1;
	bool last = false;

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
		t->busy = true;
		pthread_mutex_unlock(&w->lock);
		job->work(job);
		pthread_mutex_lock(&w->lock);
		w->running--;
		t->busy = false;
		if (w->orphaned) {
			/* the device is gone: no done, no eventfd (closed) */
			pthread_mutex_unlock(&w->lock);
			if (job->abandon)
				job->abandon(job);
			pthread_mutex_lock(&w->lock);
			last = --w->refs == 0;
			break;
		}
		worker_append(&w->done_tail, job);
		pthread_cond_broadcast(&w->idle_cond);
		/* an eventfd write cannot block below 2^64 - 1 */
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* the count is only a wake-up; a lost one is found at drain */
		}
	}
	t->exited = true;
	pthread_cond_broadcast(&w->idle_cond);
	pthread_mutex_unlock(&w->lock);
	if (last)
		worker_free_struct(w);
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
		pthread_join(w->threads[i].id, NULL);
}

static void worker_release(struct vdev_virtio *vio, struct vdev_virtio_worker *w)
{
	if (w->watch)
		vio->host->fd_unwatch(vio->h, w->watch);
	if (w->efd >= 0)
		close(w->efd);
	worker_free_struct(w);
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
		struct worker_thread *t = &w->threads[w->nthreads];

		t->w = w;
		err = pthread_create(&t->id, NULL, worker_main, t);
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

/*
 * Keep this plugin mapped for good: an orphaned thread returns into the
 * helper's code after the host may have dlclose'd the plugin. Harmless
 * when the helper is linked into a program (the handle is the program's).
 */
static void worker_pin_code(void)
{
	Dl_info info;

	if (dladdr((void *)worker_main, &info) && info.dli_fname &&
	    !dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE)) {
		/* not loaded by name (a program): nothing to pin */
	}
}

static void *worker_detached_main(void *arg)
{
	struct vdev_virtio_job *job = arg;

	job->work(job);
	job->abandon(job);
	return NULL;
}

int vdev_virtio_worker_detach(struct vdev_virtio_job *job)
{
	pthread_attr_t attr;
	pthread_t id;
	int err;

	if (!job || !job->work || !job->abandon)
		return -EINVAL;
	err = pthread_attr_init(&attr);
	if (err)
		return -err;
	err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!err) {
		worker_pin_code();
		err = pthread_create(&id, &attr, worker_detached_main, job);
	}
	pthread_attr_destroy(&attr);
	return -err;
}

/* Stop the threads: join the idle ones, orphan the busy ones. Returns how
 * many were orphaned (their ref and destroy's are then set). */
static unsigned worker_stop_or_orphan(struct vdev_virtio_worker *w)
{
	bool join[WORKER_THREADS_MAX];
	unsigned busy = 0;
	bool settled;

	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->work_cond);
	/* an idle thread leaves at once; wait only until each has either
	 * left or is inside a work function, never for the work itself */
	for (;;) {
		settled = true;
		busy = 0;
		for (unsigned i = 0; i < w->nthreads; i++) {
			if (w->threads[i].busy)
				busy++;
			else if (!w->threads[i].exited)
				settled = false;
		}
		if (settled)
			break;
		pthread_cond_wait(&w->idle_cond, &w->lock);
	}
	if (busy) {
		w->orphaned = true;
		w->refs = busy + 1;
	}
	/* decided under the lock: an orphan's exit changes its record later */
	for (unsigned i = 0; i < w->nthreads; i++)
		join[i] = !w->threads[i].busy;
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->nthreads; i++) {
		if (join[i])
			pthread_join(w->threads[i].id, NULL);
		else
			pthread_detach(w->threads[i].id);
	}
	return busy;
}

void vdev_virtio_worker_free__(struct vdev_virtio *vio)
{
	struct vdev_virtio_worker *w = vio->worker;
	struct vdev_virtio_job *job;
	unsigned orphans;
	bool last;

	if (!w)
		return;
	orphans = worker_stop_or_orphan(w);
	pthread_mutex_lock(&w->lock);
	/* jobs whose work never ran complete too, so the device frees them;
	 * vio->dead keeps their done functions away from the host */
	while ((job = w->todo)) {
		w->todo = job->next;
		worker_append(&w->done_tail, job);
	}
	pthread_mutex_unlock(&w->lock);
	worker_complete(w);
	vio->worker = NULL;
	if (!orphans) {
		worker_release(vio, w);
		return;
	}
	worker_pin_code();
	if (w->watch)
		vio->host->fd_unwatch(vio->h, w->watch);
	w->watch = NULL;
	pthread_mutex_lock(&w->lock);
	close(w->efd); /* orphans no longer write it (they check under the lock) */
	w->efd = -1;
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->lock);
	if (last)
		worker_free_struct(w);
}
