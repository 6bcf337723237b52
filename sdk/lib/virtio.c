/*
 * sdk/lib/virtio.c: the virtio helper's transports (virtio-mmio v2 and
 * virtio-pci modern), device status and feature negotiation, interrupts,
 * reset and state. The contract is vdev/virtio.h; the guide sdk/VIRTIO.md.
 * Split rings are in virtio_queue.c, the worker in virtio_worker.c.
 *
 * Both transports are views of one set of registers (struct
 * vdev_virtio_regs): MMIO decodes its 0x200 window into them, PCI decodes
 * the common configuration structure of BAR 4 into them, so negotiation,
 * reset and state are written once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_internal.h"

#define VIRTIO_STATE_KNOWN                                                                         \
	(VDEV_VIRTIO_S_ACKNOWLEDGE | VDEV_VIRTIO_S_DRIVER | VDEV_VIRTIO_S_DRIVER_OK |              \
	 VDEV_VIRTIO_S_FEATURES_OK | VDEV_VIRTIO_S_NEEDS_RESET | VDEV_VIRTIO_S_FAILED)

/* The PCI vendor capabilities: virtio_pci_cap is 16 bytes, the notify one
 * 20 (notify_off_multiplier), the PCI-configuration-access one 20
 * (pci_cfg_data). Field offsets inside a capability: */
#define VIRTIO_CAP_LEN	      0x02
#define VIRTIO_CAP_CFG_TYPE   0x03
#define VIRTIO_CAP_BAR	      0x04
#define VIRTIO_CAP_ID	      0x05
#define VIRTIO_CAP_OFFSET     0x08
#define VIRTIO_CAP_LENGTH     0x0c
#define VIRTIO_CAP_MULTIPLIER 0x10
#define VIRTIO_CAP_DATA	      0x10

static void put_le(uint8_t *b, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *b, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* ------------------------------------------------------------ interrupts */

/* Drive the level interrupt from the ISR: MMIO's line, PCI's INTx (which
 * the PCI helper keeps quiet while MSI-X or INTX_DISABLE is on). */
static void virtio_update_line(struct vdev_virtio *vio)
{
	bool level = vio->regs.isr != 0;

	if (vio->dead)
		return;
	if (vio->transport == VDEV_VIRTIO_PCI) {
		vdev_pci_intx(&vio->pci, level);
		return;
	}
	if (vio->line && level != vio->line_level)
		vio->host->line_set(vio->h, vio->line, level);
	vio->line_level = level;
}

/* Send MSI-X `vector` when MSI-X is on; true when MSI-X decided the matter. */
static bool virtio_msix(struct vdev_virtio *vio, uint16_t vector)
{
	if (vio->transport != VDEV_VIRTIO_PCI || !vdev_pci_msix_enabled(&vio->pci))
		return false;
	if (vector != VDEV_VIRTIO_NO_VECTOR)
		vdev_pci_msix_notify(&vio->pci, vector);
	return true;
}

void vdev_virtio_raise_queue__(struct vdev_virtio *vio, unsigned queue)
{
	if (vio->dead || virtio_msix(vio, vio->regs.queue[queue].msix_vector))
		return;
	vio->regs.isr |= VDEV_VIRTIO_INT_QUEUE;
	virtio_update_line(vio);
}

static void virtio_raise_config(struct vdev_virtio *vio)
{
	if (vio->dead)
		return;
	/* 4.1.4.5: the config bit is set in the ISR even when MSI-X delivers */
	vio->regs.isr |= VDEV_VIRTIO_INT_CONFIG;
	if (!virtio_msix(vio, vio->regs.config_msix_vector))
		virtio_update_line(vio);
}

void vdev_virtio_config_changed(struct vdev_virtio *vio)
{
	vio->regs.config_generation++;
	virtio_raise_config(vio);
}

void vdev_virtio_needs_reset(struct vdev_virtio *vio, const char *why)
{
	if (!vio->error_logged && !vio->dead)
		vio->host->log(vio->h, VDEV_LOG_ERROR, "device needs reset: %s", why);
	vio->error_logged = true;
	if (vio->regs.status & VDEV_VIRTIO_S_NEEDS_RESET)
		return;
	vio->regs.status |= VDEV_VIRTIO_S_NEEDS_RESET;
	virtio_raise_config(vio);
}

void vdev_virtio_malformed__(struct vdev_virtio *vio, unsigned queue, const char *what)
{
	char why[160];

	snprintf(why, sizeof(why), "queue %u: %s", queue, what);
	vdev_virtio_needs_reset(vio, why);
}

/* ------------------------------------------------------------ guest RAM */

/* The guest's memory map, merged where ranges of one kind touch, so that
 * buffers can be checked at pop without a host call per buffer. */
static void virtio_load_ram(struct vdev_virtio *vio)
{
	struct vdev_mem_range r[16];
	int n;

	vio->ram_count = 0;
	if (!VDEV_HOST_HAS(vio->host, mem_ranges))
		return;
	n = vio->host->mem_ranges(vio->h, r, 16);
	if (n <= 0 || n > 16)
		return; /* unknown or too many: check each buffer with mem_map */
	for (int i = 0; i < n; i++) {
		struct vdev_mem_range *last = vio->ram_count ? &vio->ram[vio->ram_count - 1] : NULL;

		if (last && last->kind == r[i].kind && last->start + last->length == r[i].start) {
			last->length += r[i].length;
			continue;
		}
		vio->ram[vio->ram_count++] = r[i];
	}
}

bool vdev_virtio_mem_ok__(struct vdev_virtio *vio, uint64_t gpa, uint64_t len, bool writable)
{
	void *p;

	if (len == 0)
		return true;
	if (gpa + (len - 1) < gpa)
		return false;
	if (vio->ram_count) {
		for (unsigned i = 0; i < vio->ram_count; i++) {
			const struct vdev_mem_range *r = &vio->ram[i];

			if (writable && r->kind != VDEV_MEM_RAM)
				continue;
			if (gpa >= r->start && gpa - r->start < r->length &&
			    len <= r->length - (gpa - r->start))
				return true;
		}
		return false;
	}
	if (len > SIZE_MAX)
		return false;
	p = vio->host->mem_map(vio->h, gpa, (size_t)len,
			       writable ? VDEV_MAP_READ | VDEV_MAP_WRITE : VDEV_MAP_READ);
	if (!p)
		return false;
	vio->host->mem_unmap(vio->h, p, (size_t)len);
	return true;
}

/* ------------------------------------------------------------ status */

static void virtio_queue_clear(struct vdev_virtio *vio, struct vdev_virtio_queue *q)
{
	*q = (struct vdev_virtio_queue){
	    .size = vio->info.queue_size,
	    .msix_vector = VDEV_VIRTIO_NO_VECTOR,
	};
}

/* Transport and queue registers at their reset values. */
static void virtio_regs_clear(struct vdev_virtio *vio)
{
	uint8_t generation = vio->regs.config_generation;

	memset(&vio->regs, 0, sizeof(vio->regs));
	vio->regs.config_generation = generation;
	vio->regs.config_msix_vector = VDEV_VIRTIO_NO_VECTOR;
	for (unsigned i = 0; i < VDEV_VIRTIO_QUEUE_MAX; i++)
		virtio_queue_clear(vio, &vio->regs.queue[i]);
}

/* 2.4: the device reset the driver asks for by writing status 0. */
static void virtio_device_reset(struct vdev_virtio *vio)
{
	vio->epoch++;
	vio->error_logged = false;
	virtio_regs_clear(vio);
	virtio_update_line(vio);
	if (vio->info.ops->reset && !vio->dead)
		vio->info.ops->reset(vio->info.dev);
}

bool vdev_virtio_live(const struct vdev_virtio *vio)
{
	uint8_t s = vio->regs.status;

	return (s & VDEV_VIRTIO_S_DRIVER_OK) && (s & VDEV_VIRTIO_S_FEATURES_OK) &&
	       !(s & (VDEV_VIRTIO_S_NEEDS_RESET | VDEV_VIRTIO_S_FAILED)) && !vio->dead;
}

/* The driver kicked `queue`. */
static void virtio_kick(struct vdev_virtio *vio, uint64_t queue)
{
	if (queue < vio->info.queue_count && vio->regs.queue[queue].ready && vdev_virtio_live(vio))
		vio->info.ops->queue_notify(vio->info.dev, (unsigned)queue);
}

static bool virtio_features_acceptable(struct vdev_virtio *vio, uint64_t features)
{
	if (features & ~vio->device_features)
		return false;
	if (!(features & VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1)))
		return false;
	return !vio->info.ops->features_ok || vio->info.ops->features_ok(vio->info.dev, features);
}

/* 3.1.1: the driver's status writes. The driver never clears bits except
 * by writing 0; NEEDS_RESET is the device's. */
static void virtio_status_write(struct vdev_virtio *vio, uint8_t value)
{
	uint8_t old = vio->regs.status;
	/* bits 4, 5 are reserved and NEEDS_RESET is the device's: not stored */
	uint8_t v = value & (VIRTIO_STATE_KNOWN & ~VDEV_VIRTIO_S_NEEDS_RESET);

	if (value == 0) {
		virtio_device_reset(vio);
		return;
	}
	if ((v & VDEV_VIRTIO_S_FEATURES_OK) && !(old & VDEV_VIRTIO_S_FEATURES_OK) &&
	    !virtio_features_acceptable(vio, vio->regs.driver_features)) {
		vio->host->log(vio->h, VDEV_LOG_INFO,
			       "FEATURES_OK refused for driver features 0x%llx (offered 0x%llx)",
			       (unsigned long long)vio->regs.driver_features,
			       (unsigned long long)vio->device_features);
		v &= (uint8_t)~VDEV_VIRTIO_S_FEATURES_OK;
	}
	/* FEATURES_OK once accepted stays until reset */
	v |= old & VDEV_VIRTIO_S_FEATURES_OK;
	vio->regs.status = v | (old & VDEV_VIRTIO_S_NEEDS_RESET);
	if ((v & VDEV_VIRTIO_S_DRIVER_OK) && !(old & VDEV_VIRTIO_S_DRIVER_OK) &&
	    vdev_virtio_live(vio)) {
		if (vio->info.ops->driver_ok)
			vio->info.ops->driver_ok(vio->info.dev);
		/* buffers made available before DRIVER_OK are served now */
		for (unsigned i = 0; i < vio->info.queue_count; i++)
			virtio_kick(vio, i);
	}
}

static void virtio_driver_features_write(struct vdev_virtio *vio, uint32_t value)
{
	uint32_t sel = vio->regs.driver_features_sel;

	if (sel > 1 || (vio->regs.status & VDEV_VIRTIO_S_FEATURES_OK))
		return;
	vio->regs.driver_features &= ~(0xffffffffull << (32 * sel));
	vio->regs.driver_features |= (uint64_t)value << (32 * sel);
}

static uint32_t virtio_device_features_word(const struct vdev_virtio *vio)
{
	uint32_t sel = vio->regs.device_features_sel;

	return sel > 1 ? 0 : (uint32_t)(vio->device_features >> (32 * sel));
}

static struct vdev_virtio_queue *virtio_selected(struct vdev_virtio *vio)
{
	return vio->regs.queue_sel < vio->info.queue_count ? &vio->regs.queue[vio->regs.queue_sel]
							   : NULL;
}

/* Size and alignment: split rings a power of two, 16/2/4 (2.7); packed
 * rings any size, 16/4/4 (2.8.10). */
static bool virtio_queue_shape_ok(const struct vdev_virtio *vio, const struct vdev_virtio_queue *q,
				  bool packed)
{
	return (packed ? q->size != 0 : is_pow2(q->size)) && q->size <= vio->info.queue_size &&
	       !(q->desc & 15) && !(q->driver & (packed ? 3 : 1)) && !(q->device & 3);
}

/* The driver enables a queue: its size and ring alignment decide. */
static void virtio_queue_enable(struct vdev_virtio *vio, unsigned index)
{
	struct vdev_virtio_queue *q = &vio->regs.queue[index];
	char why[96];

	if (q->ready)
		return;
	if (!virtio_queue_shape_ok(vio, q,
				   vdev_virtio_has_feature(vio, VDEV_VIRTIO_F_RING_PACKED))) {
		snprintf(why, sizeof(why),
			 "queue %u enabled with size %u (max %u) or misaligned rings", index,
			 q->size, vio->info.queue_size);
		vdev_virtio_needs_reset(vio, why);
		return;
	}
	q->ready = true;
	/* packed: both wrap counters start at 1 (2.8.1) */
	q->last_avail = vdev_virtio_queue_start__(vio);
	q->used_idx = q->last_avail;
	q->signalled_used = q->last_avail;
	q->signalled_valid = false;
}

static uint64_t virtio_config_read(const struct vdev_virtio *vio, uint64_t offset, unsigned size)
{
	const uint8_t *cfg = vio->info.config;
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		if (offset + i < vio->info.config_size)
			v |= (uint64_t)cfg[offset + i] << (8 * i);
	return v;
}

static void virtio_config_write(struct vdev_virtio *vio, uint64_t offset, unsigned size,
				uint64_t value)
{
	if (vio->info.ops->config_write && offset < vio->info.config_size &&
	    size <= vio->info.config_size - offset)
		vio->info.ops->config_write(vio->info.dev, (unsigned)offset, size, value);
}

/* ------------------------------------------------------------ MMIO */

static uint32_t virtio_mmio_reg_read(struct vdev_virtio *vio, uint64_t off)
{
	struct vdev_virtio_queue *q = virtio_selected(vio);

	switch (off) {
	case VDEV_VIRTIO_MMIO_MAGIC:
		return VDEV_VIRTIO_MMIO_MAGIC_VALUE;
	case VDEV_VIRTIO_MMIO_VERSION:
		return 2;
	case VDEV_VIRTIO_MMIO_DEVICE_ID:
		return vio->info.device_id;
	case VDEV_VIRTIO_MMIO_VENDOR_ID:
		return VDEV_VIRTIO_MMIO_VENDOR_VALUE;
	case VDEV_VIRTIO_MMIO_DEV_FEATURES:
		return virtio_device_features_word(vio);
	case VDEV_VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? vio->info.queue_size : 0;
	case VDEV_VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VDEV_VIRTIO_MMIO_INT_STATUS:
		return vio->regs.isr;
	case VDEV_VIRTIO_MMIO_STATUS:
		return vio->regs.status;
	case VDEV_VIRTIO_MMIO_QUEUE_DESC:
	case VDEV_VIRTIO_MMIO_QUEUE_DESC + 4:
		return q ? (uint32_t)(q->desc >> (off & 4 ? 32 : 0)) : 0;
	case VDEV_VIRTIO_MMIO_QUEUE_DRIVER:
	case VDEV_VIRTIO_MMIO_QUEUE_DRIVER + 4:
		return q ? (uint32_t)(q->driver >> (off & 4 ? 32 : 0)) : 0;
	case VDEV_VIRTIO_MMIO_QUEUE_DEVICE:
	case VDEV_VIRTIO_MMIO_QUEUE_DEVICE + 4:
		return q ? (uint32_t)(q->device >> (off & 4 ? 32 : 0)) : 0;
	case VDEV_VIRTIO_MMIO_SHM_LEN:
	case VDEV_VIRTIO_MMIO_SHM_LEN + 4:
		return 0xffffffffu; /* no shared memory regions */
	case VDEV_VIRTIO_MMIO_CONFIG_GEN:
		return vio->regs.config_generation;
	default:
		return 0;
	}
}

/* Set the low or high half of a ring address while the queue is off. */
static void virtio_set_half(uint64_t *addr, bool high, uint32_t value)
{
	if (high)
		*addr = (*addr & 0xffffffffull) | (uint64_t)value << 32;
	else
		*addr = (*addr & ~0xffffffffull) | value;
}

static void virtio_mmio_reg_write(struct vdev_virtio *vio, uint64_t off, uint32_t value)
{
	struct vdev_virtio_queue *q = virtio_selected(vio);
	bool idle = q && !q->ready;

	switch (off) {
	case VDEV_VIRTIO_MMIO_DEV_FEAT_SEL:
		vio->regs.device_features_sel = value;
		break;
	case VDEV_VIRTIO_MMIO_DRV_FEATURES:
		virtio_driver_features_write(vio, value);
		break;
	case VDEV_VIRTIO_MMIO_DRV_FEAT_SEL:
		vio->regs.driver_features_sel = value;
		break;
	case VDEV_VIRTIO_MMIO_QUEUE_SEL:
		vio->regs.queue_sel = (uint16_t)value;
		break;
	case VDEV_VIRTIO_MMIO_QUEUE_NUM:
		if (idle)
			q->size = (uint16_t)value;
		break;
	case VDEV_VIRTIO_MMIO_QUEUE_READY:
		if (q && (value & 1))
			virtio_queue_enable(vio, vio->regs.queue_sel);
		else if (q)
			q->ready = false;
		break;
	case VDEV_VIRTIO_MMIO_QUEUE_NOTIFY:
		virtio_kick(vio, value & 0xffff);
		break;
	case VDEV_VIRTIO_MMIO_INT_ACK:
		vio->regs.isr &= (uint8_t)~value;
		virtio_update_line(vio);
		break;
	case VDEV_VIRTIO_MMIO_STATUS:
		virtio_status_write(vio, (uint8_t)value);
		break;
	case VDEV_VIRTIO_MMIO_QUEUE_DESC:
	case VDEV_VIRTIO_MMIO_QUEUE_DESC + 4:
		if (idle)
			virtio_set_half(&q->desc, off & 4, value);
		break;
	case VDEV_VIRTIO_MMIO_QUEUE_DRIVER:
	case VDEV_VIRTIO_MMIO_QUEUE_DRIVER + 4:
		if (idle)
			virtio_set_half(&q->driver, off & 4, value);
		break;
	case VDEV_VIRTIO_MMIO_QUEUE_DEVICE:
	case VDEV_VIRTIO_MMIO_QUEUE_DEVICE + 4:
		if (idle)
			virtio_set_half(&q->device, off & 4, value);
		break;
	default:
		break; /* read-only or reserved: ignored (4.2.2.1) */
	}
}

/* 4.2.2: registers are 32-bit, aligned; the configuration any width. */
static int virtio_mmio_read(struct vdev_virtio *vio, uint64_t off, unsigned size, uint64_t *value)
{
	if (off >= VDEV_VIRTIO_MMIO_CONFIG)
		*value = virtio_config_read(vio, off - VDEV_VIRTIO_MMIO_CONFIG, size);
	else
		*value = size == 4 && !(off & 3) ? virtio_mmio_reg_read(vio, off) : 0;
	return 0;
}

static int virtio_mmio_write(struct vdev_virtio *vio, uint64_t off, unsigned size, uint64_t value)
{
	if (off >= VDEV_VIRTIO_MMIO_CONFIG)
		virtio_config_write(vio, off - VDEV_VIRTIO_MMIO_CONFIG, size, value);
	else if (size == 4 && !(off & 3))
		virtio_mmio_reg_write(vio, off, (uint32_t)value);
	return 0;
}

/* ------------------------------------------------------------ PCI */

/* The common configuration structure (4.1.4.3) as bytes. */
static void virtio_pci_common_image(struct vdev_virtio *vio, uint8_t b[0x40])
{
	struct vdev_virtio_queue *q = virtio_selected(vio);

	memset(b, 0, 0x40);
	put_le(b + 0x00, 4, vio->regs.device_features_sel);
	put_le(b + 0x04, 4, virtio_device_features_word(vio));
	put_le(b + 0x08, 4, vio->regs.driver_features_sel);
	if (vio->regs.driver_features_sel < 2)
		put_le(
		    b + 0x0c, 4,
		    (uint32_t)(vio->regs.driver_features >> (32 * vio->regs.driver_features_sel)));
	put_le(b + 0x10, 2, vio->regs.config_msix_vector);
	put_le(b + 0x12, 2, vio->info.queue_count);
	b[0x14] = vio->regs.status;
	b[0x15] = vio->regs.config_generation;
	put_le(b + 0x16, 2, vio->regs.queue_sel);
	if (!q)
		return; /* 4.1.4.3.2: queue_size 0 for a queue that does not exist */
	put_le(b + 0x18, 2, q->size);
	put_le(b + 0x1a, 2, q->msix_vector);
	put_le(b + 0x1c, 2, q->ready);
	put_le(b + 0x1e, 2, vio->regs.queue_sel); /* queue_notify_off */
	put_le(b + 0x20, 8, q->desc);
	put_le(b + 0x28, 8, q->driver);
	put_le(b + 0x30, 8, q->device);
}

/* A vector the driver assigns: kept when the table has it, else NO_VECTOR
 * (which the driver reads back as "mapping failed"). */
static uint16_t virtio_pci_vector(const struct vdev_virtio *vio, uint16_t v)
{
	return v < vio->pci.msix_vectors ? v : VDEV_VIRTIO_NO_VECTOR;
}

static void virtio_pci_common_write(struct vdev_virtio *vio, uint64_t off, unsigned size,
				    uint64_t value)
{
	static const struct {
		uint8_t off, size;
	} fields[] = {
	    {0x00, 4}, {0x08, 4}, {0x0c, 4}, {0x10, 2}, {0x14, 1}, {0x16, 2},
	    {0x18, 2}, {0x1a, 2}, {0x1c, 2}, {0x20, 8}, {0x28, 8}, {0x30, 8},
	};
	uint8_t b[0x40];

	if (off >= VDEV_VIRTIO_PCI_COMMON_SIZE || size > VDEV_VIRTIO_PCI_COMMON_SIZE - off)
		return;
	virtio_pci_common_image(vio, b);
	put_le(b + off, size, value);
	/* apply every field the write touched, in register order */
	for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		unsigned fo = fields[i].off, fs = fields[i].size;
		struct vdev_virtio_queue *q = virtio_selected(vio);
		uint64_t v = get_le(b + fo, fs);

		if (off >= fo + fs || off + size <= fo)
			continue;
		switch (fo) {
		case 0x00:
			vio->regs.device_features_sel = (uint32_t)v;
			break;
		case 0x08:
			vio->regs.driver_features_sel = (uint32_t)v;
			break;
		case 0x0c:
			virtio_driver_features_write(vio, (uint32_t)v);
			break;
		case 0x10:
			vio->regs.config_msix_vector = virtio_pci_vector(vio, (uint16_t)v);
			break;
		case 0x14:
			virtio_status_write(vio, (uint8_t)v);
			break;
		case 0x16:
			vio->regs.queue_sel = (uint16_t)v;
			break;
		case 0x18:
			if (q && !q->ready)
				q->size = (uint16_t)v;
			break;
		case 0x1a:
			if (q)
				q->msix_vector = virtio_pci_vector(vio, (uint16_t)v);
			break;
		case 0x1c:
			/* 4.1.4.3.2: the driver never writes 0 (no RING_RESET) */
			if (q && v == 1)
				virtio_queue_enable(vio, vio->regs.queue_sel);
			break;
		case 0x20:
			if (q && !q->ready)
				q->desc = v;
			break;
		case 0x28:
			if (q && !q->ready)
				q->driver = v;
			break;
		case 0x30:
			if (q && !q->ready)
				q->device = v;
			break;
		}
	}
}

static int virtio_pci_bar_read(struct vdev_virtio *vio, const struct vdev_access *a,
			       uint64_t *value)
{
	uint64_t off = a->offset;
	uint8_t b[0x40];

	*value = 0;
	if (vdev_pci_is_msix(&vio->pci, a))
		return vdev_pci_msix_read(&vio->pci, a, value);
	if (off < VDEV_VIRTIO_PCI_COMMON_SIZE && a->size <= VDEV_VIRTIO_PCI_COMMON_SIZE - off) {
		virtio_pci_common_image(vio, b);
		*value = get_le(b + off, a->size);
	} else if (off == VDEV_VIRTIO_PCI_ISR) {
		/* 4.1.4.5: reading the ISR clears it and deasserts INTx */
		*value = vio->regs.isr;
		vio->regs.isr = 0;
		virtio_update_line(vio);
	} else if (off >= VDEV_VIRTIO_PCI_DEVICE_CFG &&
		   off < VDEV_VIRTIO_PCI_DEVICE_CFG + VDEV_VIRTIO_CONFIG_MAX) {
		*value = virtio_config_read(vio, off - VDEV_VIRTIO_PCI_DEVICE_CFG, a->size);
	}
	return 0;
}

static int virtio_pci_bar_write(struct vdev_virtio *vio, const struct vdev_access *a,
				uint64_t value)
{
	uint64_t off = a->offset;

	if (vdev_pci_is_msix(&vio->pci, a))
		return vdev_pci_msix_write(&vio->pci, a, value);
	if (off < VDEV_VIRTIO_PCI_COMMON_SIZE)
		virtio_pci_common_write(vio, off, a->size, value);
	else if (off >= VDEV_VIRTIO_PCI_DEVICE_CFG &&
		 off < VDEV_VIRTIO_PCI_DEVICE_CFG + VDEV_VIRTIO_CONFIG_MAX)
		virtio_config_write(vio, off - VDEV_VIRTIO_PCI_DEVICE_CFG, a->size, value);
	else if (off >= VDEV_VIRTIO_PCI_NOTIFY &&
		 off < VDEV_VIRTIO_PCI_NOTIFY +
			   (uint64_t)vio->info.queue_count * VDEV_VIRTIO_PCI_NOTIFY_MULTIPLIER)
		virtio_kick(vio,
			    (off - VDEV_VIRTIO_PCI_NOTIFY) / VDEV_VIRTIO_PCI_NOTIFY_MULTIPLIER);
	return 0;
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): a window into BAR 4 through
 * configuration space, for drivers that cannot map the BAR. An access to
 * pci_cfg_data becomes a BAR access of cap.length bytes at cap.offset.
 */
static bool virtio_pci_cfg_window(struct vdev_virtio *vio, const struct vdev_access *a, bool write,
				  uint64_t *value)
{
	unsigned data = vio->pci_cfg_cap + VIRTIO_CAP_DATA;
	struct vdev_access bar_access;
	uint32_t bar, offset, length;

	if (!vio->pci_cfg_cap || a->offset + a->size <= data || a->offset >= data + 4)
		return false;
	bar = vdev_pci_cfg_get(&vio->pci, vio->pci_cfg_cap + VIRTIO_CAP_BAR, 1);
	offset = vdev_pci_cfg_get(&vio->pci, vio->pci_cfg_cap + VIRTIO_CAP_OFFSET, 4);
	length = vdev_pci_cfg_get(&vio->pci, vio->pci_cfg_cap + VIRTIO_CAP_LENGTH, 4);
	if (!write)
		*value = 0;
	if (bar != VDEV_VIRTIO_PCI_BAR || (length != 1 && length != 2 && length != 4) ||
	    offset >= VDEV_VIRTIO_PCI_BAR_SIZE || length > VDEV_VIRTIO_PCI_BAR_SIZE - offset ||
	    (offset & (length - 1)))
		return true;
	bar_access = (struct vdev_access){
	    .region = vio->info.region_base + VDEV_VIRTIO_REGION_BAR,
	    .space = VDEV_SPACE_MMIO,
	    .offset = offset,
	    .size = (uint8_t)length,
	    .vcpu = a->vcpu,
	};
	if (write)
		virtio_pci_bar_write(vio, &bar_access, *value & ((1ull << (8 * length)) - 1));
	else
		virtio_pci_bar_read(vio, &bar_access, value);
	return true;
}

/* One vendor capability (struct virtio_pci_cap) pointing into BAR 4. */
static int virtio_pci_cap(struct vdev_virtio *vio, uint8_t type, uint8_t len, uint32_t offset,
			  uint32_t length, uint8_t *at)
{
	int err = vdev_pci_cap_add(&vio->pci, VDEV_PCI_CAP_ID_VENDOR, len, at);

	err = err ?: vdev_pci_cfg_set(&vio->pci, *at + VIRTIO_CAP_LEN, 1, len);
	err = err ?: vdev_pci_cfg_set(&vio->pci, *at + VIRTIO_CAP_CFG_TYPE, 1, type);
	err = err ?: vdev_pci_cfg_set(&vio->pci, *at + VIRTIO_CAP_BAR, 1, VDEV_VIRTIO_PCI_BAR);
	err = err ?: vdev_pci_cfg_set(&vio->pci, *at + VIRTIO_CAP_OFFSET, 4, offset);
	err = err ?: vdev_pci_cfg_set(&vio->pci, *at + VIRTIO_CAP_LENGTH, 4, length);
	return err;
}

static int virtio_pci_init(struct vdev_virtio *vio, const struct vdev_config *cfg)
{
	const struct vdev_virtio_info *info = &vio->info;
	struct vdev_pci_ident id = {
	    .vendor = VDEV_VIRTIO_PCI_VENDOR,
	    .device = (uint16_t)(VDEV_VIRTIO_PCI_DEVICE_BASE + info->device_id),
	    .class_code = info->pci_class,
	    .revision = VDEV_VIRTIO_PCI_REVISION,
	    .subsystem_vendor = VDEV_VIRTIO_PCI_VENDOR,
	    .subsystem = info->device_id,
	    .interrupt_pin = 1,
	};
	uint32_t bar_region = info->region_base + VDEV_VIRTIO_REGION_BAR;
	uint8_t at;
	int err;

	err = vdev_pci_init(&vio->pci, vio->host, vio->h, &id,
			    info->region_base + VDEV_VIRTIO_REGION_CFG);
	err = err
		  ?: vdev_pci_bar_declare(&vio->pci, VDEV_VIRTIO_PCI_BAR, VDEV_PCI_BAR_MEM64,
					  VDEV_VIRTIO_PCI_BAR_SIZE, 0, bar_region);
	err = err
		  ?: virtio_pci_cap(vio, VDEV_VIRTIO_PCI_CAP_COMMON, 16, VDEV_VIRTIO_PCI_COMMON,
				    VDEV_VIRTIO_PCI_COMMON_SIZE, &at);
	err = err
		  ?: virtio_pci_cap(vio, VDEV_VIRTIO_PCI_CAP_NOTIFY, 20, VDEV_VIRTIO_PCI_NOTIFY,
				    info->queue_count * VDEV_VIRTIO_PCI_NOTIFY_MULTIPLIER, &at);
	err = err
		  ?: vdev_pci_cfg_set(&vio->pci, at + VIRTIO_CAP_MULTIPLIER, 4,
				      VDEV_VIRTIO_PCI_NOTIFY_MULTIPLIER);
	err = err ?: virtio_pci_cap(vio, VDEV_VIRTIO_PCI_CAP_ISR, 16, VDEV_VIRTIO_PCI_ISR, 1, &at);
	if (info->config_size)
		err = err
			  ?: virtio_pci_cap(vio, VDEV_VIRTIO_PCI_CAP_DEVICE, 16,
					    VDEV_VIRTIO_PCI_DEVICE_CFG, info->config_size, &at);
	err = err ?: virtio_pci_cap(vio, VDEV_VIRTIO_PCI_CAP_PCI, 20, 0, 0, &at);
	if (!err) {
		vio->pci_cfg_cap = at;
		/* bar, offset and length are the driver's to set */
		err = vdev_pci_set_writable(&vio->pci, at + VIRTIO_CAP_BAR, 1, 0xff);
		err = err ?: vdev_pci_set_writable(&vio->pci, at + VIRTIO_CAP_OFFSET, 8, 0xff);
	}
	err = err
		  ?: vdev_pci_msix_add(&vio->pci, info->queue_count + 1, VDEV_VIRTIO_PCI_BAR,
				       VDEV_VIRTIO_PCI_MSIX_TABLE, VDEV_VIRTIO_PCI_MSIX_PBA);
	if (err) {
		vio->host->log(vio->h, VDEV_LOG_ERROR, "virtio-pci: cannot build the function: %s",
			       strerror(-err));
		return err;
	}
	if (vio->line)
		vdev_pci_set_intx_line(&vio->pci, vio->line);
	return vdev_pci_attach(&vio->pci, cfg);
}

/* ------------------------------------------------------------ placement */

static int virtio_mmio_init(struct vdev_virtio *vio, const struct vdev_loc *loc)
{
	int err;

	if (loc->space != VDEV_SPACE_MMIO) {
		vio->host->log(vio->h, VDEV_LOG_ERROR, "virtio-mmio needs a mem: loc, not io:");
		return -EINVAL;
	}
	if ((loc->length && loc->length < VDEV_VIRTIO_MMIO_SIZE) || (loc->base & 3)) {
		vio->host->log(vio->h, VDEV_LOG_ERROR,
			       "virtio-mmio at 0x%llx: the window is 0x%x bytes, 4-byte aligned",
			       (unsigned long long)loc->base, VDEV_VIRTIO_MMIO_SIZE);
		return -EINVAL;
	}
	err = vio->host->region_add(vio->h, VDEV_SPACE_MMIO, loc->base, VDEV_VIRTIO_MMIO_SIZE,
				    vio->info.region_base + VDEV_VIRTIO_REGION_MMIO);
	if (err) {
		vio->host->log(vio->h, VDEV_LOG_ERROR, "virtio-mmio: cannot map 0x%llx+0x%x: %s",
			       (unsigned long long)loc->base, VDEV_VIRTIO_MMIO_SIZE,
			       strerror(-err));
		return err;
	}
	vio->mmio_base = loc->base;
	return 0;
}

static int virtio_check_info(struct vdev_virtio *vio, const struct vdev_virtio_info *info)
{
	const char *bad = NULL;

	if (!info->ops || !info->ops->queue_notify)
		bad = "ops with queue_notify are required";
	else if (info->queue_count < 1 || info->queue_count > VDEV_VIRTIO_QUEUE_MAX)
		bad = "queue count out of range";
	else if (!is_pow2(info->queue_size) || info->queue_size > VDEV_VIRTIO_QUEUE_SIZE_MAX)
		bad = "queue size must be a power of two up to 1024";
	else if (info->config_size > VDEV_VIRTIO_CONFIG_MAX || (info->config_size && !info->config))
		bad = "device configuration too large or missing";
	else if (info->pci_class > 0xffffff)
		bad = "PCI class code wider than 24 bits";
	if (bad)
		vio->host->log(vio->h, VDEV_LOG_ERROR, "virtio: %s", bad);
	return bad ? -EINVAL : 0;
}

int vdev_virtio_init(struct vdev_virtio *vio, const struct vdev_host *host, vdev_host_t *h,
		     const struct vdev_config *cfg, const struct vdev_virtio_info *info)
{
	const struct vdev_loc *addr = NULL;
	bool pci_loc = false;
	int err;

	if (!vio || !host || !cfg || !info)
		return -EINVAL;
	memset(vio, 0, sizeof(*vio));
	vio->host = host;
	vio->h = h;
	vio->info = *info;
	err = virtio_check_info(vio, info);
	if (err)
		return err;
	vio->device_features = info->features | VDEV_VIRTIO_TRANSPORT_FEATURES;
	for (unsigned i = 0; i < cfg->loc_count; i++) {
		if (cfg->locs[i].kind == VDEV_LOC_ADDR && !addr)
			addr = &cfg->locs[i];
		else if (cfg->locs[i].kind != VDEV_LOC_ADDR)
			pci_loc = true;
	}
	/* qvm: PCI by default, MMIO when loc and intr are given */
	vio->transport = addr && cfg->intr_count && !pci_loc ? VDEV_VIRTIO_MMIO : VDEV_VIRTIO_PCI;
	if (addr && !cfg->intr_count && !pci_loc) {
		host->log(h, VDEV_LOG_ERROR,
			  "loc 0x%llx without intr: virtio-mmio needs both loc and intr (give "
			  "neither, or loc pci:0:DEV, for virtio-pci)",
			  (unsigned long long)addr->base);
		return -EINVAL;
	}
	if (cfg->intr_count) {
		err = host->intr_lookup(h, cfg->intrs[0], &vio->line);
		if (err) {
			host->log(h, VDEV_LOG_ERROR, "intr %s: %s", cfg->intrs[0], strerror(-err));
			return err;
		}
	}
	virtio_load_ram(vio);
	/* power-on values; the device's reset op is not called for this */
	virtio_regs_clear(vio);
	if (vio->transport == VDEV_VIRTIO_MMIO)
		return virtio_mmio_init(vio, addr);
	return virtio_pci_init(vio, cfg);
}

void vdev_virtio_destroy(struct vdev_virtio *vio)
{
	vio->dead = true;
	vdev_virtio_worker_free__(vio);
}

/* ------------------------------------------------------------ accesses */

bool vdev_virtio_owns(const struct vdev_virtio *vio, const struct vdev_access *a)
{
	if (vio->transport == VDEV_VIRTIO_MMIO)
		return a->space == VDEV_SPACE_MMIO &&
		       a->region == vio->info.region_base + VDEV_VIRTIO_REGION_MMIO;
	return vdev_pci_is_config(&vio->pci, a) ||
	       (a->space == VDEV_SPACE_MMIO &&
		a->region == vio->info.region_base + VDEV_VIRTIO_REGION_BAR);
}

int vdev_virtio_read(struct vdev_virtio *vio, const struct vdev_access *a, uint64_t *value)
{
	*value = 0;
	if (!vdev_virtio_owns(vio, a))
		return VDEV_ACCESS_BUS_ERROR;
	if (vio->transport == VDEV_VIRTIO_MMIO)
		return virtio_mmio_read(vio, a->offset, a->size, value);
	if (vdev_pci_is_config(&vio->pci, a)) {
		if (virtio_pci_cfg_window(vio, a, false, value))
			return 0;
		return vdev_pci_config_read(&vio->pci, a, value);
	}
	return virtio_pci_bar_read(vio, a, value);
}

int vdev_virtio_write(struct vdev_virtio *vio, const struct vdev_access *a, uint64_t value)
{
	if (!vdev_virtio_owns(vio, a))
		return VDEV_ACCESS_BUS_ERROR;
	if (vio->transport == VDEV_VIRTIO_MMIO)
		return virtio_mmio_write(vio, a->offset, a->size, value);
	if (vdev_pci_is_config(&vio->pci, a)) {
		if (virtio_pci_cfg_window(vio, a, true, &value))
			return 0;
		return vdev_pci_config_write(&vio->pci, a, value);
	}
	return virtio_pci_bar_write(vio, a, value);
}

void vdev_virtio_reset(struct vdev_virtio *vio)
{
	virtio_device_reset(vio);
	vio->regs.config_generation = 0;
	if (vio->transport == VDEV_VIRTIO_PCI)
		vdev_pci_reset(&vio->pci);
}

/* ------------------------------------------------------------ queries */

enum vdev_virtio_transport vdev_virtio_transport(const struct vdev_virtio *vio)
{
	return vio->transport;
}

uint8_t vdev_virtio_status(const struct vdev_virtio *vio)
{
	return vio->regs.status;
}

uint64_t vdev_virtio_features(const struct vdev_virtio *vio)
{
	return vio->regs.driver_features;
}

bool vdev_virtio_has_feature(const struct vdev_virtio *vio, unsigned bit)
{
	return bit < 64 && (vio->regs.driver_features & VDEV_VIRTIO_BIT(bit));
}

const struct vdev_virtio_queue *vdev_virtio_queue(const struct vdev_virtio *vio, unsigned queue)
{
	return queue < vio->info.queue_count ? &vio->regs.queue[queue] : NULL;
}

/* ------------------------------------------------------------ state */

static bool virtio_vector_valid(const struct vdev_virtio *vio, uint16_t v)
{
	return v == VDEV_VIRTIO_NO_VECTOR ||
	       (vio->transport == VDEV_VIRTIO_PCI && v < vio->pci.msix_vectors);
}

static bool virtio_queue_valid(const struct vdev_virtio *vio, const struct vdev_virtio_queue *q,
			       bool packed)
{
	if (!virtio_vector_valid(vio, q->msix_vector))
		return false;
	/* a queue off holds whatever the driver wrote; the indices are free
	 * running counters (every use is modulo the size): what a guest can
	 * produce, a restore accepts */
	if (!q->ready)
		return true;
	if (!virtio_queue_shape_ok(vio, q, packed))
		return false;
	/* packed: positions inside the ring (the device keeps them so) */
	return !packed || ((q->last_avail & 0x7fff) < q->size && (q->used_idx & 0x7fff) < q->size &&
			   (q->signalled_used & 0x7fff) < q->size);
}

static bool virtio_regs_valid(const struct vdev_virtio *vio, const struct vdev_virtio_regs *r)
{
	if ((r->status & ~VIRTIO_STATE_KNOWN) ||
	    (r->isr & ~(VDEV_VIRTIO_INT_QUEUE | VDEV_VIRTIO_INT_CONFIG)))
		return false;
	/* before FEATURES_OK the driver may have written anything */
	if ((r->status & VDEV_VIRTIO_S_FEATURES_OK) &&
	    ((r->driver_features & ~vio->device_features) ||
	     !(r->driver_features & VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_VERSION_1))))
		return false;
	if (!virtio_vector_valid(vio, r->config_msix_vector))
		return false;
	for (unsigned i = 0; i < vio->info.queue_count; i++)
		if (!virtio_queue_valid(vio, &r->queue[i],
					r->driver_features &
					    VDEV_VIRTIO_BIT(VDEV_VIRTIO_F_RING_PACKED)))
			return false;
	return true;
}

static void virtio_queue_state(struct vdev_state *st, struct vdev_virtio_queue *q)
{
	vdev_state_u16(st, &q->size);
	vdev_state_bool(st, &q->ready);
	vdev_state_u64(st, &q->desc);
	vdev_state_u64(st, &q->driver);
	vdev_state_u64(st, &q->device);
	vdev_state_u16(st, &q->last_avail);
	vdev_state_u16(st, &q->used_idx);
	vdev_state_u16(st, &q->signalled_used);
	vdev_state_bool(st, &q->signalled_valid);
	vdev_state_u16(st, &q->msix_vector);
}

void vdev_virtio_state(struct vdev_state *st, struct vdev_virtio *vio)
{
	bool restoring = vdev_state_restoring(st);
	struct vdev_virtio_regs *r = restoring ? &vio->staged : &vio->regs;
	struct vdev_pci *pci = restoring ? &vio->staged_pci : &vio->pci;
	uint8_t transport = (uint8_t)vio->transport;

	if (restoring) {
		vio->staged = vio->regs;
		vio->staged_pci = vio->pci;
		vio->staged_valid = false;
	} else {
		/* no request in flight in a saved state */
		vdev_virtio_worker_drain(vio);
	}
	vdev_state_u8(st, &transport);
	vdev_state_u8(st, &r->status);
	vdev_state_u8(st, &r->isr);
	vdev_state_u8(st, &r->config_generation);
	vdev_state_u32(st, &r->device_features_sel);
	vdev_state_u32(st, &r->driver_features_sel);
	vdev_state_u64(st, &r->driver_features);
	vdev_state_u16(st, &r->queue_sel);
	vdev_state_u16(st, &r->config_msix_vector);
	for (unsigned i = 0; i < vio->info.queue_count; i++)
		virtio_queue_state(st, &r->queue[i]);
	if (vio->transport == VDEV_VIRTIO_PCI)
		vdev_pci_state(st, pci);
	if (!restoring || vdev_state_error(st))
		return;
	if (transport != (uint8_t)vio->transport || !virtio_regs_valid(vio, r)) {
		vdev_state_invalid(st);
		return;
	}
	vio->staged_valid = true;
}

void vdev_virtio_restored(struct vdev_virtio *vio)
{
	if (!vio->staged_valid)
		return;
	vio->staged_valid = false;
	/* chains taken before belong to another life of the rings */
	vio->epoch++;
	vio->error_logged = false;
	vio->regs = vio->staged;
	if (vio->transport == VDEV_VIRTIO_PCI) {
		vio->pci = vio->staged_pci;
		vdev_pci_restored(&vio->pci);
	}
	virtio_update_line(vio);
}
