/*
 * devmodel/isa_bus.c: ISA IRQs to the 8259 pair and the I/O APIC
 * (isa_bus.h says why and how).
 */
#include "devmodel/isa_bus.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/irq.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"

enum { ISA_TO_PIC, ISA_TO_IOAPIC, ISA_TARGETS };

struct isa_bus {
	struct vm *vm;
	const char *target[ISA_TARGETS]; /* controller names; NULL: not wired */
	/* Only touched from the `isa` controller's ops (one at a time) and at free. */
	struct vdev_line *line[ISA_TARGETS][ISA_BUS_LINES];
	bool settled[ISA_BUS_LINES]; /* looked up after the guest started */
};

/* The last global `set NAME VALUE`, else `fallback`; "none" is NULL. */
static const char *isa_bus_setting(const struct conf_vm *conf, const char *name,
				   const char *fallback)
{
	const char *value = fallback;

	for (unsigned i = 0; i < conf->set_count; i++)
		if (!strcmp(conf->sets[i].name, name) && conf->sets[i].value)
			value = conf->sets[i].value;
	return strcmp(value, "none") ? value : NULL;
}

struct isa_bus *isa_bus_new(struct vm *vm)
{
	struct isa_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	bus->vm = vm;
	bus->target[ISA_TO_PIC] = isa_bus_setting(vm_conf(vm), "isa-pic", "pic");
	bus->target[ISA_TO_IOAPIC] = isa_bus_setting(vm_conf(vm), "isa-ioapic", "ioapic");
	return bus;
}

unsigned isa_bus_ioapic_pin(unsigned line)
{
	return line == 0 ? 2 : line;
}

/* Find the controllers' lines for ISA IRQ `line` that are not found yet. */
static void isa_bus_resolve(struct isa_bus *bus, unsigned line)
{
	bool started;

	if (bus->settled[line])
		return;
	/* The last look: what is missing once the guest runs stays missing. */
	started = vm_guest_started(bus->vm);
	for (unsigned t = 0; t < ISA_TARGETS; t++) {
		char spec[96];

		if (bus->line[t][line] || !bus->target[t])
			continue;
		snprintf(spec, sizeof(spec), "%s:%u", bus->target[t],
			 t == ISA_TO_IOAPIC ? isa_bus_ioapic_pin(line) : line);
		if (irq_line_get(vm_irq(bus->vm), spec, &bus->line[t][line]) == 0)
			vm_log(bus->vm, LOG_LVL_DEBUG, "isa: IRQ %u reaches %s", line, spec);
		else
			bus->line[t][line] = NULL;
	}
	bus->settled[line] = started;
}

void isa_bus_set(struct isa_bus *bus, unsigned line, int level)
{
	if (line >= ISA_BUS_LINES)
		return;
	isa_bus_resolve(bus, line);
	for (unsigned t = 0; t < ISA_TARGETS; t++)
		if (bus->line[t][line])
			irq_line_set(vm_irq(bus->vm), bus->line[t][line], level);
}

void isa_bus_pulse(struct isa_bus *bus, unsigned line)
{
	if (line >= ISA_BUS_LINES)
		return;
	isa_bus_resolve(bus, line);
	for (unsigned t = 0; t < ISA_TARGETS; t++)
		if (bus->line[t][line])
			irq_line_pulse(vm_irq(bus->vm), bus->line[t][line]);
}

void isa_bus_free(struct isa_bus *bus)
{
	if (!bus)
		return;
	for (unsigned t = 0; t < ISA_TARGETS; t++)
		for (unsigned i = 0; i < ISA_BUS_LINES; i++)
			irq_line_put(vm_irq(bus->vm), bus->line[t][i]);
	free(bus);
}
