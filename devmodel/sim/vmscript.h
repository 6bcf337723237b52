/*
 * devmodel/sim/vmscript.h: guest scripts for the sim backend.
 *
 * A .vmscript file plays the guest: each line is one step, run in order by
 * the simulated hypervisor (sim_guest.c). The format is documented in
 * devmodel/sim/README.md; in short:
 *
 *   vcpu N                                   accesses below come from vCPU N
 *   write SPACE ADDR SIZE VALUE              out / mov to the device
 *   read SPACE ADDR SIZE [mask M] [expect V] in / mov from the device
 *   rep-write SPACE ADDR SIZE COUNT GPA [df] rep outs / rep movs RAM->device
 *   rep-read SPACE ADDR SIZE COUNT GPA [df]  rep ins / rep movs device->RAM
 *   rep-stos SPACE ADDR SIZE COUNT VALUE [df] rep stos to MMIO
 *   fill GPA BYTE... | fill GPA "text"       guest RAM contents
 *   check GPA BYTE... | check GPA "text"     expected guest RAM contents
 *   line CTRL:N LEVEL                        a native interrupt line's level
 *   edges CTRL:N COUNT                       rising edges on it so far
 *   msi ADDR DATA                            the next MSI the VM sent
 *   no-msi                                   no MSI pending
 *   wait DURATION                            advance virtual time (ns/us/ms/s)
 *   invalidate                               Xen's INVALIDATE broadcast
 *   exit CODE                                the VM has ended with CODE
 *
 * SPACE is mmio, pio or pcicfg; a pcicfg ADDR is BUS:DEV.FN+REG.
 */
#ifndef VDM_SIM_VMSCRIPT_H
#define VDM_SIM_VMSCRIPT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vdev/vdev.h>

enum vms_op {
	VMS_VCPU,
	VMS_WRITE,
	VMS_READ,
	VMS_REP_WRITE,
	VMS_REP_READ,
	VMS_REP_STOS,
	VMS_FILL,
	VMS_CHECK,
	VMS_LINE,
	VMS_EDGES,
	VMS_MSI,
	VMS_NO_MSI,
	VMS_WAIT,
	VMS_INVALIDATE,
	VMS_EXIT,
	VMS_LINK_ROUTE, /* addr: the link, value: the ISA IRQ (0 none) */
	VMS_SHUTDOWN,	/* value: 0 poweroff, 1 reboot */
};

struct vms_step {
	enum vms_op op;
	unsigned line;	  /* 1-based line in the script */
	const char *text; /* the line as written, for messages */
	enum vdev_space space;
	uint64_t addr;	/* device address, gpa for fill/check, MSI address */
	unsigned size;	/* item size */
	uint32_t count; /* rep count */
	uint64_t gpa;	/* rep buffer */
	bool df;
	uint64_t
	    value; /* write value, expected value, level, edges, ns, vcpu, exit code, MSI data */
	bool has_expect;
	uint64_t mask;	/* read: compared bits (all-ones by default) */
	uint8_t *bytes; /* fill/check */
	size_t byte_count;
	char *line_name; /* line/edges: "ctrl:N" */
};

struct vms_script {
	char *file;
	struct vms_step *steps;
	unsigned step_count;
};

/*
 * vms_parse_file / vms_parse_string: the whole script, or NULL after
 * printing "file:line:col: error: ..." for every bad line to `err`.
 */
struct vms_script *vms_parse_file(const char *path, FILE *err);
struct vms_script *vms_parse_string(const char *text, const char *name, FILE *err);
void vms_free(struct vms_script *script);

#endif /* VDM_SIM_VMSCRIPT_H */
