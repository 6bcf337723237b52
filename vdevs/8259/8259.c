/*
 * vdevs/8259/8259.c: the PC's pair of 8259A programmable interrupt
 * controllers (master at io:0x20, slave at io:0xa0 cascaded on master IR2)
 * with the PIIX/EISA edge/level control registers (ELCR) at io:0x4d0/0x4d1.
 *
 * An interrupt controller plugin: other devices name it `intr NAME:N`,
 * N 0..15 (0..7 master, 8..15 slave). Input 2 is the cascade on a PC, so a
 * device given line 2 is routed to IRQ 9, as the AT's ISA bus does. The
 * master's INT output drives the CPU: with `intr cpu:0` the instance looks
 * that line up and drives it; without `intr` it has no upstream and a
 * host-side CPU model polls ack() instead.
 *
 * Modelled (8259A datasheet): ICW1-ICW4 initialisation (single/cascade,
 * ICW4 optional, LTIM), OCW1 mask, OCW2 EOI (non-specific, specific, with
 * rotation), rotate in automatic-EOI mode, set priority, OCW3 read of
 * IRR/ISR, poll mode, special mask mode, special fully nested mode (master),
 * automatic EOI, spurious IRQ 7/15.
 *
 * Triggering. Level-sensitive inputs (ELCR bit set, or LTIM): IRR follows
 * the input; if the request goes away before the CPU acknowledges, the
 * acknowledge returns the spurious vector (IR7 of that chip, ISR untouched),
 * as the datasheet says. Edge-sensitive inputs: a rising edge latches IRR
 * and the latch holds until the acknowledge, even if the input falls first,
 * so that devices which pulse their line (line_pulse) are not lost; a new
 * request needs a new rising edge. The cascade input (master IR2) follows
 * the slave's INT output as a level, so the slave is never lost either.
 * Not modelled: 8080/85 mode (ICW4 uPM=0 is accepted and treated as 8086
 * mode), buffered mode bits (no electrical meaning here).
 *
 * Recomputes both outputs after every register access and input change.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/vdev.h>
#include <vdev/state.h>

#define PIC_LINES	  16
#define PIC_CASCADE_IRQ	  2
#define PIC_NAME	  "8259"
#define PIC_STATE_VERSION 1
#define PIC_CHIP_FIELDS	  18

/* ELCR bits that exist on a PIIX: IRQ 0, 1, 2, 8 and 13 are always edge. */
#define PIC_ELCR_MASK_MASTER 0xf8
#define PIC_ELCR_MASK_SLAVE  0xde

enum { REGION_MASTER, REGION_SLAVE, REGION_ELCR };

/* One 8259A. Only fixed-width fields: the whole struct is saved. */
struct pic_chip {
	uint8_t irr;	      /* interrupt request register */
	uint8_t isr;	      /* in-service register */
	uint8_t imr;	      /* interrupt mask register (OCW1) */
	uint8_t input;	      /* current level of each IR input */
	uint8_t elcr;	      /* 1 = level-sensitive (ELCR) */
	uint8_t base;	      /* ICW2: vector of IR0 */
	uint8_t icw3;	      /* slave ids (master) or own id (slave) */
	uint8_t init_step;    /* 0 ready; 2, 3, 4: the ICW expected next */
	uint8_t priority_add; /* IR with the highest priority (rotation) */
	uint8_t read_isr;     /* OCW3 RR/RIS: read ISR instead of IRR */
	uint8_t poll;	      /* OCW3 P: the next read is a poll */
	uint8_t special_mask;
	uint8_t auto_eoi;
	uint8_t rotate_on_aeoi;
	uint8_t sfnm;	/* special fully nested mode */
	uint8_t single; /* ICW1 SNGL */
	uint8_t icw4_needed;
	uint8_t ltim; /* ICW1 LTIM: every input level-sensitive */
};

struct pic {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *cpu;	 /* the master's INT output, or NULL */
	struct pic_chip chip[2]; /* master, slave */
	uint8_t output;		 /* level last given to the CPU line */
};

/* pic_level_mask: the inputs of chip `c` that are level-sensitive. */
static uint8_t pic_level_mask(const struct pic *p, int c)
{
	const struct pic_chip *s = &p->chip[c];
	uint8_t mask = s->ltim ? 0xff : s->elcr;

	/* The cascade input follows the slave's output as a level. */
	if (c == 0 && !s->single)
		mask |= 1u << PIC_CASCADE_IRQ;
	return mask;
}

/*
 * pic_priority: the priority (0 highest .. 7 lowest) of the highest-priority
 * bit set in mask under the chip's rotation, or 8 when mask is empty.
 */
static int pic_priority(const struct pic_chip *s, uint8_t mask)
{
	for (int prio = 0; prio < 8; prio++)
		if (mask & (1u << ((prio + s->priority_add) & 7)))
			return prio;
	return 8;
}

/*
 * pic_pending: the IR a chip would present to the CPU now (highest-priority
 * unmasked request not blocked by an in-service level), or -1.
 */
static int pic_pending(const struct pic_chip *s, bool master)
{
	uint8_t in_service = s->isr;
	int req, cur;

	req = pic_priority(s, s->irr & ~s->imr);
	if (req == 8)
		return -1;
	/* Special mask mode: masked in-service levels do not block others. */
	if (s->special_mask)
		in_service &= ~s->imr;
	/* Special fully nested (master): higher slave requests pass IR2. */
	if (master && s->sfnm)
		in_service &= ~(1u << PIC_CASCADE_IRQ);
	cur = pic_priority(s, in_service);
	if (req < cur)
		return (req + s->priority_add) & 7;
	return -1;
}

/* pic_update: propagate the slave's output to master IR2, then drive the CPU. */
static void pic_update(struct pic *p)
{
	struct pic_chip *m = &p->chip[0];
	uint8_t bit = 1u << PIC_CASCADE_IRQ;
	int level;

	if (!m->single) {
		if (pic_pending(&p->chip[1], false) >= 0) {
			m->input |= bit;
			m->irr |= bit;
		} else {
			m->input &= ~bit;
			m->irr &= ~bit;
		}
	}
	level = pic_pending(m, true) >= 0;
	p->output = (uint8_t)level;
	if (p->cpu)
		p->host->line_set(p->h, p->cpu, level); /* the host filters repeats */
}

/* pic_input: input `irq` of chip `c` changed to `level`. */
static void pic_input(struct pic *p, int c, int irq, int level)
{
	struct pic_chip *s = &p->chip[c];
	uint8_t bit = 1u << irq;

	if (level) {
		if (!(s->input & bit))
			s->irr |= bit; /* rising edge, or level now high */
		s->input |= bit;
	} else {
		s->input &= ~bit;
		if (pic_level_mask(p, c) & bit)
			s->irr &= ~bit; /* a level request went away */
	}
}

/* pic_chip_ack: the CPU acknowledged IR `irq` of chip `c`. */
static void pic_chip_ack(struct pic *p, int c, int irq)
{
	struct pic_chip *s = &p->chip[c];
	uint8_t bit = 1u << irq;

	if (s->auto_eoi) {
		if (s->rotate_on_aeoi)
			s->priority_add = (uint8_t)((irq + 1) & 7);
	} else {
		s->isr |= bit;
	}
	/* An edge latch is consumed; a level request stays while the input is high. */
	if (!(pic_level_mask(p, c) & bit))
		s->irr &= ~bit;
}

/* The intc ack op: an INTA cycle; returns the vector (spurious: IR7's). */
static int pic_ack(void *dev)
{
	struct pic *p = dev;
	int irq, vector;

	irq = pic_pending(&p->chip[0], true);
	if (irq < 0) {
		vector = p->chip[0].base + 7; /* spurious IRQ 7: ISR untouched */
	} else {
		pic_chip_ack(p, 0, irq);
		if (irq == PIC_CASCADE_IRQ && !p->chip[0].single) {
			int irq2 = pic_pending(&p->chip[1], false);

			if (irq2 >= 0) {
				pic_chip_ack(p, 1, irq2);
				vector = p->chip[1].base + irq2;
			} else {
				vector = p->chip[1].base + 7; /* spurious IRQ 15 */
			}
		} else {
			vector = p->chip[0].base + irq;
		}
	}
	pic_update(p);
	return vector & 0xff;
}

/* pic_poll_read: OCW3 poll: acknowledge on this chip and report the level. */
static uint8_t pic_poll_read(struct pic *p, int c)
{
	int irq = pic_pending(&p->chip[c], c == 0);

	p->chip[c].poll = 0;
	if (irq < 0)
		return 0x00;
	pic_chip_ack(p, c, irq);
	return (uint8_t)(0x80 | irq);
}

/* pic_icw1: start initialisation (datasheet: "Initialization Command Words"). */
static void pic_icw1(struct pic *p, int c, uint8_t value)
{
	struct pic_chip *s = &p->chip[c];

	s->ltim = !!(value & 0x08);
	s->single = !!(value & 0x02);
	s->icw4_needed = !!(value & 0x01);
	s->init_step = 2;
	/* The edge-sense circuit is reset: edge inputs need a new rising
	 * edge; level inputs still high keep requesting. */
	s->irr = s->input & pic_level_mask(p, c);
	s->isr = 0;
	s->imr = 0;
	s->priority_add = 0; /* IR0 highest, IR7 lowest */
	s->special_mask = 0;
	s->read_isr = 0;
	s->poll = 0;
	if (!s->icw4_needed) {
		s->auto_eoi = 0;
		s->sfnm = 0;
	}
	s->rotate_on_aeoi = 0;
}

/* pic_ocw2: EOI and rotation commands. */
static void pic_ocw2(struct pic *p, int c, uint8_t value)
{
	struct pic_chip *s = &p->chip[c];
	int level = value & 7, irq;

	switch (value >> 5) {
	case 0: /* clear rotate in automatic EOI mode */
		s->rotate_on_aeoi = 0;
		break;
	case 4: /* set rotate in automatic EOI mode */
		s->rotate_on_aeoi = 1;
		break;
	case 1: /* non-specific EOI */
	case 5: /* rotate on non-specific EOI */
		irq = pic_priority(s, s->isr);
		if (irq == 8)
			break;
		irq = (irq + s->priority_add) & 7;
		s->isr &= ~(1u << irq);
		if (value >> 5 == 5)
			s->priority_add = (uint8_t)((irq + 1) & 7);
		break;
	case 3: /* specific EOI */
		s->isr &= ~(1u << level);
		break;
	case 7: /* rotate on specific EOI */
		s->isr &= ~(1u << level);
		s->priority_add = (uint8_t)((level + 1) & 7);
		break;
	case 6: /* set priority: `level` becomes the lowest */
		s->priority_add = (uint8_t)((level + 1) & 7);
		break;
	default: /* 2: no operation */
		break;
	}
}

static void pic_ocw3(struct pic_chip *s, uint8_t value)
{
	if (value & 0x04)
		s->poll = 1;
	if (value & 0x02)
		s->read_isr = value & 0x01;
	if (value & 0x40)
		s->special_mask = !!(value & 0x20);
}

static void pic_chip_write(struct pic *p, int c, unsigned port, uint8_t value)
{
	struct pic_chip *s = &p->chip[c];

	if (port == 0) {
		if (value & 0x10)
			pic_icw1(p, c, value);
		else if (value & 0x08)
			pic_ocw3(s, value);
		else
			pic_ocw2(p, c, value);
		return;
	}
	switch (s->init_step) {
	case 2: /* ICW2: the vector base; the low three bits are the IR number */
		s->base = value & 0xf8;
		s->init_step = s->single ? (s->icw4_needed ? 4 : 0) : 3;
		break;
	case 3: /* ICW3 */
		s->icw3 = value;
		s->init_step = s->icw4_needed ? 4 : 0;
		break;
	case 4: /* ICW4: AEOI (bit 1), SFNM (bit 4); uPM and buffering ignored */
		s->auto_eoi = !!(value & 0x02);
		s->sfnm = !!(value & 0x10);
		s->init_step = 0;
		break;
	default: /* OCW1 */
		s->imr = value;
		break;
	}
}

static uint8_t pic_chip_read(struct pic *p, int c, unsigned port)
{
	struct pic_chip *s = &p->chip[c];

	if (s->poll)
		return pic_poll_read(p, c);
	if (port == 0)
		return s->read_isr ? s->isr : s->irr;
	return s->imr;
}

/* pic_elcr_write: a new trigger mode; level inputs start following their input. */
static void pic_elcr_write(struct pic *p, int c, uint8_t value)
{
	struct pic_chip *s = &p->chip[c];
	uint8_t now_level;

	s->elcr = value & (c ? PIC_ELCR_MASK_SLAVE : PIC_ELCR_MASK_MASTER);
	now_level = pic_level_mask(p, c);
	s->irr = (uint8_t)((s->irr & ~now_level) | (s->input & now_level));
}

static int pic_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct pic *p = dev;

	if (a->offset > 1)
		return VDEV_ACCESS_BUS_ERROR;
	if (a->region == REGION_ELCR)
		*value = p->chip[a->offset].elcr;
	else
		*value = pic_chip_read(p, a->region == REGION_SLAVE, (unsigned)a->offset);
	pic_update(p);
	return 0;
}

static int pic_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct pic *p = dev;

	if (a->offset > 1)
		return VDEV_ACCESS_BUS_ERROR;
	if (a->region == REGION_ELCR)
		pic_elcr_write(p, (int)a->offset, (uint8_t)value);
	else
		pic_chip_write(p, a->region == REGION_SLAVE, (unsigned)a->offset, (uint8_t)value);
	pic_update(p);
	return 0;
}

static unsigned pic_line_count(void *dev)
{
	return PIC_LINES;
}

static void pic_set_level(void *dev, unsigned line, int level)
{
	struct pic *p = dev;

	if (line >= PIC_LINES)
		return;
	if (line == PIC_CASCADE_IRQ)
		line = 9; /* the AT routes the ISA bus's IRQ2 pin to IRQ 9 */
	pic_input(p, (int)(line >> 3), (int)(line & 7), level);
	pic_update(p);
}

/* Power-on: both chips uninitialised, everything cleared, inputs kept. */
static void pic_reset(void *dev)
{
	struct pic *p = dev;

	for (int c = 0; c < 2; c++) {
		uint8_t input = p->chip[c].input;

		memset(&p->chip[c], 0, sizeof(p->chip[c]));
		/* Inputs are wires from other devices, not chip state. */
		p->chip[c].input = c ? input : (uint8_t)(input & ~(1u << PIC_CASCADE_IRQ));
	}
	p->output = 0;
	if (p->cpu)
		p->host->line_set(p->h, p->cpu, 0);
	pic_update(p);
}

static int pic_claim(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		     unsigned index, uint64_t default_base, uint32_t id)
{
	enum vdev_space space = VDEV_SPACE_PIO;
	uint64_t base = default_base;
	int rc;

	if (index < cfg->loc_count) {
		const struct vdev_loc *loc = &cfg->locs[index];

		if (loc->kind != VDEV_LOC_ADDR || (loc->length && loc->length != 2)) {
			host->log(h, VDEV_LOG_ERROR, "loc %u must be an address of length 2",
				  index + 1);
			return -EINVAL;
		}
		space = loc->space;
		base = loc->base;
	}
	rc = host->region_add(h, space, base, 2, id);
	if (rc < 0)
		host->log(h, VDEV_LOG_ERROR, "cannot claim 0x%llx+2: %d", (unsigned long long)base,
			  rc);
	return rc;
}

static int pic_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **devp)
{
	struct pic *p;
	int rc;

	if (cfg->loc_count > 3) {
		host->log(h, VDEV_LOG_ERROR,
			  "takes up to three loc (master, slave, elcr), %u given", cfg->loc_count);
		return -EINVAL;
	}
	if (cfg->intr_count > 1) {
		host->log(h, VDEV_LOG_ERROR, "takes one intr (its CPU output), %u given",
			  cfg->intr_count);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->host = host;
	p->h = h;
	if (cfg->intr_count == 1) {
		rc = host->intr_lookup(h, cfg->intrs[0], &p->cpu);
		if (rc < 0) {
			host->log(h, VDEV_LOG_ERROR, "cannot find output line %s: %d",
				  cfg->intrs[0], rc);
			goto fail;
		}
	}
	rc = pic_claim(host, h, cfg, 0, 0x20, REGION_MASTER);
	if (rc == 0)
		rc = pic_claim(host, h, cfg, 1, 0xa0, REGION_SLAVE);
	if (rc == 0)
		rc = pic_claim(host, h, cfg, 2, 0x4d0, REGION_ELCR);
	if (rc < 0)
		goto fail;
	*devp = p;
	return 0;
fail:
	free(p); /* the host undoes the regions and lines taken */
	return rc;
}

static void pic_destroy(void *dev)
{
	free(dev);
}

/* pic_chip_state: one chip's fields, shared by save and restore. */
static void pic_chip_state(struct vdev_state *st, struct pic_chip *s, int c)
{
	uint8_t *fields[] = {
	    &s->irr,	&s->isr,	  &s->imr,	 &s->input,	     &s->elcr,
	    &s->base,	&s->icw3,	  &s->init_step, &s->priority_add,   &s->read_isr,
	    &s->poll,	&s->special_mask, &s->auto_eoi,	 &s->rotate_on_aeoi, &s->sfnm,
	    &s->single, &s->icw4_needed,  &s->ltim,
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		vdev_state_u8(st, fields[i]);
	if (!vdev_state_restoring(st))
		return;
	/* Reject values no register sequence can produce. */
	if (s->init_step > 4 || s->init_step == 1 || s->priority_add > 7 ||
	    (s->elcr & ~(c ? PIC_ELCR_MASK_SLAVE : PIC_ELCR_MASK_MASTER)) || (s->base & 7) ||
	    s->read_isr > 1 || s->poll > 1 || s->special_mask > 1 || s->auto_eoi > 1 ||
	    s->rotate_on_aeoi > 1 || s->sfnm > 1 || s->single > 1 || s->icw4_needed > 1 ||
	    s->ltim > 1)
		vdev_state_invalid(st);
}

static void pic_state(struct vdev_state *st, struct pic *p)
{
	pic_chip_state(st, &p->chip[0], 0);
	pic_chip_state(st, &p->chip[1], 1);
	vdev_state_u8(st, &p->output);
	if (vdev_state_restoring(st) && p->output > 1)
		vdev_state_invalid(st);
}

static ssize_t pic_save(void *dev, void *buf, size_t cap)
{
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, PIC_NAME, PIC_STATE_VERSION);
	pic_state(&st, dev);
	return vdev_state_save_end(&st);
}

static int pic_restore(void *dev, const void *buf, size_t length)
{
	struct pic *p = dev, scratch = *p;
	struct vdev_state st;
	int rc;

	vdev_state_restore_begin(&st, buf, length, PIC_NAME, PIC_STATE_VERSION);
	pic_state(&st, &scratch);
	rc = vdev_state_restore_end(&st);
	if (rc < 0)
		return rc;
	*p = scratch;
	/* Drive the CPU line to the restored level: the host filters repeats. */
	if (p->cpu)
		p->host->line_set(p->h, p->cpu, p->output);
	pic_update(p);
	return 0;
}

static int pic_status(void *dev, char *buf, size_t cap)
{
	struct pic *p = dev;

	return snprintf(buf, cap, "irr %02x/%02x isr %02x/%02x imr %02x/%02x int %u",
			p->chip[0].irr, p->chip[1].irr, p->chip[0].isr, p->chip[1].isr,
			p->chip[0].imr, p->chip[1].imr, p->output);
}

static const struct vdev_ops pic_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = pic_create,
    .destroy = pic_destroy,
    .read = pic_read,
    .write = pic_write,
    .reset = pic_reset,
    .save = pic_save,
    .restore = pic_restore,
    .status = pic_status,
};

static const struct vdev_intc_ops pic_intc_ops = {
    .struct_size = sizeof(struct vdev_intc_ops),
    .line_count = pic_line_count,
    .set_level = pic_set_level,
    .ack = pic_ack,
};

static const struct vdev_descriptor pic_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = PIC_NAME,
    .version = "1.0.0",
    .description = "PC 8259A interrupt controller pair with ELCR",
    .flags = VDEV_F_INTC,
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(PIC_NAME) - 1) +
		  (2 * PIC_CHIP_FIELDS + 1) * VDEV_STATE_SIZE_U8,
    .ops = &pic_ops,
    .intc = &pic_intc_ops,
};

VDEV_PLUGIN_ENTRY(pic_descriptor)
