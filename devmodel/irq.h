/*
 * devmodel/irq.h: the interrupt registry of one VM.
 *
 * Interrupt controllers are registered by name: the backend registers its
 * native ones (Xen's emulated IOAPIC/PIC/GIC, KVM's "apic", the simulator's
 * recording controllers) before any vdev is created; a VDEV_F_INTC plugin
 * instance with `name X` registers X when it is created. A device resolves
 * "X:N" (or "apic", line 0 of the native "apic") to a line handle once, at
 * configuration time, and drives it afterwards.
 *
 * Lines are wired-OR: several handles may name one controller line; the
 * controller sees the OR of their levels, and only changes of it. A handle
 * caches its own level, so a device may call irq_line_set after every
 * register access with the recomputed level (edge filtering).
 *
 * Threads: every function may be called from any thread. Controller ops
 * are called with the controller's line lock held: they must not call
 * irq_line_set on a line of the same controller.
 */
#ifndef VDM_IRQ_H
#define VDM_IRQ_H

#include <stdint.h>

struct irq_registry;
struct irq_controller;
struct vdev_line; /* a line handle (vdev.h's opaque type) */

/* What a controller does with its inputs. */
struct irq_controller_ops {
	/* set_level: input `line` changed to `level` (0/1); changes only. */
	void (*set_level)(void *ctx, unsigned line, int level);
	/* pulse: an edge on `line` (NULL: set_level 1 then 0). */
	void (*pulse)(void *ctx, unsigned line);
	/*
	 * ack: for a controller that drives a CPU's INTR pin (the 8259): the
	 * CPU acknowledges; the vector (0..255) or -1 when nothing is pending.
	 * NULL for others. eoi: the local APIC broadcast an EOI for `vector`
	 * (level-triggered IOAPIC lines clear remote IRR); may be NULL. Both
	 * are called without the controller's line lock (see irq_ack).
	 */
	int (*ack)(void *ctx);
	void (*eoi)(void *ctx, uint8_t vector);
};

/* Where MSIs go: the backend's sink. Returns 0 or a negative errno. */
typedef int irq_msi_fn(void *ctx, uint64_t address, uint32_t data);

/* A registry with no controllers and no MSI sink; NULL on ENOMEM. */
struct irq_registry *irq_registry_new(void);
/* Frees the registry and every controller and handle left. */
void irq_registry_free(struct irq_registry *r);

/*
 * irq_controller_register: a controller `name` ([^:\s]+) with `lines`
 * inputs (0..lines-1, lines >= 1). ops/ctx must stay valid until
 * unregistered. Returns 0; -EINVAL for a bad name or 0 lines; -EEXIST for
 * a name already registered; -ENOMEM. *out (may be NULL) is the controller.
 */
int irq_controller_register(struct irq_registry *r, const char *name, unsigned lines,
			    const struct irq_controller_ops *ops, void *ctx,
			    struct irq_controller **out);
/* Unregisters; its remaining line handles become inert (set/pulse -ENODEV). */
void irq_controller_unregister(struct irq_registry *r, struct irq_controller *c);

/*
 * irq_line_get: a handle for `spec`: "ctrl:N" (decimal or 0x hex), or
 * "apic" = line 0 of the controller "apic", or a comma list of those
 * ("pic:4,ioapic:4"): one line fanned out to every controller named, as an
 * ISA IRQ reaches both the 8259 and the I/O APIC of a PC (each member is
 * wired-OR and edge-filtered on its own; a member whose controller is gone
 * does not stop the others). Returns 0; -ENOENT for an unknown
 * controller; -ERANGE for a line it does not have; -EINVAL for a malformed
 * spec; -ENOMEM.
 */
int irq_line_get(struct irq_registry *r, const char *spec, struct vdev_line **line);
/* Releases a handle, deasserting it first if it is asserted. */
void irq_line_put(struct irq_registry *r, struct vdev_line *line);

/* irq_line_set: drive the handle's level; only changes reach the controller.
 * irq_line_pulse: an edge. Both return 0, or -ENODEV when the controller is
 * gone. */
int irq_line_set(struct irq_registry *r, struct vdev_line *line, int level);
int irq_line_pulse(struct irq_registry *r, struct vdev_line *line);
/* The handle's cached level (0/1), and its "ctrl:N" text. */
int irq_line_level(const struct vdev_line *line);
const char *irq_line_name(const struct vdev_line *line);

/*
 * irq_ack: the CPU acknowledges an ExtINT: ask the controllers with an ack
 * op, in registration order, and return the first vector (0..255), or -1
 * when none has anything pending (a spurious interrupt). irq_eoi: tell
 * every controller with an eoi op that `vector` was EOI'd. For backends;
 * call them holding none of the locks your controller ops take (an ack
 * usually changes the controller's output, i.e. calls your set_level).
 */
int irq_ack(struct irq_registry *r);
void irq_eoi(struct irq_registry *r, uint8_t vector);

/* irq_msi_set_sink: where irq_msi_send delivers (NULL: none). */
void irq_msi_set_sink(struct irq_registry *r, irq_msi_fn *fn, void *ctx);
/* irq_msi_send: deliver an MSI. -ENOTSUP when there is no sink. */
int irq_msi_send(struct irq_registry *r, uint64_t address, uint32_t data);

/* Listing for dryrun/status: the index-th controller's name and line count
 * (0, or -ENOENT past the end). */
int irq_controller_at(struct irq_registry *r, unsigned index, const char **name, unsigned *lines);
/* How many line handles are alive (leak checks). */
unsigned irq_line_count(struct irq_registry *r);

#endif /* VDM_IRQ_H */
