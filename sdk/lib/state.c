/*
 * sdk/lib/state.c: the save/restore codec of vdev/state.h.
 *
 * Compiled into each plugin (hidden visibility), so it calls nothing of the
 * host and keeps no global state. The wire format is described in the
 * header; every multi-byte value is assembled byte by byte so that the
 * bytes do not depend on the host's endianness or on alignment of buf.
 */
#include <errno.h>
#include <string.h>

#include <vdev/state.h>

#define STATE_MAGIC_LEN 4

uint32_t vdev_state_crc32(uint32_t crc, const void *buf, size_t length)
{
	const uint8_t *p = buf;

	/* Bitwise rather than table-driven: state blobs are small, and a
	 * table would be one more thing to get wrong in every plugin. */
	crc = ~crc;
	while (length--) {
		crc ^= *p++;
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
	}
	return ~crc;
}

static void state_fail(struct vdev_state *st, int error)
{
	if (!st->error)
		st->error = error;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Appends n raw bytes; -ENOSPC (sticky) when they do not fit. */
static void state_write(struct vdev_state *st, const void *p, size_t n)
{
	if (st->error || n == 0)
		return;
	if (n > st->cap - st->pos) {
		state_fail(st, -ENOSPC);
		return;
	}
	memcpy(st->wbuf + st->pos, p, n);
	st->pos += n;
}

static void state_write_le(struct vdev_state *st, uint64_t v, unsigned n)
{
	uint8_t b[8];

	put_le(b, v, n);
	state_write(st, b, n);
}

/* Returns a pointer to the next n input bytes, or NULL (-EINVAL, sticky). */
static const uint8_t *state_read(struct vdev_state *st, size_t n)
{
	const uint8_t *p;

	if (st->error)
		return NULL;
	if (n > st->cap - st->pos) {
		state_fail(st, -EINVAL);
		return NULL;
	}
	p = st->rbuf + st->pos;
	st->pos += n;
	return p;
}

static size_t state_name_len(const char *name)
{
	if (!name)
		return 0;
	return strnlen(name, VDEV_STATE_NAME_MAX + 1);
}

int vdev_state_save_begin(struct vdev_state *st, void *buf, size_t cap, const char *name,
			  uint32_t version)
{
	size_t name_len = state_name_len(name);

	memset(st, 0, sizeof(*st));
	st->wbuf = buf;
	st->cap = buf ? cap : 0;
	if (!buf || name_len == 0 || name_len > VDEV_STATE_NAME_MAX) {
		state_fail(st, -EINVAL);
		return st->error;
	}
	state_write(st, VDEV_STATE_MAGIC, STATE_MAGIC_LEN);
	state_write_le(st, VDEV_STATE_CODEC_VERSION, 2);
	state_write_le(st, name_len, 2);
	state_write(st, name, name_len);
	state_write_le(st, version, 4);
	state_write_le(st, 0, 4); /* payload length, filled in by _end */
	st->crc_pos = st->pos;
	state_write_le(st, 0, 4); /* CRC, filled in by _end */
	st->payload_pos = st->pos;
	return st->error;
}

ssize_t vdev_state_save_end(struct vdev_state *st)
{
	size_t payload;
	uint32_t crc;

	if (st->restoring)
		state_fail(st, -EINVAL);
	if (st->error)
		return st->error;
	payload = st->pos - st->payload_pos;
	if (payload > UINT32_MAX)
		return -ENOSPC;
	put_le(st->wbuf + st->crc_pos - 4, payload, 4);
	crc = vdev_state_crc32(0, st->wbuf, st->crc_pos);
	crc = vdev_state_crc32(crc, st->wbuf + st->payload_pos, payload);
	put_le(st->wbuf + st->crc_pos, crc, 4);
	return (ssize_t)st->pos;
}

int vdev_state_restore_begin(struct vdev_state *st, const void *buf, size_t length,
			     const char *name, uint32_t version)
{
	size_t name_len = state_name_len(name);
	const uint8_t *p;
	uint32_t crc;

	memset(st, 0, sizeof(*st));
	st->restoring = true;
	st->rbuf = buf;
	st->cap = buf ? length : 0;
	if (name_len == 0 || name_len > VDEV_STATE_NAME_MAX) {
		state_fail(st, -EINVAL);
		return st->error;
	}

	p = state_read(st, STATE_MAGIC_LEN);
	if (p && memcmp(p, VDEV_STATE_MAGIC, STATE_MAGIC_LEN) != 0)
		state_fail(st, -EINVAL);
	p = state_read(st, 2);
	if (p && get_le(p, 2) != VDEV_STATE_CODEC_VERSION)
		state_fail(st, -EINVAL);
	p = state_read(st, 2);
	if (p && get_le(p, 2) != name_len)
		state_fail(st, -EINVAL);
	p = state_read(st, name_len);
	if (p && memcmp(p, name, name_len) != 0)
		state_fail(st, -EINVAL);
	p = state_read(st, 4);
	if (p && get_le(p, 4) != version)
		state_fail(st, -EINVAL);
	p = state_read(st, 4);
	/* The payload must be exactly the rest of the buffer: a shorter buffer
	 * is truncated, a longer one carries bytes nobody vouches for. */
	if (p && get_le(p, 4) != st->cap - (st->pos + 4))
		state_fail(st, -EINVAL);
	st->crc_pos = st->pos;
	p = state_read(st, 4);
	st->payload_pos = st->pos;
	if (p) {
		crc = vdev_state_crc32(0, st->rbuf, st->crc_pos);
		crc = vdev_state_crc32(crc, st->rbuf + st->payload_pos, st->cap - st->payload_pos);
		if (crc != get_le(p, 4))
			state_fail(st, -EINVAL);
	}
	return st->error;
}

int vdev_state_restore_end(struct vdev_state *st)
{
	if (!st->restoring)
		state_fail(st, -EINVAL);
	if (!st->error && st->pos != st->cap)
		state_fail(st, -EINVAL); /* fields the description did not read */
	return st->error;
}

/* One integer field of n bytes with tag `tag`, in the current direction. */
static void state_int(struct vdev_state *st, uint8_t tag, uint64_t *v, unsigned n)
{
	const uint8_t *p;

	if (st->error)
		return;
	if (!st->restoring) {
		state_write(st, &tag, 1);
		state_write_le(st, *v, n);
		return;
	}
	p = state_read(st, 1);
	if (p && *p != tag) {
		state_fail(st, -EINVAL);
		return;
	}
	p = state_read(st, n);
	if (p)
		*v = get_le(p, n);
}

void vdev_state_u8(struct vdev_state *st, uint8_t *v)
{
	uint64_t x = *v;

	state_int(st, VDEV_STATE_TAG_U8, &x, 1);
	if (!st->error)
		*v = (uint8_t)x;
}

void vdev_state_u16(struct vdev_state *st, uint16_t *v)
{
	uint64_t x = *v;

	state_int(st, VDEV_STATE_TAG_U16, &x, 2);
	if (!st->error)
		*v = (uint16_t)x;
}

void vdev_state_u32(struct vdev_state *st, uint32_t *v)
{
	uint64_t x = *v;

	state_int(st, VDEV_STATE_TAG_U32, &x, 4);
	if (!st->error)
		*v = (uint32_t)x;
}

void vdev_state_u64(struct vdev_state *st, uint64_t *v)
{
	uint64_t x = *v;

	state_int(st, VDEV_STATE_TAG_U64, &x, 8);
	if (!st->error)
		*v = x;
}

void vdev_state_bool(struct vdev_state *st, bool *v)
{
	uint64_t x = *v ? 1 : 0;

	state_int(st, VDEV_STATE_TAG_U8, &x, 1);
	if (st->error)
		return;
	if (x > 1) {
		state_fail(st, -EINVAL);
		return;
	}
	*v = x != 0;
}

void vdev_state_bytes(struct vdev_state *st, void *p, size_t length)
{
	const uint8_t *in;
	uint64_t n = length;

	if (length > UINT32_MAX) {
		state_fail(st, -EINVAL);
		return;
	}
	state_int(st, VDEV_STATE_TAG_BYTES, &n, 4);
	if (st->error)
		return;
	if (!st->restoring) {
		state_write(st, p, length);
		return;
	}
	if (n != length) {
		state_fail(st, -EINVAL);
		return;
	}
	in = state_read(st, length);
	if (in && length)
		memcpy(p, in, length);
}

bool vdev_state_restoring(const struct vdev_state *st)
{
	return st->restoring;
}

void vdev_state_invalid(struct vdev_state *st)
{
	state_fail(st, -EINVAL);
}

int vdev_state_error(const struct vdev_state *st)
{
	return st->error;
}
