/* vdev-unresolved.so: needs a symbol nothing provides, so dlopen(RTLD_NOW) fails. */
#include <vdev/vdev.h>

extern int vdev_test_missing_function(void);

int unresolved_call(void);
int unresolved_call(void)
{
	return vdev_test_missing_function();
}
