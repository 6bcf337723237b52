/* vdev-nulldesc.so: the entry returns NULL. */
#include <vdev/vdev.h>

__attribute__((visibility("default"))) const struct vdev_descriptor *vdev_plugin_entry(void);
__attribute__((visibility("default"))) const struct vdev_descriptor *vdev_plugin_entry(void)
{
	return NULL;
}
