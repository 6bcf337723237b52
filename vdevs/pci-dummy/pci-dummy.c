/*
 * vdevs/pci-dummy/pci-dummy.c: a PCI function that does nothing but exist.
 *
 * It occupies function 0 of a device number so that the guest scans the
 * other functions (a multi-function device passed through at 0:N.1 needs
 * something at 0:N.0, as with qvm's pci-dummy), and it gives enumeration
 * tests a function with known identity and an optional memory BAR.
 *
 *	vdev pci-dummy loc pci:0:5.0
 *	vdev pci-dummy vendor 0x1af4 device 0x1000 class 0x020000 bar-size 4k
 *	vdev pci-dummy bar-size 64k bar-64 loc pci:0:7 loc mem:0xd0000000
 *
 * Options: `vendor`, `device`, `class` (24-bit class code: base, sub,
 * prog-if), `revision`, `multifunction` (header type bit 7; on by default,
 * since function 0 of several is what the device is for), `bar-size` (0 =
 * no BAR; else a power of two from 256 bytes to 1 GiB: memory BAR 0),
 * `bar-64` (a 64-bit BAR). Placement and BAR addresses follow the SDK's
 * PCI helper (sdk/PCI.md): `loc pci:0:DEV[.FN]` or the first free device
 * number; `loc mem:ADDR` for the BAR, else the default window.
 *
 * BAR 0 register file (any width 1/2/4/8):
 *	0x00       ID       RO  vendor | device << 16
 *	0x04..0xff SCRATCH  RW  plain storage, reset to 0
 *	0x100..             reads 0, writes ignored
 * No interrupt (pin 0); `intr` is refused.
 *
 * Expansion ROM (option `rom-file FILE`, at most 64 KiB): the file's bytes
 * behind the ROM BAR (0x30), sized as the PCI spec says (a power of two
 * from 2 KiB, bits 31:11 address, bit 0 enable) and readable while the
 * enable bit and COMMAND's memory decode are set. hvmloader places it
 * and SeaBIOS runs x86 images whose PCI data structure names this
 * function's vendor and device (tests/xen-e2e uses that to run checks
 * inside a real HVM guest before any disk exists). Without `rom-file` the
 * register reads 0.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#define DUMMY_NAME	    "pci-dummy"
#define DUMMY_STATE_VERSION 1
#define DUMMY_CFG_REGION    0
#define DUMMY_BAR_REGION    1
#define DUMMY_REGS	    0x100u
#define DUMMY_SCRATCH	    4u /* first scratch byte */
#define DUMMY_ROM_REGION    2
#define DUMMY_ROM_MAX	    0x10000u
#define DUMMY_ROM_MIN	    0x800u

enum dummy_option {
	DUMMY_OPT_VENDOR,
	DUMMY_OPT_DEVICE,
	DUMMY_OPT_CLASS,
	DUMMY_OPT_REVISION,
	DUMMY_OPT_MULTIFUNCTION,
	DUMMY_OPT_BAR_SIZE,
	DUMMY_OPT_BAR_64,
	DUMMY_OPT_ROM,
	DUMMY_OPT_COUNT
};

static const struct vdev_option_spec dummy_options[DUMMY_OPT_COUNT] = {
    [DUMMY_OPT_VENDOR] =
	{
	    .name = "vendor",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0x1234",
	    .help = "PCI vendor ID (1..0xfffe)",
	    .min = 1,
	    .max = 0xfffe,
	},
    [DUMMY_OPT_DEVICE] =
	{
	    .name = "device",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0x0d01",
	    .help = "PCI device ID",
	    .min = 0,
	    .max = 0xffff,
	},
    [DUMMY_OPT_CLASS] =
	{
	    .name = "class",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0xff0000",
	    .help = "24-bit class code (base << 16 | sub << 8 | prog-if)",
	    .min = 0,
	    .max = 0xffffff,
	},
    [DUMMY_OPT_REVISION] =
	{
	    .name = "revision",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0",
	    .help = "revision ID",
	    .min = 0,
	    .max = 0xff,
	},
    [DUMMY_OPT_MULTIFUNCTION] =
	{
	    .name = "multifunction",
	    .type = VDEV_OPT_BOOL,
	    .default_value = "on",
	    .help = "set the multi-function bit so that guests scan functions 1..7",
	},
    [DUMMY_OPT_BAR_SIZE] =
	{
	    .name = "bar-size",
	    .type = VDEV_OPT_SIZE,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0",
	    .help = "memory BAR 0 size: 0 (none) or a power of two, 256..1G",
	    .min = 0,
	    .max = 1ll << 30,
	},
    [DUMMY_OPT_ROM] =
	{
	    .name = "rom-file",
	    .type = VDEV_OPT_STRING,
	    .help = "file to show behind the expansion ROM BAR (at most 64 KiB)",
	},
    [DUMMY_OPT_BAR_64] =
	{
	    .name = "bar-64",
	    .type = VDEV_OPT_BOOL,
	    .flags = VDEV_OPTF_NOARG,
	    .default_value = "off",
	    .help = "make BAR 0 a 64-bit memory BAR",
	},
};

struct dummy {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_pci pci;
	uint32_t id;
	uint8_t scratch[DUMMY_REGS - DUMMY_SCRATCH];
	uint8_t *rom;	     /* the image, rom_size bytes (zero-padded), or NULL */
	uint32_t rom_size;   /* a power of two, the BAR's size */
	uint32_t rom_mapped; /* where its region is, 0: not mapped */
};

/* The ROM file, padded to a power of two of at least 2 KiB. */
static int dummy_rom_load(struct dummy *d, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = calloc(1, DUMMY_ROM_MAX + 1);
	size_t n = 0;

	if (!f || !buf) {
		d->host->log(d->h, VDEV_LOG_ERROR, "rom-file %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		free(buf);
		return -ENOENT;
	}
	n = fread(buf, 1, DUMMY_ROM_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > DUMMY_ROM_MAX) {
		d->host->log(d->h, VDEV_LOG_ERROR, "rom-file %s: %zu bytes; 1 to 64 KiB", path, n);
		free(buf);
		return -EINVAL;
	}
	d->rom_size = DUMMY_ROM_MIN;
	while (d->rom_size < n)
		d->rom_size <<= 1;
	d->rom = buf;
	return 0;
}

/* Map the ROM exactly while it is enabled, decoded and placed. */
static void dummy_rom_map(struct dummy *d)
{
	uint32_t bar = vdev_pci_cfg_get(&d->pci, VDEV_PCI_ROM, 4);
	uint32_t at = bar & ~(d->rom_size - 1);
	int err;

	if (!d->rom)
		return;
	if (!(bar & 1) || !(vdev_pci_cfg_get(&d->pci, VDEV_PCI_COMMAND, 2) & VDEV_PCI_CMD_MEMORY))
		at = 0;
	if (at == d->rom_mapped)
		return;
	if (d->rom_mapped)
		d->host->region_remove(d->h, DUMMY_ROM_REGION);
	d->rom_mapped = 0;
	if (!at)
		return;
	err = d->host->region_add(d->h, VDEV_SPACE_MMIO, at, d->rom_size, DUMMY_ROM_REGION);
	if (err) {
		d->host->log(d->h, VDEV_LOG_WARN, "ROM at 0x%x: %s; left unmapped", at,
			     strerror(-err));
		return;
	}
	d->rom_mapped = at;
}

/* A guest write to configuration space, with the ROM BAR this device keeps itself. */
static int dummy_config_write(struct dummy *d, const struct vdev_access *a, uint64_t value)
{
	uint32_t bar = vdev_pci_cfg_get(&d->pci, VDEV_PCI_ROM, 4);
	int err = vdev_pci_config_write(&d->pci, a, value);

	if (!d->rom)
		return err;
	for (unsigned i = 0; i < a->size; i++) {
		uint64_t off = a->offset + i;

		if (off >= VDEV_PCI_ROM && off < VDEV_PCI_ROM + 4) {
			unsigned shift = 8 * (unsigned)(off - VDEV_PCI_ROM);

			bar = (bar & ~(0xffu << shift)) | (uint32_t)((value >> (8 * i)) & 0xff)
							      << shift;
		}
	}
	vdev_pci_cfg_set(&d->pci, VDEV_PCI_ROM, 4,
			 (bar & ~(d->rom_size - 1) & 0xfffff800u) | (bar & 1));
	dummy_rom_map(d);
	return err;
}

static int dummy_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
			void **devp)
{
	const struct vdev_option_value *opt = cfg->options;
	struct vdev_pci_ident ident = {0};
	uint64_t bar_size;
	struct dummy *d;
	int err;

	if (cfg->option_count < DUMMY_OPT_COUNT)
		return -EINVAL;
	if (cfg->intr_count) {
		host->log(h, VDEV_LOG_ERROR, "raises no interrupt; remove `intr`");
		return -EINVAL;
	}
	bar_size = opt[DUMMY_OPT_BAR_SIZE].v.u;
	if (bar_size && (bar_size < DUMMY_REGS || (bar_size & (bar_size - 1)))) {
		host->log(h, VDEV_LOG_ERROR, "bar-size 0x%" PRIx64 ": 0 or a power of two >= 256",
			  bar_size);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	ident.vendor = (uint16_t)opt[DUMMY_OPT_VENDOR].v.u;
	ident.device = (uint16_t)opt[DUMMY_OPT_DEVICE].v.u;
	ident.class_code = (uint32_t)opt[DUMMY_OPT_CLASS].v.u;
	ident.revision = (uint8_t)opt[DUMMY_OPT_REVISION].v.u;
	ident.multifunction = opt[DUMMY_OPT_MULTIFUNCTION].v.b;
	d->id = ident.vendor | (uint32_t)ident.device << 16;
	err = vdev_pci_init(&d->pci, host, h, &ident, DUMMY_CFG_REGION);
	if (!err && bar_size)
		err = vdev_pci_bar_declare(
		    &d->pci, 0, opt[DUMMY_OPT_BAR_64].v.b ? VDEV_PCI_BAR_MEM64 : VDEV_PCI_BAR_MEM32,
		    bar_size, 0, DUMMY_BAR_REGION);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "bad PCI identity or BAR: %s", strerror(-err));
		goto fail;
	}
	if (!err && opt[DUMMY_OPT_ROM].count)
		err = dummy_rom_load(d, opt[DUMMY_OPT_ROM].v.s);
	if (!err && d->rom)
		err = vdev_pci_cfg_set(&d->pci, VDEV_PCI_ROM, 4, 0);
	if (err)
		goto fail;
	err = vdev_pci_attach(&d->pci, cfg);
	if (err)
		goto fail;
	host->log(h, VDEV_LOG_INFO, "pci:0:%u.%u %04x:%04x class %06x, BAR0 %s0x%" PRIx64,
		  d->pci.dev, d->pci.fn, ident.vendor, ident.device, ident.class_code,
		  bar_size ? "at " : "none ", vdev_pci_bar_address(&d->pci, 0));
	*devp = d;
	return 0;
fail:
	free(d->rom);
	free(d);
	return err;
}

static void dummy_destroy(void *dev)
{
	struct dummy *d = dev;

	free(d->rom);
	free(d);
}

static int dummy_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct dummy *d = dev;
	uint64_t v = 0;

	if (vdev_pci_is_config(&d->pci, access))
		return vdev_pci_config_read(&d->pci, access, value);
	for (unsigned i = 0; i < access->size; i++) {
		uint64_t off = access->offset + i;
		uint8_t b = 0;

		if (access->region == DUMMY_ROM_REGION)
			b = off < d->rom_size ? d->rom[off] : 0;
		else if (off < DUMMY_SCRATCH)
			b = (uint8_t)(d->id >> (8 * off));
		else if (off < DUMMY_REGS)
			b = d->scratch[off - DUMMY_SCRATCH];
		v |= (uint64_t)b << (8 * i);
	}
	*value = v;
	return 0;
}

static int dummy_write(void *dev, const struct vdev_access *access, uint64_t value)
{
	struct dummy *d = dev;

	if (vdev_pci_is_config(&d->pci, access))
		return dummy_config_write(d, access, value);
	if (access->region == DUMMY_ROM_REGION)
		return 0; /* read-only */
	for (unsigned i = 0; i < access->size; i++) {
		uint64_t off = access->offset + i;

		if (off >= DUMMY_SCRATCH && off < DUMMY_REGS)
			d->scratch[off - DUMMY_SCRATCH] = (uint8_t)(value >> (8 * i));
	}
	return 0;
}

static void dummy_reset(void *dev)
{
	struct dummy *d = dev;

	memset(d->scratch, 0, sizeof(d->scratch));
	vdev_pci_reset(&d->pci);
	dummy_rom_map(d);
}

static void dummy_state(struct vdev_state *st, struct dummy *d)
{
	vdev_pci_state(st, &d->pci);
	vdev_state_bytes(st, d->scratch, sizeof(d->scratch));
}

static ssize_t dummy_save(void *dev, void *buf, size_t cap)
{
	struct dummy copy = *(struct dummy *)dev;
	struct vdev_state st;

	if (vdev_state_save_begin(&st, buf, cap, DUMMY_NAME, DUMMY_STATE_VERSION) == 0)
		dummy_state(&st, &copy);
	return vdev_state_save_end(&st);
}

static int dummy_restore(void *dev, const void *buf, size_t length)
{
	struct dummy *d = dev;
	struct dummy *scratch = malloc(sizeof(*scratch));
	struct vdev_state st;
	int err;

	if (!scratch)
		return -ENOMEM;
	*scratch = *d;
	if (vdev_state_restore_begin(&st, buf, length, DUMMY_NAME, DUMMY_STATE_VERSION) == 0)
		dummy_state(&st, scratch);
	err = vdev_state_restore_end(&st);
	if (!err) {
		*d = *scratch;
		vdev_pci_restored(&d->pci);
		dummy_rom_map(d);
	}
	free(scratch);
	return err;
}

static int dummy_status(void *dev, char *buf, size_t cap)
{
	struct dummy *d = dev;
	int n = snprintf(buf, cap, "pci:0:%u.%u BAR0 0x%" PRIx64 "%s", d->pci.dev, d->pci.fn,
			 vdev_pci_bar_address(&d->pci, 0),
			 vdev_pci_bar_mapped(&d->pci, 0) ? " mapped" : "");

	return n < 0 ? -EINVAL : 0;
}

static const struct vdev_ops dummy_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = dummy_create,
    .destroy = dummy_destroy,
    .read = dummy_read,
    .write = dummy_write,
    .reset = dummy_reset,
    .save = dummy_save,
    .restore = dummy_restore,
    .status = dummy_status,
};

static const struct vdev_descriptor dummy_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = DUMMY_NAME,
    .version = "1.0.0",
    .description = "placeholder PCI function (configurable IDs, optional scratch memory BAR)",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZES_ALL,
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(DUMMY_NAME) - 1) + VDEV_PCI_STATE_SIZE +
		  VDEV_STATE_SIZE_BYTES(DUMMY_REGS - DUMMY_SCRATCH),
    .options = dummy_options,
    .option_count = DUMMY_OPT_COUNT,
    .ops = &dummy_ops,
};

VDEV_PLUGIN_ENTRY(dummy_descriptor)
