/*
 * sdk/conform/conform.h: the inside of vdev-conform, the conformance runner
 * for vdev-*.so plugins.
 *
 * main.c parses the command line and prints; runner.c runs one check in a
 * child process (or in process) and collects its result; checks*.c hold the
 * checks, listed in order in checks.c; session.c is what the checks share
 * (a test host with the plugin loaded, instance options, register sweeps,
 * a seeded random workload, and a recorder on the test host's hooks).
 * Nothing here is part of the SDK's API: only the vdev-conform command is.
 */
#ifndef VDEV_CONFORM_H
#define VDEV_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vdev/testhost.h>

/* Outcomes, in increasing severity (a check ends with the worst it saw). */
enum conform_outcome {
	CONFORM_PASS = 0,
	CONFORM_SKIP,
	CONFORM_WARN,
	CONFORM_FAIL,
	CONFORM_CRASHED,
};

#define CONFORM_DETAILS_MAX 6144
#define CONFORM_WHERE_MAX   256

/* What a check produces; lives in shared memory when the check runs in a
 * child, so that the parent can read it even after a crash. */
struct conform_result {
	enum conform_outcome outcome;
	bool complete;			   /* the check returned */
	char details[CONFORM_DETAILS_MAX]; /* "; "-separated findings */
	char where[CONFORM_WHERE_MAX];	   /* the step in progress, for crashes */
};

/* The command line, as the checks see it. */
struct conform_opts {
	const char *plugin;  /* path of the .so under test */
	const char *options; /* instance option text; NULL = chosen per device */
	uint64_t seed;
	unsigned timeout_s; /* per check */
	bool in_process;
	bool valgrind;	  /* --valgrind: uninitialised-reads runs the checks under valgrind */
	const char *self; /* this program, for a check that runs it again */
};

/* One check being run. */
struct conform_run {
	const struct conform_opts *opts;
	const struct conform_check *check;
	struct conform_result *result;
};

struct conform_check {
	const char *id;	     /* stable, kebab-case */
	unsigned section;    /* the sdk/README.md section a failure breaks */
	const char *summary; /* one line, for --list */
	void (*run)(struct conform_run *run);
	unsigned timeout_factor; /* --timeout times this (0: 1), for slow checks */
};

/* checks.c: the checks, in the order they run. */
extern const struct conform_check conform_checks[];
extern const unsigned conform_check_count;
/* conform_guide_title: the title of sdk/README.md section n ("?" if unknown). */
const char *conform_guide_title(unsigned section);
/* conform_outcome_name: "pass", "skip", "warn", "fail", "crashed". */
const char *conform_outcome_name(enum conform_outcome outcome);

/*
 * Findings. Each raises the outcome to at least its level (skip only
 * replaces pass) and appends the formatted text to the details.
 * conform_note appends without changing the outcome.
 */
void conform_fail(struct conform_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void conform_warn(struct conform_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void conform_skip(struct conform_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void conform_note(struct conform_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* conform_where: record the step in progress (reported if the check crashes). */
void conform_where(struct conform_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * runner.c: run one check. Forks unless opts->in_process; a signal, an exit
 * before the check returned, or the timeout gives CONFORM_CRASHED. The
 * child's stdout and stderr are captured, and their tail is added to the
 * details of a crash. Fills *result. Returns 0 or a negative errno when the
 * child could not be started.
 */
int conform_run_check(const struct conform_opts *opts, const struct conform_check *check,
		      struct conform_result *result);

/* ------------------------------------------------------------- session.c */

/* A seeded generator (splitmix64): the same seed gives the same workload. */
struct conform_rng {
	uint64_t state;
};
void conform_rng_seed(struct conform_rng *rng, uint64_t seed);
uint64_t conform_rng_next(struct conform_rng *rng);
/* A value in [0, bound); 0 when bound is 0. */
uint64_t conform_rng_below(struct conform_rng *rng, uint64_t bound);

#define CONFORM_VIOLATION_KINDS 16

/* The hook recorder's findings; counters only grow. */
struct conform_record {
	unsigned services;	    /* every service call seen */
	unsigned irq_calls;	    /* line_set / line_pulse / msi_send, valid handle */
	unsigned invalid_calls;	    /* any service with a destroyed handle */
	unsigned outside_calls;	    /* valid handle, no callback on the calling thread */
	unsigned outside_irq_calls; /* the subset that were interrupt services */
	unsigned foreign_irq_calls; /* interrupt service with another instance's handle */
	unsigned reads, writes;	    /* read/write callbacks that reached the plugin */
	char first_invalid[160], first_outside[160], first_foreign[160];
	/* Contract violations the test host reported, by kind (its
	 * vdev_testhost_hooks.violation classes), in the order first seen. */
	struct conform_violation {
		char kind[24];
		unsigned count;
		char first[240];
	} violations[CONFORM_VIOLATION_KINDS];
	unsigned violation_kinds;
	/* The slowest callback (wall time), and how many took over the bound. */
	uint64_t slowest_ns;
	char slowest[96];
	unsigned over_bound;
	/* DMA services (mem_*, msi_send) called while conform_record_forbid_dma. */
	unsigned forbidden_dma;
	char first_forbidden_dma[96];
	/* Poisoned bytes (VDEV_TESTHOST_POISON runs) seen in mem_write data. */
	unsigned poison_writes;
};

#define CONFORM_MAX_REGIONS 32

/* What the checks share: a test host with the plugin loaded. */
struct conform_session {
	struct conform_run *run;
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	char options[1024];  /* for instances */
	char options2[1024]; /* a second instance alive at the same time; "" if none */
	bool user_options;   /* options came from --options */
	struct conform_rng rng;
};

/*
 * conform_session_open: a test host with 16 MiB of RAM at 0, a recording
 * controller "conform" with 32 lines, the hook recorder installed, and the
 * plugin loaded. On failure the check is marked skipped (the plugin does
 * not load: other checks say why) and -1 is returned.
 */
int conform_session_open(struct conform_session *s, struct conform_run *run);
void conform_session_close(struct conform_session *s);
/*
 * conform_session_want_intr: for a device that does not require `intr`,
 * add "intr conform:0" (conform:1 for the second instance) to the default
 * options when an instance accepts it, so that its interrupts are watched
 * too. Nothing changes with --options or when the device refuses it.
 */
void conform_session_want_intr(struct conform_session *s);
/*
 * conform_create: an instance with s->options (second: s->options2). On
 * failure NULL, and the check is marked skipped with the host's reason
 * unless `quiet`.
 */
struct vdev_testdev *conform_create(struct conform_session *s, bool second, bool quiet);

/* The recorder: reset it, and read what it saw since. */
void conform_record_reset(void);
void conform_record_get(struct conform_record *rec);
/* conform_record_forbid_dma: from now on (until called with false), count
 * every guest-memory or MSI service call as forbidden (COMMAND.MASTER clear). */
void conform_record_forbid_dma(bool forbid);
/* conform_record_clear_violations: forget the violations seen so far (after
 * a probe whose refusal was provoked by vdev-conform's own options). */
void conform_record_clear_violations(void);

/*
 * conform_violation_owner: the id of the check that judges host-reported
 * violations of `kind`, or NULL when the check during which one happens
 * judges it. conform_session_close fails the running check for every
 * violation it owns or nobody owns, so that each defect is one check's.
 */
const char *conform_violation_owner(const char *kind);

/* The per-call bound of a callback: one taking longer blocks a vCPU or the
 * event loop (sdk/README.md section 10); the callback-latency check judges it. */
#define CONFORM_CALLBACK_BOUND_NS 250000000ull

/* The compare width: the first of 4, 8, 2, 1 the device declares that
 * fits in every region of dev (else the first it declares). */
unsigned conform_compare_width(const struct vdev_descriptor *desc, struct vdev_testdev *dev);

/* A register address in one of an instance's regions. */
struct conform_point {
	enum vdev_space space;
	uint64_t addr;
	uint32_t region; /* index in the instance's region list */
	uint64_t offset;
};

/*
 * conform_points: the aligned offsets of `width` in every region of dev
 * (all of them up to 4096 per region, else the first 2048, the last 1024
 * and 1024 sampled with a fixed seed, so two calls give the same list).
 * Returns the count (0 when there are no regions) and a malloc'd array.
 */
size_t conform_points(struct vdev_testdev *dev, unsigned width, struct conform_point **points);

/* conform_read_all: read every point at `width`; values and return codes. */
void conform_read_all(struct conform_session *s, const struct conform_point *points, size_t n,
		      unsigned width, uint64_t *values, int *rcs);

/* conform_write_all: write a random value at every point. */
void conform_write_all(struct conform_session *s, const struct conform_point *points, size_t n,
		       unsigned width);

/* conform_workload flags */
#define CONFORM_WL_READ	  1u
#define CONFORM_WL_WRITE  2u
#define CONFORM_WL_TIME	  4u /* advance virtual time and poll fds */
#define CONFORM_WL_ALL	  7u
#define CONFORM_WL_QUIET  8u  /* do not record steps (for worker threads) */
#define CONFORM_WL_ADDRS  16u /* write DMA-like values (conform_dma_value) */
#define CONFORM_WL_NO_CFG 32u /* leave PCI configuration space alone */

/*
 * conform_workload: `steps` random aligned accesses of declared widths on
 * dev's regions (biased towards the first 4 KiB of each), and with
 * CONFORM_WL_TIME random time advances (up to 2 ms) and fd polls. Uses rng
 * (not s->rng) so that threads can each bring their own. Returns how many
 * accesses returned something other than 0, -EIO or -ENXIO.
 */
unsigned conform_workload(struct conform_session *s, struct vdev_testdev *dev,
			  struct conform_rng *rng, unsigned steps, unsigned flags);

/*
 * conform_dma_value: a value a guest would program into a DMA register:
 * addresses inside the session's RAM, buffers that run past its end, just
 * outside it, addresses that wrap 32 or 64 bits, small lengths and command
 * bits, and anything.
 */
uint64_t conform_dma_value(struct conform_rng *rng);
/* The session's guest RAM: [CONFORM_RAM_BASE, +CONFORM_RAM_SIZE). */
#define CONFORM_RAM_BASE 0x0ull
#define CONFORM_RAM_SIZE (16ull << 20)

/* conform_open_fds: how many file descriptors this process has open. */
int conform_open_fds(void);
/* conform_threads: how many threads this process has (/proc/self/task). */
int conform_threads(void);
/* conform_now_ns: CLOCK_MONOTONIC in nanoseconds. */
uint64_t conform_now_ns(void);

/*
 * elf_exports.c: the names of the symbols `path` defines in its dynamic
 * symbol table (.dynsym: global, weak or unique binding, not undefined),
 * read with <elf.h> and bounds-checked, since the file is untrusted.
 * *names is a malloc'd array of malloc'd strings (free with
 * conform_elf_exports_free). Returns 0, or a negative errno with a sentence
 * in err: -EIO (cannot read), -ENOEXEC (not an ELF64 shared object of this
 * machine's byte order, or malformed), -ENOENT (no .dynsym).
 */
int conform_elf_exports(const char *path, char ***names, size_t *count, char *err, size_t errlen);
void conform_elf_exports_free(char **names, size_t count);

/* The checks (checks_*.c). */
void conform_check_load_rtld_now(struct conform_run *run);
void conform_check_exports_one_symbol(struct conform_run *run);
void conform_check_abi_version(struct conform_run *run);
void conform_check_descriptor_valid(struct conform_run *run);
void conform_check_options_defaults(struct conform_run *run);
void conform_check_options_reject_bad(struct conform_run *run);
void conform_check_lifecycle_repeat(struct conform_run *run);
void conform_check_lifecycle_no_leftovers(struct conform_run *run);
void conform_check_register_sweep(struct conform_run *run);
void conform_check_random_access(struct conform_run *run);
void conform_check_interrupts_via_host(struct conform_run *run);
void conform_check_no_interrupt_after_destroy(struct conform_run *run);
void conform_check_reset_power_on(struct conform_run *run);
void conform_check_save_restore_roundtrip(struct conform_run *run);
void conform_check_restore_rejects_garbage(struct conform_run *run);
void conform_check_restore_validates_fields(struct conform_run *run);
void conform_check_threads_contract(struct conform_run *run);
void conform_check_concurrent_access(struct conform_run *run);
void conform_check_time_budget(struct conform_run *run);
void conform_check_callback_latency(struct conform_run *run);
void conform_check_dma_faults(struct conform_run *run);
void conform_check_service_faults(struct conform_run *run);
void conform_check_pci_command(struct conform_run *run);
void conform_check_uninitialised_reads(struct conform_run *run);
void conform_check_virtio_reset_live(struct conform_run *run);
/* checks_virtio.c: dma-faults for a virtio-mmio device, in the check's
 * open session; false if it is not one. */
bool conform_virtio_dma_faults(struct conform_session *s);
void conform_check_virtio_save_restore_live(struct conform_run *run);
void conform_check_virtio_malformed_chains(struct conform_run *run);

#endif /* VDEV_CONFORM_H */
