/*
 * tests/conformance/refpci.h: a small, well-behaved PCI function with DMA,
 * INTx, MSI and MSI-X, built on the SDK's PCI helper (vdev/pci.h) and
 * state codec: the reference of the PCI fixtures (broken/pci-*.c), as
 * refdev.h is for the others. vdev-conform-refpci.so is it as is.
 *
 * BAR0, 4 KiB of memory (32-bit registers, accesses of 4 bytes):
 *   0x00 ID      read-only, "PCI1"
 *   0x04 CTRL    bit 0 interrupt enable
 *   0x08 STATUS  bit 0 DMA done, bit 1 DMA error; write 1 to clear
 *   0x0c SRC     DMA source (guest-physical)
 *   0x10 DST     DMA destination
 *   0x14 LEN     bytes, 1..REFPCI_DMA_MAX (else the command fails)
 *   0x18 CMD     write bit 0: start a copy of LEN bytes from SRC to DST,
 *                done 1 us later (a timer), as bus master only
 *   0x1c FIFO    read: the next of REFPCI_FIFO bytes the last copy ended
 *                with (a ring the state carries with its position)
 * BAR2, 4 KiB of memory: the MSI-X table (1 vector) at 0, its PBA at 0x800.
 * The interrupt (STATUS != 0 and CTRL bit 0) goes out as MSI-X vector 0
 * when MSI-X is on, as MSI when MSI is on, else on INTx (INTA#, the
 * `intr` given, if any).
 */
#ifndef CONFORM_REFPCI_H
#define CONFORM_REFPCI_H

#include <stdbool.h>
#include <stdint.h>

#include <vdev/pci.h>
#include <vdev/state.h>
#include <vdev/vdev.h>

#define REFPCI_ID	     0x31494350u /* "PCI1" */
#define REFPCI_DMA_MAX	     256u
#define REFPCI_FIFO	     16u
#define REFPCI_STATE_VERSION 1u
enum { RP_ID, RP_CTRL, RP_STATUS, RP_SRC, RP_DST, RP_LEN, RP_CMD, RP_FIFO, RP_REGS };
#define RP_STATUS_DONE	1u
#define RP_STATUS_ERROR 2u

struct refpci {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_pci pci;
	struct vdev_line *line;
	struct vdev_timer *timer;
	uint32_t regs[RP_REGS];
	uint8_t fifo[REFPCI_FIFO];
	uint32_t fifo_pos; /* < REFPCI_FIFO */
	bool busy;	   /* a copy is under way (the timer is armed) */
	uint64_t latency;  /* option latency */
	bool irq;	   /* the interrupt condition, as last signalled */
};

/*
 * What a fixture changes (each broken/pci-NAME.c defines refpci_variant;
 * conform-refpci.c defines it empty). NULL / false: the reference.
 *  copy:  do the DMA of one command; returns 0 or a negative errno.
 *  irq:   signal the interrupt condition `level` (rising: it just went up).
 *  trust_fifo_pos: restore takes fifo_pos without checking its range.
 *  count_saves: every save counts itself in the state (the unused FIFO
 *  register word).
 */
struct refpci_variant {
	int (*copy)(struct refpci *d);
	void (*irq)(struct refpci *d, bool level, bool rising);
	bool trust_fifo_pos;
	bool count_saves;
};
extern const struct refpci_variant refpci_variant;

extern const struct vdev_ops refpci_ops;
enum { REFPCI_OPT_LATENCY, REFPCI_OPT_COUNT };
extern const struct vdev_option_spec refpci_options[REFPCI_OPT_COUNT];

/* The reference behaviours, for a variant to fall back on. */
int refpci_copy(struct refpci *d);
void refpci_irq(struct refpci *d, bool level, bool rising);

#define REFPCI_STATE_SIZE                                                                          \
	(VDEV_STATE_HEADER_SIZE(32) + VDEV_PCI_STATE_SIZE + VDEV_PCI_MSIX_STATE_SIZE(1) +          \
	 RP_REGS * VDEV_STATE_SIZE_U32 + VDEV_STATE_SIZE_BYTES(REFPCI_FIFO) +                      \
	 VDEV_STATE_SIZE_U32 + 2 * VDEV_STATE_SIZE_BOOL)

/* The descriptor fields every PCI fixture shares; name and ops vary. */
#define REFPCI_DESCRIPTOR_COMMON                                                                   \
	VDEV_DESCRIPTOR_INIT,                                                                      \
	    .version = "1.0.0", .description = "vdev-conform fixture: a PCI function with DMA",    \
	    .default_space = VDEV_SPACE_MMIO, /* of a `loc` without mem:/io: (BAR addresses) */    \
	    .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4) |      \
			    VDEV_ACCESS_SIZE(8),                                                   \
	    .state_size = REFPCI_STATE_SIZE, .options = refpci_options,                            \
	    .option_count = REFPCI_OPT_COUNT

#endif /* CONFORM_REFPCI_H */
