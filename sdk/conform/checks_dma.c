/*
 * sdk/conform/checks_dma.c: the checks on a device's bus-master side:
 * dma-faults (guest memory that is not there, host services that fail)
 * and pci-command (COMMAND.MASTER, COMMAND.INTX_DISABLE, MSI/MSI-X enable).
 *
 * Neither knows the device's registers: the workload writes values a guest
 * would program into DMA registers (conform_dma_value) at random, so a
 * device with an address, a length and a "go" bit gets each of them
 * sooner or later, and the recorder sees which host services follow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/conform/conform.h"

#define DMA_STEPS   10000
#define FAULT_STEPS 10000
#define PCI_STEPS   5000

/* Guest RAM full of bytes a device could read, none of them the poison
 * a failed mem_read leaves (so that poison in a write is the device's). */
static void fill_ram(struct conform_session *s)
{
	uint8_t *ram = vdev_testhost_ram(s->th, CONFORM_RAM_BASE, CONFORM_RAM_SIZE);

	if (!ram)
		return;
	for (size_t i = 0; i < CONFORM_RAM_SIZE; i += 8) {
		uint64_t v = conform_rng_next(&s->rng);

		for (unsigned k = 0; k < 8; k++) {
			uint8_t b = (uint8_t)(v >> (8 * k));

			ram[i + k] = b == VDEV_TESTHOST_POISON ? 0x5a : b;
		}
	}
}

/* The PCI functions of an instance: the bases of its configuration regions. */
static unsigned pci_functions(struct vdev_testdev *dev, uint64_t *bases, unsigned max)
{
	struct vdev_testhost_region regions[CONFORM_MAX_REGIONS];
	unsigned count = vdev_testhost_regions(dev, regions, CONFORM_MAX_REGIONS), n = 0;

	if (count > CONFORM_MAX_REGIONS)
		count = CONFORM_MAX_REGIONS;
	for (unsigned i = 0; i < count && n < max; i++)
		if (regions[i].space == VDEV_SPACE_PCICFG)
			bases[n++] = regions[i].base;
	return n;
}

static uint32_t cfg_read(struct conform_session *s, struct vdev_testdev *dev, unsigned off,
			 unsigned size)
{
	conform_where(s->run, "PCI config read %u at 0x%x", size, off);
	return vdev_testhost_pci_cfg_read(dev, off, size);
}

static void cfg_write(struct conform_session *s, struct vdev_testdev *dev, unsigned off,
		      unsigned size, uint32_t v)
{
	conform_where(s->run, "PCI config write %u value 0x%x at 0x%x", size, v, off);
	vdev_testhost_pci_cfg_write(dev, off, size, v);
}

/*
 * A DMA engine's registers found by probing: offsets at the start of each
 * BAR or MMIO/PIO region that read back what was written (addresses,
 * lengths: "latches") and the others (commands, doorbells, status).
 */
#define PROBE_SPAN 0x100u
#define PROBE_MAX  128u
#define DMA_ROUNDS 1000u

struct dma_regs {
	struct conform_point latch[PROBE_MAX], other[PROBE_MAX];
	unsigned latches, others, width;
};

static void dma_probe(struct conform_session *s, struct vdev_testdev *dev, struct dma_regs *r)
{
	struct vdev_testhost_region regions[CONFORM_MAX_REGIONS];
	unsigned count = vdev_testhost_regions(dev, regions, CONFORM_MAX_REGIONS);

	memset(r, 0, sizeof(*r));
	r->width = (s->desc->access_sizes & VDEV_ACCESS_SIZE(4))   ? 4
		   : (s->desc->access_sizes & VDEV_ACCESS_SIZE(8)) ? 8
								   : 0;
	if (!r->width)
		return;
	if (count > CONFORM_MAX_REGIONS)
		count = CONFORM_MAX_REGIONS;
	for (unsigned i = 0; i < count; i++) {
		const struct vdev_testhost_region *g = &regions[i];

		if (g->space == VDEV_SPACE_PCICFG)
			continue;
		for (uint64_t off = 0; off + r->width <= g->length && off < PROBE_SPAN;
		     off += r->width) {
			struct conform_point p = {g->space, g->base + off, i, off};
			uint64_t probe = 0x00345678u, back = 0;

			conform_where(s->run, "probe width %u at 0x%llx", r->width,
				      (unsigned long long)p.addr);
			vdev_testhost_write(s->th, p.space, p.addr, r->width, probe);
			vdev_testhost_read(s->th, p.space, p.addr, r->width, &back);
			if (back == probe && r->latches < PROBE_MAX)
				r->latch[r->latches++] = p;
			else if (back != probe && r->others < PROBE_MAX)
				r->other[r->others++] = p;
		}
	}
}

/* Rounds of "program every latch with DMA-like values, then poke one or two
 * command registers, then let time pass": a device with an address, a
 * length and a go bit starts transfers to and from RAM and beyond it. */
static void dma_rounds(struct conform_session *s, struct dma_regs *r, unsigned rounds)
{
	for (unsigned k = 0; k < rounds; k++) {
		for (unsigned i = 0; i < r->latches; i++) {
			unsigned pick = (unsigned)conform_rng_below(&s->rng, 12);
			uint64_t v = pick < 3	? 1 + conform_rng_below(&s->rng, 256) /* a length */
				     : pick < 7 ? conform_rng_below(&s->rng, CONFORM_RAM_SIZE) &
						      ~0xfffull /* a buffer in RAM */
						: conform_dma_value(&s->rng);

			conform_where(s->run, "round %u: write 0x%llx at 0x%llx", k,
				      (unsigned long long)v, (unsigned long long)r->latch[i].addr);
			vdev_testhost_write(s->th, r->latch[i].space, r->latch[i].addr, r->width,
					    v);
		}
		for (unsigned n = 0; n < r->others; n++) {
			const struct conform_point *p = &r->other[n];
			static const uint64_t commands[] = {1, 2, 3, 4, 0x80, 0xff, ~0ull};

			if (conform_rng_below(&s->rng, 2))
				continue;
			uint64_t v = conform_rng_below(&s->rng, 2)
					 ? commands[conform_rng_below(&s->rng, 7)]
					 : conform_rng_next(&s->rng);

			conform_where(s->run, "round %u: command 0x%llx at 0x%llx", k,
				      (unsigned long long)v, (unsigned long long)p->addr);
			vdev_testhost_write(s->th, p->space, p->addr, r->width, v);
		}
		conform_where(s->run, "round %u: time passes", k);
		vdev_testhost_advance(s->th, 1 + conform_rng_below(&s->rng, 2000000));
		vdev_testhost_poll(s->th, 0);
		if (r->others && conform_rng_below(&s->rng, 4) == 0) {
			const struct conform_point *p =
			    &r->other[conform_rng_below(&s->rng, r->others)];
			uint64_t v;

			conform_where(s->run, "round %u: read 0x%llx", k,
				      (unsigned long long)p->addr);
			vdev_testhost_read(s->th, p->space, p->addr, r->width, &v);
		}
	}
}

#define CMD_IO		 0x0001u
#define CMD_MEMORY	 0x0002u
#define CMD_MASTER	 0x0004u
#define CMD_INTX_DISABLE 0x0400u

void conform_check_dma_faults(struct conform_run *run)
{
	struct conform_session s;
	struct conform_record rec;
	struct vdev_testdev *dev;
	struct dma_regs regs;
	uint64_t fns[8];
	unsigned nfn, failed;

	if (conform_session_open(&s, run) < 0)
		return;
	if (conform_virtio_dma_faults(&s))
		goto out;
	conform_session_want_intr(&s);
	fill_ram(&s);
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	/* A PCI function does DMA only as a bus master. */
	nfn = pci_functions(dev, fns, 8);
	for (unsigned i = 0; i < nfn; i++) {
		uint64_t cmd = 0;

		conform_where(run, "PCI function %u: bus master on", i);
		vdev_testhost_read(s.th, VDEV_SPACE_PCICFG, fns[i] + 4, 2, &cmd);
		vdev_testhost_write(s.th, VDEV_SPACE_PCICFG, fns[i] + 4, 2,
				    cmd | CMD_MASTER | CMD_MEMORY | CMD_IO);
	}
	dma_probe(&s, dev, &regs);
	conform_where(run, "guest addresses inside and outside RAM");
	dma_rounds(&s, &regs, DMA_ROUNDS);
	conform_workload(&s, dev, &s.rng, DMA_STEPS,
			 CONFORM_WL_ALL | CONFORM_WL_ADDRS | CONFORM_WL_NO_CFG);
	conform_record_get(&rec);
	conform_where(run, "guest memory services failing at random");
	vdev_testhost_inject_faults(s.th, VDEV_TESTHOST_FAULT_MEM | VDEV_TESTHOST_FAULT_MSI_SEND, 2,
				    run->opts->seed);
	dma_rounds(&s, &regs, DMA_ROUNDS);
	conform_workload(&s, dev, &s.rng, FAULT_STEPS,
			 CONFORM_WL_ALL | CONFORM_WL_ADDRS | CONFORM_WL_NO_CFG);
	conform_where(run, "guest memory services failing every time");
	vdev_testhost_inject_faults(s.th, VDEV_TESTHOST_FAULT_MEM | VDEV_TESTHOST_FAULT_MSI_SEND, 1,
				    run->opts->seed);
	dma_rounds(&s, &regs, DMA_ROUNDS / 4);
	conform_workload(&s, dev, &s.rng, FAULT_STEPS / 4,
			 CONFORM_WL_ALL | CONFORM_WL_ADDRS | CONFORM_WL_NO_CFG);
	failed = vdev_testhost_inject_faults(s.th, 0, 0, 0);
	conform_where(run, "destroy");
	vdev_testhost_destroy(dev);
	if (!failed)
		conform_skip(run, "the device used no guest memory service under the workload");
	else
		conform_note(run, "%u guest memory service call(s) made to fail", failed);
out:
	conform_session_close(&s);
}

/* Rising edges on the recording controller's lines in the trace since
 * `mark`, and the first line that rose. */
static unsigned line_rises(struct conform_session *s, size_t mark, char *first, size_t len)
{
	const char *t = vdev_testhost_trace(s->th);
	unsigned n = 0;

	if (strlen(t) < mark)
		return 0;
	for (const char *p = t + mark; *p;) {
		const char *nl = strchr(p, '\n');
		unsigned line;
		int level;

		if (sscanf(p, "conform:%u %d", &line, &level) == 2 && level == 1 && !n++)
			snprintf(first, len, "conform:%u", line);
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

/* The lines of the recording controller that are high now. */
static unsigned lines_high(struct conform_session *s, char *first, size_t len)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 32; i++) {
		char name[32];

		snprintf(name, sizeof(name), "conform:%u", i);
		if (vdev_testhost_line_level(s->th, name) == 1 && !n++)
			snprintf(first, len, "%s", name);
	}
	return n;
}

/* A workload on everything but configuration space; then judges INTx:
 * it must be low now and must not have risen meanwhile, since `why`. */
static void intx_quiet_phase(struct conform_session *s, struct vdev_testdev *dev,
			     struct dma_regs *regs, const char *why)
{
	char first[32] = "";
	size_t mark;
	unsigned n;

	if ((n = lines_high(s, first, sizeof(first))))
		conform_fail(s->run, "%s still asserted right after %s", first, why);
	mark = strlen(vdev_testhost_trace(s->th));
	conform_where(s->run, "accesses with %s", why);
	dma_rounds(s, regs, DMA_ROUNDS / 2);
	conform_workload(s, dev, &s->rng, PCI_STEPS,
			 CONFORM_WL_ALL | CONFORM_WL_ADDRS | CONFORM_WL_NO_CFG);
	if ((n = line_rises(s, mark, first, sizeof(first))))
		conform_fail(s->run, "INTx (%s) raised %u time(s) with %s", first, n, why);
}

void conform_check_pci_command(struct conform_run *run)
{
	struct conform_session s;
	struct conform_record rec;
	struct vdev_testdev *dev;
	struct dma_regs regs;
	uint64_t fns[8];
	unsigned msi, msix;
	uint32_t cmd;

	if (conform_session_open(&s, run) < 0)
		return;
	conform_session_want_intr(&s);
	fill_ram(&s);
	dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	if (!pci_functions(dev, fns, 8)) {
		conform_skip(run, "not a PCI function (no configuration space region)");
		goto destroy;
	}
	dma_probe(&s, dev, &regs);
	cmd = (cfg_read(&s, dev, 0x04, 2) | CMD_IO | CMD_MEMORY) & ~(CMD_MASTER | CMD_INTX_DISABLE);

	/* Bus master off: no guest memory access, no MSI (a memory write). */
	cfg_write(&s, dev, 0x04, 2, cmd | CMD_INTX_DISABLE);
	conform_record_get(&rec);
	conform_record_forbid_dma(true);
	intx_quiet_phase(&s, dev, &regs, "COMMAND.INTX_DISABLE set");
	conform_record_forbid_dma(false);
	conform_record_get(&rec);
	if (rec.forbidden_dma)
		conform_fail(run,
			     "%u guest memory or MSI call(s) while COMMAND.MASTER was clear "
			     "(first: %s): a function does DMA only as a bus master (see "
			     "section 7 too)",
			     rec.forbidden_dma, rec.first_forbidden_dma);

	/* MSI on: INTx stays low whatever the device does. */
	msi = vdev_testhost_pci_cap(dev, 0x05);
	if (msi) {
		uint32_t ctrl = cfg_read(&s, dev, msi + 2, 2);

		cfg_write(&s, dev, 0x04, 2, cmd | CMD_MASTER);
		cfg_write(&s, dev, msi + 4, 4, 0xfee00000u);
		if (ctrl & 0x80) { /* 64-bit */
			cfg_write(&s, dev, msi + 8, 4, 0);
			cfg_write(&s, dev, msi + 12, 2, 0x4041);
		} else {
			cfg_write(&s, dev, msi + 8, 2, 0x4041);
		}
		cfg_write(&s, dev, msi + 2, 2, ctrl | 1);
		intx_quiet_phase(&s, dev, &regs, "MSI enabled");
		cfg_write(&s, dev, msi + 2, 2, ctrl & ~1u);
	}
	msix = vdev_testhost_pci_cap(dev, 0x11);
	if (msix) {
		uint32_t ctrl = cfg_read(&s, dev, msix + 2, 2);

		cfg_write(&s, dev, 0x04, 2, cmd | CMD_MASTER);
		cfg_write(&s, dev, msix + 2, 2, (ctrl | 0x8000u) & ~0x4000u);
		intx_quiet_phase(&s, dev, &regs, "MSI-X enabled");
		cfg_write(&s, dev, msix + 2, 2, ctrl);
	}
	conform_note(run, "COMMAND.MASTER/INTX_DISABLE%s%s exercised", msi ? ", MSI" : "",
		     msix ? ", MSI-X" : "");
destroy:
	conform_where(run, "destroy");
	vdev_testhost_destroy(dev);
out:
	conform_session_close(&s);
}
