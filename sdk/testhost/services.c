/*
 * sdk/testhost/services.c: the struct vdev_host table plugins call.
 *
 * Every service first recognises the handle (service_enter): a live
 * instance, a destroyed one (kept in the graveyard: reported through the
 * service hook and the log, and refused), or nothing of ours (refused).
 * Then it checks what the plugin passed, because the SDK enforces its
 * contract instead of trusting it.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "sdk/host/options.h"
#include "sdk/testhost/internal.h"

static struct vdev_testdev *service_enter(vdev_host_t *h, const char *service)
{
	struct vdev_testdev *dev;
	struct vdev_testhost *th;
	bool alive;

	if (!h || (h->magic != TH_MAGIC && h->magic != TH_MAGIC_DEAD))
		return NULL; /* not a handle of ours: nothing to report it to */
	dev = h->dev;
	th = dev->th;
	pthread_mutex_lock(&th->lock);
	alive = dev->alive;
	pthread_mutex_unlock(&th->lock);
	if (th->hooks.service)
		th->hooks.service(th->hooks.ctx, alive ? dev : NULL, service, alive);
	if (!alive) {
		th_host_error(th, "destroyed-handle", "%s: %s called with the handle of a destroyed instance.",
			      dev->name, service);
		return NULL;
	}
	return dev;
}

/* --------------------------------------------------------------- regions */

static int svc_region_add(vdev_host_t *h, enum vdev_space space, uint64_t base, uint64_t length,
			  uint32_t id)
{
	struct vdev_testdev *dev = service_enter(h, "region_add");

	return dev ? th_region_add(dev, space, base, length, id) : -EINVAL;
}

static int svc_region_remove(vdev_host_t *h, uint32_t id)
{
	struct vdev_testdev *dev = service_enter(h, "region_remove");

	return dev ? th_region_remove(dev, id) : -EINVAL;
}

/* ------------------------------------------------------ fault injection */

/* Whether this call of the service `bit` is to fail (see
 * vdev_testhost_inject_faults). */
static bool fault_now(struct vdev_testhost *th, unsigned bit)
{
	bool fail = false;

	pthread_mutex_lock(&th->lock);
	if ((th->fault_services & bit) && th->fault_one_in) {
		/* splitmix64: the same seed fails the same calls */
		uint64_t z = (th->fault_rng += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		fail = (z ^ (z >> 31)) % th->fault_one_in == 0;
		if (fail)
			th->faults++;
	}
	pthread_mutex_unlock(&th->lock);
	return fail;
}

bool th_poisoned(struct vdev_testhost *th, const void *buf, size_t length)
{
	const uint8_t *p = buf;
	unsigned run = 0;
	bool armed;

	pthread_mutex_lock(&th->lock);
	armed = (th->fault_services & VDEV_TESTHOST_FAULT_MEM_READ) && th->fault_one_in;
	pthread_mutex_unlock(&th->lock);
	for (size_t i = 0; armed && i < length; i++) {
		run = p[i] == VDEV_TESTHOST_POISON ? run + 1 : 0;
		if (run == 8)
			return true;
	}
	return false;
}

unsigned vdev_testhost_inject_faults(struct vdev_testhost *th, unsigned services, unsigned one_in,
				     uint64_t seed)
{
	unsigned n;

	pthread_mutex_lock(&th->lock);
	th->fault_services = services;
	th->fault_one_in = one_in;
	th->fault_rng = seed;
	n = th->faults;
	pthread_mutex_unlock(&th->lock);
	return n;
}

/* ------------------------------------------------------------ interrupts */

/* Whether `spec` is one of the instance's `intr` values, or one entry of a
 * comma-separated one (a device with a line per function splits them). */
static bool intr_configured(const struct vdev_testdev *dev, const char *spec)
{
	const struct vdev_config *cfg = dev->config;
	size_t len = strlen(spec);

	if (!cfg)
		return true;
	for (unsigned i = 0; i < cfg->intr_count; i++) {
		const char *p = cfg->intrs[i];

		while (p && *p) {
			const char *end = strchr(p, ',');
			size_t n = end ? (size_t)(end - p) : strlen(p);

			if (n == len && !strncmp(p, spec, n))
				return true;
			p = end ? end + 1 : NULL;
		}
	}
	return false;
}

static int svc_intr_lookup(vdev_host_t *h, const char *spec, struct vdev_line **out)
{
	struct vdev_testdev *dev = service_enter(h, "intr_lookup");
	struct vdev_testhost *th;
	struct vdev_line *l;
	struct th_intc *c;
	size_t name_len;
	uint64_t n;

	if (!dev)
		return -EINVAL;
	th = dev->th;
	if (!spec || !out)
		return -EINVAL;
	*out = NULL;
	if (conf_line_parse(spec, &name_len, &n, NULL) < 0)
		return -EINVAL;
	if (!intr_configured(dev, spec)) {
		/* Served (vdm would too), but a line the configuration did not
		 * give this instance belongs to some other device. */
		th_host_error(th, "line-unconfigured",
			      "%s: intr_lookup(\"%s\"), a line not named in its `intr` options.",
			      dev->name, spec);
	}
	pthread_mutex_lock(&th->lock);
	c = th_intc_find(th, spec, name_len);
	if (!c) {
		pthread_mutex_unlock(&th->lock);
		return -ENOENT;
	}
	if (n >= c->line_count) {
		pthread_mutex_unlock(&th->lock);
		return -ERANGE;
	}
	/* One handle per (instance, line): looking a line up twice is harmless. */
	for (l = dev->lines; l; l = l->next) {
		if (l->intc == c && l->line == n) {
			*out = l;
			pthread_mutex_unlock(&th->lock);
			return 0;
		}
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		pthread_mutex_unlock(&th->lock);
		return -ENOMEM;
	}
	l->magic = TH_MAGIC;
	l->dev = dev;
	l->intc = c;
	l->line = (unsigned)n;
	l->next = dev->lines;
	dev->lines = l;
	*out = l;
	pthread_mutex_unlock(&th->lock);
	return 0;
}

static bool line_owned(struct vdev_testdev *dev, struct vdev_line *line)
{
	struct vdev_line *l;

	for (l = dev->lines; l; l = l->next) {
		if (l == line)
			return true;
	}
	return false;
}

/*
 * The one place a line changes: edge-filter on the handle's level, combine
 * the handles of one controller line (wired-OR), record the change, and give
 * it to a plugin controller outside th->lock.
 */
int th_line_drive(struct vdev_testhost *th, struct vdev_line *line, int level)
{
	struct vdev_testdev *ctrl = NULL;
	struct th_intc *c;
	unsigned n;
	int out = -1;

	level = level != 0;
	pthread_mutex_lock(&th->lock);
	if (line->level == level) {
		pthread_mutex_unlock(&th->lock);
		return 0;
	}
	c = line->intc;
	n = line->line;
	if (c->dead) {
		pthread_mutex_unlock(&th->lock);
		th_host_error(th, "dead-controller", "%s: line %s:%u belongs to a destroyed controller.",
			      line->dev->name, c->name, n);
		return -ENODEV;
	}
	line->level = level;
	if (level) {
		if (c->asserted[n]++ == 0) {
			out = 1;
			c->edges[n]++;
		}
	} else if (--c->asserted[n] == 0) {
		out = 0;
	}
	if (out >= 0) {
		th_text_printf(&th->trace, "%s:%u %d\n", c->name, n, out);
		ctrl = c->plugin;
	}
	pthread_mutex_unlock(&th->lock);
	if (ctrl) {
		th_dev_lock(ctrl, true);
		th_hook_enter(ctrl, "set_level");
		ctrl->desc->intc->set_level(ctrl->state, n, out);
		th_hook_exit(ctrl, "set_level");
		th_dev_unlock(ctrl, true);
	}
	return 0;
}

static struct vdev_line *line_check(struct vdev_testdev *dev, struct vdev_line *line,
				    const char *service)
{
	bool ok;

	pthread_mutex_lock(&dev->th->lock);
	ok = line && line_owned(dev, line);
	pthread_mutex_unlock(&dev->th->lock);
	if (!ok) {
		th_host_error(dev->th, "line-handle", "%s: %s with a line handle it did not get from intr_lookup.",
			      dev->name, service);
		return NULL;
	}
	return line;
}

static int svc_line_set(vdev_host_t *h, struct vdev_line *line, int level)
{
	struct vdev_testdev *dev = service_enter(h, "line_set");

	if (!dev || !line_check(dev, line, "line_set"))
		return -EINVAL;
	return th_line_drive(dev->th, line, level);
}

static int svc_line_pulse(vdev_host_t *h, struct vdev_line *line)
{
	struct vdev_testdev *dev = service_enter(h, "line_pulse");
	int rc;

	if (!dev || !line_check(dev, line, "line_pulse"))
		return -EINVAL;
	/* A handle that holds its line high shows no edge: nothing to do. */
	if (line->level)
		return 0;
	rc = th_line_drive(dev->th, line, 1);
	if (rc == 0)
		rc = th_line_drive(dev->th, line, 0);
	return rc;
}

static int svc_msi_send(vdev_host_t *h, uint64_t address, uint32_t data)
{
	struct vdev_testdev *dev = service_enter(h, "msi_send");

	if (!dev)
		return -EINVAL;
	if (fault_now(dev->th, VDEV_TESTHOST_FAULT_MSI_SEND))
		return -EIO;
	pthread_mutex_lock(&dev->th->lock);
	th_text_printf(&dev->th->trace, "msi %#llx %#x\n", (unsigned long long)address, data);
	pthread_mutex_unlock(&dev->th->lock);
	return 0;
}

/* ------------------------------------------------------------ guest memory */

/* The RAM bytes for a mem_read/mem_write of [gpa, gpa+length) in *p (NULL
 * for length 0). RAM blocks never move or go away while the host lives, so
 * the bytes stay valid after th->lock is dropped. */
static int svc_mem_span(vdev_host_t *h, const char *service, uint64_t gpa, size_t length,
			uint8_t **p)
{
	struct vdev_testdev *dev = service_enter(h, service);

	*p = NULL;
	if (!dev)
		return -EINVAL;
	if (!length)
		return 0;
	pthread_mutex_lock(&dev->th->lock);
	*p = th_ram_find(dev->th, gpa, length);
	pthread_mutex_unlock(&dev->th->lock);
	return *p ? 0 : -EFAULT;
}

static int svc_mem_read(vdev_host_t *h, uint64_t gpa, void *buf, size_t length)
{
	uint8_t *p;
	int rc = svc_mem_span(h, "mem_read", gpa, length, &p);

	if (rc == 0 && p && fault_now(h->dev->th, VDEV_TESTHOST_FAULT_MEM_READ)) {
		memset(buf, VDEV_TESTHOST_POISON, length);
		return -EFAULT;
	}
	if (rc == 0 && p)
		memcpy(buf, p, length);
	return rc;
}

static int svc_mem_write(vdev_host_t *h, uint64_t gpa, const void *buf, size_t length)
{
	uint8_t *p;
	int rc = svc_mem_span(h, "mem_write", gpa, length, &p);

	if (rc == 0 && p && th_poisoned(h->dev->th, buf, length))
		th_host_error(h->dev->th, "poison",
			      "%s: mem_write of %zu bytes at %#llx carries the bytes a failed "
			      "mem_read left in its buffer: data used despite the error.",
			      h->dev->name, length, (unsigned long long)gpa);
	if (rc == 0 && p && fault_now(h->dev->th, VDEV_TESTHOST_FAULT_MEM_WRITE))
		return -EFAULT;
	if (rc == 0 && p)
		memcpy(p, buf, length);
	return rc;
}

/* The RAM blocks of the test host, in address order (it has no ROM). */
static int svc_mem_ranges(vdev_host_t *h, struct vdev_mem_range *ranges, unsigned max)
{
	struct vdev_testdev *dev = service_enter(h, "mem_ranges");
	struct vdev_testhost *th;
	unsigned n = 0;
	uint64_t after = 0;
	bool first = true;

	if (!dev || (!ranges && max))
		return -EINVAL;
	th = dev->th;
	pthread_mutex_lock(&th->lock);
	/* blocks are kept in the order they were added: emit by address */
	for (;;) {
		const struct th_ram *next = NULL;
		for (unsigned i = 0; i < th->ram_count; i++) {
			const struct th_ram *r = &th->rams[i];
			if ((first || r->gpa > after) && (!next || r->gpa < next->gpa))
				next = r;
		}
		if (!next)
			break;
		if (n < max)
			ranges[n] = (struct vdev_mem_range){
				.start = next->gpa, .length = next->size, .kind = VDEV_MEM_RAM};
		n++;
		after = next->gpa;
		first = false;
	}
	pthread_mutex_unlock(&th->lock);
	return (int)n;
}

static void *svc_mem_map(vdev_host_t *h, uint64_t gpa, size_t length, uint32_t prot)
{
	struct vdev_testdev *dev = service_enter(h, "mem_map");
	struct th_map *m;
	uint8_t *p;

	if (!dev) {
		errno = EINVAL;
		return NULL;
	}
	if (!length || !prot || (prot & ~(VDEV_MAP_READ | VDEV_MAP_WRITE))) {
		errno = EINVAL;
		return NULL;
	}
	if (fault_now(dev->th, VDEV_TESTHOST_FAULT_MEM_MAP)) {
		errno = EFAULT;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&dev->th->lock);
	p = th_ram_find(dev->th, gpa, length);
	if (p) {
		m->ptr = p;
		m->length = length;
		m->next = dev->maps;
		dev->maps = m;
	}
	pthread_mutex_unlock(&dev->th->lock);
	if (!p) {
		free(m);
		errno = EFAULT;
	}
	return p;
}

static void svc_mem_unmap(vdev_host_t *h, void *ptr, size_t length)
{
	struct vdev_testdev *dev = service_enter(h, "mem_unmap");
	struct th_map **pm, *m = NULL;

	if (!dev)
		return;
	pthread_mutex_lock(&dev->th->lock);
	for (pm = &dev->maps; *pm; pm = &(*pm)->next) {
		if ((*pm)->ptr == ptr && (*pm)->length == length) {
			m = *pm;
			*pm = m->next;
			break;
		}
	}
	pthread_mutex_unlock(&dev->th->lock);
	if (!m) {
		th_host_error(dev->th, "mem-unmap", "%s: mem_unmap of %p (%zu bytes), which mem_map did not "
			      "return.", dev->name, ptr, length);
		return;
	}
	free(m);
}

/* ---------------------------------------------------------------- timers */

static bool timer_owned(struct vdev_testdev *dev, struct vdev_timer *timer)
{
	struct vdev_timer *t;

	for (t = dev->timers; t; t = t->next) {
		if (t == timer)
			return true;
	}
	return false;
}

static int svc_timer_create(vdev_host_t *h, vdev_timer_fn *fn, void *arg,
			    struct vdev_timer **timer)
{
	struct vdev_testdev *dev = service_enter(h, "timer_create");
	struct vdev_timer *t;

	if (!dev || !fn || !timer)
		return -EINVAL;
	if (fault_now(dev->th, VDEV_TESTHOST_FAULT_TIMER_CREATE))
		return -ENOMEM;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->magic = TH_MAGIC;
	t->dev = dev;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_lock(&dev->th->lock);
	t->next = dev->timers;
	dev->timers = t;
	pthread_mutex_unlock(&dev->th->lock);
	*timer = t;
	return 0;
}

static int svc_timer_arm(vdev_host_t *h, struct vdev_timer *timer, uint64_t delay_ns,
			 uint64_t period_ns)
{
	struct vdev_testdev *dev = service_enter(h, "timer_arm");
	struct vdev_testhost *th;

	if (!dev)
		return -EINVAL;
	th = dev->th;
	pthread_mutex_lock(&th->lock);
	if (!timer_owned(dev, timer)) {
		pthread_mutex_unlock(&th->lock);
		th_host_error(th, "timer-handle", "%s: timer_arm with a timer that is not one of its live timers.",
			      dev->name);
		return -EINVAL;
	}
	timer->armed = true;
	timer->deadline = delay_ns > UINT64_MAX - th->now ? UINT64_MAX : th->now + delay_ns;
	timer->period = period_ns;
	timer->seq = ++th->timer_seq;
	timer->gen++;
	pthread_mutex_unlock(&th->lock);
	return 0;
}

static int svc_timer_cancel(vdev_host_t *h, struct vdev_timer *timer)
{
	struct vdev_testdev *dev = service_enter(h, "timer_cancel");
	struct vdev_testhost *th;

	if (!dev)
		return -EINVAL;
	th = dev->th;
	pthread_mutex_lock(&th->lock);
	if (!timer_owned(dev, timer)) {
		pthread_mutex_unlock(&th->lock);
		th_host_error(th, "timer-handle", "%s: timer_cancel with a timer that is not one of its live "
			      "timers.", dev->name);
		return -EINVAL;
	}
	timer->armed = false;
	timer->gen++;
	pthread_mutex_unlock(&th->lock);
	return 0;
}

static void svc_timer_destroy(vdev_host_t *h, struct vdev_timer *timer)
{
	struct vdev_testdev *dev = service_enter(h, "timer_destroy");
	struct vdev_testhost *th;
	struct vdev_timer **pt;

	if (!dev)
		return;
	th = dev->th;
	pthread_mutex_lock(&th->lock);
	for (pt = &dev->timers; *pt; pt = &(*pt)->next) {
		if (*pt == timer) {
			*pt = timer->next;
			timer->armed = false;
			timer->gen++;
			timer->magic = TH_MAGIC_DEAD;
			timer->next = th->dead_timers;
			th->dead_timers = timer;
			pthread_mutex_unlock(&th->lock);
			return;
		}
	}
	pthread_mutex_unlock(&th->lock);
	th_host_error(th, "timer-handle", "%s: timer_destroy with a timer that is not one of its live timers.",
		      dev->name);
}

static uint64_t svc_clock_ns(vdev_host_t *h)
{
	struct vdev_testdev *dev = service_enter(h, "clock_ns");
	uint64_t now;

	if (!dev)
		return 0;
	pthread_mutex_lock(&dev->th->lock);
	now = dev->th->now;
	pthread_mutex_unlock(&dev->th->lock);
	return now;
}

/* ------------------------------------------------------------- fd watches */

#define FD_EVENTS_ALL (VDEV_FD_IN | VDEV_FD_OUT | VDEV_FD_ERR | VDEV_FD_HUP)

static bool watch_owned(struct vdev_testdev *dev, struct vdev_watch *watch)
{
	struct vdev_watch *w;

	for (w = dev->watches; w; w = w->next) {
		if (w == watch)
			return true;
	}
	return false;
}

static int svc_fd_watch(vdev_host_t *h, int fd, uint32_t events, vdev_fd_fn *fn, void *arg,
			struct vdev_watch **watch)
{
	struct vdev_testdev *dev = service_enter(h, "fd_watch");
	struct vdev_watch *w;

	if (!dev)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (!fn || !watch || (events & ~FD_EVENTS_ALL))
		return -EINVAL;
	if (fault_now(dev->th, VDEV_TESTHOST_FAULT_FD_WATCH))
		return -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->magic = TH_MAGIC;
	w->dev = dev;
	w->fd = fd;
	w->events = events;
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_lock(&dev->th->lock);
	w->next = dev->watches;
	dev->watches = w;
	pthread_mutex_unlock(&dev->th->lock);
	*watch = w;
	return 0;
}

static int svc_fd_modify(vdev_host_t *h, struct vdev_watch *watch, uint32_t events)
{
	struct vdev_testdev *dev = service_enter(h, "fd_modify");
	bool ok;

	if (!dev)
		return -EINVAL;
	if (events & ~FD_EVENTS_ALL)
		return -EINVAL;
	pthread_mutex_lock(&dev->th->lock);
	ok = watch_owned(dev, watch);
	if (ok) {
		watch->events = events;
		watch->gen++;
	}
	pthread_mutex_unlock(&dev->th->lock);
	if (!ok) {
		th_host_error(dev->th, "watch-handle", "%s: fd_modify with a watch that is not one of its live "
			      "watches.", dev->name);
		return -EINVAL;
	}
	return 0;
}

static void svc_fd_unwatch(vdev_host_t *h, struct vdev_watch *watch)
{
	struct vdev_testdev *dev = service_enter(h, "fd_unwatch");
	struct vdev_testhost *th;
	struct vdev_watch **pw;

	if (!dev)
		return;
	th = dev->th;
	pthread_mutex_lock(&th->lock);
	for (pw = &dev->watches; *pw; pw = &(*pw)->next) {
		if (*pw == watch) {
			*pw = watch->next;
			watch->gen++;
			watch->magic = TH_MAGIC_DEAD;
			watch->next = th->dead_watches;
			th->dead_watches = watch;
			pthread_mutex_unlock(&th->lock);
			return;
		}
	}
	pthread_mutex_unlock(&th->lock);
	th_host_error(th, "watch-handle", "%s: fd_unwatch with a watch that is not one of its live watches.",
		      dev->name);
}

/* ------------------------------------------------------------ log and end */

static void svc_vlog_named(struct vdev_testdev *dev, enum vdev_log_level level, const char *fmt,
			   va_list ap)
{
	struct vdev_testhost *th = dev->th;
	char line[1024];
	size_t n;

	if ((unsigned)level > VDEV_LOG_VERBOSE) {
		th_host_error(th, "log-level", "%s: log with unknown level %d.", dev->name, (int)level);
		level = VDEV_LOG_ERROR;
	}
	if (!(dev->log_filters & vdev_log_level_filter(level)))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	pthread_mutex_lock(&th->lock);
	th_text_printf(&th->log, "%s: %s: %s\n", dev->name, vdev_log_level_name(level), line);
	pthread_mutex_unlock(&th->lock);
}

static void svc_vlog(vdev_host_t *h, enum vdev_log_level level, const char *fmt, va_list ap)
{
	struct vdev_testdev *dev = service_enter(h, "vlog");

	if (dev && fmt)
		svc_vlog_named(dev, level, fmt, ap);
}

static void svc_log(vdev_host_t *h, enum vdev_log_level level, const char *fmt, ...)
{
	struct vdev_testdev *dev = service_enter(h, "log");
	va_list ap;

	if (!dev || !fmt)
		return;
	va_start(ap, fmt);
	svc_vlog_named(dev, level, fmt, ap);
	va_end(ap);
}

static int svc_terminate(vdev_host_t *h, int cause)
{
	struct vdev_testdev *dev = service_enter(h, "terminate");

	bool dump;

	if (!dev)
		return -EINVAL;
	/* the test host has no guest to dump: the flag is recorded, not refused */
	dump = cause & VDEV_TERMINATE_DUMP;
	cause &= ~VDEV_TERMINATE_DUMP;
	if (!(cause == 0 || cause == 3 || cause == 4 ||
	      (cause >= VDEV_TERMINATE_MIN && cause <= VDEV_TERMINATE_MAX))) {
		th_host_error(dev->th, "terminate-cause", "%s: terminate with cause %d; causes are 0, 3, 4 or %d..%d.",
			      dev->name, cause, VDEV_TERMINATE_MIN, VDEV_TERMINATE_MAX);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->th->lock);
	dev->th->terminated = cause;
	th_text_printf(&dev->th->trace, dump ? "terminate %d dump\n" : "terminate %d\n", cause);
	pthread_mutex_unlock(&dev->th->lock);
	return 0;
}

/* ABI 1.2: both only recorded in the trace, for datasheet tests to assert. */
static int svc_platform_shutdown(vdev_host_t *h, enum vdev_shutdown_reason reason)
{
	struct vdev_testdev *dev = service_enter(h, "platform_shutdown");

	if (!dev)
		return -EINVAL;
	if (reason != VDEV_SHUTDOWN_POWEROFF && reason != VDEV_SHUTDOWN_REBOOT) {
		th_host_error(dev->th, "shutdown-reason", "%s: platform_shutdown with reason %d; reasons are %d or %d.",
			      dev->name, (int)reason, VDEV_SHUTDOWN_POWEROFF, VDEV_SHUTDOWN_REBOOT);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->th->lock);
	th_text_printf(&dev->th->trace, "shutdown %s\n",
		       reason == VDEV_SHUTDOWN_POWEROFF ? "poweroff" : "reboot");
	pthread_mutex_unlock(&dev->th->lock);
	return 0;
}

static int svc_pci_link_route(vdev_host_t *h, unsigned link, unsigned irq)
{
	struct vdev_testdev *dev = service_enter(h, "pci_link_route");

	if (!dev)
		return -EINVAL;
	if (link > 3 || irq > 15) {
		th_host_error(dev->th, "link-route", "%s: pci_link_route(%u, %u); links are 0..3, IRQs 0..15.",
			      dev->name, link, irq);
		return -EINVAL;
	}
	pthread_mutex_lock(&dev->th->lock);
	th_text_printf(&dev->th->trace, "link-route %u %u\n", link, irq);
	pthread_mutex_unlock(&dev->th->lock);
	return 0;
}

const struct vdev_host th_services = {
	.struct_size = sizeof(struct vdev_host),
	.abi_major = VDEV_ABI_MAJOR,
	.abi_minor = VDEV_ABI_MINOR,
	.region_add = svc_region_add,
	.region_remove = svc_region_remove,
	.intr_lookup = svc_intr_lookup,
	.line_set = svc_line_set,
	.line_pulse = svc_line_pulse,
	.msi_send = svc_msi_send,
	.mem_read = svc_mem_read,
	.mem_write = svc_mem_write,
	.mem_map = svc_mem_map,
	.mem_unmap = svc_mem_unmap,
	.timer_create = svc_timer_create,
	.timer_arm = svc_timer_arm,
	.timer_cancel = svc_timer_cancel,
	.timer_destroy = svc_timer_destroy,
	.clock_ns = svc_clock_ns,
	.fd_watch = svc_fd_watch,
	.fd_modify = svc_fd_modify,
	.fd_unwatch = svc_fd_unwatch,
	.log = svc_log,
	.vlog = svc_vlog,
	.terminate = svc_terminate,
	.mem_ranges = svc_mem_ranges,
	.platform_shutdown = svc_platform_shutdown,
	.pci_link_route = svc_pci_link_route,
};
