/*
 * devmodel/main.c: the vdm command line.
 *
 *   vdm [options] @file.vmconf [more config words]
 *
 * Options (anywhere on the line; every other word is configuration, read
 * in order as one stream with the @files): --check, --backend, --domid,
 * --plugin-path, --asinfo, --script, --describe, --help, --version.
 * devmodel/README.md is the reference; exit codes are devmodel/exitcode.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "devmodel/backend.h"
#include "devmodel/control.h"
#include "devmodel/exitcode.h"
#include "devmodel/iomap.h"
#include "devmodel/lockdown.h"
#include "devmodel/plugin_host.h"
#include "devmodel/sim/vmscript.h"
#include "devmodel/teardown_guard.h"
#include "devmodel/vm.h"
#include "devmodel/xl/xl_args.h"
#include "devmodel/xl/xl_mode.h"
#include "sdk/host/arena.h"
#include "sdk/host/arity.h"
#include "sdk/host/options.h"
#include "sdk/host/plugin.h"

#ifndef VDM_PLUGIN_INSTALL_DIR
#define VDM_PLUGIN_INSTALL_DIR "/usr/local/lib/vdm"
#endif
#ifndef VDM_VERSION
#define VDM_VERSION "0.1"
#endif

#define MAX_DIRS   64
#define MAX_ASINFO 64

struct cli {
	bool check, help, version;
	const char *backend;
	int domid;
	const char *script;
	const char *describe;
	bool restrict_xen;
	const char *control_system; /* --control SYSTEM COMMAND */
	const char *control_command;
	const char *dirs[MAX_DIRS];
	unsigned dir_count;
	struct conf_asinfo asinfo[MAX_ASINFO];
	char *asinfo_names[MAX_ASINFO];
	unsigned asinfo_count;
	char **words;
	int word_count;
	char *env_path; /* strdup'd VDM_PLUGIN_PATH, split in place */
	char exe_dir[PATH_MAX + 16];
};

static void cli_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: vdm [options] @file.vmconf [config words...]\n"
	    "\n"
	    "  --check               assemble the VM as dryrun does, without a hypervisor or\n"
	    "                        guest memory; print the description; exit 0 or 65\n"
	    "  --backend xen|kvm|sim the hypervisor side (default: xen with --domid, else\n"
	    "                        kvm when /dev/kvm opens, else sim)\n"
	    "  --domid N             the Xen domain to attach to\n"
	    "  --plugin-path DIR     search DIR for vdev-NAME.so first (repeatable)\n"
	    "  --asinfo NAME=START,LENGTH\n"
	    "                        an address-space entry for $asinfo_start{NAME} and\n"
	    "                        $asinfo_length{NAME} (repeatable)\n"
	    "  --script FILE         the guest script (sim backend)\n"
	    "  --describe NAME       print a plugin's descriptor and option schema\n"
	    "  --restrict            after set-up, drop root (kvm, sim: `set run-as USER`,\n"
	    "                        $VDM_USER, else nobody; xen: VDM_XEN_USER) and, on xen,\n"
	    "                        restrict the Xen handles to the domain\n"
	    "  --control SYSTEM CMD  send CMD (status, stats, reset, quit [CODE], help) to\n"
	    "                        the running VM named SYSTEM and print the reply\n"
	    "  --help, --version\n"
	    "\n"
	    "Words that are not options are configuration (qvm language), e.g. `dryrun`.\n"
	    "Plugin search path: --plugin-path, $VDM_PLUGIN_PATH, <vdm>/../lib/vdm, %s.\n"
	    "Exit codes: 0 normal, 3 power cut, 4 watchdog, 5 unsupported, 6 vdev error,\n"
	    "7 unexpected, 32-63 set by a vdev, 64 fatal before start, 65 configuration,\n"
	    "96 fatal after start.\n",
	    VDM_PLUGIN_INSTALL_DIR);
	fprintf(out, "Backends compiled in:");
	if (!backend_first())
		fprintf(out, " none");
	for (const struct backend_ops *b = backend_first(); b; b = b->next)
		fprintf(out, " %s", b->name);
	fputc('\n', out);
}

/* The value of a flag: "--flag=value" or the next word. */
static const char *cli_value(int argc, char **argv, int *i, const char *flag)
{
	const char *arg = argv[*i];
	size_t n = strlen(flag);

	if (arg[n] == '=')
		return arg + n + 1;
	if (*i + 1 >= argc) {
		fprintf(stderr, "vdm: %s needs a value (see vdm --help)\n", flag);
		return NULL;
	}
	return argv[++*i];
}

static bool cli_is(const char *arg, const char *flag)
{
	size_t n = strlen(flag);

	return strncmp(arg, flag, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int cli_asinfo(struct cli *cli, const char *text)
{
	const char *eq = strchr(text, '='), *comma;
	char num[64];
	uint64_t start, length;

	if (cli->asinfo_count >= MAX_ASINFO) {
		fprintf(stderr, "vdm: too many --asinfo entries\n");
		return -1;
	}
	comma = eq ? strchr(eq, ',') : NULL;
	if (!eq || eq == text || !comma || (size_t)(comma - eq - 1) >= sizeof(num))
		goto bad;
	memcpy(num, eq + 1, (size_t)(comma - eq - 1));
	num[comma - eq - 1] = '\0';
	if (conf_number_parse(num, CONF_NUM_MULTIPLIERS, &start, NULL) < 0 ||
	    conf_number_parse(comma + 1, CONF_NUM_MULTIPLIERS, &length, NULL) < 0)
		goto bad;
	cli->asinfo_names[cli->asinfo_count] = strndup(text, (size_t)(eq - text));
	if (!cli->asinfo_names[cli->asinfo_count])
		return -1;
	cli->asinfo[cli->asinfo_count] = (struct conf_asinfo){
	    .name = cli->asinfo_names[cli->asinfo_count], .start = start, .length = length};
	cli->asinfo_count++;
	return 0;
bad:
	fprintf(
	    stderr,
	    "vdm: --asinfo %s: expected NAME=START,LENGTH (numbers: decimal or 0x hex, K/M/G)\n",
	    text);
	return -1;
}

static int cli_add_dir(struct cli *cli, const char *dir)
{
	if (!*dir)
		return 0;
	if (cli->dir_count >= MAX_DIRS) {
		fprintf(stderr, "vdm: too many plugin directories\n");
		return -1;
	}
	cli->dirs[cli->dir_count++] = dir;
	return 0;
}

static int cli_default_dirs(struct cli *cli);

/* Returns 0, or an exit code. */
static int cli_parse(struct cli *cli, int argc, char **argv)
{
	cli->domid = -1;
	cli->words = calloc((size_t)argc + 1, sizeof(char *));
	if (!cli->words)
		return VDM_EXIT_FATAL_START;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli->help = true;
		} else if (strcmp(a, "--version") == 0) {
			cli->version = true;
		} else if (strcmp(a, "--check") == 0) {
			cli->check = true;
		} else if (cli_is(a, "--backend")) {
			if (!(v = cli_value(argc, argv, &i, "--backend")))
				return VDM_EXIT_CONFIG;
			if (strcmp(v, "xen") && strcmp(v, "kvm") && strcmp(v, "sim")) {
				fprintf(stderr, "vdm: --backend %s: expected xen, kvm or sim\n", v);
				return VDM_EXIT_CONFIG;
			}
			cli->backend = v;
		} else if (cli_is(a, "--domid")) {
			uint64_t n;

			if (!(v = cli_value(argc, argv, &i, "--domid")))
				return VDM_EXIT_CONFIG;
			if (conf_number_parse(v, 0, &n, NULL) < 0 || n > 0x7fef) {
				fprintf(stderr,
					"vdm: --domid %s: expected a domain id (0..32751)\n", v);
				return VDM_EXIT_CONFIG;
			}
			cli->domid = (int)n;
		} else if (cli_is(a, "--plugin-path")) {
			if (!(v = cli_value(argc, argv, &i, "--plugin-path")))
				return VDM_EXIT_CONFIG;
			if (cli_add_dir(cli, v) < 0)
				return VDM_EXIT_CONFIG;
		} else if (cli_is(a, "--asinfo")) {
			if (!(v = cli_value(argc, argv, &i, "--asinfo")))
				return VDM_EXIT_CONFIG;
			if (cli_asinfo(cli, v) < 0)
				return VDM_EXIT_CONFIG;
		} else if (cli_is(a, "--script")) {
			if (!(v = cli_value(argc, argv, &i, "--script")))
				return VDM_EXIT_CONFIG;
			cli->script = v;
		} else if (cli_is(a, "--restrict")) {
			cli->restrict_xen = true;
		} else if (cli_is(a, "--control")) {
			if (!(v = cli_value(argc, argv, &i, "--control")))
				return VDM_EXIT_CONFIG;
			cli->control_system = v;
			if (!(v = cli_value(argc, argv, &i, "--control")))
				return VDM_EXIT_CONFIG;
			cli->control_command = v;
		} else if (cli_is(a, "--describe")) {
			if (!(v = cli_value(argc, argv, &i, "--describe")))
				return VDM_EXIT_CONFIG;
			cli->describe = v;
		} else if (strncmp(a, "--", 2) == 0) {
			fprintf(stderr, "vdm: unknown option %s (see vdm --help)\n", a);
			return VDM_EXIT_CONFIG;
		} else {
			cli->words[cli->word_count++] = argv[i];
		}
	}
	return cli_default_dirs(cli);
}

/* Search order after --plugin-path: VDM_PLUGIN_PATH, the build tree, the install dir. */
static int cli_default_dirs(struct cli *cli)
{
	if (getenv("VDM_PLUGIN_PATH")) {
		cli->env_path = strdup(getenv("VDM_PLUGIN_PATH"));
		if (!cli->env_path)
			return VDM_EXIT_FATAL_START;
		for (char *save = NULL, *d = strtok_r(cli->env_path, ":", &save); d;
		     d = strtok_r(NULL, ":", &save))
			if (cli_add_dir(cli, d) < 0)
				return VDM_EXIT_CONFIG;
	}
	{
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		if (n > 0) {
			char *slash;

			exe[n] = '\0';
			slash = strrchr(exe, '/');
			if (slash) {
				*slash = '\0';
				snprintf(cli->exe_dir, sizeof(cli->exe_dir), "%s/../lib/vdm", exe);
				if (cli_add_dir(cli, cli->exe_dir) < 0)
					return VDM_EXIT_CONFIG;
			}
		}
	}
	if (cli_add_dir(cli, VDM_PLUGIN_INSTALL_DIR) < 0)
		return VDM_EXIT_CONFIG;
	return 0;
}

/*
 * libxl's QEMU-style command line (devmodel/xl/): the same vdm, on the xen
 * backend, configured from generated vmconf texts. Returns 0 or an exit
 * code; *xl NULL and 0 when the job is done (-vdm-print).
 */
static int cli_from_xl(struct cli *cli, int argc, char **argv, struct xl_mode **xl)
{
	const char *const *dirs;
	char **words;
	unsigned n;
	int rc = xl_mode_new(argc, argv, stderr, xl);

	cli->domid = -1;
	if (rc || !*xl)
		return rc;
	words = xl_mode_words(*xl, &cli->word_count);
	cli->words = calloc((size_t)cli->word_count + 1, sizeof(char *));
	if (!cli->words)
		return VDM_EXIT_FATAL_START;
	memcpy(cli->words, words, (size_t)cli->word_count * sizeof(char *));
	cli->backend = "xen";
	cli->domid = xl_mode_domid(*xl);
	cli->check = xl_mode_check_only(*xl);
	dirs = xl_mode_plugin_dirs(*xl, &n);
	for (unsigned i = 0; i < n; i++)
		if (cli_add_dir(cli, dirs[i]) < 0)
			return VDM_EXIT_CONFIG;
	return cli_default_dirs(cli);
}

static void cli_free(struct cli *cli)
{
	for (unsigned i = 0; i < cli->asinfo_count; i++)
		free(cli->asinfo_names[i]);
	free(cli->words);
	free(cli->env_path);
}

/* ------------------------------------------------------------ describe */

static const char *describe_space(enum vdev_space s)
{
	return s == VDEV_SPACE_PIO ? "io" : s == VDEV_SPACE_PCICFG ? "pcicfg" : "mem";
}

/*
 * The default loc as the device itself picks it: one instance created with
 * nothing but its name, in a VM assembled as --check does (no hypervisor,
 * no guest memory), and the regions it registers. Prints " (none without
 * more configuration)" for a device that needs options, a loc or an intr.
 */
static void describe_default_loc(struct cli *cli, const struct vdev_descriptor *d)
{
	char *words[] = {"logger", "fatal", "none", "vdev", (char *)cli->describe};
	struct vm_options opts = {.plugin_dirs = cli->dirs,
				  .plugin_dir_count = cli->dir_count,
				  .domid = -1,
				  .check_only = true};
	struct conf_env env = {0};
	FILE *quiet = fopen("/dev/null", "w");
	struct conf_diag *diag = quiet ? conf_diag_new(quiet) : NULL;
	struct conf_vm *conf = diag ? conf_parse_argv(5, words, &env, diag) : NULL;
	struct vm *vm = conf ? vm_new(conf, &opts) : NULL;
	unsigned shown = 0;

	printf("default loc");
	if (vm && vm_assemble(vm, diag) == 0 && vm_vdev_count(vm) == 1) {
		const char *owner = plugin_host_name(vm_vdev_at(vm, 0));

		for (int sp = 0; sp < VDEV_SPACE_COUNT; sp++) {
			struct iomap_region_info r;

			for (unsigned i = 0; iomap_region_at(vm_iomap(vm), sp, i, &r) == 0; i++) {
				if (strcmp(r.owner->name, owner))
					continue;
				shown++;
				if (sp == VDEV_SPACE_PCICFG)
					printf(" pci:%u:%u.%u", (unsigned)(r.base >> 20) & 0xff,
					       (unsigned)(r.base >> 15) & 0x1f,
					       (unsigned)(r.base >> 12) & 7);
				else
					printf(" %s:0x%llx,0x%llx", describe_space(sp),
					       (unsigned long long)r.base,
					       (unsigned long long)r.length);
			}
		}
	}
	if (!shown)
		printf(" %s: (none without more configuration)", describe_space(d->default_space));
	printf("\n");
	vm_free(vm);
	conf_vm_free(conf);
	conf_diag_free(diag);
	if (quiet)
		fclose(quiet);
}

static int cli_describe(struct cli *cli)
{
	struct vdev_plugin_set *set = vdev_plugin_set_new();
	struct vdev_plugin *plugin;
	const struct vdev_descriptor *d;
	char err[VDEV_HOST_ERRLEN];
	static const struct {
		uint32_t bit;
		const char *name;
	} flags[] = {
	    {VDEV_F_INTC, "intc"},
	    {VDEV_F_LOC_REQUIRED, "loc-required"},
	    {VDEV_F_INTR_REQUIRED, "intr-required"},
	    {VDEV_F_SELF_LOCKED, "self-locked"},
	    {VDEV_F_SINGLETON, "singleton"},
	};
	int ret;

	if (!set)
		return VDM_EXIT_FATAL_START;
	ret = vdev_plugin_set_load(set, cli->describe, cli->dirs, cli->dir_count, &plugin, err,
				   sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "vdm: --describe %s: %s\n", cli->describe, err);
		vdev_plugin_set_free(set);
		return ret == -ENOMEM ? VDM_EXIT_FATAL_START : VDM_EXIT_CONFIG;
	}
	d = plugin->desc;
	printf("name        %s\n", d->name);
	printf("version     %s\n", d->version);
	printf("description %s\n", d->description ? d->description : "");
	printf("file        %s\n", plugin->path);
	printf("abi         %u.%u\n", d->abi_major, d->abi_minor);
	printf("flags      ");
	if (!(d->flags & VDEV_F_ALL))
		printf(" none");
	for (unsigned i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (d->flags & flags[i].bit)
			printf(" %s", flags[i].name);
	printf("\naccess      ");
	for (unsigned n = 1; n <= 8; n *= 2)
		if (d->access_sizes & VDEV_ACCESS_SIZE(n))
			printf(" %u", n);
	printf(" bytes\n");
	describe_default_loc(cli, d);
	printf("state size  %zu\n", d->state_size);
	printf("options:%s\n", d->option_count ? "" : " none");
	for (unsigned i = 0; i < d->option_count; i++) {
		const struct vdev_option_spec *o = &d->options[i];

		printf("  %-16s %-7s", o->name, vdev_option_type_name(o->type));
		if (o->flags & VDEV_OPTF_REQUIRED)
			printf(" required");
		if (o->flags & VDEV_OPTF_REPEAT)
			printf(" repeatable");
		if (o->flags & VDEV_OPTF_NOARG)
			printf(" no-argument");
		if (o->default_value)
			printf(" default %s", o->default_value);
		if (o->flags & VDEV_OPTF_RANGE) {
			if (o->type == VDEV_OPT_INT)
				printf(" range %lld..%lld", (long long)o->min, (long long)o->max);
			else
				printf(" range %llu..%llu", (unsigned long long)o->min,
				       (unsigned long long)o->max);
		}
		if (o->type == VDEV_OPT_ENUM && o->choices) {
			printf(" choices");
			for (const char *const *c = o->choices; *c; c++)
				printf("%s%s", c == o->choices ? " " : "|", *c);
		}
		printf("\n      %s\n", o->help ? o->help : "");
	}
	printf("common options: loc, intr, name, log\n");
	vdev_plugin_set_free(set);
	return VDM_EXIT_NORMAL;
}

/*
 * Before libxl's device model touches Xen: every vdev's plugin found and its
 * options valid (a missing plugin must not cost a half-built domain).
 */
static int cli_check_vdevs(struct cli *cli, const struct conf_vm *conf, struct conf_diag *diag)
{
	struct vdev_plugin_set *set = vdev_plugin_set_new();
	int rc = 0;

	if (!set)
		return VDM_EXIT_FATAL_START;
	for (unsigned i = 0; i < conf->vdev_count; i++) {
		const struct conf_vdev *v = &conf->vdevs[i];
		struct vdev_plugin *plugin;
		struct vdev_arena *arena;
		struct vdev_config *config;
		char err[VDEV_HOST_ERRLEN];

		if (vdev_plugin_set_load(set, v->type, cli->dirs, cli->dir_count, &plugin, err,
					 sizeof(err)) < 0) {
			conf_diag_error(diag, &v->type_pos, "%s", err);
			rc = VDM_EXIT_CONFIG;
			continue;
		}
		arena = vdev_arena_new();
		if (!arena) {
			rc = VDM_EXIT_FATAL_START;
			break;
		}
		if (vdev_config_build(plugin->desc, v, plugin->instances, diag, arena, &config) < 0)
			rc = VDM_EXIT_CONFIG;
		plugin->instances++;
		vdev_arena_free(arena);
	}
	vdev_plugin_set_free(set);
	return rc;
}

/*
 * --check prints the configuration as the VM reads it: a bare `loc`
 * address is in the device's default space (io for ser8250), which only
 * the plugin knows. The assembly has loaded every plugin already.
 */
static void cli_resolve_spaces(struct vm *vm, struct conf_vm *conf)
{
	for (unsigned i = 0, k = 0; i < conf->vdev_count && k < vm_vdev_count(vm); i++, k++) {
		const struct vdev_descriptor *d = plugin_host_descriptor(vm_vdev_at(vm, k));

		for (unsigned j = 0; j < conf->vdevs[i].loc_count; j++) {
			struct conf_loc *l = &conf->vdevs[i].locs[j];

			if (l->loc.kind == VDEV_LOC_ADDR && !l->has_space) {
				l->loc.space = d->default_space;
				l->has_space = true;
			}
		}
	}
}

/* ------------------------------------------------------------- backend */

static const char *cli_pick_backend(const struct cli *cli)
{
	int fd;

	if (cli->backend)
		return cli->backend;
	if (cli->domid >= 0)
		return "xen";
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return "kvm";
	}
	return "sim";
}

int main(int argc, char **argv)
{
	struct cli cli;
	struct conf_env env = {0};
	struct conf_asinfo *iomem = NULL, *table = NULL;
	struct conf_diag *diag = NULL;
	struct conf_vm *conf = NULL;
	struct vm *vm = NULL;
	struct vm_options opts = {0};
	struct xl_mode *xl = NULL; /* started by libxl (devmodel/xl/) */
	struct vdev_arity_resolver *arity = NULL;
	const char *backend_name;
	int rc, n_iomem = 0;

	/* Before any thread exists, so that every thread inherits the mask. */
	vm_block_signals();
	memset(&cli, 0, sizeof(cli));
	if (xl_args_detect(argc, argv)) {
		rc = cli_from_xl(&cli, argc, argv, &xl);
		if (rc || !xl)
			goto out;
	} else {
		rc = cli_parse(&cli, argc, argv);
	}
	if (rc)
		goto out;
	if (cli.help) {
		cli_usage(stdout);
		goto out;
	}
	if (cli.version) {
		printf("vdm %s (vdev ABI %u.%u)\n", VDM_VERSION, VDEV_ABI_MAJOR, VDEV_ABI_MINOR);
		goto out;
	}
	if (cli.describe) {
		rc = cli_describe(&cli);
		goto out;
	}
	if (cli.control_system) {
		const char *why = conf_system_name_check(cli.control_system, NULL);

		if (why) {
			fprintf(stderr, "vdm: --control %s: %s\n", cli.control_system, why);
			rc = VDM_EXIT_CONFIG;
			goto out;
		}
		rc = control_client(cli.control_system, cli.control_command);
		if (rc < 0) {
			fprintf(stderr, "vdm: --control %s: cannot reach the VM: %s\n",
				cli.control_system, strerror(-rc));
			rc = VDM_EXIT_FATAL_START;
		}
		goto out;
	}
	if (cli.word_count == 0) {
		fprintf(stderr, "vdm: no configuration given\n");
		cli_usage(stderr);
		rc = VDM_EXIT_CONFIG;
		goto out;
	}

	/* --asinfo entries first (they win), then the host's /proc/iomem. */
	n_iomem = conf_asinfo_load_iomem(NULL, &iomem);
	if (n_iomem < 0)
		n_iomem = 0;
	table = calloc(cli.asinfo_count + (unsigned)n_iomem + 1, sizeof(*table));
	if (!table) {
		rc = VDM_EXIT_FATAL_START;
		goto out;
	}
	memcpy(table, cli.asinfo, cli.asinfo_count * sizeof(*table));
	if (n_iomem)
		memcpy(table + cli.asinfo_count, iomem, (size_t)n_iomem * sizeof(*table));
	env.asinfo = table;
	env.asinfo_count = cli.asinfo_count + (unsigned)n_iomem;

	/* The backend first: its native controllers are names the parser accepts. */
	backend_name = cli_pick_backend(&cli);
	opts.backend = backend_find(backend_name);
	if (opts.backend)
		env.native_controllers = opts.backend->native_controllers;

	diag = conf_diag_new(stderr);
	if (!diag) {
		rc = VDM_EXIT_FATAL_START;
		goto out;
	}
	/*
	 * Only a plugin's schema says which device options take no argument.
	 * The resolver's plugins stay loaded until vdm ends: the assembly
	 * loads the same files again, and dlopen then only finds them
	 * mapped, instead of mapping and relocating them a second time.
	 */
	arity = vdev_arity_resolver_new(cli.dirs, cli.dir_count);
	env.option_arity = arity ? vdev_arity_resolver_answer : NULL;
	env.option_ctx = arity;
	if (xl)
		env.texts = xl_mode_texts(xl, &env.text_count);
	conf = conf_parse_argv(cli.word_count, cli.words, &env, diag);
	env.option_arity = NULL;
	env.option_ctx = NULL;
	if (!conf) {
		rc = VDM_EXIT_CONFIG;
		goto out;
	}
	rc = lockdown_check_config(conf, diag);
	if (rc)
		goto out;
	/* A script error is the configuration's: reported before anything
	 * is created (the sim backend parses it again when it runs it). */
	if (cli.script) {
		struct vms_script *script = vms_parse_file(cli.script, stderr);

		if (!script) {
			rc = VDM_EXIT_CONFIG;
			goto out;
		}
		vms_free(script);
	}
	if (rc)
		goto out;
	/* libxl waits for us: a missing plugin is reported before Xen is touched */
	if (xl && (rc = cli_check_vdevs(&cli, conf, diag)) != 0)
		goto out;

	opts.backend_name = backend_name;
	opts.plugin_dirs = cli.dirs;
	opts.plugin_dir_count = cli.dir_count;
	opts.domid = cli.domid;
	opts.script = cli.script;
	opts.restrict_xen = cli.restrict_xen;
	/* --check assembles what dryrun does, with no hypervisor and no guest RAM */
	opts.check_only = cli.check;
	if (xl)
		xl_mode_options(xl, &opts);
	if (!opts.backend && !conf->dryrun && !cli.check) {
		fprintf(stderr, "vdm: backend %s is not compiled into this vdm (compiled in:",
			backend_name);
		if (!backend_first())
			fprintf(stderr, " none");
		for (const struct backend_ops *b = backend_first(); b; b = b->next)
			fprintf(stderr, " %s", b->name);
		fprintf(stderr, "); choose one with --backend\n");
		rc = VDM_EXIT_FATAL_START;
		goto out;
	}
	vm = vm_new(conf, &opts);
	if (!vm) {
		fprintf(stderr, "vdm: out of memory\n");
		rc = VDM_EXIT_FATAL_START;
		goto out;
	}
	if (!opts.backend && !cli.check)
		vm_log(vm, CONF_LOG_WARN,
		       "backend %s is not compiled in: dryrun without its native interrupt "
		       "controllers",
		       backend_name);
	rc = vm_assemble(vm, diag);
	if (rc)
		goto out;
	if (cli.check) {
		cli_resolve_spaces(vm, conf);
		conf_vm_print(conf, stdout);
		goto out;
	}
	if (conf->dryrun) {
		vm_print(vm, stdout);
		fflush(stdout);
		vm_log(vm, CONF_LOG_INFO, "Exiting: dryrun completed");
		rc = VDM_EXIT_NORMAL;
		goto out;
	}
	if (xl && (rc = xl_mode_start(xl, vm)) != 0)
		goto out;
	rc = vm_run(vm);
out:
	xl_mode_stop(xl); /* QMP sockets go before the devices and the event loop */
	/* A plugin or backend stuck in its teardown cannot keep vdm alive. */
	if (vm && teardown_guard_start(rc) < 0)
		fprintf(stderr, "vdm: teardown runs without its time bound\n");
	vm_free(vm);
	vdev_arity_resolver_free(arity); /* after the VM's own references */
	teardown_guard_finish();
	xl_mode_free(xl);
	conf_vm_free(conf);
	conf_diag_free(diag);
	free(table);
	if (iomem)
		conf_asinfo_free(iomem, (unsigned)n_iomem);
	cli_free(&cli);
	return rc;
}
