/*
 * devmodel/isa_bus.h: the PC's ISA interrupt lines, as the native `isa`
 * controller of the kvm and sim backends.
 *
 * On a PC an ISA IRQ reaches both the 8259 pair and the I/O APIC; the OS
 * chooses which one listens (firmware and Linux start with the 8259 and
 * move to the I/O APIC, masking the 8259). `intr isa:N` gives a device
 * that wiring: ISA IRQ N (0..15) drives line N of the 8259 pair and pin N
 * of the I/O APIC, except IRQ 0, which goes to pin 2 (the interrupt
 * source override every PC's MADT declares). Xen's own `isa` does the
 * same inside the hypervisor.
 *
 * The controllers are the ones named `pic` and `ioapic` (the samples'
 * names), or those the global `set isa-pic NAME` / `set isa-ioapic NAME`
 * name (`none`: not wired). A missing one is simply not driven. They are
 * vdevs created after the backend registers `isa`, so the bus finds them
 * when a line first changes, and looks again for a missing one until the
 * guest starts.
 *
 * Threads: isa_bus_set/pulse are called from the `isa` controller's ops
 * (under its line mutex, no registry lock: irq.c), so changes arrive one at
 * a time; they drive the other controllers' lines from there, which
 * irq.c allows (a controller may drive another's inputs).
 */
#ifndef VDM_ISA_BUS_H
#define VDM_ISA_BUS_H

#define ISA_BUS_LINES 16

struct vm;
struct isa_bus;

/* A bus for `vm`; NULL on ENOMEM. */
struct isa_bus *isa_bus_new(struct vm *vm);
/* ISA IRQ `line` changed to `level` / had an edge: pass it on. */
void isa_bus_set(struct isa_bus *bus, unsigned line, int level);
void isa_bus_pulse(struct isa_bus *bus, unsigned line);
/* The I/O APIC pin ISA IRQ `line` reaches (0 -> 2, else the same). */
unsigned isa_bus_ioapic_pin(unsigned line);
/* Releases its lines (after the `isa` controller is unregistered). */
void isa_bus_free(struct isa_bus *bus);

#endif /* VDM_ISA_BUS_H */
