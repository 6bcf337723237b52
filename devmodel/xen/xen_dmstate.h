/*
 * devmodel/xen/xen_dmstate.h: the xenstore key libxl waits on for its
 * device model (reference/xen-hvm-dm.md 1.3): "running" in
 * /local/domain/0/device-model/<domid>/state, written once the ioreq
 * server serves the guest, removed at teardown. libxl accepts exactly
 * "running" and gives up after 60 s.
 */
#ifndef VDM_XEN_DMSTATE_H
#define VDM_XEN_DMSTATE_H

#include <stddef.h>

struct xs_handle;

/* The key's path for `domid` into buf. 0, or -ENAMETOOLONG. */
int xen_dmstate_path(unsigned domid, char *buf, size_t len);
/* Write `state` ("running"). 0 or a negative errno. */
int xen_dmstate_write(struct xs_handle *xs, unsigned domid, const char *state);
/* Remove the key (gone already is fine). 0 or a negative errno. */
int xen_dmstate_remove(struct xs_handle *xs, unsigned domid);

#endif /* VDM_XEN_DMSTATE_H */
