/*
 * devmodel/set_vars.c: which `set` variables vdm honours, and where.
 */
#include "devmodel/set_vars.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "devmodel/exitcode.h"

enum set_scope { SET_GLOBAL, SET_CPU, SET_VDEV };
enum set_kind { SET_BOOL, SET_NAME, SET_WORD };

/* Honoured: what each does, and on which backends (NULL: every one). */
static const struct {
	const char *name;
	enum set_kind kind;
	const char *const *backends;
	const char *what;
} set_known[] = {
    {"exit-on-halt", SET_BOOL, (const char *const[]){"kvm", NULL},
     "on (default): vCPU 0 halting with interrupts off ends the VM"},
    {"isa-pic", SET_NAME, (const char *const[]){"kvm", "sim", NULL},
     "the 8259 pair the native isa controller drives (default pic; none)"},
    {"isa-ioapic", SET_NAME, (const char *const[]){"kvm", "sim", NULL},
     "the I/O APIC the native isa controller drives (default ioapic; none)"},
    {"sim-process", SET_BOOL, (const char *const[]){"sim", NULL},
     "the simulated hypervisor in a separate process"},
    /* their values are checked by lockdown.c (lockdown_check_config) */
    {"seccomp", SET_WORD, NULL, "the system-call filter: off, log (default), on or kill"},
    {"run-as", SET_WORD, NULL, "the user (name or uid) vdm runs as once set up"},
};

/* qvm's variables that vdm has no use for, and why. */
static const struct {
	const char *name;
	const char *why;
} set_refused[] = {
    {"fdt-dump-file", "vdm builds no flattened device tree for the guest"},
    {"grow-heap", "a QNX qvm memory setting; vdm's heap is the C library's"},
    {"message-block-timeout", "vdm's devices never block on QNX messages"},
    {"vdev-message-block-timeout", "vdm's devices never block on QNX messages"},
    {"slog-buffer", "vdm logs to stderr, stdout or syslog without a QNX slog buffer"},
    {"gic-hwassist", "QNX's Arm GIC hardware assist; vdm does not pass a GIC through"},
    {"host-paddr-gicd", "QNX's Arm GIC hardware assist; vdm does not pass a GIC through"},
    {"host-paddr-gich", "QNX's Arm GIC hardware assist; vdm does not pass a GIC through"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool set_bool_value(const char *v, bool *out)
{
	static const char *const yes[] = {"on", "yes", "true", "1"}, *const no[] = {"off", "no",
										    "false", "0"};

	for (unsigned i = 0; i < COUNT(yes); i++) {
		if (!strcasecmp(v, yes[i]))
			return *out = true, true;
		if (!strcasecmp(v, no[i]))
			return *out = false, true;
	}
	return false;
}

static const char *const set_scope_name[] = {"", "cpu ", "vdev "};

static int set_check_one(const struct conf_option *o, enum set_scope scope, const char *backend,
			 struct conf_diag *diag)
{
	char names[256] = "";

	for (unsigned i = 0; i < COUNT(set_refused); i++)
		if (!strcmp(o->name, set_refused[i].name)) {
			conf_diag_error(diag, &o->pos, "set %s is not supported by vdm: %s",
					o->name, set_refused[i].why);
			return VDM_EXIT_CONFIG;
		}
	for (unsigned i = 0; i < COUNT(set_known); i++) {
		bool b, on_backend = false;

		if (strcmp(o->name, set_known[i].name))
			continue;
		if (scope != SET_GLOBAL) {
			conf_diag_error(diag, &o->pos,
					"set %s is a global variable, not one of a %s: give it "
					"before any cpu or vdev (or after a pass or reserve)",
					o->name, scope == SET_CPU ? "cpu" : "vdev");
			return VDM_EXIT_CONFIG;
		}
		on_backend = !set_known[i].backends;
		for (const char *const *b2 = set_known[i].backends; b2 && backend && *b2; b2++)
			on_backend |= !strcmp(*b2, backend);
		if (!on_backend) {
			for (const char *const *b2 = set_known[i].backends; *b2; b2++)
				snprintf(names + strlen(names), sizeof(names) - strlen(names),
					 "%s%s", names[0] ? ", " : "", *b2);
			conf_diag_error(diag, &o->pos,
					"set %s does nothing on the %s backend (%s; backends: %s)",
					o->name, backend ? backend : "(none)", set_known[i].what,
					names);
			return VDM_EXIT_CONFIG;
		}
		if (set_known[i].kind == SET_BOOL && (!o->value || !set_bool_value(o->value, &b))) {
			conf_diag_error(
			    diag, &o->value_pos,
			    "set %s takes on or off (yes/no, true/false, 1/0), not '%s'", o->name,
			    o->value ? o->value : "");
			return VDM_EXIT_CONFIG;
		}
		if (set_known[i].kind == SET_WORD && (!o->value || !*o->value)) {
			conf_diag_error(diag, &o->pos, "set %s needs a value (%s)", o->name,
					set_known[i].what);
			return VDM_EXIT_CONFIG;
		}
		if (set_known[i].kind == SET_NAME && (!o->value || !*o->value)) {
			conf_diag_error(diag, &o->value_pos, "set %s needs a controller name",
					o->name);
			return VDM_EXIT_CONFIG;
		}
		return 0;
	}
	for (unsigned i = 0; i < COUNT(set_known); i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i ? ", " : "", set_known[i].name);
	conf_diag_error(diag, &o->pos, "unknown %svariable 'set %s' (vdm knows: %s)",
			set_scope_name[scope], o->name, names);
	return VDM_EXIT_CONFIG;
}

int set_vars_check(const struct conf_vm *conf, const char *backend, struct conf_diag *diag)
{
	int rc = 0;

	for (unsigned i = 0; i < conf->set_count; i++)
		rc |= set_check_one(&conf->sets[i], SET_GLOBAL, backend, diag);
	for (unsigned c = 0; c < conf->cpu_count; c++)
		for (unsigned i = 0; i < conf->cpus[c].set_count; i++)
			rc |= set_check_one(&conf->cpus[c].sets[i], SET_CPU, backend, diag);
	for (unsigned v = 0; v < conf->vdev_count; v++)
		for (unsigned i = 0; i < conf->vdevs[v].set_count; i++)
			rc |= set_check_one(&conf->vdevs[v].sets[i], SET_VDEV, backend, diag);
	return rc ? VDM_EXIT_CONFIG : 0;
}

bool set_vars_bool(const struct conf_vm *conf, const char *name, bool fallback)
{
	bool value = fallback, b;

	for (unsigned i = 0; i < conf->set_count; i++)
		if (!strcmp(conf->sets[i].name, name) && conf->sets[i].value &&
		    set_bool_value(conf->sets[i].value, &b))
			value = b;
	return value;
}
