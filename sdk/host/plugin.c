/*
 * sdk/host/plugin.c: the plugin loader's rules (see plugin.h).
 *
 * Every check a descriptor passes here is one a host need not repeat on the
 * access path: a host may trust name, ops, access_sizes and the schema of a
 * plugin this module accepted.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"

#include "sdk/host/options.h"
#include "sdk/host/plugin.h"

const char *const vdev_common_options[] = {"loc", "intr", "name", "log", NULL};

/* The v1 sizes: a plugin of ABI 1.x has at least these. */
#define DESC_V1_SIZE (offsetof(struct vdev_descriptor, intc) + sizeof(void *))
#define OPS_V1_SIZE  (offsetof(struct vdev_ops, status) + sizeof(void *))
#define INTC_V1_SIZE (offsetof(struct vdev_intc_ops, eoi) + sizeof(void *))

static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int name_is_valid(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	}
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

/* ------------------------------------------------------------- resolving */

static int is_regular_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The plugin names available in dirs, to suggest one for a typo. */
static const char *suggest_plugin(const char *name, const char *const *dirs, unsigned dir_count,
				  char *out, size_t outlen)
{
	const char *cands[128], *hint;
	char *owned[128];
	unsigned n = 0, i;
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	for (i = 0; i < dir_count && n < 128; i++) {
		d = opendir(dirs[i]);
		if (!d)
			continue;
		while ((de = readdir(d)) && n < 128) {
			size_t len = strlen(de->d_name);

			if (strncmp(de->d_name, "vdev-", 5) || !ends_with(de->d_name, ".so") ||
			    len <= 8)
				continue;
			owned[n] = strndup(de->d_name + 5, len - 8);
			if (owned[n]) {
				cands[n] = owned[n];
				n++;
			}
		}
		closedir(d);
	}
	hint = vdev_name_suggest(name, cands, n);
	if (hint)
		snprintf(out, outlen, "%s", hint);
	for (i = 0; i < n; i++)
		free(owned[i]);
	return out[0] ? out : NULL;
}

int vdev_plugin_resolve(const char *type, const char *const *dirs, unsigned dir_count, char **path,
			char **expected_name, char *err, size_t errlen)
{
	char where[512], hint[128];
	const char *name;
	size_t used = 0;
	unsigned i;
	char *p;
	int n;

	*path = NULL;
	*expected_name = NULL;
	if (!type || !*type) {
		fmt_err(err, errlen, "vdev: the device type is empty: write 'vdev NAME'.");
		return -EINVAL;
	}
	if (strchr(type, '/') || ends_with(type, ".so")) {
		*path = strdup(type);
		return *path ? 0 : -ENOMEM;
	}
	name = strncmp(type, "vdev-", 5) ? type : type + 5;
	if (!name_is_valid(name)) {
		fmt_err(err, errlen,
			"vdev %s: a device name is lower-case letters, digits and '-' "
			"(or give a path to the .so).",
			type);
		return -EINVAL;
	}
	where[0] = '\0';
	for (i = 0; i < dir_count; i++) {
		if (asprintf(&p, "%s/vdev-%s.so", dirs[i], name) < 0)
			return -ENOMEM;
		if (is_regular_file(p)) {
			*path = p;
			*expected_name = strdup(name);
			if (!*expected_name) {
				free(p);
				*path = NULL;
				return -ENOMEM;
			}
			return 0;
		}
		free(p);
		if (used < sizeof(where)) {
			n = snprintf(where + used, sizeof(where) - used, "%s%s", i ? ", " : "",
				     dirs[i]);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	if (!dir_count) {
		fmt_err(err, errlen, "vdev %s: no plugin directories to search for vdev-%s.so.",
			type, name);
	} else if (suggest_plugin(name, dirs, dir_count, hint, sizeof(hint))) {
		fmt_err(err, errlen,
			"vdev %s: no vdev-%s.so in %s; did you mean '%s'? "
			"(--plugin-path or VDM_PLUGIN_PATH add directories.)",
			type, name, where, hint);
	} else {
		fmt_err(err, errlen,
			"vdev %s: no vdev-%s.so in %s. "
			"(--plugin-path or VDM_PLUGIN_PATH add directories.)",
			type, name, where);
	}
	return -ENOENT;
}

/* ------------------------------------------------------------- checking */

static int check_schema(const struct vdev_descriptor *d, const char *file, char *err, size_t errlen)
{
	const struct vdev_option_spec *o;
	struct vdev_option_value value;
	char why[512];
	unsigned i, j;
	int numeric;

	if (d->option_count && !d->options) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: option_count is %u but options is NULL.", file,
			d->option_count);
		return -EINVAL;
	}
	for (i = 0; i < d->option_count; i++) {
		o = &d->options[i];
		if (!o->name || !*o->name) {
			fmt_err(err, errlen, "%s: invalid descriptor: option %u has no name.", file,
				i);
			return -EINVAL;
		}
		if (!name_is_valid(o->name)) {
			fmt_err(err, errlen,
				"%s: invalid descriptor: option name '%s' is not lower-case "
				"letters, digits and '-'.",
				file, o->name);
			return -EINVAL;
		}
		for (j = 0; vdev_common_options[j]; j++) {
			if (!strcmp(o->name, vdev_common_options[j])) {
				fmt_err(
				    err, errlen,
				    "%s: invalid descriptor: option '%s' is a common option the "
				    "host handles (loc, intr, name, log): remove it from the "
				    "schema and read it from struct vdev_config.",
				    file, o->name);
				return -EINVAL;
			}
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(o->name, d->options[j].name)) {
				fmt_err(err, errlen,
					"%s: invalid descriptor: option '%s' is declared twice.",
					file, o->name);
				return -EINVAL;
			}
		}
		if (o->type < VDEV_OPT_INT || o->type > VDEV_OPT_LOC) {
			fmt_err(err, errlen,
				"%s: invalid descriptor: option '%s' has unknown type %d.", file,
				o->name, (int)o->type);
			return -EINVAL;
		}
		if (o->flags & ~VDEV_OPTF_ALL) {
			fmt_err(err, errlen,
				"%s: invalid descriptor: option '%s' has unknown flag bits %#x.",
				file, o->name, o->flags & ~VDEV_OPTF_ALL);
			return -EINVAL;
		}
		if (o->type == VDEV_OPT_ENUM && (!o->choices || !o->choices[0])) {
			fmt_err(err, errlen,
				"%s: invalid descriptor: enum option '%s' has no choices.", file,
				o->name);
			return -EINVAL;
		}
		for (j = 0; o->type == VDEV_OPT_ENUM && o->choices[j]; j++) {
			if (!*o->choices[j]) {
				fmt_err(err, errlen,
					"%s: invalid descriptor: enum option '%s' has an empty "
					"choice.",
					file, o->name);
				return -EINVAL;
			}
		}
		if ((o->flags & VDEV_OPTF_NOARG) && o->type != VDEV_OPT_BOOL) {
			fmt_err(err, errlen,
				"%s: invalid descriptor: option '%s' is NOARG but not a bool.",
				file, o->name);
			return -EINVAL;
		}
		numeric = o->type == VDEV_OPT_INT || o->type == VDEV_OPT_UINT ||
			  o->type == VDEV_OPT_SIZE || o->type == VDEV_OPT_ADDR;
		if (o->flags & VDEV_OPTF_RANGE) {
			if (!numeric) {
				fmt_err(
				    err, errlen,
				    "%s: invalid descriptor: option '%s' has RANGE but is a %s, "
				    "not a number.",
				    file, o->name, vdev_option_type_name(o->type));
				return -EINVAL;
			}
			if (o->type == VDEV_OPT_INT ? o->min > o->max
						    : (uint64_t)o->min > (uint64_t)o->max) {
				fmt_err(err, errlen,
					"%s: invalid descriptor: option '%s' has min above max.",
					file, o->name);
				return -EINVAL;
			}
		}
		if ((o->flags & VDEV_OPTF_REQUIRED) && o->default_value) {
			fmt_err(err, errlen,
				"%s: invalid descriptor: option '%s' is REQUIRED and has a "
				"default: drop one of them.",
				file, o->name);
			return -EINVAL;
		}
		if (o->default_value && vdev_option_parse(o, d->default_space, o->default_value,
							  &value, why, sizeof(why), NULL) < 0) {
			fmt_err(err, errlen, "%s: invalid descriptor: bad default '%s': %s", file,
				o->default_value, why);
			return -EINVAL;
		}
	}
	return 0;
}

int vdev_descriptor_check(const struct vdev_descriptor *d, const char *file,
			  const char *expected_name, char *err, size_t errlen)
{
	if (!file)
		file = "<linked>";
	if (!d) {
		fmt_err(err, errlen,
			"%s: the entry point returned NULL: it must return the address of the "
			"plugin's descriptor (VDEV_PLUGIN_ENTRY(desc)).",
			file);
		return -EINVAL;
	}
	if (d->abi_major != VDEV_ABI_MAJOR) {
		fmt_err(err, errlen,
			"%s: built for vdev ABI %u, this host speaks %u: rebuild "
			"against this SDK.",
			file, d->abi_major, VDEV_ABI_MAJOR);
		return -EPROTONOSUPPORT;
	}
	if (d->struct_size < DESC_V1_SIZE) {
		fmt_err(err, errlen,
			"%s: the descriptor's struct_size is %u, smaller than ABI %u's %zu: "
			"initialise it with VDEV_DESCRIPTOR_INIT.",
			file, d->struct_size, VDEV_ABI_MAJOR, DESC_V1_SIZE);
		return -EINVAL;
	}
	if (!d->name || !*d->name) {
		fmt_err(err, errlen, "%s: invalid descriptor: the name is empty.", file);
		return -EINVAL;
	}
	if (!name_is_valid(d->name)) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: name '%s' is not lower-case letters, digits and "
			"'-'.",
			file, d->name);
		return -EINVAL;
	}
	if (expected_name && strcmp(expected_name, d->name)) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: the device is named '%s' but the file says '%s': "
			"rename the file to vdev-%s.so or fix the name.",
			file, d->name, expected_name, d->name);
		return -EINVAL;
	}
	if (!d->version || !*d->version) {
		fmt_err(err, errlen, "%s: invalid descriptor: the version is missing.", file);
		return -EINVAL;
	}
	if (d->flags & ~VDEV_F_ALL) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: unknown flag bits %#x (this host knows %#x).",
			file, d->flags & ~VDEV_F_ALL, VDEV_F_ALL);
		return -EINVAL;
	}
	if (d->default_space != VDEV_SPACE_MMIO && d->default_space != VDEV_SPACE_PIO) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: default_space must be VDEV_SPACE_MMIO or "
			"VDEV_SPACE_PIO.",
			file);
		return -EINVAL;
	}
	if (!d->ops) {
		fmt_err(err, errlen, "%s: invalid descriptor: no ops table.", file);
		return -EINVAL;
	}
	if (d->ops->struct_size < OPS_V1_SIZE) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: the ops table's struct_size is %u, smaller than "
			"ABI %u's %zu: set .struct_size = sizeof(struct vdev_ops).",
			file, d->ops->struct_size, VDEV_ABI_MAJOR, OPS_V1_SIZE);
		return -EINVAL;
	}
	if (!d->ops->create || !d->ops->destroy) {
		fmt_err(err, errlen, "%s: invalid descriptor: ops->%s is required.", file,
			d->ops->create ? "destroy" : "create");
		return -EINVAL;
	}
	if ((d->flags & VDEV_F_INTC) && !d->intc) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: VDEV_F_INTC is set but there are no intc ops.",
			file);
		return -EINVAL;
	}
	if (!(d->flags & VDEV_F_INTC) && d->intc) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: intc ops are given but VDEV_F_INTC is not set.",
			file);
		return -EINVAL;
	}
	if (d->intc &&
	    (d->intc->struct_size < INTC_V1_SIZE || !d->intc->line_count || !d->intc->set_level)) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: intc ops need struct_size = sizeof(struct "
			"vdev_intc_ops), line_count and set_level.",
			file);
		return -EINVAL;
	}
	if (VDEV_DESCRIPTOR_HAS(d, register_note_count)) {
		if (!d->register_notes != !d->register_note_count) {
			fmt_err(err, errlen,
				"%s: invalid descriptor: register_notes and register_note_count "
				"must be given together.",
				file);
			return -EINVAL;
		}
		for (unsigned i = 0; i < d->register_note_count; i++) {
			const struct vdev_register_note *n = &d->register_notes[i];

			if ((n->kind != VDEV_REG_VOLATILE && n->kind != VDEV_REG_PRESERVED) ||
			    !n->length || n->offset + n->length < n->offset) {
				fmt_err(err, errlen,
					"%s: invalid descriptor: register note %u needs a kind "
					"(VDEV_REG_VOLATILE or VDEV_REG_PRESERVED) and a non-empty "
					"range.",
					file, i);
				return -EINVAL;
			}
		}
	}
	if (!d->access_sizes) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: access_sizes is empty: set VDEV_ACCESS_SIZE(n) "
			"bits for the widths the device accepts.",
			file);
		return -EINVAL;
	}
	if (d->access_sizes & ~(uint32_t)VDEV_ACCESS_SIZES_ALL) {
		fmt_err(err, errlen,
			"%s: invalid descriptor: access_sizes %#x has bits other than "
			"VDEV_ACCESS_SIZE(1/2/4/8).",
			file, d->access_sizes);
		return -EINVAL;
	}
	return check_schema(d, file, err, errlen);
}

/* -------------------------------------------------------------- loading */

int vdev_plugin_open(const char *path, const char *expected_name, struct vdev_plugin **plugin,
		     char *err, size_t errlen)
{
	const struct vdev_descriptor *d;
	struct vdev_plugin *p;
	vdev_entry_fn *entry;
	const char *why;
	void *handle;
	int rc;

	*plugin = NULL;
	/* dlopen would block on a FIFO with no writer: look at the file first. */
	rc = conf_file_open(path, &why);
	if (rc < 0) {
		fmt_err(err, errlen, "%s: cannot load the plugin: %s.", path, why);
		return rc == -ENOENT ? -ENOENT : -ENOEXEC;
	}
	close(rc);
	dlerror();
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		why = dlerror();
		if (!why)
			why = "unknown dlopen error";
		/* dlerror usually starts with the path again. */
		if (!strncmp(why, path, strlen(path)) && !strncmp(why + strlen(path), ": ", 2))
			why += strlen(path) + 2;
		fmt_err(err, errlen, "%s: cannot load the plugin: %s.", path, why);
		return -ENOEXEC;
	}
	*(void **)&entry = dlsym(handle, VDEV_ENTRY_SYMBOL);
	if (!entry) {
		fmt_err(err, errlen,
			"%s: no %s symbol: not a vdev plugin, or built without "
			"VDEV_PLUGIN_ENTRY(desc).",
			path, VDEV_ENTRY_SYMBOL);
		dlclose(handle);
		return -ENOEXEC;
	}
	d = entry();
	if (!d) {
		fmt_err(err, errlen,
			"%s: %s returned NULL: it must return the address of the plugin's "
			"descriptor (VDEV_PLUGIN_ENTRY(desc)).",
			path, VDEV_ENTRY_SYMBOL);
		dlclose(handle);
		return -ENOEXEC;
	}
	rc = vdev_descriptor_check(d, path, expected_name, err, errlen);
	if (rc == 0 && entry() != d) {
		fmt_err(err, errlen,
			"%s: %s returned a different descriptor on a second call: return the "
			"address of one static const descriptor.",
			path, VDEV_ENTRY_SYMBOL);
		rc = -ENOEXEC;
	}
	if (rc < 0) {
		dlclose(handle);
		return rc;
	}
	p = calloc(1, sizeof(*p));
	if (p)
		p->path = strdup(path);
	if (!p || !p->path) {
		free(p);
		dlclose(handle);
		return -ENOMEM;
	}
	p->desc = d;
	p->handle = handle;
	*plugin = p;
	return 0;
}

void vdev_plugin_close(struct vdev_plugin *plugin)
{
	if (!plugin)
		return;
	if (plugin->handle)
		dlclose(plugin->handle);
	free((char *)plugin->path);
	free(plugin);
}

/* ------------------------------------------------------------------ sets */

struct set_entry {
	struct vdev_plugin *plugin;
	dev_t dev; /* identity of the file, so two paths to it load it once */
	ino_t ino;
	struct set_entry *next;
};

struct vdev_plugin_set {
	struct set_entry *entries;
};

struct vdev_plugin_set *vdev_plugin_set_new(void)
{
	return calloc(1, sizeof(struct vdev_plugin_set));
}

void vdev_plugin_set_free(struct vdev_plugin_set *set)
{
	struct set_entry *e, *next;

	if (!set)
		return;
	for (e = set->entries; e; e = next) {
		next = e->next;
		vdev_plugin_close(e->plugin);
		free(e);
	}
	free(set);
}

static int set_insert(struct vdev_plugin_set *set, struct vdev_plugin *p, dev_t dev, ino_t ino)
{
	struct set_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->plugin = p;
	e->dev = dev;
	e->ino = ino;
	e->next = set->entries;
	set->entries = e;
	return 0;
}

int vdev_plugin_set_load(struct vdev_plugin_set *set, const char *type, const char *const *dirs,
			 unsigned dir_count, struct vdev_plugin **plugin, char *err, size_t errlen)
{
	char *path, *expected;
	struct vdev_plugin *p;
	struct set_entry *e;
	struct stat st;
	int rc;

	*plugin = NULL;
	rc = vdev_plugin_resolve(type, dirs, dir_count, &path, &expected, err, errlen);
	if (rc < 0)
		return rc;
	if (stat(path, &st) < 0) {
		fmt_err(err, errlen, "%s: cannot load the plugin: %s.", path, strerror(errno));
		free(path);
		free(expected);
		return -ENOENT;
	}
	for (e = set->entries; e; e = e->next) {
		if (e->plugin->handle && e->dev == st.st_dev && e->ino == st.st_ino)
			break;
	}
	if (e) {
		rc = 0;
		if (expected && strcmp(expected, e->plugin->desc->name)) {
			fmt_err(err, errlen,
				"%s: invalid descriptor: the device is named '%s' but the file "
				"says '%s': rename the file to vdev-%s.so or fix the name.",
				path, e->plugin->desc->name, expected, e->plugin->desc->name);
			rc = -EINVAL;
		} else {
			*plugin = e->plugin;
		}
		free(path);
		free(expected);
		return rc;
	}
	rc = vdev_plugin_open(path, expected, &p, err, errlen);
	free(path);
	free(expected);
	if (rc < 0)
		return rc;
	rc = set_insert(set, p, st.st_dev, st.st_ino);
	if (rc < 0) {
		vdev_plugin_close(p);
		return rc;
	}
	*plugin = p;
	return 0;
}

int vdev_plugin_set_add(struct vdev_plugin_set *set, const struct vdev_descriptor *desc,
			struct vdev_plugin **plugin, char *err, size_t errlen)
{
	struct vdev_plugin *p;
	int rc;

	*plugin = vdev_plugin_set_find(set, desc);
	if (*plugin)
		return 0;
	rc = vdev_descriptor_check(desc, "<linked>", NULL, err, errlen);
	if (rc < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p)
		p->path = strdup("<linked>");
	if (!p || !p->path) {
		free(p);
		return -ENOMEM;
	}
	p->desc = desc;
	rc = set_insert(set, p, 0, 0);
	if (rc < 0) {
		vdev_plugin_close(p);
		return rc;
	}
	*plugin = p;
	return 0;
}

struct vdev_plugin *vdev_plugin_set_find(struct vdev_plugin_set *set,
					 const struct vdev_descriptor *desc)
{
	struct set_entry *e;

	for (e = set->entries; e; e = e->next) {
		if (e->plugin->desc == desc)
			return e->plugin;
	}
	return NULL;
}
