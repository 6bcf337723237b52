/*
 * devmodel/sim/sim_domain.h: a simulated Xen domain.
 *
 * The sim backend splits like a real Xen set-up: a "hypervisor" side that
 * plays the guest (runs a .vmscript) and posts ioreqs into a real
 * shared_iopage_t exactly as Xen does, and the device-model side (vdm's
 * ioreq engine, the same one the xen backend runs) that answers them. The
 * two sides share only what they share on Xen: the ioreq page, the
 * buffered ioreq page, guest RAM (a memfd), event channels (eventfds here:
 * one pair per vCPU, one for the buffered ring), plus a control socket that
 * stands for the hypercalls a device model makes (interrupt injection is
 * observed by the hypervisor side through it, virtual time is advanced by
 * it). The hypervisor side runs in a thread of vdm (fast) or in a child
 * process (what a real dom0 process sees): nothing in these structures
 * depends on which.
 */
#ifndef VDM_SIM_DOMAIN_H
#define VDM_SIM_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

/* One page of ioreq slots holds 128 vCPUs, as on Xen 4.17. */
#define SIM_MAX_VCPUS 128
#define SIM_MAX_RAM   16

struct sim_ram {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host; /* MAP_SHARED mapping of guest RAM, valid on both sides */
};

struct sim_domain {
	unsigned vcpu_count;
	shared_iopage_t *iopage;    /* MAP_SHARED memfd page */
	buffered_iopage_t *bufpage; /* MAP_SHARED memfd page */
	int to_dm[SIM_MAX_VCPUS];   /* eventfd: Xen notified the vCPU's port */
	int to_hv[SIM_MAX_VCPUS];   /* eventfd: the device model notified back */
	int buf_to_dm;		    /* eventfd: the buffered ring has entries */
	int stop_fd;		    /* eventfd: the VM is gone, stop waiting */
	int control_hv;		    /* socket end of the hypervisor side */
	int control_dm;		    /* socket end of the device-model side */
	struct sim_ram ram[SIM_MAX_RAM];
	unsigned ram_count;
	unsigned timeout_ms; /* how long the hypervisor waits for an answer */
};

/* Control messages, hypervisor side -> device model; one reply each. */
enum sim_msg_op {
	SIM_MSG_WAIT = 1, /* advance virtual time by arg ns, run due timers */
	SIM_MSG_LINE,	  /* name: reply level (a) and rising edges (b) */
	SIM_MSG_MSI,	  /* pop the oldest MSI: status 1 and a=address, b=data; 0 if none */
	SIM_MSG_STATUS,	  /* status: the VM's exit code once it ended, else -1 */
	SIM_MSG_DONE,	  /* the script ended with result arg (0 = every step passed) */
	SIM_MSG_ROUTE,	  /* PCI link arg (0..3): reply a = the ISA IRQ it routes to (0: none) */
	SIM_MSG_SHUTDOWN, /* status: the platform shutdown asked (0 poweroff, 1 reboot), else -1 */
};

struct sim_msg {
	uint32_t op;
	uint32_t line; /* script line, for the device model's log */
	uint64_t arg;
	char name[64];
};

struct sim_reply {
	int64_t status; /* 0 or a negative errno unless the op says otherwise */
	uint64_t a, b;
};

/*
 * sim_domain_init: the shared pages, eventfds and control socket for
 * `vcpus` vCPUs. sim_domain_add_ram records a RAM range the guest has (the
 * mapping must be MAP_SHARED so that a child process sees the same bytes).
 * sim_domain_destroy closes and unmaps everything. 0 or a negative errno.
 */
int sim_domain_init(struct sim_domain *d, unsigned vcpus);
int sim_domain_add_ram(struct sim_domain *d, uint64_t gpa, uint64_t size, void *host);
void sim_domain_destroy(struct sim_domain *d);
/* sim_domain_stop: wake and end every wait of both sides (any thread,
 * signal-safe); sim_domain_stopped tells whether it happened. */
void sim_domain_stop(struct sim_domain *d);
bool sim_domain_stopped(const struct sim_domain *d);
/* A host pointer to [gpa, gpa+len) if it lies inside one RAM range, else NULL. */
uint8_t *sim_domain_ram(const struct sim_domain *d, uint64_t gpa, uint64_t len);

#endif /* VDM_SIM_DOMAIN_H */
