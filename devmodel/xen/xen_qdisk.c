/*
 * devmodel/xen/xen_qdisk.c: libxl's qdisk backends for vdm's guest taken
 * to Closed (see the header for why this is the device model's to do).
 */
#include "devmodel/xen/xen_qdisk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

/* include/xen/io/xenbus.h: XenbusStateClosed */
#define XEN_QDISK_CLOSED "6"

int xen_qdisk_decline(struct xs_handle *xs, unsigned domid, xen_qdisk_note_fn note, void *ctx)
{
	char dir[64], path[128];
	unsigned n = 0;
	char **ids;
	int closed = 0, rc = 0;

	if (!xs)
		return -ENOTCONN;
	snprintf(dir, sizeof(dir), "/local/domain/0/backend/qdisk/%u", domid);
	ids = xs_directory(xs, XBT_NULL, dir, &n);
	if (!ids)
		return errno == ENOENT || errno == 0 ? 0 : -errno;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		unsigned len = 0;
		char *state, *dev;

		snprintf(path, sizeof(path), "%s/%s/state", dir, ids[i]);
		state = xs_read(xs, XBT_NULL, path, &len);
		/* no state: libxl is still writing the device, or removing it */
		if (!state || !strcmp(state, XEN_QDISK_CLOSED)) {
			free(state);
			continue;
		}
		free(state);
		if (!xs_write(xs, XBT_NULL, path, XEN_QDISK_CLOSED, 1)) {
			rc = errno ? -errno : -EIO;
			break;
		}
		closed++;
		snprintf(path, sizeof(path), "%s/%s/dev", dir, ids[i]);
		dev = xs_read(xs, XBT_NULL, path, &len);
		if (note)
			note(ctx, ids[i], dev ? dev : "");
		free(dev);
	}
	free(ids);
	return rc < 0 ? rc : closed;
}
