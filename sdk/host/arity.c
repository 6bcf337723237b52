/*
 * sdk/host/arity.c: whether a device option takes an argument, from a
 * plugin's schema, for the configuration parser (see arity.h).
 */
#include <stdlib.h>
#include <string.h>

#include "sdk/host/arity.h"
#include "sdk/host/plugin.h"

/* One vdev type asked about, as written; desc NULL: it did not load. */
struct arity_entry {
	char *type;
	const struct vdev_descriptor *desc;
	struct arity_entry *next;
};

struct vdev_arity_resolver {
	const char *const *dirs;
	unsigned dir_count;
	struct vdev_plugin_set *set;
	struct arity_entry *types;
};

int vdev_option_arity(const struct vdev_descriptor *desc, const char *option)
{
	if (!desc || !option || !desc->options)
		return -1;
	for (unsigned k = 0; k < desc->option_count; k++) {
		const struct vdev_option_spec *spec = &desc->options[k];

		if (!spec->name || strcmp(spec->name, option) != 0)
			continue;
		return spec->type == VDEV_OPT_BOOL && (spec->flags & VDEV_OPTF_NOARG) ? 0 : 1;
	}
	return -1;
}

int vdev_option_arity_callback(void *ctx, const char *vdev_type, const char *option)
{
	const struct vdev_descriptor *desc = ctx;

	if (!desc || !desc->name || !vdev_type)
		return -1;
	if (strncmp(vdev_type, "vdev-", 5) == 0)
		vdev_type += 5;
	if (strcmp(vdev_type, desc->name) != 0)
		return -1;
	return vdev_option_arity(desc, option);
}

struct vdev_arity_resolver *vdev_arity_resolver_new(const char *const *dirs, unsigned dir_count)
{
	struct vdev_arity_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->set = vdev_plugin_set_new();
	if (!r->set) {
		free(r);
		return NULL;
	}
	r->dirs = dirs;
	r->dir_count = dir_count;
	return r;
}

/* The descriptor `type` names, loading it the first time; NULL when it
 * does not load (remembered, so a bad type is tried once per parse). */
static const struct vdev_descriptor *resolver_lookup(struct vdev_arity_resolver *r,
						     const char *type)
{
	struct vdev_plugin *plugin = NULL;
	struct arity_entry *e;
	char err[VDEV_HOST_ERRLEN];

	for (e = r->types; e; e = e->next)
		if (strcmp(e->type, type) == 0)
			return e->desc;
	/* The message is dropped on purpose: the VM assembly loads the same
	 * type again and reports it at the type's position. */
	if (vdev_plugin_set_load(r->set, type, r->dirs, r->dir_count, &plugin, err, sizeof(err)) <
	    0)
		plugin = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return plugin ? plugin->desc : NULL;
	e->type = strdup(type);
	if (!e->type) {
		free(e);
		return plugin ? plugin->desc : NULL;
	}
	e->desc = plugin ? plugin->desc : NULL;
	e->next = r->types;
	r->types = e;
	return e->desc;
}

int vdev_arity_resolver_answer(void *ctx, const char *vdev_type, const char *option)
{
	struct vdev_arity_resolver *r = ctx;

	if (!r || !vdev_type || !option)
		return -1;
	return vdev_option_arity(resolver_lookup(r, vdev_type), option);
}

void vdev_arity_resolver_free(struct vdev_arity_resolver *resolver)
{
	struct arity_entry *e, *next;

	if (!resolver)
		return;
	for (e = resolver->types; e; e = next) {
		next = e->next;
		free(e->type);
		free(e);
	}
	vdev_plugin_set_free(resolver->set);
	free(resolver);
}
