/*
 * sdk/host/plugin.h: finding, loading and checking vdev plugins.
 *
 * The one loader every host uses (vdm, the SDK test host, vdev-conform), so
 * that a plugin is accepted or refused for the same reasons everywhere.
 * Link with libvdev-host.a ($(VDEV_HOST_LIB)), libconf.a and -ldl.
 *
 * A `vdev NAME` in a configuration names vdev-NAME.so, searched for in a list
 * of directories in order (vdm passes: --plugin-path dirs, VDM_PLUGIN_PATH
 * entries, the build tree's lib/vdm, the install dir). "vdev-NAME" means the
 * same; a NAME containing '/' or ending in ".so" is a path used as is.
 * Each file is loaded once (dlopen RTLD_NOW|RTLD_LOCAL) and shared by every
 * instance: keep one struct vdev_plugin_set per VM.
 *
 * Every refusal comes with a message in `err` that names the file and says
 * what to do, as a complete sentence ("vdev-foo.so: built for vdev ABI 2,
 * this host speaks 1: rebuild against this SDK."). Messages are cut to
 * errlen; VDEV_HOST_ERRLEN is always enough for the text to be useful.
 *
 * Nothing here is thread-safe: call it from one thread (vdm's control
 * thread), or under the caller's lock (the test host does).
 */
#ifndef VDEV_HOST_PLUGIN_H
#define VDEV_HOST_PLUGIN_H

#include <stddef.h>

#include <vdev/vdev.h>

/* A size for error buffers that holds any message of this module. */
#define VDEV_HOST_ERRLEN 1024

/* The options every vdev takes from the host; a schema may not reuse them. */
extern const char *const vdev_common_options[]; /* NULL-terminated: loc, intr, name, log */

/* One loaded (or linked-in) plugin, shared by all its instances. */
struct vdev_plugin {
	const struct vdev_descriptor *desc; /* checked by vdev_descriptor_check */
	const char *path;   /* the file loaded, or "<linked>" for a linked descriptor */
	void *handle;	    /* the dlopen handle; NULL for a linked descriptor */
	unsigned instances; /* for the host's use: instances created so far (index) */
};

/*
 * vdev_plugin_resolve: which file `type` (the word after `vdev`) names.
 * "NAME" and "vdev-NAME" are searched as vdev-NAME.so in dirs[0..dir_count)
 * in order, the first regular file wins; *expected_name is then NAME, which
 * the descriptor's name must equal. A type containing '/' or ending in
 * ".so" is a path taken as is, and *expected_name is NULL (no name check).
 * On success *path and *expected_name are malloc'd (free both).
 * Returns 0; -ENOENT when nothing was found (err lists where it looked and
 * the nearest plugin names there); -EINVAL for an empty type or a NAME
 * outside [a-z0-9-]; -ENOMEM.
 */
int vdev_plugin_resolve(const char *type, const char *const *dirs, unsigned dir_count, char **path,
			char **expected_name, char *err, size_t errlen);

/*
 * vdev_descriptor_check: the loader's rules for a descriptor, without loading
 * anything: ABI major equal to ours, struct_size at least the ABI-1 size, a
 * well-formed name (equal to expected_name unless that is NULL), a version,
 * known flag bits, ops with create/destroy (read/write are checked when the
 * device adds regions), intc ops exactly with VDEV_F_INTC, access_sizes a
 * non-empty subset of 1/2/4/8, a default space of MMIO or PIO, and a valid
 * option schema (names [a-z0-9-]+, unique, not a common option; known types
 * and flags; ENUM with choices; NOARG only on BOOL; RANGE only on numbers
 * with min <= max; REQUIRED without a default; every default parses for its
 * type and passes its range/choices). `file` names the plugin in messages.
 * Returns 0, -EPROTONOSUPPORT for another ABI major, -EINVAL otherwise.
 */
int vdev_descriptor_check(const struct vdev_descriptor *desc, const char *file,
			  const char *expected_name, char *err, size_t errlen);

/*
 * vdev_plugin_open: dlopen(RTLD_NOW|RTLD_LOCAL) `path`, find VDEV_ENTRY_SYMBOL,
 * call it and check the descriptor (vdev_descriptor_check with expected_name).
 * Returns 0 and a new plugin in *plugin (vdev_plugin_close it); -ENOEXEC when
 * the file does not load, has no entry symbol or returns NULL or a different
 * descriptor on a second call; -EPROTONOSUPPORT / -EINVAL as for
 * vdev_descriptor_check; -ENOMEM. The file is closed again on failure.
 */
int vdev_plugin_open(const char *path, const char *expected_name, struct vdev_plugin **plugin,
		     char *err, size_t errlen);
/* vdev_plugin_close: dlclose and free. Every instance must be gone. NULL is a no-op. */
void vdev_plugin_close(struct vdev_plugin *plugin);

/* ------------------------------------------------------------ plugin sets */

/* The plugins one host has loaded, each file once. */
struct vdev_plugin_set;

/* vdev_plugin_set_new: an empty set; NULL on ENOMEM. */
struct vdev_plugin_set *vdev_plugin_set_new(void);
/* vdev_plugin_set_free: closes every plugin (after all instances are gone). */
void vdev_plugin_set_free(struct vdev_plugin_set *set);

/*
 * vdev_plugin_set_load: resolve `type` (vdev_plugin_resolve) and open it,
 * or return the plugin already loaded from the same file (same device and
 * inode, whatever path named it). *plugin stays valid until the set is
 * freed. Returns 0 or the errors of vdev_plugin_resolve / vdev_plugin_open.
 */
int vdev_plugin_set_load(struct vdev_plugin_set *set, const char *type, const char *const *dirs,
			 unsigned dir_count, struct vdev_plugin **plugin, char *err, size_t errlen);
/*
 * vdev_plugin_set_add: a descriptor linked into the program (no file), checked
 * like a loaded one with no expected name; adding the same descriptor again
 * returns the same plugin. Returns 0, -EPROTONOSUPPORT, -EINVAL or -ENOMEM.
 */
int vdev_plugin_set_add(struct vdev_plugin_set *set, const struct vdev_descriptor *desc,
			struct vdev_plugin **plugin, char *err, size_t errlen);
/* vdev_plugin_set_find: the plugin whose descriptor is desc, or NULL. */
struct vdev_plugin *vdev_plugin_set_find(struct vdev_plugin_set *set,
					 const struct vdev_descriptor *desc);

#endif /* VDEV_HOST_PLUGIN_H */
