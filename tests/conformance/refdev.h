/*
 * tests/conformance/refdev.h: a small, well-behaved device that the
 * conformance fixtures are built from.
 *
 * vdev-conform-ref.so is this device as is: every check must pass or skip
 * on it. Each plugin in tests/conformance/broken/ is the same device with
 * exactly one defect, so that the one check meant to catch the defect is
 * the only one that can fail. The functions are compiled into every
 * fixture with hidden visibility (refdev.o), so they are not exported.
 *
 * Registers (one MMIO region of REF_REGION_LEN bytes, 32-bit registers,
 * any byte, little-endian, accesses of 1, 2 or 4 bytes):
 *   0x00 ID      read-only, "REF1"
 *   0x04 CTRL    bit 0 interrupt enable, bit 1 timer enable
 *   0x08 DATA    read/write; power-on value from option data-init
 *   0x0c EVENTS  bit 0 timer fired, bit 1 DATA written; clear on read
 *   0x10 PERIOD  timer period in microseconds (0 means 1000)
 *   0x14 COUNT   read-only, timer expiries
 *   0x18-0x3c    SCRATCH, ten read/write words
 * The line (the `intr` given) is high while CTRL bit 0 and EVENTS != 0.
 */
#ifndef CONFORM_REFDEV_H
#define CONFORM_REFDEV_H

#include <stdint.h>

#include <vdev/vdev.h>

#define REF_REGION_LEN 0x40u
#define REF_REGS       (REF_REGION_LEN / 4)
#define REF_ID	       0x31464552u /* "REF1" */
enum { REF_ID_REG, REF_CTRL, REF_DATA, REF_EVENTS, REF_PERIOD, REF_COUNT, REF_SCRATCH };
#define REF_CTRL_IRQ   1u
#define REF_CTRL_TIMER 2u

/* The saved state: magic, version, stamp, the registers, a CRC-32. */
#define REF_STATE_LEN	  (4 + 4 + 4 + REF_REGS * 4 + 4)
#define REF_STATE_VERSION 1u

/* The device options, in ref_options order. */
enum {
	REF_OPT_DATA_INIT,
	REF_OPT_MODE,
	REF_OPT_QUIET,
	REF_OPT_LABEL,
	REF_OPT_DEPTH,
	REF_OPT_COUNT
};

struct ref_dev {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *line;
	struct vdev_timer *timer;
	uint32_t regs[REF_REGS];
	uint32_t data_init;
	int level;
	uint32_t save_stamp;	  /* written into the state; 0 for the reference */
	struct ref_dev *line_via; /* whose handle drives the line; NULL: this one */
	void *variant;		  /* for a fixture's own use */
};

extern const struct vdev_option_spec ref_options[REF_OPT_COUNT];
extern const struct vdev_ops ref_ops;

/* The reference ops, for fixtures that replace one of them. */
int ref_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
	       void **dev);
void ref_destroy(void *dev);
int ref_read(void *dev, const struct vdev_access *access, uint64_t *value);
int ref_write(void *dev, const struct vdev_access *access, uint64_t value);
void ref_reset(void *dev);
ssize_t ref_save(void *dev, void *buf, size_t cap);
int ref_restore(void *dev, const void *buf, size_t length);

/* ref_update_line: drive the line from CTRL and EVENTS (after any change). */
void ref_update_line(struct ref_dev *d);
/* ref_crc32: the CRC-32 (IEEE) of buf, as stored at the end of the state. */
uint32_t ref_crc32(const void *buf, size_t length);

/* The descriptor fields every fixture shares; name, flags and ops vary.
 * REF_DESCRIPTOR_BODY leaves out the ABI fields and the options, for a
 * fixture that sets its own. */
#define REF_DESCRIPTOR_BODY                                                                        \
	.version = "1.0.0", .description = "vdev-conform fixture: a small register device",        \
	.default_space = VDEV_SPACE_MMIO,                                                          \
	.access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),           \
	.state_size = REF_STATE_LEN
#define REF_DESCRIPTOR_OPTIONS .options = ref_options, .option_count = REF_OPT_COUNT
#define REF_DESCRIPTOR_COMMON  VDEV_DESCRIPTOR_INIT, REF_DESCRIPTOR_BODY, REF_DESCRIPTOR_OPTIONS
#define REF_FLAGS	       (VDEV_F_LOC_REQUIRED | VDEV_F_INTR_REQUIRED)

#endif /* CONFORM_REFDEV_H */
