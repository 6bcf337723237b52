/*
 * samples/guests/pci.c: PCI enumeration through configuration mechanism #1
 * (0xcf8/0xcfc), as a BIOS does.
 *
 * Checks: the host bridge at 0:0.0 (8086:1237, class 06/00); a scan of bus 0
 * finds the pci-dummy of samples/pci.vmconf (1234:5678) and nothing answers
 * at an empty slot (vendor 0xffff); its BAR 0 sizes as 4 KiB memory; its
 * registers answer at the BAR's address (ID = vendor | device << 16, a
 * scratch register keeps what is written); the guest moves the BAR and the
 * registers follow, the old address no longer decodes.
 *
 * vdm: samples/pci.vmconf. Not run on QEMU's microvm, which has no CF8/CFC
 * host bridge; on a machine without a pci-dummy the guest reports "SKIP
 * pci-dummy" after the host-bridge checks.
 */
#include "rt/rt.h"

#define CFG_ADDR 0xcf8
#define CFG_DATA 0xcfc

static uint32_t cfg_read(unsigned dev, unsigned reg)
{
	outl(CFG_ADDR, 0x80000000u | dev << 11 | (reg & 0xfc));
	return inl(CFG_DATA);
}

static void cfg_write(unsigned dev, unsigned reg, uint32_t v)
{
	outl(CFG_ADDR, 0x80000000u | dev << 11 | (reg & 0xfc));
	outl(CFG_DATA, v);
}

void guest_main(void)
{
	unsigned dummy = 0, empty = 0, found = 0;

	rt_check("pci-host-bridge", cfg_read(0, 0x00) == 0x12378086u &&
					    (cfg_read(0, 0x08) >> 16) == 0x0600);
	for (unsigned dev = 1; dev < 32; dev++) {
		uint32_t id = cfg_read(dev, 0x00);
		if ((id & 0xffff) == 0xffff) {
			if (!empty)
				empty = dev;
			continue;
		}
		rt_printf("pci: 0:%u.0 %04x:%04x class %06x\n", dev, (unsigned)(id & 0xffff),
			  (unsigned)(id >> 16), (unsigned)(cfg_read(dev, 0x08) >> 8));
		if (id == 0x56781234u) {
			dummy = dev;
			found++;
		}
	}
	rt_check("pci-empty-slot-reads-ones", empty && cfg_read(empty, 0x00) == 0xffffffffu);
	if (!found) {
		rt_printf("SKIP pci-dummy: none on bus 0\n");
		return;
	}
	rt_check("pci-dummy-found-once", found == 1);

	/* BAR 0: save, write all-ones, read the size mask, restore */
	uint32_t bar = cfg_read(dummy, 0x10);
	cfg_write(dummy, 0x10, 0xffffffffu);
	uint32_t mask = cfg_read(dummy, 0x10);
	cfg_write(dummy, 0x10, bar);
	rt_printf("pci: BAR0 %08x, mask %08x\n", (unsigned)bar, (unsigned)mask);
	rt_check("pci-bar-memory-4k", (bar & 1) == 0 && (mask & ~0xfu) == 0xfffff000u);
	rt_check("pci-bar-restored", cfg_read(dummy, 0x10) == bar);

	uintptr_t base = bar & ~0xfu;
	rt_check("pci-bar-decodes", mmio_read32(base) == 0x56781234u);
	mmio_write32(base + 0x10, 0xc0ffee11u);
	rt_check("pci-scratch", mmio_read32(base + 0x10) == 0xc0ffee11u);

	/* move it 1 MiB up: the registers follow, the old place is empty */
	uintptr_t moved = base + 0x100000;
	cfg_write(dummy, 0x10, (uint32_t)moved);
	rt_check("pci-bar-moved", mmio_read32(moved) == 0x56781234u &&
					  mmio_read32(moved + 0x10) == 0xc0ffee11u);
	rt_check("pci-old-bar-empty", mmio_read32(base) == 0xffffffffu);
}
