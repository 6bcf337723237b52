/*
 * devmodel/request.c: performs one normalised guest request, item by item.
 *
 * Every backend (xen through the ioreq engine, kvm, sim) ends up here, so
 * these rules hold for all of them. They follow Xen's ioreq semantics
 * (reference/xen-ioreq.md 3.1 and 3.2; QEMU and demu behave the same).
 *
 * Validation, done before any item (a refused request calls nothing and
 * leaves req->data untouched):
 *  1. size must be 1, 2, 4 or 8, else -EINVAL. Port I/O also refuses 8:
 *     x86 has no 8-byte port access and Xen never sends one.
 *  2. space must be MMIO, PIO or PCICFG, else -EINVAL.
 *  3. PCICFG carries one register access: count > 1 is refused (-EINVAL).
 *     QEMU treats it as a fatal error; Xen never generates it.
 *  4. count 0 means zero items: nothing is called and 0 is returned
 *     (req->data is unchanged, also for a read). Xen only sends count 0
 *     for INVALIDATE, which the ioreq engine answers itself.
 *  5. With step = df ? -size : +size, item i touches the device at
 *     addr + i*step (MMIO, PCICFG) or always at addr (PIO: the port does
 *     not move). The bytes touched, [addr, addr + count*size - 1] going up
 *     or [addr - (count-1)*size, addr + size - 1] going down (Xen's
 *     ioreq_mmio_first_byte/last_byte), must not wrap around 2^64, else
 *     -EINVAL.
 *  6. With data_is_ptr, item i's guest RAM is at data + i*step (for PIO
 *     too), and that byte range must not wrap around 2^64 either (-EINVAL).
 *  7. At most DM_REQUEST_MAX_COUNT items (-E2BIG): Xen and KVM split a
 *     string instruction at page boundaries, so a request of more than a
 *     page of items only comes from a hostile or broken hypervisor side
 *     (a sim script, a fuzzer), and 2^32 device calls would hold a vCPU
 *     thread for minutes.
 *
 * Execution, for i = 0 .. count-1:
 *  - write, value (out, MMIO mov store, rep stos): data masked to size is
 *    written to each item's device address. rep stos to MMIO is the only
 *    count > 1 form Xen sends; the rule is the same for the others.
 *  - read, value (in, MMIO mov load): each item's device address is read;
 *    req->data holds the (last) value, zero-extended. Xen sends count 1.
 *  - write, data_is_ptr (rep outs; rep movs RAM->MMIO): item i is loaded
 *    from guest RAM (size bytes, little endian) via io->mem_read, then
 *    written to the device.
 *  - read, data_is_ptr (rep ins; rep movs MMIO->RAM): the device is read,
 *    then the value is stored to guest RAM via io->mem_write. req->data
 *    (the buffer address) is not changed.
 *  - Device values are masked to size both ways: a device callback that
 *    leaves garbage above `size` cannot leak it into the guest.
 *  - One item may straddle a page boundary (Xen sends such an item with
 *    count 1); guest memory is addressed linearly through mem_read and
 *    mem_write, which check the bounds of every byte.
 *
 * Errors: the first negative errno from the device or guest memory stops
 * the request and is returned; the items before it stay done, as with a
 * fault in the middle of a string instruction on hardware. An item whose
 * RAM is (partly) outside guest memory, e.g. straddling the end of RAM,
 * fails with -EFAULT and nothing of it reaches the device for a write;
 * for a read its device access has already happened (its side effect
 * stays, the value is dropped), as QEMU does.
 */
#include "devmodel/request.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* RAM->device reps load guest memory in chunks of this many bytes. */
#define REQUEST_CHUNK 256

static uint64_t request_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* Guest memory is little endian whatever the host is. */
static uint64_t request_load_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = size; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static void request_store_le(uint8_t *p, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/*
 * The lowest address of `count` items of `size` bytes starting at `first`,
 * stepping down or up; false when the byte range wraps around 2^64.
 */
static bool request_range(uint64_t first, unsigned size, uint32_t count, bool down,
			  uint64_t *lowest)
{
	uint64_t span = (uint64_t)count * size; /* <= 2^35: no overflow */

	if (down) {
		uint64_t below = span - size; /* bytes below `first` */
		if (first < below || first > UINT64_MAX - (size - 1))
			return false;
		*lowest = first - below;
	} else {
		if (first > UINT64_MAX - (span - 1))
			return false;
		*lowest = first;
	}
	return true;
}

static int request_validate(const struct dm_request *req)
{
	uint64_t lowest;

	switch (req->size) {
	case 1:
	case 2:
	case 4:
		break;
	case 8:
		if (req->space == VDEV_SPACE_PIO)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	switch (req->space) {
	case VDEV_SPACE_MMIO:
	case VDEV_SPACE_PIO:
		break;
	case VDEV_SPACE_PCICFG:
		if (req->count > 1)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (req->count == 0)
		return 0;
	if (req->count > DM_REQUEST_MAX_COUNT)
		return -E2BIG;
	if (!request_range(req->addr, req->size, req->space == VDEV_SPACE_PIO ? 1 : req->count,
			   req->df, &lowest))
		return -EINVAL;
	if (req->data_is_ptr && !request_range(req->data, req->size, req->count, req->df, &lowest))
		return -EINVAL;
	return 0;
}

/* The device address of item i: ports stay, memory and config space move. */
static uint64_t request_dev_addr(const struct dm_request *req, uint64_t offset)
{
	if (req->space == VDEV_SPACE_PIO)
		return req->addr;
	return req->df ? req->addr - offset : req->addr + offset;
}

static int request_values(const struct dm_io *io, struct dm_request *req, uint64_t mask)
{
	uint64_t offset = 0;

	for (uint32_t i = 0; i < req->count; i++, offset += req->size) {
		uint64_t dev = request_dev_addr(req, offset);
		uint64_t value = req->data & mask;
		int rc;

		if (req->dir == DM_WRITE) {
			rc = io->access(io->ctx, req->space, dev, req->size, true, &value,
					req->vcpu);
		} else {
			value = 0;
			rc = io->access(io->ctx, req->space, dev, req->size, false, &value,
					req->vcpu);
			if (rc == 0)
				req->data = value & mask;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* rep ins / rep movs MMIO->RAM: device first, then guest RAM, item by item. */
static int request_to_ram(const struct dm_io *io, const struct dm_request *req, uint64_t mask)
{
	uint64_t offset = 0;
	uint8_t bytes[8];

	for (uint32_t i = 0; i < req->count; i++, offset += req->size) {
		uint64_t ram = req->df ? req->data - offset : req->data + offset;
		uint64_t value = 0;
		int rc;

		rc = io->access(io->ctx, req->space, request_dev_addr(req, offset), req->size,
				false, &value, req->vcpu);
		if (rc < 0)
			return rc;
		request_store_le(bytes, value & mask, req->size);
		rc = io->mem_write(io->ctx, ram, bytes, req->size);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * rep outs / rep movs RAM->MMIO. Guest RAM is loaded a chunk at a time
 * (reading has no side effect); if a chunk is not wholly in RAM, its items
 * are loaded one by one so the request stops exactly at the first item
 * that is not.
 */
static int request_from_ram(const struct dm_io *io, const struct dm_request *req)
{
	uint8_t chunk[REQUEST_CHUNK];
	const uint32_t per_chunk = REQUEST_CHUNK / req->size;
	uint32_t i = 0;

	while (i < req->count) {
		uint32_t n = req->count - i < per_chunk ? req->count - i : per_chunk;
		uint64_t offset = (uint64_t)i * req->size;
		uint64_t span = (uint64_t)n * req->size;
		/* lowest RAM byte of items i .. i+n-1 */
		uint64_t low =
		    req->df ? req->data - offset - (span - req->size) : req->data + offset;
		bool whole = io->mem_read(io->ctx, low, chunk, span) == 0;

		for (uint32_t k = 0; k < n; k++) {
			uint64_t item = (uint64_t)k * req->size;
			size_t at = req->df ? (size_t)(span - req->size - item) : (size_t)item;
			uint64_t value;
			int rc;

			if (!whole) {
				rc = io->mem_read(io->ctx, low + at, chunk + at, req->size);
				if (rc < 0)
					return rc;
			}
			value = request_load_le(chunk + at, req->size);
			rc = io->access(io->ctx, req->space, request_dev_addr(req, offset + item),
					req->size, true, &value, req->vcpu);
			if (rc < 0)
				return rc;
		}
		i += n;
	}
	return 0;
}

int dm_request_execute(const struct dm_io *io, struct dm_request *req)
{
	uint64_t mask;
	int rc;

	rc = request_validate(req);
	if (rc < 0 || req->count == 0)
		return rc;
	mask = request_mask(req->size);
	if (!req->data_is_ptr)
		return request_values(io, req, mask);
	if (req->dir == DM_READ)
		return request_to_ram(io, req, mask);
	return request_from_ram(io, req);
}
