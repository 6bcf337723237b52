/*
 * sdk/lib/pci.c: the PCI function helper compiled into PCI plugins. The
 * contract is vdev/pci.h; the guide is sdk/PCI.md.
 *
 * The header is 256 bytes with three per-bit masks: wmask (the guest's
 * write goes through), w1cmask (a guest 1 clears the bit) and devmask (the
 * device changes the bit itself, so a restored state may differ from the
 * power-on image there). BAR sizing falls out of wmask: a BAR's writable
 * bits are the address bits above its size, so writing all-ones reads back
 * the size mask with the read-only type bits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/pci.h>

#define PCI_CAP_START   0x40u
#define PCI_BAR_END     (VDEV_PCI_BAR0 + 4 * VDEV_PCI_BAR_COUNT)
#define PCI_IO_LIMIT    0x10000ull
#define PCI_MEM32_LIMIT 0x100000000ull

/* The default windows for BARs the configuration gives no address. */
#define PCI_MMIO_WINDOW_BASE 0xe0000000ull
#define PCI_MMIO_WINDOW_END  0xf0000000ull
#define PCI_IO_WINDOW_BASE   0xc000ull
#define PCI_IO_WINDOW_END    0x10000ull

#define PCI_BAR_IO_TYPE       0x1u
#define PCI_BAR_MEM64_TYPE    0x4u
#define PCI_BAR_PREFETCH_TYPE 0x8u

static void pci_put(uint8_t *bytes, unsigned offset, unsigned size, uint32_t value)
{
	for (unsigned i = 0; i < size && offset + i < VDEV_PCI_CFG_BYTES; i++)
		bytes[offset + i] = (uint8_t)(value >> (8 * i));
}

static uint32_t pci_get(const uint8_t *bytes, unsigned offset, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size && offset + i < VDEV_PCI_CFG_BYTES; i++)
		v |= (uint32_t)bytes[offset + i] << (8 * i);
	return v;
}

static bool pci_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int vdev_pci_init(struct vdev_pci *pci, const struct vdev_host *host, vdev_host_t *h,
		  const struct vdev_pci_ident *id, uint32_t cfg_region)
{
	if (!pci || !host || !id || id->vendor == 0xffff || id->vendor == 0 ||
	    id->class_code > 0xffffff || id->interrupt_pin > 4)
		return -EINVAL;
	memset(pci, 0, sizeof(*pci));
	pci->host = host;
	pci->h = h;
	pci->cfg_region = cfg_region;
	pci->cap_end = PCI_CAP_START;
	pci_put(pci->cfg, VDEV_PCI_VENDOR_ID, 2, id->vendor);
	pci_put(pci->cfg, VDEV_PCI_DEVICE_ID, 2, id->device);
	pci_put(pci->cfg, VDEV_PCI_REVISION, 1, id->revision);
	pci_put(pci->cfg, VDEV_PCI_CLASS_PROG, 3, id->class_code);
	pci_put(pci->cfg, VDEV_PCI_HEADER_TYPE, 1,
		id->multifunction ? VDEV_PCI_HEADER_MULTIFUNCTION : 0);
	pci_put(pci->cfg, VDEV_PCI_SUBSYS_VENDOR, 2, id->subsystem_vendor);
	pci_put(pci->cfg, VDEV_PCI_SUBSYS_ID, 2, id->subsystem);
	pci_put(pci->cfg, VDEV_PCI_INT_PIN, 1, id->interrupt_pin);

	pci_put(pci->wmask, VDEV_PCI_COMMAND, 2, VDEV_PCI_CMD_WRITABLE);
	pci_put(pci->w1cmask, VDEV_PCI_STATUS, 2, VDEV_PCI_STATUS_W1C);
	pci_put(pci->devmask, VDEV_PCI_STATUS, 2, VDEV_PCI_STATUS_W1C | VDEV_PCI_STATUS_INTX);
	/* Cache line size and latency timer are plain storage for software. */
	pci_put(pci->wmask, VDEV_PCI_CACHE_LINE, 2, 0xffff);
	pci_put(pci->wmask, VDEV_PCI_INT_LINE, 1, 0xff);
	return 0;
}

int vdev_pci_bar_declare(struct vdev_pci *pci, unsigned index, enum vdev_pci_bar_kind kind,
			 uint64_t size, uint32_t flags, uint32_t region)
{
	unsigned off = VDEV_PCI_BAR0 + 4 * index;
	uint64_t wmask;
	uint32_t type;

	if (pci->attached)
		return -EBUSY;
	if (index >= VDEV_PCI_BAR_COUNT || region == pci->cfg_region || !pci_is_pow2(size) ||
	    (flags & ~VDEV_PCI_BAR_PREFETCH))
		return -EINVAL;
	if (pci->bar[index].size || (index > 0 && pci->bar[index - 1].kind == VDEV_PCI_BAR_MEM64))
		return -EINVAL;
	for (unsigned i = 0; i < VDEV_PCI_BAR_COUNT; i++)
		if (pci->bar[i].size && pci->bar[i].region == region)
			return -EINVAL;
	switch (kind) {
	case VDEV_PCI_BAR_IO:
		if (size < 4 || size > 256 || flags)
			return -EINVAL;
		type = PCI_BAR_IO_TYPE;
		wmask = ~(size - 1) & 0xfffffffcull;
		break;
	case VDEV_PCI_BAR_MEM32:
		if (size < 16 || size > 0x80000000ull)
			return -EINVAL;
		type = flags & VDEV_PCI_BAR_PREFETCH ? PCI_BAR_PREFETCH_TYPE : 0;
		wmask = ~(size - 1) & 0xfffffff0ull;
		break;
	case VDEV_PCI_BAR_MEM64:
		if (size < 16 || size > (1ull << 63) || index + 1 >= VDEV_PCI_BAR_COUNT ||
		    pci->bar[index + 1].size)
			return -EINVAL;
		type = PCI_BAR_MEM64_TYPE | (flags & VDEV_PCI_BAR_PREFETCH ? PCI_BAR_PREFETCH_TYPE : 0);
		wmask = ~(size - 1) & ~0xfull;
		pci_put(pci->wmask, off + 4, 4, (uint32_t)(wmask >> 32));
		break;
	default:
		return -EINVAL;
	}
	pci_put(pci->cfg, off, 4, type);
	pci_put(pci->wmask, off, 4, (uint32_t)wmask);
	pci->bar[index] = (struct vdev_pci_bar){
		.kind = kind, .flags = flags, .size = size, .region = region,
	};
	return 0;
}

int vdev_pci_cap_add(struct vdev_pci *pci, uint8_t id, uint8_t length, uint8_t *offset)
{
	unsigned at = pci->cap_end;

	if (pci->attached)
		return -EBUSY;
	if (length < 2)
		return -EINVAL;
	if (at + length > VDEV_PCI_CFG_BYTES)
		return -ENOSPC;
	pci->cfg[at] = id;
	pci->cfg[at + 1] = 0;
	if (pci->cap_last)
		pci->cfg[pci->cap_last + 1] = (uint8_t)at;
	else
		pci->cfg[VDEV_PCI_CAP_PTR] = (uint8_t)at;
	pci->cap_last = (uint8_t)at;
	pci_put(pci->cfg, VDEV_PCI_STATUS, 2,
		pci_get(pci->cfg, VDEV_PCI_STATUS, 2) | VDEV_PCI_STATUS_CAP_LIST);
	/* 0xff when full: any next add then gets -ENOSPC */
	pci->cap_end = ((at + length + 3) & ~3u) >= VDEV_PCI_CFG_BYTES
			       ? 0xff
			       : (uint8_t)((at + length + 3) & ~3u);
	if (offset)
		*offset = (uint8_t)at;
	return 0;
}

int vdev_pci_msi_add(struct vdev_pci *pci, bool addr64, unsigned vectors)
{
	unsigned log2 = 0;
	uint8_t at;
	int err;

	if (pci->msi || !pci_is_pow2(vectors) || vectors > 32)
		return -EINVAL;
	while ((1u << log2) < vectors)
		log2++;
	err = vdev_pci_cap_add(pci, VDEV_PCI_CAP_ID_MSI, addr64 ? 0x10 : 0x0c, &at);
	if (err)
		return err;
	pci->msi = at;
	pci_put(pci->cfg, at + VDEV_PCI_MSI_CONTROL, 2,
		(log2 << 1) | (addr64 ? VDEV_PCI_MSI_64BIT : 0));
	/* enable and multiple message enable (bits 6:4) */
	pci_put(pci->wmask, at + VDEV_PCI_MSI_CONTROL, 2, VDEV_PCI_MSI_ENABLE | 0x70);
	pci_put(pci->wmask, at + VDEV_PCI_MSI_ADDR_LO, 4, 0xfffffffc);
	if (addr64) {
		pci_put(pci->wmask, at + VDEV_PCI_MSI_ADDR_HI, 4, 0xffffffff);
		pci_put(pci->wmask, at + VDEV_PCI_MSI_DATA_64, 2, 0xffff);
	} else {
		pci_put(pci->wmask, at + VDEV_PCI_MSI_DATA_32, 2, 0xffff);
	}
	return 0;
}

/* An MSI-X table entry's power-on contents: everything 0 but the mask. */
static void pci_msix_clear(struct vdev_pci *pci)
{
	memset(pci->msix_table, 0, sizeof(pci->msix_table));
	memset(pci->msix_pba, 0, sizeof(pci->msix_pba));
	for (unsigned v = 0; v < pci->msix_vectors; v++)
		pci_put(pci->msix_table + v * VDEV_PCI_MSIX_ENTRY_SIZE, VDEV_PCI_MSIX_ENTRY_CTRL, 1,
			VDEV_PCI_MSIX_CTRL_MASKED);
}

/* Do [a, a+alen) and [b, b+blen) overlap? */
static bool pci_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int vdev_pci_msix_add(struct vdev_pci *pci, unsigned vectors, unsigned bar, uint32_t table_offset,
		      uint32_t pba_offset)
{
	uint64_t table_len = (uint64_t)vectors * VDEV_PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_len = ((uint64_t)vectors + 63) / 64 * 8;
	uint8_t at;
	int err;

	if (pci->attached)
		return -EBUSY;
	if (pci->msix || vectors == 0 || vectors > VDEV_PCI_MSIX_MAX_VECTORS ||
	    bar >= VDEV_PCI_BAR_COUNT || (table_offset & 7) || (pba_offset & 7))
		return -EINVAL;
	if (pci->bar[bar].kind != VDEV_PCI_BAR_MEM32 && pci->bar[bar].kind != VDEV_PCI_BAR_MEM64)
		return -EINVAL;
	if (table_offset + table_len > pci->bar[bar].size ||
	    pba_offset + pba_len > pci->bar[bar].size ||
	    pci_ranges_overlap(table_offset, table_len, pba_offset, pba_len))
		return -EINVAL;
	err = vdev_pci_cap_add(pci, VDEV_PCI_CAP_ID_MSIX, VDEV_PCI_MSIX_CAP_LENGTH, &at);
	if (err)
		return err;
	pci->msix = at;
	pci->msix_bar = (uint8_t)bar;
	pci->msix_vectors = (uint16_t)vectors;
	pci->msix_table_offset = table_offset;
	pci->msix_pba_offset = pba_offset;
	pci_put(pci->cfg, at + VDEV_PCI_MSIX_CONTROL, 2, vectors - 1);
	pci_put(pci->cfg, at + VDEV_PCI_MSIX_TABLE, 4, table_offset | bar);
	pci_put(pci->cfg, at + VDEV_PCI_MSIX_PBA, 4, pba_offset | bar);
	pci_put(pci->wmask, at + VDEV_PCI_MSIX_CONTROL, 2,
		VDEV_PCI_MSIX_ENABLE | VDEV_PCI_MSIX_FUNC_MASK);
	pci_msix_clear(pci);
	return 0;
}

int vdev_pci_set_writable(struct vdev_pci *pci, unsigned offset, unsigned length, uint8_t mask)
{
	if (offset < PCI_CAP_START || offset > VDEV_PCI_CFG_BYTES ||
	    length > VDEV_PCI_CFG_BYTES - offset)
		return -EINVAL;
	memset(pci->wmask + offset, mask, length);
	return 0;
}

/* ------------------------------------------------------------ BARs */

uint64_t vdev_pci_bar_address(const struct vdev_pci *pci, unsigned index)
{
	unsigned off = VDEV_PCI_BAR0 + 4 * index;
	uint64_t lo;

	if (index >= VDEV_PCI_BAR_COUNT)
		return 0;
	lo = pci_get(pci->cfg, off, 4);
	switch (pci->bar[index].kind) {
	case VDEV_PCI_BAR_IO:
		return lo & ~3ull;
	case VDEV_PCI_BAR_MEM32:
		return lo & ~0xfull;
	case VDEV_PCI_BAR_MEM64:
		return (lo & ~0xfull) | ((uint64_t)pci_get(pci->cfg, off + 4, 4) << 32);
	default:
		return 0;
	}
}

bool vdev_pci_bar_mapped(const struct vdev_pci *pci, unsigned index)
{
	return index < VDEV_PCI_BAR_COUNT && pci->bar[index].mapped;
}

static enum vdev_space pci_bar_space(const struct vdev_pci_bar *bar)
{
	return bar->kind == VDEV_PCI_BAR_IO ? VDEV_SPACE_PIO : VDEV_SPACE_MMIO;
}

static void pci_set_bar_address(struct vdev_pci *pci, unsigned index, uint64_t address)
{
	unsigned off = VDEV_PCI_BAR0 + 4 * index;
	uint32_t type = pci_get(pci->cfg, off, 4) & (pci->bar[index].kind == VDEV_PCI_BAR_IO ? 3 : 0xf);

	pci_put(pci->cfg, off, 4, (uint32_t)address | type);
	if (pci->bar[index].kind == VDEV_PCI_BAR_MEM64)
		pci_put(pci->cfg, off + 4, 4, (uint32_t)(address >> 32));
}

/*
 * Map every BAR where COMMAND and its address say, as the top comment of
 * vdev/pci.h describes: unmapped while decode is off or the address is 0;
 * a range region_add refuses leaves it unmapped until the next change.
 */
static void pci_sync_bars(struct vdev_pci *pci)
{
	uint32_t cmd = pci_get(pci->cfg, VDEV_PCI_COMMAND, 2);

	for (unsigned i = 0; i < VDEV_PCI_BAR_COUNT; i++) {
		struct vdev_pci_bar *bar = &pci->bar[i];
		uint64_t addr = vdev_pci_bar_address(pci, i);
		bool want;
		int err;

		if (bar->kind == VDEV_PCI_BAR_NONE)
			continue;
		if (bar->kind == VDEV_PCI_BAR_IO)
			want = (cmd & VDEV_PCI_CMD_IO) && addr && addr < PCI_IO_LIMIT &&
			       bar->size <= PCI_IO_LIMIT - addr;
		else
			want = (cmd & VDEV_PCI_CMD_MEMORY) && addr;
		if (bar->mapped && (!want || bar->mapped_base != addr)) {
			pci->host->region_remove(pci->h, bar->region);
			bar->mapped = false;
		}
		if (!want || bar->mapped)
			continue;
		err = pci->host->region_add(pci->h, pci_bar_space(bar), addr, bar->size,
					    bar->region);
		if (err) {
			pci->host->log(pci->h, VDEV_LOG_DEBUG,
				       "BAR%u at %s 0x%llx+0x%llx stays unmapped: %s", i,
				       bar->kind == VDEV_PCI_BAR_IO ? "io" : "mem",
				       (unsigned long long)addr, (unsigned long long)bar->size,
				       strerror(-err));
			continue;
		}
		bar->mapped = true;
		bar->mapped_base = addr;
	}
}

/* ------------------------------------------------------------ INTx */

void vdev_pci_set_intx_line(struct vdev_pci *pci, struct vdev_line *line)
{
	pci->intx_line = line;
}

static void pci_drive_intx(struct vdev_pci *pci)
{
	uint32_t cmd = pci_get(pci->cfg, VDEV_PCI_COMMAND, 2);
	uint32_t status = pci_get(pci->cfg, VDEV_PCI_STATUS, 2);

	status = pci->intx_level ? status | VDEV_PCI_STATUS_INTX : status & ~VDEV_PCI_STATUS_INTX;
	pci_put(pci->cfg, VDEV_PCI_STATUS, 2, status);
	if (pci->intx_line)
		pci->host->line_set(pci->h, pci->intx_line,
				    pci->intx_level && !(cmd & VDEV_PCI_CMD_INTX_DISABLE) &&
					    !vdev_pci_msi_enabled(pci) && !vdev_pci_msix_enabled(pci));
}

void vdev_pci_intx(struct vdev_pci *pci, bool level)
{
	pci->intx_level = level;
	pci_drive_intx(pci);
}

/* ------------------------------------------------------------ DMA */

bool vdev_pci_bus_master(const struct vdev_pci *pci)
{
	return pci_get(pci->cfg, VDEV_PCI_COMMAND, 2) & VDEV_PCI_CMD_MASTER;
}

int vdev_pci_dma_read(struct vdev_pci *pci, uint64_t gpa, void *buf, size_t length)
{
	if (!vdev_pci_bus_master(pci))
		return -EPERM;
	return pci->host->mem_read(pci->h, gpa, buf, length);
}

int vdev_pci_dma_write(struct vdev_pci *pci, uint64_t gpa, const void *buf, size_t length)
{
	if (!vdev_pci_bus_master(pci))
		return -EPERM;
	return pci->host->mem_write(pci->h, gpa, buf, length);
}

/* ------------------------------------------------------------ MSI */

bool vdev_pci_msi_enabled(const struct vdev_pci *pci)
{
	return pci->msi &&
	       (pci_get(pci->cfg, pci->msi + VDEV_PCI_MSI_CONTROL, 2) & VDEV_PCI_MSI_ENABLE);
}

int vdev_pci_msi_send(struct vdev_pci *pci, unsigned vector)
{
	uint32_t ctrl, data, count, mmc, mme;
	uint64_t addr;
	bool addr64;

	if (!pci->msi)
		return -ENODEV;
	ctrl = pci_get(pci->cfg, pci->msi + VDEV_PCI_MSI_CONTROL, 2);
	if (!(ctrl & VDEV_PCI_MSI_ENABLE))
		return -EAGAIN;
	if (!(pci_get(pci->cfg, VDEV_PCI_COMMAND, 2) & VDEV_PCI_CMD_MASTER))
		return -EPERM;
	mmc = (ctrl >> 1) & 7;
	mme = (ctrl >> 4) & 7;
	count = 1u << (mme < mmc ? mme : mmc);
	if (vector >= count)
		return -EINVAL;
	addr64 = ctrl & VDEV_PCI_MSI_64BIT;
	addr = pci_get(pci->cfg, pci->msi + VDEV_PCI_MSI_ADDR_LO, 4);
	if (addr64)
		addr |= (uint64_t)pci_get(pci->cfg, pci->msi + VDEV_PCI_MSI_ADDR_HI, 4) << 32;
	data = pci_get(pci->cfg, pci->msi + (addr64 ? VDEV_PCI_MSI_DATA_64 : VDEV_PCI_MSI_DATA_32),
		       2);
	data = (data & ~(count - 1)) | vector;
	return pci->host->msi_send(pci->h, addr, data);
}

/* ------------------------------------------------------------ MSI-X */

bool vdev_pci_msix_enabled(const struct vdev_pci *pci)
{
	return pci->msix &&
	       (pci_get(pci->cfg, pci->msix + VDEV_PCI_MSIX_CONTROL, 2) & VDEV_PCI_MSIX_ENABLE);
}

static bool pci_msix_function_masked(const struct vdev_pci *pci)
{
	return pci_get(pci->cfg, pci->msix + VDEV_PCI_MSIX_CONTROL, 2) & VDEV_PCI_MSIX_FUNC_MASK;
}

/*
 * A Xen PIRQ message: vector 0 (invalid as an interrupt everywhere else),
 * the PIRQ number in the destination ID bits of 0xfee00000. A Linux HVM
 * guest on Xen programs these (arch/x86/pci/xen.c, xen_msi_compose_msg)
 * and sets pci_msi_ignore_mask: it never clears an entry's mask bit and
 * masks through the event channel instead, so the entry must be treated
 * as unmasked, as QEMU does (hw/pci/msix.c msix_vector_masked,
 * xen_is_pirq_msi). Xen turns the message into the PIRQ's event.
 */
static bool pci_msix_is_pirq(const struct vdev_pci *pci, unsigned vector)
{
	const uint8_t *e = pci->msix_table + vector * VDEV_PCI_MSIX_ENTRY_SIZE;
	uint32_t lo = pci_get(e, VDEV_PCI_MSIX_ENTRY_ADDR, 4);
	uint32_t hi = pci_get(e, VDEV_PCI_MSIX_ENTRY_ADDR + 4, 4);

	return (pci_get(e, VDEV_PCI_MSIX_ENTRY_DATA, 4) & 0xff) == 0 &&
	       (lo & 0xfff00000) == 0xfee00000 && ((hi & 0xffffff00) | ((lo >> 12) & 0xff)) != 0;
}

bool vdev_pci_msix_masked(const struct vdev_pci *pci, unsigned vector)
{
	if (!pci->msix || vector >= pci->msix_vectors || pci_msix_is_pirq(pci, vector))
		return false;
	return pci->msix_table[vector * VDEV_PCI_MSIX_ENTRY_SIZE + VDEV_PCI_MSIX_ENTRY_CTRL] &
	       VDEV_PCI_MSIX_CTRL_MASKED;
}

bool vdev_pci_msix_pending(const struct vdev_pci *pci, unsigned vector)
{
	if (!pci->msix || vector >= pci->msix_vectors)
		return false;
	return pci->msix_pba[vector / 8] & (1u << (vector % 8));
}

static void pci_msix_set_pending(struct vdev_pci *pci, unsigned vector, bool pending)
{
	if (pending)
		pci->msix_pba[vector / 8] |= (uint8_t)(1u << (vector % 8));
	else
		pci->msix_pba[vector / 8] &= (uint8_t)~(1u << (vector % 8));
}

static int pci_msix_send(struct vdev_pci *pci, unsigned vector)
{
	const uint8_t *e = pci->msix_table + vector * VDEV_PCI_MSIX_ENTRY_SIZE;
	uint64_t addr = pci_get(e, VDEV_PCI_MSIX_ENTRY_ADDR, 4) |
			(uint64_t)pci_get(e, VDEV_PCI_MSIX_ENTRY_ADDR + 4, 4) << 32;

	return pci->host->msi_send(pci->h, addr, pci_get(e, VDEV_PCI_MSIX_ENTRY_DATA, 4));
}

int vdev_pci_msix_notify(struct vdev_pci *pci, unsigned vector)
{
	if (!pci->msix)
		return -ENODEV;
	if (vector >= pci->msix_vectors)
		return -EINVAL;
	if (!vdev_pci_msix_enabled(pci))
		return -EAGAIN;
	if (!(pci_get(pci->cfg, VDEV_PCI_COMMAND, 2) & VDEV_PCI_CMD_MASTER))
		return -EPERM;
	if ((pci_msix_function_masked(pci) && !pci_msix_is_pirq(pci, vector)) ||
	    vdev_pci_msix_masked(pci, vector)) {
		pci_msix_set_pending(pci, vector, true);
		return VDEV_PCI_MSIX_PENDING;
	}
	return pci_msix_send(pci, vector);
}

/* Deliver every pending vector the guest has unmasked (PCI: "when the mask
 * is cleared, a pending message is sent"). Needs MSI-X enabled and bus
 * mastering; otherwise the bits stay pending. */
static void pci_msix_deliver_pending(struct vdev_pci *pci)
{
	if (!vdev_pci_msix_enabled(pci) || pci_msix_function_masked(pci) ||
	    !(pci_get(pci->cfg, VDEV_PCI_COMMAND, 2) & VDEV_PCI_CMD_MASTER))
		return;
	for (unsigned v = 0; v < pci->msix_vectors; v++) {
		if (!vdev_pci_msix_pending(pci, v) || vdev_pci_msix_masked(pci, v))
			continue;
		pci_msix_set_pending(pci, v, false);
		pci_msix_send(pci, v);
	}
}

/* Where an access falls: the table (*base = table offset), the PBA, or neither. */
enum pci_msix_part { PCI_MSIX_NONE, PCI_MSIX_TABLE, PCI_MSIX_PBA };

static enum pci_msix_part pci_msix_part(const struct vdev_pci *pci,
					const struct vdev_access *access, uint64_t *rel)
{
	uint64_t table_len = (uint64_t)pci->msix_vectors * VDEV_PCI_MSIX_ENTRY_SIZE;
	uint64_t pba_len = ((uint64_t)pci->msix_vectors + 63) / 64 * 8;
	uint64_t off = access->offset;

	if (!pci->msix || access->space != VDEV_SPACE_MMIO ||
	    access->region != pci->bar[pci->msix_bar].region)
		return PCI_MSIX_NONE;
	if (off >= pci->msix_table_offset && off - pci->msix_table_offset < table_len) {
		*rel = off - pci->msix_table_offset;
		return PCI_MSIX_TABLE;
	}
	if (off >= pci->msix_pba_offset && off - pci->msix_pba_offset < pba_len) {
		*rel = off - pci->msix_pba_offset;
		return PCI_MSIX_PBA;
	}
	return PCI_MSIX_NONE;
}

bool vdev_pci_is_msix(const struct vdev_pci *pci, const struct vdev_access *access)
{
	uint64_t rel;

	return pci_msix_part(pci, access, &rel) != PCI_MSIX_NONE;
}

int vdev_pci_msix_read(struct vdev_pci *pci, const struct vdev_access *access, uint64_t *value)
{
	uint64_t rel = 0, v = 0;
	enum pci_msix_part part = pci_msix_part(pci, access, &rel);
	unsigned table_len = pci->msix_vectors * VDEV_PCI_MSIX_ENTRY_SIZE;

	for (unsigned i = 0; i < access->size && i < 8; i++) {
		uint64_t at = rel + i;

		/* PBA qwords past the last vector read 0 (the array is bytes here) */
		if (part == PCI_MSIX_TABLE && at < table_len)
			v |= (uint64_t)pci->msix_table[at] << (8 * i);
		else if (part == PCI_MSIX_PBA && at < sizeof(pci->msix_pba))
			v |= (uint64_t)pci->msix_pba[at] << (8 * i);
	}
	*value = v;
	return 0;
}

int vdev_pci_msix_write(struct vdev_pci *pci, const struct vdev_access *access, uint64_t value)
{
	uint64_t rel = 0;
	unsigned table_len = pci->msix_vectors * VDEV_PCI_MSIX_ENTRY_SIZE;
	bool unmasked = false;

	/* the PBA is read-only */
	if (pci_msix_part(pci, access, &rel) != PCI_MSIX_TABLE)
		return 0;
	for (unsigned i = 0; i < access->size && i < 8; i++) {
		uint64_t at = rel + i;
		unsigned field = (unsigned)(at % VDEV_PCI_MSIX_ENTRY_SIZE);
		uint8_t b = (uint8_t)(value >> (8 * i));

		if (at >= table_len)
			break;
		if (field == VDEV_PCI_MSIX_ENTRY_ADDR)
			b &= 0xfc; /* a dword-aligned address */
		if (field == VDEV_PCI_MSIX_ENTRY_CTRL) {
			b &= VDEV_PCI_MSIX_CTRL_MASKED;
			unmasked |= (pci->msix_table[at] & VDEV_PCI_MSIX_CTRL_MASKED) && !b;
		} else if (field > VDEV_PCI_MSIX_ENTRY_CTRL) {
			b = 0; /* the rest of vector control is reserved */
		}
		pci->msix_table[at] = b;
	}
	if (unmasked)
		pci_msix_deliver_pending(pci);
	return 0;
}

/* ------------------------------------------------------------ placement */

/* The device number from the host's answer: the first free on bus 0. */
static int pci_place_config(struct vdev_pci *pci, const struct vdev_loc *bdf)
{
	int err;

	if (bdf) {
		if (bdf->bus != 0 || bdf->dev > 31 || bdf->fn > 7) {
			pci->host->log(pci->h, VDEV_LOG_ERROR,
				       "loc pci:%u:%u.%u: the guest's PCI bus is 0, devices 0..31, "
				       "functions 0..7",
				       bdf->bus, bdf->dev, bdf->fn);
			return -EINVAL;
		}
		err = pci->host->region_add(pci->h, VDEV_SPACE_PCICFG,
					    VDEV_PCICFG_ADDR(0, bdf->dev, bdf->fn, 0),
					    VDEV_PCI_CFG_SPACE, pci->cfg_region);
		if (err) {
			pci->host->log(pci->h, VDEV_LOG_ERROR, "cannot claim pci:0:%u.%u: %s%s",
				       bdf->dev, bdf->fn, strerror(-err),
				       err == -EEXIST ? " (another function is there)" : "");
			return err;
		}
		pci->dev = bdf->dev;
		pci->fn = bdf->fn;
		return 0;
	}
	for (unsigned dev = 1; dev < 32; dev++) {
		err = pci->host->region_add(pci->h, VDEV_SPACE_PCICFG,
					    VDEV_PCICFG_ADDR(0, dev, 0, 0), VDEV_PCI_CFG_SPACE,
					    pci->cfg_region);
		if (err == -EEXIST)
			continue;
		if (err) {
			pci->host->log(pci->h, VDEV_LOG_ERROR, "cannot claim pci:0:%u.0: %s", dev,
				       strerror(-err));
			return err;
		}
		pci->dev = (uint8_t)dev;
		pci->fn = 0;
		return 0;
	}
	pci->host->log(pci->h, VDEV_LOG_ERROR, "no free device number on PCI bus 0");
	return -ENOSPC;
}

/* A BAR at the address the configuration gives. */
static int pci_place_bar_at(struct vdev_pci *pci, unsigned index, const struct vdev_loc *loc)
{
	struct vdev_pci_bar *bar = &pci->bar[index];
	enum vdev_space space = pci_bar_space(bar);
	uint64_t limit = bar->kind == VDEV_PCI_BAR_IO      ? PCI_IO_LIMIT
			 : bar->kind == VDEV_PCI_BAR_MEM32 ? PCI_MEM32_LIMIT
							   : 0;
	const char *sp = space == VDEV_SPACE_PIO ? "io" : "mem";
	int err;

	if (loc->space != space) {
		pci->host->log(pci->h, VDEV_LOG_ERROR, "BAR%u is %s space: give a %s: loc", index,
			       sp, sp);
		return -EINVAL;
	}
	if (!loc->base || loc->base & (bar->size - 1) ||
	    (limit && (loc->base >= limit || bar->size > limit - loc->base)) ||
	    (loc->length && loc->length != bar->size)) {
		pci->host->log(pci->h, VDEV_LOG_ERROR,
			       "BAR%u: %s 0x%llx must be non-zero, aligned to its size 0x%llx%s "
			       "(and any loc length equal to it)",
			       index, sp, (unsigned long long)loc->base,
			       (unsigned long long)bar->size,
			       limit == PCI_MEM32_LIMIT ? ", below 4 GiB" : "");
		return -EINVAL;
	}
	err = pci->host->region_add(pci->h, space, loc->base, bar->size, bar->region);
	if (err) {
		pci->host->log(pci->h, VDEV_LOG_ERROR, "BAR%u: cannot map %s 0x%llx+0x%llx: %s",
			       index, sp, (unsigned long long)loc->base,
			       (unsigned long long)bar->size, strerror(-err));
		return err;
	}
	bar->mapped = true;
	bar->mapped_base = loc->base;
	pci_set_bar_address(pci, index, loc->base);
	return 0;
}

/* A BAR in the first free aligned slot of the default window, if any. */
static int pci_place_bar_window(struct vdev_pci *pci, unsigned index)
{
	struct vdev_pci_bar *bar = &pci->bar[index];
	enum vdev_space space = pci_bar_space(bar);
	uint64_t lo = space == VDEV_SPACE_PIO ? PCI_IO_WINDOW_BASE : PCI_MMIO_WINDOW_BASE;
	uint64_t hi = space == VDEV_SPACE_PIO ? PCI_IO_WINDOW_END : PCI_MMIO_WINDOW_END;
	uint64_t addr = (lo + bar->size - 1) & ~(bar->size - 1);
	int err;

	for (; addr < hi && bar->size <= hi - addr; addr += bar->size) {
		err = pci->host->region_add(pci->h, space, addr, bar->size, bar->region);
		if (err == -EEXIST)
			continue;
		if (err) {
			pci->host->log(pci->h, VDEV_LOG_ERROR, "BAR%u: cannot map at 0x%llx: %s",
				       index, (unsigned long long)addr, strerror(-err));
			return err;
		}
		bar->mapped = true;
		bar->mapped_base = addr;
		pci_set_bar_address(pci, index, addr);
		return 0;
	}
	pci->host->log(pci->h, VDEV_LOG_INFO,
		       "BAR%u (0x%llx bytes): the default window is full; left for the guest "
		       "to assign",
		       index, (unsigned long long)bar->size);
	return 0;
}

/* The line number of an `intr` text ("ctrl:N"), or 0xff. */
static uint8_t pci_intr_number(const char *text)
{
	const char *colon = text ? strrchr(text, ':') : NULL;
	char *end;
	unsigned long n;

	if (!colon || !colon[1])
		return 0xff;
	n = strtoul(colon + 1, &end, 0);
	return (*end && *end != ',') || n > 0xfe ? 0xff : (uint8_t)n;
}

/*
 * The platform's "pci" controller numbers INTx lines device * 4 + pin - 1
 * (vdm's sim and Xen's set_pci_intx_level alike): a function's line
 * follows from its slot and pin, so an `intr pci:N` naming another slot's
 * or another pin's line would deliver its interrupts elsewhere. Refused
 * with the line to give instead. Other controllers (an ioapic plugin, a
 * GIC) take any line.
 */
static int pci_check_intx(struct vdev_pci *pci, const struct vdev_config *cfg)
{
	unsigned pin = pci->cfg[VDEV_PCI_INT_PIN], want;
	const char *spec = cfg->intr_count ? cfg->intrs[0] : NULL;
	char *end;
	unsigned long n;

	if (!spec || strncmp(spec, "pci:", 4) != 0)
		return 0;
	if (!pin) {
		pci->host->log(pci->h, VDEV_LOG_ERROR,
			       "intr %s: this function has no interrupt pin; remove the intr",
			       spec);
		return -EINVAL;
	}
	want = pci->dev * 4u + pin - 1;
	n = strtoul(spec + 4, &end, 0);
	if (*end || n != want) {
		pci->host->log(pci->h, VDEV_LOG_ERROR,
			       "intr %s: the pci controller's line N is slot N/4, pin INTA#+N%%4; "
			       "this function is in slot %u with INT%c#, so give intr pci:%u "
			       "(or place it with loc pci:0:%lu)",
			       spec, pci->dev, 'A' + pin - 1, want, n / 4);
		return -EINVAL;
	}
	return 0;
}

int vdev_pci_attach(struct vdev_pci *pci, const struct vdev_config *cfg)
{
	const struct vdev_loc *bdf = NULL, *addrs[VDEV_PCI_BAR_COUNT];
	unsigned naddr = 0, used = 0, i;
	uint32_t cmd = 0;
	int err;

	if (pci->attached)
		return -EBUSY;
	for (i = 0; i < cfg->loc_count; i++) {
		const struct vdev_loc *loc = &cfg->locs[i];

		if (loc->kind == VDEV_LOC_PCI_ID) {
			pci->host->log(pci->h, VDEV_LOG_ERROR,
				       "loc pci:VID/DID names a host device (for pass); give "
				       "pci:0:DEV[.FN]");
			return -EINVAL;
		}
		if (loc->kind == VDEV_LOC_PCI_BDF) {
			if (bdf) {
				pci->host->log(pci->h, VDEV_LOG_ERROR, "more than one pci: loc");
				return -EINVAL;
			}
			bdf = loc;
			continue;
		}
		if (naddr == VDEV_PCI_BAR_COUNT) {
			pci->host->log(pci->h, VDEV_LOG_ERROR, "more address locs than BARs");
			return -EINVAL;
		}
		addrs[naddr++] = loc;
	}
	err = pci_place_config(pci, bdf);
	if (err)
		return err;
	for (i = 0; i < VDEV_PCI_BAR_COUNT; i++) {
		if (pci->bar[i].kind == VDEV_PCI_BAR_NONE)
			continue;
		err = used < naddr ? pci_place_bar_at(pci, i, addrs[used++])
				   : pci_place_bar_window(pci, i);
		if (err)
			return err;
		cmd |= pci->bar[i].kind == VDEV_PCI_BAR_IO ? VDEV_PCI_CMD_IO : VDEV_PCI_CMD_MEMORY;
	}
	if (used < naddr) {
		pci->host->log(pci->h, VDEV_LOG_ERROR,
			       "%u address locs for %u BARs: one per BAR, in BAR order", naddr,
			       used);
		return -EINVAL;
	}
	err = pci_check_intx(pci, cfg);
	if (err)
		return err;
	pci_put(pci->cfg, VDEV_PCI_COMMAND, 2, cmd);
	if (pci->cfg[VDEV_PCI_INT_PIN])
		pci->cfg[VDEV_PCI_INT_LINE] =
			cfg->intr_count ? pci_intr_number(cfg->intrs[0]) : 0xff;
	memcpy(pci->reset_cfg, pci->cfg, sizeof(pci->cfg));
	pci->attached = true;
	return 0;
}

/* ------------------------------------------------------------ accesses */

bool vdev_pci_is_config(const struct vdev_pci *pci, const struct vdev_access *access)
{
	return access->space == VDEV_SPACE_PCICFG && access->region == pci->cfg_region;
}

int vdev_pci_config_read(struct vdev_pci *pci, const struct vdev_access *access, uint64_t *value)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < access->size && i < 8; i++) {
		uint64_t off = access->offset + i;

		if (off < VDEV_PCI_CFG_BYTES)
			v |= (uint64_t)pci->cfg[off] << (8 * i);
	}
	*value = v;
	return 0;
}

int vdev_pci_config_write(struct vdev_pci *pci, const struct vdev_access *access, uint64_t value)
{
	bool bars = false, command = false, msix = false;

	for (unsigned i = 0; i < access->size && i < 8; i++) {
		uint64_t off = access->offset + i;
		uint8_t b = (uint8_t)(value >> (8 * i));

		if (off >= VDEV_PCI_CFG_BYTES)
			continue;
		pci->cfg[off] = (uint8_t)((pci->cfg[off] & ~pci->wmask[off]) |
					  (b & pci->wmask[off]));
		pci->cfg[off] &= (uint8_t)~(b & pci->w1cmask[off]);
		if (off == VDEV_PCI_COMMAND || off == VDEV_PCI_COMMAND + 1)
			command = true;
		if (off >= VDEV_PCI_BAR0 && off < PCI_BAR_END)
			bars = true;
		if (pci->msi && off >= pci->msi && off < pci->msi + 4u)
			command = true; /* MSI enable gates INTx */
		if (pci->msix && off >= pci->msix && off < pci->msix + 4u)
			msix = true; /* MSI-X enable gates INTx; unmasking delivers */
	}
	if (bars || command)
		pci_sync_bars(pci);
	if (command || msix)
		pci_drive_intx(pci);
	if (command || msix)
		pci_msix_deliver_pending(pci);
	return 0;
}

uint32_t vdev_pci_cfg_get(const struct vdev_pci *pci, unsigned offset, unsigned size)
{
	if (size > 4 || offset >= VDEV_PCI_CFG_BYTES)
		return 0;
	return pci_get(pci->cfg, offset, size);
}

int vdev_pci_cfg_set(struct vdev_pci *pci, unsigned offset, unsigned size, uint32_t value)
{
	if ((size != 1 && size != 2 && size != 4) || offset + size > VDEV_PCI_CFG_BYTES)
		return -EINVAL;
	if ((offset < VDEV_PCI_COMMAND + 2 && offset + size > VDEV_PCI_COMMAND) ||
	    (offset < PCI_BAR_END && offset + size > VDEV_PCI_BAR0))
		return -EINVAL;
	pci_put(pci->cfg, offset, size, value);
	for (unsigned i = 0; i < size; i++)
		pci->devmask[offset + i] = 0xff;
	return 0;
}

/* ------------------------------------------------------------ reset/state */

void vdev_pci_reset(struct vdev_pci *pci)
{
	memcpy(pci->cfg, pci->reset_cfg, sizeof(pci->cfg));
	pci->intx_level = false;
	pci_msix_clear(pci);
	pci_sync_bars(pci);
	pci_drive_intx(pci);
}

/* Restored MSI-X contents the guest could not have written: refused. */
static bool pci_msix_state_valid(const struct vdev_pci *pci)
{
	for (unsigned v = 0; v < pci->msix_vectors; v++) {
		const uint8_t *e = pci->msix_table + v * VDEV_PCI_MSIX_ENTRY_SIZE;

		if ((e[VDEV_PCI_MSIX_ENTRY_ADDR] & 3) ||
		    (pci_get(e, VDEV_PCI_MSIX_ENTRY_CTRL, 4) & ~VDEV_PCI_MSIX_CTRL_MASKED))
			return false;
	}
	for (unsigned v = pci->msix_vectors; v < VDEV_PCI_MSIX_MAX_VECTORS; v++)
		if (pci->msix_pba[v / 8] & (1u << (v % 8)))
			return false;
	return true;
}

void vdev_pci_state(struct vdev_state *st, struct vdev_pci *pci)
{
	vdev_state_bytes(st, pci->cfg, sizeof(pci->cfg));
	vdev_state_bool(st, &pci->intx_level);
	if (pci->msix) {
		vdev_state_bytes(st, pci->msix_table,
				 (size_t)pci->msix_vectors * VDEV_PCI_MSIX_ENTRY_SIZE);
		vdev_state_bytes(st, pci->msix_pba, ((size_t)pci->msix_vectors + 7) / 8);
	}
	if (!vdev_state_restoring(st))
		return;
	if (pci->msix && !pci_msix_state_valid(pci)) {
		vdev_state_invalid(st);
		return;
	}
	for (unsigned i = 0; i < VDEV_PCI_CFG_BYTES; i++) {
		uint8_t free_bits = pci->wmask[i] | pci->w1cmask[i] | pci->devmask[i];

		if ((pci->cfg[i] ^ pci->reset_cfg[i]) & ~free_bits) {
			vdev_state_invalid(st);
			return;
		}
	}
}

void vdev_pci_restored(struct vdev_pci *pci)
{
	pci_sync_bars(pci);
	pci_drive_intx(pci);
	pci_msix_deliver_pending(pci);
}
