/*
 * devmodel/log.h: vdm's logger.
 *
 * qvm's model: a message has one severity; a sink is a set of severities
 * (not a verbosity level) and a destination (stdout, stderr, slog = syslog
 * here, none). The VM has the sinks of its `logger` lines (default:
 * fatal,internal,error,warn,info stderr); a vdev may replace them for its
 * own messages with its `log` option. Every line carries the VM's name and
 * the first 8 hex digits of its UUID, so interleaved logs of several VMs
 * stay apart: "vdm[name/1a2b3c4d] warn: tag: text".
 *
 * Thread-safe: a line is written with one call, under a lock.
 */
#ifndef VDM_LOG_H
#define VDM_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "conf/conf.h"

/* Severities: the same bits as CONF_LOG_*. */
enum log_level {
	LOG_LVL_FATAL = CONF_LOG_FATAL,
	LOG_LVL_INTERNAL = CONF_LOG_INTERNAL,
	LOG_LVL_ERROR = CONF_LOG_ERROR,
	LOG_LVL_WARN = CONF_LOG_WARN,
	LOG_LVL_INFO = CONF_LOG_INFO,
	LOG_LVL_DEBUG = CONF_LOG_DEBUG,
	LOG_LVL_VERBOSE = CONF_LOG_VERBOSE,
};

#define LOG_MAX_SINKS 8

struct log_sink {
	unsigned filters; /* CONF_LOG_* bits */
	enum conf_log_dest dest;
};

/* A set of sinks: the VM's `logger` lines, or one vdev's `log` lines. */
struct log_sinks {
	struct log_sink sink[LOG_MAX_SINKS];
	unsigned count;
};

/*
 * A rate limit for messages a guest can cause (a failed access, an unowned
 * port, a BAR moved onto RAM, a plugin complaining about a register): at
 * most LOG_GUEST_BURST lines per LOG_GUEST_WINDOW_NS; the rest are counted
 * and the next line that gets through says how many were suppressed (and
 * log_guest_summary says it at the end). Zero-initialised is ready.
 */
#define LOG_GUEST_BURST	    16u
#define LOG_GUEST_WINDOW_NS 1000000000ull
struct log_ratelimit {
	uint64_t window_start; /* ns, CLOCK_MONOTONIC */
	unsigned in_window;
	uint64_t suppressed; /* since the last line that got through */
	uint64_t total_suppressed;
};

struct logger {
	struct log_sinks sinks;
	struct log_ratelimit guest;    /* the VM's own guest-triggered messages */
	char prefix[96];	       /* "vdm[name/uuid8]" */
	FILE *out_stdout, *out_stderr; /* where stdout/stderr sinks go (tests redirect) */
};

/*
 * log_init: a logger with the sinks of `loggers` (count 0: qvm's default),
 * lines prefixed with "vdm[system/uuid8]". system may be NULL.
 */
void log_init(struct logger *lg, const struct conf_logger *loggers, unsigned count,
	      const char *system, const char *uuid_text);

/* log_level_name: "fatal", "warn", ... for one level bit. */
const char *log_level_name(enum log_level level);

/* log_from_vdev: the severity of a plugin's enum vdev_log_level (int here). */
enum log_level log_from_vdev(int vdev_level);

/*
 * log_write / log_vwrite: one line at `level` with `tag` (NULL: none) to
 * every sink of `sinks` (NULL: the logger's own) that accepts the level.
 */
void log_write(struct logger *lg, const struct log_sinks *sinks, enum log_level level,
	       const char *tag, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void log_vwrite(struct logger *lg, const struct log_sinks *sinks, enum log_level level,
		const char *tag, const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/*
 * log_guest / log_vguest: log_write for a message a guest can trigger at
 * will, through the limit `rl` (NULL: the logger's own). Fatal messages
 * are never limited. Thread-safe.
 */
void log_guest(struct logger *lg, struct log_ratelimit *rl, const struct log_sinks *sinks,
	       enum log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void log_vguest(struct logger *lg, struct log_ratelimit *rl, const struct log_sinks *sinks,
		enum log_level level, const char *tag, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
/* log_guest_summary: "N messages suppressed" for what `rl` held back and
 * did not report yet (at teardown). */
void log_guest_summary(struct logger *lg, struct log_ratelimit *rl, const struct log_sinks *sinks,
		       const char *tag);

#endif /* VDM_LOG_H */
