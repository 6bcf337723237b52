/*
 * samples/guests/rt/virtio.h: a small virtio-mmio driver for the sample
 * guests (VIRTIO 1.2 sections 3.1, 4.2.3, 2.7): find the device from the
 * Linux-style command line, negotiate, set up split queues, post chains,
 * kick, and take used entries; the interrupt handler ACKs InterruptStatus.
 * Rings live in the guest's own memory (rt_virtq_storage); the guest runs
 * identity-mapped, so their addresses are physical addresses.
 */
#ifndef RT_VIRTIO_H
#define RT_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MMIO_MAGIC	 0x000
#define VIRTIO_MMIO_VERSION	 0x004
#define VIRTIO_MMIO_DEVICE_ID	 0x008
#define VIRTIO_MMIO_DEV_FEATURES 0x010
#define VIRTIO_MMIO_DEV_FEAT_SEL 0x014
#define VIRTIO_MMIO_DRV_FEATURES 0x020
#define VIRTIO_MMIO_DRV_FEAT_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL	 0x030
#define VIRTIO_MMIO_QUEUE_MAX	 0x034
#define VIRTIO_MMIO_QUEUE_NUM	 0x038
#define VIRTIO_MMIO_QUEUE_READY	 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INT_STATUS	 0x060
#define VIRTIO_MMIO_INT_ACK	 0x064
#define VIRTIO_MMIO_STATUS	 0x070
#define VIRTIO_MMIO_QUEUE_DESC	 0x080
#define VIRTIO_MMIO_QUEUE_DRIVER 0x090
#define VIRTIO_MMIO_QUEUE_DEVICE 0x0a0
#define VIRTIO_MMIO_CONFIG	 0x100

#define VIRTIO_S_ACK	     1u
#define VIRTIO_S_DRIVER	     2u
#define VIRTIO_S_DRIVER_OK   4u
#define VIRTIO_S_FEATURES_OK 8u

#define VIRTQ_DESC_F_NEXT	   1u
#define VIRTQ_DESC_F_WRITE	   2u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u

#define RT_VIRTQ_SIZE 16u

struct rt_virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* One queue's rings, each in a page of its own (alignment 16 / 2 / 4), for
 * up to RT_VIRTQ_SIZE entries; `size` is the queue size in use. */
struct rt_virtq_storage {
	uint16_t size;
	struct rt_virtq_desc desc[RT_VIRTQ_SIZE] __attribute__((aligned(4096)));
	struct {
		uint16_t flags, idx, ring[RT_VIRTQ_SIZE], used_event;
	} avail __attribute__((aligned(4096)));
	struct {
		uint16_t flags, idx;
		struct {
			uint32_t id, len;
		} ring[RT_VIRTQ_SIZE];
		uint16_t avail_event;
	} used __attribute__((aligned(4096)));
};

struct rt_virtio {
	uintptr_t base;	    /* the 0x200 window */
	unsigned irq;	    /* its I/O APIC pin */
	uint8_t msi_vector; /* virtio-msi=: the line arrives as this MSI vector */
	volatile unsigned interrupts, isr_seen;
};

uint32_t rt_virtio_read(const struct rt_virtio *v, unsigned reg);
void rt_virtio_write(const struct rt_virtio *v, unsigned reg, uint32_t value);

/*
 * rt_virtio_find: the device from `virtio_mmio.device=SIZE@BASE:IRQ` in the
 * command line (as QEMU's microvm passes it, and the vmconfs do), default
 * 0xfeb00000:5; `virtio-msi=VECTOR` says that its interrupt comes as that
 * MSI vector instead of on an I/O APIC pin (Xen PVH, which has no I/O
 * APIC: vdm's `intr msi:VECTOR`). Prints where; true when magic, version 2
 * and device id match.
 */
bool rt_virtio_find(struct rt_virtio *v, uint32_t device_id);

/* 3.1.1 steps 1-6 with the driver features `features`: the status read
 * back after FEATURES_OK. */
uint32_t rt_virtio_negotiate(struct rt_virtio *v, uint64_t features);
/* The device's 64 feature bits. */
uint64_t rt_virtio_device_features(struct rt_virtio *v);

/* 4.2.3.2: queue q with RT_VIRTQ_SIZE entries on the storage (zeroed);
 * true when the device took it (ready reads back 1). */
bool rt_virtio_queue_setup(struct rt_virtio *v, unsigned q, struct rt_virtq_storage *s);

/* Make chain `head` available (release-ordered index) and kick queue q. */
void rt_virtio_post(struct rt_virtq_storage *s, uint16_t head);
void rt_virtio_kick(struct rt_virtio *v, unsigned q);
/* The used index (acquire). */
uint16_t rt_virtio_used_idx(struct rt_virtq_storage *s);

/*
 * rt_virtio_irq_attach: route the device's pin (level-triggered, as
 * virtio-mmio's interrupt is) to `vector` with a handler that ACKs
 * InterruptStatus, counts and EOIs; with virtio-msi= the handler goes on
 * that vector and no pin is routed. One device per guest.
 */
void rt_virtio_irq_attach(struct rt_virtio *v, uint8_t vector);
void rt_virtio_irq_detach(struct rt_virtio *v, uint8_t vector);

/* Wait (sleeping, interrupts on) until used index >= target or `us` pass.
 * It does not sleep when the index is there already: enable interrupts
 * before kicking when the interrupt itself is to be seen. */
void rt_virtio_wait_used(struct rt_virtio *v, struct rt_virtq_storage *s, uint16_t target,
			 uint32_t us);

#endif /* RT_VIRTIO_H */
