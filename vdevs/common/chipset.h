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

/*
 * chipset_pci_attach: vdev_pci_attach, placing the function at 0:dev.fn
 * unless the configuration gives a `loc pci:...` of its own. Returns what
 * vdev_pci_attach returns (-ENOMEM besides).
 */
int chipset_pci_attach(struct vdev_pci *pci, const struct vdev_config *cfg, uint8_t dev,
		       uint8_t fn);

/*
 * chipset_set_writable: the guest may write `mask` in each byte of
 * [offset, offset + length) (vdev_pci_set_writable); 0 or its error.
 */
struct chipset_wmask {
	uint8_t offset, length, mask;
};
int chipset_set_writable(struct vdev_pci *pci, const struct chipset_wmask *masks, unsigned count);

/*
 * Save and restore through one state description, `describe(st, dev)`.
 * chipset_save describes a copy of the `size`-byte instance, so the
 * running device is never touched. chipset_restore describes into a
 * scratch copy and copies it over the instance only when the whole state
 * was valid; then it returns 0 and the caller re-applies side effects
 * (vdev_pci_restored, lines). -EINVAL (nothing changed) or -ENOMEM.
 */
typedef void chipset_describe_fn(struct vdev_state *st, void *dev);
ssize_t chipset_save(const void *dev, size_t size, const char *name, uint32_t version,
		     chipset_describe_fn *describe, void *buf, size_t cap);
int chipset_restore(void *dev, size_t size, const char *name, uint32_t version,
		    chipset_describe_fn *describe, const void *buf, size_t length);

/* Does an access of `size` bytes at `offset` touch byte `reg`? */
static inline int chipset_covers(uint64_t offset, unsigned size, unsigned reg)
{
	return offset <= reg && reg < offset + size;
}

#endif /* VDEVS_COMMON_CHIPSET_H */
