/*
 * vdevs/common/tests/chipset_test.h: the test-host fixture the chipset
 * plugins' datasheet tests share: one host with the plugin loaded (from
 * $PLUGIN_DIR, else the build directory the test was compiled with),
 * configuration-space and port accessors that fail the test on an error.
 */
#ifndef VDEVS_COMMON_CHIPSET_TEST_H
#define VDEVS_COMMON_CHIPSET_TEST_H

#include <stdint.h>

#include <vdev/testhost.h>

struct chipset_fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct vdev_testdev *dev;
};

/* A host with vdev-NAME.so from `build_dir` (or $PLUGIN_DIR) loaded; the test fails if not. */
struct chipset_fixture *chipset_fixture_new(const char *name, const char *build_dir);
void chipset_fixture_free(struct chipset_fixture *f);
/* cmocka setup/teardown: *state = a fixture with one instance of NAME made from `options`. */
int chipset_setup(void **state, const char *name, const char *build_dir, const char *options);
int chipset_teardown(void **state);
/* An instance from option text; the test fails if create refuses. */
struct vdev_testdev *chipset_create(struct chipset_fixture *f, const char *options);

uint32_t chipset_cfg_read(struct chipset_fixture *f, unsigned dev, unsigned fn, unsigned reg,
			  unsigned size);
void chipset_cfg_write(struct chipset_fixture *f, unsigned dev, unsigned fn, unsigned reg,
		       unsigned size, uint32_t value);
uint32_t chipset_pio_read(struct chipset_fixture *f, uint16_t port, unsigned size);
void chipset_pio_write(struct chipset_fixture *f, uint16_t port, unsigned size, uint32_t value);
/* Save the instance, scribble on it with `mutate`, restore: the saved bytes come back. */
void chipset_check_save_restore(struct chipset_fixture *f,
				void (*mutate)(struct chipset_fixture *f));

#endif /* VDEVS_COMMON_CHIPSET_TEST_H */
