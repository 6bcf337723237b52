/*
 * devmodel/plugin_host.c: the vdev_host services vdm implements, and the
 * instance records behind them.
 *
 * Locking. inst->lock (recursive, so that a device that ends up calling a
 * service which calls back into itself, e.g. driving a line of a
 * controller it implements, does not deadlock) serialises every callback
 * into the plugin unless VDEV_F_SELF_LOCKED. inst->res_lock protects the
 * instance's lists (lines, timers, watches) against services called from
 * several threads at once by self-locked plugins.
 *
 * Timers. A timer callback takes the instance lock first and only then
 * reads the timerfd's expiry count: a timer cancelled or re-armed by a
 * vCPU (which holds the instance lock while doing it) therefore never
 * fires with a stale expiry, which is what "no call starts after
 * timer_cancel returns" needs. The timer record is freed by the event
 * loop's release callback, once no callback can still be using it.
 *
 * Region adds after the guest started are refused (-EPERM) except from
 * inside a pcicfg access, where a device moves its BARs; a thread-local
 * flag tells which.
 */
#include "devmodel/plugin_host.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/evloop.h"
#include "devmodel/exitcode.h"
#include "devmodel/guest_mem.h"
#include "devmodel/iomap.h"
#include "devmodel/isolate.h"
#include "devmodel/irq.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"
#include "sdk/host/options.h"
#include "sdk/host/plugin.h"

#define PLUGIN_HOST_MAGIC 0x76646d69u

struct vdev_timer {
	struct vdev_timer *next;
	struct vdev_host_ctx *inst;
	vdev_timer_fn *fn;
	void *arg;
	struct evloop_item *item;
	bool destroyed;
};

struct vdev_watch {
	struct vdev_watch *next;
	struct vdev_host_ctx *inst;
	vdev_fd_fn *fn;
	void *arg;
	int fd;
	struct evloop_item *item;
	bool destroyed;
};

struct vdev_host_ctx {
	uint32_t magic;
	struct vm *vm;
	struct vdev_plugin *plugin;
	const struct vdev_descriptor *desc; /* the plugin's, or its isolate proxy */
	struct isolate_descriptor *proxy;   /* `isolate`: owned here */
	const struct conf_vdev *vdev;
	const struct vdev_config *config;
	struct conf_diag *diag; /* only while create() runs */
	/*
	 * The last overlap a region_add of create() met, reported only if
	 * create() then fails: a device may probe (the PCI helper tries device
	 * numbers until one is free), and a probe is not a configuration error.
	 */
	char overlap[256];
	const struct conf_pos *overlap_pos;
	unsigned diag_errors_before; /* diag's error count when create() began */
	/* the device's first error line during create(): the reason a failing
	 * create() is reported with, at the vdev, instead of two messages */
	char create_error[256];
	bool create_error_held;
	struct log_ratelimit guest_log; /* its messages once the guest runs */
	char name[128];
	void *dev;
	bool self_locked;
	pthread_mutex_t lock;
	pthread_mutex_t res_lock;
	struct iomap_owner owner;
	struct vdev_line **lines;
	unsigned line_count, line_cap;
	struct vdev_timer *timers;
	struct vdev_watch *watches;
	atomic_uint regions;
	/* owns a PCI function (a pcicfg region): its BARs are placed by the
	 * SDK, which probes free slots and reports its own failures */
	atomic_bool pci_function;
	atomic_uint maps;
	struct log_sinks sinks;
	bool own_sinks;
	struct irq_controller *intc;
	struct irq_controller_ops intc_ops;
	atomic_uint_fast64_t reads, writes, errors;
};

static __thread bool plugin_host_in_pcicfg;

static void plugin_host_lock(struct vdev_host_ctx *inst)
{
	if (!inst->self_locked)
		pthread_mutex_lock(&inst->lock);
}

static void plugin_host_unlock(struct vdev_host_ctx *inst)
{
	if (!inst->self_locked)
		pthread_mutex_unlock(&inst->lock);
}

static struct vdev_host_ctx *plugin_host_check(vdev_host_t *h)
{
	return h && h->magic == PLUGIN_HOST_MAGIC ? h : NULL;
}

/*
 * Once the guest runs, whatever a device logs may be the guest's doing (a
 * register poked in a loop, a BAR moved onto RAM on every write): each
 * instance's messages then go through a rate limit of its own, so that one
 * noisy device neither floods the log nor silences the others.
 */
static void plugin_host_vlogf(struct vdev_host_ctx *inst, enum log_level level, const char *fmt,
			      va_list ap) __attribute__((format(printf, 3, 0)));
static void plugin_host_vlogf(struct vdev_host_ctx *inst, enum log_level level, const char *fmt,
			      va_list ap)
{
	const struct log_sinks *sinks = inst->own_sinks ? &inst->sinks : NULL;

	/*
	 * Once the host has reported this vdev's problem at its file:line:col
	 * (an overlap, a bad line), the device's own account of the failure
	 * that follows says the same thing again: keep it for debug logs. An
	 * overlap met during create() counts too: it is reported if create()
	 * fails, which is when a device says so.
	 */
	if (inst->diag &&
	    (conf_diag_error_count(inst->diag) > inst->diag_errors_before || inst->overlap[0]) &&
	    (level == LOG_LVL_ERROR || level == LOG_LVL_WARN))
		level = LOG_LVL_DEBUG;
	else if (inst->diag && level == LOG_LVL_ERROR && !inst->create_error_held) {
		vsnprintf(inst->create_error, sizeof(inst->create_error), fmt, ap);
		inst->create_error_held = true;
		return;
	}
	if (vm_guest_started(inst->vm))
		log_vguest(vm_logger(inst->vm), &inst->guest_log, sinks, level, inst->name, fmt,
			   ap);
	else
		log_vwrite(vm_logger(inst->vm), sinks, level, inst->name, fmt, ap);
}

static void plugin_host_logf(struct vdev_host_ctx *inst, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void plugin_host_logf(struct vdev_host_ctx *inst, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	plugin_host_vlogf(inst, level, fmt, ap);
	va_end(ap);
}

/* The position of the `loc` whose base is `base`, else the vdev's. */
static const struct conf_pos *plugin_host_loc_pos(struct vdev_host_ctx *inst, uint64_t base)
{
	for (unsigned i = 0; inst->vdev && i < inst->vdev->loc_count; i++)
		if (inst->vdev->locs[i].loc.base == base)
			return &inst->vdev->locs[i].pos;
	return inst->vdev ? &inst->vdev->pos : NULL;
}

/*
 * The position of an `intr` (or INTR option) with text `spec`; NULL when the
 * user did not write it: a fan-out of entries vm.c checked one by one, or
 * a device's own default (`vdev hpet` probing for `isa`), whose absence is
 * the device's to handle, not a configuration error.
 */
static const struct conf_pos *plugin_host_intr_pos(struct vdev_host_ctx *inst, const char *spec)
{
	if (!inst->vdev)
		return NULL;
	for (unsigned i = 0; i < inst->vdev->intr_count; i++)
		if (inst->vdev->intrs[i].text && strcmp(inst->vdev->intrs[i].text, spec) == 0)
			return &inst->vdev->intrs[i].pos;
	for (unsigned i = 0; i < inst->vdev->option_count; i++)
		if (inst->vdev->options[i].value && strcmp(inst->vdev->options[i].value, spec) == 0)
			return &inst->vdev->options[i].value_pos;
	return NULL;
}

/* ----------------------------------------------------------- dispatch */

static int plugin_host_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
			      unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	struct vdev_host_ctx *inst = ctx;
	const struct vdev_ops *ops = inst->desc->ops;
	struct vdev_access access = {
	    .region = id,
	    .space = space,
	    .offset = offset,
	    .size = (uint8_t)size,
	    .vcpu = vcpu,
	};
	bool was_pcicfg = plugin_host_in_pcicfg;
	int ret;

	plugin_host_in_pcicfg = space == VDEV_SPACE_PCICFG;
	plugin_host_lock(inst);
	if (is_write) {
		atomic_fetch_add_explicit(&inst->writes, 1, memory_order_relaxed);
		ret = ops->write ? ops->write(inst->dev, &access, *value) : VDEV_ACCESS_BUS_ERROR;
	} else {
		uint64_t v = 0;

		atomic_fetch_add_explicit(&inst->reads, 1, memory_order_relaxed);
		ret = ops->read ? ops->read(inst->dev, &access, &v) : VDEV_ACCESS_BUS_ERROR;
		*value = v;
	}
	plugin_host_unlock(inst);
	plugin_host_in_pcicfg = was_pcicfg;
	if (ret != 0) {
		atomic_fetch_add_explicit(&inst->errors, 1, memory_order_relaxed);
		return ret < 0 ? ret : -EIO;
	}
	return 0;
}

static int plugin_host_region_add(vdev_host_t *h, enum vdev_space space, uint64_t base,
				  uint64_t length, uint32_t id)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	struct iomap_conflict conflict;
	int ret;

	if (!inst)
		return -EINVAL;
	if (vm_guest_started(inst->vm) && !plugin_host_in_pcicfg)
		return -EPERM;
	if (!inst->desc->ops->read || !inst->desc->ops->write) {
		plugin_host_logf(inst, LOG_LVL_ERROR,
				 "region_add: the device has no read/write callbacks");
		return -EINVAL;
	}
	ret = iomap_add(vm_iomap(inst->vm), space, base, length, &inst->owner, id, &conflict);
	if (ret == -EEXIST && (space == VDEV_SPACE_PCICFG || atomic_load(&inst->pci_function))) {
		/* Not an error here: a function placed automatically probes the
		 * device numbers of bus 0 this way (sdk/lib/pci.c takes the next
		 * one; a fixed `loc pci:` that is taken is reported there), and
		 * a PCI function's BAR placed automatically probes the default
		 * window the same way (a fixed BAR that is taken is reported as
		 * "BARn: cannot map"). With the HVM platform 0:1 is the PIIX3's
		 * and the window starts with the first disk's BAR, so every
		 * further function logged an "error" that failed clean runs. */
		plugin_host_logf(inst, LOG_LVL_DEBUG, "%s 0x%llx is %s's", iomap_space_name(space),
				 (unsigned long long)base, conflict.owner);
	} else if (ret == -EEXIST) {
		const char *what = iomap_space_name(space);

		if (inst->diag) {
			snprintf(inst->overlap, sizeof(inst->overlap),
				 "vdev %s: %s region 0x%llx-0x%llx overlaps %s 0x%llx-0x%llx",
				 inst->name, what, (unsigned long long)base,
				 (unsigned long long)(base + length - 1), conflict.owner,
				 (unsigned long long)conflict.base,
				 (unsigned long long)(conflict.base + conflict.length - 1));
			inst->overlap_pos = plugin_host_loc_pos(inst, base);
		} else
			plugin_host_logf(inst, LOG_LVL_ERROR,
					 "%s region 0x%llx-0x%llx overlaps %s 0x%llx-0x%llx", what,
					 (unsigned long long)base,
					 (unsigned long long)(base + length - 1), conflict.owner,
					 (unsigned long long)conflict.base,
					 (unsigned long long)(conflict.base + conflict.length - 1));
	} else if (ret == 0) {
		atomic_fetch_add(&inst->regions, 1);
		if (space == VDEV_SPACE_PCICFG)
			atomic_store(&inst->pci_function, true);
	}
	return ret;
}

static int plugin_host_region_remove(vdev_host_t *h, uint32_t id)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	int ret;

	if (!inst)
		return -EINVAL;
	ret = iomap_remove(vm_iomap(inst->vm), &inst->owner, id);
	if (ret == 0)
		atomic_fetch_sub(&inst->regions, 1);
	return ret;
}

/* ---------------------------------------------------------- interrupts */

static int plugin_host_intr_lookup(vdev_host_t *h, const char *spec, struct vdev_line **line)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	struct vdev_line *l;
	int ret;

	if (!inst || !spec || !line)
		return -EINVAL;
	ret = irq_line_get(vm_irq(inst->vm), spec, &l);
	if (ret < 0) {
		if (inst->diag && plugin_host_intr_pos(inst, spec))
			conf_diag_error(inst->diag, plugin_host_intr_pos(inst, spec),
					"vdev %s: interrupt '%s': %s", inst->name, spec,
					ret == -ENOENT	 ? "no interrupt controller of that name"
					: ret == -ERANGE ? "the controller has no such line"
							 : "expected controller:line");
		return ret;
	}
	pthread_mutex_lock(&inst->res_lock);
	if (inst->line_count == inst->line_cap) {
		unsigned cap = inst->line_cap ? inst->line_cap * 2 : 4;
		struct vdev_line **n = realloc(inst->lines, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&inst->res_lock);
			irq_line_put(vm_irq(inst->vm), l);
			return -ENOMEM;
		}
		inst->lines = n;
		inst->line_cap = cap;
	}
	inst->lines[inst->line_count++] = l;
	pthread_mutex_unlock(&inst->res_lock);
	*line = l;
	return 0;
}

static bool plugin_host_owns_line(struct vdev_host_ctx *inst, struct vdev_line *line)
{
	bool found = false;

	pthread_mutex_lock(&inst->res_lock);
	for (unsigned i = 0; i < inst->line_count && !found; i++)
		found = inst->lines[i] == line;
	pthread_mutex_unlock(&inst->res_lock);
	return found;
}

static int plugin_host_line_set(vdev_host_t *h, struct vdev_line *line, int level)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	if (!inst || !line || !plugin_host_owns_line(inst, line))
		return -EINVAL;
	return irq_line_set(vm_irq(inst->vm), line, level);
}

static int plugin_host_line_pulse(vdev_host_t *h, struct vdev_line *line)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	if (!inst || !line || !plugin_host_owns_line(inst, line))
		return -EINVAL;
	return irq_line_pulse(vm_irq(inst->vm), line);
}

static int plugin_host_msi_send(vdev_host_t *h, uint64_t address, uint32_t data)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	if (!inst)
		return -EINVAL;
	return irq_msi_send(vm_irq(inst->vm), address, data);
}

/* A plugin controller's input changed: into the plugin, under its lock. */
static void plugin_host_intc_set_level(void *ctx, unsigned line, int level)
{
	struct vdev_host_ctx *inst = ctx;

	plugin_host_lock(inst);
	inst->desc->intc->set_level(inst->dev, line, level);
	plugin_host_unlock(inst);
}

static int plugin_host_intc_ack(void *ctx)
{
	struct vdev_host_ctx *inst = ctx;
	int vector;

	plugin_host_lock(inst);
	vector = inst->desc->intc->ack(inst->dev);
	plugin_host_unlock(inst);
	return vector;
}

static void plugin_host_intc_eoi(void *ctx, uint8_t vector)
{
	struct vdev_host_ctx *inst = ctx;

	plugin_host_lock(inst);
	inst->desc->intc->eoi(inst->dev, vector);
	plugin_host_unlock(inst);
}

/* -------------------------------------------------------- guest memory */

static int plugin_host_mem_read(vdev_host_t *h, uint64_t gpa, void *buf, size_t length)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	if (!inst || (!buf && length))
		return -EINVAL;
	return guest_mem_read(vm_mem(inst->vm), gpa, buf, length);
}

static int plugin_host_mem_ranges(vdev_host_t *h, struct vdev_mem_range *ranges, unsigned max)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	const struct guest_mem *gm;
	unsigned n = 0;

	if (!inst || (!ranges && max))
		return -EINVAL;
	gm = vm_mem(inst->vm);
	for (unsigned i = 0; i < guest_mem_count(gm); i++) {
		const struct guest_mem_range *r = guest_mem_range_at(gm, i);
		if (r->kind == GUEST_MEM_RESERVE)
			continue;
		if (n < max)
			ranges[n] = (struct vdev_mem_range){
			    .start = r->start,
			    .length = r->length,
			    .kind = r->kind == GUEST_MEM_ROM ? VDEV_MEM_ROM : VDEV_MEM_RAM,
			};
		n++;
	}
	return (int)n;
}

static int plugin_host_mem_write(vdev_host_t *h, uint64_t gpa, const void *buf, size_t length)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	if (!inst || (!buf && length))
		return -EINVAL;
	return guest_mem_write(vm_mem(inst->vm), gpa, buf, length);
}

static void *plugin_host_mem_map(vdev_host_t *h, uint64_t gpa, size_t length, uint32_t prot)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	void *p;

	if (!inst) {
		errno = EINVAL;
		return NULL;
	}
	p = guest_mem_map(vm_mem(inst->vm), gpa, length, prot);
	if (p)
		atomic_fetch_add(&inst->maps, 1);
	return p;
}

static void plugin_host_mem_unmap(vdev_host_t *h, void *ptr, size_t length)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	/* Guest memory stays mapped for the VM's life: only the count moves. */
	if (inst && ptr && atomic_load(&inst->maps) > 0)
		atomic_fetch_sub(&inst->maps, 1);
}

/* -------------------------------------------------------------- timers */

static void plugin_host_timer_fire(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct vdev_timer *t = ctx;
	struct vdev_host_ctx *inst = t->inst;

	plugin_host_lock(inst);
	if (!t->destroyed && evloop_timer_expired(item) > 0)
		t->fn(inst->dev, t->arg);
	plugin_host_unlock(inst);
}

static void plugin_host_timer_release(void *ctx)
{
	free(ctx);
}

static int plugin_host_timer_create(vdev_host_t *h, vdev_timer_fn *fn, void *arg,
				    struct vdev_timer **timer)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	struct vdev_timer *t;
	int ret;

	if (!inst || !fn || !timer)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->inst = inst;
	t->fn = fn;
	t->arg = arg;
	ret = evloop_timer_new(vm_evloop(inst->vm), plugin_host_timer_fire, t,
			       plugin_host_timer_release, &t->item);
	if (ret < 0) {
		free(t);
		return ret;
	}
	pthread_mutex_lock(&inst->res_lock);
	t->next = inst->timers;
	inst->timers = t;
	pthread_mutex_unlock(&inst->res_lock);
	*timer = t;
	return 0;
}

static bool plugin_host_owns_timer(struct vdev_host_ctx *inst, struct vdev_timer *timer)
{
	bool found = false;

	pthread_mutex_lock(&inst->res_lock);
	for (struct vdev_timer *t = inst->timers; t && !found; t = t->next)
		found = t == timer;
	pthread_mutex_unlock(&inst->res_lock);
	return found;
}

static int plugin_host_timer_arm(vdev_host_t *h, struct vdev_timer *timer, uint64_t delay_ns,
				 uint64_t period_ns)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	if (!inst || !timer || !plugin_host_owns_timer(inst, timer))
		return -EINVAL;
	/* delay 0 means "now": the smallest delay the timerfd takes. */
	return evloop_timer_arm(timer->item, delay_ns ? delay_ns : 1, period_ns);
}

static int plugin_host_timer_cancel(vdev_host_t *h, struct vdev_timer *timer)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	int ret;

	if (!inst || !timer || !plugin_host_owns_timer(inst, timer))
		return -EINVAL;
	ret = evloop_timer_arm(timer->item, 0, 0);
	/* Consume an expiry already pending so that it cannot fire later. */
	evloop_timer_expired(timer->item);
	return ret;
}

static void plugin_host_timer_unlink(struct vdev_host_ctx *inst, struct vdev_timer *timer)
{
	for (struct vdev_timer **pp = &inst->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = timer->next;
			break;
		}
	}
}

static void plugin_host_timer_destroy(vdev_host_t *h, struct vdev_timer *timer)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	bool found = false;

	if (!inst || !timer)
		return;
	pthread_mutex_lock(&inst->res_lock);
	for (struct vdev_timer *t = inst->timers; t && !found; t = t->next)
		found = t == timer;
	if (found) {
		plugin_host_timer_unlink(inst, timer);
		timer->destroyed = true;
	}
	pthread_mutex_unlock(&inst->res_lock);
	if (found) {
		evloop_timer_arm(timer->item, 0, 0);
		evloop_remove(vm_evloop(inst->vm), timer->item);
	}
}

/* The VM's clock: the host's monotonic clock, or the sim's virtual one. */
static uint64_t plugin_host_clock_ns(vdev_host_t *h)
{
	return evloop_clock_ns(vm_evloop(h->vm));
}

/* ------------------------------------------------------------ fd watch */

static void plugin_host_watch_fire(void *ctx, struct evloop_item *item, uint32_t events)
{
	struct vdev_watch *w = ctx;
	struct vdev_host_ctx *inst = w->inst;

	plugin_host_lock(inst);
	if (!w->destroyed)
		w->fn(inst->dev, w->arg, w->fd,
		      events & (VDEV_FD_IN | VDEV_FD_OUT | VDEV_FD_ERR | VDEV_FD_HUP));
	plugin_host_unlock(inst);
}

/* VDEV_FD_* are poll(2)'s bits, which equal epoll's. */
static uint32_t plugin_host_epoll_events(uint32_t events)
{
	return events & (VDEV_FD_IN | VDEV_FD_OUT);
}

static int plugin_host_fd_watch(vdev_host_t *h, int fd, uint32_t events, vdev_fd_fn *fn, void *arg,
				struct vdev_watch **watch)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	struct vdev_watch *w;
	int ret;

	if (!inst || fd < 0 || !fn || !watch ||
	    (events & ~(VDEV_FD_IN | VDEV_FD_OUT | VDEV_FD_ERR | VDEV_FD_HUP)))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->inst = inst;
	w->fn = fn;
	w->arg = arg;
	w->fd = fd;
	ret = evloop_watch(vm_evloop(inst->vm), fd, plugin_host_epoll_events(events),
			   plugin_host_watch_fire, w, plugin_host_timer_release, &w->item);
	if (ret < 0) {
		free(w);
		return ret;
	}
	pthread_mutex_lock(&inst->res_lock);
	w->next = inst->watches;
	inst->watches = w;
	pthread_mutex_unlock(&inst->res_lock);
	*watch = w;
	return 0;
}

static bool plugin_host_owns_watch(struct vdev_host_ctx *inst, struct vdev_watch *watch)
{
	bool found = false;

	pthread_mutex_lock(&inst->res_lock);
	for (struct vdev_watch *w = inst->watches; w && !found; w = w->next)
		found = w == watch;
	pthread_mutex_unlock(&inst->res_lock);
	return found;
}

static int plugin_host_fd_modify(vdev_host_t *h, struct vdev_watch *watch, uint32_t events)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	if (!inst || !watch || !plugin_host_owns_watch(inst, watch) ||
	    (events & ~(VDEV_FD_IN | VDEV_FD_OUT | VDEV_FD_ERR | VDEV_FD_HUP)))
		return -EINVAL;
	return evloop_modify(vm_evloop(inst->vm), watch->item, plugin_host_epoll_events(events));
}

static void plugin_host_fd_unwatch(vdev_host_t *h, struct vdev_watch *watch)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	bool found = false;

	if (!inst || !watch)
		return;
	pthread_mutex_lock(&inst->res_lock);
	for (struct vdev_watch **pp = &inst->watches; *pp; pp = &(*pp)->next) {
		if (*pp == watch) {
			*pp = watch->next;
			watch->destroyed = true;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&inst->res_lock);
	if (found)
		evloop_remove(vm_evloop(inst->vm), watch->item);
}

/* --------------------------------------------------------- log, terminate */

static void plugin_host_vlog(vdev_host_t *h, enum vdev_log_level level, const char *fmt, va_list ap)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	if (!inst || !fmt)
		return;
	plugin_host_vlogf(inst, log_from_vdev((int)level), fmt, ap);
}

static void plugin_host_log(vdev_host_t *h, enum vdev_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	plugin_host_vlog(h, level, fmt, ap);
	va_end(ap);
}

static int plugin_host_terminate(vdev_host_t *h, int cause)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);

	bool dump;

	if (!inst)
		return -EINVAL;
	dump = cause & VDEV_TERMINATE_DUMP;
	cause &= ~VDEV_TERMINATE_DUMP;
	if (!(cause == VDM_EXIT_NORMAL || cause == VDM_EXIT_POWER_CUT ||
	      cause == VDM_EXIT_WATCHDOG ||
	      (cause >= VDEV_TERMINATE_MIN && cause <= VDEV_TERMINATE_MAX)))
		return -EINVAL;
	plugin_host_logf(inst, LOG_LVL_INFO, "terminates the VM (cause %d%s)", cause,
			 dump ? ", after a guest dump" : "");
	/* the dump holds the vCPUs: not from this callback, under our lock */
	if (!dump || vm_stop_after_dump(inst->vm, cause) < 0)
		vm_stop(inst->vm, cause);
	return 0;
}

/* ------------------------------------------------- platform (ABI 1.2) */

static int plugin_host_platform_shutdown(vdev_host_t *h, enum vdev_shutdown_reason reason)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	const struct backend_ops *b;

	if (!inst || (reason != VDEV_SHUTDOWN_POWEROFF && reason != VDEV_SHUTDOWN_REBOOT))
		return -EINVAL;
	plugin_host_logf(inst, LOG_LVL_INFO, "the guest %s",
			 reason == VDEV_SHUTDOWN_POWEROFF ? "powers the machine off"
							  : "resets the machine (reboot)");
	b = vm_options(inst->vm)->backend;
	if (b && b->shutdown && b->shutdown(inst->vm, (int)reason) == 0)
		return 0;
	vm_stop(inst->vm, VDM_EXIT_NORMAL);
	return 0;
}

static int plugin_host_pci_link_route(vdev_host_t *h, unsigned link, unsigned irq)
{
	struct vdev_host_ctx *inst = plugin_host_check(h);
	const struct backend_ops *b;

	if (!inst || link > 3 || irq > 15)
		return -EINVAL;
	plugin_host_logf(inst, LOG_LVL_DEBUG, "PCI link %c -> %s%u", 'A' + link,
			 irq ? "IRQ " : "none ", irq);
	b = vm_options(inst->vm)->backend;
	return b && b->pci_link_route ? b->pci_link_route(inst->vm, link, irq) : 0;
}

static const struct vdev_host plugin_host_table = {
    .struct_size = sizeof(struct vdev_host),
    .abi_major = VDEV_ABI_MAJOR,
    .abi_minor = VDEV_ABI_MINOR,
    .region_add = plugin_host_region_add,
    .region_remove = plugin_host_region_remove,
    .intr_lookup = plugin_host_intr_lookup,
    .line_set = plugin_host_line_set,
    .line_pulse = plugin_host_line_pulse,
    .msi_send = plugin_host_msi_send,
    .mem_read = plugin_host_mem_read,
    .mem_write = plugin_host_mem_write,
    .mem_map = plugin_host_mem_map,
    .mem_unmap = plugin_host_mem_unmap,
    .timer_create = plugin_host_timer_create,
    .timer_arm = plugin_host_timer_arm,
    .timer_cancel = plugin_host_timer_cancel,
    .timer_destroy = plugin_host_timer_destroy,
    .clock_ns = plugin_host_clock_ns,
    .fd_watch = plugin_host_fd_watch,
    .fd_modify = plugin_host_fd_modify,
    .fd_unwatch = plugin_host_fd_unwatch,
    .log = plugin_host_log,
    .vlog = plugin_host_vlog,
    .terminate = plugin_host_terminate,
    .mem_ranges = plugin_host_mem_ranges,
    .platform_shutdown = plugin_host_platform_shutdown,
    .pci_link_route = plugin_host_pci_link_route,
};

const struct vdev_host *plugin_host_services(void)
{
	return &plugin_host_table;
}

/* ----------------------------------------------------------- instances */

/* Everything the instance still holds, released (regions first). */
static void plugin_host_release_all(struct vdev_host_ctx *inst)
{
	struct evloop *loop = vm_evloop(inst->vm);
	struct vdev_line **lines;
	unsigned count;

	if (inst->intc) {
		irq_controller_unregister(vm_irq(inst->vm), inst->intc);
		inst->intc = NULL;
	}
	iomap_remove_owner(vm_iomap(inst->vm), &inst->owner);
	iomap_drain(vm_iomap(inst->vm));
	atomic_store(&inst->regions, 0);
	pthread_mutex_lock(&inst->res_lock);
	while (inst->timers) {
		struct vdev_timer *t = inst->timers;

		inst->timers = t->next;
		t->destroyed = true;
		pthread_mutex_unlock(&inst->res_lock);
		evloop_remove(loop, t->item);
		pthread_mutex_lock(&inst->res_lock);
	}
	while (inst->watches) {
		struct vdev_watch *w = inst->watches;

		inst->watches = w->next;
		w->destroyed = true;
		pthread_mutex_unlock(&inst->res_lock);
		evloop_remove(loop, w->item);
		pthread_mutex_lock(&inst->res_lock);
	}
	/* Lines are released outside res_lock: a release can call into a
	 * controller plugin, which drives lines of its own. */
	lines = inst->lines;
	count = inst->line_count;
	inst->lines = NULL;
	inst->line_count = inst->line_cap = 0;
	pthread_mutex_unlock(&inst->res_lock);
	for (unsigned i = 0; i < count; i++)
		irq_line_put(vm_irq(inst->vm), lines[i]);
	free(lines);
}

static void plugin_host_free(struct vdev_host_ctx *inst)
{
	inst->magic = 0;
	free(inst->lines);
	free(inst->proxy);
	pthread_mutex_destroy(&inst->res_lock);
	pthread_mutex_destroy(&inst->lock);
	free(inst);
}

/* What a create() failing this way says: the config names something that
 * is wrong or cannot be opened (a hostdev path, a value out of range). */
static bool plugin_host_config_errno(int err)
{
	return err == -EINVAL || err == -EEXIST || err == -ENOENT || err == -ERANGE ||
	       err == -EACCES || err == -EISDIR || err == -ENOTDIR || err == -ENXIO ||
	       err == -ENAMETOOLONG || err == -ELOOP || err == -EROFS;
}

int plugin_host_create(struct vm *vm, struct vdev_plugin *plugin, const struct conf_vdev *vdev,
		       const struct vdev_config *config, struct conf_diag *diag,
		       struct vdev_host_ctx **inst_out)
{
	const struct vdev_descriptor *desc = plugin->desc;
	struct vdev_host_ctx *inst = calloc(1, sizeof(*inst));
	pthread_mutexattr_t attr;
	unsigned errors_before = diag ? conf_diag_error_count(diag) : 0;
	int ret;

	if (!inst)
		return VDM_EXIT_FATAL_START;
	if (vdev && vdev->isolate) {
		/* its ops become requests to a process of its own (isolate.c) */
		if (desc->flags & VDEV_F_INTC) {
			if (diag)
				conf_diag_error(
				    diag, &vdev->isolate_pos,
				    "vdev %s: isolate is not supported for an interrupt "
				    "controller (its callbacks run inside other devices')",
				    desc->name);
			free(inst);
			return VDM_EXIT_CONFIG;
		}
		inst->proxy = isolate_descriptor_make(desc);
		if (!inst->proxy) {
			free(inst);
			return VDM_EXIT_FATAL_START;
		}
		desc = &inst->proxy->desc;
	}
	inst->magic = PLUGIN_HOST_MAGIC;
	inst->vm = vm;
	inst->plugin = plugin;
	inst->desc = desc;
	inst->vdev = vdev;
	inst->config = config;
	inst->self_locked = desc->flags & VDEV_F_SELF_LOCKED;
	snprintf(inst->name, sizeof(inst->name), "%s",
		 config->instance_name ? config->instance_name : desc->name);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&inst->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&inst->res_lock, NULL);
	inst->owner = (struct iomap_owner){
	    .name = inst->name,
	    .access = plugin_host_access,
	    .access_sizes = desc->access_sizes,
	    .ctx = inst,
	};
	atomic_init(&inst->regions, 0);
	atomic_init(&inst->maps, 0);
	atomic_init(&inst->reads, 0);
	atomic_init(&inst->writes, 0);
	atomic_init(&inst->errors, 0);
	if (vdev && vdev->log) {
		/* The parser has checked the `log` text; its result applies here. */
		inst->sinks.sink[0].filters = vdev->log_spec.filters;
		inst->sinks.sink[0].dest = vdev->log_spec.dest;
		inst->sinks.count = 1;
		inst->own_sinks = true;
	}

	inst->diag = diag;
	inst->overlap[0] = '\0';
	inst->diag_errors_before = errors_before;
	plugin_host_lock(inst);
	ret = desc->ops->create(&plugin_host_table, inst, config, &inst->dev);
	plugin_host_unlock(inst);
	inst->diag = NULL;
	if (ret > 0)
		ret = -EINVAL; /* outside the contract: count it as the device refusing */
	if (ret != 0 && inst->overlap[0] && diag)
		conf_diag_error(diag, inst->overlap_pos, "%s", inst->overlap);
	if (ret == 0 && inst->create_error_held) /* it created all the same: say it now */
		plugin_host_logf(inst, LOG_LVL_ERROR, "%s", inst->create_error);
	inst->create_error_held = inst->create_error_held && ret < 0;
	if (ret == 0 && (desc->flags & VDEV_F_INTC) && desc->intc) {
		unsigned lines;

		plugin_host_lock(inst);
		lines = desc->intc->line_count ? desc->intc->line_count(inst->dev) : 0;
		plugin_host_unlock(inst);
		inst->intc_ops.set_level = plugin_host_intc_set_level;
		if (desc->intc->ack)
			inst->intc_ops.ack = plugin_host_intc_ack;
		if (desc->intc->eoi)
			inst->intc_ops.eoi = plugin_host_intc_eoi;
		ret = irq_controller_register(vm_irq(vm), inst->name, lines, &inst->intc_ops, inst,
					      &inst->intc);
		if (ret < 0 && diag) {
			const struct conf_pos *pos =
			    vdev ? (vdev->name ? &vdev->name_pos : &vdev->pos) : NULL;

			conf_diag_error(diag, pos,
					"vdev %s: cannot register interrupt controller '%s': %s",
					inst->name, inst->name,
					ret == -EEXIST ? "the name is already in use"
					: lines == 0   ? "it reports 0 lines"
						       : strerror(-ret));
		}
		if (ret < 0) {
			plugin_host_lock(inst);
			desc->ops->destroy(inst->dev);
			plugin_host_unlock(inst);
			plugin_host_release_all(inst);
			plugin_host_free(inst);
			return ret == -ENOMEM ? VDM_EXIT_FATAL_START : VDM_EXIT_CONFIG;
		}
	}
	if (ret < 0) {
		bool reported = diag && conf_diag_error_count(diag) > errors_before;
		bool config_problem = plugin_host_config_errno(ret) || reported;

		/* the device's own words when it gave some, else the errno */
		const char *why = inst->create_error_held ? inst->create_error : strerror(-ret);

		/* an error the host reported during create() already says it all */
		if (reported) {
			/* nothing more: no cascade about one vdev */
		} else if (diag && config_problem)
			conf_diag_error(diag, vdev ? &vdev->pos : NULL,
					"vdev %s (%s): create failed: %s", inst->name, desc->name,
					why);
		else if (vdev)
			log_write(vm_logger(vm), NULL, LOG_LVL_FATAL, inst->name,
				  "%s:%u:%u: vdev %s (%s): create failed: %s", vdev->pos.file,
				  vdev->pos.line, vdev->pos.col, inst->name, desc->name, why);
		else
			log_write(vm_logger(vm), NULL, LOG_LVL_FATAL, inst->name,
				  "vdev %s (%s): create failed: %s", inst->name, desc->name, why);
		plugin_host_release_all(inst);
		plugin_host_free(inst);
		return config_problem ? VDM_EXIT_CONFIG : VDM_EXIT_FATAL_START;
	}
	*inst_out = inst;
	return 0;
}

void plugin_host_destroy(struct vdev_host_ctx *inst)
{
	if (!inst)
		return;
	if (inst->intc) {
		irq_controller_unregister(vm_irq(inst->vm), inst->intc);
		inst->intc = NULL;
	}
	/* No access may reach destroy()'d state: routes go first. */
	iomap_remove_owner(vm_iomap(inst->vm), &inst->owner);
	iomap_drain(vm_iomap(inst->vm));
	plugin_host_lock(inst);
	inst->desc->ops->destroy(inst->dev);
	plugin_host_unlock(inst);
	plugin_host_release_all(inst);
	plugin_host_free(inst);
}

void plugin_host_guest_starting(struct vdev_host_ctx *inst)
{
	if (!inst->desc->ops->guest_starting)
		return;
	plugin_host_lock(inst);
	inst->desc->ops->guest_starting(inst->dev);
	plugin_host_unlock(inst);
}

void plugin_host_log_summary(struct vdev_host_ctx *inst)
{
	log_guest_summary(vm_logger(inst->vm), &inst->guest_log,
			  inst->own_sinks ? &inst->sinks : NULL, inst->name);
}

void plugin_host_reset(struct vdev_host_ctx *inst)
{
	if (!inst->desc->ops->reset)
		return;
	plugin_host_lock(inst);
	inst->desc->ops->reset(inst->dev);
	plugin_host_unlock(inst);
}

ssize_t plugin_host_save(struct vdev_host_ctx *inst, void *buf, size_t cap)
{
	ssize_t n;

	if (!inst->desc->ops->save)
		return -ENOTSUP;
	plugin_host_lock(inst);
	n = inst->desc->ops->save(inst->dev, buf, cap);
	plugin_host_unlock(inst);
	/* the SDK enforces its contract: a length past the buffer is a plugin bug */
	if (n > (ssize_t)cap)
		return -EOVERFLOW;
	return n;
}

int plugin_host_restore(struct vdev_host_ctx *inst, const void *buf, size_t length)
{
	int rc;

	if (!inst->desc->ops->restore)
		return -ENOTSUP;
	plugin_host_lock(inst);
	rc = inst->desc->ops->restore(inst->dev, buf, length);
	plugin_host_unlock(inst);
	return rc > 0 ? -EINVAL : rc;
}

int plugin_host_endpoint(struct vdev_host_ctx *inst, char *buf, size_t cap)
{
	const struct vdev_ops *ops = inst->desc->ops;
	int n;

	if (!cap)
		return -EINVAL;
	buf[0] = '\0';
	if (!VDEV_OPS_HAS(ops, host_endpoint) || !ops->host_endpoint)
		return -ENOENT;
	plugin_host_lock(inst);
	n = ops->host_endpoint(inst->dev, buf, cap);
	plugin_host_unlock(inst);
	buf[cap - 1] = '\0';
	return n < 0 ? n : (int)strlen(buf);
}

const char *plugin_host_name(const struct vdev_host_ctx *inst)
{
	return inst->name;
}

const struct vdev_descriptor *plugin_host_descriptor(const struct vdev_host_ctx *inst)
{
	return inst->desc;
}

struct vdev_plugin *plugin_host_plugin(const struct vdev_host_ctx *inst)
{
	return inst->plugin;
}

struct vm *plugin_host_vm(const struct vdev_host_ctx *inst)
{
	return inst->vm;
}

const struct conf_vdev *plugin_host_conf(const struct vdev_host_ctx *inst)
{
	return inst->vdev;
}

void *plugin_host_state(const struct vdev_host_ctx *inst)
{
	return inst->dev;
}

void plugin_host_counters(const struct vdev_host_ctx *inst, struct plugin_host_counters *c)
{
	c->reads = atomic_load(&inst->reads);
	c->writes = atomic_load(&inst->writes);
	c->errors = atomic_load(&inst->errors);
}

void plugin_host_usage(const struct vdev_host_ctx *inst, struct plugin_host_usage *u)
{
	struct vdev_host_ctx *m = (struct vdev_host_ctx *)inst;

	memset(u, 0, sizeof(*u));
	u->regions = atomic_load(&m->regions);
	u->maps = atomic_load(&m->maps);
	pthread_mutex_lock(&m->res_lock);
	u->lines = m->line_count;
	for (struct vdev_timer *t = m->timers; t; t = t->next)
		u->timers++;
	for (struct vdev_watch *w = m->watches; w; w = w->next)
		u->watches++;
	pthread_mutex_unlock(&m->res_lock);
}

const char *plugin_host_line_at(const struct vdev_host_ctx *inst, unsigned index)
{
	return index < inst->line_count ? irq_line_name(inst->lines[index]) : NULL;
}

void plugin_host_status(struct vdev_host_ctx *inst, FILE *out)
{
	struct plugin_host_counters c;
	char extra[256] = "";

	plugin_host_counters(inst, &c);
	if (inst->desc->ops->status) {
		plugin_host_lock(inst);
		if (inst->desc->ops->status(inst->dev, extra, sizeof(extra)) < 0)
			extra[0] = '\0';
		plugin_host_unlock(inst);
		extra[sizeof(extra) - 1] = '\0';
	}
	fprintf(out, "  %-20s %-12s reads %llu writes %llu errors %llu%s%s\n", inst->name,
		inst->desc->name, (unsigned long long)c.reads, (unsigned long long)c.writes,
		(unsigned long long)c.errors, extra[0] ? "  " : "", extra);
}
