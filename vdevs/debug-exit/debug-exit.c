/*
 * vdevs/debug-exit/debug-exit.c: a guest exit port compatible with QEMU's
 * isa-debug-exit, so that test guests can end the VM with a verdict.
 *
 * QEMU ends with exit status (V << 1) | 1 when the guest writes V (any width
 * up to 4 bytes; reads return 0). vdm may only end with 0, 3, 4 or 32..63
 * (qvm's codes, vdev.h terminate), so the value is mapped:
 *
 *   V == success (option, default 0)  -> exit 0
 *   any other V                      -> exit 32 | (((V << 1) | 1) & 31)
 *                                       = 32 + 2 * (V mod 16) + 1
 *
 * The second rule is QEMU's own code for V in 16..31 (33..63, the odd codes
 * QEMU test guests commonly use, e.g. 0x10 -> 33, 0x11 -> 35); other values
 * fold into that range and are never 0, so a FAIL can never look like a PASS.
 * `success` may name any 32-bit value (e.g. `success 0x10` for a guest
 * written for QEMU's "0x10 means pass" convention).
 *
 * Only the first write counts: terminate() returns and the VM stops after
 * the current callback, so a second write racing on another vCPU must not
 * change the verdict. That latch is the device's only state.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <vdev/vdev.h>
#include <vdev/state.h>

#define DEBUG_EXIT_DEFAULT_PORT	 0xf4
#define DEBUG_EXIT_NAME		 "debug-exit"
#define DEBUG_EXIT_STATE_VERSION 1

enum { OPT_SUCCESS };

static const struct vdev_option_spec debug_exit_options[] = {
    [OPT_SUCCESS] =
	{
	    .name = "success",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0",
	    .help = "value whose write ends the VM with 0; others end it with 33..63",
	    .min = 0,
	    .max = 0xffffffff,
	},
};

struct debug_exit {
	const struct vdev_host *host;
	vdev_host_t *h;
	uint32_t success;
	bool fired;	/* a write already ended the VM */
	uint32_t value; /* the value of that write */
};

/* debug_exit_cause: the exit code for a written value (see the top comment). */
static int debug_exit_cause(const struct debug_exit *d, uint32_t value)
{
	if (value == d->success)
		return 0;
	return VDEV_TERMINATE_MIN | (int)((((uint64_t)value << 1) | 1) & 31);
}

static int debug_exit_create(const struct vdev_host *host, vdev_host_t *h,
			     const struct vdev_config *cfg, void **devp)
{
	struct debug_exit *d;
	enum vdev_space space = VDEV_SPACE_PIO;
	uint64_t base = DEBUG_EXIT_DEFAULT_PORT, length = 1;
	int rc;

	if (cfg->loc_count > 1) {
		host->log(h, VDEV_LOG_ERROR, "takes one loc, %u given", cfg->loc_count);
		return -EINVAL;
	}
	if (cfg->loc_count == 1) {
		const struct vdev_loc *loc = &cfg->locs[0];

		if (loc->kind != VDEV_LOC_ADDR) {
			host->log(h, VDEV_LOG_ERROR, "loc must be an io: or mem: address");
			return -EINVAL;
		}
		space = loc->space;
		base = loc->base;
		if (loc->length)
			length = loc->length;
	}
	if (cfg->intr_count) {
		host->log(h, VDEV_LOG_ERROR, "raises no interrupt; remove `intr`");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = host;
	d->h = h;
	d->success = (uint32_t)cfg->options[OPT_SUCCESS].v.u;
	rc = host->region_add(h, space, base, length, 0);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot claim %s 0x%llx+%llu: %d",
			  space == VDEV_SPACE_PIO ? "io" : "mem", (unsigned long long)base,
			  (unsigned long long)length, rc);
		free(d);
		return rc;
	}
	*devp = d;
	return 0;
}

static void debug_exit_destroy(void *dev)
{
	free(dev);
}

static int debug_exit_read(void *dev, const struct vdev_access *access, uint64_t *value)
{
	*value = 0; /* as QEMU: the port reads as zero */
	return 0;
}

static int debug_exit_write(void *dev, const struct vdev_access *access, uint64_t value)
{
	struct debug_exit *d = dev;
	int cause;

	if (d->fired)
		return 0;
	d->fired = true;
	d->value = (uint32_t)value;
	cause = debug_exit_cause(d, d->value);
	d->host->log(d->h, VDEV_LOG_INFO, "guest wrote 0x%x: ending the VM with %d (%s)", d->value,
		     cause, cause == 0 ? "success" : "failure");
	d->host->terminate(d->h, cause);
	return 0;
}

static void debug_exit_reset(void *dev)
{
	struct debug_exit *d = dev;

	d->fired = false;
	d->value = 0;
}

/* debug_exit_state: the state description shared by save and restore. */
static void debug_exit_state(struct vdev_state *st, struct debug_exit *d)
{
	vdev_state_bool(st, &d->fired);
	vdev_state_u32(st, &d->value);
}

static ssize_t debug_exit_save(void *dev, void *buf, size_t cap)
{
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, DEBUG_EXIT_NAME, DEBUG_EXIT_STATE_VERSION);
	debug_exit_state(&st, dev);
	return vdev_state_save_end(&st);
}

static int debug_exit_restore(void *dev, const void *buf, size_t length)
{
	struct debug_exit *d = dev, scratch = *d;
	struct vdev_state st;
	int rc;

	vdev_state_restore_begin(&st, buf, length, DEBUG_EXIT_NAME, DEBUG_EXIT_STATE_VERSION);
	debug_exit_state(&st, &scratch);
	rc = vdev_state_restore_end(&st);
	if (rc == 0)
		*d = scratch;
	return rc;
}

static int debug_exit_status(void *dev, char *buf, size_t cap)
{
	struct debug_exit *d = dev;

	return snprintf(buf, cap, d->fired ? "fired with 0x%x" : "armed (success 0x%x)",
			d->fired ? d->value : d->success);
}

static const struct vdev_ops debug_exit_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = debug_exit_create,
    .destroy = debug_exit_destroy,
    .read = debug_exit_read,
    .write = debug_exit_write,
    .reset = debug_exit_reset,
    .save = debug_exit_save,
    .restore = debug_exit_restore,
    .status = debug_exit_status,
};

static const struct vdev_descriptor debug_exit_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = DEBUG_EXIT_NAME,
    .version = "1.0.0",
    .description = "guest exit port (QEMU isa-debug-exit compatible)",
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(DEBUG_EXIT_NAME) - 1) + VDEV_STATE_SIZE_BOOL +
		  VDEV_STATE_SIZE_U32,
    .options = debug_exit_options,
    .option_count = sizeof(debug_exit_options) / sizeof(debug_exit_options[0]),
    .ops = &debug_exit_ops,
};

VDEV_PLUGIN_ENTRY(debug_exit_descriptor)
