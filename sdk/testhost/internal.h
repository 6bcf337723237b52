/*
 * sdk/testhost/internal.h: the test host's own structures, shared by its files:
 *   testhost.c  the host object: RAM, controllers, plugins, trace, log, usage
 *   instance.c  creating and destroying instances, lifecycle calls
 *   dispatch.c  regions and guest accesses
 *   events.c    virtual-time timers and fd watches
 *   services.c  the struct vdev_host table plugins call
 *
 * Locking. th->lock (recursive) guards every host structure. dev->lock
 * (recursive) serialises one instance's callbacks. Order: dev->lock before
 * th->lock; plugin code is never called with th->lock held, because a plugin
 * calls host services that take it from whatever thread it runs on.
 *
 * Lifetime. Destroyed instances, timers, watches and plugin controllers are
 * not freed but moved to graveyard lists freed with the host: a late call
 * with a stale handle then finds a recognisable dead object (reported
 * through the service hook) instead of freed memory, and a new object can
 * never reuse a stale handle's address.
 */
#ifndef VDEV_TESTHOST_INTERNAL_H
#define VDEV_TESTHOST_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <vdev/testhost.h>
#include <vdev/vdev.h>

#include "sdk/host/arena.h"
#include "sdk/host/plugin.h"

#define TH_MAGIC      0x76646576u /* "vdev": a handle this host gave out */
#define TH_MAGIC_DEAD 0x64656164u /* "dead" */

/* A growable text buffer (trace, log). */
struct th_text {
	char *buf;
	size_t len, cap;
};

struct th_ram {
	uint64_t gpa;
	size_t size;
	uint8_t *mem;
};

struct th_region {
	uint64_t base, length;
	uint32_t id;
	uint64_t gen; /* unique per registration: a re-check after locking sees removal */
	struct vdev_testdev *dev;
};

/* An interrupt controller: a recording one, or a plugin instance (VDEV_F_INTC). */
struct th_intc {
	char *name;
	unsigned line_count;
	unsigned *asserted; /* per line: how many handles hold it high (wired-OR) */
	unsigned *edges;    /* per line: rising edges seen */
	struct vdev_testdev *plugin; /* NULL for a recording controller */
	bool dead;                   /* its plugin instance was destroyed */
	struct th_intc *next;
};

struct vdev_line {
	uint32_t magic;
	struct vdev_testdev *dev;
	struct th_intc *intc;
	unsigned line;
	int level; /* this handle's level; the host filters repeats */
	struct vdev_line *next;
};

struct vdev_timer {
	uint32_t magic;
	struct vdev_testdev *dev;
	vdev_timer_fn *fn;
	void *arg;
	bool armed;
	uint64_t deadline, period;
	uint64_t seq; /* arming order: timers due at the same time fire in it */
	uint64_t gen; /* bumped by arm/cancel/destroy: a picked expiry checks it */
	struct vdev_timer *next;
};

struct vdev_watch {
	uint32_t magic;
	struct vdev_testdev *dev;
	int fd;
	uint32_t events;
	vdev_fd_fn *fn;
	void *arg;
	uint64_t gen;
	struct vdev_watch *next;
};

struct th_map {
	void *ptr;
	size_t length;
	struct th_map *next;
};

/* The handle a plugin gets: recognisable while the host lives. */
struct vdev_host_ctx {
	uint32_t magic;
	struct vdev_testdev *dev;
};

struct vdev_testdev {
	struct vdev_host_ctx ctx;
	struct vdev_testhost *th;
	struct vdev_plugin *plugin;
	const struct vdev_descriptor *desc;
	struct vdev_arena *arena; /* the config and everything it points to */
	struct vdev_config *config;
	const char *name;         /* instance name, in arena */
	const char *given_name;   /* `name` when the config gave it, in arena */
	void *state;              /* what create() stored */
	pthread_mutex_t lock;
	bool self_locked;
	bool alive;  /* between the start of create() and the end of destroy() */
	bool dying;  /* destroy started: no new access is routed to it */
	unsigned log_filters; /* CONF_LOG_* bits; 0 = capture nothing */
	struct th_intc *intc; /* the controller this instance provides, or NULL */
	struct vdev_line *lines;
	struct vdev_timer *timers;
	struct vdev_watch *watches;
	struct th_map *maps;
	unsigned regions;
	struct vdev_testdev *next;
};

struct vdev_testhost {
	pthread_mutex_t lock;
	char err[2048];
	struct th_ram *rams;
	unsigned ram_count;
	struct th_intc *intcs, *dead_intcs;
	struct vdev_plugin_set *plugins;
	struct vdev_testdev *devs;      /* newest first */
	struct vdev_testdev *graveyard; /* destroyed instances */
	struct vdev_timer *dead_timers;
	struct vdev_watch *dead_watches;
	struct th_region *regions[VDEV_SPACE_COUNT]; /* sorted by base, non-overlapping */
	unsigned region_count[VDEV_SPACE_COUNT], region_cap[VDEV_SPACE_COUNT];
	uint64_t region_gen;
	struct th_text trace, log;
	int terminated;
	uint64_t now;
	uint64_t timer_seq;
	struct vdev_testhost_hooks hooks;
	bool started;
	/* vdev_testhost_inject_faults */
	unsigned fault_services, fault_one_in, faults;
	uint64_t fault_rng;
};

/* testhost.c */
void th_set_error(struct vdev_testhost *th, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void th_text_printf(struct th_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* th_host_error: a contract violation of class `kind` (VDEV_TESTHOST_VIOLATION_* in
 * vdev/testhost.h's list); th->lock NOT held. */
void th_host_error(struct vdev_testhost *th, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void th_hook_enter(struct vdev_testdev *dev, const char *callback);
void th_hook_exit(struct vdev_testdev *dev, const char *callback);
struct th_intc *th_intc_find(struct vdev_testhost *th, const char *name, size_t len);
int th_intc_register(struct vdev_testhost *th, const char *name, unsigned lines,
		     struct vdev_testdev *plugin, struct th_intc **out);
/* Lock an instance for a callback (no-op for the data path of SELF_LOCKED
 * instances when `data_path`). */
void th_dev_lock(struct vdev_testdev *dev, bool data_path);
void th_dev_unlock(struct vdev_testdev *dev, bool data_path);

/* th_mutex_init_recursive: `m` as a recursive mutex (the host lock and each
 * instance lock: a plugin may call back into the host from under them). */
void th_mutex_init_recursive(pthread_mutex_t *m);
/* Returns the RAM bytes for [gpa, gpa+length) or NULL; th->lock held. */
uint8_t *th_ram_find(struct vdev_testhost *th, uint64_t gpa, size_t length);

/* dispatch.c */
int th_region_add(struct vdev_testdev *dev, enum vdev_space space, uint64_t base,
		  uint64_t length, uint32_t id);
int th_region_remove(struct vdev_testdev *dev, uint32_t id);
void th_regions_remove_all(struct vdev_testdev *dev);
bool th_ram_overlaps_regions(struct vdev_testhost *th, uint64_t gpa, size_t size);

/* services.c */
extern const struct vdev_host th_services;
/* th_poisoned: while mem_read faults are injected, whether buf holds a run of
 * 8 VDEV_TESTHOST_POISON bytes (what a failed mem_read left in a buffer). */
bool th_poisoned(struct vdev_testhost *th, const void *buf, size_t length);
/* Changes a line handle's level and delivers it; th->lock NOT held. */
int th_line_drive(struct vdev_testhost *th, struct vdev_line *line, int level);

/* events.c */
void th_timers_release(struct vdev_testdev *dev);
void th_watches_release(struct vdev_testdev *dev);

#endif /* VDEV_TESTHOST_INTERNAL_H */
