/*
 * devmodel/snapshot.h: every vdev's state as one blob (xl save / xl
 * restore: QMP xen-save-devices-state writes it, `-incoming fd:N` reads it).
 *
 * The blob is vdm's own; libxl carries it opaquely in its save stream.
 * Format (little-endian): "VDMSAVE1", u32 version (1), u32 record count,
 * then per instance that has a save op: u16 name length, name, u16 plugin
 * name length, plugin name, u32 state length, the state its save op wrote.
 * Restore matches records to instances by name and plugin, and refuses a
 * blob that misses an instance or names one this VM does not have, before
 * restoring anything from a blob that does not parse.
 *
 * Threads: call with the guest not running (paused vCPUs, or before vm_run):
 * the event loop may run (timers take the instance locks like save does).
 */
#ifndef VDM_SNAPSHOT_H
#define VDM_SNAPSHOT_H

#include <stddef.h>

struct vm;

/* The largest blob restore reads. */
#define SNAPSHOT_MAX_SIZE (16u << 20)

/* Write every instance's state to fd. 0, or a negative errno with err set. */
int snapshot_save(struct vm *vm, int fd, char *err, size_t errlen);
/* Read a blob from fd (to its end) and restore every instance. 0 or -errno, err set. */
int snapshot_restore(struct vm *vm, int fd, char *err, size_t errlen);

#endif /* VDM_SNAPSHOT_H */
