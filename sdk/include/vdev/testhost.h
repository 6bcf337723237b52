/*
 * vdev/testhost.h: a host for testing a vdev plugin without any hypervisor.
 *
 * Link with libvdev-testhost (pkg-config vdev-testhost). It loads a plugin
 * (from a .so path, or a descriptor linked into the test), creates instances
 * from option text written exactly as in a VM configuration, routes register
 * accesses to the regions they registered, records every interrupt-line
 * change, MSI, log line and termination, and runs timers in virtual time
 * that only moves when the test says so. Single-threaded unless a test
 * starts threads of its own (vdev-conform does); every function is safe to
 * call from several threads on one vdev_testhost.
 *
 * Errors: functions return 0 or a negative errno; the reason, in words, is
 * in vdev_testhost_error().
 */
#ifndef VDEV_TESTHOST_H
#define VDEV_TESTHOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <vdev/vdev.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdev_testhost;
struct vdev_testdev; /* one instance */

/* A new host: no RAM, no controllers, virtual time 0. NULL on ENOMEM. */
struct vdev_testhost *vdev_testhost_new(void);
/* Destroys every instance still alive, unloads plugins, frees the host. */
void vdev_testhost_free(struct vdev_testhost *th);
/* The last error message ("" when none). Valid until the next call. */
const char *vdev_testhost_error(const struct vdev_testhost *th);

/* Guest RAM at [gpa, gpa+size), zero-filled. -EEXIST on overlap. */
int vdev_testhost_add_ram(struct vdev_testhost *th, uint64_t gpa, size_t size);
/* A host pointer to guest RAM for a test to fill or check; NULL if out of RAM. */
void *vdev_testhost_ram(struct vdev_testhost *th, uint64_t gpa, size_t size);

/* A recording interrupt controller named `name` with `lines` lines. */
int vdev_testhost_add_intc(struct vdev_testhost *th, const char *name, unsigned lines);

/*
 * Plugins. load: dlopen(RTLD_NOW|RTLD_LOCAL) the file, check the entry
 * symbol, ABI and descriptor (the loader's rules). A path names a file (it
 * contains '/' or ends in .so); a bare NAME is searched as vdev-NAME.so on
 * VDM_PLUGIN_PATH (colon-separated). Loading the same file again returns
 * the same descriptor. use: a descriptor linked into the test program,
 * checked the same way.
 */
int vdev_testhost_load(struct vdev_testhost *th, const char *path,
		       const struct vdev_descriptor **desc);
int vdev_testhost_use(struct vdev_testhost *th, const struct vdev_descriptor *desc);

/*
 * create: an instance of a loaded/used device from option text as it would
 * follow `vdev NAME` in a config, e.g. "loc 0x10000 intr pic:5 period 100u".
 * The common options (loc, intr, name, log) and the device options are
 * validated like vdm does. Returns NULL with vdev_testhost_error() set.
 * An instance that names a plugin interrupt controller (VDEV_F_INTC) with
 * `name X` becomes a controller others reference as "X:N" (without `name`,
 * it takes the device's name if no controller has it yet); a line change
 * on it reaches its intc set_level. A create() that fails is undone: every
 * region, line, timer, watch and map it took is released.
 */
struct vdev_testdev *vdev_testhost_create(struct vdev_testhost *th,
					  const struct vdev_descriptor *desc, const char *options);
/* destroy: no new access, timer or fd event reaches the instance once it
 * starts; destroy() runs after callbacks in flight finished; whatever the
 * plugin left registered is released (asserted lines are deasserted, and
 * that shows in the trace). The handle stays recognisable: a late call by
 * the plugin is reported (service hook, log), and a second destroy is
 * refused with vdev_testhost_error set. */
void vdev_testhost_destroy(struct vdev_testdev *dev);
/* The plugin's instance pointer (what create() stored in *dev), not a
 * saved state: vdev_testhost_save gives that. vdev_testdev_instance is the
 * same under the name that says so; _state stays for existing tests. */
void *vdev_testdev_instance(struct vdev_testdev *dev);
void *vdev_testdev_state(struct vdev_testdev *dev);

/*
 * Guest accesses, routed like vdm routes them: to the region containing
 * addr, as an offset in it. Returns 0; -ENXIO when no region owns addr
 * (the value read is then all-ones); -EINVAL for a size the device did not
 * declare; the device's own error otherwise.
 */
int vdev_testhost_read(struct vdev_testhost *th, enum vdev_space space, uint64_t addr,
		       unsigned size, uint64_t *value);
int vdev_testhost_write(struct vdev_testhost *th, enum vdev_space space, uint64_t addr,
			unsigned size, uint64_t value);
/*
 * access: the general form of read/write: is_write selects the direction,
 * *value is read or written (a write uses its low `size` bytes), and vcpu is
 * what the device sees in vdev_access.vcpu (read/write pass 0; a
 * host-originated access such as a conformance sweep passes -1). An access
 * that runs past the end of its region is unclaimed (-ENXIO). A read that
 * fails leaves all-ones (of the access size) in *value.
 */
int vdev_testhost_access(struct vdev_testhost *th, enum vdev_space space, uint64_t addr,
			 unsigned size, bool is_write, uint64_t *value, int32_t vcpu);
/* Shorthands that return the value read (all-ones on error). */
uint64_t vdev_testhost_mmio_read(struct vdev_testhost *th, uint64_t addr, unsigned size);
uint64_t vdev_testhost_pio_read(struct vdev_testhost *th, uint64_t port, unsigned size);

/*
 * start: the guest is about to run: guest_starting on every live instance,
 * in creation order. From then on region_add answers -EPERM except for
 * PCICFG, as in vdm.
 */
int vdev_testhost_start(struct vdev_testhost *th);

/* Lifecycle calls on one instance. save refuses (-ENOSPC) a buffer smaller
 * than the descriptor's state_size, and reports a plugin whose save returns
 * more than cap or state_size (-EPROTO, a "host: error" log line). */
void vdev_testhost_reset(struct vdev_testdev *dev);
ssize_t vdev_testhost_save(struct vdev_testdev *dev, void *buf, size_t cap);
int vdev_testhost_restore(struct vdev_testdev *dev, const void *buf, size_t length);

/*
 * Interrupt observation. level: the current level of "ctrl:line" (0/1), or
 * a negative errno for an unknown line. edges: rising edges seen on it since
 * the start (pulses count). The trace: every change on every line, MSI and
 * termination, one per line in order, e.g. "pic:5 1\npic:5 0\nmsi 0xfee00000 0x31\n",
 * "terminate 33\n", and the platform services of ABI 1.2: "shutdown poweroff\n" or
 * "shutdown reboot\n", "link-route LINK IRQ\n"; clear_trace empties it. The returned text stays valid
 * until the next call that adds to it (so, with other threads running, read
 * it once they are quiet).
 */
int vdev_testhost_line_level(struct vdev_testhost *th, const char *line);
unsigned vdev_testhost_line_edges(struct vdev_testhost *th, const char *line);
const char *vdev_testhost_trace(struct vdev_testhost *th);
void vdev_testhost_clear_trace(struct vdev_testhost *th);

/* Virtual time: now, and advance running every timer due, in order. */
uint64_t vdev_testhost_now(struct vdev_testhost *th);
void vdev_testhost_advance(struct vdev_testhost *th, uint64_t ns);
/* Run fd-watch callbacks for watched fds that are ready, waiting up to
 * timeout_ms. Returns how many callbacks ran. */
int vdev_testhost_poll(struct vdev_testhost *th, int timeout_ms);

/*
 * Everything the instances logged, one line each ("name: level: text"),
 * filtered by each instance's `log` option (without one, every level is
 * kept; destination `none` keeps nothing). Contract violations the host
 * detects in a plugin (a read wider than its size, a call with a destroyed
 * handle, save overflowing, ...) appear as "host: error: text" lines.
 * clear_log empties it.
 */
const char *vdev_testhost_log(struct vdev_testhost *th);
void vdev_testhost_clear_log(struct vdev_testhost *th);
/* The cause given to terminate(), or -1 when none. */
int vdev_testhost_terminated(struct vdev_testhost *th);

/* What the host holds for its live instances (summed), for leak checks:
 * regions, line handles from intr_lookup, timers not destroyed, fd watches,
 * mem_map mappings not unmapped. All zero once every instance is destroyed. */
struct vdev_testhost_usage {
	unsigned regions, lines, timers, watches, maps;
};
void vdev_testhost_usage(struct vdev_testhost *th, struct vdev_testhost_usage *usage);

/*
 * Hooks for contract checkers (vdev-conform). service: at the start of
 * every host service a plugin calls, with the service's name ("line_set")
 * and the instance, or dev NULL and handle_valid false when the handle is
 * not a live instance (a call after destroy: the host keeps destroyed
 * handles recognisable instead of freeing them, so such a call is reported,
 * not a use-after-free). callback_enter/exit: around every plugin callback
 * the host makes ("create", "read", "timer", ...), on the calling thread.
 * Any hook may be NULL. Set before creating instances.
 */
struct vdev_testhost_hooks {
	void (*service)(void *ctx, struct vdev_testdev *dev, const char *service,
			bool handle_valid);
	void (*callback_enter)(void *ctx, struct vdev_testdev *dev, const char *callback);
	void (*callback_exit)(void *ctx, struct vdev_testdev *dev, const char *callback);
	void *ctx;
	/*
	 * violation: a contract violation the host detected (the same text
	 * follows "host: error: " in the log), called on the thread that made
	 * it, after the log line was written. `kind` names its class, one of:
	 *   "region"            region_add with a bad space, range or id
	 *   "access-return"     read/write returned neither 0 nor VDEV_ACCESS_BUS_ERROR
	 *   "read-width"        a read returned bits beyond its access size
	 *   "create-return"     create returned a positive value
	 *   "save-overflow"     save wrote more than the buffer or state_size
	 *   "restore-return"    restore returned a positive value
	 *   "destroyed-handle"  a service called with a destroyed instance's handle
	 *   "dead-controller"   a line of a destroyed plugin controller driven
	 *   "line-handle"       a line handle this instance did not get from intr_lookup
	 *   "line-unconfigured" intr_lookup of a line not named in the instance's `intr`
	 *   "mem-unmap"         mem_unmap of what mem_map did not return
	 *   "leftover"          destroy returned with mem_map mappings not unmapped
	 *   "poison"            while mem_read faults are injected, the bytes a
	 *                       failed mem_read left (VDEV_TESTHOST_POISON) went
	 *                       to guest memory or to a register read
	 *   "timer-handle", "watch-handle"   a timer or fd watch not the instance's own
	 *   "log-level", "terminate-cause", "shutdown-reason", "link-route"
	 *                       a service called with an out-of-range argument
	 * New kinds may be added; a checker treats an unknown one as a violation.
	 */
	void (*violation)(void *ctx, const char *kind, const char *text);
};
void vdev_testhost_set_hooks(struct vdev_testhost *th, const struct vdev_testhost_hooks *hooks);

/*
 * Fault injection, for checking that a plugin handles a host that cannot
 * serve it (vdev-conform's dma-faults check). From the call on, each call
 * of a service in `services` (VDEV_TESTHOST_FAULT_* bits) fails with
 * probability 1/one_in (0 stops injecting; 1 fails every call), drawn from
 * a generator seeded with `seed`: mem_read and mem_write return -EFAULT
 * (mem_read first fills the buffer with VDEV_TESTHOST_POISON bytes, so that
 * data used despite the error shows), mem_map returns NULL with errno
 * EFAULT, timer_create and fd_watch return -ENOMEM, msi_send -EIO. Returns
 * how many calls failed so far.
 */
#define VDEV_TESTHOST_FAULT_MEM_READ	 (1u << 0)
#define VDEV_TESTHOST_FAULT_MEM_WRITE	 (1u << 1)
#define VDEV_TESTHOST_FAULT_MEM_MAP	 (1u << 2)
#define VDEV_TESTHOST_FAULT_TIMER_CREATE (1u << 3)
#define VDEV_TESTHOST_FAULT_FD_WATCH	 (1u << 4)
#define VDEV_TESTHOST_FAULT_MSI_SEND	 (1u << 5)
#define VDEV_TESTHOST_FAULT_MEM                                                                    \
	(VDEV_TESTHOST_FAULT_MEM_READ | VDEV_TESTHOST_FAULT_MEM_WRITE | VDEV_TESTHOST_FAULT_MEM_MAP)
#define VDEV_TESTHOST_POISON 0xa5u
unsigned vdev_testhost_inject_faults(struct vdev_testhost *th, unsigned services, unsigned one_in,
				     uint64_t seed);

/*
 * PCI shorthands, for an instance with a PCI function (a configuration
 * region, as the SDK's PCI helper registers): what a driver does, through
 * ordinary guest accesses. Function `index` is the instance's index-th
 * configuration region (0 for most devices); the others use function 0.
 * pci_find: its configuration base, VDEV_PCICFG_ADDR(0, dev, fn, 0), i.e.
 * where an auto-placed function landed; -ENOENT when there is none.
 * pci_cfg_read / _write: a configuration access at `offset` (size 1, 2 or
 * 4); the read gives all-ones when it fails. pci_cap: the offset of the
 * first capability with `id` (0x05 MSI, 0x11 MSI-X, ...), 0 when none.
 * pci_bar: the address BAR `index` holds now (64-bit BARs whole, I/O and
 * memory flag bits cleared). pci_enable: sets `command_bits` in COMMAND
 * (VDEV_PCI_CMD_MEMORY | VDEV_PCI_CMD_MASTER, say). pci_enable_msi:
 * programs the MSI address and data and sets MSI Enable. pci_enable_msix:
 * programs table entry `vector` (address, data, unmasked) through the BAR
 * the capability names, then sets MSI-X Enable and clears Function Mask.
 * The enable calls return 0, -ENOENT without the capability (-EINVAL for a
 * vector beyond the table), or the access's error.
 */
int vdev_testhost_pci_find(struct vdev_testdev *dev, unsigned index, uint64_t *cfg_base);
uint32_t vdev_testhost_pci_cfg_read(struct vdev_testdev *dev, unsigned offset, unsigned size);
int vdev_testhost_pci_cfg_write(struct vdev_testdev *dev, unsigned offset, unsigned size,
				uint32_t value);
unsigned vdev_testhost_pci_cap(struct vdev_testdev *dev, uint8_t id);
uint64_t vdev_testhost_pci_bar(struct vdev_testdev *dev, unsigned index);
int vdev_testhost_pci_enable(struct vdev_testdev *dev, uint16_t command_bits);
int vdev_testhost_pci_enable_msi(struct vdev_testdev *dev, uint64_t address, uint16_t data);
int vdev_testhost_pci_enable_msix(struct vdev_testdev *dev, unsigned vector, uint64_t address,
				  uint32_t data);

/* The regions an instance registered, for sweeps: fills up to `max`
 * entries, returns how many there are. */
struct vdev_testhost_region {
	uint32_t id;
	enum vdev_space space;
	uint64_t base, length;
};
unsigned vdev_testhost_regions(struct vdev_testdev *dev, struct vdev_testhost_region *regions,
			       unsigned max);

#ifdef __cplusplus
}
#endif
#endif /* VDEV_TESTHOST_H */
