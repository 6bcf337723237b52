/* vdev-noentry.so: a shared object without vdev_plugin_entry. */
#include <vdev/vdev.h>

int noentry_answer(void);
int noentry_answer(void)
{
	return 42;
}
