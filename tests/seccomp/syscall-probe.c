/*
 * vdev-syscall-probe.so: a test device that makes a system call when the
 * guest asks, to show what vdm's seccomp filter (devmodel/lockdown.c)
 * lets a plugin do. One 32-bit register at loc:
 *   write N   run probe N:  1 execve("/nonexistent/...")   (refused by the filter)
 *                           2 personality(query)           (refused)
 *                           3 getpid                        (allowed)
 *                           4 socket(AF_UNIX) + close       (allowed)
 *   read      0 if the last probe's call succeeded, else its errno
 *             (an execve of a missing file: ENOENT when allowed)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vdev/vdev.h>

struct probe {
	const struct vdev_host *host;
	vdev_host_t *h;
	uint32_t result;
};

static int probe_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
			void **dev)
{
	struct probe *p;
	int rc;

	if (cfg->loc_count != 1)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->host = host;
	p->h = h;
	rc = host->region_add(h, cfg->locs[0].space, cfg->locs[0].base, 4, 0);
	if (rc < 0) {
		free(p);
		return rc;
	}
	*dev = p;
	return 0;
}

static void probe_destroy(void *dev)
{
	free(dev);
}

static int probe_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct probe *p = dev;

	*value = p->result;
	return 0;
}

static int probe_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct probe *p = dev;
	char *const argv[] = {"vdm-probe", NULL};
	long r = 0;
	int fd;

	errno = 0;
	switch (value) {
	case 1:
		r = execve("/nonexistent/vdm-syscall-probe", argv, argv + 1);
		break;
	case 2:
		r = personality(0xffffffff);
		break;
	case 3:
		r = getpid();
		break;
	case 4:
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		r = fd < 0 ? -1 : close(fd);
		break;
	default:
		errno = EINVAL;
		r = -1;
	}
	p->result = r < 0 ? (uint32_t)errno : 0;
	p->host->log(p->h, VDEV_LOG_INFO, "probe %u: %s", (unsigned)value,
		     p->result ? strerror((int)p->result) : "allowed");
	return 0;
}

static const struct vdev_ops probe_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = probe_create,
    .destroy = probe_destroy,
    .read = probe_read,
    .write = probe_write,
};

static const struct vdev_descriptor probe_desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "syscall-probe",
    .version = "1.0.0",
    .description = "makes the system call the guest asks for (seccomp tests)",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZE(4),
    .flags = VDEV_F_LOC_REQUIRED,
    .ops = &probe_ops,
};

VDEV_PLUGIN_ENTRY(probe_desc)
