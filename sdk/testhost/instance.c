/*
 * sdk/testhost/instance.c: instances of a plugin: created from option text
 * through the same parser (conf/) and validation (sdk/host) as vdm, torn
 * down so that nothing they took stays behind, and the lifecycle calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "sdk/host/arity.h"
#include "sdk/host/options.h"
#include "sdk/testhost/internal.h"

/* The diagnostics of a parse, as one string without the trailing newline. */
static void diag_text_to_error(struct vdev_testhost *th, const char *prefix, char *text)
{
	size_t n = text ? strlen(text) : 0;

	while (n && text[n - 1] == '\n')
		text[--n] = '\0';
	th_set_error(th, "%s%s", prefix, n ? text : "invalid options.");
}

/*
 * The instance's config from text: "vdev NAME <options>" through
 * conf_parse_string, then vdev_config_build. On success fills dev->arena,
 * config, name, log_filters.
 */
static int instance_configure(struct vdev_testhost *th, struct vdev_testdev *dev,
			      const char *options)
{
	struct conf_vm *vm = NULL;
	struct conf_diag *diag;
	char *text = NULL, *out = NULL;
	size_t outlen = 0;
	struct conf_env env = { 0 };
	const char **natives = NULL;
	struct th_intc *c;
	unsigned n = 0;
	FILE *f;
	int rc = -EINVAL;

	f = open_memstream(&out, &outlen);
	if (!f)
		return -ENOMEM;
	diag = conf_diag_new(f);
	if (!diag || asprintf(&text, "vdev %s %s\n", dev->desc->name, options ? options : "") < 0) {
		text = NULL;
		rc = -ENOMEM;
		goto out;
	}
	/* The parser checks that `intr X:N` names a controller defined
	 * before; here every controller of the host is. */
	pthread_mutex_lock(&th->lock);
	for (c = th->intcs; c; c = c->next)
		n++;
	natives = calloc(n + 1, sizeof(*natives));
	n = 0;
	for (c = th->intcs; natives && c; c = c->next)
		natives[n++] = c->name;
	pthread_mutex_unlock(&th->lock);
	if (!natives) {
		rc = -ENOMEM;
		goto out;
	}
	env.native_controllers = natives;
	/* The descriptor being created says which of its options take no
	 * argument, so `start irq-mode edge` is `start` alone, as in vdm. */
	env.option_arity = vdev_option_arity_callback;
	env.option_ctx = (void *)dev->desc;
	vm = conf_parse_string(text, "<options>", &env, diag);
	if (!vm)
		goto out;
	/* Option text that starts another context (a second vdev, ram, ...)
	 * is not the options of one instance. */
	if (vm->vdev_count != 1 || vm->ram_count || vm->rom_count || vm->load_count ||
	    vm->pass_count || vm->reserve_count || vm->cpu_count || vm->system) {
		struct conf_pos at = { "<options>", 1, 1 };

		conf_diag_error(diag, &at,
				"'%s' holds more than the options of one vdev: keep to device and "
				"common options (loc, intr, name, log).",
				options ? options : "");
		goto out;
	}
	dev->arena = vdev_arena_new();
	if (!dev->arena) {
		rc = -ENOMEM;
		goto out;
	}
	rc = vdev_config_build(dev->desc, &vm->vdevs[0], dev->plugin->instances, diag,
			       dev->arena, &dev->config);
	if (rc < 0)
		goto out;
	dev->name = dev->config->instance_name;
	/* With no `log`, the test host captures every level: a test wants to
	 * see the debug lines vdm would filter by default. */
	dev->log_filters = CONF_LOG_FATAL | CONF_LOG_INTERNAL | CONF_LOG_ERROR | CONF_LOG_WARN |
			   CONF_LOG_INFO | CONF_LOG_DEBUG | CONF_LOG_VERBOSE;
	if (vm->vdevs[0].name) {
		dev->given_name = vdev_arena_strdup(dev->arena, vm->vdevs[0].name);
		if (!dev->given_name) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (vm->vdevs[0].log)
		dev->log_filters =
			vm->vdevs[0].log_spec.dest == CONF_LOG_NONE ? 0 : vm->vdevs[0].log_spec.filters;
out:
	if (diag)
		conf_diag_free(diag);
	fclose(f);
	if (rc < 0)
		diag_text_to_error(th, "", out);
	free(out);
	free(text);
	free(natives);
	conf_vm_free(vm);
	return rc;
}

/* Undo everything an instance took, newest state first. Plugin code is not
 * called with th->lock held: deasserting a line may reach a plugin
 * controller. */
/* What destroy() left for the host to release that the plugin had to
 * release itself: a mapping lives for one callback (vdev.h). Timers and
 * watches may be left to the host, lines and regions are the host's. */
static void instance_leftovers(struct vdev_testdev *dev)
{
	struct vdev_testhost *th = dev->th;
	unsigned maps = 0;

	pthread_mutex_lock(&th->lock);
	for (struct th_map *m = dev->maps; m; m = m->next)
		maps++;
	pthread_mutex_unlock(&th->lock);
	if (maps)
		th_host_error(th, "leftover",
			      "%s: destroy returned with %u guest-memory mapping(s) not unmapped "
			      "(a mapping lives for one callback); the host released them.",
			      dev->name, maps);
}

static void instance_release(struct vdev_testdev *dev)
{
	struct vdev_testhost *th = dev->th;
	struct vdev_line *l;
	struct th_map *m;

	th_regions_remove_all(dev);
	for (;;) {
		pthread_mutex_lock(&th->lock);
		for (l = dev->lines; l && !l->level; l = l->next)
			;
		pthread_mutex_unlock(&th->lock);
		if (!l)
			break;
		if (th_line_drive(th, l, 0) < 0) {
			pthread_mutex_lock(&th->lock);
			l->level = 0;
			pthread_mutex_unlock(&th->lock);
		}
	}
	pthread_mutex_lock(&th->lock);
	while ((l = dev->lines)) {
		dev->lines = l->next;
		free(l);
	}
	while ((m = dev->maps)) {
		dev->maps = m->next;
		free(m);
	}
	th_timers_release(dev);
	th_watches_release(dev);
	pthread_mutex_unlock(&th->lock);
}

/* Retire a controller a plugin instance provided: lines others hold on it
 * now report -ENODEV instead of reaching a destroyed instance. th->lock held. */
static void intc_retire(struct vdev_testhost *th, struct th_intc *c)
{
	struct th_intc **pc;

	for (pc = &th->intcs; *pc; pc = &(*pc)->next) {
		if (*pc == c) {
			*pc = c->next;
			break;
		}
	}
	c->dead = true;
	c->next = th->dead_intcs;
	th->dead_intcs = c;
}

/* Move a finished instance to the graveyard. th->lock held. */
static void instance_bury(struct vdev_testhost *th, struct vdev_testdev *dev)
{
	struct vdev_testdev **pd;

	for (pd = &th->devs; *pd; pd = &(*pd)->next) {
		if (*pd == dev) {
			*pd = dev->next;
			break;
		}
	}
	dev->alive = false;
	dev->dying = true;
	dev->ctx.magic = TH_MAGIC_DEAD;
	dev->next = th->graveyard;
	th->graveyard = dev;
}

/* A plugin controller: `name X` makes it controller X (else it takes the
 * device's name when free). */
static int instance_register_intc(struct vdev_testhost *th, struct vdev_testdev *dev,
				  const char *given_name)
{
	const char *cname = given_name ? given_name : dev->desc->name;
	unsigned lines;
	int rc;

	th_dev_lock(dev, false);
	th_hook_enter(dev, "line_count");
	lines = dev->desc->intc->line_count(dev->state);
	th_hook_exit(dev, "line_count");
	th_dev_unlock(dev, false);
	pthread_mutex_lock(&th->lock);
	if (!given_name && th_intc_find(th, cname, strlen(cname))) {
		pthread_mutex_unlock(&th->lock);
		return 0;
	}
	rc = th_intc_register(th, cname, lines, dev, &dev->intc);
	pthread_mutex_unlock(&th->lock);
	return rc;
}

struct vdev_testdev *vdev_testhost_create(struct vdev_testhost *th,
					  const struct vdev_descriptor *desc,
					  const char *options)
{
	struct vdev_testdev *dev, *other;
	struct vdev_plugin *plugin;
	const char *given_name = NULL;
	char errtext[2048], cause[2048];
	int rc;

	pthread_mutex_lock(&th->lock);
	plugin = desc ? vdev_plugin_set_find(th->plugins, desc) : NULL;
	for (other = th->devs; plugin && other; other = other->next) {
		if (other->desc == desc && (desc->flags & VDEV_F_SINGLETON))
			break;
	}
	pthread_mutex_unlock(&th->lock);
	if (!plugin) {
		th_set_error(th, "create: the descriptor was not loaded with vdev_testhost_load "
			     "or vdev_testhost_use.");
		return NULL;
	}
	if (other) {
		th_set_error(th, "vdev %s: at most one instance per VM (VDEV_F_SINGLETON).",
			     desc->name);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev) {
		th_set_error(th, "create: out of memory.");
		return NULL;
	}
	dev->ctx.magic = TH_MAGIC;
	dev->ctx.dev = dev;
	dev->th = th;
	dev->plugin = plugin;
	dev->desc = desc;
	dev->self_locked = (desc->flags & VDEV_F_SELF_LOCKED) != 0;
	th_mutex_init_recursive(&dev->lock);
	if (instance_configure(th, dev, options) < 0) {
		vdev_arena_free(dev->arena);
		pthread_mutex_destroy(&dev->lock);
		free(dev);
		return NULL;
	}
	given_name = dev->given_name;
	pthread_mutex_lock(&th->lock);
	dev->alive = true;
	dev->next = th->devs;
	th->devs = dev;
	plugin->instances++;
	pthread_mutex_unlock(&th->lock);

	/* What the host refuses during create (an overlapping region, ...)
	 * explains a failure better than the errno alone. */
	th_set_error(th, "%s", "");
	th_dev_lock(dev, false);
	th_hook_enter(dev, "create");
	rc = desc->ops->create(&th_services, &dev->ctx, dev->config, &dev->state);
	th_hook_exit(dev, "create");
	th_dev_unlock(dev, false);
	if (rc == 0 && (desc->flags & VDEV_F_INTC)) {
		rc = instance_register_intc(th, dev, given_name);
		if (rc < 0) {
			snprintf(errtext, sizeof(errtext), "%s", th->err);
			vdev_testhost_destroy(dev);
			th_set_error(th, "%s: %s", dev->name, errtext);
			return NULL;
		}
	}
	if (rc != 0) {
		/* create failed: the plugin freed its own state; the host
		 * undoes what it registered before failing. */
		pthread_mutex_lock(&th->lock);
		dev->dying = true;
		pthread_mutex_unlock(&th->lock);
		instance_release(dev);
		pthread_mutex_lock(&th->lock);
		instance_bury(th, dev);
		pthread_mutex_unlock(&th->lock);
		snprintf(errtext, sizeof(errtext), "%s", dev->name);
		pthread_mutex_lock(&th->lock);
		snprintf(cause, sizeof(cause), "%s", th->err);
		pthread_mutex_unlock(&th->lock);
		vdev_arena_free(dev->arena);
		dev->arena = NULL;
		dev->config = NULL;
		dev->name = desc->name;
		if (rc > 0)
			th_host_error(th, "create-return", "%s: create returned %d; it returns 0 or a negative "
				      "errno.", errtext, rc);
		th_set_error(th, "vdev %s: create failed: %s.%s%s", errtext,
			     strerror(rc < 0 ? -rc : rc), cause[0] ? " " : "", cause);
		return NULL;
	}
	return dev;
}

void vdev_testhost_destroy(struct vdev_testdev *dev)
{
	struct vdev_testhost *th;

	if (!dev)
		return;
	th = dev->th;
	pthread_mutex_lock(&th->lock);
	if (!dev->alive || dev->dying) {
		pthread_mutex_unlock(&th->lock);
		th_set_error(th, "destroy: %s is already destroyed.", dev->name);
		return;
	}
	/* No new access, timer or fd event reaches it from here on. */
	dev->dying = true;
	if (dev->intc)
		intc_retire(th, dev->intc);
	pthread_mutex_unlock(&th->lock);
	th_regions_remove_all(dev);

	/* Waits for callbacks in flight on other threads (they hold the lock). */
	pthread_mutex_lock(&dev->lock);
	th_hook_enter(dev, "destroy");
	dev->desc->ops->destroy(dev->state);
	th_hook_exit(dev, "destroy");
	pthread_mutex_unlock(&dev->lock);

	instance_leftovers(dev);
	instance_release(dev);
	pthread_mutex_lock(&th->lock);
	instance_bury(th, dev);
	vdev_arena_free(dev->arena);
	dev->arena = NULL;
	dev->config = NULL;
	/* The name lived in the arena; late-call reports still need one. */
	dev->name = dev->desc->name;
	pthread_mutex_unlock(&th->lock);
}

void *vdev_testdev_state(struct vdev_testdev *dev)
{
	return dev->state;
}

void *vdev_testdev_instance(struct vdev_testdev *dev)
{
	return dev->state;
}

/* Control calls are refused on destroyed instances instead of reaching freed
 * plugin state. */
static bool instance_usable(struct vdev_testdev *dev, const char *what)
{
	bool ok;

	pthread_mutex_lock(&dev->th->lock);
	ok = dev->alive && !dev->dying;
	pthread_mutex_unlock(&dev->th->lock);
	if (!ok)
		th_set_error(dev->th, "%s: %s is destroyed.", what, dev->name);
	return ok;
}

void vdev_testhost_reset(struct vdev_testdev *dev)
{
	if (!instance_usable(dev, "reset") || !dev->desc->ops->reset)
		return;
	th_dev_lock(dev, false);
	th_hook_enter(dev, "reset");
	dev->desc->ops->reset(dev->state);
	th_hook_exit(dev, "reset");
	th_dev_unlock(dev, false);
}

ssize_t vdev_testhost_save(struct vdev_testdev *dev, void *buf, size_t cap)
{
	struct vdev_testhost *th = dev->th;
	size_t limit = dev->desc->state_size;
	ssize_t n;

	if (!instance_usable(dev, "save"))
		return -ENODEV;
	if (!dev->desc->ops->save) {
		th_set_error(th, "save: %s has no save op.", dev->name);
		return -ENOTSUP;
	}
	/* The contract promises save() at least state_size bytes. */
	if (cap < limit) {
		th_set_error(th, "save: a buffer of %zu bytes is smaller than %s's state_size %zu.",
			     cap, dev->name, limit);
		return -ENOSPC;
	}
	th_dev_lock(dev, false);
	th_hook_enter(dev, "save");
	n = dev->desc->ops->save(dev->state, buf, cap);
	th_hook_exit(dev, "save");
	th_dev_unlock(dev, false);
	if (n < 0) {
		th_set_error(th, "save: %s failed: %s.", dev->name, strerror((int)-n));
		return n;
	}
	if ((size_t)n > cap || (size_t)n > limit) {
		th_host_error(th, "save-overflow", "%s: save returned %zd bytes, more than %s %zu.", dev->name, n,
			      (size_t)n > cap ? "the buffer's" : "its state_size", 
			      (size_t)n>cap?cap:limit);
		return -EPROTO;
	}
	return n;
}

int vdev_testhost_restore(struct vdev_testdev *dev, const void *buf, size_t length)
{
	int rc;

	if (!instance_usable(dev, "restore"))
		return -ENODEV;
	if (!dev->desc->ops->restore) {
		th_set_error(dev->th, "restore: %s has no restore op.", dev->name);
		return -ENOTSUP;
	}
	th_dev_lock(dev, false);
	th_hook_enter(dev, "restore");
	rc = dev->desc->ops->restore(dev->state, buf, length);
	th_hook_exit(dev, "restore");
	th_dev_unlock(dev, false);
	if (rc > 0) {
		th_host_error(dev->th, "restore-return", "%s: restore returned %d; it returns 0 or a negative errno.",
			      dev->name, rc);
		rc = -EPROTO;
	}
	if (rc < 0)
		th_set_error(dev->th, "restore: %s refused the state: %s.", dev->name,
			     strerror(-rc));
	return rc;
}

int vdev_testhost_start(struct vdev_testhost *th)
{
	struct vdev_testdev **list, *dev;
	unsigned n = 0, i;

	pthread_mutex_lock(&th->lock);
	th->started = true;
	for (dev = th->devs; dev; dev = dev->next)
		n++;
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list) {
		pthread_mutex_unlock(&th->lock);
		return -ENOMEM;
	}
	/* In creation order, the order vdm starts them in. */
	i = n;
	for (dev = th->devs; dev; dev = dev->next)
		list[--i] = dev;
	pthread_mutex_unlock(&th->lock);
	for (i = 0; i < n; i++) {
		dev = list[i];
		if (!dev->desc->ops->guest_starting || !instance_usable(dev, "start"))
			continue;
		th_dev_lock(dev, false);
		th_hook_enter(dev, "guest_starting");
		dev->desc->ops->guest_starting(dev->state);
		th_hook_exit(dev, "guest_starting");
		th_dev_unlock(dev, false);
	}
	free(list);
	return 0;
}
