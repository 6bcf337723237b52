/*
 * vdevs/shmem/tests/test_shmem.c: vdev-shmem as vdm loads it, through the
 * SDK test host: two instances (two VMs' devices) attach one named object
 * and see each other's writes through their windows, ring each other's
 * doorbells (the interrupt line, the ringer's id, broadcast), the
 * allow/deny/create rules and every RESULT code, detach and reset
 * releasing the peer id, save/restore attaching again, and the PCI
 * placement (BAR0 control page, BAR2 window).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <vdev/testhost.h>

#define A	   0xd0000000ull
#define B	   0xd1000000ull
#define WIN	   0x1000ull
#define R_MAGIC	   0x00
#define R_STATUS   0x08
#define R_WINDOW   0x0c
#define R_NAME	   0x10
#define R_SIZE	   0x50
#define R_CMD	   0x54
#define R_RESULT   0x58
#define R_OBJSIZE  0x5c
#define R_DOORBELL 0x60
#define R_IRQ	   0x64
#define R_MASK	   0x68
#define R_ID	   0x6c
#define R_PEERS	   0x70
#define R_RINGER   0x74

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	char name[32], other[32];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char file[4096];

	assert_non_null(f);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	assert_int_equal(vdev_testhost_add_intc(f->th, "ioapic", 24), 0);
	snprintf(file, sizeof(file), "%s/vdev-shmem.so", dir ? dir : "");
	if (vdev_testhost_load(f->th, dir ? file : VDEV_PLUGIN_PATH, &f->desc) < 0)
		fail_msg("load: %s", vdev_testhost_error(f->th));
	snprintf(f->name, sizeof(f->name), "t%d-ring", (int)getpid());
	snprintf(f->other, sizeof(f->other), "t%d-app-x", (int)getpid());
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[64];

	vdev_testhost_free(f->th);
	snprintf(path, sizeof(path), "/vdm-shmem-%s", f->name);
	shm_unlink(path);
	snprintf(path, sizeof(path), "/vdm-shmem-%s", f->other);
	shm_unlink(path);
	free(f);
	return 0;
}

static struct vdev_testdev *dev_new(struct fixture *f, uint64_t base, int pin, const char *extra)
{
	char opt[512];
	struct vdev_testdev *d;

	snprintf(opt, sizeof(opt), "loc %#llx intr ioapic:%d window 64K %s",
		 (unsigned long long)base, pin, extra);
	d = vdev_testhost_create(f->th, f->desc, opt);
	if (!d)
		fail_msg("create: %s", vdev_testhost_error(f->th));
	return d;
}

static uint32_t rd(struct fixture *f, uint64_t base, uint64_t off)
{
	return (uint32_t)vdev_testhost_mmio_read(f->th, base + off, 4);
}

static void wr(struct fixture *f, uint64_t base, uint64_t off, uint32_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, base + off, 4, v), 0);
}

/* Name, size, attach: the RESULT. */
static uint32_t attach(struct fixture *f, uint64_t base, const char *name, uint32_t size)
{
	char buf[64] = {0};

	snprintf(buf, sizeof(buf), "%s", name);
	for (unsigned i = 0; i < 64; i += 4) {
		uint32_t v;

		memcpy(&v, buf + i, 4);
		wr(f, base, R_NAME + i, v);
	}
	wr(f, base, R_SIZE, size);
	wr(f, base, R_CMD, 1);
	return rd(f, base, R_RESULT);
}

static void test_registers(void **state)
{
	struct fixture *f = *state;

	dev_new(f, A, 5, "");
	assert_int_equal(rd(f, A, R_MAGIC), 0x766d6873);
	assert_int_equal(rd(f, A, 4), 1);
	assert_int_equal(rd(f, A, R_WINDOW), 0x10000);
	assert_int_equal(rd(f, A, R_STATUS), 0);
	assert_int_equal(rd(f, A, R_ID), 0xffffffff);
	/* detached: the window reads all-ones and ignores writes */
	assert_int_equal(vdev_testhost_mmio_read(f->th, A + WIN, 8), ~0ull);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, A + WIN, 4, 1), 0);
	/* bad options */
	assert_null(vdev_testhost_create(f->th, f->desc, "window 12K"));
	assert_null(vdev_testhost_create(f->th, f->desc, "create bad/name,4K"));
	assert_null(vdev_testhost_create(f->th, f->desc, "create x,2M window 1M"));
	assert_non_null(strstr(vdev_testhost_log(f->th), "do not fit"));
}

static void test_two_vms_share(void **state)
{
	struct fixture *f = *state;
	char create[64];
	uint64_t v = 0;

	snprintf(create, sizeof(create), "create %s,8K", f->name);
	dev_new(f, A, 5, create);
	dev_new(f, B, 6, create);
	assert_int_equal(attach(f, A, f->name, 0), 0);
	assert_int_equal(attach(f, B, f->name, 0), 0);
	assert_int_equal(rd(f, A, R_STATUS), 1);
	assert_int_equal(rd(f, A, R_OBJSIZE), 8192);
	assert_int_equal(rd(f, A, R_ID), 0);
	assert_int_equal(rd(f, B, R_ID), 1);
	assert_int_equal(rd(f, A, R_PEERS), 3);
	/* A writes, B reads; B writes, A reads (every width) */
	assert_int_equal(
	    vdev_testhost_write(f->th, VDEV_SPACE_MMIO, A + WIN + 0x100, 4, 0xcafef00d), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, B + WIN + 0x100, 4), 0xcafef00d);
	assert_int_equal(vdev_testhost_mmio_read(f->th, B + WIN + 0x101, 1), 0xf0);
	assert_int_equal(
	    vdev_testhost_write(f->th, VDEV_SPACE_MMIO, B + WIN + 0x1ff8, 8, 0x1122334455667788ull),
	    0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, A + WIN + 0x1ff8, 8),
			 0x1122334455667788ull);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, B + WIN + 0x203, 2, 0xabcd),
			 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, A + WIN + 0x203, 2), 0xabcd);
	/* past the object: all-ones, writes ignored */
	assert_int_equal(vdev_testhost_mmio_read(f->th, A + WIN + 0x2000, 4), 0xffffffff);
	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_MMIO, A + WIN + 0x1ffc, 8, &v), 0);
	assert_int_equal(v, ~0ull);
	/* the host sees it too: one object in /dev/shm */
	char path[64];
	snprintf(path, sizeof(path), "/vdm-shmem-%s", f->name);
	int fd = shm_open(path, O_RDONLY, 0);
	assert_true(fd >= 0);
	uint8_t *p = mmap(NULL, 0x3000, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(*(uint32_t *)(p + 0x1000 + 0x100), 0xcafef00d);
	munmap(p, 0x3000);
	close(fd);
	/* the name of an attached object stays */
	wr(f, A, R_NAME, 0x41414141);
	assert_int_equal(rd(f, A, R_NAME) & 0xff, (uint8_t)f->name[0]);
	assert_int_equal(attach(f, A, f->name, 0), EBUSY);
}

static void test_doorbell(void **state)
{
	struct fixture *f = *state;
	char create[64];

	snprintf(create, sizeof(create), "create %s,4K", f->name);
	dev_new(f, A, 5, create);
	dev_new(f, B, 6, create);
	assert_int_equal(attach(f, A, f->name, 0), 0);
	assert_int_equal(attach(f, B, f->name, 0), 0);
	wr(f, B, R_MASK, 1);
	wr(f, A, R_DOORBELL, 1); /* A rings B */
	for (int i = 0; i < 20 && !rd(f, B, R_IRQ); i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(rd(f, B, R_IRQ), 1);
	assert_int_equal(rd(f, B, R_RINGER), 0);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:6"), 1);
	assert_int_equal(vdev_testhost_line_edges(f->th, "ioapic:6"), 1);
	assert_int_equal(rd(f, A, R_IRQ), 0); /* not the ringer */
	wr(f, B, R_IRQ, 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:6"), 0);
	/* A rings every other peer (B), masked: pending, no line; unmasking raises it */
	wr(f, B, R_MASK, 0);
	wr(f, A, R_DOORBELL, 0xffffffff);
	for (int i = 0; i < 20 && !rd(f, B, R_IRQ); i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(rd(f, B, R_IRQ), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:6"), 0);
	wr(f, B, R_MASK, 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:6"), 1);
	/* B rings everyone else: A */
	wr(f, A, R_MASK, 1);
	wr(f, B, R_DOORBELL, 0xffffffff);
	for (int i = 0; i < 20 && !rd(f, A, R_IRQ); i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(rd(f, A, R_IRQ), 1);
	assert_int_equal(rd(f, A, R_RINGER), 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:5"), 1);
	/* a detached peer's id is free again, and its bit gone */
	wr(f, B, R_CMD, 2);
	assert_int_equal(rd(f, B, R_STATUS), 0);
	assert_int_equal(rd(f, A, R_PEERS), 1);
	wr(f, A, R_DOORBELL, 1); /* nobody there: nothing happens */
	vdev_testhost_poll(f->th, 10);
	assert_int_equal(attach(f, B, f->name, 0), 0);
	assert_int_equal(rd(f, B, R_ID), 1);
}

static void test_rules(void **state)
{
	struct fixture *f = *state;
	char opt[128], denied[40];

	snprintf(opt, sizeof(opt), "allow t%d-app-* deny *-secret", (int)getpid());
	dev_new(f, A, 5, opt);
	dev_new(f, B, 6, "");
	snprintf(denied, sizeof(denied), "t%d-app-secret", (int)getpid());
	assert_int_equal(attach(f, A, f->other, 0), ENOENT);	  /* allowed, absent, no size */
	assert_int_equal(attach(f, A, f->other, 0x20000), EFBIG); /* more than the window */
	assert_int_equal(attach(f, A, f->other, 4096), 0);	  /* created by the guest */
	assert_int_equal(rd(f, A, R_OBJSIZE), 4096);
	wr(f, A, R_CMD, 2);
	assert_int_equal(attach(f, A, denied, 4096), EACCES);
	assert_int_equal(attach(f, A, "elsewhere", 4096), EACCES);
	assert_int_equal(attach(f, A, "../etc", 4096), EINVAL);
	assert_int_equal(attach(f, A, "", 4096), EINVAL);
	/* no rule at all: only created names */
	assert_int_equal(attach(f, B, f->other, 0), EACCES);
	wr(f, B, R_CMD, 7);
	assert_int_equal(rd(f, B, R_RESULT), EINVAL);
}

static void test_reset_and_restore(void **state)
{
	struct fixture *f = *state;
	char create[64];
	uint8_t buf[8192];
	ssize_t len;
	struct vdev_testdev *a, *c;

	snprintf(create, sizeof(create), "create %s,4K", f->name);
	a = dev_new(f, A, 5, create);
	assert_int_equal(attach(f, A, f->name, 0), 0);
	wr(f, A, R_MASK, 1);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, A + WIN, 4, 0x5a5a5a5a), 0);
	len = vdev_testhost_save(a, buf, sizeof(buf));
	assert_true(len > 0);
	vdev_testhost_reset(a);
	assert_int_equal(rd(f, A, R_STATUS), 0);
	assert_int_equal(rd(f, A, R_MASK), 0);
	/* the object outlives the attachment */
	c = dev_new(f, B, 6, create);
	assert_int_equal(vdev_testhost_restore(c, buf, (size_t)len), 0);
	assert_int_equal(rd(f, B, R_STATUS), 1);
	assert_int_equal(rd(f, B, R_MASK), 1);
	assert_int_equal(vdev_testhost_mmio_read(f->th, B + WIN, 4), 0x5a5a5a5a);
	/* garbage is refused and changes nothing */
	buf[len - 3] ^= 0xff;
	assert_int_not_equal(vdev_testhost_restore(c, buf, (size_t)len), 0);
	assert_int_equal(rd(f, B, R_STATUS), 1);
}

static void test_pci(void **state)
{
	struct fixture *f = *state;
	char opt[128];
	uint64_t bar0 = 0, bar2 = 0, id = 0;
	struct vdev_testdev *d;

	snprintf(opt, sizeof(opt), "loc pci:0:5 window 64K create %s,4K", f->name);
	d = vdev_testhost_create(f->th, f->desc, opt);
	assert_non_null(d);
	assert_int_equal(
	    vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 5, 0, 0), 4, &id), 0);
	assert_int_equal(id, 0x00f01b36);
	vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 5, 0, 0x10), 4, &bar0);
	vdev_testhost_read(f->th, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 5, 0, 0x18), 4, &bar2);
	bar0 &= ~0xfull;
	bar2 &= ~0xfull;
	assert_true(bar0 && bar2);
	assert_int_equal(rd(f, bar0, R_MAGIC), 0x766d6873);
	assert_int_equal(attach(f, bar0, f->name, 0), 0);
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_MMIO, bar2 + 8, 4, 77), 0);
	assert_int_equal(vdev_testhost_mmio_read(f->th, bar2 + 8, 4), 77);
}

static uint64_t cfg_rd(struct fixture *f, unsigned dev, unsigned reg, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PCICFG,
					    VDEV_PCICFG_ADDR(0, dev, 0, reg), size, &v),
			 0);
	return v;
}

static void cfg_wr(struct fixture *f, unsigned dev, unsigned reg, unsigned size, uint64_t v)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PCICFG,
					     VDEV_PCICFG_ADDR(0, dev, 0, reg), size, v),
			 0);
}

/* PCI doorbells: INTx through `intr` while MSI is off, one MSI per ring once on. */
static void test_pci_interrupts(void **state)
{
	struct fixture *f = *state;
	char opt[128];
	uint64_t a, b;
	unsigned msi;

	snprintf(opt, sizeof(opt), "loc pci:0:5 window 64K create %s,4K", f->name);
	assert_non_null(vdev_testhost_create(f->th, f->desc, opt));
	snprintf(opt, sizeof(opt), "loc pci:0:6 intr ioapic:7 window 64K create %s,4K", f->name);
	assert_non_null(vdev_testhost_create(f->th, f->desc, opt));
	a = cfg_rd(f, 5, 0x10, 4) & ~0xfull;
	b = cfg_rd(f, 6, 0x10, 4) & ~0xfull;
	assert_int_equal(cfg_rd(f, 6, 0x3d, 1), 1); /* INTA# */
	assert_int_equal(attach(f, a, f->name, 0), 0);
	assert_int_equal(attach(f, b, f->name, 0), 0);
	wr(f, b, R_MASK, 1);
	wr(f, a, R_DOORBELL, 0xffffffff);
	for (int i = 0; i < 20 && !rd(f, b, R_IRQ); i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:7"), 1);
	assert_true(cfg_rd(f, 6, 0x06, 2) & 0x08); /* STATUS.INTERRUPT */
	wr(f, b, R_IRQ, 1);
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:7"), 0);
	/* MSI: the capability from the list, enabled with bus mastering */
	msi = (unsigned)cfg_rd(f, 6, 0x34, 1);
	assert_int_equal(cfg_rd(f, 6, msi, 1), 0x05);
	cfg_wr(f, 6, msi + 4, 4, 0xfee00000);
	cfg_wr(f, 6, msi + 0x0c, 2, 0x0045);
	cfg_wr(f, 6, msi + 2, 2, 0x0001);
	cfg_wr(f, 6, 0x04, 2, cfg_rd(f, 6, 0x04, 2) | 0x4);
	vdev_testhost_clear_trace(f->th);
	wr(f, a, R_DOORBELL, 1);
	for (int i = 0; i < 20 && !rd(f, b, R_IRQ); i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(rd(f, b, R_IRQ), 1);
	assert_non_null(strstr(vdev_testhost_trace(f->th), "msi 0xfee00000 0x45"));
	assert_int_equal(vdev_testhost_line_level(f->th, "ioapic:7"), 0);
	/* masked: pending, no message */
	wr(f, b, R_IRQ, 1);
	wr(f, b, R_MASK, 0);
	vdev_testhost_clear_trace(f->th);
	wr(f, a, R_DOORBELL, 1);
	for (int i = 0; i < 20 && !rd(f, b, R_IRQ); i++)
		vdev_testhost_poll(f->th, 10);
	assert_int_equal(rd(f, b, R_IRQ), 1);
	assert_null(strstr(vdev_testhost_trace(f->th), "msi"));
	/* unmasking sends the ring that waited */
	wr(f, b, R_MASK, 1);
	assert_non_null(strstr(vdev_testhost_trace(f->th), "msi 0xfee00000 0x45"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_vms_share, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_doorbell, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_and_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pci, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pci_interrupts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
