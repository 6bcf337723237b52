/*
 * devmodel/plugin_host.h: vdev instances inside vdm, and the struct
 * vdev_host services table vdm gives them.
 *
 * An instance (struct vdev_host_ctx, the plugin's opaque vdev_host_t) ties
 * a plugin's state to the VM's parts: its regions in the dispatch, its
 * interrupt lines, its timers and fd watches on the event loop, its log
 * sinks. Unless the descriptor sets VDEV_F_SELF_LOCKED every callback into
 * the plugin (read, write, timers, fd events, controller ops, lifecycle)
 * runs under the instance's own lock. Destroying an instance removes
 * whatever it still holds.
 */
#ifndef VDM_PLUGIN_HOST_H
#define VDM_PLUGIN_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <vdev/vdev.h>

#include "conf/conf.h"

struct vm;
struct vdev_plugin;

/* Per-instance counters (status, tests). */
struct plugin_host_counters {
	uint64_t reads, writes, errors;
};

/* What an instance holds right now (leak checks). */
struct plugin_host_usage {
	unsigned regions, lines, timers, watches, maps;
};

/* The services table every vdm instance receives. */
const struct vdev_host *plugin_host_services(void);

/*
 * plugin_host_create: make one instance of `plugin` with `config` (built
 * by vdev_config_build; must outlive the instance) for the `vdev` context
 * of the config (positions for errors). Calls create() under the
 * instance lock; a plugin interrupt controller (VDEV_F_INTC) is then
 * registered under its instance name. Problems that are the config's (an
 * unknown line, an overlap, an option the device refuses) are reported to
 * diag at their position. Returns 0 and *inst; VDM_EXIT_CONFIG when the
 * failure is a configuration problem (create returned -EINVAL, -EEXIST,
 * -ENOENT, -ERANGE, or something was reported); VDM_EXIT_FATAL_START
 * otherwise. The device's name and the reason are reported either way;
 * nothing the instance took is left behind.
 */
int plugin_host_create(struct vm *vm, struct vdev_plugin *plugin, const struct conf_vdev *vdev,
		       const struct vdev_config *config, struct conf_diag *diag,
		       struct vdev_host_ctx **inst);
/* plugin_host_destroy: destroy() and release everything left. Call with
 * the event loop stopped and no access in flight that could reach it. */
void plugin_host_destroy(struct vdev_host_ctx *inst);

/* Lifecycle calls under the instance lock (no-ops if the op is NULL). */
void plugin_host_guest_starting(struct vdev_host_ctx *inst);
void plugin_host_reset(struct vdev_host_ctx *inst);

/*
 * plugin_host_save / plugin_host_restore: the device's save/restore op
 * under the instance lock (the SDK's codec, vdev/state.h). save returns the
 * length written, restore 0; -ENOTSUP when the plugin has no such op, or
 * the plugin's negative errno.
 */
ssize_t plugin_host_save(struct vdev_host_ctx *inst, void *buf, size_t cap);
int plugin_host_restore(struct vdev_host_ctx *inst, const void *buf, size_t length);
/*
 * plugin_host_endpoint: the device's host_endpoint op (ABI 1.2) under the
 * instance lock: "pty:/dev/pts/3" and the like, NUL-terminated in buf.
 * Returns its length; -ENOENT when the plugin has no op or no host side.
 */
int plugin_host_endpoint(struct vdev_host_ctx *inst, char *buf, size_t cap);

const char *plugin_host_name(const struct vdev_host_ctx *inst);
const struct vdev_descriptor *plugin_host_descriptor(const struct vdev_host_ctx *inst);
struct vdev_plugin *plugin_host_plugin(const struct vdev_host_ctx *inst);
struct vm *plugin_host_vm(const struct vdev_host_ctx *inst);
/* The instance's `vdev` context; NULL for one made without a config. */
const struct conf_vdev *plugin_host_conf(const struct vdev_host_ctx *inst);
void *plugin_host_state(const struct vdev_host_ctx *inst);
void plugin_host_counters(const struct vdev_host_ctx *inst, struct plugin_host_counters *c);
void plugin_host_usage(const struct vdev_host_ctx *inst, struct plugin_host_usage *u);
/* The index-th line this instance looked up ("ctrl:N"), NULL past the end. */
const char *plugin_host_line_at(const struct vdev_host_ctx *inst, unsigned index);
/* One status line: counters and the device's own status. */
void plugin_host_status(struct vdev_host_ctx *inst, FILE *out);
/* plugin_host_log_summary: how many of its guest-time messages the rate
 * limit held back (if any), as one log line. */
void plugin_host_log_summary(struct vdev_host_ctx *inst);

#endif /* VDM_PLUGIN_HOST_H */
