/*
 * devmodel/log.c: sinks, filters and the line format of vdm's logger.
 * "slog" (QNX's system logger) is syslog(3) on Linux.
 */
#include "devmodel/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <vdev/vdev.h>

/* One lock for all loggers: lines from several threads never interleave. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(struct logger *lg, const struct conf_logger *loggers, unsigned count,
	      const char *system, const char *uuid_text)
{
	memset(lg, 0, sizeof(*lg));
	for (unsigned i = 0; i < count && lg->sinks.count < LOG_MAX_SINKS; i++) {
		lg->sinks.sink[lg->sinks.count].filters = loggers[i].filters;
		lg->sinks.sink[lg->sinks.count].dest = loggers[i].dest;
		lg->sinks.count++;
	}
	if (lg->sinks.count == 0) {
		lg->sinks.sink[0].filters = CONF_LOG_FATAL | CONF_LOG_INTERNAL | CONF_LOG_ERROR |
					    CONF_LOG_WARN | CONF_LOG_INFO;
		lg->sinks.sink[0].dest = CONF_LOG_STDERR;
		lg->sinks.count = 1;
	}
	snprintf(lg->prefix, sizeof(lg->prefix), "vdm[%s/%.8s]", system ? system : "guest",
		 uuid_text ? uuid_text : "-");
}

const char *log_level_name(enum log_level level)
{
	switch (level) {
	case LOG_LVL_FATAL:
		return "fatal";
	case LOG_LVL_INTERNAL:
		return "internal";
	case LOG_LVL_ERROR:
		return "error";
	case LOG_LVL_WARN:
		return "warn";
	case LOG_LVL_INFO:
		return "info";
	case LOG_LVL_DEBUG:
		return "debug";
	case LOG_LVL_VERBOSE:
		return "verbose";
	}
	return "?";
}

enum log_level log_from_vdev(int vdev_level)
{
	switch (vdev_level) {
	case VDEV_LOG_FATAL:
		return LOG_LVL_FATAL;
	case VDEV_LOG_ERROR:
		return LOG_LVL_ERROR;
	case VDEV_LOG_WARN:
		return LOG_LVL_WARN;
	case VDEV_LOG_INFO:
		return LOG_LVL_INFO;
	case VDEV_LOG_DEBUG:
		return LOG_LVL_DEBUG;
	default:
		return LOG_LVL_VERBOSE;
	}
}

static int log_syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LVL_FATAL:
		return LOG_CRIT;
	case LOG_LVL_INTERNAL:
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

void log_vwrite(struct logger *lg, const struct log_sinks *sinks, enum log_level level,
		const char *tag, const char *fmt, va_list ap)
{
	char text[1024];
	size_t len;

	if (!sinks)
		sinks = &lg->sinks;
	vsnprintf(text, sizeof(text), fmt, ap);
	len = strlen(text);
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	pthread_mutex_lock(&log_lock);
	for (unsigned i = 0; i < sinks->count; i++) {
		const struct log_sink *s = &sinks->sink[i];
		FILE *out;

		if (!(s->filters & (unsigned)level))
			continue;
		switch (s->dest) {
		case CONF_LOG_STDOUT:
			out = lg->out_stdout ? lg->out_stdout : stdout;
			break;
		case CONF_LOG_STDERR:
			out = lg->out_stderr ? lg->out_stderr : stderr;
			break;
		case CONF_LOG_SLOG:
			syslog(log_syslog_priority(level), "%s %s: %s%s%s", lg->prefix,
			       log_level_name(level), tag ? tag : "", tag ? ": " : "", text);
			continue;
		default:
			continue;
		}
		fprintf(out, "%s %s: %s%s%s\n", lg->prefix, log_level_name(level), tag ? tag : "",
			tag ? ": " : "", text);
		fflush(out);
	}
	pthread_mutex_unlock(&log_lock);
}

void log_write(struct logger *lg, const struct log_sinks *sinks, enum log_level level,
	       const char *tag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(lg, sinks, level, tag, fmt, ap);
	va_end(ap);
}

/* Under log_lock: may one more line go out now? */
static bool log_ratelimit_take(struct log_ratelimit *rl, uint64_t now, uint64_t *suppressed)
{
	*suppressed = 0;
	if (now - rl->window_start >= LOG_GUEST_WINDOW_NS) {
		rl->window_start = now;
		rl->in_window = 0;
	}
	if (rl->in_window >= LOG_GUEST_BURST) {
		rl->suppressed++;
		rl->total_suppressed++;
		return false;
	}
	rl->in_window++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

void log_vguest(struct logger *lg, struct log_ratelimit *rl, const struct log_sinks *sinks,
		enum log_level level, const char *tag, const char *fmt, va_list ap)
{
	struct timespec ts;
	uint64_t suppressed;
	bool go;

	if (level == LOG_LVL_FATAL) {
		log_vwrite(lg, sinks, level, tag, fmt, ap);
		return;
	}
	if (!rl)
		rl = &lg->guest;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&log_lock);
	go = log_ratelimit_take(rl, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
				&suppressed);
	pthread_mutex_unlock(&log_lock);
	if (!go)
		return;
	if (suppressed)
		log_write(lg, sinks, level, tag,
			  "%llu similar guest-triggered messages suppressed (at most %u a second)",
			  (unsigned long long)suppressed, LOG_GUEST_BURST);
	log_vwrite(lg, sinks, level, tag, fmt, ap);
}

void log_guest(struct logger *lg, struct log_ratelimit *rl, const struct log_sinks *sinks,
	       enum log_level level, const char *tag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vguest(lg, rl, sinks, level, tag, fmt, ap);
	va_end(ap);
}

void log_guest_summary(struct logger *lg, struct log_ratelimit *rl, const struct log_sinks *sinks,
		       const char *tag)
{
	uint64_t n, total;

	if (!rl)
		rl = &lg->guest;
	pthread_mutex_lock(&log_lock);
	n = rl->suppressed;
	total = rl->total_suppressed;
	rl->suppressed = 0;
	pthread_mutex_unlock(&log_lock);
	if (n)
		log_write(lg, sinks, LOG_LVL_WARN, tag,
			  "%llu guest-triggered messages suppressed at the end (%llu in all)",
			  (unsigned long long)n, (unsigned long long)total);
}
