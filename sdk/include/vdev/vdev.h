/*
 * vdev/vdev.h: the vdm plugin ABI, version 1.
 *
 * A virtual device is a shared object, vdev-NAME.so, that exports exactly one
 * symbol, vdev_plugin_entry (use VDEV_PLUGIN_ENTRY). It returns a const
 * descriptor: what the device is called, which options it takes, which
 * access sizes it accepts, and its ops table. The host (vdm, vdev-conform,
 * the SDK test host, your own tests) hands every instance a table of host
 * services and an opaque handle; a plugin links against nothing of the host.
 *
 * ABI rules
 *  - VDEV_ABI_MAJOR changes only when something existing changes meaning;
 *    a host refuses a plugin of another major, naming the file.
 *  - A minor bump only appends fields at the end of a struct. Every struct
 *    that can grow starts with (or carries) its size, so either side reads
 *    only the fields the other one knows.
 *
 * Threads (the contract vdev-conform checks)
 *  - create, destroy, reset, save, restore, fdt_node: the host's control
 *    thread, never concurrently with anything else on the same instance.
 *  - read, write: a vCPU thread. Several vCPUs may access one device; unless
 *    the descriptor sets VDEV_F_SELF_LOCKED, the host serialises every callback
 *    of one instance (read, write, timers, fd events, interrupt-controller
 *    ops) with a lock of its own, so plugin code needs no locking.
 *  - timer and fd callbacks: the host's event-loop thread.
 *  - No callback may block (no sleeping, no blocking I/O): a blocked callback
 *    stalls a vCPU or the whole event loop.
 *
 * Errors: functions return 0 (or a count) on success and a negative errno
 * value on failure, unless their comment says otherwise.
 *
 * The author's guide is sdk/README.md; "guide section N" below refers to it.
 */
#ifndef VDEV_VDEV_H
#define VDEV_VDEV_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VDEV_ABI_MAJOR 1
#define VDEV_ABI_MINOR 3

/* The one symbol a plugin exports, and its type. */
#define VDEV_ENTRY_SYMBOL "vdev_plugin_entry"
struct vdev_descriptor;
typedef const struct vdev_descriptor *vdev_entry_fn(void);

/*
 * VDEV_PLUGIN_ENTRY(desc): define the entry symbol returning &desc. Put it
 * once in a plugin, after the descriptor. Everything else in the plugin
 * stays hidden (build with -fvisibility=hidden; the SDK's make fragment and
 * pkg-config flags do).
 */
#define VDEV_PLUGIN_ENTRY(desc)                                                                    \
	__attribute__((visibility("default"))) const struct vdev_descriptor *vdev_plugin_entry(void); \
	__attribute__((visibility("default"))) const struct vdev_descriptor *vdev_plugin_entry(void)  \
	{                                                                                          \
		return &(desc);                                                                    \
	}

/* ------------------------------------------------------------------ spaces */

/* The address spaces a guest reaches a device through. */
enum vdev_space {
	VDEV_SPACE_MMIO = 0,   /* guest-physical memory addresses */
	VDEV_SPACE_PIO = 1,    /* x86 I/O ports, 0..0xffff */
	VDEV_SPACE_PCICFG = 2, /* PCI configuration space, see VDEV_PCICFG_ADDR */
};
#define VDEV_SPACE_COUNT 3

/*
 * A PCI configuration-space address: bus, device, function and register
 * offset packed like ECAM, so one function's 4 KiB of configuration space is
 * one region of length 0x1000 at VDEV_PCICFG_ADDR(bus, dev, fn, 0).
 */
#define VDEV_PCICFG_ADDR(bus, dev, fn, reg)                                                        \
	(((uint64_t)(bus) << 20) | ((uint64_t)(dev) << 15) | ((uint64_t)(fn) << 12) | (uint64_t)(reg))

/* ----------------------------------------------------------------- options */

enum vdev_option_type {
	VDEV_OPT_INT = 1, /* signed 64-bit, decimal or 0x hex, optional sign */
	VDEV_OPT_UINT,    /* unsigned 64-bit */
	VDEV_OPT_SIZE,    /* unsigned with K/M/G multipliers of 1024 */
	VDEV_OPT_ADDR,    /* unsigned 64-bit address, K/M/G allowed */
	VDEV_OPT_BOOL,    /* on/off, yes/no, true/false, 1/0; no argument = on with NOARG */
	VDEV_OPT_STRING,  /* any text */
	VDEV_OPT_ENUM,    /* one of .choices */
	VDEV_OPT_INTR,    /* "controller:line", resolved with host->intr_lookup */
	VDEV_OPT_LOC,     /* a location spec, like the common `loc` */
};

/* Option flags. */
#define VDEV_OPTF_REQUIRED (1u << 0) /* the config must give it */
#define VDEV_OPTF_REPEAT   (1u << 1) /* may be given several times; all values kept */
#define VDEV_OPTF_NOARG    (1u << 2) /* BOOL only: written alone (`legacy-free`) */
#define VDEV_OPTF_RANGE    (1u << 3) /* INT/UINT/SIZE/ADDR: check min <= value <= max */
#define VDEV_OPTF_ALL      0xfu

/*
 * One device-specific option. The common options (loc, intr, name, log) are
 * the host's and never appear here. Option names are lower case, [a-z0-9-].
 */
struct vdev_option_spec {
	const char *name;
	enum vdev_option_type type;
	uint32_t flags;               /* VDEV_OPTF_* */
	const char *default_value;    /* text parsed like config input; NULL = none */
	const char *help;             /* one line, shown by `vdm --describe NAME` */
	const char *const *choices;   /* ENUM: NULL-terminated list */
	int64_t min, max;             /* with VDEV_OPTF_RANGE (as uint64 for unsigned types) */
};

/* A location: the common `loc` option or a VDEV_OPT_LOC value. */
enum vdev_loc_kind {
	VDEV_LOC_ADDR = 0, /* space + base (+ length) */
	VDEV_LOC_PCI_BDF,  /* pci:bus:dev[.fn] */
	VDEV_LOC_PCI_ID,   /* pci:vid/did */
};
struct vdev_loc {
	enum vdev_loc_kind kind;
	enum vdev_space space; /* ADDR: MMIO or PIO */
	uint64_t base;
	uint64_t length;       /* 0 when not given: the device picks its own */
	uint8_t bus, dev, fn;  /* PCI_BDF */
	uint16_t vendor, device; /* PCI_ID */
};

/*
 * The value of one option after the host parsed and validated it against the
 * schema. `count` is how many times the config gave it (0: absent; then
 * from_default tells whether default_value was applied and the value fields
 * hold it). For REPEAT options `texts` holds every value given, in order, and
 * the typed fields hold the last one.
 */
struct vdev_option_value {
	unsigned count;
	int from_default;
	const char *text; /* the last text given (or the default), NULL if none */
	union {
		int64_t i;       /* INT */
		uint64_t u;      /* UINT, SIZE, ADDR */
		int b;           /* BOOL */
		const char *s;   /* STRING, INTR ("name:line") */
		unsigned e;      /* ENUM: index into choices */
		struct vdev_loc loc; /* LOC */
	} v;
	const char *const *texts; /* every text given, `count` of them */
};

/* ---------------------------------------------------------- host services */

/* Opaque to plugins: the host's record of one device instance. */
typedef struct vdev_host_ctx vdev_host_t;
/* Opaque handles the host gives out. */
struct vdev_line;  /* an interrupt line */
struct vdev_timer; /* a timer */
struct vdev_watch; /* a watched file descriptor */

enum vdev_log_level {
	VDEV_LOG_FATAL = 0,
	VDEV_LOG_ERROR,
	VDEV_LOG_WARN,
	VDEV_LOG_INFO,
	VDEV_LOG_DEBUG,
	VDEV_LOG_VERBOSE,
};

/* mem_map protections */
#define VDEV_MAP_READ  1u
#define VDEV_MAP_WRITE 2u

/* fd_watch events (the poll(2) bits the host honours) */
#define VDEV_FD_IN  0x001u
#define VDEV_FD_OUT 0x004u
#define VDEV_FD_ERR 0x008u
#define VDEV_FD_HUP 0x010u

/* Termination causes a device may give: 32..63 (qvm's custom causes). */
#define VDEV_TERMINATE_MIN 32
#define VDEV_TERMINATE_MAX 63
/*
 * OR-ed into a terminate cause: write the guest dump the configuration's
 * `dump` asks for first (a watchdog's `dump,terminate`). A host without
 * dumps refuses the cause with -EINVAL: call terminate again without it.
 */
#define VDEV_TERMINATE_DUMP 0x100

/* One range of the guest's memory map (mem_ranges, ABI 1.1). */
enum vdev_mem_kind { VDEV_MEM_RAM = 0, VDEV_MEM_ROM = 1 };
struct vdev_mem_range {
	uint64_t start, length;
	enum vdev_mem_kind kind;
};

/* Why the guest asked the machine to stop (platform_shutdown, ABI 1.2). */
enum vdev_shutdown_reason {
	VDEV_SHUTDOWN_POWEROFF = 0, /* ACPI S5 (SLP_EN with the S5 type), APM off */
	VDEV_SHUTDOWN_REBOOT = 1,   /* a reset register, the 8042's reset line */
};

/*
 * VDEV_HOST_HAS(host, field): does this host provide `field`, a service
 * added by a later minor version? A plugin built against ABI 1.N runs on a
 * 1.M host with M < N; it checks before calling anything newer than 1.0.
 * VDEV_CONFIG_HAS(cfg, field): the same for struct vdev_config.
 */
#define VDEV_HOST_HAS(host, field)                                                                 \
	((host)->struct_size >= offsetof(struct vdev_host, field) + sizeof((host)->field) &&      \
	 (host)->field != NULL)
#define VDEV_CONFIG_HAS(cfg, field)                                                                \
	((cfg)->struct_size >= offsetof(struct vdev_config, field) + sizeof((cfg)->field))

typedef void vdev_timer_fn(void *dev, void *arg);
typedef void vdev_fd_fn(void *dev, void *arg, int fd, uint32_t events);

/*
 * The services a host provides. Every function takes the handle given to
 * create(). Unless stated otherwise any function may be called from any
 * callback thread while the instance exists, and from create(); none may be
 * called after destroy() returned. A plugin must check struct_size before
 * using a field added by a later minor version.
 */
struct vdev_host {
	uint32_t struct_size; /* sizeof(struct vdev_host) of the host */
	uint16_t abi_major, abi_minor;

	/*
	 * region_add: route guest accesses in [base, base+length) of `space` to
	 * this instance; read/write receive `id` and the offset from base.
	 * Returns 0; -EINVAL for length 0, an overflowing range, a bad space or
	 * an id already used by this instance; -EEXIST when the range overlaps
	 * anything else (another device, RAM, ROM, a reserve); -EPERM after
	 * the guest started unless the space is PCICFG-assigned (BAR moves).
	 * region_remove: stop routing region `id`; -ENOENT if unknown. Removal
	 * is safe while accesses are in flight: once it returns, no new access
	 * to the region starts.
	 */
	int (*region_add)(vdev_host_t *h, enum vdev_space space, uint64_t base, uint64_t length,
			  uint32_t id);
	int (*region_remove)(vdev_host_t *h, uint32_t id);

	/*
	 * intr_lookup: resolve "controller:line" (a VDEV_OPT_INTR value or an
	 * entry of vdev_config.intrs) to a line handle, valid until destroy.
	 * Returns 0; -ENOENT for an unknown controller; -ERANGE for a line the
	 * controller does not have; -EINVAL for a malformed spec. Call it from
	 * create() so that a bad line is a configuration error. vdm also takes
	 * a comma list ("pic:4,ioapic:4"): one line driving each entry, for a
	 * device with one interrupt wired to several controllers (vdev/intr.h).
	 */
	int (*intr_lookup)(vdev_host_t *h, const char *spec, struct vdev_line **line);
	/*
	 * line_set: drive the line's level (0 or non-zero = asserted). The host
	 * filters repeats, so calling it after every register access with the
	 * recomputed level is right and cheap. line_pulse: assert then
	 * deassert (an edge). Both return 0 or -EINVAL for a foreign handle.
	 */
	int (*line_set)(vdev_host_t *h, struct vdev_line *line, int level);
	int (*line_pulse)(vdev_host_t *h, struct vdev_line *line);
	/* msi_send: a message-signalled interrupt (x86: address 0xFEExxxxx,
	 * data = vector etc.). -ENOTSUP where the platform has no MSI. */
	int (*msi_send)(vdev_host_t *h, uint64_t address, uint32_t data);

	/*
	 * Guest memory, always bounds-checked by the host: a range that is not
	 * entirely guest RAM (or ROM, for reads) gives -EFAULT and touches
	 * nothing. mem_map returns a host pointer to `length` bytes of guest
	 * RAM at gpa, or NULL with errno set (EFAULT); keep it only for the
	 * duration of one callback, then mem_unmap it.
	 */
	int (*mem_read)(vdev_host_t *h, uint64_t gpa, void *buf, size_t length);
	int (*mem_write)(vdev_host_t *h, uint64_t gpa, const void *buf, size_t length);
	void *(*mem_map)(vdev_host_t *h, uint64_t gpa, size_t length, uint32_t prot);
	void (*mem_unmap)(vdev_host_t *h, void *ptr, size_t length);

	/*
	 * Timers on the host monotonic clock (virtual time in the test host).
	 * timer_create: fn(dev, arg) will run on the event-loop thread each
	 * time the timer fires. timer_arm: fire first `delay_ns` from now, then
	 * every `period_ns` if non-zero; re-arming replaces the previous
	 * setting. timer_cancel: no call starts after it returns. A timer is
	 * destroyed by timer_destroy or, at the latest, with the instance.
	 * clock_ns: the same clock, in nanoseconds.
	 */
	int (*timer_create)(vdev_host_t *h, vdev_timer_fn *fn, void *arg, struct vdev_timer **timer);
	int (*timer_arm)(vdev_host_t *h, struct vdev_timer *timer, uint64_t delay_ns,
			 uint64_t period_ns);
	int (*timer_cancel)(vdev_host_t *h, struct vdev_timer *timer);
	void (*timer_destroy)(vdev_host_t *h, struct vdev_timer *timer);
	uint64_t (*clock_ns)(vdev_host_t *h);

	/*
	 * fd_watch: call fn(dev, arg, fd, events) on the event-loop thread when
	 * fd is ready for `events` (VDEV_FD_*). The plugin keeps owning fd and
	 * closes it after fd_unwatch. fd_modify changes the events watched.
	 */
	int (*fd_watch)(vdev_host_t *h, int fd, uint32_t events, vdev_fd_fn *fn, void *arg,
			struct vdev_watch **watch);
	int (*fd_modify)(vdev_host_t *h, struct vdev_watch *watch, uint32_t events);
	void (*fd_unwatch)(vdev_host_t *h, struct vdev_watch *watch);

	/* log: a line tagged with the instance name, filtered by its `log`
	 * option (else the VM's `logger`). No trailing newline needed. */
	void (*log)(vdev_host_t *h, enum vdev_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	void (*vlog)(vdev_host_t *h, enum vdev_log_level level, const char *fmt, va_list ap)
		__attribute__((format(printf, 3, 0)));

	/*
	 * terminate: end the guest; vdm exits with `cause` (32..63, or one of
	 * qvm's codes: 0 normal, 3 power cut, 4 watchdog), optionally OR-ed
	 * with VDEV_TERMINATE_DUMP (the guest dump is written first, outside
	 * this callback). The call returns; the VM stops after the current
	 * callback. -EINVAL for another cause.
	 */
	int (*terminate)(vdev_host_t *h, int cause);

	/* ---- ABI 1.1: check with VDEV_HOST_HAS before use ---- */

	/*
	 * mem_ranges: the guest's RAM and ROM, in address order (reserved
	 * ranges are not memory). Fills up to `max` entries of `ranges` and
	 * returns how many there are in all (which may exceed max), or a
	 * negative errno. For devices that describe the machine to the guest:
	 * an RTC's CMOS memory-size bytes, firmware tables.
	 */
	int (*mem_ranges)(vdev_host_t *h, struct vdev_mem_range *ranges, unsigned max);

	/* ---- ABI 1.2: check with VDEV_HOST_HAS before use ---- */

	/*
	 * platform_shutdown: the guest asked the machine to power off or
	 * reset through a chipset register (PM1a_CNT.SLP_EN, 0xcf9). The
	 * host ends the guest the way its hypervisor does it: on Xen the
	 * domain is shut down with that reason (xendevicemodel_shutdown; the
	 * toolstack then destroys or restarts it, and vdm exits when it is
	 * gone), elsewhere the VM stops with exit 0 and the reason is logged.
	 * Like terminate, the call returns and the VM stops afterwards.
	 * Returns 0; -EINVAL for an unknown reason.
	 */
	int (*platform_shutdown)(vdev_host_t *h, enum vdev_shutdown_reason reason);
	/*
	 * pci_link_route: PCI interrupt link `link` (0..3: PIRQA..PIRQD, the
	 * wires INTx of every device reaches through the barber's pole
	 * (pin - 1 + device) & 3) now goes to ISA IRQ `irq` (1..15), or to
	 * none (0). For the chipset function whose routing registers decide
	 * it (PIIX3 PIRQRC[A:D]). On Xen it is
	 * xendevicemodel_set_pci_link_route (Xen's vPIC/vIOAPIC then route
	 * INTx); elsewhere the host records it. Returns 0; -EINVAL for a
	 * link above 3 or an IRQ above 15; the hypervisor's error.
	 */
	int (*pci_link_route)(vdev_host_t *h, unsigned link, unsigned irq);
};

/* ------------------------------------------------------------- instances */

/*
 * What create() receives: the instance's common options, already parsed,
 * and its device options, validated against the schema. Everything here
 * lives until destroy() returns.
 */
struct vdev_config {
	uint32_t struct_size;
	const char *instance_name; /* `name`, else "<device>.<index>" */
	unsigned index;            /* 0 for the first instance of this plugin */
	const struct vdev_loc *locs; /* every `loc`, in order */
	unsigned loc_count;
	const char *const *intrs;  /* every `intr` value ("ctrl:line" or "apic") */
	unsigned intr_count;
	const struct vdev_option_value *options; /* parallel to descriptor->options */
	unsigned option_count;
};

/*
 * One guest access as a device sees it: which region (the id given to
 * region_add), the offset inside it, the width in bytes (one of the
 * descriptor's access_sizes), and the vCPU that made it (-1 for a
 * host-originated access, e.g. from vdev-conform).
 */
struct vdev_access {
	uint32_t region;
	enum vdev_space space;
	uint64_t offset;
	uint8_t size;
	int32_t vcpu;
};

/* What read/write return, besides 0. */
#define VDEV_ACCESS_BUS_ERROR (-EIO) /* the device refuses this access */

/* Interrupt-controller ops: a plugin that other vdevs name in `intr NAME:LINE`. */
struct vdev_intc_ops {
	uint32_t struct_size;
	/* Number of input lines; lines are 0..count-1. */
	unsigned (*line_count)(void *dev);
	/* An input line changed level (the host delivers changes only). */
	void (*set_level)(void *dev, unsigned line, int level);
	/*
	 * ack: for a controller that drives a CPU's INTR pin (the 8259):
	 * the CPU acknowledges, return the vector (0..255) or -1 if nothing is
	 * pending (spurious). NULL for controllers that deliver by MSI.
	 */
	int (*ack)(void *dev);
	/* eoi: the local APIC broadcast an EOI for `vector` (level-triggered
	 * ioapic lines clear remote IRR). May be NULL. */
	void (*eoi)(void *dev, uint8_t vector);
};

/*
 * The ops table. create and destroy are required; read/write are required
 * when the device adds regions; the rest may be NULL.
 */
struct vdev_ops {
	uint32_t struct_size;
	/*
	 * create: make one instance. Register regions, look up lines, create
	 * timers here. Store the instance in *dev. Return 0, or a negative
	 * errno after logging why (the host reports the device by name and
	 * undoes every region, line, timer and watch the instance took).
	 */
	int (*create)(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **dev);
	/* destroy: free the instance. The host removes whatever is still
	 * registered; the plugin must not call the host afterwards. */
	void (*destroy)(void *dev);
	/*
	 * read: put the value (zero-extended to 64 bits) in *value. write:
	 * `value` holds `size` bytes (higher bits zero). Return 0, or
	 * VDEV_ACCESS_BUS_ERROR; the host then applies the VM's policy.
	 */
	int (*read)(void *dev, const struct vdev_access *access, uint64_t *value);
	int (*write)(void *dev, const struct vdev_access *access, uint64_t value);
	/* reset: back to power-on state (registers, lines deasserted, timers
	 * stopped). Regions and lines stay registered. */
	void (*reset)(void *dev);
	/*
	 * save: write the device state into buf (capacity `cap`, at least the
	 * descriptor's state_size) and return its length, or a negative errno.
	 * The same state must give the same bytes. restore: load state written
	 * by save of the same plugin (any instance), or return -EINVAL for
	 * empty, truncated, foreign or corrupt data without changing anything.
	 * The SDK's vdev/state.h gives a codec that does both.
	 */
	ssize_t (*save)(void *dev, void *buf, size_t cap);
	int (*restore)(void *dev, const void *buf, size_t length);
	/* guest_starting: the VM is built and the first vCPU is about to run. */
	void (*guest_starting)(void *dev);
	/* fdt_node: add this device's node under `parent` of the libfdt tree
	 * `fdt` (void * so that plugins need not include libfdt). */
	int (*fdt_node)(void *dev, void *fdt, int parent);
	/* status: one line of device-specific status for `vdm status`: write
	 * at most cap bytes, NUL-terminated, no newline, into buf, and return
	 * 0; a negative errno says there is nothing to show (the host prints
	 * none). Under the instance's lock, on a control thread. */
	int (*status)(void *dev, char *buf, size_t cap);

	/* ---- ABI 1.2: optional; a host checks with VDEV_OPS_HAS before use ---- */

	/*
	 * host_endpoint: the host side of the device's character stream, named
	 * as QEMU names character devices ("pty:/dev/pts/3", "file:/var/log/x",
	 * "unix:/run/x.sock"), so that a toolstack can find a guest's console
	 * (libxl's query-chardev). Write it NUL-terminated into buf (capacity
	 * cap) and return its length, or -ENOENT when the device has no host
	 * side. Called under the instance lock, on the event-loop thread.
	 */
	int (*host_endpoint)(void *dev, char *buf, size_t cap);
};

/* Does the ops table have `field` (one added after ABI 1.0)? */
#define VDEV_OPS_HAS(ops, field)                                                                   \
	((ops)->struct_size >= offsetof(struct vdev_ops, field) + sizeof((ops)->field))

/* Descriptor flags. */
#define VDEV_F_INTC          (1u << 0) /* an interrupt controller: intc ops required */
#define VDEV_F_LOC_REQUIRED  (1u << 1) /* the config must give `loc` */
#define VDEV_F_INTR_REQUIRED (1u << 2) /* the config must give `intr` */
#define VDEV_F_SELF_LOCKED   (1u << 3) /* the plugin locks its own state */
#define VDEV_F_SINGLETON     (1u << 4) /* at most one instance per VM */
#define VDEV_F_ALL           0x1fu

/* access_sizes bits: VDEV_ACCESS_SIZE(n) for n in 1, 2, 4, 8. */
#define VDEV_ACCESS_SIZE(n) (1u << (n))
#define VDEV_ACCESS_SIZES_ALL                                                                      \
	(VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4) | VDEV_ACCESS_SIZE(8))

/*
 * The descriptor. Static, const, and the same every time the entry is
 * called. The first three fields never move.
 */
/*
 * A range of registers that legitimately changes by itself or survives a
 * reset (ABI 1.3). `region` is the id the plugin gave region_add (for a
 * PCI function's configuration space, the region of that space), [offset,
 * offset + length) the bytes in it. Anything not noted must read after
 * reset as on a fresh instance (sdk/README.md section 8).
 */
enum vdev_register_kind {
	VDEV_REG_VOLATILE = 1,	/* changes by itself: a clock, a free-running counter */
	VDEV_REG_PRESERVED = 2, /* survives reset: battery-backed RAM, a sticky setting */
};
struct vdev_register_note {
	uint32_t region;
	uint64_t offset, length;
	enum vdev_register_kind kind;
	const char *why; /* one line, printed by vdev-conform */
};

struct vdev_descriptor {
	uint16_t abi_major;   /* VDEV_ABI_MAJOR */
	uint16_t abi_minor;   /* VDEV_ABI_MINOR */
	uint32_t struct_size; /* sizeof(struct vdev_descriptor) */

	const char *name;        /* [a-z0-9-]+; `vdev NAME` loads vdev-NAME.so */
	const char *version;     /* the device's own version, e.g. "1.2.0" */
	const char *description; /* one line */
	uint32_t flags;          /* VDEV_F_* */
	enum vdev_space default_space; /* for a `loc` without mem:/io: */
	uint32_t access_sizes;   /* VDEV_ACCESS_SIZE bits the device accepts */
	size_t state_size;       /* upper bound of what save() writes; 0 = no state */

	const struct vdev_option_spec *options; /* device options, option_count of them */
	unsigned option_count;

	const struct vdev_ops *ops;
	const struct vdev_intc_ops *intc; /* with VDEV_F_INTC, else NULL */

	/* ---- ABI 1.3: optional; a host checks with VDEV_DESCRIPTOR_HAS ---- */
	/* Registers that after a reset may read differently from a freshly
	 * created instance, and why (struct vdev_register_note); a conformance
	 * checker leaves exactly these out of its reset comparison. NULL: none. */
	const struct vdev_register_note *register_notes;
	unsigned register_note_count;
};

#define VDEV_DESCRIPTOR_HAS(desc, field)                                                           \
	((desc)->struct_size >= offsetof(struct vdev_descriptor, field) + sizeof((desc)->field))

#define VDEV_DESCRIPTOR_INIT .abi_major = VDEV_ABI_MAJOR, .abi_minor = VDEV_ABI_MINOR,             \
			     .struct_size = sizeof(struct vdev_descriptor)

#ifdef __cplusplus
}
#endif
#endif /* VDEV_VDEV_H */
