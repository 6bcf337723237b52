/*
 * vdevs/pckeyboard/pckeyboard.c: the PC's 8042 keyboard controller, enough
 * of it for a guest to gate A20, reboot, and find a well-behaved keyboard
 * with no keys pressed: data port io:0x60, status/command port io:0x64.
 *
 * Controller (8042 / IBM PC AT technical reference):
 *  - status register: OBF, IBF (always 0: every write is taken at once),
 *    SYS (set by a passing self test or command byte bit 2), A2 (the last
 *    write was a command), INH (1: keyboard not inhibited), AUXB (the
 *    output buffer holds mouse data);
 *  - commands 0x20-0x3f read and 0x60-0x7f write the controller RAM (byte 0
 *    is the command byte: IRQ1 enable, IRQ12 enable, SYS, -, keyboard
 *    disable, mouse disable, translate), 0xa7/0xa8 mouse disable/enable,
 *    0xa9 mouse interface test -> 0x00, 0xaa self test -> 0x55, 0xab
 *    keyboard interface test -> 0x00, 0xad/0xae keyboard disable/enable,
 *    0xc0 read input port, 0xd0/0xd1 read/write the output port (bit 0
 *    the CPU reset line, bit 1 A20), 0xd2/0xd3 write the keyboard/mouse
 *    output buffer (as if the device had sent it), 0xd4 write to the mouse
 *    (no mouse is attached: the byte is dropped and, as with an absent
 *    device, nothing answers), 0xdd/0xdf A20 off/on, 0xe0 read test
 *    inputs, 0xf0-0xff pulse output port bits 0-3 low (a pulse of bit 0,
 *    e.g. 0xfe, resets the CPU);
 *  - the output buffer: one byte, refilled from a small queue when read;
 *    IRQ1 (first `intr`, e.g. pic:1) is asserted while it holds keyboard
 *    data and command byte bit 0 is set, IRQ12 (second `intr`) likewise
 *    for mouse data and bit 1.
 * Keyboard (the device behind the controller, no keys ever pressed):
 *    0xff reset -> 0xfa 0xaa, 0xf2 identify -> 0xfa 0xab 0x83, 0xee echo,
 *    0xed/0xf3/0xf0 (with their argument byte), 0xf4/0xf5/0xf6 -> 0xfa,
 *    anything else -> 0xfe (resend).
 *
 * Reset. A CPU reset request ends the VM as a reboot would: `reset-action
 * exit` (default) calls host->terminate(0). `reset-action restart` asks
 * the host to reboot the machine (platform_shutdown(REBOOT), ABI 1.2: on
 * Xen the domain is shut down for a reboot and the toolstack builds it
 * again, as with the PIIX3's 0xcf9); a host without that service ends the
 * VM with exit code 0 and a log line saying so.
 *
 * A20 is recorded (output port bit 1, `vdm status` shows it) but not
 * applied: vdm has no host service to mask address line 20, and Xen and
 * KVM guests run with A20 enabled.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/vdev.h>
#include <vdev/state.h>

#define KBD_NAME	  "pckeyboard"
#define KBD_STATE_VERSION 1
#define KBD_QUEUE	  16

enum { REGION_DATA, REGION_CMD };

/* Status register. */
#define ST_OBF	0x01
#define ST_SYS	0x04
#define ST_A2	0x08
#define ST_INH	0x10
#define ST_AUXB 0x20

/* Command byte. */
#define CB_KBD_INT   0x01
#define CB_AUX_INT   0x02
#define CB_SYS	     0x04
#define CB_KBD_OFF   0x10
#define CB_AUX_OFF   0x20
#define CB_TRANSLATE 0x40

/* Output port. */
#define OP_RESET 0x01 /* 1 = CPU running */
#define OP_A20	 0x02

enum { OPT_RESET_ACTION };
enum { RESET_EXIT, RESET_RESTART };

static const char *const kbd_reset_actions[] = {"exit", "restart", NULL};

static const struct vdev_option_spec kbd_options[] = {
    [OPT_RESET_ACTION] =
	{
	    .name = "reset-action",
	    .type = VDEV_OPT_ENUM,
	    .default_value = "exit",
	    .help = "what a CPU reset request does: exit (end the VM, code 0) or restart "
		    "(not possible yet: also ends it with 0)",
	    .choices = kbd_reset_actions,
	},
};

struct kbd {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *irq1, *irq12;
	unsigned reset_action;
	/* Saved state. */
	uint8_t ram[32]; /* controller RAM; ram[0] is the command byte */
	uint8_t status;	 /* SYS and A2 (OBF and AUXB follow the buffer) */
	uint8_t outport;
	uint8_t pending_cmd; /* controller command waiting for its data byte, 0 none */
	uint8_t pending_kbd; /* keyboard command waiting for its argument, 0 none */
	uint8_t obf;	     /* the output buffer is full */
	uint8_t obf_aux;     /* ... with mouse data */
	uint8_t out;	     /* the output buffer */
	uint8_t queue[KBD_QUEUE];
	uint8_t queue_aux[KBD_QUEUE];
	uint8_t head, count;
	uint8_t reset_requested; /* terminate already called */
};

/* kbd_lines: IRQ1 and IRQ12 follow the output buffer. */
static void kbd_lines(struct kbd *k)
{
	if (k->irq1)
		k->host->line_set(k->h, k->irq1, k->obf && !k->obf_aux && (k->ram[0] & CB_KBD_INT));
	if (k->irq12)
		k->host->line_set(k->h, k->irq12, k->obf && k->obf_aux && (k->ram[0] & CB_AUX_INT));
}

/* kbd_update: refill the output buffer from the queue, then drive the lines. */
static void kbd_update(struct kbd *k)
{
	if (!k->obf && k->count) {
		k->out = k->queue[k->head];
		k->obf_aux = k->queue_aux[k->head];
		k->obf = 1;
		k->head = (uint8_t)((k->head + 1) % KBD_QUEUE);
		k->count--;
	}
	kbd_lines(k);
}

/* kbd_queue: a byte from the controller, the keyboard or (aux) the mouse. */
static void kbd_queue(struct kbd *k, uint8_t byte, bool aux)
{
	unsigned tail;

	if (k->count == KBD_QUEUE)
		return; /* as the real keyboard's buffer: overrun bytes are lost */
	tail = (k->head + k->count) % KBD_QUEUE;
	k->queue[tail] = byte;
	k->queue_aux[tail] = aux;
	k->count++;
}

/* kbd_cpu_reset: the guest pulled the CPU reset line. */
static void kbd_cpu_reset(struct kbd *k, const char *how)
{
	if (k->reset_requested)
		return;
	k->reset_requested = 1;
	if (k->reset_action == RESET_RESTART && VDEV_HOST_HAS(k->host, platform_shutdown)) {
		k->host->log(k->h, VDEV_LOG_INFO, "guest reset (%s): reboot", how);
		k->host->platform_shutdown(k->h, VDEV_SHUTDOWN_REBOOT);
		return;
	}
	if (k->reset_action == RESET_RESTART)
		k->host->log(k->h, VDEV_LOG_INFO,
			     "guest reset (%s): restart requested, but the host cannot restart a "
			     "VM yet; ending it with exit code 0",
			     how);
	else
		k->host->log(k->h, VDEV_LOG_INFO, "guest reset (%s): ending the VM (exit code 0)",
			     how);
	k->host->terminate(k->h, 0);
}

static void kbd_set_outport(struct kbd *k, uint8_t value)
{
	k->outport = value;
	if (!(value & OP_RESET))
		kbd_cpu_reset(k, "output port bit 0 cleared");
}

/* kbd_device_write: a byte for the keyboard itself. */
static void kbd_device_write(struct kbd *k, uint8_t value)
{
	if (k->pending_kbd) {
		uint8_t cmd = k->pending_kbd;

		k->pending_kbd = 0;
		kbd_queue(k, 0xfa, false);
		if (cmd == 0xf0 && value == 0)
			kbd_queue(k, (k->ram[0] & CB_TRANSLATE) ? 0x41 : 0x02, false);
		return;
	}
	switch (value) {
	case 0xff: /* reset: ACK, then the basic assurance test passed */
		kbd_queue(k, 0xfa, false);
		kbd_queue(k, 0xaa, false);
		break;
	case 0xf2: /* identify: an MF2 keyboard */
		kbd_queue(k, 0xfa, false);
		kbd_queue(k, 0xab, false);
		kbd_queue(k, (k->ram[0] & CB_TRANSLATE) ? 0x41 : 0x83, false);
		break;
	case 0xee:
		kbd_queue(k, 0xee, false);
		break;
	case 0xed: /* LEDs */
	case 0xf3: /* typematic rate */
	case 0xf0: /* scan code set */
		k->pending_kbd = value;
		kbd_queue(k, 0xfa, false);
		break;
	case 0xf4: /* enable */
	case 0xf5: /* disable */
	case 0xf6: /* defaults */
		kbd_queue(k, 0xfa, false);
		break;
	default:
		kbd_queue(k, 0xfe, false);
		break;
	}
}

static void kbd_data_write(struct kbd *k, uint8_t value)
{
	uint8_t cmd = k->pending_cmd;

	k->status &= (uint8_t)~ST_A2;
	k->pending_cmd = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->ram[cmd - 0x60] = value;
		if (cmd == 0x60) {
			k->status = (uint8_t)((k->status & ~ST_SYS) | (value & CB_SYS));
		}
		return;
	}
	switch (cmd) {
	case 0xd1:
		kbd_set_outport(k, value);
		break;
	case 0xd2:
		kbd_queue(k, value, false);
		break;
	case 0xd3:
		kbd_queue(k, value, true);
		break;
	case 0xd4:
		k->host->log(k->h, VDEV_LOG_DEBUG, "byte 0x%02x for the mouse: none attached",
			     value);
		break;
	default:
		kbd_device_write(k, value);
		break;
	}
}

static void kbd_command(struct kbd *k, uint8_t cmd)
{
	k->status |= ST_A2;
	k->pending_cmd = 0;
	if (cmd >= 0x20 && cmd <= 0x3f) {
		kbd_queue(k, k->ram[cmd - 0x20], false);
		return;
	}
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->pending_cmd = cmd;
		return;
	}
	if (cmd >= 0xf0) {
		/* Pulse the output port bits whose mask bit is 0; bit 0 resets. */
		if (!(cmd & 0x01))
			kbd_cpu_reset(k, "command 0xfe");
		return;
	}
	switch (cmd) {
	case 0xa7:
		k->ram[0] |= CB_AUX_OFF;
		break;
	case 0xa8:
		k->ram[0] &= (uint8_t)~CB_AUX_OFF;
		break;
	case 0xa9: /* mouse interface test: no error */
	case 0xab: /* keyboard interface test: no error */
		kbd_queue(k, 0x00, false);
		break;
	case 0xaa: /* self test passed; the system flag goes up */
		k->status |= ST_SYS;
		kbd_queue(k, 0x55, false);
		break;
	case 0xad:
		k->ram[0] |= CB_KBD_OFF;
		break;
	case 0xae:
		k->ram[0] &= (uint8_t)~CB_KBD_OFF;
		break;
	case 0xc0: /* input port: keyboard not inhibited */
		kbd_queue(k, 0x80, false);
		break;
	case 0xd0:
		kbd_queue(k, k->outport, false);
		break;
	case 0xd1:
	case 0xd2:
	case 0xd3:
	case 0xd4:
		k->pending_cmd = cmd;
		break;
	case 0xdd:
		k->outport &= (uint8_t)~OP_A20;
		break;
	case 0xdf:
		k->outport |= OP_A20;
		break;
	case 0xe0: /* test inputs: clock and data low */
		kbd_queue(k, 0x00, false);
		break;
	default:
		k->host->log(k->h, VDEV_LOG_DEBUG, "unsupported controller command 0x%02x", cmd);
		break;
	}
}

static uint8_t kbd_status(const struct kbd *k)
{
	uint8_t v = (uint8_t)((k->status & (ST_SYS | ST_A2)) | ST_INH);

	if (k->obf)
		v |= ST_OBF;
	if (k->obf && k->obf_aux)
		v |= ST_AUXB;
	return v;
}

static int kbd_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct kbd *k = dev;

	if (a->region == REGION_CMD) {
		*value = kbd_status(k);
	} else {
		*value = k->out; /* with OBF clear, the last byte again */
		k->obf = 0;
		/* The line drops with OBF before the next byte arrives, so an
		 * edge-triggered controller sees every byte. */
		kbd_lines(k);
	}
	kbd_update(k);
	return 0;
}

static int kbd_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct kbd *k = dev;

	if (a->region == REGION_CMD)
		kbd_command(k, (uint8_t)value);
	else
		kbd_data_write(k, (uint8_t)value);
	kbd_update(k);
	return 0;
}

/* Power-on: command byte with both interrupts on, A20 on, buffers empty. */
static void kbd_reset(void *dev)
{
	struct kbd *k = dev;

	memset(k->ram, 0, sizeof(k->ram));
	k->ram[0] = CB_KBD_INT | CB_AUX_INT;
	k->status = 0;
	k->outport = OP_RESET | OP_A20;
	k->pending_cmd = k->pending_kbd = 0;
	k->obf = k->obf_aux = k->out = 0;
	k->head = k->count = 0;
	k->reset_requested = 0;
	kbd_update(k);
}

static int kbd_claim(const struct vdev_host *host, vdev_host_t *h, enum vdev_space space,
		     uint64_t base, uint32_t id)
{
	int rc = host->region_add(h, space, base, 1, id);

	if (rc < 0)
		host->log(h, VDEV_LOG_ERROR, "cannot claim %s 0x%llx: %d",
			  space == VDEV_SPACE_PIO ? "io" : "mem", (unsigned long long)base, rc);
	return rc;
}

static int kbd_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **devp)
{
	enum vdev_space space = VDEV_SPACE_PIO, cspace = VDEV_SPACE_PIO;
	uint64_t base = 0x60, cbase;
	struct kbd *k;
	int rc;

	if (cfg->loc_count > 2 || cfg->intr_count > 2) {
		host->log(h, VDEV_LOG_ERROR,
			  "takes up to two loc (data, command) and two intr (keyboard, mouse)");
		return -EINVAL;
	}
	for (unsigned i = 0; i < cfg->loc_count; i++) {
		if (cfg->locs[i].kind != VDEV_LOC_ADDR ||
		    (cfg->locs[i].length && cfg->locs[i].length != 1)) {
			host->log(h, VDEV_LOG_ERROR, "loc %u must be one port", i + 1);
			return -EINVAL;
		}
	}
	if (cfg->loc_count >= 1) {
		space = cfg->locs[0].space;
		base = cfg->locs[0].base;
	}
	cspace = space;
	cbase = base + 4; /* the status/command port sits 4 above the data port */
	if (cfg->loc_count == 2) {
		cspace = cfg->locs[1].space;
		cbase = cfg->locs[1].base;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->host = host;
	k->h = h;
	k->reset_action = cfg->options[OPT_RESET_ACTION].v.e;
	for (unsigned i = 0; i < cfg->intr_count; i++) {
		rc = host->intr_lookup(h, cfg->intrs[i], i ? &k->irq12 : &k->irq1);
		if (rc < 0) {
			host->log(h, VDEV_LOG_ERROR, "cannot find interrupt line %s: %d",
				  cfg->intrs[i], rc);
			goto fail;
		}
	}
	rc = kbd_claim(host, h, space, base, REGION_DATA);
	if (rc == 0)
		rc = kbd_claim(host, h, cspace, cbase, REGION_CMD);
	if (rc < 0)
		goto fail;
	kbd_reset(k);
	*devp = k;
	return 0;
fail:
	free(k);
	return rc;
}

static void kbd_destroy(void *dev)
{
	free(dev);
}

static void kbd_state(struct vdev_state *st, struct kbd *k)
{
	uint8_t *bytes[] = {
	    &k->status,	 &k->outport, &k->pending_cmd, &k->pending_kbd, &k->obf,
	    &k->obf_aux, &k->out,     &k->head,	       &k->count,	&k->reset_requested,
	};

	vdev_state_bytes(st, k->ram, sizeof(k->ram));
	vdev_state_bytes(st, k->queue, sizeof(k->queue));
	vdev_state_bytes(st, k->queue_aux, sizeof(k->queue_aux));
	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++)
		vdev_state_u8(st, bytes[i]);
	if (!vdev_state_restoring(st))
		return;
	if ((k->status & ~(ST_SYS | ST_A2)) || k->obf > 1 || k->obf_aux > 1 ||
	    k->head >= KBD_QUEUE || k->count > KBD_QUEUE || k->reset_requested > 1)
		vdev_state_invalid(st);
	for (unsigned i = 0; i < KBD_QUEUE; i++)
		if (k->queue_aux[i] > 1)
			vdev_state_invalid(st);
}

static ssize_t kbd_save(void *dev, void *buf, size_t cap)
{
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, KBD_NAME, KBD_STATE_VERSION);
	kbd_state(&st, dev);
	return vdev_state_save_end(&st);
}

static int kbd_restore(void *dev, const void *buf, size_t length)
{
	struct kbd *k = dev, scratch = *k;
	struct vdev_state st;
	int rc;

	vdev_state_restore_begin(&st, buf, length, KBD_NAME, KBD_STATE_VERSION);
	kbd_state(&st, &scratch);
	rc = vdev_state_restore_end(&st);
	if (rc < 0)
		return rc;
	*k = scratch;
	kbd_update(k);
	return 0;
}

static int kbd_status_line(void *dev, char *buf, size_t cap)
{
	struct kbd *k = dev;

	return snprintf(buf, cap, "status %02x command byte %02x output port %02x a20 %s queued %u",
			kbd_status(k), k->ram[0], k->outport, k->outport & OP_A20 ? "on" : "off",
			k->count + k->obf);
}

static const struct vdev_ops kbd_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = kbd_create,
    .destroy = kbd_destroy,
    .read = kbd_read,
    .write = kbd_write,
    .reset = kbd_reset,
    .save = kbd_save,
    .restore = kbd_restore,
    .status = kbd_status_line,
};

static const struct vdev_descriptor kbd_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = KBD_NAME,
    .version = "1.0.0",
    .description = "8042 keyboard controller (A20, CPU reset, self tests, no keys)",
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(KBD_NAME) - 1) + VDEV_STATE_SIZE_BYTES(32) +
		  2 * VDEV_STATE_SIZE_BYTES(KBD_QUEUE) + 10 * VDEV_STATE_SIZE_U8,
    .options = kbd_options,
    .option_count = sizeof(kbd_options) / sizeof(kbd_options[0]),
    .ops = &kbd_ops,
};

VDEV_PLUGIN_ENTRY(kbd_descriptor)
