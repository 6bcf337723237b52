/*
 * devmodel/xen/xen_backend.h: the "xen" backend's knobs.
 *
 * The backend itself (xen_backend.c) registers with BACKEND_REGISTER and is
 * reached through backend_find("xen"). These tunables exist for the tests
 * (which link the backend against a test double of the Xen libraries) and
 * for the few deployment choices that have no command-line option yet.
 * Change them before vm_assemble.
 */
#ifndef VDM_XEN_BACKEND_H
#define VDM_XEN_BACKEND_H

#include <stdbool.h>

#include "devmodel/xen/xen_mapcache.h"

struct xen_backend_tunables {
	/* The device whose absence means "not a Xen host". */
	const char *privcmd_path;
	/* Treat the guest as an Arm guest (MMIO only, gic, no buffered ring)
	 * even on an x86 build: the test double's Arm runs. */
	bool force_arm;
	/* How long setup waits for the domain to appear (ms). */
	unsigned wait_ms;
	/* Poll period of the run loop (ms): range resync, liveness when
	 * restricted. */
	unsigned poll_ms;
	/* --restrict: xentoolcore_restrict_all + drop to `user` after set-up.
	 * Also set by VDM_XEN_RESTRICT=1 (and VDM_XEN_USER) in the environment
	 * until main.c has the flag. user NULL or "": keep the user. */
	bool restrict_after_setup;
	const char *user;
	struct xen_mapcache_params mapcache;
};

extern struct xen_backend_tunables xen_backend_tunables;

#endif /* VDM_XEN_BACKEND_H */
