/*
 * libFuzzer target for the request path a guest drives on Xen and sim:
 * any bytes as ioreq_t slots of two vCPUs and as the buffered ring (its
 * pointers included, which a hostile or buggy hypervisor side controls),
 * through the ioreq engine, dm_request_execute (rep counts, DF, data_is_ptr
 * copies), the dispatcher (iomap: straddling, sizes, policy) and guest
 * memory (bounds). Nothing may crash, hang, read or write outside the
 * simulated RAM, or leave a READY slot unanswered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/guest_mem.h"
#include "devmodel/ioreq_engine.h"
#include "devmodel/iomap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NR_VCPUS 2

static uint8_t regs[0x100]; /* the fake device's register file */

static int dev_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset, unsigned size,
		      bool is_write, uint64_t *value, int32_t vcpu)
{
	if (offset + size > sizeof(regs))
		__builtin_trap(); /* the dispatcher gave an offset outside the region */
	if (is_write)
		memcpy(regs + offset, value, size);
	else
		memcpy(value, regs + offset, size);
	return id == 1 && offset == 0x10 ? -5 : 0; /* one register reports a bus error */
}

static const struct iomap_owner dev = {
    .name = "fuzzdev", .access = dev_access, .access_sizes = VDEV_ACCESS_SIZES_ALL};
static const struct iomap_owner narrow = {
    .name = "narrow", .access = dev_access, .access_sizes = VDEV_ACCESS_SIZE(1)};

struct world {
	struct iomap *map;
	struct guest_mem *mem;
	unsigned notified;
};

static int io_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size, bool is_write,
		     uint64_t *value, int32_t vcpu)
{
	struct world *w = ctx;

	return iomap_access(w->map, space, addr, size, is_write, value, vcpu);
}

static int io_mem_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	struct world *w = ctx;

	return guest_mem_read(w->mem, gpa, buf, length);
}

static int io_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	struct world *w = ctx;

	return guest_mem_write(w->mem, gpa, buf, length);
}

static int ev_notify(void *ctx, uint32_t vcpu)
{
	struct world *w = ctx;

	w->notified++;
	return 0;
}

static int ev_pending(void *ctx, uint32_t *source)
{
	return 0;
}

static const struct ioreq_engine_ops ops = {.pending = ev_pending, .notify = ev_notify};

static struct world *world(void)
{
	static struct world w;
	struct guest_mem_range conflict;

	if (w.map)
		return &w;
	w.map = iomap_new();
	w.mem = guest_mem_new();
	if (!w.map || !w.mem)
		abort();
	/* RAM at 0 (64 KiB) and at 4 GiB - 4 KiB, a ROM, a device straddle pair */
	guest_mem_add(w.mem, GUEST_MEM_RAM, 0, 0x10000, NULL, &conflict);
	guest_mem_add(w.mem, GUEST_MEM_RAM, 0xfffff000, 0x1000, NULL, &conflict);
	guest_mem_add(w.mem, GUEST_MEM_ROM, 0x20000, 0x1000, NULL, &conflict);
	iomap_add(w.map, VDEV_SPACE_MMIO, 0xfee00000, 0x100, &dev, 0, NULL);
	iomap_add(w.map, VDEV_SPACE_MMIO, 0xfee00100, 0x100, &narrow, 1, NULL);
	iomap_add(w.map, VDEV_SPACE_PIO, 0x3f8, 8, &dev, 2, NULL);
	iomap_add(w.map, VDEV_SPACE_PCICFG, 0, 0x100, &dev, 3, NULL);
	iomap_set_policy(w.map, CONF_UNSUP_FAIL, NULL, NULL);
	return &w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static shared_iopage_t shared __attribute__((aligned(4096)));
	static buffered_iopage_t buffered __attribute__((aligned(4096)));
	struct world *w = world();
	struct dm_io io = {
	    .access = io_access, .mem_read = io_mem_read, .mem_write = io_mem_write, .ctx = w};
	struct ioreq_engine_config cfg = {.shared = &shared,
					  .nr_vcpus = NR_VCPUS,
					  .buffered = &buffered,
					  .io = &io,
					  .ops = &ops,
					  .ctx = w};
	struct ioreq_engine *engine;
	size_t at = 0;

	memset(&shared, 0, sizeof(shared));
	memset(&buffered, 0, sizeof(buffered));
	if (ioreq_engine_create(&cfg, &engine) < 0)
		abort();
	while (at + 1 + sizeof(ioreq_t) <= size) {
		uint8_t what = data[at++];

		if (what & 1) {
			/* a synchronous request on vCPU (what >> 1) & 1 */
			uint32_t vcpu = (what >> 1) & 1;
			ioreq_t *slot = &shared.vcpu_ioreq[vcpu];

			memcpy(slot, data + at, sizeof(*slot));
			slot->state = STATE_IOREQ_READY;
			w->notified = 0;
			if (ioreq_engine_service_vcpu(engine, vcpu) != 1 || !w->notified ||
			    slot->state != STATE_IORESP_READY)
				__builtin_trap(); /* a READY request must be answered */
		} else {
			/* buffered entries, and the ring's pointers as the other side set them */
			size_t n = sizeof(ioreq_t) / sizeof(buf_ioreq_t);

			memcpy(&buffered.buf_ioreq[(what >> 1) % (IOREQ_BUFFER_SLOT_NUM - n)],
			       data + at, sizeof(ioreq_t));
			buffered.read_pointer = data[at] | (uint32_t)data[at + 1] << 8;
			buffered.write_pointer = buffered.read_pointer + (data[at + 2] % 64);
			ioreq_engine_drain_buffered(engine);
		}
		at += sizeof(ioreq_t);
	}
	ioreq_engine_destroy(engine);
	return 0;
}
