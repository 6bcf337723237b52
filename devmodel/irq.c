/*
 * devmodel/irq.c: controllers by name, wired-OR lines, edge filtering, MSI.
 *
 * Locking: a registry rwlock protects the controller list and the
 * handle-to-controller links (write: register, unregister, get, put; read:
 * set, pulse, msi); each controller's mutex protects its per-line assert
 * counts and serialises calls into its ops, so a controller sees level
 * changes of one line in the order they happened.
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
	unsigned *asserted; /* per line: handles currently asserting it */
	const struct irq_controller_ops *ops;
	void *ctx;
	pthread_mutex_t lock;
};

struct vdev_line {
	struct vdev_line *next;
	struct irq_controller *ctrl; /* NULL once the controller is gone */
	unsigned index;
	int level;
	char name[80];
};

struct irq_registry {
	pthread_rwlock_t lock;
	struct irq_controller *controllers; /* registration order */
	struct vdev_line *handles;
	irq_msi_fn *msi_fn;
	void *msi_ctx;
};

struct irq_registry *irq_registry_new(void)
{
	struct irq_registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_rwlock_init(&r->lock, NULL);
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
		free(l);
	}
	while (r->controllers) {
		struct irq_controller *c = r->controllers;

		r->controllers = c->next;
		irq_controller_free(c);
	}
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

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

	if (!irq_name_valid(name) || lines == 0 || !ops || !ops->set_level)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = strdup(name);
	c->asserted = calloc(lines, sizeof(*c->asserted));
	if (!c->name || !c->asserted) {
		free(c->name);
		free(c->asserted);
		free(c);
		return -ENOMEM;
	}
	c->lines = lines;
	c->ops = ops;
	c->ctx = ctx;
	pthread_mutex_init(&c->lock, NULL);

	pthread_rwlock_wrlock(&r->lock);
	if (irq_find_locked(r, name, strlen(name))) {
		pthread_rwlock_unlock(&r->lock);
		irq_controller_free(c);
		return -EEXIST;
	}
	for (tail = &r->controllers; *tail; tail = &(*tail)->next)
		;
	*tail = c;
	pthread_rwlock_unlock(&r->lock);
	if (out)
		*out = c;
	return 0;
}

void irq_controller_unregister(struct irq_registry *r, struct irq_controller *c)
{
	pthread_rwlock_wrlock(&r->lock);
	for (struct irq_controller **pp = &r->controllers; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			for (struct vdev_line *l = r->handles; l; l = l->next)
				if (l->ctrl == c)
					l->ctrl = NULL;
			irq_controller_free(c);
			break;
		}
	}
	pthread_rwlock_unlock(&r->lock);
}

int irq_line_get(struct irq_registry *r, const char *spec, struct vdev_line **line)
{
	size_t name_len;
	uint64_t index = 0;
	struct irq_controller *c;
	struct vdev_line *l;

	if (!spec || !line)
		return -EINVAL;
	if (strcmp(spec, "apic") == 0)
		name_len = 4;
	else if (conf_line_parse(spec, &name_len, &index, NULL) < 0)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;

	pthread_rwlock_wrlock(&r->lock);
	c = irq_find_locked(r, spec, name_len);
	if (!c) {
		pthread_rwlock_unlock(&r->lock);
		free(l);
		return -ENOENT;
	}
	if (index >= c->lines) {
		pthread_rwlock_unlock(&r->lock);
		free(l);
		return -ERANGE;
	}
	l->ctrl = c;
	l->index = (unsigned)index;
	snprintf(l->name, sizeof(l->name), "%s:%u", c->name, l->index);
	l->next = r->handles;
	r->handles = l;
	pthread_rwlock_unlock(&r->lock);
	*line = l;
	return 0;
}

/* Under the registry read (or write) lock. */
static int irq_set_locked(struct vdev_line *l, int level)
{
	struct irq_controller *c = l->ctrl;

	level = level ? 1 : 0;
	if (!c)
		return -ENODEV;
	pthread_mutex_lock(&c->lock);
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
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void irq_line_put(struct irq_registry *r, struct vdev_line *line)
{
	if (!line)
		return;
	pthread_rwlock_wrlock(&r->lock);
	for (struct vdev_line **pp = &r->handles; *pp; pp = &(*pp)->next) {
		if (*pp == line) {
			*pp = line->next;
			irq_set_locked(line, 0);
			free(line);
			break;
		}
	}
	pthread_rwlock_unlock(&r->lock);
}

int irq_line_set(struct irq_registry *r, struct vdev_line *line, int level)
{
	int ret;

	if (!line)
		return -EINVAL;
	pthread_rwlock_rdlock(&r->lock);
	ret = irq_set_locked(line, level);
	pthread_rwlock_unlock(&r->lock);
	return ret;
}

int irq_line_pulse(struct irq_registry *r, struct vdev_line *line)
{
	struct irq_controller *c;

	if (!line)
		return -EINVAL;
	pthread_rwlock_rdlock(&r->lock);
	c = line->ctrl;
	if (!c) {
		pthread_rwlock_unlock(&r->lock);
		return -ENODEV;
	}
	pthread_mutex_lock(&c->lock);
	/* A line another handle holds high shows no edge, as on a wire. */
	if (c->asserted[line->index] == 0) {
		if (c->ops->pulse) {
			c->ops->pulse(c->ctx, line->index);
		} else {
			c->ops->set_level(c->ctx, line->index, 1);
			c->ops->set_level(c->ctx, line->index, 0);
		}
	}
	pthread_mutex_unlock(&c->lock);
	pthread_rwlock_unlock(&r->lock);
	return 0;
}

int irq_line_level(const struct vdev_line *line)
{
	return line ? line->level : 0;
}

const char *irq_line_name(const struct vdev_line *line)
{
	return line ? line->name : "";
}

int irq_ack(struct irq_registry *r)
{
	int vector = -1;

	pthread_rwlock_rdlock(&r->lock);
	for (struct irq_controller *c = r->controllers; c && vector < 0; c = c->next) {
		if (c->ops->ack) {
			vector = c->ops->ack(c->ctx);
			if (vector > 255)
				vector = -1; /* outside the contract: treat as spurious */
		}
	}
	pthread_rwlock_unlock(&r->lock);
	return vector;
}

void irq_eoi(struct irq_registry *r, uint8_t vector)
{
	pthread_rwlock_rdlock(&r->lock);
	for (struct irq_controller *c = r->controllers; c; c = c->next)
		if (c->ops->eoi)
			c->ops->eoi(c->ctx, vector);
	pthread_rwlock_unlock(&r->lock);
}

void irq_msi_set_sink(struct irq_registry *r, irq_msi_fn *fn, void *ctx)
{
	pthread_rwlock_wrlock(&r->lock);
	r->msi_fn = fn;
	r->msi_ctx = ctx;
	pthread_rwlock_unlock(&r->lock);
}

int irq_msi_send(struct irq_registry *r, uint64_t address, uint32_t data)
{
	int ret = -ENOTSUP;

	pthread_rwlock_rdlock(&r->lock);
	if (r->msi_fn)
		ret = r->msi_fn(r->msi_ctx, address, data);
	pthread_rwlock_unlock(&r->lock);
	return ret;
}

int irq_controller_at(struct irq_registry *r, unsigned index, const char **name, unsigned *lines)
{
	int ret = -ENOENT;
	unsigned i = 0;

	pthread_rwlock_rdlock(&r->lock);
	for (struct irq_controller *c = r->controllers; c; c = c->next, i++) {
		if (i == index) {
			*name = c->name;
			*lines = c->lines;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&r->lock);
	return ret;
}

unsigned irq_line_count(struct irq_registry *r)
{
	unsigned n = 0;

	pthread_rwlock_rdlock(&r->lock);
	for (struct vdev_line *l = r->handles; l; l = l->next)
		n++;
	pthread_rwlock_unlock(&r->lock);
	return n;
}
