/*
 * sdk/host/arity.h: does a device option take an argument? The question the
 * configuration parser asks while it reads a `vdev` context
 * (conf_env.option_arity, conf/README.md "Device options and their
 * arguments"), answered from the plugin's option schema: a BOOL option with
 * VDEV_OPTF_NOARG takes none, every other schema option takes one.
 *
 * Two ways to answer: from a descriptor the host already has (the SDK test
 * host, vdev-conform), or by loading the plugin a `vdev TYPE` names from the
 * plugin search directories (vdm, before the configuration is parsed).
 * Not thread-safe: the parser calls it on its own thread.
 */
#ifndef VDEV_HOST_ARITY_H
#define VDEV_HOST_ARITY_H

#include <vdev/vdev.h>

/*
 * vdev_option_arity: 0 when `option` is a NOARG BOOL of desc's schema, 1
 * when it is another option of the schema, -1 when desc or option is NULL
 * or the schema has no such option (the common options loc, intr, name,
 * log are the host's, not the schema's: -1 too).
 */
int vdev_option_arity(const struct vdev_descriptor *desc, const char *option);

/*
 * vdev_option_arity_callback: a conf_env.option_arity for one known
 * descriptor: ctx is a const struct vdev_descriptor *. Answers as
 * vdev_option_arity when vdev_type is the descriptor's name (or
 * vdev-NAME), -1 for any other type.
 */
int vdev_option_arity_callback(void *ctx, const char *vdev_type, const char *option);

/*
 * A resolver: answers for any vdev type by loading its plugin once
 * (vdev_plugin_set_load with the same directories, in the same order, as
 * the VM assembly will use) and remembering the outcome per type, failures
 * included. It never prints: a type that does not load answers -1, and the
 * loading step reports it properly later.
 */
struct vdev_arity_resolver;

/*
 * vdev_arity_resolver_new: a resolver searching dirs[0..dir_count) (the
 * array and its strings are not copied: they must outlive the resolver).
 * Returns NULL on ENOMEM (the caller then parses without the callback).
 */
struct vdev_arity_resolver *vdev_arity_resolver_new(const char *const *dirs, unsigned dir_count);

/*
 * vdev_arity_resolver_answer: a conf_env.option_arity; ctx is a struct
 * vdev_arity_resolver * (NULL answers -1). Returns 0 / 1 as
 * vdev_option_arity for the plugin `vdev_type` names, -1 when it does not
 * load or has no such option.
 */
int vdev_arity_resolver_answer(void *ctx, const char *vdev_type, const char *option);

/* vdev_arity_resolver_free: unloads what it loaded. NULL is a no-op. The
 * descriptors it answered from are gone afterwards. */
void vdev_arity_resolver_free(struct vdev_arity_resolver *resolver);

#endif /* VDEV_HOST_ARITY_H */
