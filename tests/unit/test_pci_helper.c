/*
 * tests/unit/test_pci_helper.c: the SDK's PCI helper (sdk/lib/pci.c) in a
 * device linked into the test (vdev_testhost_use): an I/O BAR and a
 * prefetchable 32-bit BAR, a capability chain (vendor capability, MSI),
 * MSI delivery and its gates, MSI-X (table and PBA in a 64-bit BAR,
 * per-vector and function masks, pending bits delivered on unmask, state),
 * INTx with INTX_DISABLE and gated by MSI/MSI-X, STATUS W1C, the interrupt
 * line from `intr`, and declaration errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vdev/pci.h>
#include <vdev/testhost.h>

#define CFG(reg) VDEV_PCICFG_ADDR(0, 4, 0, reg)
#define MSIX_CAP  0x58
#define MSIX_BAR  0xe0004000ull /* BAR4: after BAR2 in the default window */
#define MSIX_TAB  (MSIX_BAR + 0x2000)
#define MSIX_PBA  (MSIX_BAR + 0x3000)

struct tdev {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_pci pci;
	uint8_t vcap;
};

static struct tdev *last_dev;

static int tdev_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		       void **devp)
{
	struct vdev_pci_ident id = { .vendor = 0x1b36, .device = 0x0005, .class_code = 0x00ff00,
				     .interrupt_pin = 1 };
	struct tdev *d = calloc(1, sizeof(*d));
	struct vdev_line *line;
	int err;

	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	err = vdev_pci_init(&d->pci, host, h, &id, 7);
	assert_int_equal(vdev_pci_bar_declare(&d->pci, 5, VDEV_PCI_BAR_MEM64, 4096, 0, 1), -EINVAL);
	assert_int_equal(vdev_pci_bar_declare(&d->pci, 0, VDEV_PCI_BAR_IO, 512, 0, 1), -EINVAL);
	assert_int_equal(vdev_pci_bar_declare(&d->pci, 0, VDEV_PCI_BAR_MEM32, 3000, 0, 1), -EINVAL);
	assert_int_equal(vdev_pci_bar_declare(&d->pci, 0, VDEV_PCI_BAR_MEM32, 4096, 0, 7), -EINVAL);
	err = err ?: vdev_pci_bar_declare(&d->pci, 0, VDEV_PCI_BAR_IO, 32, 0, 1);
	err = err ?: vdev_pci_bar_declare(&d->pci, 2, VDEV_PCI_BAR_MEM32, 0x2000,
					  VDEV_PCI_BAR_PREFETCH, 2);
	assert_int_equal(vdev_pci_bar_declare(&d->pci, 2, VDEV_PCI_BAR_IO, 4, 0, 3), -EINVAL);
	err = err ?: vdev_pci_cap_add(&d->pci, VDEV_PCI_CAP_ID_VENDOR, 6, &d->vcap);
	err = err ?: vdev_pci_cfg_set(&d->pci, d->vcap + 2, 4, 0x00c0ffee);
	err = err ?: vdev_pci_set_writable(&d->pci, d->vcap + 4, 2, 0x0f);
	err = err ?: vdev_pci_msi_add(&d->pci, true, 4);
	assert_int_equal(vdev_pci_msi_add(&d->pci, false, 1), -EINVAL);
	err = err ?: vdev_pci_bar_declare(&d->pci, 4, VDEV_PCI_BAR_MEM64, 0x4000, 0, 3);
	/* MSI-X: I/O BAR, overlap, outside the BAR, misaligned, too many vectors */
	assert_int_equal(vdev_pci_msix_add(&d->pci, 4, 0, 0, 0x10), -EINVAL);
	assert_int_equal(vdev_pci_msix_add(&d->pci, 4, 4, 0x2000, 0x2030), -EINVAL);
	assert_int_equal(vdev_pci_msix_add(&d->pci, 4, 4, 0x3ff8, 0x1000), -EINVAL);
	assert_int_equal(vdev_pci_msix_add(&d->pci, 4, 4, 0x2004, 0x3000), -EINVAL);
	assert_int_equal(vdev_pci_msix_add(&d->pci, 129, 4, 0, 0x3000), -EINVAL);
	err = err ?: vdev_pci_msix_add(&d->pci, 4, 4, 0x2000, 0x3000);
	assert_int_equal(vdev_pci_msix_add(&d->pci, 4, 4, 0x1000, 0x3800), -EINVAL);
	assert_int_equal(vdev_pci_cfg_set(&d->pci, 0x10, 4, 0), -EINVAL);
	assert_int_equal(vdev_pci_set_writable(&d->pci, 0x04, 2, 0xff), -EINVAL);
	if (!err && cfg->intr_count) {
		err = host->intr_lookup(h, cfg->intrs[0], &line);
		if (!err)
			vdev_pci_set_intx_line(&d->pci, line);
	}
	err = err ?: vdev_pci_attach(&d->pci, cfg);
	if (err) {
		free(d);
		return err;
	}
	assert_int_equal(vdev_pci_bar_declare(&d->pci, 1, VDEV_PCI_BAR_IO, 4, 0, 4), -EBUSY);
	last_dev = d;
	*devp = d;
	return 0;
}

static void tdev_destroy(void *dev)
{
	free(dev);
}

static int tdev_read(void *dev, const struct vdev_access *a, uint64_t *v)
{
	struct tdev *d = dev;

	if (vdev_pci_is_config(&d->pci, a))
		return vdev_pci_config_read(&d->pci, a, v);
	if (vdev_pci_is_msix(&d->pci, a))
		return vdev_pci_msix_read(&d->pci, a, v);
	*v = a->region * 0x100 + a->offset; /* which BAR, which offset */
	return 0;
}

static int tdev_write(void *dev, const struct vdev_access *a, uint64_t v)
{
	struct tdev *d = dev;

	if (vdev_pci_is_config(&d->pci, a))
		return vdev_pci_config_write(&d->pci, a, v);
	if (vdev_pci_is_msix(&d->pci, a))
		return vdev_pci_msix_write(&d->pci, a, v);
	return 0;
}

static const struct vdev_ops tdev_ops = {
	.struct_size = sizeof(struct vdev_ops),
	.create = tdev_create,
	.destroy = tdev_destroy,
	.read = tdev_read,
	.write = tdev_write,
};

static const struct vdev_descriptor tdev_desc = {
	VDEV_DESCRIPTOR_INIT,
	.name = "pcitest",
	.version = "1.0.0",
	.description = "PCI helper test device",
	.default_space = VDEV_SPACE_MMIO,
	.access_sizes = VDEV_ACCESS_SIZES_ALL,
	.ops = &tdev_ops,
};

struct fixture {
	struct vdev_testhost *th;
	struct vdev_testdev *dev;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	assert_int_equal(vdev_testhost_add_intc(f->th, "ioapic", 24), 0);
	assert_int_equal(vdev_testhost_use(f->th, &tdev_desc), 0);
	f->dev = vdev_testhost_create(f->th, &tdev_desc,
				      "loc pci:0:4 loc io:0x1000 intr ioapic:10");
	if (!f->dev)
		fail_msg("%s", vdev_testhost_error(f->th));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_free(f->th);
	free(f);
	return 0;
}

static uint64_t rd(struct fixture *f, unsigned reg, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, CFG(reg), size, &v), 0);
	return v;
}

static void wr(struct fixture *f, unsigned reg, unsigned size, uint64_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PCICFG, CFG(reg), size, v), 0);
}

static void test_bars(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, 0x04, 2), 0x3);            /* io + memory decode */
	assert_int_equal(rd(f, 0x10, 4), 0x1001);         /* from loc io:0x1000 */
	assert_int_equal(rd(f, 0x18, 4), 0xe0000008);     /* window, prefetchable */
	assert_int_equal(vdev_testhost_pio_read(f->th, 0x1004, 2), 0x104);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0000010, 4), 0x210);
	wr(f, 0x10, 4, 0xffffffff);
	assert_int_equal(rd(f, 0x10, 4), 0xffffffe1);     /* 32 bytes of I/O */
	wr(f, 0x18, 4, 0xffffffff);
	assert_int_equal(rd(f, 0x18, 4), 0xffffe008);
	/* I/O decode off: the port goes; memory decode stays */
	wr(f, 0x10, 4, 0xc100);
	wr(f, 0x18, 4, 0xe0000000);
	wr(f, 0x04, 2, 0x2);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xc100, 2), 0xffff);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0000000, 4), 0x200);
	wr(f, 0x04, 2, 0x1);
	assert_int_equal(vdev_testhost_pio_read(f->th, 0xc100, 2), 0x100);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0000000, 4), 0xffffffff);
	assert_true(vdev_pci_bar_mapped(&last_dev->pci, 0));
	assert_false(vdev_pci_bar_mapped(&last_dev->pci, 2));
	assert_int_equal(vdev_pci_bar_address(&last_dev->pci, 0), 0xc100);
}

static void test_capability_chain(void **state)
{
	struct fixture *f = *state;
	unsigned ptr, msi;

	assert_true(rd(f, 0x06, 2) & 0x10);               /* CAP_LIST */
	ptr = (unsigned)rd(f, 0x34, 1);
	assert_int_equal(ptr, 0x40);
	assert_int_equal(rd(f, ptr, 1), 0x09);            /* vendor capability */
	assert_int_equal(rd(f, ptr + 2, 4), 0x00c0ffee);
	wr(f, ptr + 4, 2, 0xffff);                        /* 4 writable bits per byte */
	assert_int_equal(rd(f, ptr + 2, 4), 0x0fcfffee);
	msi = (unsigned)rd(f, ptr + 1, 1);
	assert_int_equal(msi, 0x48);                      /* 0x40 + 6, 4-byte aligned */
	assert_int_equal(rd(f, msi, 1), 0x05);
	assert_int_equal(rd(f, msi + 1, 1), MSIX_CAP);
	assert_int_equal(rd(f, MSIX_CAP, 1), 0x11);
	assert_int_equal(rd(f, MSIX_CAP + 1, 1), 0);      /* end of the chain */
	assert_int_equal(rd(f, MSIX_CAP + 2, 2), 3);      /* 4 vectors, disabled */
	assert_int_equal(rd(f, MSIX_CAP + 4, 4), 0x2004); /* table at 0x2000 of BAR4 */
	assert_int_equal(rd(f, MSIX_CAP + 8, 4), 0x3004); /* PBA at 0x3000 of BAR4 */
	wr(f, MSIX_CAP + 4, 4, 0);                        /* read-only */
	assert_int_equal(rd(f, MSIX_CAP + 4, 4), 0x2004);
	assert_int_equal(rd(f, msi + 2, 2), 0x0084);      /* 64-bit, 4 vectors */
	wr(f, msi, 1, 0x77);                              /* id and next are read-only */
	assert_int_equal(rd(f, msi, 2), 0x5805);
}

static void test_msi(void **state)
{
	struct fixture *f = *state;
	unsigned msi = 0x48;

	assert_int_equal(vdev_pci_msi_send(&last_dev->pci, 0), -EAGAIN);
	wr(f, msi + 4, 4, 0xfee00003);                    /* low bits read-only 0 */
	assert_int_equal(rd(f, msi + 4, 4), 0xfee00000);
	wr(f, msi + 8, 4, 0);
	wr(f, msi + 0xc, 2, 0x4140);
	wr(f, msi + 2, 2, 0x0021);                        /* enable, 4 vectors (MME 2) */
	assert_int_equal(rd(f, msi + 2, 2), 0x00a5);
	assert_true(vdev_pci_msi_enabled(&last_dev->pci));
	assert_int_equal(vdev_pci_msi_send(&last_dev->pci, 2), -EPERM); /* no bus master */
	wr(f, 0x04, 2, 0x7);
	assert_int_equal(vdev_pci_msi_send(&last_dev->pci, 2), 0);
	assert_int_equal(vdev_pci_msi_send(&last_dev->pci, 4), -EINVAL);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee00000 0x4142\n");
}

static void test_intx_and_status(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, 0x3c, 1), 10);             /* from intr ioapic:10 */
	assert_int_equal(rd(f, 0x3d, 1), 1);              /* INTA# */
	vdev_pci_intx(&last_dev->pci, true);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 1);
	assert_true(rd(f, 0x06, 2) & 0x8);
	wr(f, 0x04, 2, 0x0403);                           /* INTX_DISABLE */
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 0);
	assert_true(rd(f, 0x06, 2) & 0x8);                /* still pending */
	wr(f, 0x04, 2, 0x0003);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 1);
	vdev_pci_intx(&last_dev->pci, false);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 0);
	assert_false(rd(f, 0x06, 2) & 0x8);
	/* STATUS error bits: set by the device, cleared by writing 1 */
	assert_int_equal(vdev_pci_cfg_set(&last_dev->pci, 0x06, 2, 0x2010 | 0x1000), 0);
	wr(f, 0x06, 2, 0x1000);
	assert_int_equal(rd(f, 0x06, 2), 0x2010);
	wr(f, 0x06, 2, 0x0010);                           /* CAP_LIST is read-only */
	assert_int_equal(rd(f, 0x06, 2), 0x2010);
	wr(f, 0x06, 2, 0x2000);
	assert_int_equal(rd(f, 0x06, 2), 0x0010);
}

static void mmio_wr(struct fixture *f, uint64_t addr, unsigned size, uint64_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, addr, size, v), 0);
}

/* Program MSI-X entry v: address, data, mask bit. */
static void msix_entry(struct fixture *f, unsigned v, uint64_t addr, uint32_t data, bool masked)
{
	mmio_wr(f, MSIX_TAB + 16 * v, 8, addr);
	mmio_wr(f, MSIX_TAB + 16 * v + 8, 4, data);
	mmio_wr(f, MSIX_TAB + 16 * v + 12, 4, masked);
}

static void test_msix(void **state)
{
	struct fixture *f = *state;
	struct vdev_pci *pci = &last_dev->pci;

	assert_int_equal(rd(f, 0x20, 4), 0xe0004004);      /* BAR4: 64-bit memory */
	/* power-on: every vector masked, nothing pending */
	for (unsigned v = 0; v < 4; v++)
		assert_int_equal(vdev_testhost_mmio_read(f->th, MSIX_TAB + 16 * v + 12, 4), 1);
	assert_int_equal(vdev_testhost_mmio_read(f->th, MSIX_PBA, 8), 0);
	assert_int_equal(vdev_pci_msix_notify(pci, 1), -EAGAIN);
	assert_int_equal(vdev_pci_msix_notify(pci, 4), -EINVAL);
	wr(f, MSIX_CAP + 2, 2, 0x8000);
	assert_true(vdev_pci_msix_enabled(pci));
	assert_int_equal(rd(f, MSIX_CAP + 2, 2), 0x8003); /* table size is read-only */
	assert_int_equal(vdev_pci_msix_notify(pci, 1), -EPERM); /* no bus master */
	assert_false(vdev_pci_msix_pending(pci, 1));
	wr(f, 0x04, 2, 0x7);
	/* masked vector: pending, sent when unmasked */
	msix_entry(f, 1, 0xfee01003, 0x4031, true);
	assert_int_equal(vdev_testhost_mmio_read(f->th, MSIX_TAB + 16, 4), 0xfee01000);
	assert_int_equal(vdev_pci_msix_notify(pci, 1), VDEV_PCI_MSIX_PENDING);
	assert_int_equal(vdev_testhost_mmio_read(f->th, MSIX_PBA, 8), 0x2);
	mmio_wr(f, MSIX_PBA, 8, 0);                       /* the PBA is read-only */
	assert_int_equal(vdev_testhost_mmio_read(f->th, MSIX_PBA, 8), 0x2);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	mmio_wr(f, MSIX_TAB + 16 + 12, 4, 0xfffffffe);    /* unmask; reserved bits stay 0 */
	assert_int_equal(vdev_testhost_mmio_read(f->th, MSIX_TAB + 16 + 12, 4), 0);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee01000 0x4031\n");
	assert_false(vdev_pci_msix_pending(pci, 1));
	/* unmasked: sent at once */
	vdev_testhost_clear_trace(f->th);
	msix_entry(f, 2, 0xfee02000, 0x4032, false);
	assert_int_equal(vdev_pci_msix_notify(pci, 2), 0);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee02000 0x4032\n");
	/* function mask: everything pends, delivered when it clears */
	vdev_testhost_clear_trace(f->th);
	wr(f, MSIX_CAP + 2, 2, 0xc000);
	assert_int_equal(vdev_pci_msix_notify(pci, 2), VDEV_PCI_MSIX_PENDING);
	assert_int_equal(vdev_pci_msix_notify(pci, 1), VDEV_PCI_MSIX_PENDING);
	assert_int_equal(vdev_pci_msix_notify(pci, 0), VDEV_PCI_MSIX_PENDING); /* masked too */
	assert_string_equal(vdev_testhost_trace(f->th), "");
	wr(f, MSIX_CAP + 2, 2, 0x8000);
	assert_string_equal(vdev_testhost_trace(f->th),
			    "msi 0xfee01000 0x4031\nmsi 0xfee02000 0x4032\n");
	assert_true(vdev_pci_msix_pending(pci, 0));        /* vector 0 is still masked */
	/* disabled: pending bits stay until enabled again */
	vdev_testhost_clear_trace(f->th);
	wr(f, MSIX_CAP + 2, 2, 0x0000);
	msix_entry(f, 0, 0xfee00000, 0x4030, false);
	assert_string_equal(vdev_testhost_trace(f->th), "");
	wr(f, MSIX_CAP + 2, 2, 0x8000);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee00000 0x4030\n");
	/* reset: disabled, masked, cleared */
	vdev_pci_msix_notify(pci, 3);
	vdev_pci_reset(pci);
	assert_false(vdev_pci_msix_enabled(pci));
	assert_true(vdev_pci_msix_masked(pci, 1));
	assert_false(vdev_pci_msix_pending(pci, 3));
	assert_int_equal(vdev_testhost_mmio_read(f->th, MSIX_TAB + 16, 4), 0);
}

/* A Xen PIRQ message (vector 0, PIRQ 0x1f in the destination ID), as a
 * Linux HVM guest programs it with its mask bit left set: sent anyway, even
 * under the function mask; an ordinary masked entry still pends. */
static void test_msix_xen_pirq(void **state)
{
	struct fixture *f = *state;
	struct vdev_pci *pci = &last_dev->pci;

	wr(f, MSIX_CAP + 2, 2, 0x8000);
	wr(f, 0x04, 2, 0x7);
	msix_entry(f, 1, 0xfee1f000, 0x4300, true);
	assert_false(vdev_pci_msix_masked(pci, 1));
	assert_int_equal(vdev_pci_msix_notify(pci, 1), 0);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee1f000 0x4300\n");
	vdev_testhost_clear_trace(f->th);
	wr(f, MSIX_CAP + 2, 2, 0xc000);
	assert_int_equal(vdev_pci_msix_notify(pci, 1), 0);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee1f000 0x4300\n");
	/* vector 0 with no PIRQ (the reset state's zeros, or dest 0) is not one */
	msix_entry(f, 2, 0xfee00000, 0, true);
	assert_true(vdev_pci_msix_masked(pci, 2));
	assert_int_equal(vdev_pci_msix_notify(pci, 2), VDEV_PCI_MSIX_PENDING);
	assert_true(vdev_pci_msix_masked(pci, 3));
}

static void test_intx_gated_by_msi_and_msix(void **state)
{
	struct fixture *f = *state;

	vdev_pci_intx(&last_dev->pci, true);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 1);
	wr(f, MSIX_CAP + 2, 2, 0x8000);                   /* MSI-X on: no INTx */
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 0);
	wr(f, MSIX_CAP + 2, 2, 0x0000);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 1);
	wr(f, 0x48 + 2, 2, 0x0001);                       /* MSI on: no INTx */
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 0);
	wr(f, 0x48 + 2, 2, 0x0000);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 1);
	vdev_pci_intx(&last_dev->pci, false);
	wr(f, 0x04, 2, 0x0403);                           /* INTX_DISABLE first */
	vdev_pci_intx(&last_dev->pci, true);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:10"), 0);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:10"), 3);
}

static void test_msix_state(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	struct vdev_state st;
	struct vdev_pci copy;
	ssize_t len;

	wr(f, 0x04, 2, 0x7);
	wr(f, MSIX_CAP + 2, 2, 0x8000);
	msix_entry(f, 3, 0xfee03000, 0x4033, true);
	assert_int_equal(vdev_pci_msix_notify(&last_dev->pci, 3), VDEV_PCI_MSIX_PENDING);
	vdev_state_save_begin(&st, buf, sizeof(buf), "pcitest", 1);
	copy = last_dev->pci;
	vdev_pci_state(&st, &copy);
	len = vdev_state_save_end(&st);
	assert_true(len > 0);
	assert_true((size_t)len <= VDEV_STATE_HEADER_SIZE(7) + VDEV_PCI_STATE_SIZE +
					   VDEV_PCI_MSIX_STATE_SIZE(4));
	vdev_pci_reset(&last_dev->pci);
	copy = last_dev->pci;
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)len, "pcitest", 1), 0);
	vdev_pci_state(&st, &copy);
	assert_int_equal(vdev_state_restore_end(&st), 0);
	last_dev->pci = copy;
	vdev_pci_restored(&last_dev->pci);
	assert_true(vdev_pci_msix_pending(&last_dev->pci, 3));
	assert_string_equal(vdev_testhost_trace(f->th), "");
	mmio_wr(f, MSIX_TAB + 48 + 12, 4, 0);
	assert_string_equal(vdev_testhost_trace(f->th), "msi 0xfee03000 0x4033\n");
	/* reserved vector-control bits in the blob: refused */
	copy = last_dev->pci;
	copy.msix_table[3 * 16 + 13] = 0x80;
	vdev_state_save_begin(&st, buf, sizeof(buf), "pcitest", 1);
	vdev_pci_state(&st, &copy);
	len = vdev_state_save_end(&st);
	copy = last_dev->pci;
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)len, "pcitest", 1), 0);
	vdev_pci_state(&st, &copy);
	assert_int_equal(vdev_state_restore_end(&st), -EINVAL);
}

static void test_state(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[1024];
	struct vdev_state st;
	struct vdev_pci copy;
	ssize_t len;

	wr(f, 0x18, 4, 0xe0100000);
	vdev_state_save_begin(&st, buf, sizeof(buf), "pcitest", 1);
	copy = last_dev->pci;
	vdev_pci_state(&st, &copy);
	len = vdev_state_save_end(&st);
	assert_true(len > 0);
	vdev_pci_reset(&last_dev->pci);
	assert_int_equal(rd(f, 0x18, 4), 0xe0000008);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0000000, 4), 0x200);
	copy = last_dev->pci;
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)len, "pcitest", 1), 0);
	vdev_pci_state(&st, &copy);
	assert_int_equal(vdev_state_restore_end(&st), 0);
	last_dev->pci = copy;
	vdev_pci_restored(&last_dev->pci);
	assert_int_equal(rd(f, 0x18, 4), 0xe0100008);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0100000, 4), 0x200);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0000000, 4), 0xffffffff);
	/* a read-only bit changed in the blob: refused */
	copy = last_dev->pci;
	copy.reset_cfg[0] ^= 1;
	assert_int_equal(vdev_state_restore_begin(&st, buf, (size_t)len, "pcitest", 1), 0);
	vdev_pci_state(&st, &copy);
	assert_int_equal(vdev_state_restore_end(&st), -EINVAL);
}

static void test_attach_errors(void **state)
{
	struct fixture *f = *state;

	assert_null(vdev_testhost_create(f->th, &tdev_desc, "loc pci:0:4"));   /* taken */
	assert_null(vdev_testhost_create(f->th, &tdev_desc, "loc mem:0xe0000000")); /* io BAR */
	assert_null(vdev_testhost_create(f->th, &tdev_desc,
					 "loc io:0x2000 loc mem:0xd0000000 loc mem:0xd0010000 "
					 "loc mem:0xd0020000"));
	assert_null(vdev_testhost_create(f->th, &tdev_desc, "loc io:0x2010 loc mem:0xd0001000"));
	assert_non_null(vdev_testhost_create(f->th, &tdev_desc, "loc io:0x2000 loc mem:0xd0000000"));
}

/* The "pci" controller's line is slot * 4 + pin - 1: another one is refused
 * with the line to give; the right one works. */
static void test_intx_line_follows_slot(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vdev_testhost_add_intc(f->th, "pci", 128), 0);
	vdev_testhost_clear_log(f->th);
	/* slot 6, INTA#: pci:24; pci:11 is slot 2's INTD# */
	assert_null(vdev_testhost_create(f->th, &tdev_desc, "loc pci:0:6 intr pci:11"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "give intr pci:24"));
	assert_non_null(vdev_testhost_create(f->th, &tdev_desc, "loc pci:0:6 intr pci:24"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capability_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_xen_pirq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_gated_by_msi_and_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msix_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_line_follows_slot, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
