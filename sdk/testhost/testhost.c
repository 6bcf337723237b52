/*
 * sdk/testhost/testhost.c: the test host object: RAM, recording interrupt
 * controllers, loaded plugins, the trace and log texts, usage counters and
 * hooks (see vdev/testhost.h for the contract, internal.h for locking).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "sdk/host/options.h"
#include "sdk/testhost/internal.h"

void th_set_error(struct vdev_testhost *th, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&th->lock);
	va_start(ap, fmt);
	vsnprintf(th->err, sizeof(th->err), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&th->lock);
}

static void text_vprintf(struct th_text *t, const char *fmt, va_list ap)
{
	va_list aq;
	size_t cap;
	char *p;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		cap = t->cap ? t->cap : 256;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		p = realloc(t->buf, cap);
		if (!p)
			return; /* a test host out of memory loses trace text, not state */
		t->buf = p;
		t->cap = cap;
	}
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	t->len += (size_t)n;
}

void th_text_printf(struct th_text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_vprintf(t, fmt, ap);
	va_end(ap);
}

/* A contract violation by a plugin: a "host: error:" line in the log, the
 * last error, and the violation hook (outside th->lock: a checker may call
 * back into the host), so a test or vdev-conform can see it. */
void th_host_error(struct vdev_testhost *th, const char *kind, const char *fmt, ...)
{
	void (*hook)(void *, const char *, const char *);
	char text[sizeof(th->err)];
	void *ctx;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&th->lock);
	th_text_printf(&th->log, "host: error: %s\n", text);
	memcpy(th->err, text, sizeof(th->err));
	hook = th->hooks.violation;
	ctx = th->hooks.ctx;
	pthread_mutex_unlock(&th->lock);
	if (hook)
		hook(ctx, kind, text);
}

void th_hook_enter(struct vdev_testdev *dev, const char *callback)
{
	struct vdev_testhost *th = dev->th;

	if (th->hooks.callback_enter)
		th->hooks.callback_enter(th->hooks.ctx, dev, callback);
}

void th_hook_exit(struct vdev_testdev *dev, const char *callback)
{
	struct vdev_testhost *th = dev->th;

	if (th->hooks.callback_exit)
		th->hooks.callback_exit(th->hooks.ctx, dev, callback);
}

void th_dev_lock(struct vdev_testdev *dev, bool data_path)
{
	if (!(data_path && dev->self_locked))
		pthread_mutex_lock(&dev->lock);
}

void th_dev_unlock(struct vdev_testdev *dev, bool data_path)
{
	if (!(data_path && dev->self_locked))
		pthread_mutex_unlock(&dev->lock);
}

void th_mutex_init_recursive(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
}

struct vdev_testhost *vdev_testhost_new(void)
{
	struct vdev_testhost *th = calloc(1, sizeof(*th));

	if (!th)
		return NULL;
	th->plugins = vdev_plugin_set_new();
	if (!th->plugins) {
		free(th);
		return NULL;
	}
	th_mutex_init_recursive(&th->lock);
	th->terminated = -1;
	return th;
}

static void intc_free(struct th_intc *c)
{
	free(c->name);
	free(c->asserted);
	free(c->edges);
	free(c);
}

void vdev_testhost_free(struct vdev_testhost *th)
{
	struct vdev_testdev *dev;
	struct vdev_timer *t;
	struct vdev_watch *w;
	struct th_intc *c;
	unsigned i;

	if (!th)
		return;
	/* Newest first: users go before the controllers they were given. */
	for (;;) {
		pthread_mutex_lock(&th->lock);
		dev = th->devs;
		pthread_mutex_unlock(&th->lock);
		if (!dev)
			break;
		vdev_testhost_destroy(dev);
	}
	while ((dev = th->graveyard)) {
		th->graveyard = dev->next;
		pthread_mutex_destroy(&dev->lock);
		free(dev);
	}
	while ((t = th->dead_timers)) {
		th->dead_timers = t->next;
		free(t);
	}
	while ((w = th->dead_watches)) {
		th->dead_watches = w->next;
		free(w);
	}
	while ((c = th->intcs)) {
		th->intcs = c->next;
		intc_free(c);
	}
	while ((c = th->dead_intcs)) {
		th->dead_intcs = c->next;
		intc_free(c);
	}
	for (i = 0; i < th->ram_count; i++)
		free(th->rams[i].mem);
	free(th->rams);
	for (i = 0; i < VDEV_SPACE_COUNT; i++)
		free(th->regions[i]);
	vdev_plugin_set_free(th->plugins);
	free(th->trace.buf);
	free(th->log.buf);
	pthread_mutex_destroy(&th->lock);
	free(th);
}

const char *vdev_testhost_error(const struct vdev_testhost *th)
{
	return th->err;
}

/* ------------------------------------------------------------------- RAM */

uint8_t *th_ram_find(struct vdev_testhost *th, uint64_t gpa, size_t length)
{
	unsigned i;

	for (i = 0; i < th->ram_count; i++) {
		struct th_ram *r = &th->rams[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size && length <= r->size - (gpa - r->gpa))
			return r->mem + (gpa - r->gpa);
	}
	return NULL;
}

int vdev_testhost_add_ram(struct vdev_testhost *th, uint64_t gpa, size_t size)
{
	struct th_ram *rams;
	unsigned i;
	uint8_t *mem;

	if (!size || (uint64_t)size - 1 > UINT64_MAX - gpa) {
		th_set_error(th, "add_ram: %#zx bytes at %#llx is empty or wraps around.", size,
			     (unsigned long long)gpa);
		return -EINVAL;
	}
	pthread_mutex_lock(&th->lock);
	for (i = 0; i < th->ram_count; i++) {
		struct th_ram *r = &th->rams[i];

		if (gpa <= r->gpa + (r->size - 1) && r->gpa <= gpa + (size - 1)) {
			pthread_mutex_unlock(&th->lock);
			th_set_error(th, "add_ram: [%#llx, +%#zx) overlaps RAM at %#llx.",
				     (unsigned long long)gpa, size, (unsigned long long)r->gpa);
			return -EEXIST;
		}
	}
	if (th_ram_overlaps_regions(th, gpa, size)) {
		pthread_mutex_unlock(&th->lock);
		th_set_error(th, "add_ram: [%#llx, +%#zx) overlaps a device's MMIO region.",
			     (unsigned long long)gpa, size);
		return -EEXIST;
	}
	mem = calloc(1, size);
	rams = mem ? realloc(th->rams, (th->ram_count + 1) * sizeof(*rams)) : NULL;
	if (!rams) {
		pthread_mutex_unlock(&th->lock);
		free(mem);
		th_set_error(th, "add_ram: out of memory for %#zx bytes.", size);
		return -ENOMEM;
	}
	th->rams = rams;
	rams[th->ram_count].gpa = gpa;
	rams[th->ram_count].size = size;
	rams[th->ram_count].mem = mem;
	th->ram_count++;
	pthread_mutex_unlock(&th->lock);
	return 0;
}

void *vdev_testhost_ram(struct vdev_testhost *th, uint64_t gpa, size_t size)
{
	void *p;

	pthread_mutex_lock(&th->lock);
	p = th_ram_find(th, gpa, size);
	pthread_mutex_unlock(&th->lock);
	return p;
}

/* ------------------------------------------------------------ controllers */

struct th_intc *th_intc_find(struct vdev_testhost *th, const char *name, size_t len)
{
	struct th_intc *c;

	for (c = th->intcs; c; c = c->next) {
		if (strlen(c->name) == len && !strncmp(c->name, name, len))
			return c;
	}
	return NULL;
}

static bool intc_name_valid(const char *name)
{
	const char *p;

	if (!*name)
		return false;
	for (p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	}
	return true;
}

/* th->lock held by the caller. */
int th_intc_register(struct vdev_testhost *th, const char *name, unsigned lines,
		     struct vdev_testdev *plugin, struct th_intc **out)
{
	struct th_intc *c;

	if (!intc_name_valid(name) || !lines) {
		th_set_error(th, "controller '%s' with %u lines: a controller needs a name "
			     "([A-Za-z0-9_.-]) and at least one line.", name, lines);
		return -EINVAL;
	}
	if (th_intc_find(th, name, strlen(name))) {
		th_set_error(th, "a controller named '%s' exists already.", name);
		return -EEXIST;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = strdup(name);
	c->asserted = calloc(lines, sizeof(*c->asserted));
	c->edges = calloc(lines, sizeof(*c->edges));
	if (!c->name || !c->asserted || !c->edges) {
		intc_free(c);
		return -ENOMEM;
	}
	c->line_count = lines;
	c->plugin = plugin;
	c->next = th->intcs;
	th->intcs = c;
	if (out)
		*out = c;
	return 0;
}

int vdev_testhost_add_intc(struct vdev_testhost *th, const char *name, unsigned lines)
{
	int rc;

	pthread_mutex_lock(&th->lock);
	rc = th_intc_register(th, name, lines, NULL, NULL);
	pthread_mutex_unlock(&th->lock);
	return rc;
}

/* "ctrl:N" -> controller and line; th->lock held. */
static int line_parse(struct vdev_testhost *th, const char *spec, struct th_intc **intc,
		      unsigned *line)
{
	size_t name_len;
	uint64_t n;

	if (conf_line_parse(spec, &name_len, &n, NULL) < 0)
		return -EINVAL;
	*intc = th_intc_find(th, spec, name_len);
	if (!*intc)
		return -ENOENT;
	if (n >= (*intc)->line_count)
		return -ERANGE;
	*line = (unsigned)n;
	return 0;
}

int vdev_testhost_line_level(struct vdev_testhost *th, const char *line)
{
	struct th_intc *c;
	unsigned n;
	int rc;

	pthread_mutex_lock(&th->lock);
	rc = line_parse(th, line, &c, &n);
	if (rc == 0)
		rc = c->asserted[n] > 0;
	pthread_mutex_unlock(&th->lock);
	return rc;
}

unsigned vdev_testhost_line_edges(struct vdev_testhost *th, const char *line)
{
	struct th_intc *c;
	unsigned n, edges = 0;

	pthread_mutex_lock(&th->lock);
	if (line_parse(th, line, &c, &n) == 0)
		edges = c->edges[n];
	pthread_mutex_unlock(&th->lock);
	return edges;
}

/* ------------------------------------------------------------------ texts */

const char *vdev_testhost_trace(struct vdev_testhost *th)
{
	const char *s;

	pthread_mutex_lock(&th->lock);
	s = th->trace.buf ? th->trace.buf : "";
	pthread_mutex_unlock(&th->lock);
	return s;
}

void vdev_testhost_clear_trace(struct vdev_testhost *th)
{
	pthread_mutex_lock(&th->lock);
	th->trace.len = 0;
	if (th->trace.buf)
		th->trace.buf[0] = '\0';
	pthread_mutex_unlock(&th->lock);
}

const char *vdev_testhost_log(struct vdev_testhost *th)
{
	const char *s;

	pthread_mutex_lock(&th->lock);
	s = th->log.buf ? th->log.buf : "";
	pthread_mutex_unlock(&th->lock);
	return s;
}

void vdev_testhost_clear_log(struct vdev_testhost *th)
{
	pthread_mutex_lock(&th->lock);
	th->log.len = 0;
	if (th->log.buf)
		th->log.buf[0] = '\0';
	pthread_mutex_unlock(&th->lock);
}

int vdev_testhost_terminated(struct vdev_testhost *th)
{
	int cause;

	pthread_mutex_lock(&th->lock);
	cause = th->terminated;
	pthread_mutex_unlock(&th->lock);
	return cause;
}

uint64_t vdev_testhost_now(struct vdev_testhost *th)
{
	uint64_t now;

	pthread_mutex_lock(&th->lock);
	now = th->now;
	pthread_mutex_unlock(&th->lock);
	return now;
}

/* ------------------------------------------------------------ bookkeeping */

void vdev_testhost_usage(struct vdev_testhost *th, struct vdev_testhost_usage *usage)
{
	struct vdev_testdev *dev;
	struct vdev_line *l;
	struct vdev_timer *t;
	struct vdev_watch *w;
	struct th_map *m;

	memset(usage, 0, sizeof(*usage));
	pthread_mutex_lock(&th->lock);
	for (dev = th->devs; dev; dev = dev->next) {
		usage->regions += dev->regions;
		for (l = dev->lines; l; l = l->next)
			usage->lines++;
		for (t = dev->timers; t; t = t->next)
			usage->timers++;
		for (w = dev->watches; w; w = w->next)
			usage->watches++;
		for (m = dev->maps; m; m = m->next)
			usage->maps++;
	}
	pthread_mutex_unlock(&th->lock);
}

void vdev_testhost_set_hooks(struct vdev_testhost *th, const struct vdev_testhost_hooks *hooks)
{
	pthread_mutex_lock(&th->lock);
	if (hooks)
		th->hooks = *hooks;
	else
		memset(&th->hooks, 0, sizeof(th->hooks));
	pthread_mutex_unlock(&th->lock);
}

/* ---------------------------------------------------------------- plugins */

int vdev_testhost_load(struct vdev_testhost *th, const char *path,
		       const struct vdev_descriptor **desc)
{
	char err[VDEV_HOST_ERRLEN], *dirs_text = NULL, *save = NULL, *tok;
	const char *dirs[32];
	unsigned ndirs = 0;
	const char *env = getenv("VDM_PLUGIN_PATH");
	struct vdev_plugin *p;
	int rc;

	if (desc)
		*desc = NULL;
	/* A bare name is searched on VDM_PLUGIN_PATH, like vdm does. */
	if (env && *env) {
		dirs_text = strdup(env);
		if (!dirs_text)
			return -ENOMEM;
		for (tok = strtok_r(dirs_text, ":", &save); tok && ndirs < 32;
		     tok = strtok_r(NULL, ":", &save))
			dirs[ndirs++] = tok;
	}
	pthread_mutex_lock(&th->lock);
	rc = vdev_plugin_set_load(th->plugins, path, dirs, ndirs, &p, err, sizeof(err));
	pthread_mutex_unlock(&th->lock);
	free(dirs_text);
	if (rc < 0) {
		th_set_error(th, "%s", err);
		return rc;
	}
	if (desc)
		*desc = p->desc;
	return 0;
}

int vdev_testhost_use(struct vdev_testhost *th, const struct vdev_descriptor *desc)
{
	char err[VDEV_HOST_ERRLEN];
	struct vdev_plugin *p;
	int rc;

	pthread_mutex_lock(&th->lock);
	rc = vdev_plugin_set_add(th->plugins, desc, &p, err, sizeof(err));
	pthread_mutex_unlock(&th->lock);
	if (rc < 0)
		th_set_error(th, "%s", err);
	return rc;
}
