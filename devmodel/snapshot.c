/*
 * devmodel/snapshot.c: save and restore every vdev through its own codec
 * (snapshot.h has the format and the rules).
 */
#include "devmodel/snapshot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devmodel/plugin_host.h"
#include "devmodel/vm.h"

#define SNAP_MAGIC   "VDMSAVE1"
#define SNAP_VERSION 1u
/* A save op gets at least this much room (the descriptor's state_size may be 0). */
#define SNAP_MIN_STATE 4096u

static int snap_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int snap_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int snap_write(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void snap_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void snap_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t snap_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool snap_saves(struct vdev_host_ctx *inst)
{
	return plugin_host_descriptor(inst)->ops->save &&
	       plugin_host_descriptor(inst)->ops->restore;
}

int snapshot_save(struct vm *vm, int fd, char *err, size_t errlen)
{
	uint8_t head[16];
	unsigned count = 0;
	int rc = 0;

	for (unsigned i = 0; i < vm_vdev_count(vm); i++)
		count += snap_saves(vm_vdev_at(vm, i));
	memcpy(head, SNAP_MAGIC, 8);
	snap_put32(head + 8, SNAP_VERSION);
	snap_put32(head + 12, count);
	rc = snap_write(fd, head, sizeof(head));
	for (unsigned i = 0; rc == 0 && i < vm_vdev_count(vm); i++) {
		struct vdev_host_ctx *inst = vm_vdev_at(vm, i);
		const struct vdev_descriptor *d = plugin_host_descriptor(inst);
		const char *name = plugin_host_name(inst);
		size_t cap = d->state_size > SNAP_MIN_STATE ? d->state_size : SNAP_MIN_STATE;
		size_t nl = strlen(name), tl = strlen(d->name);
		uint8_t *buf;
		ssize_t n;

		if (!snap_saves(inst))
			continue;
		if (nl > 0xffff || tl > 0xffff || cap > SNAPSHOT_MAX_SIZE)
			return snap_fail(err, errlen, -EOVERFLOW,
					 "vdev %s: name or state too large", name);
		/* the record's header fields, then the state written in place after them */
		buf = malloc(8 + nl + tl + cap);
		if (!buf)
			return snap_fail(err, errlen, -ENOMEM, "out of memory");
		n = plugin_host_save(inst, buf + 8 + nl + tl, cap);
		if (n < 0) {
			free(buf);
			return snap_fail(err, errlen, (int)n, "vdev %s (%s): save failed: %s", name,
					 d->name, strerror((int)-n));
		}
		snap_put16(buf, (uint16_t)nl);
		memcpy(buf + 2, name, nl);
		snap_put16(buf + 2 + nl, (uint16_t)tl);
		memcpy(buf + 4 + nl, d->name, tl);
		snap_put32(buf + 4 + nl + tl, (uint32_t)n);
		rc = snap_write(fd, buf, 8 + nl + tl + (size_t)n);
		free(buf);
	}
	if (rc < 0)
		return snap_fail(err, errlen, rc, "write: %s", strerror(-rc));
	return 0;
}

/* The whole of fd, up to SNAPSHOT_MAX_SIZE. */
static int snap_read_all(int fd, uint8_t **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	uint8_t *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			uint8_t *grown;

			if (cap >= SNAPSHOT_MAX_SIZE) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = -errno;

			free(buf);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

struct snap_record {
	const uint8_t *name, *type, *state;
	size_t name_len, type_len, state_len;
};

/* One record at *off; false when the blob ends inside it. */
static bool snap_next(const uint8_t *b, size_t len, size_t *off, struct snap_record *r)
{
	size_t o = *off;

	if (len - o < 2)
		return false;
	r->name_len = (size_t)b[o] | (size_t)b[o + 1] << 8;
	r->name = b + o + 2;
	o += 2 + r->name_len;
	if (o > len || len - o < 2)
		return false;
	r->type_len = (size_t)b[o] | (size_t)b[o + 1] << 8;
	r->type = b + o + 2;
	o += 2 + r->type_len;
	if (o > len || len - o < 4)
		return false;
	r->state_len = snap_get32(b + o);
	r->state = b + o + 4;
	o += 4;
	if (r->state_len > len - o)
		return false;
	*off = o + r->state_len;
	return true;
}

static bool snap_is(const uint8_t *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

int snapshot_restore(struct vm *vm, int fd, char *err, size_t errlen)
{
	unsigned vdevs = vm_vdev_count(vm), count, wanted = 0;
	struct vdev_host_ctx **match = NULL;
	struct snap_record *recs = NULL;
	uint8_t *blob = NULL;
	size_t len = 0, off = 16;
	int rc = snap_read_all(fd, &blob, &len);

	if (rc < 0)
		return snap_fail(err, errlen, rc, "cannot read the saved state: %s", strerror(-rc));
	if (len < 16 || memcmp(blob, SNAP_MAGIC, 8) || snap_get32(blob + 8) != SNAP_VERSION) {
		rc = snap_fail(err, errlen, -EINVAL,
			       "not a vdm device state (expected %s version %u, %zu bytes read)",
			       SNAP_MAGIC, SNAP_VERSION, len);
		goto out;
	}
	count = snap_get32(blob + 12);
	if (count > vdevs) {
		rc = snap_fail(err, errlen, -EINVAL, "the state has %u devices, this VM %u", count,
			       vdevs);
		goto out;
	}
	recs = calloc(count ? count : 1, sizeof(*recs));
	match = calloc(count ? count : 1, sizeof(*match));
	if (!recs || !match) {
		rc = snap_fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	/* parse and match everything first: nothing changes for a bad blob */
	for (unsigned i = 0; i < count; i++) {
		if (!snap_next(blob, len, &off, &recs[i])) {
			rc = snap_fail(err, errlen, -EINVAL, "the state is truncated (record %u)",
				       i);
			goto out;
		}
		for (unsigned k = 0; k < vdevs && !match[i]; k++) {
			struct vdev_host_ctx *inst = vm_vdev_at(vm, k);

			if (snap_is(recs[i].name, recs[i].name_len, plugin_host_name(inst)) &&
			    snap_is(recs[i].type, recs[i].type_len,
				    plugin_host_descriptor(inst)->name))
				match[i] = inst;
		}
		if (!match[i]) {
			rc = snap_fail(err, errlen, -ENOENT,
				       "the state has a vdev %.*s (%.*s) this VM does not have",
				       (int)recs[i].name_len, (const char *)recs[i].name,
				       (int)recs[i].type_len, (const char *)recs[i].type);
			goto out;
		}
	}
	for (unsigned k = 0; k < vdevs; k++)
		wanted += snap_saves(vm_vdev_at(vm, k));
	if (wanted != count || off != len) {
		rc = snap_fail(err, errlen, -EINVAL,
			       off != len ? "trailing bytes after the last device"
					  : "the state misses some of this VM's devices");
		goto out;
	}
	for (unsigned i = 0; i < count; i++) {
		rc = plugin_host_restore(match[i], recs[i].state, recs[i].state_len);
		if (rc < 0) {
			rc = snap_fail(err, errlen, rc, "vdev %s: restore refused the state: %s",
				       plugin_host_name(match[i]), strerror(-rc));
			goto out;
		}
	}
	rc = 0;
out:
	free(recs);
	free(match);
	free(blob);
	return rc;
}
