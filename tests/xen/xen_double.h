/*
 * tests/xen/xen_double.h: the test side of the Xen library test double.
 *
 * xen_double.c defines the libxendevicemodel, libxenforeignmemory,
 * libxenevtchn, libxentoolcore, libxenstore and libxenctrl functions the
 * xen backend calls, with the signatures of Debian's 4.17 headers (it
 * includes them, so a mismatch does not compile), and is linked only into
 * tests in place of the real libraries. It simulates one domain: vCPUs, the
 * ioreq server's page (posted into the way Xen does), event channels (a
 * pipe whose readability is the pending queue), guest RAM (a memfd that
 * foreign mappings alias), the @releaseDomain watch; and it records every
 * call with its arguments for the tests to check the order.
 */
#ifndef VDM_TESTS_XEN_DOUBLE_H
#define VDM_TESTS_XEN_DOUBLE_H

#include <stdbool.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/hvm/ioreq.h>

enum xd_guest { XD_HVM, XD_PVH, XD_PV, XD_ARM };

struct xd_config {
	uint16_t domid;
	unsigned vcpus;
	enum xd_guest guest;
	uint64_t ram_start, ram_size; /* page-aligned */
	uint64_t bad_gfn;	      /* a RAM page Xen refuses to map (0: none) */
	bool absent;		      /* the domain does not exist */
};

struct xd_call {
	char name[48];
	uint64_t a[6];
};

/* Start over: forget every call, create the domain as described. */
void xd_reset(const struct xd_config *cfg);
/* Free everything the double holds (end of a test). */
void xd_cleanup(void);

unsigned xd_call_count(void);
const struct xd_call *xd_call_at(unsigned index);
/* Index of the first call `name` at or after `from`, or -1. */
int xd_find(const char *name, unsigned from);
/* Index of the last call `name`, or -1. */
int xd_find_last(const char *name);
unsigned xd_count(const char *name);
/* Print the log (for a failing test). */
void xd_dump(void);

/*
 * xd_post: play Xen for `vcpu`: write `req` into its slot, state READY,
 * raise its port, wait up to timeout_ms for the notify, check the state is
 * IORESP_READY, copy the answer back into *req, set the slot NONE.
 * 0, -ETIMEDOUT, -ENOTCONN (server not enabled/bound), -EPROTO.
 */
int xd_post(unsigned vcpu, ioreq_t *req, unsigned timeout_ms);
/* Are the ioreq server and its ranges gone, is it enabled? */
bool xd_server_exists(void);
bool xd_server_enabled(void);
/* How many io ranges / pci devices the server has now. */
unsigned xd_range_count(void);
/* Is [start, end] (inclusive) registered for is_mmio? */
bool xd_has_range(int is_mmio, uint64_t start, uint64_t end);
/*
 * Events raised and not yet taken by xenevtchn_pending. Binding a port
 * raises one with no request behind it, as Xen 4.17 does.
 */
unsigned xd_events_queued(void);
/* Foreign mappings of guest RAM alive now. */
unsigned xd_ram_mappings(void);
/* The guest RAM bytes (test side). */
uint8_t *xd_ram(void);
/* The domain ends: it disappears and @releaseDomain fires. */
void xd_domain_destroy(void);
/* The domain shuts down (still exists, flagged shutdown) and @releaseDomain fires. */
void xd_domain_shutdown(void);
/* The value xs_write stored at `path` (NULL: none), and how many keys exist. */
/* A key libxl would have written (a device's backend), before the run. */
void xd_store_set(const char *path, const char *value);
const char *xd_store_get(const char *path);
unsigned xd_store_count(void);
/* The domain is suspended (xl save): shut down with SHUTDOWN_suspend, @releaseDomain fires. */
void xd_domain_suspend(void);
/* The next call `name` (a pass-through call of libxenctrl) fails with err, once. */
void xd_fail_next(const char *name, int err);
/* Has xentoolcore_restrict_all been called (and for which domain)? */
int xd_restricted_domid(void);

#endif /* VDM_TESTS_XEN_DOUBLE_H */
