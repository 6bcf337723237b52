/*
 * vdevs/common/chipset.h: what the PC chipset plugins (i440fx, piix3,
 * piix4-pm) share, compiled into each of them (hidden, like sdk/lib).
 *
 * They are PCI functions at fixed addresses (firmware finds them there:
 * hvmloader asserts that 00:01.0 is the PIIX3), with a device-specific
 * register file above the header and no BARs, saved through the SDK's
 * codec. Nothing here keeps global state.
 */
#ifndef VDEVS_COMMON_CHIPSET_H
#define VDEVS_COMMON_CHIPSET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

/* Bytes [offset, offset + length) the guest may write `mask` of (vdev_pci_set_writable). */
struct chipset_wmask {
	uint8_t offset, length, mask;
};
/* A register's power-on value (vdev_pci_cfg_set: 1, 2 or 4 bytes). */
struct chipset_reg {
	uint8_t offset, size;
	uint32_t value;
};
/* A BAR (vdev_pci_bar_declare). */
struct chipset_bar {
	uint8_t index;
	enum vdev_pci_bar_kind kind;
	uint64_t size;
	uint32_t flags, region;
};
/* dev = CHIPSET_ANY_SLOT: the SDK helper's default, the first free device. */
#define CHIPSET_ANY_SLOT 0xff
/* One chipset function: identity, home slot, writable bits, power-on values, BARs. */
struct chipset_function {
	struct vdev_pci_ident ident;
	uint8_t dev, fn;
	const struct chipset_wmask *wmasks;
	unsigned wmask_count;
	const struct chipset_reg *regs;
	unsigned reg_count;
	const struct chipset_bar *bars;
	unsigned bar_count;
};

/*
 * chipset_function_create: the configuration-space part of create():
 * refuse `intr` (these functions drive no line of their own), then
 * vdev_pci_init, the writable masks, the power-on values, the BARs, and
 * vdev_pci_attach at 0:dev.fn unless the configuration gives a `loc
 * pci:...` of its own (or dev is CHIPSET_ANY_SLOT). Regions of its own the plugin adds afterwards.
 * Returns 0 or the first error (logged by the helper or here).
 */
int chipset_function_create(struct vdev_pci *pci, const struct vdev_host *host, vdev_host_t *h,
			    const struct vdev_config *cfg, const struct chipset_function *f,
			    uint32_t cfg_region);

/*
 * Save and restore through one state description. chipset_save describes
 * a copy of the `size`-byte instance, so the running device is never
 * touched. chipset_restore describes into a scratch copy, copies it over
 * the instance only when the whole state was valid, and then calls
 * `restored(dev)` to re-apply side effects (vdev_pci_restored, mappings,
 * routes). Returns 0; -EINVAL (nothing changed) or -ENOMEM.
 */
struct chipset_state {
	const char *name; /* the descriptor's */
	uint32_t version;
	size_t size; /* of the instance */
	void (*describe)(struct vdev_state *st, void *dev);
	void (*restored)(void *dev);
};
ssize_t chipset_save(const struct chipset_state *cs, const void *dev, void *buf, size_t cap);
int chipset_restore(const struct chipset_state *cs, void *dev, const void *buf, size_t length);

/* Does an access of `size` bytes at `offset` touch byte `reg`? */
static inline int chipset_covers(uint64_t offset, unsigned size, unsigned reg)
{
	return offset <= reg && reg < offset + size;
}

#endif /* VDEVS_COMMON_CHIPSET_H */
