/*
 * devmodel/irq.c: controllers by name, wired-OR lines, edge filtering, MSI.
 *
 * Locking, and why it looks like this: a controller's op may drive a line
 * of another controller (the 8259's output is `cpu:0`), from the same
 * thread, while the first call is still inside the registry. So no
 * registry lock is ever held across an op: the registry mutex protects
 * only the lists and the handle-to-controller links, and a caller takes
 * a reference on the controller under it, drops the mutex, and calls the
 * op under the controller's own line mutex (collect, unlock, call). That
 * line mutex orders the level changes one controller sees; it is an
 * error-checking mutex, so a controller that drives its own input from
 * its own op gets -EDEADLK back (reported by name) instead of a hang.
 *
 * Unregistering waits until no other thread is inside the controller's
 * ops, so that its context can be freed right after; a thread that
 * unregisters a controller from inside that controller's op does not wait
 * for itself: the last reference frees it.
 *
 * Every pthread return is checked: a lock call failing on the registry is
 * a broken invariant of vdm's own and ends the process with a message.
 */
#include "devmodel/irq.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

struct irq_controller {
	struct irq_controller *next;
	char *name;
	unsigned lines;
	unsigned *asserted; /* per line: handles asserting it (under lock) */
	const struct irq_controller_ops *ops;
	void *ctx;
	pthread_mutex_t lock; /* line state and calls into ops */
	/* Under the registry mutex: */
	unsigned refs;	   /* callers between irq_ref and irq_unref */
	bool unregistered; /* unlinked; freed by whoever drops refs to 0 */
	bool waited;	   /* an unregister is waiting for refs to drain */
};

struct vdev_line {
	struct vdev_line *next;
	struct irq_controller *ctrl; /* NULL once the controller is gone */
	unsigned index;
	int level; /* under ctrl->lock */
	/*
	 * A fan-out ("pic:4,ioapic:4"): no controller of its own; every
	 * change goes to each member, a handle of its own (fixed at get).
	 */
	struct vdev_line **members;
	unsigned member_count;
	char name[160];
};

struct irq_registry {
	pthread_mutex_t lock;
	pthread_cond_t drained;		    /* some controller's refs reached 0 */
	struct irq_controller *controllers; /* registration order */
	struct vdev_line *handles;
	irq_msi_fn *msi_fn;
	void *msi_ctx;
};

/* The controllers this thread is calling into, innermost last: a thread
 * that unregisters one of them must not wait for itself. */
#define IRQ_NEST_MAX 16
static __thread struct irq_controller *irq_nest[IRQ_NEST_MAX];
static __thread unsigned irq_nest_depth;

static void irq_pthread_check(int err, const char *what)
{
	if (err) {
		fprintf(stderr, "vdm: internal error: interrupt registry: %s: %s\n", what,
			strerror(err));
		abort();
	}
}

static void irq_lock(struct irq_registry *r)
{
	irq_pthread_check(pthread_mutex_lock(&r->lock), "lock");
}

static void irq_unlock(struct irq_registry *r)
{
	irq_pthread_check(pthread_mutex_unlock(&r->lock), "unlock");
}

static int irq_mutex_init_errorcheck(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	int err = pthread_mutexattr_init(&attr);

	if (err)
		return -err;
	err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	if (!err)
		err = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return -err;
}

struct irq_registry *irq_registry_new(void)
{
	struct irq_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (irq_mutex_init_errorcheck(&r->lock) < 0) {
		free(r);
		return NULL;
	}
	if (pthread_cond_init(&r->drained, NULL)) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

static void irq_controller_free(struct irq_controller *c)
{
	pthread_mutex_destroy(&c->lock);
	free(c->asserted);
	free(c->name);
	free(c);
}

void irq_registry_free(struct irq_registry *r)
{
	if (!r)
		return;
	while (r->handles) {
		struct vdev_line *l = r->handles;

		r->handles = l->next;
		free(l->members);
		free(l);
	}
	while (r->controllers) {
		struct irq_controller *c = r->controllers;

		r->controllers = c->next;
		irq_controller_free(c);
	}
	pthread_cond_destroy(&r->drained);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* ------------------------------------------------- references, nesting */

/* Under the registry mutex. */
static void irq_ref_locked(struct irq_controller *c)
{
	c->refs++;
}

/* Drops a reference taken by irq_ref_locked; frees an unregistered
 * controller nobody waits for when it was the last one. */
static void irq_unref(struct irq_registry *r, struct irq_controller *c)
{
	bool free_it = false;

	irq_lock(r);
	if (--c->refs == 0 && c->unregistered) {
		if (c->waited)
			irq_pthread_check(pthread_cond_broadcast(&r->drained), "broadcast");
		else
			free_it = true;
	}
	irq_unlock(r);
	if (free_it)
		irq_controller_free(c);
}

/* The reference a handle's controller gets for one call, or NULL when the
 * controller is gone. */
static struct irq_controller *irq_line_ref(struct irq_registry *r, const struct vdev_line *l)
{
	struct irq_controller *c;

	irq_lock(r);
	c = l->ctrl;
	if (c)
		irq_ref_locked(c);
	irq_unlock(r);
	return c;
}

/* How many of this thread's nested calls are inside `c`. */
static unsigned irq_nest_count(const struct irq_controller *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < irq_nest_depth && i < IRQ_NEST_MAX; i++)
		n += irq_nest[i] == c;
	return n;
}

/*
 * Enters `c` for a call into its ops: its line mutex, and a note that this
 * thread is inside it. -EDEADLK when this thread already holds that mutex
 * (the controller drives its own input from its op), -ELOOP when the chain
 * of controllers calling each other is implausibly deep.
 */
static int irq_enter(struct irq_controller *c)
{
	int err;

	if (irq_nest_depth >= IRQ_NEST_MAX)
		return -ELOOP;
	err = pthread_mutex_lock(&c->lock);
	if (err == EDEADLK)
		return -EDEADLK;
	irq_pthread_check(err, "controller lock");
	irq_nest[irq_nest_depth++] = c;
	return 0;
}

static void irq_leave(struct irq_controller *c)
{
	irq_nest_depth--;
	irq_pthread_check(pthread_mutex_unlock(&c->lock), "controller unlock");
}

static void irq_report_reentry(const struct irq_controller *c, int err)
{
	fprintf(stderr,
		"vdm: interrupt controller %s: %s; the change is dropped (a controller must not "
		"drive its own inputs from its callbacks)\n",
		c->name,
		err == -EDEADLK ? "a line change re-entered it from its own callback"
				: "interrupt controllers call each other too deeply");
}

/* -------------------------------------------------------- controllers */

static bool irq_name_valid(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++)
		if (*p == ':' || *p == ' ' || *p == '\t' || *p == '\n' || *p == ',')
			return false;
	return true;
}

static struct irq_controller *irq_find_locked(struct irq_registry *r, const char *name, size_t len)
{
	for (struct irq_controller *c = r->controllers; c; c = c->next)
		if (strlen(c->name) == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

int irq_controller_register(struct irq_registry *r, const char *name, unsigned lines,
			    const struct irq_controller_ops *ops, void *ctx,
			    struct irq_controller **out)
{
	struct irq_controller *c, **tail;
	int ret;

	if (!irq_name_valid(name) || lines == 0 || !ops || !ops->set_level)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = strdup(name);
	c->asserted = calloc(lines, sizeof(*c->asserted));
	ret = c->name && c->asserted ? irq_mutex_init_errorcheck(&c->lock) : -ENOMEM;
	if (ret < 0) {
		free(c->name);
		free(c->asserted);
		free(c);
		return ret;
	}
	c->lines = lines;
	c->ops = ops;
	c->ctx = ctx;

	irq_lock(r);
	if (irq_find_locked(r, name, strlen(name))) {
		irq_unlock(r);
		irq_controller_free(c);
		return -EEXIST;
	}
	for (tail = &r->controllers; *tail; tail = &(*tail)->next)
		;
	*tail = c;
	irq_unlock(r);
	if (out)
		*out = c;
	return 0;
}

void irq_controller_unregister(struct irq_registry *r, struct irq_controller *c)
{
	bool found = false, free_it = false;
	unsigned own;

	if (!c)
		return;
	own = irq_nest_count(c);
	irq_lock(r);
	for (struct irq_controller **pp = &r->controllers; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			found = true;
			break;
		}
	}
	if (found) {
		for (struct vdev_line *l = r->handles; l; l = l->next)
			if (l->ctrl == c)
				l->ctrl = NULL;
		c->unregistered = true;
		if (own == 0) {
			/* Other threads inside its ops finish before its ctx goes. */
			c->waited = true;
			while (c->refs > 0)
				irq_pthread_check(pthread_cond_wait(&r->drained, &r->lock), "wait");
			free_it = true;
		}
		/* else: called from inside its own op; the last unref frees it. */
	}
	irq_unlock(r);
	if (free_it)
		irq_controller_free(c);
}

/* ------------------------------------------------------------- lines */

static int irq_line_get_one(struct irq_registry *r, const char *spec, struct vdev_line **line)
{
	size_t name_len;
	uint64_t index = 0;
	struct irq_controller *c;
	struct vdev_line *l;

	if (strcmp(spec, "apic") == 0)
		name_len = 4;
	else if (conf_line_parse(spec, &name_len, &index, NULL) < 0)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;

	irq_lock(r);
	c = irq_find_locked(r, spec, name_len);
	if (!c || index >= c->lines) {
		irq_unlock(r);
		free(l);
		return c ? -ERANGE : -ENOENT;
	}
	l->ctrl = c;
	l->index = (unsigned)index;
	snprintf(l->name, sizeof(l->name), "%s:%u", c->name, l->index);
	l->next = r->handles;
	r->handles = l;
	irq_unlock(r);
	*line = l;
	return 0;
}

/* "a:1,b:2": one handle driving a handle of each (no nesting, no empties). */
static int irq_line_get_fanout(struct irq_registry *r, const char *spec, struct vdev_line **line)
{
	struct vdev_line *g = calloc(1, sizeof(*g));
	unsigned n = 1;
	char *copy = strdup(spec), *save = NULL;
	int ret = 0;

	for (const char *p = spec; *p; p++)
		n += *p == ',';
	if (g)
		g->members = calloc(n, sizeof(*g->members));
	if (!g || !copy || !g->members) {
		ret = -ENOMEM;
		goto fail;
	}
	if (spec[0] == ',' || spec[strlen(spec) - 1] == ',' || strstr(spec, ",,")) {
		ret = -EINVAL;
		goto fail;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		ret = irq_line_get_one(r, tok, &g->members[g->member_count]);
		if (ret < 0)
			goto fail;
		snprintf(g->name + strlen(g->name), sizeof(g->name) - strlen(g->name), "%s%s",
			 g->member_count ? "," : "", g->members[g->member_count]->name);
		g->member_count++;
	}
	free(copy);
	irq_lock(r);
	g->next = r->handles;
	r->handles = g;
	irq_unlock(r);
	*line = g;
	return 0;
fail:
	for (unsigned i = 0; g && i < g->member_count; i++)
		irq_line_put(r, g->members[i]);
	if (g)
		free(g->members);
	free(g);
	free(copy);
	return ret;
}

int irq_line_get(struct irq_registry *r, const char *spec, struct vdev_line **line)
{
	if (!spec || !line)
		return -EINVAL;
	return strchr(spec, ',') ? irq_line_get_fanout(r, spec, line)
				 : irq_line_get_one(r, spec, line);
}

/* Drives handle `l` of `c` (referenced by the caller) to `level`. */
static int irq_set_level(struct irq_controller *c, struct vdev_line *l, int level)
{
	int ret = irq_enter(c);

	if (ret < 0) {
		irq_report_reentry(c, ret);
		return ret;
	}
	level = level ? 1 : 0;
	if (l->level != level) {
		l->level = level;
		if (level) {
			if (c->asserted[l->index]++ == 0)
				c->ops->set_level(c->ctx, l->index, 1);
		} else {
			if (--c->asserted[l->index] == 0)
				c->ops->set_level(c->ctx, l->index, 0);
		}
	}
	irq_leave(c);
	return 0;
}

void irq_line_put(struct irq_registry *r, struct vdev_line *line)
{
	struct irq_controller *c = NULL;
	bool found = false;

	if (!line)
		return;
	irq_lock(r);
	for (struct vdev_line **pp = &r->handles; *pp; pp = &(*pp)->next) {
		if (*pp == line) {
			*pp = line->next;
			found = true;
			c = line->ctrl;
			if (c)
				irq_ref_locked(c);
			break;
		}
	}
	irq_unlock(r);
	if (!found)
		return;
	/* Deasserted outside the registry: the controller may call on. */
	if (c) {
		irq_set_level(c, line, 0);
		irq_unref(r, c);
	}
	for (unsigned i = 0; i < line->member_count; i++)
		irq_line_put(r, line->members[i]);
	free(line->members);
	free(line);
}

int irq_line_set(struct irq_registry *r, struct vdev_line *line, int level)
{
	struct irq_controller *c;
	int ret;

	if (!line)
		return -EINVAL;
	if (line->members) {
		/* every controller hears it, even when one of them is gone */
		ret = 0;
		for (unsigned i = 0; i < line->member_count; i++) {
			int one = irq_line_set(r, line->members[i], level);

			if (one < 0 && ret == 0)
				ret = one;
		}
		return ret;
	}
	c = irq_line_ref(r, line);
	if (!c)
		return -ENODEV;
	ret = irq_set_level(c, line, level);
	irq_unref(r, c);
	return ret;
}

int irq_line_pulse(struct irq_registry *r, struct vdev_line *line)
{
	struct irq_controller *c;
	int ret;

	if (!line)
		return -EINVAL;
	if (line->members) {
		ret = 0;
		for (unsigned i = 0; i < line->member_count; i++) {
			int one = irq_line_pulse(r, line->members[i]);

			if (one < 0 && ret == 0)
				ret = one;
		}
		return ret;
	}
	c = irq_line_ref(r, line);
	if (!c)
		return -ENODEV;
	ret = irq_enter(c);
	if (ret == 0) {
		/* A line another handle holds high shows no edge, as on a wire. */
		if (c->asserted[line->index] == 0) {
			if (c->ops->pulse) {
				c->ops->pulse(c->ctx, line->index);
			} else {
				c->ops->set_level(c->ctx, line->index, 1);
				c->ops->set_level(c->ctx, line->index, 0);
			}
		}
		irq_leave(c);
	} else {
		irq_report_reentry(c, ret);
	}
	irq_unref(r, c);
	return ret;
}

int irq_line_level(const struct vdev_line *line)
{
	if (line && line->members)
		return line->members[0]->level;
	return line ? line->level : 0;
}

const char *irq_line_name(const struct vdev_line *line)
{
	return line ? line->name : "";
}

/* ---------------------------------------------------- ack, EOI, MSI */

/*
 * The controllers with the op `want` picks, referenced, in registration
 * order: called after the registry mutex is dropped. *count is 0 (and
 * NULL returned) when there are none or memory is short.
 */
static struct irq_controller **irq_collect(struct irq_registry *r, bool want_ack, unsigned *count)
{
	struct irq_controller **list = NULL;
	unsigned n = 0, i = 0;

	irq_lock(r);
	for (struct irq_controller *c = r->controllers; c; c = c->next)
		n += want_ack ? c->ops->ack != NULL : c->ops->eoi != NULL;
	if (n)
		list = calloc(n, sizeof(*list));
	if (list) {
		for (struct irq_controller *c = r->controllers; c; c = c->next) {
			if (want_ack ? c->ops->ack != NULL : c->ops->eoi != NULL) {
				irq_ref_locked(c);
				list[i++] = c;
			}
		}
	}
	irq_unlock(r);
	*count = list ? n : 0;
	return list;
}

static void irq_release_list(struct irq_registry *r, struct irq_controller **list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		irq_unref(r, list[i]);
	free(list);
}

int irq_ack(struct irq_registry *r)
{
	unsigned n;
	struct irq_controller **list = irq_collect(r, true, &n);
	int vector = -1;

	for (unsigned i = 0; i < n && vector < 0; i++) {
		vector = list[i]->ops->ack(list[i]->ctx);
		if (vector > 255)
			vector = -1; /* outside the contract: treat as spurious */
	}
	irq_release_list(r, list, n);
	return vector;
}

void irq_eoi(struct irq_registry *r, uint8_t vector)
{
	unsigned n;
	struct irq_controller **list = irq_collect(r, false, &n);

	for (unsigned i = 0; i < n; i++)
		list[i]->ops->eoi(list[i]->ctx, vector);
	irq_release_list(r, list, n);
}

void irq_msi_set_sink(struct irq_registry *r, irq_msi_fn *fn, void *ctx)
{
	irq_lock(r);
	r->msi_fn = fn;
	r->msi_ctx = ctx;
	irq_unlock(r);
}

int irq_msi_send(struct irq_registry *r, uint64_t address, uint32_t data)
{
	irq_msi_fn *fn;
	void *ctx;

	/* The sink is the backend's; it lives from set-up to teardown. */
	irq_lock(r);
	fn = r->msi_fn;
	ctx = r->msi_ctx;
	irq_unlock(r);
	return fn ? fn(ctx, address, data) : -ENOTSUP;
}

/* ------------------------------------------------------------ listing */

int irq_controller_at(struct irq_registry *r, unsigned index, const char **name, unsigned *lines)
{
	int ret = -ENOENT;
	unsigned i = 0;

	irq_lock(r);
	for (struct irq_controller *c = r->controllers; c; c = c->next, i++) {
		if (i == index) {
			*name = c->name;
			*lines = c->lines;
			ret = 0;
			break;
		}
	}
	irq_unlock(r);
	return ret;
}

unsigned irq_line_count(struct irq_registry *r)
{
	unsigned n = 0;

	irq_lock(r);
	for (struct vdev_line *l = r->handles; l; l = l->next)
		n++;
	irq_unlock(r);
	return n;
}
