/*
 * devmodel/sim/sim_hv.h: the "hypervisor" side of a simulated domain.
 *
 * It posts requests into the shared ioreq page the way Xen 4.17 does
 * (reference/xen-ioreq.md 1.4 and 3.1) and checks what the device model
 * does with the slot: a state that moves backwards, an unknown state, a
 * NONE written by the device model, a changed vp_eport or a read result with
 * bits above its size are protocol errors, where Xen would crash the
 * domain; here they fail the run loudly.
 */
#ifndef VDM_SIM_HV_H
#define VDM_SIM_HV_H

#include <stdio.h>

#include "devmodel/sim/sim_domain.h"
#include "devmodel/sim/vmscript.h"

/*
 * sim_hv_post: post `req` (state NONE; vp_eport is filled in) on `vcpu`'s
 * slot, notify, wait for the answer and complete it. For reads, req->data
 * holds the result. Returns 0, -ETIMEDOUT when the device model did not
 * answer within d->timeout_ms, or -EPROTO for a protocol error (described in
 * `why`).
 */
int sim_hv_post(struct sim_domain *d, unsigned vcpu, ioreq_t *req, char *why, size_t whylen);

/*
 * sim_hv_post_buffered: an 8-byte-or-less write into the buffered ring, as
 * Xen does for VGA writes and TIMEOFFSET (two slots for 8 bytes). -EAGAIN
 * when the ring is full (Xen then sends it synchronously), -EINVAL for an
 * address above 0xfffff.
 */
int sim_hv_post_buffered(struct sim_domain *d, uint8_t type, uint64_t addr, unsigned size,
			 uint64_t data);

/* sim_hv_control: one control message and its reply. */
int sim_hv_control(struct sim_domain *d, const struct sim_msg *msg, struct sim_reply *reply);

/*
 * sim_hv_run_script: play the script as the guest. Prints the first
 * mismatch as "file:line: FAIL: step: why" to `out`, tells the device model
 * the result (SIM_MSG_DONE) and returns it: 0 when every step passed, 1
 * otherwise.
 */
int sim_hv_run_script(struct sim_domain *d, const struct vms_script *script, FILE *out);

#endif /* VDM_SIM_HV_H */
