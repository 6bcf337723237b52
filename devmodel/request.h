/*
 * devmodel/request.h: the normalised guest access every backend produces.
 *
 * Backends (xen through the ioreq engine, kvm from its exits, sim from its
 * scripts) turn a guest access into one struct dm_request and hand it to
 * dm_request_execute, which performs it item by item through a struct
 * dm_io (the core's dispatch plus guest memory). This is the single path
 * every access takes, so rep/string semantics and bounds checks live here
 * and only here.
 */
#ifndef VDM_REQUEST_H
#define VDM_REQUEST_H

/* The most items one request may have (request.c, rule 7): 16 pages of
 * single bytes, more than Xen or KVM ever put in one. */
#define DM_REQUEST_MAX_COUNT 65536u

#include <stdbool.h>
#include <stdint.h>

#include <vdev/vdev.h>

enum dm_dir {
	DM_WRITE = 0, /* same values as Xen's IOREQ_WRITE/IOREQ_READ */
	DM_READ = 1,
};

struct dm_request {
	enum vdev_space space;
	uint64_t addr;	/* first item's address (port, gpa, or VDEV_PCICFG_ADDR) */
	uint8_t size;	/* item size: 1, 2, 4 or 8 */
	uint32_t count; /* number of items; 0 does nothing (see request.c) */
	enum dm_dir dir;
	bool data_is_ptr; /* data is a guest-physical address (rep/string forms) */
	bool df;	  /* direction flag: addresses go down */
	uint64_t data;	  /* value (zero-extended) or guest buffer address */
	int32_t vcpu;
};

/*
 * What executes one item: the core's dispatch, and guest memory with bounds
 * checks. access: one read or write of `size` bytes at `addr` in `space`;
 * returns 0 (reads fill *value, zero-extended) or a negative errno that
 * dm_request_execute passes back. mem_read/mem_write: copy to/from guest
 * RAM; -EFAULT when any byte is outside guest memory.
 */
struct dm_io {
	int (*access)(void *ctx, enum vdev_space space, uint64_t addr, unsigned size, bool is_write,
		      uint64_t *value, int32_t vcpu);
	int (*mem_read)(void *ctx, uint64_t gpa, void *buf, size_t length);
	int (*mem_write)(void *ctx, uint64_t gpa, const void *buf, size_t length);
	void *ctx;
};

/*
 * dm_request_execute: perform `req`. For a read without data_is_ptr the
 * result is left in req->data, zero-extended; a write's data is masked to
 * `size` before use. Returns 0, or the first negative errno (items before it
 * have been done, as on hardware). The exact rules (address arithmetic for
 * df, COPY between guest memory and MMIO, straddling pages and the end of
 * RAM) are in request.c's top comment.
 */
int dm_request_execute(const struct dm_io *io, struct dm_request *req);

#endif /* VDM_REQUEST_H */
