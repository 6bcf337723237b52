/*
 * devmodel/xen/xen_dmstate.c: libxl's device-model state key (see the
 * header). The path is dom0's absolute one: QEMU writes the relative
 * "device-model/<domid>/state", which xenstored resolves to the same key
 * for a device model running in dom0, the only place libxl spawns one.
 */
#include "devmodel/xen/xen_dmstate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <xenstore.h>

int xen_dmstate_path(unsigned domid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/local/domain/0/device-model/%u/state", domid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xen_dmstate_write(struct xs_handle *xs, unsigned domid, const char *state)
{
	char path[80];

	if (!xs)
		return -ENOTCONN;
	if (xen_dmstate_path(domid, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (!xs_write(xs, XBT_NULL, path, state, (unsigned)strlen(state)))
		return errno ? -errno : -EIO;
	return 0;
}

int xen_dmstate_remove(struct xs_handle *xs, unsigned domid)
{
	char path[80];

	if (!xs)
		return -ENOTCONN;
	if (xen_dmstate_path(domid, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (!xs_rm(xs, XBT_NULL, path) && errno != ENOENT)
		return errno ? -errno : -EIO;
	return 0;
}
