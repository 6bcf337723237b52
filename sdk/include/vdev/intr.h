/*
 * vdev/intr.h: the interrupt of a device that has one line (a UART, an
 * 8254, an RTC), when the configuration gives it several `intr` entries.
 *
 * On a PC an ISA IRQ reaches the 8259 and the I/O APIC at once, and the OS
 * picks which one listens: `vdev ser8250 intr pic:4,ioapic:4` (qvm's
 * `intr intr_def[,...]`). Such a device resolves all of its entries as one
 * line with vdev_intr_lookup_all; a device with a line per entry (an HPET's
 * timers) resolves them one by one with host->intr_lookup instead.
 *
 * Header only: nothing to link.
 */
#ifndef VDEV_INTR_H
#define VDEV_INTR_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/vdev.h>

/*
 * vdev_intr_lookup_all: one line that drives every `intr` entry of `cfg`
 * (host->intr_lookup of the entries joined with commas; a single entry is
 * looked up as it is). Call from create(). Returns what intr_lookup
 * returns (0; -ENOENT, -ERANGE, -EINVAL: a configuration error; a host
 * without fan-out answers -EINVAL for several entries), or -ENOMEM;
 * -ENOENT when cfg has no intr at all (*line is then NULL).
 */
static inline int vdev_intr_lookup_all(const struct vdev_host *host, vdev_host_t *h,
				       const struct vdev_config *cfg, struct vdev_line **line)
{
	size_t length = 0;
	char *all;
	int rc;

	*line = NULL;
	if (cfg->intr_count == 0)
		return -ENOENT;
	if (cfg->intr_count == 1)
		return host->intr_lookup(h, cfg->intrs[0], line);
	for (unsigned i = 0; i < cfg->intr_count; i++)
		length += strlen(cfg->intrs[i]) + 1;
	all = malloc(length);
	if (!all)
		return -ENOMEM;
	all[0] = '\0';
	for (unsigned i = 0; i < cfg->intr_count; i++) {
		if (i)
			strcat(all, ",");
		strcat(all, cfg->intrs[i]);
	}
	rc = host->intr_lookup(h, all, line);
	free(all);
	return rc;
}

#endif /* VDEV_INTR_H */
