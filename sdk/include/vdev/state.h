/*
 * vdev/state.h: the SDK's save/restore codec, compiled into plugins.
 *
 * One description of a device's state serves both directions (bhyve's
 * habit: save and restore cannot drift apart). A device writes one function
 * that names every field once:
 *
 *	static void mydev_state(struct vdev_state *st, struct mydev_regs *r)
 *	{
 *		vdev_state_u32(st, &r->ctrl);
 *		vdev_state_u64(st, &r->counter);
 *		if (vdev_state_restoring(st) && r->ctrl & ~CTRL_VALID)
 *			vdev_state_invalid(st);
 *	}
 *
 * and calls it from save() between vdev_state_save_begin/_end and from
 * restore() between vdev_state_restore_begin/_end, restoring into a scratch
 * copy that it commits only when _end returns 0. That is what makes
 * "restore rejects bad data without changing anything" hold.
 *
 * The format (all integers little-endian, no padding anywhere):
 *
 *	"VDST"            4 bytes, magic
 *	codec version     u16, VDEV_STATE_CODEC_VERSION
 *	name length       u16, 1..VDEV_STATE_NAME_MAX
 *	device name       that many bytes, no NUL (the descriptor's name)
 *	format version    u32, the device's own state format version
 *	payload length    u32, bytes after the header
 *	CRC-32            u32, IEEE 802.3 (as zlib's crc32) over the header
 *	                  bytes before this field followed by the payload
 *	payload           fields, each a one-byte tag then its value:
 *	                  0x01 u8, 0x02 u16, 0x04 u32, 0x08 u64,
 *	                  0x10 bytes: u32 length, then the bytes
 *
 * The same state always gives the same bytes. A restore accepts only a
 * buffer whose magic, codec version, device name, format version, length,
 * CRC and every field tag and length match what the description expects,
 * with nothing left over; anything else is -EINVAL.
 *
 * Threads: a struct vdev_state is used by one thread at a time; the codec
 * has no global state and calls nothing of the host, so save() and
 * restore() may use it directly.
 */
#ifndef VDEV_STATE_H
#define VDEV_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VDEV_STATE_MAGIC	 "VDST"
#define VDEV_STATE_CODEC_VERSION 1
#define VDEV_STATE_NAME_MAX	 64

/*
 * Sizes in bytes, for a descriptor's state_size (an upper bound of what
 * save() writes): VDEV_STATE_HEADER_SIZE(strlen(name)) plus one
 * VDEV_STATE_SIZE_* per field. For example a device named "ticker" saving
 * three u32 and one u64:
 *	VDEV_STATE_HEADER_SIZE(6) + 3 * VDEV_STATE_SIZE_U32 + VDEV_STATE_SIZE_U64
 */
#define VDEV_STATE_HEADER_SIZE(name_len) (4 + 2 + 2 + (name_len) + 4 + 4 + 4)
#define VDEV_STATE_SIZE_U8		 (1 + 1)
#define VDEV_STATE_SIZE_U16		 (1 + 2)
#define VDEV_STATE_SIZE_U32		 (1 + 4)
#define VDEV_STATE_SIZE_U64		 (1 + 8)
#define VDEV_STATE_SIZE_BOOL		 VDEV_STATE_SIZE_U8
#define VDEV_STATE_SIZE_BYTES(n)	 (1 + 4 + (n))

/* Field tags on the wire. */
enum vdev_state_tag {
	VDEV_STATE_TAG_U8 = 0x01,
	VDEV_STATE_TAG_U16 = 0x02,
	VDEV_STATE_TAG_U32 = 0x04,
	VDEV_STATE_TAG_U64 = 0x08,
	VDEV_STATE_TAG_BYTES = 0x10,
};

/*
 * One save or restore in progress. Opaque in spirit: fill it only through
 * the functions below. It lives on the caller's stack; nothing to free.
 */
struct vdev_state {
	uint8_t *wbuf;	     /* save: the output buffer */
	const uint8_t *rbuf; /* restore: the input buffer */
	size_t cap;	     /* save: capacity; restore: total length */
	size_t pos;	     /* next byte to write or read */
	size_t crc_pos;	     /* where the CRC field sits */
	size_t payload_pos;  /* first payload byte */
	bool restoring;
	int error; /* first error (negative errno), sticky */
};

/*
 * vdev_state_save_begin: start saving the state of device `name` (the
 * descriptor's name), format `version` (the device's own number; bump it
 * when the field list changes) into buf[0..cap). Writes the header.
 * Returns 0; -EINVAL for a NULL buf or a name that is empty or longer
 * than VDEV_STATE_NAME_MAX; -ENOSPC when cap cannot hold the header. On
 * error the state is poisoned: field calls do nothing and _end returns it.
 */
int vdev_state_save_begin(struct vdev_state *st, void *buf, size_t cap, const char *name,
			  uint32_t version);

/*
 * vdev_state_save_end: finish a save (payload length and CRC into the
 * header). Returns the total length in bytes, or the first error of the
 * save: -ENOSPC when the fields did not fit in cap, -EINVAL otherwise.
 */
ssize_t vdev_state_save_end(struct vdev_state *st);

/*
 * vdev_state_restore_begin: start restoring from buf[0..length), which
 * must have been written by a save of device `name`, format `version`.
 * Checks the whole envelope before any field is read: magic, codec
 * version, name, format version, payload length (exactly the rest of the
 * buffer) and CRC. Returns 0, or -EINVAL for anything empty, truncated,
 * foreign or corrupt (and poisons the state, as above).
 */
int vdev_state_restore_begin(struct vdev_state *st, const void *buf, size_t length,
			     const char *name, uint32_t version);

/*
 * vdev_state_restore_end: finish a restore. Returns 0 when every field was
 * read with the expected tag and length, no field was marked invalid and
 * no byte is left over; -EINVAL otherwise. Commit the scratch copy only on 0.
 */
int vdev_state_restore_end(struct vdev_state *st);

/*
 * Fields, in both directions. Saving, each appends *v; restoring, each reads
 * the next field into *v if its tag (and, for bytes, its length) matches,
 * else poisons the state with -EINVAL and leaves *v unchanged. After an
 * error every field call does nothing.
 */
void vdev_state_u8(struct vdev_state *st, uint8_t *v);
void vdev_state_u16(struct vdev_state *st, uint16_t *v);
void vdev_state_u32(struct vdev_state *st, uint32_t *v);
void vdev_state_u64(struct vdev_state *st, uint64_t *v);
/* A bool travels as a u8 0 or 1; a restore of any other value is -EINVAL. */
void vdev_state_bool(struct vdev_state *st, bool *v);
/* `length` bytes at p, exactly that many on restore (a fixed-size array). */
void vdev_state_bytes(struct vdev_state *st, void *p, size_t length);

/* True while restoring: validate restored values in the description. */
bool vdev_state_restoring(const struct vdev_state *st);

/*
 * vdev_state_invalid: a restored value breaks the device's invariants
 * (a period of 0, a reserved bit set): make the restore fail with -EINVAL.
 * Calling it while saving makes the save fail with -EINVAL.
 */
void vdev_state_invalid(struct vdev_state *st);

/* The first error so far (0 when none). */
int vdev_state_error(const struct vdev_state *st);

/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of buf, continuing from crc
 * (start with 0). Exposed for tests and tools that inspect saved state. */
uint32_t vdev_state_crc32(uint32_t crc, const void *buf, size_t length);

#ifdef __cplusplus
}
#endif
#endif /* VDEV_STATE_H */
