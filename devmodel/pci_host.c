/*
 * devmodel/pci_host.c: configuration mechanism #1 and the host bridge.
 *
 * CONFIG_ADDRESS (pio 0xcf8, 32-bit accesses only): bit 31 enable, bits
 * 23:16 bus, 15:11 device, 10:8 function, 7:2 register (bits 1:0 read as
 * 0). Byte and word accesses to 0xcf8-0xcfb are not configuration cycles:
 * they read all-ones and writes are dropped, unless another device has a
 * register there. The region is porous (iomap.h): on a PC the byte at
 * 0xcf9 is the south bridge's reset control register (PIIX3, vdevs/piix3),
 * which a plugin registers inside it.
 *
 * CONFIG_DATA (pio 0xcfc-0xcff, 1/2/4 bytes): with the enable bit set, an
 * access of n bytes at 0xcfc + k is a configuration access of n bytes at
 * register (CONFIG_ADDRESS & 0xfc) + k of that bus/device/function,
 * dispatched through the VM's iomap in VDEV_SPACE_PCICFG at
 * VDEV_PCICFG_ADDR(bus, dev, fn, reg), so the plugin that owns the
 * function's region answers (and may move its BARs from inside the call).
 * With the enable bit clear, reads return all-ones and writes are dropped.
 *
 * A function nobody owns reads all-ones (vendor 0xffff) and drops writes,
 * whatever the VM's `unsupported` policy says: that is what a real bus
 * does (a master abort on a configuration read returns all-ones), and it is
 * how every guest enumerates. The iomap treats pcicfg that way already;
 * this file also turns a device's error there into all-ones rather than
 * passing it to the backend.
 *
 * The host bridge (0:0.0): vendor 0x8086 device 0x1237 (i440FX), class
 * 0x060000, revision 2, a read-only header except cache line size and
 * latency timer (plain storage); everything else, chipset registers
 * included, reads 0. It is the fallback for a VM whose configuration has
 * no host bridge of its own: a vdev at pci:0:0 (vdevs/i440fx, with the
 * chipset registers firmware programs) takes the place, which is why
 * pci_host_attach_bridge runs after the vdevs.
 */
#include "devmodel/pci_host.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/vdev.h>

#include "devmodel/iomap.h"

#define PCI_HOST_ENABLE   0x80000000u
#define PCI_HOST_ADDR_MASK 0x80fffffcu /* enable, bus, dev, fn, register */

enum { PCI_HOST_REGION_ADDRESS, PCI_HOST_REGION_DATA, PCI_HOST_REGION_BRIDGE };

struct pci_host {
	struct iomap *map;
	struct iomap_owner ports, bridge;
	bool registered;
	_Atomic uint32_t address;
	pthread_mutex_t lock; /* the bridge's two writable bytes */
	uint8_t cfg[0x40];
};

/* --------------------------------------------------------------- ports */

static uint64_t pci_host_ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static int pci_host_data(struct pci_host *ph, uint64_t offset, unsigned size, bool is_write,
			 uint64_t *value, int32_t vcpu)
{
	uint32_t a = atomic_load_explicit(&ph->address, memory_order_acquire);
	uint64_t addr;
	int ret;

	if (!(a & PCI_HOST_ENABLE)) {
		if (!is_write)
			*value = pci_host_ones(size);
		return 0;
	}
	addr = VDEV_PCICFG_ADDR((a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
			       (a & 0xfc) + offset);
	ret = iomap_access(ph->map, VDEV_SPACE_PCICFG, addr, size, is_write, value, vcpu);
	if (ret < 0 && !is_write)
		*value = pci_host_ones(size);
	return 0;
}

static int pci_host_port_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
				unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	struct pci_host *ph = ctx;

	if (id == PCI_HOST_REGION_DATA)
		return pci_host_data(ph, offset, size, is_write, value, vcpu);
	if (offset != 0 || size != 4) {
		if (!is_write)
			*value = pci_host_ones(size);
		return 0;
	}
	if (is_write)
		atomic_store_explicit(&ph->address, (uint32_t)*value & PCI_HOST_ADDR_MASK,
				      memory_order_release);
	else
		*value = atomic_load_explicit(&ph->address, memory_order_acquire);
	return 0;
}

/* -------------------------------------------------------------- bridge */

static int pci_host_bridge_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
				  unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	struct pci_host *ph = ctx;
	uint64_t v = 0;

	pthread_mutex_lock(&ph->lock);
	for (unsigned i = 0; i < size; i++) {
		uint64_t off = offset + i;

		if (is_write) {
			if (off == 0x0c || off == 0x0d) /* cache line size, latency timer */
				ph->cfg[off] = (uint8_t)(*value >> (8 * i));
		} else if (off < sizeof(ph->cfg)) {
			v |= (uint64_t)ph->cfg[off] << (8 * i);
		}
	}
	pthread_mutex_unlock(&ph->lock);
	if (!is_write)
		*value = v;
	return 0;
}

static void pci_host_put(uint8_t *cfg, unsigned off, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size; i++)
		cfg[off + i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------ lifetime */

struct pci_host *pci_host_new(struct iomap *m)
{
	struct pci_host *ph = calloc(1, sizeof(*ph));

	if (!ph)
		return NULL;
	ph->map = m;
	pthread_mutex_init(&ph->lock, NULL);
	ph->ports = (struct iomap_owner){
		.name = "pci-host",
		.access = pci_host_port_access,
		.access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),
		.ctx = ph,
		.porous = true,
	};
	ph->bridge = (struct iomap_owner){
		.name = "pci-host bridge 0:0.0",
		.access = pci_host_bridge_access,
		.access_sizes = VDEV_ACCESS_SIZES_ALL,
		.ctx = ph,
	};
	pci_host_put(ph->cfg, 0x00, 2, PCI_HOST_VENDOR);
	pci_host_put(ph->cfg, 0x02, 2, PCI_HOST_DEVICE);
	pci_host_put(ph->cfg, 0x04, 2, 0x0006); /* memory decode, bus master */
	pci_host_put(ph->cfg, 0x06, 2, 0x0280); /* medium DEVSEL, fast back-to-back */
	pci_host_put(ph->cfg, 0x08, 1, PCI_HOST_REVISION);
	pci_host_put(ph->cfg, 0x09, 3, PCI_HOST_CLASS);
	return ph;
}

int pci_host_register_address(struct pci_host *ph)
{
	int ret = iomap_add(ph->map, VDEV_SPACE_PIO, PCI_HOST_CONFIG_ADDRESS, 4, &ph->ports,
			    PCI_HOST_REGION_ADDRESS, NULL);

	if (!ret)
		ph->registered = true;
	return ret;
}

int pci_host_register_ports(struct pci_host *ph)
{
	int ret = pci_host_register_address(ph);

	if (!ret)
		ret = iomap_add(ph->map, VDEV_SPACE_PIO, PCI_HOST_CONFIG_DATA, 4, &ph->ports,
				PCI_HOST_REGION_DATA, NULL);
	if (ret)
		iomap_remove_owner(ph->map, &ph->ports);
	return ret;
}

int pci_host_register_bridge(struct pci_host *ph)
{
	int ret = iomap_add(ph->map, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 0, 0, 0), 0x1000,
			    &ph->bridge, PCI_HOST_REGION_BRIDGE, NULL);

	if (!ret)
		ph->registered = true;
	return ret;
}

int pci_host_register(struct pci_host *ph)
{
	int ret = pci_host_register_ports(ph);

	if (!ret) {
		ret = pci_host_register_bridge(ph);
		if (ret)
			iomap_remove_owner(ph->map, &ph->ports);
	}
	if (ret)
		ph->registered = false;
	return ret;
}

void pci_host_free(struct pci_host *ph)
{
	if (!ph)
		return;
	if (ph->registered) {
		iomap_remove_owner(ph->map, &ph->ports);
		iomap_remove_owner(ph->map, &ph->bridge);
		iomap_drain(ph->map);
	}
	pthread_mutex_destroy(&ph->lock);
	free(ph);
}

uint32_t pci_host_config_address(const struct pci_host *ph)
{
	return atomic_load_explicit(&((struct pci_host *)ph)->address, memory_order_acquire);
}
