/*
 * samples/guests/virtio-pci.c: a virtio-rng driver over virtio-pci modern
 * (VIRTIO 1.2 section 4.1), as Linux's virtio_pci_modern does it: find
 * 1af4:1044 on bus 0 (configuration mechanism #1), walk the capability
 * list for the common, notify, ISR and device structures and MSI-X, turn
 * on memory decode and bus mastering, negotiate, give the config and the
 * queue an MSI-X vector each, set the queue up through the common
 * configuration and kick it at notify_off * notify_off_multiplier.
 *
 * Checks, besides the driver steps: buffers come back filled with an MSI
 * on the queue's vector and no config interrupt; a masked vector leaves its PBA bit
 * set and delivers when unmasked; with MSI-X off the interrupt is INTx
 * through the ISR (read clears it); a vector beyond the table reads back
 * NO_VECTOR; the PCI configuration access capability reads num_queues;
 * reset clears the status and the queue.
 *
 * vdm: samples/virtio-pci.vmconf; QEMU: -M pc -device
 * virtio-rng-pci,disable-legacy=on (SeaBIOS places the BARs; the MSI-X
 * table is found through its BIR). Both in tests/kvm/virtio-guests.sh.
 */
#include "rt/pc.h"
#include "rt/rt.h"
#include "rt/virtio.h"

#define CFG_ADDR	0xcf8
#define CFG_DATA	0xcfc
#define MSIX_VEC_CONFIG 0x45
#define MSIX_VEC_QUEUE	0x46
#define INTX_VECTOR	0x47
#define NO_VECTOR	0xffffu
#define BUF_LEN		32u

/* Common configuration (4.1.4.3). */
#define C_DFSELECT   0x00
#define C_DF	     0x04
#define C_GFSELECT   0x08
#define C_GF	     0x0c
#define C_MSIX	     0x10
#define C_NUMQ	     0x12
#define C_STATUS     0x14
#define C_QSELECT    0x16
#define C_QSIZE	     0x18
#define C_QMSIX	     0x1a
#define C_QENABLE    0x1c
#define C_QNOTIFYOFF 0x1e
#define C_QDESC	     0x20
#define C_QDRIVER    0x28
#define C_QDEVICE    0x30

static unsigned slot;
static uintptr_t bar;
static uintptr_t common, notify, isr;
static uint32_t multiplier;
static unsigned msix_cap, pci_cfg_cap;
static uintptr_t msix_table, msix_pba;
static struct rt_virtq_storage vq;
static struct rt_virtio counter; /* only its interrupt count is used */
static volatile unsigned msi_config, msi_queue, intx;
static uint8_t bufs[8][BUF_LEN];

static uint32_t cfg_read(unsigned reg)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (reg & 0xfc));
	return inl(CFG_DATA) >> (8 * (reg & 3));
}

static void cfg_write32(unsigned reg, uint32_t v)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (reg & 0xfc));
	outl(CFG_DATA, v);
}

static void w16(uintptr_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}

static uint16_t r16(uintptr_t a)
{
	return *(volatile uint16_t *)a;
}

static void msi_queue_handler(struct rt_irq_frame *frame)
{
	msi_queue++;
	counter.interrupts++;
	lapic_write(LAPIC_EOI, 0);
}

static void msi_config_handler(struct rt_irq_frame *frame)
{
	msi_config++;
	lapic_write(LAPIC_EOI, 0);
}

static void intx_handler(struct rt_irq_frame *frame)
{
	/* reading the ISR deasserts INTx (4.1.4.5) */
	if (mmio_read8(isr) & 1)
		intx++;
	counter.interrupts++;
	lapic_write(LAPIC_EOI, 0);
}

static bool find_function(void)
{
	for (slot = 1; slot < 32; slot++)
		if (cfg_read(0x00) == 0x10441af4u)
			return true;
	return false;
}

/* A memory BAR's address (below 4 GiB: this guest runs without paging). */
static uintptr_t bar_address(unsigned index)
{
	return cfg_read(0x10 + 4 * index) & ~0xfu;
}

/* The vendor capabilities (4.1.4) and MSI-X. */
static bool walk_caps(void)
{
	unsigned found = 0;

	for (unsigned p = cfg_read(0x34) & 0xff; p; p = cfg_read(p + 1) & 0xff) {
		unsigned id = cfg_read(p) & 0xff;

		if (id == 0x11) {
			/* the table and PBA may sit in another BAR (QEMU: BAR 1) */
			msix_cap = p;
			msix_table = bar_address(cfg_read(p + 4) & 7) + (cfg_read(p + 4) & ~7u);
			msix_pba = bar_address(cfg_read(p + 8) & 7) + (cfg_read(p + 8) & ~7u);
			continue;
		}
		if (id != 0x09)
			continue;
		unsigned type = cfg_read(p + 3) & 0xff;
		uintptr_t at;

		/* the PCI configuration access capability: its bar is the driver's to set */
		if (type == 5) {
			pci_cfg_cap = p;
			continue;
		}
		/* the other structures may be in any memory BAR */
		at = bar_address(cfg_read(p + 4) & 0xff) + cfg_read(p + 8);
		found |= 1u << type;
		if (type == 1)
			common = at;
		else if (type == 2) {
			notify = at;
			multiplier = cfg_read(p + 16);
		} else if (type == 3)
			isr = at;
	}
	rt_printf("caps: types %x, msix at %x, notify multiplier %u\n", found, msix_cap,
		  multiplier);
	return (found & 0x0e) == 0x0e && msix_cap && pci_cfg_cap; /* common, notify, isr, pci */
}

static void msix_entry(unsigned v, uint8_t vector, bool masked)
{
	uintptr_t e = msix_table + 16 * v;

	mmio_write32(e, 0xfee00000u);
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, vector);
	mmio_write32(e + 12, masked);
}

static void msix_enable(bool on)
{
	uint32_t dw = cfg_read(msix_cap) & 0x3fff0000u;

	cfg_write32(msix_cap, on ? dw | 0x80000000u : dw);
}

static void post_and_kick(unsigned i)
{
	vq.desc[i] = (struct rt_virtq_desc){
	    .addr = (uintptr_t)bufs[i], .len = BUF_LEN, .flags = VIRTQ_DESC_F_WRITE};
	rt_virtio_post(&vq, (uint16_t)i);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	w16(notify + r16(common + C_QNOTIFYOFF) * multiplier, 0);
}

void guest_main(void)
{
	lapic_enable_pc();
	outb(PIC_MASTER + 1, 0xff);
	outb(PIC_SLAVE + 1, 0xff);
	clock_start();
	if (!rt_check("virtio-pci-found", find_function()))
		return;
	rt_printf("virtio-rng at 0:%u.0, revision %u, subsystem %08x\n", slot,
		  cfg_read(0x08) & 0xff, cfg_read(0x2c));
	rt_check("virtio-pci-identity",
		 (cfg_read(0x08) & 0xff) >= 1 && (cfg_read(0x2c) & 0xffff) == 0x1af4);
	rt_check("virtio-pci-bar4-64bit", (cfg_read(0x20) & 0x7) == 0x4);
	bar = (cfg_read(0x20) & ~0xfu) | 0; /* the upper half is 0 in the default window */
	rt_check("virtio-pci-bar4-below-4g", cfg_read(0x24) == 0 && bar != 0);
	cfg_write32(0x04, 0x0006); /* memory decode, bus master */
	if (!rt_check("virtio-pci-capabilities", walk_caps()))
		return;

	rt_irq_set_handler(MSIX_VEC_CONFIG, msi_config_handler);
	rt_irq_set_handler(MSIX_VEC_QUEUE, msi_queue_handler);
	rt_irq_set_handler(INTX_VECTOR, intx_handler);
	msix_entry(0, MSIX_VEC_CONFIG, false);
	msix_entry(1, MSIX_VEC_QUEUE, false);
	msix_enable(true);

	/* 3.1.1 through the common configuration */
	mmio_write8(common + C_STATUS, 0);
	rt_check("virtio-pci-reset", mmio_read8(common + C_STATUS) == 0);
	mmio_write8(common + C_STATUS, VIRTIO_S_ACK);
	mmio_write8(common + C_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
	mmio_write32(common + C_DFSELECT, 1);
	rt_check("virtio-pci-version-1", mmio_read32(common + C_DF) & 1);
	mmio_write32(common + C_GFSELECT, 0);
	mmio_write32(common + C_GF, 0);
	mmio_write32(common + C_GFSELECT, 1);
	mmio_write32(common + C_GF, 1);
	mmio_write8(common + C_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	rt_check("virtio-pci-features-ok", mmio_read8(common + C_STATUS) & VIRTIO_S_FEATURES_OK);
	rt_check("virtio-pci-num-queues", r16(common + C_NUMQ) == 1);
	w16(common + C_MSIX, 0);
	rt_check("virtio-pci-config-vector", r16(common + C_MSIX) == 0);

	w16(common + C_QSELECT, 0);
	rt_printf("queue 0: size %u, notify_off %u\n", r16(common + C_QSIZE),
		  r16(common + C_QNOTIFYOFF));
	/* the device's size or less (a power of two): QEMU's virtio-rng has 8 */
	vq.size = r16(common + C_QSIZE) < RT_VIRTQ_SIZE ? r16(common + C_QSIZE) : RT_VIRTQ_SIZE;
	w16(common + C_QSIZE, vq.size);
	w16(common + C_QMSIX, 9);
	rt_check("virtio-pci-bad-vector-refused", r16(common + C_QMSIX) == NO_VECTOR);
	w16(common + C_QMSIX, 1);
	rt_check("virtio-pci-queue-vector", r16(common + C_QMSIX) == 1);
	mmio_write32(common + C_QDESC, (uint32_t)(uintptr_t)vq.desc);
	mmio_write32(common + C_QDESC + 4, 0);
	mmio_write32(common + C_QDRIVER, (uint32_t)(uintptr_t)&vq.avail);
	mmio_write32(common + C_QDRIVER + 4, 0);
	mmio_write32(common + C_QDEVICE, (uint32_t)(uintptr_t)&vq.used);
	mmio_write32(common + C_QDEVICE + 4, 0);
	w16(common + C_QENABLE, 1);
	rt_check("virtio-pci-queue-enabled", r16(common + C_QENABLE) == 1);
	mmio_write8(common + C_STATUS, 0xf);
	rt_check("virtio-pci-driver-ok", mmio_read8(common + C_STATUS) == 0xf);

	/* MSI-X: the queue's vector, no ISR bit */
	irq_enable();
	for (unsigned i = 0; i < 3; i++)
		post_and_kick(i);
	rt_virtio_wait_used(&counter, &vq, 3, 1000000);
	rt_printf("used %u, msi %u on the queue vector, %u on the config vector\n",
		  rt_virtio_used_idx(&vq), msi_queue, msi_config);
	rt_check("virtio-pci-msix-used", rt_virtio_used_idx(&vq) == 3 && msi_queue >= 1);
	/* with MSI-X on, the ISR's queue bit is not used: vdm leaves it clear,
	 * QEMU sets it (both allowed); no config interrupt either way */
	rt_printf("isr with MSI-X on: %u\n", mmio_read8(isr));
	rt_check("virtio-pci-msix-no-config-interrupt", msi_config == 0);
	rt_check("virtio-pci-random", *(uint32_t *)bufs[0] != 0 || *(uint32_t *)bufs[1] != 0);

	/* a masked vector pends, and unmasking delivers it */
	unsigned before = msi_queue;

	mmio_write32(msix_table + 16 + 12, 1);
	post_and_kick(3);
	rt_virtio_wait_used(&counter, &vq, 4, 200000);
	clock_sleep_us(5000, NULL, 0);
	rt_check("virtio-pci-msix-masked-pends", rt_virtio_used_idx(&vq) == 4 &&
						     msi_queue == before &&
						     (mmio_read32(msix_pba) & 2));
	mmio_write32(msix_table + 16 + 12, 0);
	clock_sleep_us(100000, &msi_queue, before + 1);
	rt_check("virtio-pci-msix-unmask-delivers",
		 msi_queue == before + 1 && !(mmio_read32(msix_pba) & 2));

	/* MSI-X off: INTx through the ISR (pin INTA# on the I/O APIC pin of `intr`) */
	unsigned pin = cfg_read(0x3c) & 0xff;

	rt_printf("interrupt line %u, pin %u\n", pin, cfg_read(0x3d) & 0xff);
	msix_enable(false);
	ioapic_route(pin, INTX_VECTOR, true, false);
	post_and_kick(4);
	rt_virtio_wait_used(&counter, &vq, 5, 1000000);
	clock_sleep_us(100000, &intx, 1);
	rt_check("virtio-pci-intx", rt_virtio_used_idx(&vq) == 5 && intx == 1);
	rt_check("virtio-pci-isr-cleared", mmio_read8(isr) == 0);
	ioapic_route(pin, INTX_VECTOR, true, true);
	irq_disable();

	/* the PCI configuration access window: num_queues through config space */
	cfg_write32(pci_cfg_cap + 4, 4);      /* bar */
	cfg_write32(pci_cfg_cap + 8, C_NUMQ); /* offset */
	cfg_write32(pci_cfg_cap + 12, 2);     /* length */
	rt_check("virtio-pci-cfg-window", (cfg_read(pci_cfg_cap + 16) & 0xffff) == 1);

	mmio_write8(common + C_STATUS, 0);
	rt_check("virtio-pci-reset-clears",
		 mmio_read8(common + C_STATUS) == 0 && r16(common + C_QENABLE) == 0);
}
