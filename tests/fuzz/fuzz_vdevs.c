/*
 * libFuzzer target for every in-tree device's registers, through the SDK
 * test host (vdev/testhost.h) as vdm would drive them: the first byte picks
 * the device, the rest is a sequence of guest reads and writes of any size
 * at any offset of any of its regions, with virtual time passing, resets
 * and save/restore round trips in between. A device must survive whatever
 * a guest writes: no crash, hang, leak or out-of-bounds access (ASan), and
 * its save/restore must accept what its own save produced.
 *
 * Each device's sources are compiled in (tests/fuzz/vdevs/NAME.c renames
 * its entry point), so the sanitizers and coverage see them. A new device
 * adds one wrapper there and one line to the table below.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/testhost.h>
#include <vdev/vdev.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEVICE(id) const struct vdev_descriptor *fuzz_entry_##id(void);
DEVICE(i8259)
DEVICE(debug_exit)
DEVICE(hpet)
DEVICE(ioapic)
DEVICE(mc146818)
DEVICE(pci_dummy)
DEVICE(pckeyboard)
DEVICE(ser8250)
DEVICE(timer8254)
DEVICE(wdt_ib700)

static const struct {
	const struct vdev_descriptor *(*entry)(void);
	const char *options;
} devices[] = {
    {fuzz_entry_i8259, "name pic0 intr cpu:0"},
    {fuzz_entry_debug_exit, "loc io:0xf4"},
    {fuzz_entry_hpet, "intr ioapic:2,ioapic:8 intr ioapic:11"},
    {fuzz_entry_ioapic, "name myioapic intr apic"},
    {fuzz_entry_mc146818, "intr pic:8"},
    {fuzz_entry_pci_dummy, ""},
    {fuzz_entry_pckeyboard, "intr pic:1 intr pic:12"},
    {fuzz_entry_ser8250, "intr pic:4"},
    {fuzz_entry_timer8254, "intr pic:0"},
    {fuzz_entry_wdt_ib700, "action dump,terminate"},
};

#define NDEV (sizeof(devices) / sizeof(devices[0]))

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned sizes[] = {1, 2, 4, 8};
	struct vdev_testhost_region regions[16];
	struct vdev_testhost *th;
	struct vdev_testdev *dev;
	const struct vdev_descriptor *desc;
	unsigned nregions;
	size_t at = 1;

	if (size < 1)
		return 0;
	desc = devices[data[0] % NDEV].entry();
	th = vdev_testhost_new();
	if (!th)
		return 0;
	vdev_testhost_add_intc(th, "pic", 16);
	vdev_testhost_add_intc(th, "ioapic", 24);
	vdev_testhost_add_intc(th, "apic", 1);
	vdev_testhost_add_intc(th, "cpu", 1);
	vdev_testhost_add_ram(th, 0, 0x100000);
	if (vdev_testhost_use(th, desc) < 0 ||
	    !(dev = vdev_testhost_create(th, desc, devices[data[0] % NDEV].options))) {
		/* a table entry that does not create is a broken target: say why */
		if (getenv("FUZZ_VDEVS_DEBUG"))
			fprintf(stderr, "%s: %s\n", desc->name, vdev_testhost_error(th));
		vdev_testhost_free(th);
		return 0;
	}
	vdev_testhost_start(th);
	nregions = vdev_testhost_regions(dev, regions, 16);
	if (nregions > 16)
		nregions = 16;
	/* 12-byte steps: op, region, size, -, offset (2), value (6) */
	while (nregions && at + 12 <= size && vdev_testhost_terminated(th) < 0) {
		const uint8_t *s = data + at;
		const struct vdev_testhost_region *r = &regions[s[1] % nregions];
		unsigned n = sizes[s[2] & 3];
		uint64_t offset = le(s + 4, 2) % (r->length ? r->length : 1);
		uint64_t value = le(s + 6, 6);

		at += 12;
		switch (s[0] & 7) {
		case 0:
		case 1:
		case 2:
		case 3:
			vdev_testhost_access(th, r->space, r->base + offset, n, true, &value, 0);
			break;
		case 4:
		case 5:
			vdev_testhost_access(th, r->space, r->base + offset, n, false, &value, 0);
			break;
		case 6:
			/* up to ~16 ms of virtual time: timers the guest programmed run */
			vdev_testhost_advance(th, value & 0xffffff);
			break;
		default:
			if (s[3] & 1) {
				vdev_testhost_reset(dev);
			} else {
				uint8_t buf[65536];
				ssize_t len = vdev_testhost_save(dev, buf, sizeof(buf));

				if (len >= 0 && vdev_testhost_restore(dev, buf, (size_t)len) < 0) {
					fprintf(stderr, "%s refused its own state: %s\n%s\n", desc->name,
						vdev_testhost_error(th), vdev_testhost_log(th));
					__builtin_trap(); /* its own state refused */
				}
			}
			break;
		}
	}
	vdev_testhost_destroy(dev);
	vdev_testhost_free(th);
	return 0;
}
