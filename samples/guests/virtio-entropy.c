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
 * Where the device is comes from the command line in the Linux
 * convention, `virtio_mmio.device=512@0xfeb00000:5` (size@base:irq), as
 * QEMU's microvm passes it; the default is that value.
 *
 * vdm: samples/virtio-entropy.vmconf (tests/kvm/vdm-kvm-guests.sh).
 * QEMU: -M microvm,acpi=off,pit=on -global virtio-mmio.force-legacy=false
 * -device virtio-rng-device (tests/kvm/qemu-guests.sh).
 */
#include "rt/pc.h"
#include "rt/rt.h"

#define VIRTIO_MAGIC   0x000
#define VIRTIO_VERSION 0x004
#define VIRTIO_DEVID   0x008
#define VIRTIO_DFEAT   0x010
#define VIRTIO_DFSEL   0x014
#define VIRTIO_GFEAT   0x020
#define VIRTIO_GFSEL   0x024
#define VIRTIO_QSEL    0x030
#define VIRTIO_QMAX    0x034
#define VIRTIO_QNUM    0x038
#define VIRTIO_QREADY  0x044
#define VIRTIO_NOTIFY  0x050
#define VIRTIO_ISR     0x060
#define VIRTIO_ACK     0x064
#define VIRTIO_STATUS  0x070
#define VIRTIO_QDESC   0x080
#define VIRTIO_QDRIVER 0x090
#define VIRTIO_QDEVICE 0x0a0

#define S_ACK	      1u
#define S_DRIVER      2u
#define S_DRIVER_OK   4u
#define S_FEATURES_OK 8u

#define QSIZE	     8u
#define BUFS	     4u
#define BUF_LEN	     32u
#define IRQ_VECTOR   0x41
#define DESC_F_WRITE 2u

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* The rings (2.7): alignment 16 / 2 / 4; each in its own page here. */
static struct desc ring_desc[QSIZE] __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx, ring[QSIZE], used_event;
} avail __attribute__((aligned(4096)));
static struct {
	uint16_t flags, idx;
	struct {
		uint32_t id, len;
	} ring[QSIZE];
	uint16_t avail_event;
} used __attribute__((aligned(4096)));
static uint8_t bufs[BUFS + 1][BUF_LEN] __attribute__((aligned(64)));

static uintptr_t base = 0xfeb00000u;
static unsigned irq = 5;
static volatile unsigned interrupts, isr_seen, used_seen;

static uint32_t rd(unsigned reg)
{
	return mmio_read32(base + reg);
}

static void wr(unsigned reg, uint32_t v)
{
	mmio_write32(base + reg, v);
}

static void irq_handler(struct rt_irq_frame *frame)
{
	uint32_t isr = rd(VIRTIO_ISR);

	/* ACK before EOI: the level line drops, the pin does not fire again */
	wr(VIRTIO_ACK, isr);
	isr_seen |= isr;
	interrupts++;
	used_seen = __atomic_load_n(&used.idx, __ATOMIC_ACQUIRE);
	lapic_write(LAPIC_EOI, 0);
}

static uint64_t parse_hex(const char *s, const char **end)
{
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (;; s++) {
		unsigned d = *s >= '0' && *s <= '9'   ? (unsigned)(*s - '0')
			     : *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10)
			     : *s >= 'A' && *s <= 'F' ? (unsigned)(*s - 'A' + 10)
						      : 16u;
		if (d > 15)
			break;
		v = v * 16 + d;
	}
	*end = s;
	return v;
}

/* virtio_mmio.device=SIZE@BASE:IRQ */
static void find_device(void)
{
	char value[64];
	const char *p = rt_cmdline_value("virtio_mmio.device", value, sizeof(value));

	while (p && *p && *p != '@')
		p++;
	if (p && *p == '@') {
		base = (uintptr_t)parse_hex(p + 1, &p);
		if (*p == ':') {
			irq = 0;
			for (p++; *p >= '0' && *p <= '9'; p++)
				irq = irq * 10 + (unsigned)(*p - '0');
		}
	}
	rt_printf("virtio-mmio at 0x%x irq %u\n", (unsigned)base, irq);
}

/* 3.1.1 steps 1-6; returns the status read back after FEATURES_OK. */
static uint32_t negotiate(uint32_t features_hi)
{
	wr(VIRTIO_STATUS, 0);
	wr(VIRTIO_STATUS, S_ACK);
	wr(VIRTIO_STATUS, S_ACK | S_DRIVER);
	wr(VIRTIO_GFSEL, 0);
	wr(VIRTIO_GFEAT, 0);
	wr(VIRTIO_GFSEL, 1);
	wr(VIRTIO_GFEAT, features_hi);
	wr(VIRTIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return rd(VIRTIO_STATUS);
}

static void post(unsigned slot, unsigned buf)
{
	ring_desc[slot] = (struct desc){
	    .addr = (uintptr_t)bufs[buf],
	    .len = BUF_LEN,
	    .flags = DESC_F_WRITE,
	};
	avail.ring[avail.idx % QSIZE] = (uint16_t)slot;
	/* the entry before the index that publishes it */
	__atomic_store_n(&avail.idx, (uint16_t)(avail.idx + 1), __ATOMIC_RELEASE);
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

static unsigned used_idx(void)
{
	return __atomic_load_n(&used.idx, __ATOMIC_ACQUIRE);
}

void guest_main(void)
{
	find_device();
	rt_irq_set_handler(IRQ_VECTOR, irq_handler);
	lapic_enable_pc();
	outb(PIC_MASTER + 1, 0xff);
	outb(PIC_SLAVE + 1, 0xff);
	clock_start();

	rt_printf("magic %08x version %u device %u\n", rd(VIRTIO_MAGIC), rd(VIRTIO_VERSION),
		  rd(VIRTIO_DEVID));
	if (!rt_check("virtio-probe", rd(VIRTIO_MAGIC) == 0x74726976 && rd(VIRTIO_VERSION) == 2 &&
					  rd(VIRTIO_DEVID) == 4))
		return;
	wr(VIRTIO_STATUS, 0);
	rt_check("virtio-reset", rd(VIRTIO_STATUS) == 0);
	wr(VIRTIO_DFSEL, 1);
	rt_check("virtio-version-1-offered", rd(VIRTIO_DFEAT) & 1);
	/* without VERSION_1 a device MAY refuse (6.1): vdm does, QEMU does not */
	rt_printf("features without VERSION_1: %s\n",
		  negotiate(0) & S_FEATURES_OK ? "accepted" : "refused");
	rt_check("virtio-features-ok", negotiate(1) & S_FEATURES_OK);

	wr(VIRTIO_QSEL, 0);
	rt_check("virtio-queue-free", rd(VIRTIO_QREADY) == 0 && rd(VIRTIO_QMAX) >= QSIZE);
	wr(VIRTIO_QNUM, QSIZE);
	wr(VIRTIO_QDESC, (uint32_t)(uintptr_t)ring_desc);
	wr(VIRTIO_QDESC + 4, 0);
	wr(VIRTIO_QDRIVER, (uint32_t)(uintptr_t)&avail);
	wr(VIRTIO_QDRIVER + 4, 0);
	wr(VIRTIO_QDEVICE, (uint32_t)(uintptr_t)&used);
	wr(VIRTIO_QDEVICE + 4, 0);
	wr(VIRTIO_QREADY, 1);
	rt_check("virtio-queue-ready", rd(VIRTIO_QREADY) == 1);
	wr(VIRTIO_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	rt_check("virtio-driver-ok", rd(VIRTIO_STATUS) == 0xf);

	/* the device's line: level-triggered, like virtio-mmio's */
	ioapic_route(irq, IRQ_VECTOR, true, false);
	irq_enable();
	for (unsigned i = 0; i < BUFS; i++)
		post(i, i);
	wr(VIRTIO_NOTIFY, 0);
	clock_sleep_us(1000000, &used_seen, BUFS);
	irq_disable();
	rt_printf("used %u of %u, %u interrupt(s), isr %x\n", used_idx(), BUFS, interrupts,
		  isr_seen);
	rt_check("virtio-rng-used", used_idx() == BUFS);
	rt_check("virtio-rng-interrupt", interrupts >= 1 && (isr_seen & 1));
	bool lengths = true, random = true;

	for (unsigned i = 0; i < used_idx() && i < BUFS; i++) {
		lengths &= used.ring[i].len == BUF_LEN && used.ring[i].id < BUFS;
		random &= !all_zero(bufs[i], BUF_LEN);
		for (unsigned j = 0; j < i; j++)
			random &= !same(bufs[i], bufs[j], BUF_LEN);
	}
	rt_printf("bytes %08x %08x ...\n", *(uint32_t *)bufs[0], *(uint32_t *)(bufs[0] + 4));
	rt_check("virtio-rng-lengths", lengths);
	rt_check("virtio-rng-random", random);

	/* suppressed interrupts: the driver polls the used ring */
	unsigned before = interrupts;

	avail.flags = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	post(BUFS, BUFS);
	wr(VIRTIO_NOTIFY, 0);
	uint64_t end = clock_ticks() + clock_us_to_ticks(1000000);

	while (used_idx() < BUFS + 1 && clock_ticks() < end)
		;
	irq_enable();
	clock_sleep_us(2000, NULL, 0);
	irq_disable();
	rt_check("virtio-rng-polled", used_idx() == BUFS + 1 && !all_zero(bufs[BUFS], BUF_LEN));
	rt_check("virtio-rng-no-interrupt", interrupts == before);

	/* reset: the queue is gone, the status 0 */
	wr(VIRTIO_STATUS, 0);
	rt_check("virtio-reset-clears", rd(VIRTIO_STATUS) == 0 && rd(VIRTIO_QREADY) == 0);
	ioapic_route(irq, IRQ_VECTOR, true, true);
}
