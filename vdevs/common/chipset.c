/*
 * vdevs/common/chipset.c: the helpers of chipset.h.
 */
#include "vdevs/common/chipset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int chipset_pci_attach(struct vdev_pci *pci, const struct vdev_config *cfg, uint8_t dev,
			      uint8_t fn)
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

int chipset_function_create(struct vdev_pci *pci, const struct vdev_host *host, vdev_host_t *h,
			    const struct vdev_config *cfg, const struct chipset_function *f,
			    uint32_t cfg_region)
{
	int err;

	if (cfg->intr_count) {
		host->log(h, VDEV_LOG_ERROR, "raises no interrupt of its own; remove `intr`");
		return -EINVAL;
	}
	err = vdev_pci_init(pci, host, h, &f->ident, cfg_region);
	for (unsigned i = 0; !err && i < f->wmask_count; i++)
		err = vdev_pci_set_writable(pci, f->wmasks[i].offset, f->wmasks[i].length,
					    f->wmasks[i].mask);
	for (unsigned i = 0; !err && i < f->reg_count; i++)
		err = vdev_pci_cfg_set(pci, f->regs[i].offset, f->regs[i].size, f->regs[i].value);
	for (unsigned i = 0; !err && i < f->bar_count; i++)
		err = vdev_pci_bar_declare(pci, f->bars[i].index, f->bars[i].kind, f->bars[i].size,
					   f->bars[i].flags, f->bars[i].region);
	if (err) {
		host->log(h, VDEV_LOG_ERROR, "configuration header: %s", strerror(-err));
		return err;
	}
	if (f->dev == CHIPSET_ANY_SLOT)
		return vdev_pci_attach(pci, cfg);
	return chipset_pci_attach(pci, cfg, f->dev, f->fn);
}

ssize_t chipset_save(const struct chipset_state *cs, const void *dev, void *buf, size_t cap)
{
	void *copy = malloc(cs->size);
	struct vdev_state st;
	ssize_t n;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, dev, cs->size);
	if (vdev_state_save_begin(&st, buf, cap, cs->name, cs->version) == 0)
		cs->describe(&st, copy);
	n = vdev_state_save_end(&st);
	free(copy);
	return n;
}

int chipset_restore(const struct chipset_state *cs, void *dev, const void *buf, size_t length)
{
	void *scratch = malloc(cs->size);
	struct vdev_state st;
	int err;

	if (!scratch)
		return -ENOMEM;
	memcpy(scratch, dev, cs->size);
	if (vdev_state_restore_begin(&st, buf, length, cs->name, cs->version) == 0)
		cs->describe(&st, scratch);
	err = vdev_state_restore_end(&st);
	if (!err) {
		memcpy(dev, scratch, cs->size);
		if (cs->restored)
			cs->restored(dev);
	}
	free(scratch);
	return err;
}
