/*
 * tests/unit/test_guest_mem.c: the guest memory map (devmodel/guest_mem.c):
 * overlaps, bounds on every copy (straddling, end of RAM, gaps, 2^64),
 * ROM read-only to the guest but loadable by the host, reserves unbacked,
 * RAM reached through a backend (a fake one standing in for Xen's).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <vdev/vdev.h>

#include "devmodel/guest_mem.h"

static void test_layout(void **state)
{
	struct guest_mem *gm = guest_mem_new();
	struct guest_mem_range c;

	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x100000, 0x100000, NULL, NULL), 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0, 0xa0000, NULL, NULL), 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_ROM, 0xc0000, 0x40000, NULL, NULL), 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RESERVE, 0xa0000, 0x20000, NULL, NULL), 0);
	/* overlaps name the range hit */
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0xfffff, 2, NULL, &c), -EEXIST);
	assert_int_equal(c.kind, GUEST_MEM_ROM);
	assert_int_equal(c.start, 0xc0000);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_ROM, 0x1fffff, 0x10, NULL, &c), -EEXIST);
	assert_int_equal(c.kind, GUEST_MEM_RAM);
	assert_int_equal(c.start, 0x100000);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0, 0x100000000ull, NULL, &c), -EEXIST);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x300000, 0, NULL, NULL), -EINVAL);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, UINT64_MAX, 2, NULL, NULL), -EINVAL);
	/* sorted */
	assert_int_equal(guest_mem_count(gm), 4);
	assert_int_equal(guest_mem_range_at(gm, 0)->start, 0);
	assert_int_equal(guest_mem_range_at(gm, 1)->kind, GUEST_MEM_RESERVE);
	assert_null(guest_mem_range_at(gm, 1)->host);
	assert_int_equal(guest_mem_range_at(gm, 2)->kind, GUEST_MEM_ROM);
	assert_int_equal(guest_mem_range_at(gm, 3)->start, 0x100000);
	assert_null(guest_mem_range_at(gm, 4));
	guest_mem_free(gm);
}

static void test_bounds(void **state)
{
	struct guest_mem *gm = guest_mem_new();
	uint8_t buf[16], pattern[16];

	memset(pattern, 0xa5, sizeof(pattern));
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x1000, 0x1000, NULL, NULL), 0);
	/* the last bytes of RAM */
	assert_int_equal(guest_mem_write(gm, 0x1ff0, pattern, 16), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(guest_mem_read(gm, 0x1ff0, buf, 16), 0);
	assert_memory_equal(buf, pattern, 16);
	/* one byte past the end: refused, nothing copied either way */
	memset(buf, 0x11, sizeof(buf));
	assert_int_equal(guest_mem_read(gm, 0x1ff1, buf, 16), -EFAULT);
	assert_int_equal(buf[0], 0x11);
	assert_int_equal(guest_mem_write(gm, 0x1ff1, (uint8_t[16]){0}, 16), -EFAULT);
	assert_int_equal(guest_mem_read(gm, 0x1ff0, buf, 16), 0);
	assert_memory_equal(buf, pattern, 16); /* the partial write did not happen */
	/* straddling the start, in front of RAM, and past 2^64 */
	assert_int_equal(guest_mem_read(gm, 0xfff, buf, 2), -EFAULT);
	assert_int_equal(guest_mem_read(gm, 0x0, buf, 1), -EFAULT);
	assert_int_equal(guest_mem_read(gm, UINT64_MAX - 3, buf, 8), -EFAULT);
	assert_int_equal(guest_mem_read(gm, 0x2000, buf, 1), -EFAULT);
	/* length 0 is a no-op anywhere */
	assert_int_equal(guest_mem_read(gm, 0x99999999, buf, 0), 0);
	guest_mem_free(gm);
}

static void test_adjacent_and_gaps(void **state)
{
	struct guest_mem *gm = guest_mem_new();
	uint8_t in[32], out[32];

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x1000, 0x1000, NULL, NULL), 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x2000, 0x1000, NULL, NULL), 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x3001, 0x1000, NULL, NULL), 0);
	/* two adjacent ranges act as one */
	assert_int_equal(guest_mem_write(gm, 0x1ff0, in, 32), 0);
	assert_int_equal(guest_mem_read(gm, 0x1ff0, out, 32), 0);
	assert_memory_equal(in, out, 32);
	/* a one-byte hole is enough to refuse */
	assert_int_equal(guest_mem_read(gm, 0x2ff0, out, 32), -EFAULT);
	/* a map may not cross ranges, even adjacent ones */
	errno = 0;
	assert_null(guest_mem_map(gm, 0x1ff0, 32, VDEV_MAP_READ));
	assert_int_equal(errno, EFAULT);
	guest_mem_free(gm);
}

static void test_rom_and_reserve(void **state)
{
	struct guest_mem *gm = guest_mem_new();
	uint8_t buf[4] = {1, 2, 3, 4}, out[4];
	uint8_t *p;

	assert_int_equal(guest_mem_add(gm, GUEST_MEM_ROM, 0xf0000, 0x10000, NULL, NULL), 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RESERVE, 0xe0000, 0x10000, NULL, NULL), 0);
	/* the guest cannot write ROM; the loader can; everyone can read it */
	assert_int_equal(guest_mem_write(gm, 0xffff0, buf, 4), -EFAULT);
	assert_int_equal(guest_mem_load(gm, 0xffff0, buf, 4), 0);
	assert_int_equal(guest_mem_read(gm, 0xffff0, out, 4), 0);
	assert_memory_equal(buf, out, 4);
	assert_null(guest_mem_map(gm, 0xffff0, 4, VDEV_MAP_WRITE));
	p = guest_mem_map(gm, 0xffff0, 4, VDEV_MAP_READ);
	assert_non_null(p);
	assert_int_equal(p[3], 4);
	/* a reserve has no memory */
	assert_int_equal(guest_mem_read(gm, 0xe0000, out, 4), -EFAULT);
	assert_int_equal(guest_mem_load(gm, 0xe0000, buf, 4), -EFAULT);
	assert_null(guest_mem_map(gm, 0xe0000, 4, VDEV_MAP_READ));
	/* bad map arguments */
	errno = 0;
	assert_null(guest_mem_map(gm, 0xf0000, 0, VDEV_MAP_READ));
	assert_int_equal(errno, EINVAL);
	assert_null(guest_mem_map(gm, 0xf0000, 4, 0x80));
	guest_mem_free(gm);
}

static void test_external_backing(void **state)
{
	struct guest_mem *gm = guest_mem_new();
	static uint8_t host[0x1000];
	uint8_t v = 0x77;
	uint8_t *p;

	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x40000000, sizeof(host), host, NULL), 0);
	assert_int_equal(guest_mem_write(gm, 0x40000fff, &v, 1), 0);
	assert_int_equal(host[0xfff], 0x77);
	p = guest_mem_map(gm, 0x40000000, sizeof(host), VDEV_MAP_READ | VDEV_MAP_WRITE);
	assert_ptr_equal(p, host);
	assert_null(guest_mem_map(gm, 0x40000000, sizeof(host) + 1, VDEV_MAP_READ));
	guest_mem_free(gm); /* must not free `host` */
	host[0] = 1;
}

/*
 * A fake backend: "domain RAM" of 0x3000 bytes at gpa 0x10000 in a plain
 * array; it records every call so the test sees what reached it.
 */
struct fake_backend {
	uint8_t ram[0x3000];
	unsigned reads, writes, maps;
	uint64_t last_gpa;
	size_t last_length;
	uint32_t last_prot;
	int fail; /* when set: read/write return it, map fails with -fail */
};

#define FAKE_BASE 0x10000u

static int fake_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	struct fake_backend *f = ctx;

	f->reads++;
	f->last_gpa = gpa;
	f->last_length = length;
	if (f->fail)
		return f->fail;
	memcpy(buf, f->ram + (gpa - FAKE_BASE), length);
	return 0;
}

static int fake_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	struct fake_backend *f = ctx;

	f->writes++;
	f->last_gpa = gpa;
	f->last_length = length;
	if (f->fail)
		return f->fail;
	memcpy(f->ram + (gpa - FAKE_BASE), buf, length);
	return 0;
}

static void *fake_map(void *ctx, uint64_t gpa, size_t length, uint32_t prot)
{
	struct fake_backend *f = ctx;

	f->maps++;
	f->last_gpa = gpa;
	f->last_length = length;
	f->last_prot = prot;
	if (f->fail) {
		errno = -f->fail;
		return NULL;
	}
	return f->ram + (gpa - FAKE_BASE);
}

static void test_backend(void **state)
{
	static struct fake_backend f;
	const struct guest_mem_backend b = {fake_read, fake_write, fake_map, &f};
	struct guest_mem *gm = guest_mem_new();
	static uint8_t own[0x1000];
	uint8_t in[32], out[32];
	uint8_t *p;

	memset(&f, 0, sizeof(f));
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0x40 + i);
	/* RAM added before the backend keeps its own memory */
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x1000, 0x1000, NULL, NULL), 0);
	guest_mem_set_backend(gm, &b);
	/* two adjacent backend ranges, an externally backed one, and a ROM */
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, FAKE_BASE, 0x2000, NULL, NULL), 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, FAKE_BASE + 0x2000, 0x1000, NULL, NULL),
			 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_RAM, 0x20000, sizeof(own), own, NULL), 0);
	assert_int_equal(guest_mem_add(gm, GUEST_MEM_ROM, 0x30000, 0x1000, NULL, NULL), 0);
	assert_null(guest_mem_range_at(gm, 1)->host);
	assert_int_equal(guest_mem_range_at(gm, 1)->via_backend, 1);
	assert_int_equal(guest_mem_range_at(gm, 0)->via_backend, 0);
	assert_non_null(guest_mem_range_at(gm, 0)->host);
	assert_int_equal(guest_mem_range_at(gm, 3)->via_backend, 0);
	assert_ptr_equal(guest_mem_range_at(gm, 3)->host, own);
	assert_int_equal(guest_mem_range_at(gm, 4)->via_backend, 0);
	assert_non_null(guest_mem_range_at(gm, 4)->host);

	/* a write reaches the backend's RAM at the right offset */
	assert_int_equal(guest_mem_write(gm, FAKE_BASE + 0x100, in, 32), 0);
	assert_int_equal(f.writes, 1);
	assert_int_equal(f.last_gpa, FAKE_BASE + 0x100);
	assert_int_equal(f.last_length, 32);
	assert_memory_equal(f.ram + 0x100, in, 32);
	/* a read comes from it */
	f.ram[0x200] = 0x9c;
	assert_int_equal(guest_mem_read(gm, FAKE_BASE + 0x200, out, 1), 0);
	assert_int_equal(out[0], 0x9c);
	assert_int_equal(f.reads, 1);
	/* across two backend ranges: one call per range, bytes in place */
	assert_int_equal(guest_mem_write(gm, FAKE_BASE + 0x1ff0, in, 32), 0);
	assert_int_equal(f.writes, 3);
	assert_int_equal(f.last_gpa, FAKE_BASE + 0x2000);
	assert_int_equal(f.last_length, 16);
	assert_memory_equal(f.ram + 0x1ff0, in, 32);
	/* the host-memory ranges never reach the backend */
	assert_int_equal(guest_mem_write(gm, 0x1000, in, 32), 0);
	assert_int_equal(guest_mem_write(gm, 0x20000, in, 4), 0);
	assert_int_equal(own[3], in[3]);
	assert_int_equal(f.writes, 3);
	/* bounds are checked before the backend is called */
	assert_int_equal(guest_mem_read(gm, FAKE_BASE + 0x2ff8, out, 16), -EFAULT);
	assert_int_equal(guest_mem_write(gm, FAKE_BASE - 1, in, 2), -EFAULT);
	assert_int_equal(f.reads + f.writes, 4);
	/* map: the backend's pointer, with the prot asked for */
	p = guest_mem_map(gm, FAKE_BASE + 0x100, 32, VDEV_MAP_READ | VDEV_MAP_WRITE);
	assert_ptr_equal(p, f.ram + 0x100);
	assert_int_equal(f.last_prot, VDEV_MAP_READ | VDEV_MAP_WRITE);
	/* a map may not cross ranges: refused before the backend */
	assert_null(guest_mem_map(gm, FAKE_BASE + 0x1ff0, 32, VDEV_MAP_READ));
	assert_int_equal(errno, EFAULT);
	assert_int_equal(f.maps, 1);
	/* the backend's errors come back as they are */
	f.fail = -EFAULT;
	assert_int_equal(guest_mem_read(gm, FAKE_BASE, out, 4), -EFAULT);
	f.fail = -ENOMEM;
	assert_int_equal(guest_mem_write(gm, FAKE_BASE, in, 4), -ENOMEM);
	errno = 0;
	assert_null(guest_mem_map(gm, FAKE_BASE, 4, VDEV_MAP_READ));
	assert_int_equal(errno, ENOMEM);
	f.fail = 0;
	/* removed (teardown): backend RAM is unreachable, nothing called */
	guest_mem_set_backend(gm, NULL);
	f.reads = f.writes = f.maps = 0;
	assert_int_equal(guest_mem_read(gm, FAKE_BASE, out, 4), -EFAULT);
	assert_int_equal(guest_mem_load(gm, FAKE_BASE, in, 4), -EFAULT);
	assert_null(guest_mem_map(gm, FAKE_BASE, 4, VDEV_MAP_READ));
	assert_int_equal(f.reads + f.writes + f.maps, 0);
	/* the other ranges still work */
	assert_int_equal(guest_mem_read(gm, 0x20000, out, 4), 0);
	assert_memory_equal(out, in, 4);
	guest_mem_free(gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_adjacent_and_gaps),
	    cmocka_unit_test(test_rom_and_reserve),
	    cmocka_unit_test(test_external_backing),
	    cmocka_unit_test(test_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
