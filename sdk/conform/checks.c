/*
 * sdk/conform/checks.c: the table of checks (ids, order, the guide section
 * each one enforces) and the helpers that record findings.
 *
 * The ids are an interface: CI scripts select checks with --only/--skip and
 * parse --json, so an id never changes meaning and new checks are appended
 * at the place in the order where they belong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sdk/conform/conform.h"

const struct conform_check conform_checks[] = {
    {"load-rtld-now", 14, "dlopen(RTLD_NOW|RTLD_LOCAL) succeeds: no undefined symbols",
     conform_check_load_rtld_now, 0},
    {"exports-one-symbol", 2, "the only defined dynamic symbol is vdev_plugin_entry",
     conform_check_exports_one_symbol, 0},
    {"abi-version", 2, "the descriptor speaks this host's ABI major and is big enough",
     conform_check_abi_version, 0},
    {"descriptor-valid", 2,
     "the loader's descriptor rules; the entry returns one stable descriptor",
     conform_check_descriptor_valid, 0},
    {"options-defaults", 3, "every default parses; an instance with defaults can be created",
     conform_check_options_defaults, 0},
    {"options-reject-bad", 3,
     "bad option values are refused with an error, extreme ones never crash",
     conform_check_options_reject_bad, 0},
    {"lifecycle-repeat", 11, "create/destroy 200 times; no leak (under ASan)",
     conform_check_lifecycle_repeat, 0},
    {"lifecycle-no-leftovers", 11, "after destroy the host holds nothing and no fd stays open",
     conform_check_lifecycle_no_leftovers, 0},
    {"register-sweep", 4, "every region x offset x width 1/2/4/8 x read/write without a crash",
     conform_check_register_sweep, 0},
    {"random-access", 4, "seeded random reads, writes and time advances without a crash",
     conform_check_random_access, 0},
    {"interrupts-via-host", 5, "lines change only in callbacks, through the instance's own handle",
     conform_check_interrupts_via_host, 0},
    {"no-interrupt-after-destroy", 11, "no host call with a destroyed handle",
     conform_check_no_interrupt_after_destroy, 0},
    {"reset-power-on", 8, "after reset the registers read as on a fresh instance",
     conform_check_reset_power_on, 0},
    {"save-restore-roundtrip", 9, "save, recreate, restore: same registers, same bytes again",
     conform_check_save_restore_roundtrip, 0},
    {"restore-rejects-garbage", 9, "empty, truncated, random and bit-flipped states are refused",
     conform_check_restore_rejects_garbage, 0},
    {"restore-validates-fields", 9,
     "a well-formed state with out-of-range fields is refused or run without a crash",
     conform_check_restore_validates_fields, 0},
    {"threads-contract", 10, "host services are called only inside a callback, on its thread",
     conform_check_threads_contract, 0},
    {"concurrent-access", 10, "4 threads hammering one instance: no crash, no ASan report",
     conform_check_concurrent_access, 0},
    {"time-budget", 10, "create < 100 ms, a register access < 10 ms on average (warn only)",
     conform_check_time_budget, 0},
    {"callback-latency", 10,
     "no read, write, timer, fd, reset or controller callback blocks (250 ms per call)",
     conform_check_callback_latency, 0},
    {"dma-faults", 7,
     "DMA values inside and outside RAM, guest memory services failing: no crash, no use "
     "of a failed read's data",
     conform_check_dma_faults, 0},
    {"service-faults", 11,
     "create with timer_create/fd_watch failing: refused cleanly, or nothing it did not get "
     "is used",
     conform_check_service_faults, 0},
    {"pci-command", 5,
     "PCI: no INTx with COMMAND.INTX_DISABLE or MSI/MSI-X on, no DMA or MSI with "
     "COMMAND.MASTER off",
     conform_check_pci_command, 0},
    {"uninitialised-reads", 4,
     "under valgrind (--valgrind), no read of uninitialised memory in the access, reset and "
     "state checks",
     conform_check_uninitialised_reads, 30},
    {"virtio-reset-live", 8,
     "virtio: a reset with queues live clears status, queues and interrupt; no write after it",
     conform_check_virtio_reset_live, 0},
    {"virtio-save-restore-live", 9,
     "virtio: save with queues live, restore into a new instance: same transport, rings go on",
     conform_check_virtio_save_restore_live, 0},
    {"virtio-malformed-chains", 7,
     "virtio: loops, bad addresses and indices in chains: no crash, no write outside the rings",
     conform_check_virtio_malformed_chains, 0},
};
const unsigned conform_check_count = sizeof(conform_checks) / sizeof(conform_checks[0]);

/* The sections of sdk/README.md, the author's guide. */
static const char *const guide_titles[] = {
    NULL,
    "Quick start",
    "The descriptor and ABI",
    "Options",
    "Regions and accesses",
    "Interrupts",
    "Timers and file descriptors",
    "Guest memory",
    "Reset",
    "Save and restore",
    "Threads and locking",
    "Lifecycle and teardown",
    "Testing without a hypervisor",
    "Conformance",
    "Shipping",
};

const char *conform_guide_title(unsigned section)
{
	if (section == 0 || section >= sizeof(guide_titles) / sizeof(guide_titles[0]))
		return "?";
	return guide_titles[section];
}

const char *conform_outcome_name(enum conform_outcome outcome)
{
	switch (outcome) {
	case CONFORM_PASS:
		return "pass";
	case CONFORM_SKIP:
		return "skip";
	case CONFORM_WARN:
		return "warn";
	case CONFORM_FAIL:
		return "fail";
	case CONFORM_CRASHED:
		return "crashed";
	}
	return "?";
}

static void result_append(struct conform_result *r, const char *fmt, va_list ap)
{
	size_t len = strlen(r->details);

	if (len >= sizeof(r->details) - 8)
		return; /* full: the first findings are the useful ones */
	if (len) {
		snprintf(r->details + len, sizeof(r->details) - len, "; ");
		len += 2;
	}
	vsnprintf(r->details + len, sizeof(r->details) - len, fmt, ap);
}

static void result_raise(struct conform_result *r, enum conform_outcome outcome)
{
	if (outcome == CONFORM_SKIP) {
		if (r->outcome == CONFORM_PASS)
			r->outcome = CONFORM_SKIP;
		return;
	}
	/* A real finding outranks an earlier "could not test this part". */
	if (r->outcome == CONFORM_SKIP || outcome > r->outcome)
		r->outcome = outcome;
}

#define DEFINE_FINDING(fn, level)                                                                  \
	void fn(struct conform_run *run, const char *fmt, ...)                                     \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		result_raise(run->result, level);                                                  \
		result_append(run->result, fmt, ap);                                               \
		va_end(ap);                                                                        \
	}

DEFINE_FINDING(conform_fail, CONFORM_FAIL)
DEFINE_FINDING(conform_warn, CONFORM_WARN)
DEFINE_FINDING(conform_skip, CONFORM_SKIP)

void conform_note(struct conform_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result_append(run->result, fmt, ap);
	va_end(ap);
}

void conform_where(struct conform_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run->result->where, sizeof(run->result->where), fmt, ap);
	va_end(ap);
}
