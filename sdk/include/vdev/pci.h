/*
 * vdev/pci.h: the SDK's PCI function helper, compiled into PCI plugins
 * (sdk/lib/pci.c; VDEV_SDK_HELPERS := pci state). sdk/PCI.md is the guide.
 *
 * It gives a plugin a type-0 configuration header: identity (vendor,
 * device, class, revision, subsystem), COMMAND, STATUS with its
 * write-1-to-clear bits, up to six BARs (memory 32/64-bit, prefetchable,
 * I/O) with sizing, the interrupt pin/line, a capability list (and an MSI
 * capability, an MSI-X capability with its table and PBA in a BAR), and
 * per-bit read-only/writable masks. The 4 KiB
 * configuration space is a region at VDEV_PCICFG_ADDR(0, dev, fn, 0); bytes
 * 0x100..0xfff (extended space) read 0 and ignore writes.
 *
 * Use, in a plugin:
 *	create:  vdev_pci_init(&d->pci, host, h, &ident, CFG_REGION);
 *	         vdev_pci_bar_declare(&d->pci, 0, VDEV_PCI_BAR_MEM32, 0x1000, 0, BAR0_REGION);
 *	         vdev_pci_msi_add(&d->pci, true, 1);             (optional)
 *	         vdev_pci_attach(&d->pci, cfg);                  (last: places it)
 *	read:    if (vdev_pci_is_config(&d->pci, a)) return vdev_pci_config_read(&d->pci, a, v);
 *	write:   if (vdev_pci_is_config(&d->pci, a)) return vdev_pci_config_write(&d->pci, a, v);
 *	         other regions: the BARs, offsets relative to the BAR's address
 *	reset:   vdev_pci_reset(&d->pci);
 *	state:   vdev_pci_state(st, &d->pci) in the state description;
 *	         vdev_pci_restored(&d->pci) after committing a restore.
 *
 * Placement (vdev_pci_attach). `loc pci:0:DEV[.FN]` puts the function
 * there (the guest's bus is always 0); without it the helper takes the
 * first device number from 1 to 31 whose function 0 the host does not
 * report busy (-EEXIST from region_add). Device 0 is left to the host
 * bridge (vdm's own on kvm and sim, the hypervisor's on Xen) unless named.
 * Address `loc`s (mem:/io:) given besides the pci one set the initial
 * addresses of the declared BARs, in BAR order (the space must match the
 * BAR's kind, the address must be aligned to its size). BARs without one
 * get the first free naturally aligned slot in a default window: memory
 * 0xe0000000-0xefffffff, I/O 0xc000-0xffff. COMMAND starts with memory
 * and I/O decode enabled for the kinds of BARs the function has, so a
 * guest without a PCI enumerator finds the device where the configuration
 * put it; reset returns to these addresses.
 *
 * BARs move. A BAR is mapped (its region added at its address) exactly
 * while COMMAND enables decode for its kind and its address is not 0 (and,
 * for I/O, below 0x10000). After every guest write to COMMAND or a BAR the
 * helper removes the region and adds it at the new address. When the new
 * range is taken (another device, RAM, another BAR) region_add fails: the
 * BAR stays unmapped, an access there goes to the VM's unsupported-access
 * policy, and the helper retries on the next COMMAND/BAR write. Sizing as
 * a BIOS does it (write ~0, read the mask, restore) therefore moves the
 * region to the top of the space and back while decode is on; Linux turns
 * decode off while sizing.
 *
 * Threads: every function runs inside the plugin's callbacks (the host
 * serialises an instance unless it is SELF_LOCKED), never concurrently on
 * one struct vdev_pci. It keeps no global state (several instances, several
 * hosts in one process are fine). Errors are negative errno values, and
 * vdev_pci_attach logs why through host->log.
 */
#ifndef VDEV_PCI_H
#define VDEV_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include <vdev/state.h>
#include <vdev/vdev.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Configuration space: the region's length, and the part kept in memory. */
#define VDEV_PCI_CFG_SPACE 0x1000u
#define VDEV_PCI_CFG_BYTES 0x100u
#define VDEV_PCI_BAR_COUNT 6u

/* Type-0 header offsets. */
#define VDEV_PCI_VENDOR_ID      0x00
#define VDEV_PCI_DEVICE_ID      0x02
#define VDEV_PCI_COMMAND        0x04
#define VDEV_PCI_STATUS         0x06
#define VDEV_PCI_REVISION       0x08
#define VDEV_PCI_CLASS_PROG     0x09 /* class code: 0x09 prog-if, 0x0a sub, 0x0b base */
#define VDEV_PCI_CACHE_LINE     0x0c
#define VDEV_PCI_LATENCY        0x0d
#define VDEV_PCI_HEADER_TYPE    0x0e
#define VDEV_PCI_BAR0           0x10 /* BAR n at 0x10 + 4 * n */
#define VDEV_PCI_SUBSYS_VENDOR  0x2c
#define VDEV_PCI_SUBSYS_ID      0x2e
#define VDEV_PCI_ROM            0x30
#define VDEV_PCI_CAP_PTR        0x34
#define VDEV_PCI_INT_LINE       0x3c
#define VDEV_PCI_INT_PIN        0x3d

#define VDEV_PCI_CMD_IO           0x0001u
#define VDEV_PCI_CMD_MEMORY       0x0002u
#define VDEV_PCI_CMD_MASTER       0x0004u
#define VDEV_PCI_CMD_PARITY       0x0040u
#define VDEV_PCI_CMD_SERR         0x0100u
#define VDEV_PCI_CMD_INTX_DISABLE 0x0400u
/* What the guest may change in COMMAND. */
#define VDEV_PCI_CMD_WRITABLE                                                                      \
	(VDEV_PCI_CMD_IO | VDEV_PCI_CMD_MEMORY | VDEV_PCI_CMD_MASTER | VDEV_PCI_CMD_PARITY |       \
	 VDEV_PCI_CMD_SERR | VDEV_PCI_CMD_INTX_DISABLE)

#define VDEV_PCI_STATUS_INTX     0x0008u /* interrupt status (device-driven) */
#define VDEV_PCI_STATUS_CAP_LIST 0x0010u
/* Error bits the device sets and the guest clears by writing 1. */
#define VDEV_PCI_STATUS_W1C      0xf900u

#define VDEV_PCI_HEADER_MULTIFUNCTION 0x80u

#define VDEV_PCI_CAP_ID_MSI    0x05
#define VDEV_PCI_CAP_ID_VENDOR 0x09
#define VDEV_PCI_CAP_ID_MSIX   0x11

/* MSI capability: offsets from the capability, and control bits. */
#define VDEV_PCI_MSI_CONTROL   0x02
#define VDEV_PCI_MSI_ADDR_LO   0x04
#define VDEV_PCI_MSI_ADDR_HI   0x08 /* 64-bit capability only */
#define VDEV_PCI_MSI_DATA_32   0x08
#define VDEV_PCI_MSI_DATA_64   0x0c
#define VDEV_PCI_MSI_ENABLE    0x0001u
#define VDEV_PCI_MSI_64BIT     0x0080u

/* MSI-X capability: offsets from the capability, control bits, table layout. */
#define VDEV_PCI_MSIX_CONTROL      0x02
#define VDEV_PCI_MSIX_TABLE        0x04 /* offset | BIR (bits 2:0) */
#define VDEV_PCI_MSIX_PBA          0x08 /* offset | BIR */
#define VDEV_PCI_MSIX_CAP_LENGTH   0x0c
#define VDEV_PCI_MSIX_ENABLE       0x8000u
#define VDEV_PCI_MSIX_FUNC_MASK    0x4000u
#define VDEV_PCI_MSIX_ENTRY_SIZE   16u
#define VDEV_PCI_MSIX_ENTRY_ADDR   0x0 /* u64, bits 1:0 read 0 */
#define VDEV_PCI_MSIX_ENTRY_DATA   0x8
#define VDEV_PCI_MSIX_ENTRY_CTRL   0xc /* bit 0: vector masked */
#define VDEV_PCI_MSIX_CTRL_MASKED  0x1u
/* The most vectors the helper keeps a table for (the table lives in struct vdev_pci). */
#define VDEV_PCI_MSIX_MAX_VECTORS 128u
/* What vdev_pci_msix_notify returns when the message is left pending. */
#define VDEV_PCI_MSIX_PENDING 1

/* BAR kinds, and flags. */
enum vdev_pci_bar_kind {
	VDEV_PCI_BAR_NONE = 0,
	VDEV_PCI_BAR_IO,    /* I/O space, 4..256 bytes */
	VDEV_PCI_BAR_MEM32, /* memory below 4 GiB, 16 bytes..2 GiB */
	VDEV_PCI_BAR_MEM64, /* memory anywhere; takes BAR n and n+1 */
};
#define VDEV_PCI_BAR_PREFETCH (1u << 0) /* memory BARs: prefetchable */

/* What a function is. class_code is 24 bits: base << 16 | sub << 8 | prog-if. */
struct vdev_pci_ident {
	uint16_t vendor, device;
	uint32_t class_code;
	uint8_t revision;
	uint16_t subsystem_vendor, subsystem;
	uint8_t interrupt_pin; /* 0 none, 1..4 INTA#..INTD# */
	bool multifunction;    /* header type bit 7 (set it on function 0 of several) */
};

/* One BAR as the helper tracks it. Read-only for plugins. */
struct vdev_pci_bar {
	enum vdev_pci_bar_kind kind; /* NONE also for the upper half of a MEM64 */
	uint32_t flags;
	uint64_t size;
	uint32_t region;       /* the region id the plugin's read/write see */
	bool mapped;           /* the region is registered ... */
	uint64_t mapped_base;  /* ... at this address */
};

/*
 * One PCI function. Embed it in the plugin's instance; fill it only through
 * the functions below (the fields are visible so that a plugin's restore
 * can copy the instance as a scratch copy).
 */
struct vdev_pci {
	const struct vdev_host *host;
	vdev_host_t *h;
	uint32_t cfg_region;
	uint8_t bus, dev, fn;
	bool attached;
	uint8_t cfg[VDEV_PCI_CFG_BYTES];       /* current contents */
	uint8_t wmask[VDEV_PCI_CFG_BYTES];     /* bits the guest writes */
	uint8_t w1cmask[VDEV_PCI_CFG_BYTES];   /* bits the guest clears by writing 1 */
	uint8_t devmask[VDEV_PCI_CFG_BYTES];   /* bits the device changes itself */
	uint8_t reset_cfg[VDEV_PCI_CFG_BYTES]; /* power-on contents (after attach) */
	struct vdev_pci_bar bar[VDEV_PCI_BAR_COUNT];
	uint8_t cap_end;  /* next free capability offset */
	uint8_t cap_last; /* last capability in the chain, 0 = none */
	uint8_t msi;      /* MSI capability offset, 0 = none */
	struct vdev_line *intx_line;
	bool intx_level;
	/* MSI-X (vdev_pci_msix_add): capability offset (0 = none), where the
	 * table and PBA live, and their contents. */
	uint8_t msix;
	uint8_t msix_bar;
	uint16_t msix_vectors;
	uint32_t msix_table_offset, msix_pba_offset;
	uint8_t msix_table[VDEV_PCI_MSIX_MAX_VECTORS * VDEV_PCI_MSIX_ENTRY_SIZE];
	uint8_t msix_pba[VDEV_PCI_MSIX_MAX_VECTORS / 8];
};

/*
 * vdev_pci_init: a function with identity `id` whose configuration space
 * will be region `cfg_region` (an id the plugin uses for nothing else).
 * host/h are create()'s. Returns 0; -EINVAL for vendor 0xffff or 0, a
 * class code wider than 24 bits or an interrupt pin above 4.
 */
int vdev_pci_init(struct vdev_pci *pci, const struct vdev_host *host, vdev_host_t *h,
		  const struct vdev_pci_ident *id, uint32_t cfg_region);

/*
 * vdev_pci_bar_declare: BAR `index` (0..5) of `kind`, `size` bytes (a power
 * of two: I/O 4..256, MEM32 16..2 GiB, MEM64 16..2^63), flags
 * VDEV_PCI_BAR_PREFETCH (memory only), accessed as region `region`.
 * Before vdev_pci_attach. Returns 0; -EINVAL for a bad index, size, flag or
 * region id, a MEM64 at index 5, or a BAR already declared (a MEM64 also
 * takes index + 1); -EBUSY after attach.
 */
int vdev_pci_bar_declare(struct vdev_pci *pci, unsigned index, enum vdev_pci_bar_kind kind,
			 uint64_t size, uint32_t flags, uint32_t region);

/*
 * vdev_pci_cap_add: append a capability with `id`, `length` bytes (2..,
 * including the id and next bytes) to the list, 4-byte aligned from 0x40.
 * Its bytes are read-only zeros until the plugin sets them
 * (vdev_pci_cfg_set) and marks guest-writable bits (vdev_pci_set_writable).
 * *offset receives where it is. Before attach. Returns 0; -EINVAL for a
 * length under 2; -ENOSPC when it does not fit below 0x100; -EBUSY after
 * attach.
 */
int vdev_pci_cap_add(struct vdev_pci *pci, uint8_t id, uint8_t length, uint8_t *offset);

/*
 * vdev_pci_msi_add: an MSI capability (no per-vector masking) for
 * `vectors` (1, 2, 4, 8, 16 or 32) with a 64-bit address when addr64.
 * Before attach. Returns 0; -EINVAL for a bad vector count or a second
 * MSI capability; otherwise as vdev_pci_cap_add.
 */
int vdev_pci_msi_add(struct vdev_pci *pci, bool addr64, unsigned vectors);

/*
 * vdev_pci_msix_add: an MSI-X capability for `vectors` (1..
 * VDEV_PCI_MSIX_MAX_VECTORS) whose table (16 bytes per vector) sits at
 * `table_offset` and whose pending-bit array (8 bytes per 64 vectors) sits
 * at `pba_offset` of memory BAR `bar`, which must be declared already. Both
 * offsets 8-byte aligned, both inside the BAR, not overlapping. The plugin
 * routes its accesses to that BAR through vdev_pci_is_msix /
 * vdev_pci_msix_read / _write; the rest of the BAR stays the plugin's.
 * Before attach. Returns 0; -EINVAL for a bad count, BAR, offset or layout
 * or a second MSI-X capability; -EBUSY after attach; otherwise as
 * vdev_pci_cap_add.
 */
int vdev_pci_msix_add(struct vdev_pci *pci, unsigned vectors, unsigned bar, uint32_t table_offset,
		      uint32_t pba_offset);

/*
 * vdev_pci_set_writable: the guest may write the bits `mask` of each byte
 * in [offset, offset + length) (for a plugin's capability or
 * device-specific registers below 0x100). Header bytes the helper manages
 * (0x00..0x3f) are refused with -EINVAL, as is a range past 0x100.
 */
int vdev_pci_set_writable(struct vdev_pci *pci, unsigned offset, unsigned length, uint8_t mask);

/*
 * vdev_pci_attach: place the function and its BARs (see the top comment):
 * register the configuration region, give every declared BAR its initial
 * address and map it, set COMMAND, the interrupt line (the number after
 * the ':' of the first `intr`, else 0xff when the pin is set) and take the
 * power-on image reset returns to. Call it once, last in create(). Returns
 * 0; -EINVAL for a bad loc (a bus other than 0, pci:vid/did, a second pci
 * loc, more addresses than BARs, a space, alignment or length that does not
 * fit the BAR); -EEXIST when the named device/function or BAR address is
 * taken; -ENOSPC when no device number is free; another error from
 * region_add. Logs why. On failure create() should fail: the host releases
 * the regions taken.
 */
int vdev_pci_attach(struct vdev_pci *pci, const struct vdev_config *cfg);

/* Is this access to the configuration space (rather than a BAR)? */
bool vdev_pci_is_config(const struct vdev_pci *pci, const struct vdev_access *access);

/*
 * vdev_pci_config_read/_write: a guest access to the configuration region
 * (any size 1..8 at any offset; bytes past 0x100 read 0). A write applies
 * the writable and write-1-to-clear masks and then moves BARs and drives
 * INTx as COMMAND now says. Return 0.
 */
int vdev_pci_config_read(struct vdev_pci *pci, const struct vdev_access *access, uint64_t *value);
int vdev_pci_config_write(struct vdev_pci *pci, const struct vdev_access *access, uint64_t value);

/*
 * vdev_pci_cfg_get/_set: the device's own view of its configuration bytes
 * (size 1, 2 or 4, little-endian, within 0x100). _set ignores the guest
 * masks: use it for status bits and capability contents, never for BARs or
 * COMMAND (it refuses 0x04..0x05 and 0x10..0x27 with -EINVAL). Bits set
 * through it may differ from the power-on image in a restored state.
 * _get returns 0 for a range past 0x100.
 */
uint32_t vdev_pci_cfg_get(const struct vdev_pci *pci, unsigned offset, unsigned size);
int vdev_pci_cfg_set(struct vdev_pci *pci, unsigned offset, unsigned size, uint32_t value);

/* The address BAR `index` holds now (0 when none), and whether it is mapped. */
uint64_t vdev_pci_bar_address(const struct vdev_pci *pci, unsigned index);
bool vdev_pci_bar_mapped(const struct vdev_pci *pci, unsigned index);

/*
 * INTx. vdev_pci_set_intx_line: the line (from intr_lookup) the function's
 * pin drives. vdev_pci_intx: the device's interrupt condition; sets STATUS
 * bit 3 and drives the line at level && !COMMAND.INTX_DISABLE && MSI off
 * && MSI-X off (re-driven whenever one of those changes).
 */
void vdev_pci_set_intx_line(struct vdev_pci *pci, struct vdev_line *line);
void vdev_pci_intx(struct vdev_pci *pci, bool level);

/*
 * MSI. vdev_pci_msi_enabled: the guest enabled the capability.
 * vdev_pci_msi_send: deliver vector `vector` (< the enabled count) through
 * host->msi_send with the programmed address and data (the vector in the
 * data's low bits). Returns 0 or msi_send's error; -ENODEV without an MSI
 * capability; -EAGAIN while MSI is disabled; -EPERM while COMMAND.MASTER
 * is clear; -EINVAL for a vector beyond the enabled count.
 */
bool vdev_pci_msi_enabled(const struct vdev_pci *pci);
int vdev_pci_msi_send(struct vdev_pci *pci, unsigned vector);

/*
 * MSI-X. vdev_pci_is_msix: is this access to the MSI-X table or PBA (in
 * the BAR the capability names)? vdev_pci_msix_read/_write: such an access
 * (any size 1..8; the table as the PCI specification lays it out: address,
 * data, vector control with bit 0 the mask; the PBA is read-only). A write
 * that unmasks a vector whose pending bit is set delivers it. Return 0.
 *
 * vdev_pci_msix_enabled: the guest set MSI-X Enable. vdev_pci_msix_notify:
 * signal `vector`: when the function or the vector is masked the pending
 * bit is set and VDEV_PCI_MSIX_PENDING returned (the message goes out when
 * the guest unmasks it, as long as MSI-X stays enabled); otherwise the
 * entry's address and data go out through host->msi_send and it returns 0
 * (or msi_send's error). -ENODEV without an MSI-X capability; -EAGAIN
 * while MSI-X is disabled; -EPERM while COMMAND.MASTER is clear (nothing
 * is left pending); -EINVAL for a vector beyond the table. An entry
 * holding a Xen PIRQ message (vector 0, the PIRQ in the destination ID of
 * 0xfee00000: what a Linux HVM guest on Xen programs, masking through
 * its event channel instead of the mask bits) is never masked, as in QEMU.
 * vdev_pci_msix_masked / _pending: the state of one vector (false for a
 * vector beyond the table).
 */
bool vdev_pci_is_msix(const struct vdev_pci *pci, const struct vdev_access *access);
int vdev_pci_msix_read(struct vdev_pci *pci, const struct vdev_access *access, uint64_t *value);
int vdev_pci_msix_write(struct vdev_pci *pci, const struct vdev_access *access, uint64_t value);
bool vdev_pci_msix_enabled(const struct vdev_pci *pci);
int vdev_pci_msix_notify(struct vdev_pci *pci, unsigned vector);
bool vdev_pci_msix_masked(const struct vdev_pci *pci, unsigned vector);
bool vdev_pci_msix_pending(const struct vdev_pci *pci, unsigned vector);

/*
 * DMA. vdev_pci_bus_master: the guest set COMMAND.MASTER. vdev_pci_dma_read
 * / _write: the function's own guest-memory access as a bus master:
 * host->mem_read / mem_write while COMMAND.MASTER is set, else -EPERM with
 * nothing read or written (a driver clears MASTER to stop a device's DMA,
 * before it frees the buffers). Returns 0, -EPERM, or the host's error
 * (-EFAULT for a range that is not all RAM: then *buf's contents are
 * undefined and must not be used). Inside a callback, as every service.
 */
bool vdev_pci_bus_master(const struct vdev_pci *pci);
int vdev_pci_dma_read(struct vdev_pci *pci, uint64_t gpa, void *buf, size_t length);
int vdev_pci_dma_write(struct vdev_pci *pci, uint64_t gpa, const void *buf, size_t length);

/* vdev_pci_reset: back to the power-on image; BARs back where attach put
 * them; INTx deasserted; every MSI-X vector masked, address and data 0,
 * nothing pending. */
void vdev_pci_reset(struct vdev_pci *pci);

/*
 * vdev_pci_state: the configuration header in a vdev/state.h description
 * (VDEV_PCI_STATE_SIZE bytes), and with an MSI-X capability its table and
 * PBA (VDEV_PCI_MSIX_STATE_SIZE(vectors) more). Restoring, it refuses
 * (vdev_state_invalid) a header whose read-only bits differ from this
 * function's power-on image, and a table with reserved bits set or
 * entries or pending bits beyond the vector count. vdev_pci_restored:
 * after the plugin committed a restore, map the BARs where the restored
 * header says, drive INTx and deliver pending MSI-X vectors that are
 * unmasked.
 */
#define VDEV_PCI_STATE_SIZE (VDEV_STATE_SIZE_BYTES(VDEV_PCI_CFG_BYTES) + VDEV_STATE_SIZE_BOOL)
#define VDEV_PCI_MSIX_STATE_SIZE(vectors)                                                          \
	(VDEV_STATE_SIZE_BYTES((vectors) * VDEV_PCI_MSIX_ENTRY_SIZE) +                             \
	 VDEV_STATE_SIZE_BYTES(((vectors) + 7) / 8))
void vdev_pci_state(struct vdev_state *st, struct vdev_pci *pci);
void vdev_pci_restored(struct vdev_pci *pci);

#ifdef __cplusplus
}
#endif
#endif /* VDEV_PCI_H */
