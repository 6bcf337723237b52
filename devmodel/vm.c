/*
 * devmodel/vm.c: VM assembly from the config tree, the run/stop protocol,
 * status, teardown.
 *
 * Assembly order is the config's ordering rules made concrete: the
 * backend's native interrupt controllers first, then guest memory (so that
 * device regions overlapping RAM/ROM/reserve are refused naming both),
 * then vdevs in config order (so a controller plugin precedes every vdev
 * that names it). Every `intr` of a vdev is resolved before its create()
 * runs, so an unknown controller or line is reported at the intr's own
 * position even for a device that would not look it up.
 *
 * After the first configuration error, later vdevs are still loaded and
 * their options validated (so one run reports every typo) but not created,
 * to avoid a cascade of errors caused by the first one.
 */
#include "devmodel/vm.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "devmodel/control.h"
#include "devmodel/dump.h"
#include "devmodel/evloop.h"
#include "devmodel/pci_host.h"
#include "devmodel/exitcode.h"
#include "devmodel/guest_mem.h"
#include "devmodel/iomap.h"
#include "devmodel/irq.h"
#include "devmodel/log.h"
#include "devmodel/plugin_host.h"
#include "devmodel/set_vars.h"
#include "devmodel/teardown_guard.h"
#include "sdk/host/arena.h"
#include "sdk/host/options.h"
#include "sdk/host/plugin.h"

/* A RAM/ROM/reserve range as a dispatch owner. */
struct vm_mem_owner {
	struct iomap_owner owner;
	struct vm *vm;
	enum guest_mem_kind kind;
	uint64_t base;
};

struct vm_vdev {
	struct vdev_host_ctx *inst;
	struct vdev_arena *arena;
};

struct vm {
	const struct conf_vm *conf;
	struct vm_options opts;
	char uuid[37];
	struct logger log;
	struct guest_mem *mem;
	struct iomap *iomap;
	struct irq_registry *irq;
	struct evloop *loop;
	struct vdev_plugin_set *plugins;
	struct vm_vdev *vdevs;
	unsigned vdev_count;
	struct vm_mem_owner *mem_owners;
	unsigned mem_owner_count;
	bool backend_set_up;
	void *backend_data;
	struct dm_io io;
	pthread_mutex_t stop_lock;
	bool stopping;
	bool host_stop; /* the first stop came from a signal or the control socket */
	int stop_code;
	atomic_bool started;
	atomic_bool ready_told, paused;
	int signal_fd;
	int signal_wake; /* eventfd: the signal thread returns */
	int dump_wake;	 /* eventfd: write the dump, then stop with dump_code */
	atomic_int dump_code;
	pthread_t signal_thread;
};

/* ------------------------------------------------------------ accessors */

struct guest_mem *vm_mem(struct vm *vm)
{
	return vm->mem;
}
struct iomap *vm_iomap(struct vm *vm)
{
	return vm->iomap;
}
struct irq_registry *vm_irq(struct vm *vm)
{
	return vm->irq;
}
struct evloop *vm_evloop(struct vm *vm)
{
	return vm->loop;
}
struct logger *vm_logger(struct vm *vm)
{
	return &vm->log;
}
const struct conf_vm *vm_conf(struct vm *vm)
{
	return vm->conf;
}
const struct vm_options *vm_options(struct vm *vm)
{
	return &vm->opts;
}
const char *vm_uuid(struct vm *vm)
{
	return vm->uuid;
}
bool vm_guest_started(struct vm *vm)
{
	return atomic_load(&vm->started);
}
void *vm_backend_data(struct vm *vm)
{
	return vm->backend_data;
}
void vm_set_backend_data(struct vm *vm, void *data)
{
	vm->backend_data = data;
}
const struct dm_io *vm_io(struct vm *vm)
{
	return &vm->io;
}
unsigned vm_vdev_count(struct vm *vm)
{
	return vm->vdev_count;
}

struct vdev_host_ctx *vm_vdev_at(struct vm *vm, unsigned index)
{
	return index < vm->vdev_count ? vm->vdevs[index].inst : NULL;
}

struct vdev_host_ctx *vm_vdev_find(struct vm *vm, const char *instance_name)
{
	for (unsigned i = 0; i < vm->vdev_count; i++)
		if (strcmp(plugin_host_name(vm->vdevs[i].inst), instance_name) == 0)
			return vm->vdevs[i].inst;
	return NULL;
}

void vm_log(struct vm *vm, unsigned level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(&vm->log, NULL, (enum log_level)level, "vm", fmt, ap);
	va_end(ap);
}

void vm_log_guest(struct vm *vm, unsigned level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vguest(&vm->log, NULL, NULL, (enum log_level)level, "vm", fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ dispatch */

static int vm_io_access(void *ctx, enum vdev_space space, uint64_t addr, unsigned size,
			bool is_write, uint64_t *value, int32_t vcpu)
{
	struct vm *vm = ctx;

	return iomap_access(vm->iomap, space, addr, size, is_write, value, vcpu);
}

static int vm_io_mem_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	struct vm *vm = ctx;

	return guest_mem_read(vm->mem, gpa, buf, length);
}

static int vm_io_mem_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	struct vm *vm = ctx;

	return guest_mem_write(vm->mem, gpa, buf, length);
}

/* MMIO that lands in RAM/ROM through the dispatcher (sim, rep copies). */
static int vm_mem_access(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
			 unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	struct vm_mem_owner *mo = ctx;
	uint64_t v = 0;
	int ret;

	if (is_write) {
		if (mo->kind == GUEST_MEM_ROM)
			return 0; /* ROM ignores writes, as on hardware */
		v = *value;
		return guest_mem_write(mo->vm->mem, mo->base + offset, &v, size);
	}
	ret = guest_mem_read(mo->vm->mem, mo->base + offset, &v, size);
	*value = v;
	return ret;
}

static void vm_unsupported_abort(void *ctx, enum vdev_space space, uint64_t addr, unsigned size,
				 bool is_write)
{
	struct vm *vm = ctx;

	/* vCPUs may hit it again before the stop takes effect: say it once */
	if (vm_stopping(vm))
		return;
	vm_log(vm, LOG_LVL_FATAL,
	       "unsupported reference: %u-byte %s of %s 0x%llx that no device owns; "
	       "`unsupported reference abort` ends the VM",
	       size, is_write ? "write" : "read", iomap_space_name(space),
	       (unsigned long long)addr);
	vm_stop(vm, VDM_EXIT_UNSUPPORTED);
}

/* -------------------------------------------------------------- new/free */

struct vm *vm_new(const struct conf_vm *conf, const struct vm_options *opts)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	uuid_t uuid;

	if (!vm)
		return NULL;
	vm->conf = conf;
	if (opts)
		vm->opts = *opts;
	else
		vm->opts.domid = -1;
	uuid_generate(uuid);
	uuid_unparse_lower(uuid, vm->uuid);
	log_init(&vm->log, conf->loggers, conf->logger_count, conf->system, vm->uuid);
	vm->log.out_stdout = vm->opts.log_stdout;
	vm->log.out_stderr = vm->opts.log_stderr;
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm->stop_code = -1;
	vm->signal_fd = vm->signal_wake = vm->dump_wake = -1;
	atomic_init(&vm->dump_code, -1);
	atomic_init(&vm->started, false);
	atomic_init(&vm->ready_told, false);
	atomic_init(&vm->paused, false);
	vm->mem = guest_mem_new();
	vm->iomap = iomap_new();
	vm->irq = irq_registry_new();
	vm->loop = evloop_new();
	vm->plugins = vdev_plugin_set_new();
	if (!vm->mem || !vm->iomap || !vm->irq || !vm->loop || !vm->plugins) {
		vm_free(vm);
		return NULL;
	}
	iomap_set_policy(vm->iomap, conf->unsupported[CONF_UNSUP_REFERENCE], vm_unsupported_abort,
			 vm);
	vm->io = (struct dm_io){
	    .access = vm_io_access,
	    .mem_read = vm_io_mem_read,
	    .mem_write = vm_io_mem_write,
	    .ctx = vm,
	};
	return vm;
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->loop)
		evloop_stop(vm->loop);
	for (unsigned i = vm->vdev_count; i-- > 0;) {
		teardown_guard_stage("destroying vdev %s",
				     vm->vdevs[i].inst ? plugin_host_name(vm->vdevs[i].inst) : "?");
		plugin_host_destroy(vm->vdevs[i].inst);
		vdev_arena_free(vm->vdevs[i].arena);
	}
	free(vm->vdevs);
	if (vm->backend_set_up && vm->opts.backend->teardown) {
		teardown_guard_stage("tearing down the %s backend", vm->opts.backend->name);
		vm->opts.backend->teardown(vm);
	}
	teardown_guard_stage("unloading plugins and freeing the VM");
	vdev_plugin_set_free(vm->plugins);
	evloop_free(vm->loop);
	irq_registry_free(vm->irq);
	pci_host_detach(vm);
	iomap_free(vm->iomap);
	guest_mem_free(vm->mem);
	free(vm->mem_owners);
	pthread_mutex_destroy(&vm->stop_lock);
	free(vm);
}

/* ------------------------------------------------------------ stopping */

static void vm_stop_as(struct vm *vm, int code, bool from_host)
{
	bool first;

	pthread_mutex_lock(&vm->stop_lock);
	first = !vm->stopping;
	if (first) {
		vm->stopping = true;
		vm->host_stop = from_host;
		vm->stop_code = code;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (first && vm->backend_set_up && vm->opts.backend->stop)
		vm->opts.backend->stop(vm, code);
}

void vm_stop(struct vm *vm, int code)
{
	vm_stop_as(vm, code, false);
}

void vm_stop_from_host(struct vm *vm, int code)
{
	vm_stop_as(vm, code, true);
}

bool vm_stopped_by_host(struct vm *vm)
{
	bool h;

	pthread_mutex_lock(&vm->stop_lock);
	h = vm->stopping && vm->host_stop;
	pthread_mutex_unlock(&vm->stop_lock);
	return h;
}

bool vm_stopping(struct vm *vm)
{
	bool s;

	pthread_mutex_lock(&vm->stop_lock);
	s = vm->stopping;
	pthread_mutex_unlock(&vm->stop_lock);
	return s;
}

int vm_stop_code(struct vm *vm)
{
	int c;

	pthread_mutex_lock(&vm->stop_lock);
	c = vm->stopping ? vm->stop_code : -1;
	pthread_mutex_unlock(&vm->stop_lock);
	return c;
}

void vm_backend_ready(struct vm *vm)
{
	if (atomic_exchange(&vm->ready_told, true))
		return;
	if (vm->opts.ready)
		vm->opts.ready(vm->opts.ready_ctx, vm);
}

int vm_pause(struct vm *vm, bool paused)
{
	if (!vm->opts.backend || !vm->opts.backend->pause)
		return -ENOTSUP;
	atomic_store(&vm->paused, paused);
	vm->opts.backend->pause(vm, paused);
	return 0;
}

bool vm_paused(struct vm *vm)
{
	return atomic_load(&vm->paused);
}

/* ------------------------------------------------------------- memory */

/* The position of the config entry that made the memory range at `start`. */
static const struct conf_pos *vm_mem_pos(const struct conf_vm *c, enum guest_mem_kind kind,
					 uint64_t start)
{
	if (kind == GUEST_MEM_RAM) {
		for (unsigned i = 0; i < c->ram_count; i++)
			if (c->rams[i].start == start)
				return &c->rams[i].pos;
	} else if (kind == GUEST_MEM_ROM) {
		for (unsigned i = 0; i < c->rom_count; i++)
			if (c->roms[i].start == start)
				return &c->roms[i].pos;
	} else {
		for (unsigned i = 0; i < c->reserve_count; i++)
			for (unsigned j = 0; j < c->reserves[i].loc_count; j++)
				if (c->reserves[i].locs[j].loc.base == start)
					return &c->reserves[i].locs[j].pos;
	}
	return NULL;
}

static int vm_add_owner(struct vm *vm, enum guest_mem_kind kind, enum vdev_space space,
			uint64_t base, uint64_t length, const struct conf_pos *pos,
			struct conf_diag *diag)
{
	struct vm_mem_owner *mo = &vm->mem_owners[vm->mem_owner_count];
	struct iomap_conflict conflict;
	int ret;

	*mo = (struct vm_mem_owner){
	    .owner = {.name = guest_mem_kind_name(kind),
		      .access = kind == GUEST_MEM_RESERVE ? NULL : vm_mem_access,
		      .access_sizes = VDEV_ACCESS_SIZES_ALL,
		      .ctx = mo},
	    .vm = vm,
	    .kind = kind,
	    .base = base,
	};
	ret = iomap_add(vm->iomap, space, base, length, &mo->owner, vm->mem_owner_count, &conflict);
	if (ret == -EEXIST) {
		conf_diag_error(diag, pos, "%s %s 0x%llx-0x%llx overlaps %s 0x%llx-0x%llx",
				guest_mem_kind_name(kind), iomap_space_name(space),
				(unsigned long long)base, (unsigned long long)(base + length - 1),
				conflict.owner, (unsigned long long)conflict.base,
				(unsigned long long)(conflict.base + conflict.length - 1));
		return VDM_EXIT_CONFIG;
	}
	if (ret < 0) {
		conf_diag_error(diag, pos, "%s 0x%llx,0x%llx: %s", guest_mem_kind_name(kind),
				(unsigned long long)base, (unsigned long long)length,
				ret == -EINVAL ? "empty or past the end of the address space"
					       : strerror(-ret));
		return ret == -ENOMEM ? VDM_EXIT_FATAL_START : VDM_EXIT_CONFIG;
	}
	vm->mem_owner_count++;
	return 0;
}

static int vm_add_memory(struct vm *vm, enum guest_mem_kind kind, uint64_t start, uint64_t length,
			 const struct conf_pos *pos, struct conf_diag *diag)
{
	struct guest_mem_range conflict;
	void *host = NULL;
	int ret;

	if (kind != GUEST_MEM_RESERVE && vm->opts.backend && vm->backend_set_up &&
	    vm->opts.backend->mem_backing)
		host = vm->opts.backend->mem_backing(vm, kind, start, length);
	ret = guest_mem_add(vm->mem, kind, start, length, host, &conflict);
	if (ret == -EEXIST) {
		const struct conf_pos *other = vm_mem_pos(vm->conf, conflict.kind, conflict.start);

		conf_diag_error(diag, pos, "%s 0x%llx-0x%llx overlaps %s 0x%llx-0x%llx",
				guest_mem_kind_name(kind), (unsigned long long)start,
				(unsigned long long)(start + length - 1),
				guest_mem_kind_name(conflict.kind),
				(unsigned long long)conflict.start,
				(unsigned long long)(conflict.start + conflict.length - 1));
		if (other)
			conf_diag_note(diag, other, "%s given here",
				       guest_mem_kind_name(conflict.kind));
		return VDM_EXIT_CONFIG;
	}
	if (ret == -ENOMEM) {
		vm_log(vm, LOG_LVL_FATAL, "%s 0x%llx,0x%llx: cannot allocate host memory",
		       guest_mem_kind_name(kind), (unsigned long long)start,
		       (unsigned long long)length);
		return VDM_EXIT_FATAL_START;
	}
	if (ret < 0) {
		conf_diag_error(diag, pos, "%s 0x%llx,0x%llx: empty or past the end of memory",
				guest_mem_kind_name(kind), (unsigned long long)start,
				(unsigned long long)length);
		return VDM_EXIT_CONFIG;
	}
	return vm_add_owner(vm, kind, VDEV_SPACE_MMIO, start, length, pos, diag);
}

static int vm_build_memory(struct vm *vm, struct conf_diag *diag)
{
	const struct conf_vm *c = vm->conf;
	unsigned owners = c->ram_count + c->rom_count;
	int rc = 0, ret;

	for (unsigned i = 0; i < c->reserve_count; i++)
		owners += c->reserves[i].loc_count;
	vm->mem_owners = calloc(owners ? owners : 1, sizeof(*vm->mem_owners));
	if (!vm->mem_owners)
		return VDM_EXIT_FATAL_START;

	for (unsigned i = 0; i < c->ram_count; i++) {
		ret = vm_add_memory(vm, GUEST_MEM_RAM, c->rams[i].start, c->rams[i].length,
				    &c->rams[i].pos, diag);
		if (ret && !rc)
			rc = ret;
	}
	for (unsigned i = 0; i < c->rom_count; i++) {
		ret = vm_add_memory(vm, GUEST_MEM_ROM, c->roms[i].start, c->roms[i].length,
				    &c->roms[i].pos, diag);
		if (ret && !rc)
			rc = ret;
	}
	for (unsigned i = 0; i < c->reserve_count; i++) {
		for (unsigned j = 0; j < c->reserves[i].loc_count; j++) {
			const struct conf_loc *cl = &c->reserves[i].locs[j];
			const struct vdev_loc *l = &cl->loc;
			uint64_t len = l->length ? l->length : 1;

			ret = 0;
			if (l->kind == VDEV_LOC_ADDR && l->space == VDEV_SPACE_MMIO)
				ret = vm_add_memory(vm, GUEST_MEM_RESERVE, l->base, len, &cl->pos,
						    diag);
			else if (l->kind == VDEV_LOC_ADDR)
				ret = vm_add_owner(vm, GUEST_MEM_RESERVE, l->space, l->base, len,
						   &cl->pos, diag);
			else if (l->kind == VDEV_LOC_PCI_BDF)
				ret = vm_add_owner(vm, GUEST_MEM_RESERVE, VDEV_SPACE_PCICFG,
						   VDEV_PCICFG_ADDR(l->bus, l->dev, l->fn, 0),
						   0x1000, &cl->pos, diag);
			else
				vm_log(vm, LOG_LVL_WARN,
				       "%s:%u:%u: reserve loc %s: a PCI vendor/device id reserves "
				       "no address; ignored",
				       cl->pos.file, cl->pos.line, cl->pos.col, cl->text);
			if (ret && !rc)
				rc = ret;
		}
	}
	for (unsigned i = 0; i < c->pass_count; i++) {
		const struct backend_ops *b = vm->opts.backend;

		if (b && b->pass) {
			ret = b->pass(vm, &c->passes[i], diag);
		} else {
			conf_diag_error(diag, &c->passes[i].pos,
					"pass: the %s backend cannot give host memory, ports, devices "
					"or interrupts to the guest; pass-through needs the xen "
					"backend (--backend xen --domid N)",
					b ? b->name : vm->opts.backend_name ? vm->opts.backend_name
									    : "chosen");
			ret = VDM_EXIT_CONFIG;
		}
		if (ret && (!rc || ret == VDM_EXIT_FATAL_START))
			rc = ret;
	}
	return rc;
}

/* -------------------------------------------------------------- vdevs */

/*
 * Every `intr` of the vdev names an existing controller and line. After an
 * earlier error (`quiet_missing`) the controller may be a vdev that was not
 * created because of it: an unknown name is not reported again then.
 */
static int vm_check_intrs(struct vm *vm, const struct conf_vdev *v, struct conf_diag *diag,
			  bool quiet_missing)
{
	int rc = 0;

	for (unsigned i = 0; i < v->intr_count; i++) {
		struct vdev_line *line;
		const char *text = v->intrs[i].text;
		int ret = irq_line_get(vm->irq, text, &line);

		if (ret == 0) {
			irq_line_put(vm->irq, line);
			continue;
		}
		if (ret == -ENOENT && quiet_missing) {
			/* the cascade of an error already reported */
		} else if (ret == -ENOENT) {
			char known[256] = "";
			const char *name;
			unsigned lines;

			for (unsigned k = 0; irq_controller_at(vm->irq, k, &name, &lines) == 0; k++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known),
					 "%s%s", k ? ", " : "", name);
			conf_diag_error(diag, &v->intrs[i].pos,
					"intr %s: no interrupt controller '%s' (known: %s); a "
					"controller vdev must come before the vdevs that name it",
					text,
					v->intrs[i].controller ? v->intrs[i].controller : text,
					known[0] ? known : "none");
		} else if (ret == -ERANGE) {
			conf_diag_error(diag, &v->intrs[i].pos,
					"intr %s: controller '%s' has no line %u", text,
					v->intrs[i].controller, v->intrs[i].line);
		} else if (ret == -ENOMEM) {
			return VDM_EXIT_FATAL_START;
		} else {
			conf_diag_error(diag, &v->intrs[i].pos,
					"intr %s: expected controller:line or apic", text);
		}
		rc = VDM_EXIT_CONFIG;
	}
	return rc;
}

static int vm_build_vdevs(struct vm *vm, struct conf_diag *diag, int rc)
{
	const struct conf_vm *c = vm->conf;

	vm->vdevs = calloc(c->vdev_count ? c->vdev_count : 1, sizeof(*vm->vdevs));
	if (!vm->vdevs)
		return VDM_EXIT_FATAL_START;
	for (unsigned i = 0; i < c->vdev_count; i++) {
		const struct conf_vdev *v = &c->vdevs[i];
		struct vdev_plugin *plugin;
		struct vdev_arena *arena;
		struct vdev_config *config;
		char err[VDEV_HOST_ERRLEN];
		int ret;

		ret = vdev_plugin_set_load(vm->plugins, v->type, vm->opts.plugin_dirs,
					   vm->opts.plugin_dir_count, &plugin, err, sizeof(err));
		if (ret == -ENOMEM)
			return VDM_EXIT_FATAL_START;
		if (ret < 0) {
			conf_diag_error(diag, &v->type_pos, "%s", err);
			rc = rc ? rc : VDM_EXIT_CONFIG;
			continue;
		}
		if ((plugin->desc->flags & VDEV_F_SINGLETON) && plugin->instances > 0) {
			conf_diag_error(diag, &v->pos,
					"vdev %s: this device allows only one instance per VM",
					plugin->desc->name);
			rc = rc ? rc : VDM_EXIT_CONFIG;
			continue;
		}
		arena = vdev_arena_new();
		if (!arena)
			return VDM_EXIT_FATAL_START;
		ret = vdev_config_build(plugin->desc, v, plugin->instances, diag, arena, &config);
		if (ret < 0) {
			vdev_arena_free(arena);
			if (ret == -ENOMEM)
				return VDM_EXIT_FATAL_START;
			rc = rc ? rc : VDM_EXIT_CONFIG;
			continue;
		}
		ret = vm_check_intrs(vm, v, diag, rc != 0);
		if (rc == 0)
			rc = ret;
		if (rc != 0) {
			/* validate the rest, create nothing more */
			vdev_arena_free(arena);
			plugin->instances++;
			continue;
		}
		ret = plugin_host_create(vm, plugin, v, config, diag,
					 &vm->vdevs[vm->vdev_count].inst);
		if (ret != 0) {
			vdev_arena_free(arena);
			rc = ret;
			continue;
		}
		vm->vdevs[vm->vdev_count++].arena = arena;
		plugin->instances++;
	}
	return rc;
}

/* --check's stand-ins: the natives' lines lead nowhere, RAM is not there. */
static void vm_inert_set_level(void *ctx, unsigned line, int level)
{
}

static const struct irq_controller_ops vm_inert_ops = {.set_level = vm_inert_set_level};

static int vm_no_ram_read(void *ctx, uint64_t gpa, void *buf, size_t length)
{
	return -EFAULT;
}

static int vm_no_ram_write(void *ctx, uint64_t gpa, const void *buf, size_t length)
{
	return -EFAULT;
}

static void *vm_no_ram_map(void *ctx, uint64_t gpa, size_t length, uint32_t prot)
{
	errno = EFAULT;
	return NULL;
}

/*
 * --check: what the backend's setup provides, without the hypervisor: its
 * native controllers (same names and sizes, inert), no guest RAM.
 */
static int vm_check_setup(struct vm *vm)
{
	static const char *const defaults[] = {"apic", "isa", "pci", "msi", "gic", "cpu", NULL};
	static const struct guest_mem_backend no_ram = {
	    .read = vm_no_ram_read, .write = vm_no_ram_write, .map = vm_no_ram_map};
	const struct backend_ops *b = vm->opts.backend;
	const char *const *names = b && b->native_controllers ? b->native_controllers : defaults;

	guest_mem_set_backend(vm->mem, &no_ram);
	for (unsigned i = 0; names[i]; i++) {
		unsigned lines = b && b->native_lines ? b->native_lines(vm->conf, names[i]) : 1024;
		int ret = irq_controller_register(vm->irq, names[i], lines ? lines : 1,
						  &vm_inert_ops, NULL, NULL);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int vm_assemble(struct vm *vm, struct conf_diag *diag)
{
	const struct backend_ops *b = vm->opts.backend;
	int rc, limits = 0;

	/* the backend's limits first: none of them may fail only at start */
	if (b && b->check_config)
		limits = b->check_config(vm->conf, diag);
	if (set_vars_check(vm->conf, b ? b->name : vm->opts.backend_name, diag) ||
	    dump_check(vm->conf, diag))
		limits = VDM_EXIT_CONFIG;
	if (vm->opts.check_only) {
		int ret = vm_check_setup(vm);

		if (ret < 0) {
			vm_log(vm, LOG_LVL_FATAL, "--check: %s", strerror(-ret));
			return VDM_EXIT_FATAL_START;
		}
	} else if (b) {
		int ret = b->setup ? b->setup(vm) : 0;

		if (ret < 0) {
			vm_log(vm, LOG_LVL_FATAL, "backend %s: setup failed: %s", b->name,
			       strerror(-ret));
			return VDM_EXIT_FATAL_START;
		}
		vm->backend_set_up = true;
	}
	if (b && (b->pci_config_ports || b->pci_config_address)) {
		int pret = pci_host_attach(vm, b->pci_config_ports);

		if (pret < 0) {
			vm_log(vm, LOG_LVL_FATAL, "pci host bridge: %s", strerror(-pret));
			return VDM_EXIT_FATAL_START;
		}
	}
	rc = vm_build_memory(vm, diag);
	if (rc == VDM_EXIT_FATAL_START)
		return rc;
	rc = vm_build_vdevs(vm, diag, rc);
	if (rc == 0 && b && b->pci_config_ports && pci_host_attach_bridge(vm) == 0)
		vm_log(vm, LOG_LVL_DEBUG, "pci 0:0.0 is a vdev's: no default host bridge");
	if (rc == 0)
		rc = limits;
	if (rc == 0)
		vm_log(vm, LOG_LVL_DEBUG, "vm %s uuid %s assembled: %u vdevs",
		       vm->conf->system ? vm->conf->system : "guest", vm->uuid, vm->vdev_count);
	return rc;
}

/* ------------------------------------------------------------- output */

static void vm_print_size(FILE *out, uint64_t n)
{
	static const char *unit[] = {"", "K", "M", "G", "T"};
	unsigned u = 0;

	while (u < 4 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	fprintf(out, "%llu%s", (unsigned long long)n, unit[u]);
}

void vm_print(struct vm *vm, FILE *out)
{
	const char *name;
	unsigned lines;

	fprintf(out, "vm %s uuid %s\n", vm->conf->system ? vm->conf->system : "guest", vm->uuid);
	fprintf(out, "backend %s\n",
		vm->opts.backend ? vm->opts.backend->name
				 : (vm->opts.backend_name ? vm->opts.backend_name : "none"));
	fprintf(out, "memory:\n");
	for (unsigned i = 0; i < guest_mem_count(vm->mem); i++) {
		const struct guest_mem_range *r = guest_mem_range_at(vm->mem, i);

		fprintf(out, "  %-8s 0x%016llx-0x%016llx ", guest_mem_kind_name(r->kind),
			(unsigned long long)r->start,
			(unsigned long long)(r->start + r->length - 1));
		vm_print_size(out, r->length);
		fputc('\n', out);
	}
	fprintf(out, "regions:\n");
	for (int s = 0; s < VDEV_SPACE_COUNT; s++) {
		struct iomap_region_info info;

		for (unsigned i = 0; iomap_region_at(vm->iomap, (enum vdev_space)s, i, &info) == 0;
		     i++) {
			bool is_mem = info.owner->access == vm_mem_access || !info.owner->access;

			fprintf(out, "  %-6s 0x%016llx-0x%016llx %s", iomap_space_name(s),
				(unsigned long long)info.base,
				(unsigned long long)(info.base + info.length - 1),
				info.owner->name);
			if (!is_mem)
				fprintf(out, " (region %u)", info.id);
			if (info.nested)
				fputs(" nested", out);
			fputc('\n', out);
		}
	}
	fprintf(out, "interrupt controllers:\n");
	for (unsigned k = 0; irq_controller_at(vm->irq, k, &name, &lines) == 0; k++) {
		struct vdev_host_ctx *owner = vm_vdev_find(vm, name);

		fprintf(out, "  %-16s %u lines (%s)\n", name, lines,
			owner ? plugin_host_descriptor(owner)->name : "native");
	}
	fprintf(out, "lines:\n");
	for (unsigned i = 0; i < vm->vdev_count; i++) {
		const char *l;

		for (unsigned j = 0; (l = plugin_host_line_at(vm->vdevs[i].inst, j)); j++)
			fprintf(out, "  %-16s -> %s\n", plugin_host_name(vm->vdevs[i].inst), l);
	}
	fprintf(out, "vdevs:\n");
	for (unsigned i = 0; i < vm->vdev_count; i++) {
		struct vdev_plugin *p = plugin_host_plugin(vm->vdevs[i].inst);

		fprintf(out, "  %-16s %s %s %s\n", plugin_host_name(vm->vdevs[i].inst),
			p->desc->name, p->desc->version, p->path);
	}
}

void vm_status(struct vm *vm, FILE *out)
{
	fprintf(out, "vm %s uuid %s: %s, backend %s\n",
		vm->conf->system ? vm->conf->system : "guest", vm->uuid,
		vm_stopping(vm)	       ? "stopping"
		: vm_guest_started(vm) ? "running"
				       : "configured",
		vm->opts.backend ? vm->opts.backend->name : "none");
	fprintf(out, "unowned accesses: mmio %llu pio %llu pcicfg %llu\n",
		(unsigned long long)iomap_unowned_count(vm->iomap, VDEV_SPACE_MMIO),
		(unsigned long long)iomap_unowned_count(vm->iomap, VDEV_SPACE_PIO),
		(unsigned long long)iomap_unowned_count(vm->iomap, VDEV_SPACE_PCICFG));
	fprintf(out, "vdevs:\n");
	for (unsigned i = 0; i < vm->vdev_count; i++)
		plugin_host_status(vm->vdevs[i].inst, out);
	fflush(out);
}

/* ---------------------------------------------------------------- run */

/*
 * Every signal that can reach vdm is handled or deliberately ignored
 * (devmodel/README.md, "Signals"). Handled ones are blocked in every thread
 * and read from a signalfd on the event loop, so a handler never runs in
 * the middle of a device callback:
 *   SIGTERM, SIGINT, SIGHUP (libxl destroying its device model), SIGUSR1,
 *   SIGPWR, SIGXCPU   stop in order, exit 0
 *   SIGQUIT           stop in order, exit 3 (as if power was cut)
 *   SIGUSR2           print the status
 */
static const int vm_handled_signals[] = {SIGTERM, SIGINT,  SIGHUP,  SIGUSR1,
					 SIGPWR,  SIGXCPU, SIGQUIT, SIGUSR2};
/*
 * Ignored, because their default action would end or stop vdm for no
 * reason of its own: a closed pipe or socket (SIGPIPE: the write fails
 * with EPIPE instead), a file size limit (SIGXFSZ: EFBIG instead), a
 * background vdm touching its terminal (SIGTTIN/SIGTTOU: EIO instead),
 * timers and I/O notification vdm never asks for. Real-time signals are
 * ignored too, except the ones a backend takes for itself later (the kvm
 * backend's vCPU kick installs its own handler over this).
 */
static const int vm_ignored_signals[] = {SIGPIPE,   SIGXFSZ, SIGTTIN, SIGTTOU,	SIGALRM,
					 SIGVTALRM, SIGPROF, SIGIO,   SIGSTKFLT};

static void vm_signal_set(sigset_t *set)
{
	sigemptyset(set);
	for (unsigned i = 0; i < sizeof(vm_handled_signals) / sizeof(vm_handled_signals[0]); i++)
		sigaddset(set, vm_handled_signals[i]);
}

void vm_block_signals(void)
{
	sigset_t set;

	vm_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (unsigned i = 0; i < sizeof(vm_ignored_signals) / sizeof(vm_ignored_signals[0]); i++)
		signal(vm_ignored_signals[i], SIG_IGN);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		signal(s, SIG_IGN);
}

static void vm_signal_fire(struct vm *vm)
{
	struct signalfd_siginfo si;

	while (read(vm->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		switch (sig) {
		case SIGUSR2:
			vm_status(vm, vm->log.out_stderr ? vm->log.out_stderr : stderr);
			/* and the guest dump, when the config asks for one */
			if (vm->conf->dump)
				dump_write(vm, "SIGUSR2");
			break;
		case SIGQUIT:
			vm_log(vm, LOG_LVL_INFO, "SIGQUIT: ending as if power was cut");
			vm_stop_from_host(vm, VDM_EXIT_POWER_CUT);
			break;
		default:
			vm_log(vm, LOG_LVL_INFO, "SIG%s: shutting down (sent by pid %u)",
			       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", si.ssi_pid);
			vm_stop_from_host(vm, VDM_EXIT_NORMAL);
			break;
		}
	}
}

/*
 * Signals have a thread of their own, not the event loop: a device callback
 * running long there (a timer storm in virtual time) cannot delay a SIGTERM.
 */
static void *vm_signal_main(void *arg)
{
	struct vm *vm = arg;
	struct pollfd pfd[3] = {{.fd = vm->signal_fd, .events = POLLIN},
				{.fd = vm->signal_wake, .events = POLLIN},
				{.fd = vm->dump_wake, .events = POLLIN}};

	for (;;) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents)
			vm_signal_fire(vm);
		if (pfd[2].revents) {
			uint64_t n;

			if (read(vm->dump_wake, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
				dump_write(vm, "watchdog");
				vm_stop(vm, atomic_load(&vm->dump_code));
			}
		}
	}
	return NULL;
}

int vm_stop_after_dump(struct vm *vm, int code)
{
	uint64_t one = 1;
	int none = -1;

	if (vm->dump_wake < 0 || vm_stopping(vm))
		return -EAGAIN;
	/* the first request wins, as the first stop does */
	if (atomic_compare_exchange_strong(&vm->dump_code, &none, code) &&
	    write(vm->dump_wake, &one, sizeof(one)) != (ssize_t)sizeof(one))
		return -EAGAIN;
	return 0;
}

static int vm_signals_start(struct vm *vm)
{
	sigset_t set;
	int ret;

	vm_signal_set(&set);
	vm->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	vm->signal_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->dump_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->signal_fd < 0 || vm->signal_wake < 0 || vm->dump_wake < 0) {
		ret = -errno;
		goto fail;
	}
	ret = -pthread_create(&vm->signal_thread, NULL, vm_signal_main, vm);
	if (ret == 0)
		return 0;
fail:
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	if (vm->signal_wake >= 0)
		close(vm->signal_wake);
	if (vm->dump_wake >= 0)
		close(vm->dump_wake);
	vm->signal_fd = vm->signal_wake = vm->dump_wake = -1;
	return ret;
}

static void vm_signals_stop(struct vm *vm)
{
	uint64_t one = 1;
	int ret;

	if (vm->signal_wake < 0)
		return;
	if (write(vm->signal_wake, &one, sizeof(one)) < 0) {
		/* cannot fail for an eventfd that is not at its maximum */
	}
	ret = pthread_join(vm->signal_thread, NULL);
	if (ret)
		vm_log(vm, LOG_LVL_ERROR, "signal thread: %s", strerror(ret));
	close(vm->signal_fd);
	close(vm->signal_wake);
	close(vm->dump_wake);
	vm->signal_fd = vm->signal_wake = vm->dump_wake = -1;
}

int vm_run(struct vm *vm)
{
	struct control *control = NULL;
	int code, ret;

	if (!vm->opts.backend || vm->opts.check_only) {
		vm_log(vm, LOG_LVL_FATAL, "no backend to run the guest on");
		return VDM_EXIT_FATAL_START;
	}
	ret = vm_signals_start(vm);
	if (ret < 0) {
		vm_log(vm, LOG_LVL_FATAL, "cannot watch signals: %s", strerror(-ret));
		return VDM_EXIT_FATAL_START;
	}
	/* Before the guest starts: a VM that cannot have its own socket (the
	 * name is taken, the directory is not safe) does not run at all. */
	if (control_open(vm, &control) < 0) {
		vm_signals_stop(vm);
		return VDM_EXIT_FATAL_START;
	}
	ret = evloop_start(vm->loop);
	if (ret < 0) {
		vm_log(vm, LOG_LVL_FATAL, "cannot start the event loop: %s", strerror(-ret));
		control_close(control);
		vm_signals_stop(vm);
		return VDM_EXIT_FATAL_START;
	}
	vm_log(vm, LOG_LVL_INFO, "vm %s uuid %s starting on %s with %u vdevs",
	       vm->conf->system ? vm->conf->system : "guest", vm->uuid, vm->opts.backend->name,
	       vm->vdev_count);
	atomic_store(&vm->started, true);
	for (unsigned i = 0; i < vm->vdev_count; i++)
		plugin_host_guest_starting(vm->vdevs[i].inst);
	code = vm->opts.backend->run(vm);
	/* A backend's own verdict (a fault, a failed script) wins; 0 means
	 * "whatever ended the VM": the first vm_stop code. */
	if (code == 0 && vm_stopping(vm))
		code = vm_stop_code(vm);
	else
		vm_stop(vm, code);
	evloop_stop(vm->loop);
	control_close(control);
	vm_signals_stop(vm);
	log_guest_summary(&vm->log, NULL, NULL, "vm");
	for (unsigned i = 0; i < vm->vdev_count; i++)
		plugin_host_log_summary(vm->vdevs[i].inst);
	vm_log(vm, LOG_LVL_INFO, "vm %s ended with exit code %d", vm->uuid, code);
	return code;
}
