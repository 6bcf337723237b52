/*
 * samples/guests/blkbench.c: virtio-blk throughput from inside a guest,
 * over virtio-mmio (rt/virtio.h): 4 KiB random reads, 4 KiB random
 * writes, 64 KiB sequential reads and writes, each for a fixed time of
 * the 8254's clock (`ms=N` on the command line, default 400), with
 * QD requests in flight (`qd=N`, 1..4, default 4), VIRTIO_BLK_F_FLUSH
 * negotiated (a write cache, as Linux runs it), interrupts suppressed
 * (VIRTQ_AVAIL_F_NO_INTERRUPT) and the used ring polled, so that what is
 * measured is the device model's request path, not the guest's interrupt
 * handling. It prints one line a workload:
 *	bench randread-4k ops N bytes B us T
 * and PASS lines when every request completed with status OK.
 *
 * Run by tests/bench/blk.sh on vdm (vdev-virtio-blk) and on QEMU microvm
 * (virtio-blk-device) against the same image.
 */
#include "rt/pc.h"
#include "rt/rt.h"
#include "rt/virtio.h"

#define QD_MAX 4u
#define SMALL  4096u
#define LARGE  65536u
#define T_IN   0u
#define T_OUT  1u

struct req_header {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct rt_virtq_storage vq;
static struct rt_virtio dev;
static struct req_header headers[QD_MAX];
static volatile uint8_t statuses[QD_MAX];
static uint8_t data[QD_MAX][LARGE] __attribute__((aligned(4096)));
static uint64_t sectors;
static uint32_t rng = 12345;

static unsigned cmdline_uint(const char *key, unsigned def)
{
	char v[16];
	unsigned n = 0;

	if (!rt_cmdline_value(key, v, sizeof(v)))
		return def;
	for (const char *p = v; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (unsigned)(*p - '0');
	return n ? n : def;
}

static uint32_t next_random(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/* Put request `slot` (descriptors 3*slot..) on the ring, without a kick. */
static void submit(unsigned slot, uint32_t type, uint64_t sector, uint32_t len)
{
	uint16_t d = (uint16_t)(3 * slot);

	headers[slot] = (struct req_header){.type = type, .sector = sector};
	statuses[slot] = 0xee;
	vq.desc[d] = (struct rt_virtq_desc){.addr = (uintptr_t)&headers[slot],
					    .len = 16,
					    .flags = VIRTQ_DESC_F_NEXT,
					    .next = d + 1};
	vq.desc[d + 1] = (struct rt_virtq_desc){
	    .addr = (uintptr_t)data[slot],
	    .len = len,
	    .flags = (uint16_t)(VIRTQ_DESC_F_NEXT | (type == T_IN ? VIRTQ_DESC_F_WRITE : 0)),
	    .next = (uint16_t)(d + 2)};
	vq.desc[d + 2] = (struct rt_virtq_desc){
	    .addr = (uintptr_t)&statuses[slot], .len = 1, .flags = VIRTQ_DESC_F_WRITE};
	rt_virtio_post(&vq, d);
}

/* One workload for `ms` of the 8254 clock; false when a request failed. */
static bool workload(const char *name, uint32_t type, uint32_t len, bool random, unsigned qd,
		     unsigned ms)
{
	/* 32-bit arithmetic: the guest has no 64-bit division (images < 2 TiB) */
	uint32_t span = (uint32_t)(sectors > 0xffffffffu ? 0xffffffffu : sectors) - len / 512;
	uint32_t seq = 0, ops = 0;
	uint16_t last_used = rt_virtio_used_idx(&vq);
	uint64_t t0 = clock_ticks(), limit = clock_us_to_ticks(ms * 1000u), elapsed = 0;
	bool ok = true, stopping = false;
	unsigned in_flight = 0;

	for (unsigned s = 0; s < qd; s++, in_flight++) {
		submit(s, type, random ? (next_random() % span) & ~7ull : seq, len);
		seq = (seq + len / 512) % span;
	}
	rt_virtio_kick(&dev, 0);
	while (in_flight) {
		uint16_t used = rt_virtio_used_idx(&vq);

		if (used == last_used)
			continue;
		bool kick = false;

		for (; last_used != used; last_used++) {
			unsigned slot = vq.used.ring[last_used % RT_VIRTQ_SIZE].id / 3;

			ok &= statuses[slot] == 0;
			ops++;
			in_flight--;
			if (stopping)
				continue;
			submit(slot, type, random ? (next_random() % span) & ~7ull : seq, len);
			seq = (seq + len / 512) % span;
			in_flight++;
			kick = true;
		}
		if (kick)
			rt_virtio_kick(&dev, 0);
		/* the clock costs exits of its own: look at it every few completions */
		if (!stopping && (ops % 16) < qd) {
			elapsed = clock_ticks() - t0;
			stopping = elapsed >= limit;
		}
	}
	elapsed = clock_ticks() - t0;
	rt_printf("bench %s ops %u bytes %u us %u\n", name, (unsigned)ops,
		  (unsigned)((uint64_t)ops * len), clock_ticks_to_us(elapsed));
	return ok;
}

void guest_main(void)
{
	unsigned qd = cmdline_uint("qd", QD_MAX), ms = cmdline_uint("ms", 400);

	if (qd > QD_MAX)
		qd = QD_MAX;
	clock_start();
	if (!rt_check("blkbench-probe", rt_virtio_find(&dev, 2)))
		return;
	/* VIRTIO_BLK_F_FLUSH as Linux takes it: a write cache (writeback);
	 * without it every write would be synced before it completes */
	if (!rt_check("blkbench-features-ok",
		      rt_virtio_negotiate(
			  &dev, (1ull << 32) | (rt_virtio_device_features(&dev) & (1ull << 9))) &
			  VIRTIO_S_FEATURES_OK))
		return;
	sectors = (uint64_t)rt_virtio_read(&dev, VIRTIO_MMIO_CONFIG + 4) << 32 |
		  rt_virtio_read(&dev, VIRTIO_MMIO_CONFIG);
	if (!rt_check("blkbench-capacity", sectors >= 4 * LARGE / 512))
		return;
	rt_check("blkbench-queue", rt_virtio_queue_setup(&dev, 0, &vq));
	vq.avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	rt_virtio_write(&dev, VIRTIO_MMIO_STATUS, 0xf);
	rt_printf("capacity %u sectors, qd %u, %u ms a workload\n", (unsigned)sectors, qd, ms);
	rt_check("blkbench-randread-4k", workload("randread-4k", T_IN, SMALL, true, qd, ms));
	rt_check("blkbench-randwrite-4k", workload("randwrite-4k", T_OUT, SMALL, true, qd, ms));
	rt_check("blkbench-seqread-64k", workload("seqread-64k", T_IN, LARGE, false, qd, ms));
	rt_check("blkbench-seqwrite-64k", workload("seqwrite-64k", T_OUT, LARGE, false, qd, ms));
	rt_virtio_write(&dev, VIRTIO_MMIO_STATUS, 0);
}
