/*
 * vdevs/common/chipset.c: the helpers of chipset.h.
 */
#include "vdevs/common/chipset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int chipset_pci_attach(struct vdev_pci *pci, const struct vdev_config *cfg, uint8_t dev, uint8_t fn)
{
	struct vdev_config placed = *cfg;
	struct vdev_loc *locs;
	int err;

	for (unsigned i = 0; i < cfg->loc_count; i++)
		if (cfg->locs[i].kind != VDEV_LOC_ADDR)
			return vdev_pci_attach(pci, cfg);
	/* the helper's default is the first free device; ours is the chipset's own */
	locs = calloc(cfg->loc_count + 1, sizeof(*locs));
	if (!locs)
		return -ENOMEM;
	locs[0] = (struct vdev_loc){.kind = VDEV_LOC_PCI_BDF, .dev = dev, .fn = fn};
	if (cfg->loc_count)
		memcpy(&locs[1], cfg->locs, cfg->loc_count * sizeof(*locs));
	placed.locs = locs;
	placed.loc_count = cfg->loc_count + 1;
	err = vdev_pci_attach(pci, &placed);
	free(locs);
	return err;
}

int chipset_set_writable(struct vdev_pci *pci, const struct chipset_wmask *masks, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		int err =
		    vdev_pci_set_writable(pci, masks[i].offset, masks[i].length, masks[i].mask);

		if (err)
			return err;
	}
	return 0;
}

ssize_t chipset_save(const void *dev, size_t size, const char *name, uint32_t version,
		     chipset_describe_fn *describe, void *buf, size_t cap)
{
	void *copy = malloc(size);
	struct vdev_state st;
	ssize_t n;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, dev, size);
	if (vdev_state_save_begin(&st, buf, cap, name, version) == 0)
		describe(&st, copy);
	n = vdev_state_save_end(&st);
	free(copy);
	return n;
}

int chipset_restore(void *dev, size_t size, const char *name, uint32_t version,
		    chipset_describe_fn *describe, const void *buf, size_t length)
{
	void *scratch = malloc(size);
	struct vdev_state st;
	int err;

	if (!scratch)
		return -ENOMEM;
	memcpy(scratch, dev, size);
	if (vdev_state_restore_begin(&st, buf, length, name, version) == 0)
		describe(&st, scratch);
	err = vdev_state_restore_end(&st);
	if (!err)
		memcpy(dev, scratch, size);
	free(scratch);
	return err;
}
