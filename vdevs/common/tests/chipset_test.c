/*
 * vdevs/common/tests/chipset_test.c: the fixture of chipset_test.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vdevs/common/tests/chipset_test.h"

struct chipset_fixture *chipset_fixture_new(const char *name, const char *build_dir)
{
	struct chipset_fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	snprintf(path, sizeof(path), "%s/vdev-%s.so", dir ? dir : build_dir, name);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
	assert_int_equal(vdev_testhost_add_ram(f->th, 0, 0x100000), 0);
	return f;
}

void chipset_fixture_free(struct chipset_fixture *f)
{
	vdev_testhost_free(f->th);
	free(f);
}

int chipset_setup(void **state, const char *name, const char *build_dir, const char *options)
{
	struct chipset_fixture *f = chipset_fixture_new(name, build_dir);

	chipset_create(f, options);
	*state = f;
	return 0;
}

int chipset_teardown(void **state)
{
	chipset_fixture_free(*state);
	return 0;
}

struct vdev_testdev *chipset_create(struct chipset_fixture *f, const char *options)
{
	f->dev = vdev_testhost_create(f->th, f->desc, options);
	if (!f->dev)
		fail_msg("create \"%s\": %s", options, vdev_testhost_error(f->th));
	return f->dev;
}

uint32_t chipset_cfg_read(struct chipset_fixture *f, unsigned dev, unsigned fn, unsigned reg,
			  unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PCICFG,
					    VDEV_PCICFG_ADDR(0, dev, fn, reg), size, &v),
			 0);
	return (uint32_t)v;
}

void chipset_cfg_write(struct chipset_fixture *f, unsigned dev, unsigned fn, unsigned reg,
		       unsigned size, uint32_t value)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PCICFG,
					     VDEV_PCICFG_ADDR(0, dev, fn, reg), size, value),
			 0);
}

uint32_t chipset_pio_read(struct chipset_fixture *f, uint16_t port, unsigned size)
{
	uint64_t v = 0;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PIO, port, size, &v), 0);
	return (uint32_t)v;
}

void chipset_pio_write(struct chipset_fixture *f, uint16_t port, unsigned size, uint32_t value)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PIO, port, size, value), 0);
}

void chipset_check_save_restore(struct chipset_fixture *f,
				void (*mutate)(struct chipset_fixture *f))
{
	uint8_t a[4096], b[4096];
	ssize_t na = vdev_testhost_save(f->dev, a, sizeof(a)), nb;

	assert_true(na > 0);
	mutate(f);
	nb = vdev_testhost_save(f->dev, b, sizeof(b));
	assert_true(nb != na || memcmp(a, b, (size_t)na) != 0); /* the mutation shows */
	assert_int_equal(vdev_testhost_restore(f->dev, a, (size_t)na), 0);
	nb = vdev_testhost_save(f->dev, b, sizeof(b));
	assert_int_equal(nb, na);
	assert_memory_equal(a, b, (size_t)na);
	/* a damaged state is refused and changes nothing */
	a[na - 1] ^= 0x55;
	assert_int_equal(vdev_testhost_restore(f->dev, a, (size_t)na), -EINVAL);
	nb = vdev_testhost_save(f->dev, b, sizeof(b));
	a[na - 1] ^= 0x55;
	assert_memory_equal(a, b, (size_t)na);
}
