/*
 * conf/conf.h: the qvm configuration language -> a typed VM description.
 *
 * Used by vdm (devmodel/), the SDK's host-side code (option values of
 * plugins are parsed with conf_number_parse / conf_loc_parse) and tests.
 * conf/README.md is the language reference.
 *
 * Everything a parse produces (strings included) belongs to the struct
 * conf_vm and is freed by conf_vm_free. Every element carries the position
 * (file:line:column) it came from, so that later stages (VM assembly, plugin
 * option validation) report errors at the right place with conf_diag_error.
 */
#ifndef VDM_CONF_H
#define VDM_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <vdev/vdev.h> /* struct vdev_loc, enum vdev_space */

/* The qvm exit code for a configuration error. */
#define CONF_EXIT_CONFIG 65

/* ------------------------------------------------------------ diagnostics */

struct conf_pos {
	const char *file; /* "<command line>" for bare arguments; owned by the conf_vm */
	unsigned line;	  /* 1-based */
	unsigned col;	  /* 1-based, in bytes */
};

/*
 * A sink for diagnostics. Errors are printed as
 *   file:line:col: error: message
 *     <the source line>
 *     <caret under the column>
 * to `out` (stderr when NULL) and counted. Sources are remembered by the
 * diag so that later stages can quote the line too.
 */
struct conf_diag;
struct conf_diag *conf_diag_new(FILE *out);
void conf_diag_free(struct conf_diag *d);
void conf_diag_error(struct conf_diag *d, const struct conf_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void conf_diag_note(struct conf_diag *d, const struct conf_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
unsigned conf_diag_error_count(const struct conf_diag *d);
/*
 * conf_diag_source: remember the text of `file` so that later diagnostics
 * at a position in it quote the line (the parser does this for every file it
 * reads and for the joined command line). Both strings are copied; a second
 * call for the same file replaces the text. Returns 0, -EINVAL, -ENOMEM.
 */
int conf_diag_source(struct conf_diag *d, const char *file, const char *text);

/* ----------------------------------------------------------------- numbers */

/* conf_number_parse flags */
#define CONF_NUM_MULTIPLIERS (1u << 0) /* K/M/G (k/m/g) suffix, x1024 */
#define CONF_NUM_SIGNED	     (1u << 1) /* a leading '-' or '+' is allowed */

/*
 * conf_number_parse: the whole of `text` as a decimal or 0x-hex number,
 * with the suffixes `flags` allows. Returns 0 and *value; -EINVAL for empty
 * text, trailing garbage or a bad digit (with *bad_offset the 0-based offset of
 * the first bad character when bad_offset is not NULL); -ERANGE on overflow.
 * With CONF_NUM_SIGNED the result is an int64_t stored in *value.
 */
int conf_number_parse(const char *text, unsigned flags, uint64_t *value, size_t *bad_offset);

/*
 * conf_line_parse: an interrupt line spec "controller:line" (e.g. ioapic:4),
 * the one syntax the host, the test host and the backends accept. The
 * controller name is the `*name_len` bytes before the first ':' (not
 * checked against any registry); the line is a conf_number_parse number
 * without suffixes. Returns 0; -EINVAL when there is no ':', the name is
 * empty or the number is bad (*bad_offset, when not NULL, is the offset in
 * `spec` of the first bad character); -ERANGE when the number overflows.
 */
int conf_line_parse(const char *spec, size_t *name_len, uint64_t *line, size_t *bad_offset);

/*
 * conf_loc_parse: a location spec: [mem:|io:]addr[,len], pci:bus:dev[.fn],
 * pci:vid/did. `default_space` applies to a bare address. Returns 0;
 * -EINVAL with a message in errbuf (and *bad_offset) otherwise.
 */
int conf_loc_parse(const char *text, enum vdev_space default_space, struct vdev_loc *loc,
		   char *errbuf, size_t errlen, size_t *bad_offset);

/* ------------------------------------------------------------ the VM tree */

/* An option given inside a context, kept as text (device options are
 * validated later against the plugin's schema). value is NULL when the
 * option had no argument. */
struct conf_option {
	const char *name;
	const char *value;
	struct conf_pos pos;	   /* of the option name */
	struct conf_pos value_pos; /* of the value */
};

struct conf_loc {
	struct vdev_loc loc;
	bool has_space;	  /* mem: or io: was written */
	const char *text; /* as written, after substitution */
	struct conf_pos pos;
	/* pass only: loc spec[,len][,flags][=host] */
	const char *pass_flags; /* "rw", "+x"...; NULL when not written */
	bool has_host;
	struct vdev_loc host; /* =host_address or =pci:... */
};

struct conf_intr {
	const char *text;	/* "ctrl:line" or "apic" */
	const char *controller; /* "ctrl" or "apic" */
	bool has_line;
	unsigned line;
	struct conf_pos pos;
	/* pass only: guest_intr[,u][,t][=vector] (controller NULL for a bare number) */
	bool unmask;
	bool ist;
	bool has_vector;
	unsigned vector;
};

struct conf_cpu {
	struct conf_pos pos;
	bool has_sched;
	int sched_priority;
	char sched_policy; /* 'r', 'f', 'o' or 0 */
	bool has_runmask;
	uint64_t runmask; /* bit N = host CPU N */
	const char *partition;
	struct conf_option *sets; /* `set` inside this cpu's context */
	unsigned set_count;
};

struct conf_memory {
	struct conf_pos pos;
	bool has_start; /* no start: placed after the highest RAM/ROM so far */
	uint64_t start; /* resolved by the parser even when !has_start */
	uint64_t length;
};

struct conf_load {
	struct conf_pos pos;
	const char
	    *blob_type; /* NULL: sniff (ELF, ...); else "data", "acpi", "fdt", "initrd", "raw" */
	bool has_address;
	uint64_t address;
	const char *path;
};

/* pass and reserve share one shape. */
struct conf_region_ctx {
	struct conf_pos pos;
	const char *blob_type; /* pass only */
	struct conf_loc *locs;
	unsigned loc_count;
	struct conf_intr *intrs;
	unsigned intr_count;
};

/* logger / log: filter set and destination */
#define CONF_LOG_FATAL	  (1u << 0)
#define CONF_LOG_INTERNAL (1u << 1)
#define CONF_LOG_ERROR	  (1u << 2)
#define CONF_LOG_WARN	  (1u << 3)
#define CONF_LOG_INFO	  (1u << 4)
#define CONF_LOG_DEBUG	  (1u << 5)
#define CONF_LOG_VERBOSE  (1u << 6)
enum conf_log_dest { CONF_LOG_STDOUT, CONF_LOG_STDERR, CONF_LOG_SLOG, CONF_LOG_NONE };
struct conf_logger {
	struct conf_pos pos;
	unsigned filters;
	enum conf_log_dest dest;
};

struct conf_vdev {
	struct conf_pos pos; /* of the `vdev` keyword */
	const char *type;    /* "ser8250", "vdev-ser8250", or a path to a .so */
	struct conf_pos type_pos;
	struct conf_loc *locs;
	unsigned loc_count;
	struct conf_intr *intrs; /* `intr` may repeat, and takes comma lists */
	unsigned intr_count;
	const char *name; /* NULL when not given */
	struct conf_pos name_pos;
	const char *log;	     /* the per-vdev log spec, NULL when not given */
	struct conf_logger log_spec; /* `log` parsed; valid when log != NULL */
	bool isolate;		     /* `isolate`: the plugin runs in a process of its own */
	struct conf_pos isolate_pos;
	bool isolate_terminate;	     /* on-failure=terminate (default: ignore) */
	unsigned isolate_timeout_ms; /* timeout=MS; 0: the default (1000) */
	struct conf_option *options; /* device options in order, repeats kept */
	unsigned option_count;
	struct conf_option *sets; /* `set` inside this vdev's context */
	unsigned set_count;
};

enum conf_unsupported_kind { CONF_UNSUP_INSTRUCTION, CONF_UNSUP_REFERENCE, CONF_UNSUP_REGISTER };
enum conf_unsupported_action { CONF_UNSUP_ABORT, CONF_UNSUP_FAIL, CONF_UNSUP_IGNORE };

struct conf_vm {
	const char *system; /* NULL when not given */
	struct conf_pos system_pos;
	struct conf_cpu *cpus; /* none given: vdm makes one vCPU */
	unsigned cpu_count;
	struct conf_memory *rams;
	unsigned ram_count;
	struct conf_memory *roms;
	unsigned rom_count;
	struct conf_load *loads;
	unsigned load_count;
	struct conf_region_ctx *passes;
	unsigned pass_count;
	struct conf_region_ctx *reserves;
	unsigned reserve_count;
	struct conf_vdev *vdevs; /* in config order */
	unsigned vdev_count;
	struct conf_logger *loggers; /* none given: fatal,internal,error,warn,info stderr */
	unsigned logger_count;
	/* unsupported policy; defaults: instruction fail, reference ignore, register fail */
	enum conf_unsupported_action unsupported[3];
	struct conf_option *sets; /* global/guest `set var val`, in order */
	unsigned set_count;
	const char *cmdline;
	const char *dump; /* directory, or "|command" */
	bool dryrun;
	struct conf_pos cmdline_pos, dump_pos; /* of their arguments, when given */
	/* every input file, for diagnostics positions */
	char **files;
	unsigned file_count;
};

/* --------------------------------------------------------------- parsing */

/* A named host address-space entry for $asinfo_start{}/$asinfo_length{}. */
struct conf_asinfo {
	const char *name;
	uint64_t start;
	uint64_t length;
};

/* A named in-memory configuration text (conf_env.texts). */
struct conf_text {
	const char *name;
	const char *text;
};

struct conf_env {
	/* NULL: getenv(3) */
	const char *(*getenv)(void *ctx, const char *name);
	void *getenv_ctx;
	/* asinfo table; entries given with --asinfo come first and win */
	const struct conf_asinfo *asinfo;
	unsigned asinfo_count;
	/* Interrupt controllers the backend provides itself, which `intr X:N`
	 * may name without a `vdev ... name X` before it. NULL-terminated;
	 * NULL: {"apic", "isa", "pci", "msi", "gic", "cpu"}. */
	const char *const *native_controllers;
	/*
	 * Whether a device option takes an argument: only the plugin's schema
	 * knows, so the parser asks, for each device option of a `vdev`
	 * context, with the type as written after `vdev` and the option name.
	 * Return 0: no argument (a NOARG bool; the parser still takes the next
	 * word when it is a bool literal, `start off`); 1: one argument (the
	 * next word unless it ends the options); -1: unknown (the type does
	 * not load, the option is not in the schema): the parser's own rule
	 * applies, as when option_arity is NULL (conf/README.md, "Contexts").
	 * Called on the parsing thread, possibly several times for one type;
	 * it must not report anything itself (later stages do).
	 */
	int (*option_arity)(void *ctx, const char *vdev_type, const char *option);
	void *option_ctx;
	/*
	 * Named texts that a command-line word `@NAME` reads instead of a file
	 * (a configuration vdm generates itself, e.g. from the device-model
	 * command line libxl passes). Errors in one name NAME as their file, so
	 * make it say where the text came from ("<xl-dm devices>"). A word
	 * whose name is not in the table reads the file as usual.
	 */
	const struct conf_text *texts;
	unsigned text_count;
};


/*
 * conf_parse_argv: read the configuration from command-line words in order,
 * as one stream: "@file" reads that file; any other word is an option or
 * argument of the command line itself. argv holds the configuration words
 * only (not the program name nor vdm's own flags); a context open at an
 * @file's start or end is closed there. Returns the VM tree, or NULL when
 * there was at least one error (all reported to `diag`; the caller exits
 * with CONF_EXIT_CONFIG).
 */
struct conf_vm *conf_parse_argv(int argc, char *const *argv, const struct conf_env *env,
				struct conf_diag *diag);
/* conf_parse_string: the same for one buffer, named `file` in diagnostics. */
struct conf_vm *conf_parse_string(const char *text, const char *file, const struct conf_env *env,
				  struct conf_diag *diag);
void conf_vm_free(struct conf_vm *vm);

/* conf_vm_print: the resolved VM description (`vdm --check`). */
void conf_vm_print(const struct conf_vm *vm, FILE *out);

/* conf_asinfo_load_iomem: named top-level entries of /proc/iomem (or
 * `path`). Returns the count, or a negative errno; *table is malloc'd. */
int conf_asinfo_load_iomem(const char *path, struct conf_asinfo **table);
void conf_asinfo_free(struct conf_asinfo *table, unsigned count);

/*
 * conf_system_name_check: is `name` usable as a VM's `system` name? It
 * names the control socket file and tags log lines, so it is 1 to
 * CONF_SYSTEM_NAME_MAX characters from [A-Za-z0-9._-], not starting with
 * '.' or '-' (no path separators, no "..", no option look-alike). Returns
 * NULL when it is, else a phrase saying what is wrong, with *bad_offset
 * (if not NULL) at the first offending character.
 */
#define CONF_SYSTEM_NAME_MAX 64
const char *conf_system_name_check(const char *name, size_t *bad_offset);

/*
 * conf_file_open: open a file a user named, for reading, never blocking:
 * a directory, FIFO, socket or device is refused before anything reads it
 * (a FIFO with no writer would otherwise hang the caller). Returns an fd
 * (O_CLOEXEC, blocking reads), or a negative errno (-EISDIR for a
 * directory, -EINVAL for another kind of file) with *why set to a phrase
 * for "cannot read 'PATH': WHY" (static storage).
 */
int conf_file_open(const char *path, const char **why);
/*
 * conf_file_read: the whole of such a file, NUL-terminated (NUL bytes in
 * it are kept: *length says how much was read). At most `max` bytes:
 * -EFBIG beyond. A pipe is read too, never blocking for good: a FIFO with
 * no writer fails at once (-ENODATA), a writer silent for 10 s fails
 * (-ETIMEDOUT). Returns 0 and a malloc'd *text, or a negative errno with
 * *why set as conf_file_open does.
 */
int conf_file_read(const char *path, size_t max, char **text, size_t *length, const char **why);

#endif /* VDM_CONF_H */
