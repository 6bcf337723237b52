/*
 * samples/guests/virtio-entropy.c: a virtio-rng driver over virtio-mmio
 * (VIRTIO 1.2 sections 3.1, 4.2.3, 2.7, 5.4), as a guest OS drives one:
 * reset, ACKNOWLEDGE, DRIVER, feature negotiation with a FEATURES_OK
 * check, queue setup, DRIVER_OK; buffers posted on the available ring and
 * returned on the used ring with the device's interrupt (level-triggered
 * I/O APIC pin, InterruptStatus/InterruptACK); then a buffer with
 * interrupts suppressed (VIRTQ_AVAIL_F_NO_INTERRUPT, used ring polled),
 * and the device reset. It prints whether the device accepts a driver
 * without VERSION_1 (which a device MAY refuse: vdm does, QEMU does not).
 *
 * The device is found as rt/virtio.h says (virtio_mmio.device= on the
 * command line). vdm: samples/virtio-entropy.vmconf. QEMU:
 * -M microvm,acpi=off,pit=on -global virtio-mmio.force-legacy=false
 * -device virtio-rng-device. Both in tests/kvm/virtio-guests.sh.
 */
#include "rt/pc.h"
#include "rt/rt.h"
#include "rt/virtio.h"

#define BUFS	   4u
#define BUF_LEN	   32u
#define IRQ_VECTOR 0x41

static struct rt_virtq_storage vq;
static struct rt_virtio dev;
static uint8_t bufs[BUFS + 1][BUF_LEN] __attribute__((aligned(64)));

static void post(unsigned slot)
{
	vq.desc[slot] = (struct rt_virtq_desc){
	    .addr = (uintptr_t)bufs[slot],
	    .len = BUF_LEN,
	    .flags = VIRTQ_DESC_F_WRITE,
	};
	rt_virtio_post(&vq, (uint16_t)slot);
}

static bool all_zero(const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool same(const uint8_t *a, const uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

void guest_main(void)
{
	lapic_enable_pc();
	outb(PIC_MASTER + 1, 0xff);
	outb(PIC_SLAVE + 1, 0xff);
	clock_start();

	if (!rt_check("virtio-probe", rt_virtio_find(&dev, 4)))
		return;
	rt_virtio_write(&dev, VIRTIO_MMIO_STATUS, 0);
	rt_check("virtio-reset", rt_virtio_read(&dev, VIRTIO_MMIO_STATUS) == 0);
	rt_check("virtio-version-1-offered", rt_virtio_device_features(&dev) & (1ull << 32));
	/* without VERSION_1 a device MAY refuse (6.1) */
	rt_printf("features without VERSION_1: %s\n",
		  rt_virtio_negotiate(&dev, 0) & VIRTIO_S_FEATURES_OK ? "accepted" : "refused");
	rt_check("virtio-features-ok",
		 rt_virtio_negotiate(&dev, 1ull << 32) & VIRTIO_S_FEATURES_OK);
	rt_virtio_write(&dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	rt_check("virtio-queue-free", rt_virtio_read(&dev, VIRTIO_MMIO_QUEUE_READY) == 0);
	rt_check("virtio-queue-ready", rt_virtio_queue_setup(&dev, 0, &vq));
	rt_virtio_write(&dev, VIRTIO_MMIO_STATUS, 0xf);
	rt_check("virtio-driver-ok", rt_virtio_read(&dev, VIRTIO_MMIO_STATUS) == 0xf);

	rt_virtio_irq_attach(&dev, IRQ_VECTOR);
	/* on before the kick: the device may finish before we wait */
	irq_enable();
	for (unsigned i = 0; i < BUFS; i++)
		post(i);
	rt_virtio_kick(&dev, 0);
	rt_virtio_wait_used(&dev, &vq, BUFS, 1000000);
	irq_disable();
	unsigned used = rt_virtio_used_idx(&vq);

	rt_printf("used %u of %u, %u interrupt(s), isr %x\n", used, BUFS, dev.interrupts,
		  dev.isr_seen);
	rt_check("virtio-rng-used", used == BUFS);
	rt_check("virtio-rng-interrupt", dev.interrupts >= 1 && (dev.isr_seen & 1));
	bool lengths = true, random = true;

	for (unsigned i = 0; i < used && i < BUFS; i++) {
		lengths &= vq.used.ring[i].len == BUF_LEN && vq.used.ring[i].id < BUFS;
		random &= !all_zero(bufs[i], BUF_LEN);
		for (unsigned j = 0; j < i; j++)
			random &= !same(bufs[i], bufs[j], BUF_LEN);
	}
	rt_printf("bytes %08x %08x ...\n", *(uint32_t *)bufs[0], *(uint32_t *)(bufs[0] + 4));
	rt_check("virtio-rng-lengths", lengths);
	rt_check("virtio-rng-random", random);

	/* suppressed interrupts: the driver polls the used ring. An
	 * interrupt for the buffers above may still be on its way (QEMU
	 * completes them in batches and the used index can be seen first):
	 * let it land before counting. */
	irq_enable();
	clock_sleep_us(5000, NULL, 0);
	irq_disable();
	unsigned before = dev.interrupts;

	vq.avail.flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	post(BUFS);
	rt_virtio_kick(&dev, 0);
	uint64_t end = clock_ticks() + clock_us_to_ticks(1000000);

	while (rt_virtio_used_idx(&vq) < BUFS + 1 && clock_ticks() < end)
		;
	irq_enable();
	clock_sleep_us(2000, NULL, 0);
	irq_disable();
	rt_check("virtio-rng-polled",
		 rt_virtio_used_idx(&vq) == BUFS + 1 && !all_zero(bufs[BUFS], BUF_LEN));
	rt_check("virtio-rng-no-interrupt", dev.interrupts == before);

	/* reset: the queue is gone, the status 0 */
	rt_virtio_write(&dev, VIRTIO_MMIO_STATUS, 0);
	rt_check("virtio-reset-clears", rt_virtio_read(&dev, VIRTIO_MMIO_STATUS) == 0 &&
					    rt_virtio_read(&dev, VIRTIO_MMIO_QUEUE_READY) == 0);
	rt_virtio_irq_detach(&dev, IRQ_VECTOR);
}
