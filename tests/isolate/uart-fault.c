/*
 * vdev-uart-fault.so: a stand-in for a 16550's transmitter that fails on
 * the guest's first byte, for tests/isolate/isolate.sh. LSR reads "ready"
 * (THRE | TEMT) so that a guest's putc goes on writing; a write to THR
 * (offset 0 with LCR.DLAB clear) then crashes (fault crash: a NULL store)
 * or never returns (fault hang), or tries a fork and logs how it went
 * (fault fork: the isolated process's seccomp filter refuses it). Only useful under `isolate`:
 * anywhere else it takes vdm down, which is the point of the test. Never installed nor in PLUGINS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vdev/vdev.h>

enum { FAULT_CRASH, FAULT_HANG, FAULT_FORK };

struct uart_fault {
	const struct vdev_host *host;
	vdev_host_t *h;
	unsigned fault;
	uint8_t lcr;
};

static int uf_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		     void **dev)
{
	struct uart_fault *u;
	int rc;

	if (cfg->loc_count < 1 || cfg->locs[0].kind != VDEV_LOC_ADDR)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->fault = cfg->options[0].v.e;
	u->host = host;
	u->h = h;
	rc = host->region_add(h, cfg->locs[0].space, cfg->locs[0].base, 8, 0);
	if (rc < 0) {
		free(u);
		return rc;
	}
	*dev = u;
	return 0;
}

static void uf_destroy(void *dev)
{
	free(dev);
}

static int uf_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	struct uart_fault *u = dev;

	*value = access->offset == 5 ? 0x60 : access->offset == 3 ? u->lcr : 0;
	return 0;
}

/* The defect: a transmit buffer that was never allocated. */
static uint8_t *volatile nowhere;

static int uf_write(void *dev, const struct vdev_access *access, uint64_t value)
{
	struct uart_fault *u = dev;

	if (access->offset == 3)
		u->lcr = (uint8_t)value;
	if (access->offset != 0 || (u->lcr & 0x80))
		return 0;
	if (u->fault == FAULT_FORK) {
		/* what an isolated plugin's seccomp filter refuses */
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		u->host->log(u->h, VDEV_LOG_INFO, "fork: %s", pid < 0 ? strerror(errno) : "done");
		u->fault = FAULT_CRASH + 100; /* once */
		return 0;
	}
	if (u->fault != FAULT_CRASH && u->fault != FAULT_HANG)
		return 0;
	if (u->fault == FAULT_HANG)
		for (;;)
			pause();
	*nowhere = (uint8_t)value; /* NULL: SIGSEGV */
	return 0;
}

static const char *const faults[] = {"crash", "hang", "fork", NULL};

static const struct vdev_option_spec options[] = {
    {.name = "fault",
     .type = VDEV_OPT_ENUM,
     .default_value = "crash",
     .choices = faults,
     .help = "what the first byte sent does: crash, hang, or try a fork (and log how it went)"},
};

static const struct vdev_ops ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = uf_create,
    .destroy = uf_destroy,
    .read = uf_read,
    .write = uf_write,
};

static const struct vdev_descriptor desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "uart-fault",
    .version = "1.0.0",
    .description = "test fixture: a UART transmitter that crashes or hangs",
    .flags = VDEV_F_LOC_REQUIRED,
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1),
    .options = options,
    .option_count = 1,
    .ops = &ops,
};

VDEV_PLUGIN_ENTRY(desc)
