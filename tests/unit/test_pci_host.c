/*
 * tests/unit/test_pci_host.c: devmodel/pci_host.c with a real iomap and a
 * recording function in pcicfg: CONFIG_ADDRESS decoding (enable bit,
 * bus/device/function/register, low bits), CONFIG_DATA byte and word
 * offsets, disabled cycles, unknown functions reading all-ones under every
 * policy, the host bridge's header, and registration conflicts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/iomap.h"
#include "devmodel/pci_host.h"

/* What the recording function saw last. */
struct rec {
	unsigned count;
	uint64_t offset;
	unsigned size;
	bool is_write;
	uint64_t value;
	uint8_t regs[0x100];
};

static int rec_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
		      unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	struct rec *r = ctx;

	assert_int_equal(space, VDEV_SPACE_PCICFG);
	r->count++;
	r->offset = offset;
	r->size = size;
	r->is_write = is_write;
	if (is_write) {
		r->value = *value;
		for (unsigned i = 0; i < size && offset + i < sizeof(r->regs); i++)
			r->regs[offset + i] = (uint8_t)(*value >> (8 * i));
	} else {
		uint64_t v = 0;

		for (unsigned i = 0; i < size && offset + i < sizeof(r->regs); i++)
			v |= (uint64_t)r->regs[offset + i] << (8 * i);
		*value = r->value = v;
	}
	return 0;
}

static int failing_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
			  unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	return -EIO;
}

struct fixture {
	struct iomap *map;
	struct pci_host *ph;
	struct rec rec;
	struct iomap_owner owner, failing;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->map = iomap_new();
	assert_non_null(f->map);
	f->ph = pci_host_new(f->map);
	assert_non_null(f->ph);
	assert_int_equal(pci_host_register(f->ph), 0);
	f->owner = (struct iomap_owner){ .name = "rec", .access = rec_access,
					 .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) |
							 VDEV_ACCESS_SIZE(4),
					 .ctx = &f->rec };
	/* the recording function at 0:3.1 */
	assert_int_equal(iomap_add(f->map, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 3, 1, 0), 0x1000,
				   &f->owner, 0, NULL), 0);
	for (unsigned i = 0; i < 0x100; i++)
		f->rec.regs[i] = (uint8_t)i;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_host_free(f->ph);
	iomap_remove_owner(f->map, &f->owner);
	iomap_remove_owner(f->map, &f->failing);
	iomap_free(f->map);
	free(f);
	return 0;
}

static uint64_t in(struct fixture *f, uint16_t port, unsigned size)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aull;

	assert_int_equal(iomap_access(f->map, VDEV_SPACE_PIO, port, size, false, &v, 0), 0);
	return v;
}

static void out(struct fixture *f, uint16_t port, unsigned size, uint64_t v)
{
	assert_int_equal(iomap_access(f->map, VDEV_SPACE_PIO, port, size, true, &v, 0), 0);
}

static uint32_t cf8(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | reg;
}

static void test_config_address_register(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, 0xcf8, 4), 0);
	out(f, 0xcf8, 4, 0xffffffff);
	/* reserved bits 30:24 and the low two bits read 0 */
	assert_int_equal(in(f, 0xcf8, 4), 0x80fffffc);
	assert_int_equal(pci_host_config_address(f->ph), 0x80fffffc);
	/* byte and word accesses are not CONFIG_ADDRESS */
	out(f, 0xcf8, 1, 0);
	out(f, 0xcfa, 2, 0);
	assert_int_equal(in(f, 0xcf8, 4), 0x80fffffc);
	assert_int_equal(in(f, 0xcf9, 1), 0xff);
	assert_int_equal(in(f, 0xcf8, 2), 0xffff);
}

static void test_decode_dword(void **state)
{
	struct fixture *f = *state;

	out(f, 0xcf8, 4, cf8(0, 3, 1, 0x10));
	assert_int_equal(in(f, 0xcfc, 4), 0x13121110);
	assert_int_equal(f->rec.count, 1);
	assert_int_equal(f->rec.offset, 0x10);
	assert_int_equal(f->rec.size, 4);
	out(f, 0xcfc, 4, 0xdeadbeef);
	assert_true(f->rec.is_write);
	assert_int_equal(f->rec.offset, 0x10);
	assert_int_equal(f->rec.value, 0xdeadbeef);
	/* register bits 1:0 of CONFIG_ADDRESS are ignored */
	out(f, 0xcf8, 4, cf8(0, 3, 1, 0x10) | 3);
	assert_int_equal(in(f, 0xcfc, 4), 0xdeadbeef);
	assert_int_equal(f->rec.offset, 0x10);
}

static void test_byte_word_offsets(void **state)
{
	struct fixture *f = *state;

	out(f, 0xcf8, 4, cf8(0, 3, 1, 0x3c));
	assert_int_equal(in(f, 0xcfd, 1), 0x3d);
	assert_int_equal(f->rec.offset, 0x3d);
	assert_int_equal(f->rec.size, 1);
	assert_int_equal(in(f, 0xcfe, 2), 0x3f3e);
	assert_int_equal(f->rec.offset, 0x3e);
	assert_int_equal(f->rec.size, 2);
	out(f, 0xcff, 1, 0xa5);
	assert_int_equal(f->rec.offset, 0x3f);
	assert_int_equal(f->rec.regs[0x3f], 0xa5);
	out(f, 0xcfc, 2, 0x1234);
	assert_int_equal(f->rec.offset, 0x3c);
	assert_int_equal(in(f, 0xcfc, 4), 0xa53e1234u);
}

static void test_disabled_cycle(void **state)
{
	struct fixture *f = *state;

	out(f, 0xcf8, 4, cf8(0, 3, 1, 0x10) & ~0x80000000u);
	assert_int_equal(in(f, 0xcfc, 4), 0xffffffff);
	assert_int_equal(in(f, 0xcfe, 1), 0xff);
	out(f, 0xcfc, 4, 0);
	assert_int_equal(f->rec.count, 0);
	assert_int_equal(f->rec.regs[0x10], 0x10);
}

static void test_unknown_functions(void **state)
{
	struct fixture *f = *state;
	static const enum conf_unsupported_action policies[] = { CONF_UNSUP_IGNORE, CONF_UNSUP_FAIL,
								 CONF_UNSUP_ABORT };

	for (unsigned p = 0; p < 3; p++) {
		iomap_set_policy(f->map, policies[p], NULL, NULL);
		out(f, 0xcf8, 4, cf8(0, 3, 0, 0)); /* function 0 of the recorder's device */
		assert_int_equal(in(f, 0xcfc, 4), 0xffffffff);
		assert_int_equal(in(f, 0xcfc, 2), 0xffff);
		out(f, 0xcf8, 4, cf8(7, 31, 7, 0xfc));
		assert_int_equal(in(f, 0xcfc, 4), 0xffffffff);
		out(f, 0xcfc, 4, 0);
	}
	assert_int_equal(f->rec.count, 0);
	/* a function whose access fails also reads all-ones under `fail` */
	f->failing = (struct iomap_owner){ .name = "failing", .access = failing_access,
					   .access_sizes = VDEV_ACCESS_SIZE(4), .ctx = NULL };
	assert_int_equal(iomap_add(f->map, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 9, 0, 0), 0x1000,
				   &f->failing, 0, NULL), 0);
	out(f, 0xcf8, 4, cf8(0, 9, 0, 0));
	assert_int_equal(in(f, 0xcfc, 4), 0xffffffff);
}

static void test_host_bridge(void **state)
{
	struct fixture *f = *state;

	out(f, 0xcf8, 4, cf8(0, 0, 0, 0));
	assert_int_equal(in(f, 0xcfc, 4), 0x12378086);
	out(f, 0xcf8, 4, cf8(0, 0, 0, 0x08));
	assert_int_equal(in(f, 0xcfc, 4), 0x06000002);
	out(f, 0xcf8, 4, cf8(0, 0, 0, 0x0c));
	assert_int_equal(in(f, 0xcfe, 1), 0);          /* header type 0 */
	out(f, 0xcfc, 2, 0x4010);                       /* cache line, latency */
	assert_int_equal(in(f, 0xcfc, 2), 0x4010);
	out(f, 0xcf8, 4, cf8(0, 0, 0, 0));
	out(f, 0xcfc, 4, 0);                            /* identity is read-only */
	assert_int_equal(in(f, 0xcfc, 4), 0x12378086);
	out(f, 0xcf8, 4, cf8(0, 0, 0, 0x10));
	assert_int_equal(in(f, 0xcfc, 4), 0);           /* no BARs */
	out(f, 0xcf8, 4, cf8(0, 0, 1, 0));
	assert_int_equal(in(f, 0xcfc, 4), 0xffffffff); /* function 1 absent */
}

/* Xen's case (backend.h pci_config_address): the latch alone, CONFIG_DATA
 * and 0:0.0 left to the hypervisor and the vdevs */
static void test_address_only(void **state)
{
	struct iomap *m = iomap_new();
	struct pci_host *ph, *other;
	uint64_t v = 0;

	assert_non_null(m);
	ph = pci_host_new(m);
	assert_non_null(ph);
	assert_int_equal(pci_host_register_address(ph), 0);
	assert_int_equal(iomap_count(m, VDEV_SPACE_PIO), 1);
	assert_int_equal(iomap_count(m, VDEV_SPACE_PCICFG), 0);
	v = cf8(0, 3, 1, 8);
	assert_int_equal(iomap_access(m, VDEV_SPACE_PIO, 0xcf8, 4, true, &v, 0), 0);
	v = 0;
	assert_int_equal(iomap_access(m, VDEV_SPACE_PIO, 0xcf8, 4, false, &v, 0), 0);
	assert_int_equal(v, cf8(0, 3, 1, 8));
	/* a second one is refused */
	other = pci_host_new(m);
	assert_non_null(other);
	assert_int_equal(pci_host_register_address(other), -EEXIST);
	pci_host_free(other);
	pci_host_free(ph);
	assert_int_equal(iomap_count(m, VDEV_SPACE_PIO), 0);
	iomap_free(m);
}

static void test_conflicts(void **state)
{
	struct fixture *f = *state;
	struct pci_host *other = pci_host_new(f->map);

	assert_non_null(other);
	assert_int_equal(pci_host_register(other), -EEXIST);
	pci_host_free(other);
	/* the first one still works */
	out(f, 0xcf8, 4, cf8(0, 0, 0, 0));
	assert_int_equal(in(f, 0xcfc, 2), 0x8086);
	/* after free nothing is left */
	pci_host_free(f->ph);
	f->ph = NULL;
	assert_int_equal(iomap_count(f->map, VDEV_SPACE_PIO), 0);
	assert_int_equal(iomap_count(f->map, VDEV_SPACE_PCICFG), 1); /* the recorder */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_address_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_dword, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_word_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_functions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
