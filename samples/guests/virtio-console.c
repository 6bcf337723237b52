/*
 * samples/guests/virtio-console.c: a virtio console driver over
 * virtio-mmio (VIRTIO 1.2 sections 3.1, 4.2.3, 5.3) for port 0 without
 * multiport, as Linux's hvc driver uses it: negotiate VERSION_1, set up
 * receiveq (0) and transmitq (1), post receive buffers before DRIVER_OK,
 * write a greeting, then read one line the host wrote into the console's
 * input (through buffers smaller than the line, re-posted as they come
 * back) and echo it back as "echo: LINE"; the host side compares. The
 * checks go to the UART.
 *
 * vdm: samples/virtio-console.vmconf (hostdev <IN and >OUT files). QEMU:
 * -device virtio-serial-device -chardev file,id=c0,path=OUT,input-path=IN
 * -device virtconsole,chardev=c0. Both in tests/kvm/virtio-guests.sh.
 */
#include "rt/pc.h"
#include "rt/rt.h"
#include "rt/virtio.h"

#define IRQ_VECTOR  0x43
#define RX_BUFS	    4u
#define RX_LEN	    8u /* smaller than the line: it arrives in pieces */
#define LINE_MAX    120u
#define F_VERSION_1 (1ull << 32)

static struct rt_virtq_storage rxq, txq;
static struct rt_virtio dev;
static uint8_t rxbuf[RX_BUFS][RX_LEN] __attribute__((aligned(64)));
static char txbuf[2][LINE_MAX + 16] __attribute__((aligned(64)));
static char line[LINE_MAX + 1];

static void rx_post(unsigned slot)
{
	rxq.desc[slot] = (struct rt_virtq_desc){
	    .addr = (uintptr_t)rxbuf[slot],
	    .len = RX_LEN,
	    .flags = VIRTQ_DESC_F_WRITE,
	};
	rt_virtio_post(&rxq, (uint16_t)slot);
}

/* Send `text` as one chain; true once the device used it. */
static bool tx_send(unsigned slot, const char *prefix, const char *text)
{
	unsigned n = 0;
	uint16_t target = (uint16_t)(rt_virtio_used_idx(&txq) + 1);

	for (const char *p = prefix; *p && n < LINE_MAX; p++)
		txbuf[slot][n++] = *p;
	for (const char *p = text; *p && n < LINE_MAX; p++)
		txbuf[slot][n++] = *p;
	txbuf[slot][n++] = '\n';
	txq.desc[slot] = (struct rt_virtq_desc){.addr = (uintptr_t)txbuf[slot], .len = n};
	rt_virtio_post(&txq, (uint16_t)slot);
	rt_virtio_kick(&dev, 1);
	rt_virtio_wait_used(&dev, &txq, target, 2000000);
	return rt_virtio_used_idx(&txq) == target;
}

/* Gather received bytes into `line` until a newline; false on timeout. */
static bool read_line(uint32_t us)
{
	uint64_t end = clock_ticks() + clock_us_to_ticks(us);
	uint16_t seen = 0;
	unsigned n = 0, pieces = 0;

	while (clock_ticks() < end) {
		while (seen != rt_virtio_used_idx(&rxq)) {
			unsigned id = rxq.used.ring[seen % RT_VIRTQ_SIZE].id;
			unsigned len = rxq.used.ring[seen % RT_VIRTQ_SIZE].len;

			seen++;
			if (id >= RX_BUFS || len > RX_LEN)
				return false;
			pieces++;
			for (unsigned i = 0; i < len; i++) {
				char c = (char)rxbuf[id][i];

				if (c == '\n') {
					line[n] = 0;
					rt_printf("line of %u bytes in %u piece(s)\n", n, pieces);
					return n > 0;
				}
				if (n < LINE_MAX && c != '\r')
					line[n++] = c;
			}
			rx_post(id);
			rt_virtio_kick(&dev, 0);
		}
		clock_sleep_us(2000, &dev.interrupts, dev.interrupts + 1);
	}
	line[n] = 0;
	return false;
}

void guest_main(void)
{
	lapic_enable_pc();
	outb(PIC_MASTER + 1, 0xff);
	outb(PIC_SLAVE + 1, 0xff);
	clock_start();

	if (!rt_check("virtio-console-probe", rt_virtio_find(&dev, 3)))
		return;
	rt_printf("features %llx\n", (unsigned long long)rt_virtio_device_features(&dev));
	rt_check("virtio-console-features-ok",
		 rt_virtio_negotiate(&dev, F_VERSION_1) & VIRTIO_S_FEATURES_OK);
	rt_check("virtio-console-queues", rt_virtio_queue_setup(&dev, 0, &rxq) &&
					      rt_virtio_queue_setup(&dev, 1, &txq));
	for (unsigned i = 0; i < RX_BUFS; i++)
		rx_post(i);
	rt_virtio_irq_attach(&dev, IRQ_VECTOR);
	irq_enable();
	rt_virtio_write(&dev, VIRTIO_MMIO_STATUS, 0xf);
	rt_check("virtio-console-driver-ok", rt_virtio_read(&dev, VIRTIO_MMIO_STATUS) == 0xf);
	rt_virtio_kick(&dev, 0);

	rt_check("virtio-console-tx", tx_send(0, "", "virtio-console: hello from the guest"));
	bool got = read_line(10000000);

	rt_printf("read \"%s\"\n", line);
	rt_check("virtio-console-rx-line", got);
	rt_check("virtio-console-echo", got && tx_send(1, "echo: ", line));
	rt_check("virtio-console-interrupts", dev.interrupts > 0 && (dev.isr_seen & 1));
	irq_disable();
	rt_virtio_write(&dev, VIRTIO_MMIO_STATUS, 0);
	rt_check("virtio-console-reset", rt_virtio_read(&dev, VIRTIO_MMIO_STATUS) == 0);
	rt_virtio_irq_detach(&dev, IRQ_VECTOR);
}
