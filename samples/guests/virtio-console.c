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
 * With `port=N name=NAME` on the command line it does the same through
 * multiport (5.3.6.2) on generic port N, as Linux's virtio_console does
 * for /dev/vportXpN: negotiate VIRTIO_CONSOLE_F_MULTIPORT, set up the
 * control queues (2, 3) and port N's (0/1 for port 0, else 2+2N/3+2N),
 * send DEVICE_READY, expect DEVICE_ADD for N, send PORT_READY, expect
 * PORT_NAME NAME and PORT_OPEN (the host is connected), open the port
 * (PORT_OPEN 1), then greet and echo on the port's queues.
 *
 * vdm: samples/virtio-console.vmconf (hostdev <IN and >OUT files; with
 * `port NAME` for port 0). QEMU: -device virtio-serial-device -chardev
 * pipe,id=c0,path=P -device virtconsole,chardev=c0 (or virtserialport,
 * chardev=c0,name=NAME,nr=1 for port=1). Both in tests/kvm/virtio-guests.sh.
 */
#include "rt/pc.h"
#include "rt/rt.h"
#include "rt/virtio.h"

#define IRQ_VECTOR  0x43
#define RX_BUFS	    4u
#define RX_LEN	    8u /* smaller than the line: it arrives in pieces */
#define LINE_MAX    120u
#define F_VERSION_1 (1ull << 32)
#define F_MULTIPORT (1ull << 1)
#define CTRL_BUFS   4u
#define CTRL_LEN    128u
/* control events (5.3.6.2) */
#define EV_DEVICE_READY 0
#define EV_DEVICE_ADD	1
#define EV_PORT_READY	3
#define EV_PORT_OPEN	6
#define EV_PORT_NAME	7

struct ctrl_msg {
	uint32_t id;
	uint16_t event, value;
};

static struct rt_virtq_storage rxq, txq, crxq, ctxq;
static unsigned rx_queue, tx_queue = 1;
static uint8_t cbuf[CTRL_BUFS][CTRL_LEN] __attribute__((aligned(64)));
static struct ctrl_msg cout[8];
static unsigned cout_count;
static uint16_t crx_seen;
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
	rt_virtio_kick(&dev, tx_queue);
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
			rt_virtio_kick(&dev, rx_queue);
		}
		clock_sleep_us(2000, &dev.interrupts, dev.interrupts + 1);
	}
	line[n] = 0;
	return false;
}

/* Multiport: a control message to the device. */
static void ctrl_send(uint32_t id, uint16_t event, uint16_t value)
{
	unsigned slot = cout_count++ % 8;
	uint16_t target = (uint16_t)(rt_virtio_used_idx(&ctxq) + 1);

	cout[slot] = (struct ctrl_msg){.id = id, .event = event, .value = value};
	ctxq.desc[slot] = (struct rt_virtq_desc){.addr = (uintptr_t)&cout[slot], .len = 8};
	rt_virtio_post(&ctxq, (uint16_t)slot);
	rt_virtio_kick(&dev, 3);
	rt_virtio_wait_used(&dev, &ctxq, target, 2000000);
}

/* Multiport: the next control message from the device (its buffer
 * re-posted after the caller looked at it); false after `us`. */
static bool ctrl_recv(struct ctrl_msg *m, char *data, unsigned cap, uint32_t us)
{
	uint64_t end = clock_ticks() + clock_us_to_ticks(us);

	while (crx_seen == rt_virtio_used_idx(&crxq) && clock_ticks() < end)
		clock_sleep_us(2000, &dev.interrupts, dev.interrupts + 1);
	if (crx_seen == rt_virtio_used_idx(&crxq))
		return false;
	unsigned id = crxq.used.ring[crx_seen % RT_VIRTQ_SIZE].id;
	unsigned len = crxq.used.ring[crx_seen % RT_VIRTQ_SIZE].len;

	crx_seen++;
	if (id >= CTRL_BUFS || len < 8 || len > CTRL_LEN)
		return false;
	const uint8_t *b = cbuf[id];

	m->id = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	m->event = (uint16_t)(b[4] | b[5] << 8);
	m->value = (uint16_t)(b[6] | b[7] << 8);
	unsigned n = 0;

	for (unsigned i = 8; i < len && n + 1 < cap; i++)
		data[n++] = (char)b[i];
	data[n] = 0;
	crxq.desc[id] = (struct rt_virtq_desc){
	    .addr = (uintptr_t)cbuf[id], .len = CTRL_LEN, .flags = VIRTQ_DESC_F_WRITE};
	rt_virtio_post(&crxq, (uint16_t)id);
	rt_virtio_kick(&dev, 2);
	return true;
}

static bool same_text(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/*
 * The multiport handshake for port `port` named `name`: true when the
 * device added it, named it, the host side is open and the guest opened it.
 */
static bool multiport_open(unsigned port, const char *name)
{
	struct ctrl_msg m;
	char data[CTRL_LEN];
	bool added = false, named = false, host_open = false;

	ctrl_send(0, EV_DEVICE_READY, 1);
	while (!added && ctrl_recv(&m, data, sizeof(data), 3000000)) {
		rt_printf("control: port %u event %u value %u\n", m.id, m.event, m.value);
		if (m.event == EV_DEVICE_ADD && m.id == port)
			added = true;
		else if (m.event == EV_DEVICE_ADD)
			ctrl_send(m.id, EV_PORT_READY, 0); /* not ours */
	}
	rt_check("virtio-console-port-added", added);
	if (!added)
		return false;
	ctrl_send(port, EV_PORT_READY, 1);
	while (!(named && host_open) && ctrl_recv(&m, data, sizeof(data), 3000000)) {
		rt_printf("control: port %u event %u value %u %s\n", m.id, m.event, m.value, data);
		if (m.id != port)
			continue;
		if (m.event == EV_PORT_NAME)
			named = same_text(data, name);
		if (m.event == EV_PORT_OPEN)
			host_open = m.value == 1;
	}
	rt_check("virtio-console-port-name", named);
	rt_check("virtio-console-port-host-open", host_open);
	ctrl_send(port, EV_PORT_OPEN, 1);
	return named && host_open;
}

void guest_main(void)
{
	char value[16], name[64];
	bool multiport;
	unsigned port = 0;

	lapic_enable_pc();
	outb(PIC_MASTER + 1, 0xff);
	outb(PIC_SLAVE + 1, 0xff);
	clock_start();
	multiport = rt_cmdline_value("port", value, sizeof(value)) != 0;
	if (multiport) {
		for (const char *p = value; *p >= '0' && *p <= '9'; p++)
			port = port * 10 + (unsigned)(*p - '0');
		if (!rt_cmdline_value("name", name, sizeof(name)))
			name[0] = 0;
		rx_queue = port ? 2 + 2 * port : 0;
		tx_queue = rx_queue + 1;
	}

	if (!rt_check("virtio-console-probe", rt_virtio_find(&dev, 3)))
		return;
	uint64_t offered = rt_virtio_device_features(&dev);

	rt_printf("features %llx\n", (unsigned long long)offered);
	if (multiport)
		rt_check("virtio-console-multiport-offered", offered & F_MULTIPORT);
	rt_check("virtio-console-features-ok",
		 rt_virtio_negotiate(&dev, F_VERSION_1 | (multiport ? F_MULTIPORT : 0)) &
		     VIRTIO_S_FEATURES_OK);
	rt_check("virtio-console-queues",
		 rt_virtio_queue_setup(&dev, rx_queue, &rxq) &&
		     rt_virtio_queue_setup(&dev, tx_queue, &txq) &&
		     (!multiport || (rt_virtio_queue_setup(&dev, 2, &crxq) &&
				     rt_virtio_queue_setup(&dev, 3, &ctxq))));
	for (unsigned i = 0; i < RX_BUFS; i++)
		rx_post(i);
	for (unsigned i = 0; multiport && i < CTRL_BUFS; i++) {
		crxq.desc[i] = (struct rt_virtq_desc){
		    .addr = (uintptr_t)cbuf[i], .len = CTRL_LEN, .flags = VIRTQ_DESC_F_WRITE};
		rt_virtio_post(&crxq, (uint16_t)i);
	}
	rt_virtio_irq_attach(&dev, IRQ_VECTOR);
	irq_enable();
	rt_virtio_write(&dev, VIRTIO_MMIO_STATUS, 0xf);
	rt_check("virtio-console-driver-ok", rt_virtio_read(&dev, VIRTIO_MMIO_STATUS) == 0xf);
	rt_virtio_kick(&dev, rx_queue);
	if (multiport) {
		rt_virtio_kick(&dev, 2);
		if (!multiport_open(port, name))
			return;
	}

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
