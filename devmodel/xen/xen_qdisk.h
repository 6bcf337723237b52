/*
 * devmodel/xen/xen_qdisk.h: the PV disk backends libxl leaves to the
 * device model, declined.
 *
 * For a disk= entry with backendtype=qdisk libxl writes a backend under
 * /local/domain/0/backend/qdisk/<domid>/<devid> and waits for nobody
 * (libxl_device.c libxl__wait_device_connection: QEMU_BACKEND devices go
 * straight to the hotplug step, "If Qemu is running, it will set the state
 * of the device"): the device model of the guest owns it, as QEMU's xen-bus
 * owns backend/qdisk/<its domid>. vdm serves that disk as virtio-blk
 * (libxl also passes it as -drive) and has no blkback, so it takes each such
 * backend to XenbusStateClosed: a PV frontend (only a guest given the Xen
 * platform device runs one) sees the backend gone and closes, instead of
 * waiting for a backend that never comes; libxl's removal finds the state
 * Closed already (libxl__initiate_device_generic_remove leaves it so).
 * docs/xen.md "Disks, twice" has the whole story, and why a plain disk=
 * (phy, backend/vbd) cannot be served this way.
 */
#ifndef VDM_XEN_QDISK_H
#define VDM_XEN_QDISK_H

#include <stddef.h>

struct xs_handle;

/* Told once per backend closed: its devid and libxl's `dev` name ("hda"; "" if none). */
typedef void (*xen_qdisk_note_fn)(void *ctx, const char *devid, const char *dev);

/*
 * xen_qdisk_decline: write XenbusStateClosed (6) to the `state` of every
 * backend/qdisk/<domid>/<devid> that is not Closed yet. Returns how many
 * were closed (0: none exists), or a negative errno when one could not be
 * written.
 */
int xen_qdisk_decline(struct xs_handle *xs, unsigned domid, xen_qdisk_note_fn note, void *ctx);

#endif /* VDM_XEN_QDISK_H */
