/*
 * devmodel/xl/xl_args.c: libxl's QEMU-style device-model argv -> vmconf
 * text (xl_args.h says what and why; docs/xen.md has the table of every
 * argument and what vdm does with it).
 *
 * QEMU option values are comma lists "first,key=value,..." where ",,"
 * is a literal comma; xl_opts_split reads them. Disks arrive either as one
 * -drive (if=ide/scsi) or as a -drive if=none with an id that a later
 * -device (ide-cd, ide-hd, scsi-hd) names; NICs as -device MODEL,netdev=ID
 * plus the -netdev with that id. So arguments are collected first and the
 * devices text is written at the end, in the order the drives and NICs
 * were given.
 */
#include "devmodel/xl/xl_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "devmodel/exitcode.h"

#define XL_MAX_OPTS   32
#define XL_MAX_DRIVES 16
#define XL_MAX_NICS   16

/* libxl's boot order when xl.cfg has no boot= (libxl_create.c) */
#define XL_BOOT_DEFAULT "cda"

/* Xen's default start of the MMIO hole below 4 GiB (HVM_BELOW_4G_MMIO_START). */
#define XL_LOWMEM_END 0xf0000000ull
/* Xen populates no RAM in the legacy VGA window 0xa0000-0xbffff. */
#define XL_VGA_START 0xa0000ull
#define XL_VGA_END   0xc0000ull

struct xl_opts {
	char *buf;
	const char *first; /* the leading element without '=' (driver, backend), or NULL */
	const char *key[XL_MAX_OPTS], *val[XL_MAX_OPTS];
	unsigned n;
};

struct xl_drive {
	const char *arg;
	char *file, *id, *ifc, *media, *format;
	bool readonly, cdrom, used;
	int index;
};

struct xl_nic {
	const char *arg, *netdev_arg;
	char *model, *id, *netdev, *mac, *ifname;
};

struct xl_state {
	FILE *log;
	unsigned errors;
	struct xl_args *out;
	struct xl_drive drives[XL_MAX_DRIVES];
	unsigned drive_count;
	struct xl_nic nics[XL_MAX_NICS];
	unsigned nic_count;
	struct {
		char *id, *ifname;
		const char *arg;
	} netdevs[XL_MAX_NICS];
	unsigned netdev_count;
	const char *boot_arg; /* the last -boot: it sets out->boot_order */
	bool boot_refused;    /* ... or was refused: no CMOS line then */
	const char *serials[XL_ARGS_MAX_SERIALS + 8];
	unsigned serial_args;
	unsigned long long below_4g;
	bool have_domid, have_m, oom;
	char **owned; /* every string xl_keep took, for xl_args_free */
	unsigned owned_count;
};

static void xl_say(struct xl_state *st, bool error, const char *opt, const char *arg,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void xl_say(struct xl_state *st, bool error, const char *opt, const char *arg,
		   const char *fmt, ...)
{
	va_list ap;

	fprintf(st->log, "vdm: xl-dm: %s%s%s%s: ", error ? "error: " : "note: ", opt,
		arg ? " " : "", arg ? arg : "");
	va_start(ap, fmt);
	vfprintf(st->log, fmt, ap);
	va_end(ap);
	fputc('\n', st->log);
	if (error)
		st->errors++;
}

#define xl_refuse(st, opt, arg, ...) xl_say(st, true, opt, arg, __VA_ARGS__)
#define xl_note(st, opt, arg, ...)   xl_say(st, false, opt, arg, __VA_ARGS__)

/* A heap string freed with the state's output (xl_args_free). */
static char *xl_keep(struct xl_state *st, char *s)
{
	char **grown = s ? realloc(st->owned, (st->owned_count + 2) * sizeof(char *)) : NULL;

	if (!grown) {
		st->oom = true;
		free(s);
		return NULL;
	}
	st->owned = grown;
	st->owned[st->owned_count++] = s;
	st->owned[st->owned_count] = NULL;
	return s;
}

/* ---------------------------------------------------------- option lists */

/* Split "first,k=v,k2=v2" (",," is a comma) in a private copy. */
static int xl_opts_split(const char *text, struct xl_opts *o)
{
	char *w, *r;
	bool at_start = true;

	memset(o, 0, sizeof(*o));
	o->buf = malloc(strlen(text) + 2);
	if (!o->buf)
		return -ENOMEM;
	w = o->buf;
	r = (char *)text;
	for (;;) {
		char *elem = w;

		while (*r && !(*r == ',' && r[1] != ',')) {
			if (*r == ',')
				r++; /* ",," */
			*w++ = *r++;
		}
		*w++ = '\0';
		{
			char *eq = strchr(elem, '=');

			if (!eq && at_start) {
				o->first = elem;
			} else if (o->n < XL_MAX_OPTS) {
				if (eq)
					*eq = '\0';
				o->key[o->n] = elem;
				o->val[o->n] = eq ? eq + 1 : "";
				o->n++;
			} else {
				return -E2BIG;
			}
		}
		at_start = false;
		if (!*r)
			break;
		r++;
	}
	return 0;
}

static const char *xl_opts_get(const struct xl_opts *o, const char *key)
{
	for (unsigned i = o->n; i-- > 0;)
		if (strcmp(o->key[i], key) == 0)
			return o->val[i];
	return NULL;
}

/* A QEMU boolean option that is given and on ("readonly", "readonly=on"). */
static bool xl_is_on(const char *v)
{
	return v && (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !*v);
}

static char *xl_dup(struct xl_state *st, const char *s)
{
	return s ? xl_keep(st, strdup(s)) : NULL;
}

/* ------------------------------------------------------------ arguments */

static void xl_chardev(struct xl_state *st, const char *arg)
{
	struct xl_opts o;
	const char *id, *path, *fd;

	if (xl_opts_split(arg, &o) < 0) {
		xl_refuse(st, "-chardev", arg, "too many options");
		free(o.buf);
		return;
	}
	id = xl_opts_get(&o, "id");
	path = xl_opts_get(&o, "path");
	fd = xl_opts_get(&o, "fd");
	if (!o.first || strcmp(o.first, "socket") || !id ||
	    (strcmp(id, "libxl-cmd") && strcmp(id, "libxenstat-cmd"))) {
		xl_refuse(st, "-chardev", arg,
			  "vdm serves only libxl's QMP sockets (id=libxl-cmd, libxenstat-cmd); "
			  "remove the guest's `channel` entries from its xl.cfg");
	} else if (!xl_is_on(xl_opts_get(&o, "server"))) {
		xl_refuse(st, "-chardev", arg, "expected server=on: libxl connects to vdm");
	} else if (!strcmp(id, "libxl-cmd") && fd) {
		char *end;
		long n = strtol(fd, &end, 10);

		if (*end || n < 0 || n > 65535)
			xl_refuse(st, "-chardev", arg, "fd=%s is not a descriptor number", fd);
		else
			st->out->qmp_fd = (int)n;
	} else if (!path || !*path) {
		xl_refuse(st, "-chardev", arg, "expected path= or fd=");
	} else if (!strcmp(id, "libxl-cmd")) {
		st->out->qmp_path = xl_dup(st, path);
	} else {
		st->out->xenstat_path = xl_dup(st, path);
	}
	free(o.buf);
}

static void xl_mon(struct xl_state *st, const char *arg)
{
	struct xl_opts o;
	const char *dev, *mode;

	if (xl_opts_split(arg, &o) < 0) {
		free(o.buf);
		xl_refuse(st, "-mon", arg, "too many options");
		return;
	}
	dev = xl_opts_get(&o, "chardev");
	mode = xl_opts_get(&o, "mode");
	if (!dev || (strcmp(dev, "libxl-cmd") && strcmp(dev, "libxenstat-cmd")) ||
	    (mode && strcmp(mode, "control")))
		xl_refuse(st, "-mon", arg,
			  "vdm's only monitors are libxl's QMP sockets (mode=control)");
	free(o.buf);
}

static void xl_drive(struct xl_state *st, const char *arg)
{
	struct xl_opts o;
	struct xl_drive *d;
	const char *v;

	if (st->drive_count >= XL_MAX_DRIVES) {
		xl_refuse(st, "-drive", arg, "more than %d disks", XL_MAX_DRIVES);
		return;
	}
	if (xl_opts_split(arg, &o) < 0) {
		free(o.buf);
		xl_refuse(st, "-drive", arg, "too many options");
		return;
	}
	d = &st->drives[st->drive_count++];
	memset(d, 0, sizeof(*d));
	d->arg = arg;
	d->index = -1;
	d->file = xl_dup(st, xl_opts_get(&o, "file"));
	d->id = xl_dup(st, xl_opts_get(&o, "id"));
	d->ifc = xl_dup(st, (v = xl_opts_get(&o, "if")) ? v : "ide");
	d->media = xl_dup(st, (v = xl_opts_get(&o, "media")) ? v : "disk");
	d->format = xl_dup(st, xl_opts_get(&o, "format"));
	d->readonly = xl_is_on(xl_opts_get(&o, "readonly"));
	d->cdrom = d->media && !strcmp(d->media, "cdrom");
	if ((v = xl_opts_get(&o, "index")))
		d->index = atoi(v);
	if (xl_opts_get(&o, "driver"))
		xl_refuse(st, "-drive", arg, "COLO/quorum drives are not served by vdm");
	if (d->format && strcmp(d->format, "raw") && strcmp(d->format, "host_device"))
		xl_refuse(st, "-drive", arg,
			  "vdm's virtio-blk serves raw images and block devices only, not "
			  "format=%s; convert it (qemu-img convert -O raw) and set format=raw in "
			  "the disk spec",
			  d->format);
	if (d->ifc && strcmp(d->ifc, "ide") && strcmp(d->ifc, "none") && strcmp(d->ifc, "scsi"))
		xl_refuse(st, "-drive", arg, "if=%s is not a disk interface libxl uses", d->ifc);
	free(o.buf);
}

/* A -device naming its drive (drive=ID): the drive is a disk or a cdrom. */
static void xl_device_drive(struct xl_state *st, const char *arg, const struct xl_opts *o)
{
	const char *drive = xl_opts_get(o, "drive");

	if (!drive) {
		xl_refuse(st, "-device", arg, "expected drive=ID");
		return;
	}
	for (unsigned i = 0; i < st->drive_count; i++) {
		struct xl_drive *d = &st->drives[i];

		if (d->id && !strcmp(d->id, drive)) {
			d->used = true;
			if (!strcmp(o->first, "ide-cd")) {
				d->cdrom = true;
				d->readonly = true;
			}
			return;
		}
	}
	xl_refuse(st, "-device", arg, "no -drive with id=%s before it", drive);
}

static bool xl_is_nic_model(const char *m)
{
	static const char *const models[] = {"rtl8139",	   "e1000",    "e1000e",  "virtio-net-pci",
					     "virtio-net", "ne2k_pci", "pcnet",	  "i82551",
					     "i82557b",	   "i82559er", "vmxnet3", NULL};

	for (const char *const *p = models; *p; p++)
		if (!strcmp(m, *p))
			return true;
	return false;
}

static void xl_device(struct xl_state *st, const char *arg)
{
	struct xl_opts o;
	const char *m;

	if (xl_opts_split(arg, &o) < 0 || !o.first) {
		xl_refuse(st, "-device", arg, "expected DRIVER,options");
		free(o.buf);
		return;
	}
	m = o.first;
	if (!strcmp(m, "ide-cd") || !strcmp(m, "ide-hd") || !strcmp(m, "scsi-hd")) {
		xl_device_drive(st, arg, &o);
	} else if (!strcmp(m, "ahci") || !strcmp(m, "lsi53c895a")) {
		xl_note(st, "-device", arg,
			"ignored: vdm serves every disk as virtio-blk, without an IDE/SCSI/AHCI "
			"controller");
	} else if (!strcmp(m, "VGA") || !strcmp(m, "cirrus-vga") || !strcmp(m, "qxl-vga") ||
		   !strcmp(m, "qxl")) {
		xl_refuse(st, "-device", arg,
			  "vdm emulates no graphics card: set vga=\"none\" in the guest's xl.cfg "
			  "(and use serial=\"pty\" for a console)");
	} else if (!strncmp(m, "usb", 3) || strstr(m, "-usb-") || !strcmp(m, "nec-usb-xhci")) {
		xl_refuse(st, "-device", arg,
			  "vdm has no USB: remove usb=, usbdevice=, usbctrl and usbdev from the "
			  "guest's xl.cfg");
	} else if (!strcmp(m, "intel-hda") || !strcmp(m, "hda-duplex") || !strcmp(m, "AC97") ||
		   !strcmp(m, "sb16") || !strcmp(m, "es1370")) {
		xl_refuse(st, "-device", arg,
			  "vdm has no sound card: remove soundhw= from the guest's xl.cfg");
	} else if (!strcmp(m, "xen-pvdevice")) {
		xl_refuse(
		    st, "-device", arg,
		    "vdm has no XenServer vendor device: remove xen_platform_pci/vendor_device "
		    "settings from the guest's xl.cfg");
	} else if (xl_opts_get(&o, "netdev")) {
		struct xl_nic *n;

		if (st->nic_count >= XL_MAX_NICS) {
			xl_refuse(st, "-device", arg, "more than %d NICs", XL_MAX_NICS);
		} else {
			n = &st->nics[st->nic_count++];
			memset(n, 0, sizeof(*n));
			n->arg = arg;
			n->model = xl_dup(st, m);
			n->id = xl_dup(st, xl_opts_get(&o, "id"));
			n->netdev = xl_dup(st, xl_opts_get(&o, "netdev"));
			n->mac = xl_dup(st, xl_opts_get(&o, "mac"));
			if (!xl_is_nic_model(m))
				xl_refuse(st, "-device", arg, "unknown NIC model %s", m);
		}
	} else {
		xl_refuse(st, "-device", arg, "vdm cannot serve the device %s", m);
	}
	free(o.buf);
}

static void xl_netdev(struct xl_state *st, const char *arg)
{
	struct xl_opts o;
	const char *type, *id;

	if (xl_opts_split(arg, &o) < 0) {
		free(o.buf);
		xl_refuse(st, "-netdev", arg, "too many options");
		return;
	}
	type = xl_opts_get(&o, "type");
	if (!type)
		type = o.first;
	id = xl_opts_get(&o, "id");
	if (!type || strcmp(type, "tap") || !id) {
		xl_refuse(st, "-netdev", arg, "vdm's virtio-net serves tap devices only");
	} else if (st->netdev_count >= XL_MAX_NICS) {
		xl_refuse(st, "-netdev", arg, "more than %d NICs", XL_MAX_NICS);
	} else {
		st->netdevs[st->netdev_count].id = xl_dup(st, id);
		st->netdevs[st->netdev_count].ifname = xl_dup(st, xl_opts_get(&o, "ifname"));
		st->netdevs[st->netdev_count].arg = arg;
		st->netdev_count++;
	}
	free(o.buf);
}

static void xl_machine(struct xl_state *st, const char *arg)
{
	struct xl_opts o;
	const char *v;

	if (xl_opts_split(arg, &o) < 0) {
		free(o.buf);
		xl_refuse(st, "-machine", arg, "too many options");
		return;
	}
	v = o.first ? o.first : xl_opts_get(&o, "type");
	if (!v || (strcmp(v, "xenfv") && strcmp(v, "pc"))) {
		xl_refuse(st, "-machine", arg, "expected xenfv or pc,accel=xen (an x86 HVM guest)");
	} else if (!strcmp(v, "pc") && (!(v = xl_opts_get(&o, "accel")) || strcmp(v, "xen"))) {
		xl_refuse(st, "-machine", arg, "expected accel=xen");
	} else if (!strcmp(v, "xenfv")) {
		/* QEMU's xenfv adds the Xen platform device; vdm's platform does not */
		xl_note(st, "-machine", arg,
			"no Xen platform device (PV drivers) unless a -vdm-config adds `vdev "
			"xen-platform` (docs/xen.md, \"Disks, twice\")");
	}
	if (xl_is_on(xl_opts_get(&o, "igd-passthru")))
		xl_refuse(st, "-machine", arg, "vdm does not pass graphics through (gfx_passthru)");
	if ((v = xl_opts_get(&o, "max-ram-below-4g"))) {
		uint64_t n;

		if (conf_number_parse(v, CONF_NUM_MULTIPLIERS, &n, NULL) < 0 || n > XL_LOWMEM_END ||
		    n < (1u << 20) || (n & 0xfff))
			xl_refuse(st, "-machine", arg,
				  "max-ram-below-4g=%s is not a page-aligned "
				  "size of 1M..0xf0000000",
				  v);
		else
			st->below_4g = n;
	}
	free(o.buf);
}

/*
 * -boot order=X (xl.cfg boot=, libxl's default "cda"): the boot order in
 * CMOS that SeaBIOS reads (mc146818 boot-order), under QEMU's rules for a
 * PC (hw/i386/pc.c set_boot_dev, softmmu/bootdevice.c
 * validate_bootdevices): up to three of a, b (floppy), c (disk), d
 * (CD-ROM), n (network), none twice. QEMU's old form "-boot cd" is the
 * order too.
 */
static void xl_boot(struct xl_state *st, const char *arg)
{
	struct xl_opts o;
	const char *order;
	unsigned seen = 0;
	bool bad = false;

	if (xl_opts_split(arg, &o) < 0) {
		free(o.buf);
		xl_refuse(st, "-boot", arg, "too many options");
		return;
	}
	order = xl_opts_get(&o, "order");
	if (!order)
		order = o.first;
	for (unsigned i = 0; i < o.n; i++)
		if (strcmp(o.key[i], "order"))
			xl_note(st, "-boot", arg,
				"ignored: %s= (vdm gives SeaBIOS one boot order and no menu)",
				o.key[i]);
	if (!order || !*order) {
		xl_refuse(st, "-boot", arg, "expected order=LETTERS (xl.cfg boot=)");
		bad = true;
	} else if (strlen(order) > 3) {
		xl_refuse(st, "-boot", arg,
			  "a PC's CMOS holds at most three boot devices: give boot= at most three "
			  "letters in the guest's xl.cfg");
		bad = true;
	}
	for (const char *c = order; !bad && *c; c++) {
		if (!strchr("abcdn", *c)) {
			xl_refuse(st, "-boot", arg,
				  "'%c' is not a PC boot device; boot= in the guest's xl.cfg takes "
				  "c (disk), d (CD-ROM), n (network), a (floppy)",
				  *c);
			bad = true;
		} else if (seen & (1u << (*c - 'a'))) {
			xl_refuse(st, "-boot", arg, "boot device '%c' given twice", *c);
			bad = true;
		} else {
			seen |= 1u << (*c - 'a'); /* only for a letter of "abcdn" */
		}
	}
	st->boot_arg = arg;
	st->boot_refused = bad;
	st->out->boot_order = bad ? NULL : xl_dup(st, order);
	free(o.buf);
}

static void xl_serial(struct xl_state *st, const char *arg)
{
	if (st->serial_args >= sizeof(st->serials) / sizeof(st->serials[0])) {
		xl_refuse(st, "-serial", arg, "too many serial ports");
		return;
	}
	st->serials[st->serial_args++] = arg;
}

static void xl_vdm_dir(struct xl_state *st, const char *opt, const char *arg, const char **list,
		       unsigned *count, unsigned max)
{
	if (*count >= max)
		xl_refuse(st, opt, arg, "given more than %u times", max);
	else
		list[(*count)++] = arg;
}

/* ------------------------------------------------------------ the texts */

/* A word of vmconf: as is when plain, else quoted with the language's two escapes. */
static void xl_word(FILE *f, const char *s)
{
	if (*s && *s != '#' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_./:<>+=,-") == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* The comment ending a generated line: the argument it came from. */
static void xl_origin(FILE *f, const char *opt, const char *arg)
{
	fprintf(f, "\t# %s ", opt);
	for (const char *s = arg; s && *s; s++)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	fputc('\n', f);
}

/*
 * Text the language would substitute ($env{...}) cannot be quoted away, and
 * a control character (a newline in a file name) would not read back the
 * same: such a value is refused rather than changed.
 */
static bool xl_plain(struct xl_state *st, const char *opt, const char *arg, const char *s)
{
	if (s && (strstr(s, "$env{") || strstr(s, "$asinfo_"))) {
		xl_refuse(st, opt, arg, "a path containing '$env{' or '$asinfo_' cannot be served");
		return false;
	}
	for (const char *c = s; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			xl_refuse(st, opt, arg, "a path with a control character cannot be served");
			return false;
		}
	return true;
}

static void xl_write_ram(struct xl_state *st, FILE *f, const char *marg)
{
	uint64_t total = (uint64_t)st->out->ram_mib << 20;
	uint64_t low = st->below_4g ? st->below_4g : XL_LOWMEM_END;

	if (total <= XL_VGA_END) {
		xl_refuse(st, "-m", marg, "a guest needs more than 768 KiB of RAM");
		return;
	}
	if (low > total)
		low = total;
	fprintf(f, "ram 0,0x%llx", (unsigned long long)XL_VGA_START);
	xl_origin(f, "-m", marg);
	fprintf(f, "ram 0x%llx,0x%llx", (unsigned long long)XL_VGA_END,
		(unsigned long long)(low - XL_VGA_END));
	xl_origin(f, "-m", marg);
	if (total > low) {
		fprintf(f, "ram 0x100000000,0x%llx", (unsigned long long)(total - low));
		xl_origin(f, "-m", marg);
	}
}

/*
 * The CMOS RAM with the boot order: here rather than in the platform
 * fragment, because only libxl's argv knows the order. Notes say where a
 * letter finds nothing to boot among vdm's devices.
 */
static void xl_write_cmos(struct xl_state *st, FILE *f)
{
	const char *order = st->out->boot_order ? st->out->boot_order : XL_BOOT_DEFAULT;
	bool cdrom = false;

	if (st->boot_refused)
		return; /* not libxl's default in its place: nothing starts anyway */
	for (unsigned i = 0; i < st->drive_count; i++)
		cdrom |= st->drives[i].cdrom && st->drives[i].file && *st->drives[i].file;
	if (cdrom && strchr(order, 'd'))
		xl_note(st, "-boot", st->boot_arg,
			"vdm serves a cdrom as a virtio-blk disk, which SeaBIOS ranks with the "
			"hard disks (c), in drive order, not as a CD-ROM (d)");
	if (strchr(order, 'n'))
		xl_note(st, "-boot", st->boot_arg,
			"n: vdm's NICs carry no boot ROM, so SeaBIOS finds no network device to "
			"boot from");
	fprintf(f, "vdev mc146818 boot-order ");
	xl_word(f, order);
	if (st->boot_arg)
		xl_origin(f, "-boot", st->boot_arg);
	else
		xl_origin(f, "-boot", "(none given: libxl's default order=" XL_BOOT_DEFAULT ")");
}

static void xl_write_serials(struct xl_state *st, FILE *f)
{
	static const struct {
		unsigned port, irq;
	} com[XL_ARGS_MAX_SERIALS] = {{0x3f8, 4}, {0x2f8, 3}};

	for (unsigned i = 0; i < st->serial_args; i++) {
		const char *s = st->serials[i];
		const char *hostdev = NULL;
		char buf[4200];

		if (!strcmp(s, "none") || !strcmp(s, "null"))
			continue;
		if (!strcmp(s, "pty")) {
			hostdev = "pty";
		} else if (!strncmp(s, "file:", 5) && s[5]) {
			snprintf(buf, sizeof(buf), ">%s%s", s[5] == '/' ? "" : "./", s + 5);
			hostdev = buf;
		} else if (!strncmp(s, "unix:", 5) && s[5] && !strchr(s, ',')) {
			hostdev = s;
		} else if (s[0] == '/') {
			hostdev = s;
		} else {
			xl_refuse(st, "-serial", s,
				  "vdm's UART serves pty, none, file:PATH, unix:PATH or a device "
				  "path; use serial=\"pty\" in the guest's xl.cfg");
			continue;
		}
		if (st->out->serial_count >= XL_ARGS_MAX_SERIALS) {
			xl_refuse(st, "-serial", s, "vdm serves at most %d UARTs (COM1, COM2)",
				  XL_ARGS_MAX_SERIALS);
			continue;
		}
		if (!xl_plain(st, "-serial", s, hostdev))
			continue;
		fprintf(f, "vdev ser8250 loc io:0x%x intr isa:%u name serial%u hostdev ",
			com[st->out->serial_count].port, com[st->out->serial_count].irq,
			st->out->serial_count);
		xl_word(f, hostdev);
		xl_origin(f, "-serial", s);
		st->out->serial_count++;
	}
}

static void xl_write_disks(struct xl_state *st, FILE *f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < st->drive_count; i++) {
		struct xl_drive *d = &st->drives[i];
		char path[4200];

		if (d->ifc && !strcmp(d->ifc, "none") && !d->used) {
			xl_refuse(st, "-drive", d->arg, "no -device names this drive (id=%s)",
				  d->id ? d->id : "");
			continue;
		}
		if (!d->file || !*d->file) {
			xl_note(st, "-drive", d->arg,
				"an empty cdrom drive: no medium, nothing served (cd-insert is not "
				"supported)");
			continue;
		}
		if (!xl_plain(st, "-drive", d->arg, d->file))
			continue;
		/* hostdev's own prefixes (< read-only, > write-only) must not be read
		 * into a relative path's first character */
		snprintf(path, sizeof(path), "%s%s%s", d->readonly || d->cdrom ? "<" : "",
			 d->file[0] == '/' ? "" : "./", d->file);
		fprintf(f, "vdev virtio-blk name %s%u hostdev ", d->cdrom ? "cdrom" : "disk", n++);
		xl_word(f, path);
		xl_origin(f, "-drive", d->arg);
	}
}

static void xl_write_nics(struct xl_state *st, FILE *f)
{
	for (unsigned i = 0; i < st->nic_count; i++) {
		struct xl_nic *n = &st->nics[i];
		const char *ifname = NULL;

		for (unsigned k = 0; k < st->netdev_count; k++)
			if (n->netdev && !strcmp(st->netdevs[k].id, n->netdev)) {
				ifname = st->netdevs[k].ifname;
				n->netdev_arg = st->netdevs[k].arg;
			}
		if (!n->netdev_arg) {
			xl_refuse(st, "-device", n->arg, "no -netdev with id=%s",
				  n->netdev ? n->netdev : "");
			continue;
		}
		if (!ifname || !*ifname) {
			xl_refuse(st, "-netdev", n->netdev_arg,
				  "expected ifname= (the tap device)");
			continue;
		}
		if (strcmp(n->model, "virtio-net-pci") && strcmp(n->model, "virtio-net"))
			xl_note(st, "-device", n->arg,
				"the %s NIC is served as virtio-net (the guest needs a virtio-net "
				"driver; model=virtio-net in the vif spec says so)",
				n->model);
		if (!xl_plain(st, "-device", n->arg, n->mac) ||
		    !xl_plain(st, "-netdev", n->netdev_arg, ifname))
			continue;
		fprintf(f, "vdev virtio-net name nic%u", i);
		if (n->mac && *n->mac) {
			fprintf(f, " mac ");
			xl_word(f, n->mac);
		}
		fprintf(f, " tapdev ");
		xl_word(f, ifname);
		xl_origin(f, "-device", n->arg);
	}
}

/* ---------------------------------------------------------------- parse */

bool xl_args_detect(int argc, char *const *argv)
{
	return argc > 1 && (!strcmp(argv[1], "-xen-domid") || !strcmp(argv[1], "--xl-dm"));
}

/* Options with one value that vdm notes and ignores, and why. */
static const struct {
	const char *opt, *why;
} xl_ignored_value[] = {
    {"-k", "no display, so no keymap"},
    {"-chroot", "vdm does not chroot itself (dm_restrict: it restricts its Xen handles and "
		"drops to -runas); run it from a confined unit instead"},
    {"-display", NULL}, /* only "none": checked below */
};

static const struct {
	const char *opt, *why;
} xl_ignored_flag[] = {
    {"-nodefaults", NULL},
    {"-no-user-config", NULL},
    {"-nographic", NULL},
    {"-no-acpi", "ACPI tables are hvmloader's; vdm's PM device stays"},
};

static const struct {
	const char *opt, *why;
} xl_refused_value[] = {
    {"-spice", "vdm has no display: remove spice= from the guest's xl.cfg"},
    {"-usbdevice", "vdm has no USB: remove usbdevice= from the guest's xl.cfg"},
    {"-soundhw", "vdm has no sound card: remove soundhw= from the guest's xl.cfg"},
    {"-kernel", "vdm does not load HVM kernels itself: boot from a disk, or use type=\"pvh\""},
    {"-initrd", "vdm does not load HVM kernels itself: boot from a disk, or use type=\"pvh\""},
    {"-append", "vdm does not load HVM kernels itself: boot from a disk, or use type=\"pvh\""},
};

static void xl_one(struct xl_state *st, const char *a, const char *v)
{
	struct xl_args *out = st->out;

	if (!strcmp(a, "-xen-domid")) {
		uint64_t n;

		if (conf_number_parse(v, 0, &n, NULL) < 0 || n > 0x7fef)
			xl_refuse(st, a, v, "expected a domain id (0..32751)");
		else
			out->domid = (int)n;
		st->have_domid = true;
	} else if (!strcmp(a, "-smp")) {
		/* the vCPUs are Xen's and vdm serves every one; the online count is
		 * what query-cpus-fast reports back to libxl */
		char *end;
		unsigned long n = strtoul(v, &end, 10);

		if (n == 0 || n > 4096 || (*end && *end != ','))
			xl_refuse(st, a, v, "expected N[,maxcpus=M]");
		else
			out->vcpus = (unsigned)n;
	} else if (!strcmp(a, "-name")) {
		out->name = v;
	} else if (!strcmp(a, "-chardev")) {
		xl_chardev(st, v);
	} else if (!strcmp(a, "-mon")) {
		xl_mon(st, v);
	} else if (!strcmp(a, "-vnc")) {
		if (strcmp(v, "none"))
			xl_refuse(st, a, v,
				  "vdm has no display: set vnc=0 in the guest's xl.cfg (and "
				  "serial=\"pty\" for a console)");
	} else if (!strcmp(a, "-display") && strcmp(v, "none")) {
		xl_refuse(st, a, v, "vdm has no display: set sdl=0 in the guest's xl.cfg");
	} else if (!strcmp(a, "-serial")) {
		xl_serial(st, v);
	} else if (!strcmp(a, "-boot")) {
		xl_boot(st, v);
	} else if (!strcmp(a, "-device")) {
		xl_device(st, v);
	} else if (!strcmp(a, "-netdev")) {
		xl_netdev(st, v);
	} else if (!strcmp(a, "-net")) {
		if (strcmp(v, "none"))
			xl_refuse(st, a, v, "expected -net none (NICs come as -device/-netdev)");
	} else if (!strcmp(a, "-drive")) {
		xl_drive(st, v);
	} else if (!strcmp(a, "-machine") || !strcmp(a, "-M")) {
		xl_machine(st, v);
	} else if (!strcmp(a, "-m")) {
		uint64_t n;

		if (conf_number_parse(v, 0, &n, NULL) < 0 || n == 0 || n > (1ull << 24))
			xl_refuse(st, a, v, "expected the guest's RAM in MiB");
		else
			out->ram_mib = n;
		st->have_m = true;
	} else if (!strcmp(a, "-incoming")) {
		char *end;
		long n = strncmp(v, "fd:", 3) ? -1 : strtol(v + 3, &end, 10);

		if (n < 0 || *end || n > 65535)
			xl_refuse(st, a, v, "vdm restores from fd:N only (xl restore)");
		else
			out->incoming_fd = (int)n;
	} else if (!strcmp(a, "-runas")) {
		out->runas = v;
	} else if (!strcmp(a, "-vdm-config")) {
		xl_vdm_dir(st, a, v, out->configs, &out->config_count, XL_ARGS_MAX_CONFIGS);
	} else if (!strcmp(a, "-vdm-plugin-path")) {
		xl_vdm_dir(st, a, v, out->plugin_dirs, &out->plugin_dir_count, XL_ARGS_MAX_DIRS);
	} else {
		for (unsigned i = 0; i < sizeof(xl_ignored_value) / sizeof(xl_ignored_value[0]);
		     i++)
			if (!strcmp(a, xl_ignored_value[i].opt)) {
				if (xl_ignored_value[i].why)
					xl_note(st, a, v, "ignored: %s", xl_ignored_value[i].why);
				return;
			}
		for (unsigned i = 0; i < sizeof(xl_refused_value) / sizeof(xl_refused_value[0]);
		     i++)
			if (!strcmp(a, xl_refused_value[i].opt)) {
				xl_refuse(st, a, v, "%s", xl_refused_value[i].why);
				return;
			}
		xl_refuse(st, a, v, "unknown option (vdm's xl mode: docs/xen.md)");
	}
}

/* Does option `a` take a value? */
static bool xl_takes_value(const char *a)
{
	static const char *const flags[] = {"-S",
					    "-no-shutdown",
					    "-xen-domid-restrict",
					    "-usb",
					    "-vdm-print",
					    "-vdm-check",
					    "--xl-dm",
					    NULL};

	for (const char *const *f = flags; *f; f++)
		if (!strcmp(a, *f))
			return false;
	for (unsigned i = 0; i < sizeof(xl_ignored_flag) / sizeof(xl_ignored_flag[0]); i++)
		if (!strcmp(a, xl_ignored_flag[i].opt))
			return false;
	return true;
}

static int xl_texts(struct xl_state *st, const char *marg)
{
	struct xl_args *out = st->out;
	char *mt = NULL, *dt = NULL;
	size_t ml = 0, dl = 0;
	FILE *m = open_memstream(&mt, &ml), *d = m ? open_memstream(&dt, &dl) : NULL;

	if (!m || !d) {
		if (m)
			fclose(m);
		free(mt);
		return -ENOMEM;
	}
	fprintf(m, "# vdm's translation of the device-model command line libxl gave it\n"
		   "# (devmodel/xl/xl_args.c; `vdm --xl-dm ... -vdm-print` shows it)\n");
	if (out->name && !xl_plain(st, "-name", out->name, out->name))
		out->name = NULL;
	fprintf(m, "system ");
	if (out->name) {
		xl_word(m, out->name);
		xl_origin(m, "-name", out->name);
	} else {
		fprintf(m, "dom%d", out->domid);
		xl_origin(m, "-xen-domid", "(no -name)");
	}
	if (st->have_m)
		xl_write_ram(st, m, marg);
	fprintf(d, "# the guest's devices from libxl's -boot, -serial, -drive and -device\n");
	xl_write_cmos(st, d);
	xl_write_serials(st, d);
	xl_write_disks(st, d);
	xl_write_nics(st, d);
	fclose(m);
	fclose(d);
	out->machine_text = mt;
	out->devices_text = dt;
	return 0;
}

int xl_args_parse(int argc, char *const *argv, struct xl_args *out, FILE *log)
{
	struct xl_state *st = calloc(1, sizeof(*st));
	const char *marg = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->domid = -1;
	out->vcpus = 1;
	out->qmp_fd = -1;
	out->incoming_fd = -1;
	if (!st)
		return VDM_EXIT_FATAL_START;
	st->log = log;
	st->out = out;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--xl-dm")) {
			continue;
		} else if (!strcmp(a, "-S")) {
			out->start_paused = true;
		} else if (!strcmp(a, "-no-shutdown")) {
			out->no_shutdown = true;
		} else if (!strcmp(a, "-xen-domid-restrict")) {
			out->restrict_xen = true;
		} else if (!strcmp(a, "-vdm-print")) {
			out->print_only = true;
		} else if (!strcmp(a, "-vdm-check")) {
			out->check_only = true;
		} else if (!strcmp(a, "-usb")) {
			xl_refuse(st, a, NULL,
				  "vdm has no USB: remove usb= and usbdevice= from the guest's "
				  "xl.cfg");
		} else if (a[0] != '-' || !xl_takes_value(a)) {
			bool known = false;

			for (unsigned k = 0;
			     k < sizeof(xl_ignored_flag) / sizeof(xl_ignored_flag[0]); k++)
				if (!strcmp(a, xl_ignored_flag[k].opt)) {
					known = true;
					if (xl_ignored_flag[k].why)
						xl_note(st, a, NULL, "ignored: %s",
							xl_ignored_flag[k].why);
				}
			if (!known)
				xl_refuse(st, a, NULL, "unexpected word (options start with '-')");
		} else if (i + 1 >= argc) {
			xl_refuse(st, a, NULL, "needs a value");
		} else {
			if (!strcmp(a, "-m"))
				marg = argv[i + 1];
			xl_one(st, a, argv[++i]);
		}
	}
	if (!st->have_domid)
		xl_refuse(st, "-xen-domid", NULL, "missing: libxl always gives the domain");
	if (!out->qmp_path && out->qmp_fd < 0 && !out->print_only && !out->check_only)
		xl_refuse(st, "-chardev", NULL,
			  "missing the QMP socket (socket,id=libxl-cmd,path=...,server=on)");
	if (xl_texts(st, marg ? marg : "") < 0 || st->oom)
		rc = VDM_EXIT_FATAL_START;
	else if (st->errors)
		rc = VDM_EXIT_CONFIG;
	if (st->errors)
		fprintf(log,
			"vdm: xl-dm: %u argument%s refused; the guest's device model did "
			"not start (docs/xen.md: \"vdm as the HVM device model\")\n",
			st->errors, st->errors == 1 ? "" : "s");
	/* the strings stay with out; the state goes */
	out->owned = st->owned;
	free(st);
	return rc;
}

void xl_args_free(struct xl_args *a)
{
	if (!a)
		return;
	for (unsigned i = 0; a->owned && a->owned[i]; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->machine_text);
	free(a->devices_text);
	a->owned = NULL;
	a->machine_text = a->devices_text = NULL;
}
