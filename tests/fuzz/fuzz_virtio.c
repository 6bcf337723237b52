/*
 * libFuzzer target for the SDK's virtio helper (sdk/lib/virtio*.c with the
 * PCI helper): the bytes are a guest. They pick the transport (virtio-mmio
 * or virtio-pci) and then drive a small echo device through the SDK test
 * host with any mix of register reads and writes, guest-RAM writes (rings,
 * descriptors, indirect tables: anything), kicks, a quick driver bring-up
 * so that live queues are reached often, resets, save/restore round trips
 * and time. Whatever the guest does, the helper must not crash, leak,
 * touch memory outside the guest (ASan), hang, or refuse to restore a
 * state it saved itself. Built and run by tests/fuzz/run (`make fuzz`).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/testhost.h>
#include <vdev/virtio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE  0x100000u
#define MMIO_BASE 0xd0000000ull
#define QSIZE	  8u

struct fdev {
	struct vdev_virtio vio;
	uint8_t config[16];
	struct vdev_virtio_chain chain;
};

/* Echo each chain's readable bytes into its writable part. */
static void fdev_notify(void *dev, unsigned queue)
{
	struct fdev *d = dev;
	uint8_t buf[64];
	int r;

	while ((r = vdev_virtio_queue_pop(&d->vio, queue, &d->chain)) > 0) {
		ssize_t n = vdev_virtio_chain_read(&d->vio, &d->chain, 0, buf, sizeof(buf));

		n = n > 0 ? vdev_virtio_chain_write(&d->vio, &d->chain, 0, buf, (size_t)n) : 0;
		vdev_virtio_queue_push(&d->vio, &d->chain, n > 0 ? (uint32_t)n : 0);
	}
	vdev_virtio_queue_interrupt(&d->vio, queue);
}

static void fdev_config_write(void *dev, unsigned offset, unsigned size, uint64_t value)
{
	struct fdev *d = dev;

	for (unsigned i = 0; i < size && offset + i < sizeof(d->config); i++)
		d->config[offset + i] = (uint8_t)(value >> (8 * i));
}

static const struct vdev_virtio_ops fdev_virtio_ops = {
    .queue_notify = fdev_notify,
    .config_write = fdev_config_write,
};

static int fdev_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		       void **devp)
{
	struct fdev *d = calloc(1, sizeof(*d));
	struct vdev_virtio_info info = {
	    .device_id = 0x2a,
	    .features = 0x3,
	    .queue_count = 2,
	    .queue_size = QSIZE,
	    .config_size = sizeof(d->config),
	    .pci_class = 0xff0000,
	    .ops = &fdev_virtio_ops,
	};
	int err;

	if (!d)
		return -ENOMEM;
	info.config = d->config;
	info.dev = d;
	err = vdev_virtio_init(&d->vio, host, h, cfg, &info);
	if (err) {
		free(d);
		return err;
	}
	*devp = d;
	return 0;
}

static void fdev_destroy(void *dev)
{
	struct fdev *d = dev;

	vdev_virtio_destroy(&d->vio);
	free(d);
}

static int fdev_read(void *dev, const struct vdev_access *a, uint64_t *v)
{
	return vdev_virtio_read(&((struct fdev *)dev)->vio, a, v);
}

static int fdev_write(void *dev, const struct vdev_access *a, uint64_t v)
{
	return vdev_virtio_write(&((struct fdev *)dev)->vio, a, v);
}

static void fdev_reset(void *dev)
{
	vdev_virtio_reset(&((struct fdev *)dev)->vio);
}

static ssize_t fdev_save(void *dev, void *buf, size_t cap)
{
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, "fuzz-virtio", 1);
	vdev_virtio_state(&st, &((struct fdev *)dev)->vio);
	return vdev_state_save_end(&st);
}

static int fdev_restore(void *dev, const void *buf, size_t length)
{
	struct fdev *d = dev;
	struct vdev_state st;

	vdev_state_restore_begin(&st, buf, length, "fuzz-virtio", 1);
	vdev_virtio_state(&st, &d->vio);
	if (vdev_state_restore_end(&st))
		return -EINVAL;
	vdev_virtio_restored(&d->vio);
	return 0;
}

static const struct vdev_ops fdev_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = fdev_create,
    .destroy = fdev_destroy,
    .read = fdev_read,
    .write = fdev_write,
    .reset = fdev_reset,
    .save = fdev_save,
    .restore = fdev_restore,
};

static const struct vdev_descriptor fdev_desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "fuzz-virtio",
    .version = "1.0.0",
    .description = "virtio helper fuzz device",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size = VDEV_STATE_HEADER_SIZE(11) + VDEV_VIRTIO_STATE_SIZE,
    .ops = &fdev_ops,
};

/* The input, consumed from the front; zeros once it runs out. */
struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		uint8_t b = 0;

		if (in->left) {
			b = *in->p++;
			in->left--;
		}
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

struct guest {
	struct vdev_testhost *th;
	struct vdev_testdev *dev;
	bool pci;
	uint64_t bar; /* PCI: BAR 4 */
};

/* A register access: MMIO window, or PCI configuration space / BAR 4. */
static void access(struct guest *g, bool write, uint64_t off, unsigned size, uint64_t value)
{
	enum vdev_space space = VDEV_SPACE_MMIO;
	uint64_t addr;

	if (!g->pci) {
		addr = MMIO_BASE + off % VDEV_VIRTIO_MMIO_SIZE;
	} else if (off & 0x10000) {
		space = VDEV_SPACE_PCICFG;
		addr = VDEV_PCICFG_ADDR(0, 3, 0, off % 0x100);
	} else {
		addr = g->bar + off % VDEV_VIRTIO_PCI_BAR_SIZE;
	}
	vdev_testhost_access(g->th, space, addr, size, write, &value, 0);
}

static void w32(struct guest *g, uint64_t off, uint32_t v)
{
	access(g, true, off, 4, v);
}

/* Reset, negotiate `features`, queues 0 and 1 on fixed rings, DRIVER_OK. */
static void bring_up(struct guest *g, uint64_t features)
{
	uint64_t status = g->pci ? 0x14 : VDEV_VIRTIO_MMIO_STATUS;

	access(g, true, status, g->pci ? 1 : 4, 0);
	access(g, true, status, g->pci ? 1 : 4, 3);
	if (g->pci) {
		w32(g, 0x08, 0);
		w32(g, 0x0c, (uint32_t)features);
		w32(g, 0x08, 1);
		w32(g, 0x0c, (uint32_t)(features >> 32));
	} else {
		w32(g, VDEV_VIRTIO_MMIO_DRV_FEAT_SEL, 0);
		w32(g, VDEV_VIRTIO_MMIO_DRV_FEATURES, (uint32_t)features);
		w32(g, VDEV_VIRTIO_MMIO_DRV_FEAT_SEL, 1);
		w32(g, VDEV_VIRTIO_MMIO_DRV_FEATURES, (uint32_t)(features >> 32));
	}
	access(g, true, status, g->pci ? 1 : 4, 0xb);
	for (unsigned q = 0; q < 2; q++) {
		uint64_t base = 0x1000 + q * 0x3000;

		if (g->pci) {
			access(g, true, 0x16, 2, q);
			access(g, true, 0x18, 2, QSIZE);
			access(g, true, 0x20, 8, base);
			access(g, true, 0x28, 8, base + 0x1000);
			access(g, true, 0x30, 8, base + 0x2000);
			access(g, true, 0x1c, 2, 1);
		} else {
			w32(g, VDEV_VIRTIO_MMIO_QUEUE_SEL, q);
			w32(g, VDEV_VIRTIO_MMIO_QUEUE_NUM, QSIZE);
			w32(g, VDEV_VIRTIO_MMIO_QUEUE_DESC, (uint32_t)base);
			w32(g, VDEV_VIRTIO_MMIO_QUEUE_DRIVER, (uint32_t)base + 0x1000);
			w32(g, VDEV_VIRTIO_MMIO_QUEUE_DEVICE, (uint32_t)base + 0x2000);
			w32(g, VDEV_VIRTIO_MMIO_QUEUE_READY, 1);
		}
	}
	access(g, true, status, g->pci ? 1 : 4, 0xf);
}

static void kick(struct guest *g, unsigned q)
{
	if (g->pci)
		access(g, true, VDEV_VIRTIO_PCI_NOTIFY + 4 * q, 2, q);
	else
		w32(g, VDEV_VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static void save_restore(struct guest *g, uint8_t flip)
{
	static uint8_t buf[VDEV_STATE_HEADER_SIZE(11) + VDEV_VIRTIO_STATE_SIZE];
	ssize_t len = vdev_testhost_save(g->dev, buf, sizeof(buf));

	if (len <= 0)
		abort(); /* the helper must always be able to save */
	if (vdev_testhost_restore(g->dev, buf, (size_t)len))
		abort(); /* ... and restore what it saved */
	if (flip) {
		buf[flip % len] ^= flip;
		vdev_testhost_restore(g->dev, buf, (size_t)len); /* may refuse, never crash */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	struct guest g = {0};
	uint8_t *ram;
	unsigned steps = 0;

	g.th = vdev_testhost_new();
	if (!g.th)
		return 0;
	vdev_testhost_add_ram(g.th, 0, RAM_SIZE);
	vdev_testhost_add_intc(g.th, "fz", 8);
	vdev_testhost_use(g.th, &fdev_desc);
	g.pci = take(&in, 1) & 1;
	g.dev = vdev_testhost_create(g.th, &fdev_desc,
				     g.pci ? "loc pci:0:3 intr fz:2" : "loc 0xd0000000 intr fz:1");
	if (!g.dev)
		abort(); /* both configurations are valid */
	ram = vdev_testhost_ram(g.th, 0, RAM_SIZE);
	if (g.pci) {
		uint64_t lo = 0, hi = 0;

		vdev_testhost_read(g.th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 3, 0, 0x20), 4,
				   &lo);
		vdev_testhost_read(g.th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 3, 0, 0x24), 4,
				   &hi);
		g.bar = (lo & ~0xfull) | hi << 32;
	}
	while (in.left && steps++ < 4096) {
		uint8_t op = (uint8_t)take(&in, 1);
		static const unsigned sizes[] = {1, 2, 4, 8};

		switch (op % 8) {
		case 0: {
			uint64_t off = take(&in, 3);
			unsigned sz = sizes[take(&in, 1) % 4];

			access(&g, true, off, sz, take(&in, 8));
			break;
		}
		case 1: {
			uint64_t off = take(&in, 3);

			access(&g, false, off, sizes[take(&in, 1) % 4], 0);
			break;
		}
		case 2: {
			/* anything into the ring area (and the buffers after it) */
			uint64_t gpa = (take(&in, 2) * 8) % (RAM_SIZE - 8);
			uint64_t v = take(&in, 8);

			memcpy(ram + gpa, &v, 8);
			break;
		}
		case 3:
			kick(&g, (unsigned)take(&in, 1) % 3);
			break;
		case 4:
			bring_up(&g, take(&in, 8) | VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1));
			break;
		case 5:
			save_restore(&g, (uint8_t)take(&in, 1));
			break;
		case 6:
			vdev_testhost_reset(g.dev);
			break;
		case 7:
			vdev_testhost_advance(g.th, take(&in, 2) * 1000);
			break;
		}
	}
	vdev_testhost_destroy(g.dev);
	vdev_testhost_free(g.th);
	return 0;
}
