/*
 * devmodel/isolate.h: `vdev NAME isolate`, a plugin run in a process of
 * its own.
 *
 * The instance vdm keeps (plugin_host.c) gets a proxy descriptor: the
 * plugin's own, with every op replaced by a request over a socket to a
 * child process that holds the real plugin. The child's host services are
 * requests back to vdm, served with vdm's own checks. A child that dies or
 * does not answer in time marks the device failed: reported by name once,
 * then the vdev's policy applies (reads all-ones and writes dropped, or
 * the VM ends with VDM_EXIT_VDEV_ERROR). isolate.c's top comment lists
 * the services an isolated plugin has.
 */
#ifndef VDM_ISOLATE_H
#define VDM_ISOLATE_H

#include <vdev/vdev.h>

/* A proxy descriptor and ops table, allocated per instance. */
struct isolate_descriptor {
	struct vdev_descriptor desc;
	struct vdev_ops ops;
};

/*
 * isolate_descriptor_make: the proxy for `real`: the same name, version,
 * options, sizes and flags (less VDEV_F_SELF_LOCKED: the proxy's one socket
 * is used under the instance lock), each op present when `real` has it.
 * Returns NULL (errno ENOMEM). Free it with free() after the instance.
 */
struct isolate_descriptor *isolate_descriptor_make(const struct vdev_descriptor *real);

#endif /* VDM_ISOLATE_H */
