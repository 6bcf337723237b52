/*
 * samples/guests/rt/virtio.c: the sample guests' virtio-mmio driver; the
 * contract is rt/virtio.h.
 */
#include "rt/virtio.h"
#include "rt/pc.h"
#include "rt/rt.h"

static struct rt_virtio *irq_device; /* the one device rt_virtio_irq_attach serves */

uint32_t rt_virtio_read(const struct rt_virtio *v, unsigned reg)
{
	return mmio_read32(v->base + reg);
}

void rt_virtio_write(const struct rt_virtio *v, unsigned reg, uint32_t value)
{
	mmio_write32(v->base + reg, value);
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

bool rt_virtio_find(struct rt_virtio *v, uint32_t device_id)
{
	char value[64];
	const char *p = rt_cmdline_value("virtio_mmio.device", value, sizeof(value));

	v->base = 0xfeb00000u;
	v->irq = 5;
	while (p && *p && *p != '@')
		p++;
	if (p && *p == '@') {
		v->base = (uintptr_t)parse_hex(p + 1, &p);
		if (*p == ':') {
			v->irq = 0;
			for (p++; *p >= '0' && *p <= '9'; p++)
				v->irq = v->irq * 10 + (unsigned)(*p - '0');
		}
	}
	v->msi_vector = 0;
	if (rt_cmdline_value("virtio-msi", value, sizeof(value))) {
		const char *end;

		v->msi_vector = (uint8_t)parse_hex(value, &end);
	}
	rt_printf("virtio-mmio at 0x%x irq %u%s: magic %08x version %u device %u\n",
		  (unsigned)v->base, v->irq, v->msi_vector ? " (as an MSI)" : "",
		  rt_virtio_read(v, VIRTIO_MMIO_MAGIC), rt_virtio_read(v, VIRTIO_MMIO_VERSION),
		  rt_virtio_read(v, VIRTIO_MMIO_DEVICE_ID));
	return rt_virtio_read(v, VIRTIO_MMIO_MAGIC) == 0x74726976 &&
	       rt_virtio_read(v, VIRTIO_MMIO_VERSION) == 2 &&
	       rt_virtio_read(v, VIRTIO_MMIO_DEVICE_ID) == device_id;
}

uint64_t rt_virtio_device_features(struct rt_virtio *v)
{
	uint64_t f;

	rt_virtio_write(v, VIRTIO_MMIO_DEV_FEAT_SEL, 1);
	f = (uint64_t)rt_virtio_read(v, VIRTIO_MMIO_DEV_FEATURES) << 32;
	rt_virtio_write(v, VIRTIO_MMIO_DEV_FEAT_SEL, 0);
	return f | rt_virtio_read(v, VIRTIO_MMIO_DEV_FEATURES);
}

uint32_t rt_virtio_negotiate(struct rt_virtio *v, uint64_t features)
{
	rt_virtio_write(v, VIRTIO_MMIO_STATUS, 0);
	rt_virtio_write(v, VIRTIO_MMIO_STATUS, VIRTIO_S_ACK);
	rt_virtio_write(v, VIRTIO_MMIO_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
	rt_virtio_write(v, VIRTIO_MMIO_DRV_FEAT_SEL, 0);
	rt_virtio_write(v, VIRTIO_MMIO_DRV_FEATURES, (uint32_t)features);
	rt_virtio_write(v, VIRTIO_MMIO_DRV_FEAT_SEL, 1);
	rt_virtio_write(v, VIRTIO_MMIO_DRV_FEATURES, (uint32_t)(features >> 32));
	rt_virtio_write(v, VIRTIO_MMIO_STATUS,
			VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	return rt_virtio_read(v, VIRTIO_MMIO_STATUS);
}

bool rt_virtio_queue_setup(struct rt_virtio *v, unsigned q, struct rt_virtq_storage *s)
{
	uint8_t *p = (uint8_t *)s;

	for (unsigned i = 0; i < sizeof(*s); i++)
		p[i] = 0;
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_SEL, q);
	if (rt_virtio_read(v, VIRTIO_MMIO_QUEUE_READY) != 0 ||
	    rt_virtio_read(v, VIRTIO_MMIO_QUEUE_MAX) < RT_VIRTQ_SIZE)
		return false;
	s->size = RT_VIRTQ_SIZE;
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_NUM, RT_VIRTQ_SIZE);
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_DESC, (uint32_t)(uintptr_t)s->desc);
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_DESC + 4, 0);
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_DRIVER, (uint32_t)(uintptr_t)&s->avail);
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_DRIVER + 4, 0);
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_DEVICE, (uint32_t)(uintptr_t)&s->used);
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_DEVICE + 4, 0);
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_READY, 1);
	return rt_virtio_read(v, VIRTIO_MMIO_QUEUE_READY) == 1;
}

void rt_virtio_post(struct rt_virtq_storage *s, uint16_t head)
{
	s->avail.ring[s->avail.idx % s->size] = head;
	/* the entry before the index that publishes it */
	__atomic_store_n(&s->avail.idx, (uint16_t)(s->avail.idx + 1), __ATOMIC_RELEASE);
}

void rt_virtio_kick(struct rt_virtio *v, unsigned q)
{
	/* the index is visible before the notification */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	rt_virtio_write(v, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

uint16_t rt_virtio_used_idx(struct rt_virtq_storage *s)
{
	return __atomic_load_n(&s->used.idx, __ATOMIC_ACQUIRE);
}

static void virtio_irq_handler(struct rt_irq_frame *frame)
{
	struct rt_virtio *v = irq_device;
	uint32_t isr = rt_virtio_read(v, VIRTIO_MMIO_INT_STATUS);

	/* ACK before EOI: the level line drops, the pin does not fire again */
	rt_virtio_write(v, VIRTIO_MMIO_INT_ACK, isr);
	v->isr_seen |= isr;
	v->interrupts++;
	lapic_write(LAPIC_EOI, 0);
}

void rt_virtio_irq_attach(struct rt_virtio *v, uint8_t vector)
{
	irq_device = v;
	if (v->msi_vector) {
		rt_irq_set_handler(v->msi_vector, virtio_irq_handler);
		return;
	}
	rt_irq_set_handler(vector, virtio_irq_handler);
	ioapic_route(v->irq, vector, true, false);
}

void rt_virtio_irq_detach(struct rt_virtio *v, uint8_t vector)
{
	if (!v->msi_vector)
		ioapic_route(v->irq, vector, true, true);
}

void rt_virtio_wait_used(struct rt_virtio *v, struct rt_virtq_storage *s, uint16_t target,
			 uint32_t us)
{
	uint64_t end = clock_ticks() + clock_us_to_ticks(us);

	/* each sleep ends at the next interrupt, or the 2 ms heartbeat */
	while ((uint16_t)(rt_virtio_used_idx(s) - target) >= 0x8000 && clock_ticks() < end)
		clock_sleep_us(2000, &v->interrupts, v->interrupts + 1);
}
