/*
 * vdevs/pci-dummy/tests/test_pci_dummy.c: pci-dummy through the SDK test
 * host, the way firmware and an OS see it in configuration space: header
 * values, placement, BAR sizing as a BIOS does it (save, write ~0, read the
 * mask, restore), moving the BAR and the region following it, decode off,
 * overlap, the scratch register file, reset and save/restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <vdev/testhost.h>

#define CFG(dev, fn, reg) VDEV_PCICFG_ADDR(0, dev, fn, reg)

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	if (dir)
		snprintf(path, sizeof(path), "%s/vdev-pci-dummy.so", dir);
	else
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
	assert_int_equal(vdev_testhost_add_ram(f->th, 0, 0x100000), 0);
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

static struct vdev_testdev *create(struct fixture *f, const char *options)
{
	struct vdev_testdev *dev = vdev_testhost_create(f->th, f->desc, options);

	if (!dev)
		fail_msg("create \"%s\": %s", options, vdev_testhost_error(f->th));
	return dev;
}

static uint64_t cfg_rd(struct fixture *f, unsigned dev, unsigned reg, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, CFG(dev, 0, reg), size, &v),
			 0);
	return v;
}

static void cfg_wr(struct fixture *f, unsigned dev, unsigned reg, unsigned size, uint64_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PCICFG, CFG(dev, 0, reg), size, v),
			 0);
}

static void test_header_values(void **state)
{
	struct fixture *f = *state;
	uint64_t v;

	create(f, "vendor 0x1af4 device 0x1000 class 0x020000 revision 3 multifunction off");
	/* the first free device number is 1 (0 is the host bridge's) */
	assert_int_equal(cfg_rd(f, 1, 0x00, 4), 0x10001af4);
	assert_int_equal(cfg_rd(f, 1, 0x00, 2), 0x1af4);
	assert_int_equal(cfg_rd(f, 1, 0x02, 2), 0x1000);
	assert_int_equal(cfg_rd(f, 1, 0x08, 4), 0x02000003);
	assert_int_equal(cfg_rd(f, 1, 0x0b, 1), 0x02);
	assert_int_equal(cfg_rd(f, 1, 0x0e, 1), 0x00); /* single function */
	assert_int_equal(cfg_rd(f, 1, 0x04, 2), 0);    /* no BAR: no decode */
	assert_int_equal(cfg_rd(f, 1, 0x06, 2), 0);    /* no capabilities */
	assert_int_equal(cfg_rd(f, 1, 0x34, 1), 0);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), 0); /* BARs unimplemented */
	cfg_wr(f, 1, 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), 0);
	assert_int_equal(cfg_rd(f, 1, 0x3d, 1), 0); /* no interrupt pin */
	/* read-only identity */
	cfg_wr(f, 1, 0x00, 4, 0xffffffff);
	cfg_wr(f, 1, 0x08, 4, 0);
	assert_int_equal(cfg_rd(f, 1, 0x00, 4), 0x10001af4);
	assert_int_equal(cfg_rd(f, 1, 0x08, 4), 0x02000003);
	/* software scratch bytes of the header */
	cfg_wr(f, 1, 0x3c, 1, 0x0b);
	assert_int_equal(cfg_rd(f, 1, 0x3c, 1), 0x0b);
	/* extended space reads 0 */
	assert_int_equal(cfg_rd(f, 1, 0x100, 4), 0);
	assert_int_equal(cfg_rd(f, 1, 0xffc, 4), 0);
	/* nothing at device 2 */
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, CFG(2, 0, 0), 4, &v), -ENXIO);
}

static void test_placement(void **state)
{
	struct fixture *f = *state;

	create(f, "loc pci:0:5.0");
	create(f, "");
	create(f, "multifunction off loc pci:0:5.3 vendor 0x5555");
	create(f, "loc pci:0:0");
	assert_int_equal(cfg_rd(f, 5, 0x0e, 1), 0x80); /* multifunction by default */
	assert_int_equal(cfg_rd(f, 1, 0x00, 2), 0x1234);
	assert_int_equal(cfg_rd(f, 0, 0x00, 2), 0x1234);
	uint64_t v = 0;
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, CFG(5, 3, 0), 2, &v), 0);
	assert_int_equal(v, 0x5555);
	/* taken, bus other than 0, a host device id: refused */
	assert_null(vdev_testhost_create(f->th, f->desc, "loc pci:0:5.0"));
	assert_null(vdev_testhost_create(f->th, f->desc, "loc pci:1:3"));
	assert_null(vdev_testhost_create(f->th, f->desc, "loc pci:0x8086/0x100e"));
	assert_null(vdev_testhost_create(f->th, f->desc, "loc pci:0:6 loc pci:0:7"));
	assert_null(vdev_testhost_create(f->th, f->desc, "intr pic:3"));
}

/* The BAR as a BIOS sizes it, with decode left on. */
static void test_bar_sizing_bios(void **state)
{
	struct fixture *f = *state;
	uint32_t saved, mask;

	create(f, "bar-size 64k");
	/* a running guest's BIOS: BAR moves happen inside config writes */
	vdev_testhost_start(f->th);
	assert_int_equal(cfg_rd(f, 1, 0x04, 2), 0x2); /* memory decode on */
	saved = (uint32_t)cfg_rd(f, 1, 0x10, 4);
	assert_int_equal(saved, 0xe0000000); /* default window */
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0000000, 4), 0x0d011234);
	cfg_wr(f, 1, 0x10, 4, 0xffffffff);
	mask = (uint32_t)cfg_rd(f, 1, 0x10, 4);
	assert_int_equal(mask, 0xffff0000);		/* 32-bit, non-prefetchable */
	assert_int_equal(~(mask & ~0xfu) + 1, 0x10000); /* the size */
	/* while sized, the BAR decodes at the top of 4 GiB */
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xffff0000, 4), 0x0d011234);
	cfg_wr(f, 1, 0x10, 4, saved);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), saved);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0000000, 4), 0x0d011234);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xffff0000, 4), 0xffffffff);
}

static void test_bar_64_sizing_and_move(void **state)
{
	struct fixture *f = *state;
	struct vdev_testhost_region r[4];
	struct vdev_testdev *dev;
	unsigned n;

	dev = create(f, "bar-size 4k bar-64 loc pci:0:3 loc mem:0x200000000");
	assert_int_equal(cfg_rd(f, 3, 0x10, 4), 0x4); /* 64-bit type */
	assert_int_equal(cfg_rd(f, 3, 0x14, 4), 0x2);
	/* Linux's order: decode off, size both halves, restore, decode on */
	cfg_wr(f, 3, 0x04, 2, 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x200000000, 4), 0xffffffff);
	cfg_wr(f, 3, 0x10, 4, 0xffffffff);
	cfg_wr(f, 3, 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_rd(f, 3, 0x10, 4), 0xfffff004);
	assert_int_equal(cfg_rd(f, 3, 0x14, 4), 0xffffffff);
	/* the guest moves it */
	cfg_wr(f, 3, 0x10, 4, 0xfeb00000);
	cfg_wr(f, 3, 0x14, 4, 0x3);
	cfg_wr(f, 3, 0x04, 2, 0x2);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x3feb00000, 4), 0x0d011234);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x200000000, 4), 0xffffffff);
	/* and the register file followed it */
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, 0x3feb00010, 4, 0xabcd), 0);
	cfg_wr(f, 3, 0x10, 4, 0xfec00000); /* moved with decode on */
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x3fec00010, 4), 0xabcd);
	n = vdev_testhost_regions(dev, r, 4);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].space == VDEV_SPACE_MMIO ? r[1].base : r[0].base, 0x3fec00000);
	/* a 64-bit BAR above 4 GiB was explicitly allowed; reset puts it back */
	vdev_testhost_reset(dev);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x200000000, 4), 0x0d011234);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x200000010, 4), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x3fec00000, 4), 0xffffffff);
}

static void test_bar_overlap_stays_unmapped(void **state)
{
	struct fixture *f = *state;

	create(f, "bar-size 4k"); /* 0:1, 0xe0000000 */
	create(f, "bar-size 4k"); /* 0:2, next slot */
	assert_int_equal(cfg_rd(f, 2, 0x10, 4), 0xe0001000);
	/* move device 2's BAR onto device 1's, then onto RAM: unmapped */
	cfg_wr(f, 2, 0x10, 4, 0xe0000000);
	assert_int_equal(cfg_rd(f, 2, 0x10, 4), 0xe0000000); /* the register holds it */
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0001000, 4), 0xffffffff);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, 0xe0000008, 4, 7), 0);
	cfg_wr(f, 2, 0x10, 4, 0x1000); /* RAM */
	/* not routed to the device (the test host does not route RAM) */
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0x1000, 4), 0xffffffff);
	assert_int_equal(*(uint32_t *)vdev_testhost_ram(f->th, 0x1000, 4), 0);
	/* a free address maps it again */
	cfg_wr(f, 2, 0x10, 4, 0xe0005000);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0005000, 4), 0x0d011234);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0005008, 4), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xe0000008, 4), 7);
	/* explicit BAR addresses: wrong space, misaligned, over RAM */
	assert_null(vdev_testhost_create(f->th, f->desc, "bar-size 4k loc io:0xc000"));
	assert_null(vdev_testhost_create(f->th, f->desc, "bar-size 4k loc mem:0xd0000800"));
	assert_null(vdev_testhost_create(f->th, f->desc, "bar-size 4k loc mem:0x2000"));
	assert_null(vdev_testhost_create(f->th, f->desc, "bar-size 4k loc mem:0x300000000"));
	assert_null(vdev_testhost_create(f->th, f->desc, "loc mem:0xd0000000"));
	assert_null(vdev_testhost_create(f->th, f->desc, "bar-size 100"));
}

/*
 * The expansion ROM as hvmloader and SeaBIOS use it: sizing through 0x30
 * (2 KiB for a 600-byte file), placing it, the image readable only while
 * enabled and decoded, reset, and no ROM without the option.
 */
static void test_expansion_rom(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/test_pci_dummy_romXXXXXX";
	int fd = mkstemp(path);
	uint8_t img[600];
	uint64_t v;
	char opts[128];
	struct vdev_testdev *dev;

	assert_true(fd >= 0);
	for (unsigned i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 7);
	img[0] = 0x55;
	img[1] = 0xaa;
	assert_int_equal(write(fd, img, sizeof(img)), (ssize_t)sizeof(img));
	close(fd);
	snprintf(opts, sizeof(opts), "loc pci:0:4 rom-file %s", path);
	dev = create(f, opts);
	unlink(path);
	assert_int_equal(cfg_rd(f, 4, 0x30, 4), 0);
	/* hvmloader: (orig | mask) & ~enable, read, restore */
	cfg_wr(f, 4, 0x30, 4, 0xfffff800);
	assert_int_equal(cfg_rd(f, 4, 0x30, 4), 0xfffff800); /* 2 KiB */
	cfg_wr(f, 4, 0x30, 4, 0xf0000000);
	cfg_wr(f, 4, 0x04, 2, 0x0002 /* memory decode */);
	/* placed and decoded but not enabled: nothing there */
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, 0xf0000000, 2, &v), -ENXIO);
	cfg_wr(f, 4, 0x30, 4, 0xf0000001);
	assert_int_equal(cfg_rd(f, 4, 0x30, 4), 0xf0000001);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xf0000000, 2), 0xaa55);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xf0000000 + 100, 1), (100 * 7) & 0xff);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xf0000000 + 700, 4), 0); /* padding */
	/* read-only */
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, 0xf0000000, 1, 0), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xf0000000, 1), 0x55);
	/* memory decode off hides it */
	cfg_wr(f, 4, 0x04, 2, 0);
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, 0xf0000000, 1, &v), -ENXIO);
	cfg_wr(f, 4, 0x04, 2, 0x0002 /* memory decode */);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xf0000001, 1), 0xaa);
	vdev_testhost_reset(dev);
	assert_int_equal(cfg_rd(f, 4, 0x30, 4), 0);
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, 0xf0000000, 1, &v), -ENXIO);
	/* a missing file is a configuration error */
	assert_null(vdev_testhost_create(f->th, f->desc, "rom-file /nonexistent/rom.bin"));
}

static void test_scratch_state(void **state)
{
	struct fixture *f = *state;
	struct vdev_testdev *dev = create(f, "bar-size 256 loc mem:0xd0000000");
	unsigned char buf[4096];
	ssize_t len;

	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, 0xd0000000, 4, 5), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xd0000000, 4), 0x0d011234); /* RO */
	assert_int_equal(
	    vdev_testhost_write(f->th, VDEV_SPACE_MMIO, 0xd0000008, 8, 0x1122334455667788ull), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xd000000a, 2), 0x5566);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xd0000008, 8), 0x1122334455667788ull);
	cfg_wr(f, 1, 0x10, 4, 0xd0000100); /* move, then save */
	cfg_wr(f, 1, 0x06, 2, 0xffff);	   /* W1C with nothing set */
	assert_int_equal(cfg_rd(f, 1, 0x06, 2), 0);
	len = vdev_testhost_save(dev, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(dev);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xd0000008, 4), 0);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), 0xd0000000);
	assert_int_equal(vdev_testhost_restore(dev, buf, (size_t)len), 0);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), 0xd0000100);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xd0000108, 8), 0x1122334455667788ull);
	assert_int_equal(vdev_testhost_mmio_read(f->th, 0xd0000008, 4), 0xffffffff);
	/* a state from a device with another identity is refused */
	vdev_testhost_destroy(dev);
	dev = create(f, "vendor 0x4444 bar-size 256 loc mem:0xd0000000");
	assert_int_equal(vdev_testhost_restore(dev, buf, (size_t)len), -EINVAL);
	assert_int_equal(cfg_rd(f, 1, 0x00, 2), 0x4444);
	assert_int_equal(cfg_rd(f, 1, 0x10, 4), 0xd0000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_header_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_placement, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bar_sizing_bios, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bar_64_sizing_and_move, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bar_overlap_stays_unmapped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scratch_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expansion_rom, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
