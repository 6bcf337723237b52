/*
 * sdk/conform/checks_load.c: the checks on the file and its descriptor,
 * made before (or without) creating instances: load-rtld-now,
 * exports-one-symbol, abi-version, descriptor-valid, options-defaults,
 * options-reject-bad.
 *
 * The descriptor rules are the loader's own (sdk/host/plugin.h), so that
 * vdev-conform refuses exactly what vdm refuses; only the parsing of option
 * defaults is split off into options-defaults, so that each defect is
 * reported by one check.
 */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/conform/conform.h"
#include "sdk/host/options.h"
#include "sdk/host/plugin.h"

/* dlopen the way every host does; NULL after a finding when it fails. */
static void *open_plugin(struct conform_run *run, const struct vdev_descriptor **desc)
{
	void *handle = dlopen(run->opts->plugin, RTLD_NOW | RTLD_LOCAL);
	vdev_entry_fn *entry;

	*desc = NULL;
	if (!handle) {
		conform_skip(run, "the plugin does not load (load-rtld-now says why)");
		return NULL;
	}
	entry = (vdev_entry_fn *)dlsym(handle, VDEV_ENTRY_SYMBOL);
	if (!entry) {
		conform_skip(run, "no " VDEV_ENTRY_SYMBOL " (exports-one-symbol says why)");
		dlclose(handle);
		return NULL;
	}
	conform_where(run, "calling " VDEV_ENTRY_SYMBOL);
	*desc = entry();
	return handle;
}

void conform_check_load_rtld_now(struct conform_run *run)
{
	void *handle;

	conform_where(run, "dlopen(RTLD_NOW|RTLD_LOCAL)");
	handle = dlopen(run->opts->plugin, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		conform_fail(run, "dlopen(RTLD_NOW|RTLD_LOCAL) failed: %s", dlerror());
		return;
	}
	dlclose(handle);
}

void conform_check_exports_one_symbol(struct conform_run *run)
{
	char err[256], extra[512] = "";
	char **names;
	size_t count, extras = 0, len = 0;
	bool entry = false;
	int rc;

	rc = conform_elf_exports(run->opts->plugin, &names, &count, err, sizeof(err));
	if (rc < 0) {
		conform_fail(run, "%s", err);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		if (!strcmp(names[i], VDEV_ENTRY_SYMBOL)) {
			entry = true;
			continue;
		}
		if (extras++ < 8 && len < sizeof(extra))
			len += (size_t)snprintf(extra + len, sizeof(extra) - len, "%s%s",
						len ? ", " : "", names[i]);
	}
	if (!entry)
		conform_fail(run, "%s is not defined in .dynsym (use VDEV_PLUGIN_ENTRY)",
			     VDEV_ENTRY_SYMBOL);
	if (extras)
		conform_fail(run,
			     "%zu symbol(s) exported besides " VDEV_ENTRY_SYMBOL
			     ": %s%s (build with -fvisibility=hidden)",
			     extras, extra, extras > 8 ? ", ..." : "");
	conform_elf_exports_free(names, count);
}

void conform_check_abi_version(struct conform_run *run)
{
	const struct vdev_descriptor *desc;
	void *handle = open_plugin(run, &desc);

	if (!handle)
		return;
	if (!desc) {
		conform_skip(run, VDEV_ENTRY_SYMBOL " returned NULL (descriptor-valid says so)");
	} else if (desc->abi_major != VDEV_ABI_MAJOR) {
		conform_fail(run,
			     "built for vdev ABI %u.%u, this host speaks %u.%u: rebuild against "
			     "this SDK",
			     desc->abi_major, desc->abi_minor, VDEV_ABI_MAJOR, VDEV_ABI_MINOR);
	} else if (desc->struct_size < sizeof(struct vdev_descriptor)) {
		conform_fail(run,
			     "descriptor struct_size %u is smaller than the ABI %u size %zu "
			     "(use VDEV_DESCRIPTOR_INIT)",
			     desc->struct_size, VDEV_ABI_MAJOR, sizeof(struct vdev_descriptor));
	} else if (desc->abi_minor > VDEV_ABI_MINOR) {
		conform_note(run,
			     "ABI %u.%u is newer than this host's %u.%u: fields after ours are "
			     "ignored",
			     desc->abi_major, desc->abi_minor, VDEV_ABI_MAJOR, VDEV_ABI_MINOR);
	}
	dlclose(handle);
}

/* The plugin's expected name from its file name vdev-NAME.so, or NULL. */
static char *expected_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (strncmp(base, "vdev-", 5) || len <= 8 || strcmp(base + len - 3, ".so"))
		return NULL;
	return strndup(base + 5, len - 8);
}

/* FNV-1a over everything the descriptor says, strings included, so that a
 * descriptor that changes between calls is noticed. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ull;
	return h;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	return s ? hash_bytes(h, s, strlen(s) + 1) : hash_bytes(h, "\xff", 1);
}

static uint64_t descriptor_hash(const struct vdev_descriptor *d)
{
	uint64_t h = hash_bytes(0xcbf29ce484222325ull, d, sizeof(*d));

	h = hash_str(h, d->name);
	h = hash_str(h, d->version);
	h = hash_str(h, d->description);
	if (d->ops)
		h = hash_bytes(h, d->ops,
			       d->ops->struct_size < sizeof(*d->ops) ? d->ops->struct_size
								     : sizeof(*d->ops));
	for (unsigned i = 0; d->options && i < d->option_count; i++) {
		const struct vdev_option_spec *o = &d->options[i];

		h = hash_bytes(h, o, sizeof(*o));
		h = hash_str(h, o->name);
		h = hash_str(h, o->default_value);
		h = hash_str(h, o->help);
		for (unsigned k = 0; o->type == VDEV_OPT_ENUM && o->choices && o->choices[k]; k++)
			h = hash_str(h, o->choices[k]);
	}
	return h;
}

void conform_check_descriptor_valid(struct conform_run *run)
{
	const struct vdev_descriptor *desc, *again;
	struct vdev_descriptor copy;
	struct vdev_option_spec *options = NULL;
	char err[VDEV_HOST_ERRLEN];
	char *name = expected_name(run->opts->plugin);
	void *handle = open_plugin(run, &desc);
	uint64_t hash;
	int rc;

	if (!handle)
		goto out;
	if (!desc) {
		conform_fail(run, VDEV_ENTRY_SYMBOL " returned NULL");
		goto close;
	}
	if (desc->abi_major != VDEV_ABI_MAJOR) {
		conform_skip(run, "ABI major %u is not this host's (abi-version says so)",
			     desc->abi_major);
		goto close;
	}
	/*
	 * The loader's rules, on a copy whose optional defaults are taken
	 * out: whether a default parses is options-defaults' finding. A
	 * REQUIRED option keeps its default, since having one is the fault.
	 */
	copy = *desc;
	if (desc->options && desc->option_count) {
		options = calloc(desc->option_count, sizeof(*options));
		if (!options) {
			conform_fail(run, "out of memory");
			goto close;
		}
		memcpy(options, desc->options, desc->option_count * sizeof(*options));
		for (unsigned i = 0; i < desc->option_count; i++)
			if (!(options[i].flags & VDEV_OPTF_REQUIRED))
				options[i].default_value = NULL;
		copy.options = options;
	}
	conform_where(run, "checking the descriptor");
	rc = vdev_descriptor_check(&copy, run->opts->plugin, name, err, sizeof(err));
	if (rc < 0) {
		conform_fail(run, "%s", err);
		goto close;
	}
	hash = descriptor_hash(desc);
	again = ((vdev_entry_fn *)dlsym(handle, VDEV_ENTRY_SYMBOL))();
	if (again != desc) {
		conform_fail(run,
			     VDEV_ENTRY_SYMBOL " returned %p, then %p: it must return the same "
					       "static descriptor every time",
			     (const void *)desc, (const void *)again);
		goto close;
	}
	/* Content stable: the same after an instance lived and died. */
	struct conform_session s;
	if (conform_session_open(&s, run) == 0) {
		struct vdev_testdev *dev = conform_create(&s, false, true);

		if (dev) {
			conform_workload(&s, dev, &s.rng, 200, CONFORM_WL_ALL);
			vdev_testhost_destroy(dev);
		}
		conform_session_close(&s);
	} else if (run->result->outcome == CONFORM_SKIP) {
		/* The loader refused for a reason a later check owns (option
		 * defaults): the rules of this check held. */
		run->result->outcome = CONFORM_PASS;
		run->result->details[0] = '\0';
		conform_note(run, "content stability not checked: the plugin does not load");
	}
	if (descriptor_hash(desc) != hash)
		conform_fail(run, "the descriptor's content changed while the plugin ran: it must "
				  "be const");
close:
	dlclose(handle);
out:
	free(options);
	free(name);
}

void conform_check_options_defaults(struct conform_run *run)
{
	const struct vdev_descriptor *desc;
	void *handle = open_plugin(run, &desc);
	char required[256] = "";
	size_t rlen = 0;
	bool bad = false;

	if (!handle)
		return;
	if (!desc || desc->abi_major != VDEV_ABI_MAJOR) {
		conform_skip(run, "no usable descriptor (abi-version, descriptor-valid)");
		goto close;
	}
	for (unsigned i = 0; desc->options && i < desc->option_count; i++) {
		const struct vdev_option_spec *o = &desc->options[i];
		struct vdev_option_value value;
		char err[VDEV_HOST_ERRLEN];
		size_t bad_offset = 0;

		if (o->flags & VDEV_OPTF_REQUIRED && !o->default_value && rlen < sizeof(required))
			rlen += (size_t)snprintf(required + rlen, sizeof(required) - rlen, "%s%s",
						 rlen ? ", " : "", o->name ? o->name : "?");
		if (!o->default_value)
			continue;
		memset(&value, 0, sizeof(value));
		conform_where(run, "parsing the default of option %s", o->name ? o->name : "?");
		if (vdev_option_parse(o, desc->default_space, o->default_value, &value, err,
				      sizeof(err), &bad_offset) < 0) {
			conform_fail(run,
				     "option %s: default \"%s\" does not parse as its type: %s",
				     o->name ? o->name : "?", o->default_value, err);
			bad = true;
		}
	}
	if (bad)
		goto close;

	struct conform_session s;
	if (conform_session_open(&s, run) < 0) {
		/* The loader refused the plugin for a reason other checks own. */
		goto close;
	}
	struct vdev_testdev *dev = conform_create(&s, false, true);
	if (dev) {
		vdev_testhost_destroy(dev);
	} else if (rlen && !s.user_options) {
		conform_skip(run,
			     "instances need the REQUIRED option(s) %s: give them with "
			     "--options",
			     required);
	} else {
		conform_fail(run, "an instance with options \"%s\" could not be created: %s",
			     s.options, vdev_testhost_error(s.th));
	}
	conform_session_close(&s);
close:
	dlclose(handle);
}

/* ---------------------------------------------------- options-reject-bad */

/* Values no parser of the type may accept. */
static const char *const bad_int[] = {"abc", "1x", "0x", "--1", "99999999999999999999999", NULL};
static const char *const bad_uint[] = {"-1", "abc", "0xg", "99999999999999999999999", NULL};
static const char *const bad_size[] = {"12Q", "abc", "-4K", "99999999999999999999G", NULL};
static const char *const bad_addr[] = {"xyz", "-1", "0x1z", NULL};
static const char *const bad_bool[] = {"maybe", "2", NULL};
static const char *const bad_enum[] = {"no-such-choice-at-all", NULL};
static const char *const bad_intr[] = {"nocolon", "no-such-controller:1", "conform:9999", NULL};
static const char *const bad_loc[] = {"nowhere", "pci:zz", NULL};
/* Valid but extreme values: accepted or refused, never a crash. */
static const char *const edge_int[] = {"0", "-1", "9223372036854775807", "-9223372036854775808",
				       NULL};
static const char *const edge_uint[] = {"0", "1", "0xffffffffffffffff", NULL};
static const char *const edge_size[] = {"0", "1", "16G", "0xffffffffffffffff", NULL};
static const char *const edge_string[] = {
    "x",
    "a-rather-long-value-a-rather-long-value-a-rather-long-value-a-rather-long-value-"
    "a-rather-long-value-a-rather-long-value-a-rather-long-value-a-rather-long-value",
    NULL};

static void try_value(struct conform_session *s, const struct vdev_option_spec *o,
		      const char *value, bool must_reject, unsigned *tried)
{
	char text[2048];
	struct vdev_testdev *dev;

	snprintf(text, sizeof(text), "%s%s%s %s", s->options, s->options[0] ? " " : "", o->name,
		 value);
	conform_where(s->run, "create with option %s %s", o->name, value);
	(*tried)++;
	dev = vdev_testhost_create(s->th, s->desc, text);
	if (dev) {
		if (must_reject)
			conform_fail(s->run, "option %s: the bad value \"%s\" was accepted",
				     o->name, value);
		conform_where(s->run, "destroy after option %s %s", o->name, value);
		vdev_testhost_destroy(dev);
	} else if (must_reject && !vdev_testhost_error(s->th)[0]) {
		conform_fail(s->run, "option %s: \"%s\" was refused without a message", o->name,
			     value);
	}
}

static void try_list(struct conform_session *s, const struct vdev_option_spec *o,
		     const char *const *values, bool must_reject, unsigned *tried)
{
	for (unsigned i = 0; values && values[i]; i++)
		try_value(s, o, values[i], must_reject, tried);
}

/* min-1 and max+1 for a RANGE option, when they exist. */
static void try_range(struct conform_session *s, const struct vdev_option_spec *o, unsigned *tried)
{
	char v[32];

	if (o->type == VDEV_OPT_INT) {
		if (o->min > INT64_MIN) {
			snprintf(v, sizeof(v), "%" PRId64, o->min - 1);
			try_value(s, o, v, true, tried);
		}
		if (o->max < INT64_MAX) {
			snprintf(v, sizeof(v), "%" PRId64, o->max + 1);
			try_value(s, o, v, true, tried);
		}
		return;
	}
	if ((uint64_t)o->min > 0) {
		snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)o->min - 1);
		try_value(s, o, v, true, tried);
	}
	if ((uint64_t)o->max < UINT64_MAX) {
		snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)o->max + 1);
		try_value(s, o, v, true, tried);
	}
}

void conform_check_options_reject_bad(struct conform_run *run)
{
	struct conform_session s;
	unsigned tried = 0;

	if (conform_session_open(&s, run) < 0)
		return;
	/* A refusal only means something when the same options without the
	 * bad value are accepted. */
	struct vdev_testdev *dev = conform_create(&s, false, false);
	if (!dev)
		goto out;
	vdev_testhost_destroy(dev);
	for (unsigned i = 0; s.desc->options && i < s.desc->option_count; i++) {
		const struct vdev_option_spec *o = &s.desc->options[i];
		const char *const *bad = NULL, *const *edge = NULL;

		switch (o->type) {
		case VDEV_OPT_INT:
			bad = bad_int;
			edge = edge_int;
			break;
		case VDEV_OPT_UINT:
			bad = bad_uint;
			edge = edge_uint;
			break;
		case VDEV_OPT_SIZE:
			bad = bad_size;
			edge = edge_size;
			break;
		case VDEV_OPT_ADDR:
			bad = bad_addr;
			edge = edge_uint;
			break;
		case VDEV_OPT_BOOL:
			bad = o->flags & VDEV_OPTF_NOARG ? NULL : bad_bool;
			break;
		case VDEV_OPT_ENUM:
			bad = bad_enum;
			break;
		case VDEV_OPT_INTR:
			bad = bad_intr;
			break;
		case VDEV_OPT_LOC:
			bad = bad_loc;
			break;
		case VDEV_OPT_STRING:
			edge = edge_string;
			break;
		}
		try_list(&s, o, bad, true, &tried);
		/* Out-of-range extremes are bad values; the others are edges. */
		if (o->flags & VDEV_OPTF_RANGE)
			try_range(&s, o, &tried);
		else
			try_list(&s, o, edge, false, &tried);
	}
	if (!tried)
		conform_skip(run, "the device has no option with values to refuse");
	else
		conform_note(run, "%u values tried", tried);
out:
	conform_session_close(&s);
}
