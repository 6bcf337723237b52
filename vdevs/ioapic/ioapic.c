/*
 * vdevs/ioapic/ioapic.c: an Intel 82093AA I/O APIC with 24 redirection
 * entries, delivering by MSI as KVM's split irqchip (and Xen's) expect.
 *
 * Registers (82093AA datasheet, section 3): the window at `loc` (default
 * mem:0xfec00000, 4 KiB claimed, as the MP specification spaces I/O APICs)
 * has IOREGSEL at +0x00 and IOWIN at +0x10, both 32-bit only; version 0x20
 * adds the EOI register at +0x40 (write a vector: remote IRR of the
 * level-triggered entries with that vector clears). Through IOWIN:
 *   0x00 IOAPICID  bits 27:24 ID (R/W)
 *   0x01 IOAPICVER bits 23:16 maximum redirection entry (0x17), 7:0 version
 *   0x02 IOAPICARB bits 27:24 arbitration ID (RO; loaded with the ID when
 *        the ID is written, as the APIC bus does after a reset)
 *   0x10 + 2n, 0x11 + 2n: redirection entry n, low and high dword.
 * Other indices read 0 and ignore writes.
 *
 * Delivery. An unmasked entry sends, when its pin asserts (edge) or while it
 * is asserted with remote IRR clear (level), one MSI through host->msi_send:
 *   address 0xfee00000 | destination << 12 | destination mode << 2
 *   data    vector | delivery mode << 8 | trigger mode << 15
 * the encoding KVM's KVM_SIGNAL_MSI and Xen's XEN_DMOP_inject_msi take. A
 * level entry then sets remote IRR until an EOI with its vector (the intc
 * eoi op, which the host calls for the local APIC's EOI broadcast, or the
 * version-0x20 EOI register); if the pin is still asserted the interrupt
 * is sent again. SMI, NMI, INIT and ExtINT are edge-only (datasheet,
 * delivery mode field), so they never set remote IRR. Delivery status
 * reads 0: a message is accepted when msi_send returns.
 *
 * Masked pins: the datasheet says edges on a masked pin are ignored (not
 * held pending) and so is a level assert; a level still asserted when the
 * entry is unmasked is a level on an unmasked pin and is delivered then.
 *
 * Polarity (INTPOL) is kept and read back but does not invert the input:
 * vdm's lines carry assertion (1 = the device requests), not voltage, so a
 * PCI line the guest programs active-low still asserts as 1. QEMU and KVM
 * do the same.
 *
 * Options: the common `loc`, `name` (other vdevs use `intr NAME:N`,
 * N 0..23) and `intr apic` (the only upstream: the local APICs, by MSI;
 * it is also the default); `version` 0x11 (82093AA, default) or 0x20;
 * `hostvector` is accepted and recorded (status shows it): on qvm it picks
 * a host interrupt for a PIC vdev, which has no meaning when the host
 * delivers by MSI.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/vdev.h>
#include <vdev/state.h>

#define IOAPIC_NAME	     "ioapic"
#define IOAPIC_STATE_VERSION 1
#define IOAPIC_PINS	     24
#define IOAPIC_DEFAULT_BASE  0xfec00000ull
#define IOAPIC_WINDOW	     0x1000ull

/* Window offsets. */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN	0x10
#define IOAPIC_EOI	0x40

/* Register indices. */
#define IOAPIC_REG_ID	 0x00
#define IOAPIC_REG_VER	 0x01
#define IOAPIC_REG_ARB	 0x02
#define IOAPIC_REG_REDIR 0x10

/* Redirection entry bits. */
#define RTE_VECTOR	  0xffull
#define RTE_DELMODE_SHIFT 8
#define RTE_DELMODE	  (7ull << RTE_DELMODE_SHIFT)
#define RTE_DESTMODE	  (1ull << 11)
#define RTE_DELIVS	  (1ull << 12)
#define RTE_POLARITY	  (1ull << 13)
#define RTE_REMOTE_IRR	  (1ull << 14)
#define RTE_LEVEL	  (1ull << 15)
#define RTE_MASK	  (1ull << 16)
#define RTE_DEST_SHIFT	  56
/* What software may write: everything but delivery status and remote IRR. */
#define RTE_WRITABLE                                                                               \
	(RTE_VECTOR | RTE_DELMODE | RTE_DESTMODE | RTE_POLARITY | RTE_LEVEL | RTE_MASK |           \
	 (0xffull << RTE_DEST_SHIFT))

#define MSI_ADDR_BASE 0xfee00000ull

enum { OPT_VERSION, OPT_HOSTVECTOR };
enum { VERSION_11, VERSION_20 };

static const char *const ioapic_versions[] = {"0x11", "0x20", NULL};

static const struct vdev_option_spec ioapic_options[] = {
    [OPT_VERSION] =
	{
	    .name = "version",
	    .type = VDEV_OPT_ENUM,
	    .default_value = "0x11",
	    .help = "IOAPICVER version: 0x11 (82093AA) or 0x20 (adds the EOI register at +0x40)",
	    .choices = ioapic_versions,
	},
    [OPT_HOSTVECTOR] =
	{
	    .name = "hostvector",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .help = "host interrupt vector (recorded; delivery is by MSI)",
	    .min = 0,
	    .max = 255,
	},
};

struct ioapic {
	const struct vdev_host *host;
	vdev_host_t *h;
	uint8_t version; /* 0x11 or 0x20 */
	int hostvector;	 /* -1 when not given */
	bool msi_warned; /* msi_send failed once: logged */
	/* Saved state. */
	uint32_t regsel; /* IOREGSEL, bits 7:0 */
	uint32_t id;	 /* IOAPICID, bits 27:24 */
	uint32_t arb;	 /* IOAPICARB, bits 27:24 */
	uint32_t input;	 /* pin levels as the host delivered them */
	uint64_t rte[IOAPIC_PINS];
};

/* ioapic_level_mode: does the entry take part in the remote IRR handshake? */
static bool ioapic_level_mode(uint64_t rte)
{
	unsigned mode = (unsigned)((rte & RTE_DELMODE) >> RTE_DELMODE_SHIFT);

	/* Fixed and lowest priority only; SMI, NMI, INIT, ExtINT are edge. */
	return (rte & RTE_LEVEL) && mode <= 1;
}

/* ioapic_send: one interrupt message for entry `pin`. */
static void ioapic_send(struct ioapic *a, unsigned pin)
{
	uint64_t rte = a->rte[pin];
	bool level = ioapic_level_mode(rte);
	uint64_t address = MSI_ADDR_BASE | ((rte >> RTE_DEST_SHIFT) & 0xff) << 12 |
			   ((rte & RTE_DESTMODE) ? 1u << 2 : 0);
	uint32_t data = (uint32_t)(rte & (RTE_VECTOR | RTE_DELMODE)) | (level ? 1u << 15 : 0);
	int rc;

	rc = a->host->msi_send(a->h, address, data);
	if (rc < 0 && !a->msi_warned) {
		a->msi_warned = true;
		a->host->log(a->h, VDEV_LOG_ERROR,
			     "pin %u: the host cannot send MSI 0x%llx/0x%x (%d): interrupts lost",
			     pin, (unsigned long long)address, data, rc);
	}
	if (level)
		a->rte[pin] |= RTE_REMOTE_IRR;
}

/* ioapic_service_level: deliver a level pin that is asserted, unmasked and idle. */
static void ioapic_service_level(struct ioapic *a, unsigned pin)
{
	uint64_t rte = a->rte[pin];

	if ((a->input & (1u << pin)) && !(rte & RTE_MASK) && ioapic_level_mode(rte) &&
	    !(rte & RTE_REMOTE_IRR))
		ioapic_send(a, pin);
}

static void ioapic_service_all(struct ioapic *a)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		ioapic_service_level(a, pin);
}

/* ioapic_eoi_vector: an EOI for `vector`, from the local APIC or the EOI register. */
static void ioapic_eoi_vector(struct ioapic *a, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		if ((a->rte[pin] & RTE_VECTOR) != vector || !(a->rte[pin] & RTE_REMOTE_IRR))
			continue;
		a->rte[pin] &= ~RTE_REMOTE_IRR;
		ioapic_service_level(a, pin);
	}
}

static uint32_t ioapic_reg_read(const struct ioapic *a)
{
	unsigned index = a->regsel & 0xff;

	switch (index) {
	case IOAPIC_REG_ID:
		return a->id;
	case IOAPIC_REG_VER:
		return (uint32_t)(IOAPIC_PINS - 1) << 16 | a->version;
	case IOAPIC_REG_ARB:
		return a->arb;
	default:
		break;
	}
	if (index >= IOAPIC_REG_REDIR && index < IOAPIC_REG_REDIR + 2 * IOAPIC_PINS) {
		uint64_t rte = a->rte[(index - IOAPIC_REG_REDIR) / 2];

		return (uint32_t)((index & 1) ? rte >> 32 : rte);
	}
	return 0;
}

static void ioapic_reg_write(struct ioapic *a, uint32_t value)
{
	unsigned index = a->regsel & 0xff, pin;
	uint64_t rte, newval;

	if (index == IOAPIC_REG_ID) {
		a->id = value & 0x0f000000u;
		a->arb = a->id;
		return;
	}
	if (index < IOAPIC_REG_REDIR || index >= IOAPIC_REG_REDIR + 2 * IOAPIC_PINS)
		return; /* VER, ARB and reserved indices are read-only */
	pin = (index - IOAPIC_REG_REDIR) / 2;
	rte = a->rte[pin];
	if (index & 1)
		newval = (rte & 0xffffffffull) | (uint64_t)value << 32;
	else
		newval = (rte & ~0xffffffffull) | value;
	newval = (newval & RTE_WRITABLE) | (rte & (RTE_REMOTE_IRR | RTE_DELIVS));
	/* Remote IRR means nothing for an edge entry: drop it on a switch. */
	if (!ioapic_level_mode(newval))
		newval &= ~RTE_REMOTE_IRR;
	a->rte[pin] = newval;
	ioapic_service_level(a, pin); /* an unmask of an asserted level pin */
}

static int ioapic_read(void *dev, const struct vdev_access *acc, uint64_t *value)
{
	struct ioapic *a = dev;

	switch (acc->offset) {
	case IOAPIC_IOREGSEL:
		*value = a->regsel;
		break;
	case IOAPIC_IOWIN:
		*value = ioapic_reg_read(a);
		break;
	default:
		*value = 0; /* the EOI register is write-only; the rest is unused */
		break;
	}
	return 0;
}

static int ioapic_write(void *dev, const struct vdev_access *acc, uint64_t value)
{
	struct ioapic *a = dev;

	switch (acc->offset) {
	case IOAPIC_IOREGSEL:
		a->regsel = (uint32_t)value & 0xff;
		break;
	case IOAPIC_IOWIN:
		ioapic_reg_write(a, (uint32_t)value);
		break;
	case IOAPIC_EOI:
		if (a->version == 0x20)
			ioapic_eoi_vector(a, (uint8_t)value);
		break;
	default:
		break;
	}
	return 0;
}

static unsigned ioapic_line_count(void *dev)
{
	return IOAPIC_PINS;
}

static void ioapic_set_level(void *dev, unsigned line, int level)
{
	struct ioapic *a = dev;
	uint32_t bit;
	bool was;

	if (line >= IOAPIC_PINS)
		return;
	bit = 1u << line;
	was = a->input & bit;
	if (level)
		a->input |= bit;
	else
		a->input &= ~bit;
	if (!level || (a->rte[line] & RTE_MASK))
		return; /* negation, or a masked pin: ignored (datasheet, mask bit) */
	if (ioapic_level_mode(a->rte[line]))
		ioapic_service_level(a, line);
	else if (!was)
		ioapic_send(a, line); /* a rising edge */
}

static void ioapic_eoi(void *dev, uint8_t vector)
{
	ioapic_eoi_vector(dev, vector);
}

/* Power-on: ID 0, every entry masked, nothing in flight; pin levels kept. */
static void ioapic_reset(void *dev)
{
	struct ioapic *a = dev;

	a->regsel = 0;
	a->id = 0;
	a->arb = 0;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		a->rte[pin] = RTE_MASK;
}

static int ioapic_create(const struct vdev_host *host, vdev_host_t *h,
			 const struct vdev_config *cfg, void **devp)
{
	const struct vdev_option_value *opt = cfg->options;
	enum vdev_space space = VDEV_SPACE_MMIO;
	uint64_t base = IOAPIC_DEFAULT_BASE, length = IOAPIC_WINDOW;
	struct ioapic *a;
	int rc;

	if (cfg->loc_count > 1) {
		host->log(h, VDEV_LOG_ERROR, "takes one loc, %u given", cfg->loc_count);
		return -EINVAL;
	}
	if (cfg->loc_count == 1) {
		const struct vdev_loc *loc = &cfg->locs[0];

		if (loc->kind != VDEV_LOC_ADDR || (loc->length && loc->length < 0x20)) {
			host->log(h, VDEV_LOG_ERROR,
				  "loc must be an address with room for IOREGSEL and IOWIN (0x20)");
			return -EINVAL;
		}
		space = loc->space;
		base = loc->base;
		if (loc->length)
			length = loc->length;
	}
	if (cfg->intr_count > 1 || (cfg->intr_count == 1 && strcmp(cfg->intrs[0], "apic") != 0)) {
		host->log(h, VDEV_LOG_ERROR,
			  "delivers to the local APICs by MSI: the only intr is `intr apic`");
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->host = host;
	a->h = h;
	a->version = opt[OPT_VERSION].v.e == VERSION_20 ? 0x20 : 0x11;
	a->hostvector = opt[OPT_HOSTVECTOR].count ? (int)opt[OPT_HOSTVECTOR].v.u : -1;
	if (a->hostvector >= 0)
		host->log(h, VDEV_LOG_DEBUG, "hostvector %d recorded; delivery is by MSI",
			  a->hostvector);
	ioapic_reset(a);
	rc = host->region_add(h, space, base, length, 0);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot claim %s 0x%llx+0x%llx: %d",
			  space == VDEV_SPACE_PIO ? "io" : "mem", (unsigned long long)base,
			  (unsigned long long)length, rc);
		free(a);
		return rc;
	}
	*devp = a;
	return 0;
}

static void ioapic_destroy(void *dev)
{
	free(dev);
}

static void ioapic_state(struct vdev_state *st, struct ioapic *a)
{
	vdev_state_u32(st, &a->regsel);
	vdev_state_u32(st, &a->id);
	vdev_state_u32(st, &a->arb);
	vdev_state_u32(st, &a->input);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		vdev_state_u64(st, &a->rte[pin]);
	if (!vdev_state_restoring(st))
		return;
	if (a->regsel > 0xff || (a->id & ~0x0f000000u) || (a->arb & ~0x0f000000u) ||
	    (a->input >> IOAPIC_PINS))
		vdev_state_invalid(st);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t rte = a->rte[pin];

		if ((rte & ~(RTE_WRITABLE | RTE_REMOTE_IRR)) ||
		    ((rte & RTE_REMOTE_IRR) && !ioapic_level_mode(rte)))
			vdev_state_invalid(st);
	}
}

static ssize_t ioapic_save(void *dev, void *buf, size_t cap)
{
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, IOAPIC_NAME, IOAPIC_STATE_VERSION);
	ioapic_state(&st, dev);
	return vdev_state_save_end(&st);
}

static int ioapic_restore(void *dev, const void *buf, size_t length)
{
	struct ioapic *a = dev, scratch = *a;
	struct vdev_state st;
	int rc;

	vdev_state_restore_begin(&st, buf, length, IOAPIC_NAME, IOAPIC_STATE_VERSION);
	ioapic_state(&st, &scratch);
	rc = vdev_state_restore_end(&st);
	if (rc < 0)
		return rc;
	*a = scratch;
	ioapic_service_all(a);
	return 0;
}

static int ioapic_status(void *dev, char *buf, size_t cap)
{
	struct ioapic *a = dev;
	unsigned unmasked = 0, irr = 0;

	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		unmasked += !(a->rte[pin] & RTE_MASK);
		irr += !!(a->rte[pin] & RTE_REMOTE_IRR);
	}
	return snprintf(buf, cap,
			"id %u version 0x%02x unmasked %u remote-irr %u inputs %06x hostvector %d",
			a->id >> 24, a->version, unmasked, irr, a->input, a->hostvector);
}

static const struct vdev_ops ioapic_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ioapic_create,
    .destroy = ioapic_destroy,
    .read = ioapic_read,
    .write = ioapic_write,
    .reset = ioapic_reset,
    .save = ioapic_save,
    .restore = ioapic_restore,
    .status = ioapic_status,
};

static const struct vdev_intc_ops ioapic_intc_ops = {
    .struct_size = sizeof(struct vdev_intc_ops),
    .line_count = ioapic_line_count,
    .set_level = ioapic_set_level,
    .ack = NULL, /* delivers by MSI */
    .eoi = ioapic_eoi,
};

static const struct vdev_descriptor ioapic_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = IOAPIC_NAME,
    .version = "1.0.0",
    .description = "Intel 82093AA I/O APIC, 24 pins, delivery by MSI",
    .flags = VDEV_F_INTC,
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZE(4),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(IOAPIC_NAME) - 1) + 4 * VDEV_STATE_SIZE_U32 +
		  IOAPIC_PINS * VDEV_STATE_SIZE_U64,
    .options = ioapic_options,
    .option_count = sizeof(ioapic_options) / sizeof(ioapic_options[0]),
    .ops = &ioapic_ops,
    .intc = &ioapic_intc_ops,
};

VDEV_PLUGIN_ENTRY(ioapic_descriptor)
