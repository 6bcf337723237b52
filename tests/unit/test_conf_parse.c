/*
 * Unit tests of the qvm language parser (conf/parse.c, lexer.c, subst.c,
 * print.c): contexts, repetition, ordering, substitution, every option,
 * with assertions on the parsed values. The seed documents' examples are
 * here verbatim (seed_* tests). Errors have their own file,
 * test_conf_errors.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"

static const char *test_getenv(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "HOST_DEV") == 0)
		return "/dev/ser3";
	if (strcmp(name, "SPACED") == 0)
		return "a b";
	return NULL;
}

static const struct conf_asinfo test_asinfo[] = {
    {"guestmem1", 0x80000000, 0x100000},
    {"guestmem2", 0x90000000, 0x2000},
};

static const struct conf_env test_env = {
    .getenv = test_getenv,
    .asinfo = test_asinfo,
    .asinfo_count = 2,
};

struct run {
	struct conf_vm *vm;
	char *diag;
	unsigned errors;
};

static struct run parse_env(const char *text, const struct conf_env *env)
{
	struct run r = {0};
	size_t len = 0;
	FILE *f = open_memstream(&r.diag, &len);
	struct conf_diag *d;

	assert_non_null(f);
	d = conf_diag_new(f);
	assert_non_null(d);
	r.vm = conf_parse_string(text, "t.vmconf", env, d);
	r.errors = conf_diag_error_count(d);
	conf_diag_free(d);
	fclose(f);
	return r;
}

static struct run parse(const char *text)
{
	return parse_env(text, &test_env);
}

/* Parse text that must be valid. */
static struct conf_vm *ok(const char *text)
{
	struct run r = parse(text);

	if (!r.vm)
		fail_msg("unexpected errors for '%s':\n%s", text, r.diag);
	assert_int_equal(r.errors, 0);
	assert_string_equal(r.diag, "");
	free(r.diag);
	return r.vm;
}

static char *print(const struct conf_vm *vm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	conf_vm_print(vm, f);
	fclose(f);
	return buf;
}

/* ------------------------------------------------------- seed examples */

static void seed_context_changes(void **state)
{
	struct conf_vm *vm = ok("cpu sched 8 ram 32m cpu sched 6");

	assert_int_equal(vm->cpu_count, 2);
	assert_true(vm->cpus[0].has_sched);
	assert_int_equal(vm->cpus[0].sched_priority, 8);
	assert_int_equal(vm->cpus[1].sched_priority, 6);
	assert_int_equal(vm->ram_count, 1);
	assert_int_equal(vm->rams[0].start, 0);
	assert_int_equal(vm->rams[0].length, 32u << 20);
	conf_vm_free(vm);

	vm = ok("cpu sched 8 cpu sched 6");
	assert_int_equal(vm->cpu_count, 2);
	assert_int_equal(vm->cpus[0].sched_priority, 8);
	assert_int_equal(vm->cpus[1].sched_priority, 6);
	conf_vm_free(vm);
}

static void seed_last_value_wins(void **state)
{
	/* one vCPU with priority 6 (sched 8 discarded), one with the default */
	struct conf_vm *vm = ok("cpu sched 8 sched 6 cpu");

	assert_int_equal(vm->cpu_count, 2);
	assert_true(vm->cpus[0].has_sched);
	assert_int_equal(vm->cpus[0].sched_priority, 6);
	assert_false(vm->cpus[1].has_sched);
	conf_vm_free(vm);
}

static void seed_order_inside_context(void **state)
{
	struct conf_vm *a = ok("cpu sched 8 ram 32m");
	struct conf_vm *b = ok("cpu ram 32m sched 8");
	char *pa = print(a), *pb = print(b);

	assert_string_equal(pa, pb);
	assert_int_equal(b->cpu_count, 1);
	assert_int_equal(b->cpus[0].sched_priority, 8);
	assert_int_equal(b->rams[0].length, 32u << 20);
	free(pa);
	free(pb);
	conf_vm_free(a);
	conf_vm_free(b);
}

static void seed_ram_before_load(void **state)
{
	struct conf_vm *vm = ok("ram 32m load /qnx7.ifs");
	struct run r;

	assert_int_equal(vm->load_count, 1);
	assert_string_equal(vm->loads[0].path, "/qnx7.ifs");
	assert_null(vm->loads[0].blob_type);
	assert_false(vm->loads[0].has_address);
	conf_vm_free(vm);

	r = parse("load /qnx7.ifs ram 32m");
	assert_null(r.vm);
	assert_int_equal(r.errors, 1);
	assert_string_equal(r.diag, "t.vmconf:1:1: error: 'load' needs guest memory: give 'ram' "
				    "(or 'rom') before it, e.g. 'ram 32m load /qnx7.ifs'\n"
				    "load /qnx7.ifs ram 32m\n"
				    "^\n");
	free(r.diag);
}

static void seed_controller_before_user(void **state)
{
	struct conf_vm *vm = ok("vdev ioapic loc 0xf8000000 intr apic name myioapic "
				"vdev ser8250 intr myioapic:4");
	struct run r;

	assert_int_equal(vm->vdev_count, 2);
	assert_string_equal(vm->vdevs[0].type, "ioapic");
	assert_string_equal(vm->vdevs[0].name, "myioapic");
	assert_int_equal(vm->vdevs[0].intr_count, 1);
	assert_string_equal(vm->vdevs[0].intrs[0].controller, "apic");
	assert_false(vm->vdevs[0].intrs[0].has_line);
	assert_int_equal(vm->vdevs[0].loc_count, 1);
	assert_int_equal(vm->vdevs[0].locs[0].loc.base, 0xf8000000);
	assert_string_equal(vm->vdevs[1].intrs[0].controller, "myioapic");
	assert_true(vm->vdevs[1].intrs[0].has_line);
	assert_int_equal(vm->vdevs[1].intrs[0].line, 4);
	assert_string_equal(vm->vdevs[1].intrs[0].text, "myioapic:4");
	conf_vm_free(vm);

	/* the seed's failing order, with its typo kept: myioapicr */
	r = parse("vdev ser8250 intr myioapic:4 vdev ioapic loc 0xf8000000 intr apic name "
		  "myioapicr");
	assert_null(r.vm);
	assert_int_equal(r.errors, 1);
	assert_string_equal(
	    r.diag,
	    "t.vmconf:1:19: error: unknown interrupt controller 'myioapic': no vdev before this "
	    "point is named 'myioapic', and it is not a native controller\n"
	    "vdev ser8250 intr myioapic:4 vdev ioapic loc 0xf8000000 intr apic name myioapicr\n"
	    "                  ^\n");
	free(r.diag);

	/* and the order mistake itself, with the name spelled the same */
	r = parse(
	    "vdev ser8250 intr myioapic:4\nvdev ioapic loc 0xf8000000 intr apic name myioapic");
	assert_null(r.vm);
	assert_int_equal(r.errors, 1);
	assert_string_equal(
	    r.diag, "t.vmconf:1:19: error: interrupt controller 'myioapic' is defined later "
		    "(t.vmconf:2:43): a controller must come before any intr that names it\n"
		    "vdev ser8250 intr myioapic:4\n"
		    "                  ^\n"
		    "t.vmconf:2:43: note: 'myioapic' is defined here\n"
		    "vdev ioapic loc 0xf8000000 intr apic name myioapic\n"
		    "                                          ^\n");
	free(r.diag);
}

static void seed_substitution_asinfo(void **state)
{
	struct conf_vm *vm =
	    ok("pass loc 0x10000000,$asinfo_length{guestmem1},rw=$asinfo_start{guestmem1}");
	const struct conf_loc *l;
	struct run r;

	assert_int_equal(vm->pass_count, 1);
	assert_int_equal(vm->passes[0].loc_count, 1);
	l = &vm->passes[0].locs[0];
	assert_int_equal(l->loc.kind, VDEV_LOC_ADDR);
	assert_int_equal(l->loc.space, VDEV_SPACE_MMIO);
	assert_int_equal(l->loc.base, 0x10000000);
	assert_int_equal(l->loc.length, 0x100000);
	assert_string_equal(l->pass_flags, "rw");
	assert_true(l->has_host);
	assert_int_equal(l->host.base, 0x80000000);
	assert_string_equal(l->text, "0x10000000,0x100000,rw=0x80000000");
	conf_vm_free(vm);

	r = parse("pass loc 0x10000000,$asinfo_length{guestmem1},rw=$asinfo_start{/foo/guestmem1}");
	assert_null(r.vm);
	assert_int_equal(r.errors, 1);
	assert_string_equal(
	    r.diag,
	    "t.vmconf:1:50: error: asinfo names are plain names, not paths: write "
	    "'$asinfo_start{guestmem1}', not '$asinfo_start{/foo/guestmem1}'\n"
	    "pass loc 0x10000000,$asinfo_length{guestmem1},rw=$asinfo_start{/foo/guestmem1}\n"
	    "                                                 ^\n");
	free(r.diag);
}

static void seed_substitution_env(void **state)
{
	struct conf_vm *vm = ok("vdev ser8250 hostdev $env{HOST_DEV}");

	assert_int_equal(vm->vdevs[0].option_count, 1);
	assert_string_equal(vm->vdevs[0].options[0].name, "hostdev");
	assert_string_equal(vm->vdevs[0].options[0].value, "/dev/ser3");
	assert_int_equal(vm->vdevs[0].options[0].value_pos.col, 22);
	conf_vm_free(vm);
}

static void seed_multipliers(void **state)
{
	/* 4K,1k is equivalent to 0x1000,0x400 */
	struct conf_vm *vm = ok("ram 4K,1k ram 0x2000,0x400 vdev x loc 4K,1k");

	assert_int_equal(vm->rams[0].start, 0x1000);
	assert_int_equal(vm->rams[0].length, 0x400);
	assert_int_equal(vm->vdevs[0].locs[0].loc.base, 0x1000);
	assert_int_equal(vm->vdevs[0].locs[0].loc.length, 0x400);
	conf_vm_free(vm);
}

/* ------------------------------------------------------------- lexing */

static void test_comments_newlines_quotes(void **state)
{
	struct conf_vm *vm = ok("# a comment line\n"
				"system   demo # trailing comment\n"
				"\n"
				"cmdline \"console=ttyS0 say=\\\"hi\\\" back\\\\slash\"\n"
				"vdev\tser8250\n  hostdev >\"|cat x\"\n"
				"dump \"|gzip >dump.gz\" dryrun\n");

	assert_string_equal(vm->system, "demo");
	assert_int_equal(vm->system_pos.line, 2);
	assert_int_equal(vm->system_pos.col, 10);
	assert_string_equal(vm->cmdline, "console=ttyS0 say=\"hi\" back\\slash");
	assert_string_equal(vm->vdevs[0].options[0].value, ">|cat x");
	assert_int_equal(vm->vdevs[0].options[0].pos.line, 6);
	assert_int_equal(vm->vdevs[0].options[0].pos.col, 3);
	assert_string_equal(vm->dump, "|gzip >dump.gz");
	assert_true(vm->dryrun);
	conf_vm_free(vm);
}

static void test_hash_inside_word(void **state)
{
	/* '#' starts a comment only at the start of a word */
	struct conf_vm *vm = ok("vdev x path /dev/a#1 #comment\nflag \"#q\"");

	assert_int_equal(vm->vdevs[0].option_count, 2);
	assert_string_equal(vm->vdevs[0].options[0].value, "/dev/a#1");
	assert_string_equal(vm->vdevs[0].options[1].name, "flag");
	assert_string_equal(vm->vdevs[0].options[1].value, "#q");
	conf_vm_free(vm);
}

static void test_quoted_keyword_is_value(void **state)
{
	/* a quoted word is never an option keyword */
	struct conf_vm *vm = ok("vdev x mode \"ram\" system2 x");

	assert_string_equal(vm->vdevs[0].options[0].value, "ram");
	assert_string_equal(vm->vdevs[0].options[1].name, "system2");
	conf_vm_free(vm);
}

static void test_env_in_quotes(void **state)
{
	struct conf_vm *vm = ok("cmdline \"dev=$env{HOST_DEV} $x $envy\" set v $env{SPACED}");

	assert_string_equal(vm->cmdline, "dev=/dev/ser3 $x $envy");
	/* a substituted value is never split into words */
	assert_string_equal(vm->sets[0].value, "a b");
	conf_vm_free(vm);
}

/* ------------------------------------------------------------ options */

static void test_system(void **state)
{
	struct conf_vm *vm = ok("system a system b cpu");

	assert_string_equal(vm->system, "b");
	assert_int_equal(vm->system_pos.col, 17);
	conf_vm_free(vm);
	vm = ok("ram 1m");
	assert_null(vm->system);
	conf_vm_free(vm);
}

static void test_cpu_options(void **state)
{
	struct conf_vm *vm = ok("cpu sched 10r runmask 0,2,63 partition gold\n"
				"cpu sched 255f\ncpu sched 1o runmask 1 runmask 3 set vcpu-x 1");

	assert_int_equal(vm->cpu_count, 3);
	assert_int_equal(vm->cpus[0].sched_priority, 10);
	assert_int_equal(vm->cpus[0].sched_policy, 'r');
	assert_true(vm->cpus[0].has_runmask);
	assert_int_equal(vm->cpus[0].runmask, (1ull << 63) | 5);
	assert_string_equal(vm->cpus[0].partition, "gold");
	assert_int_equal(vm->cpus[1].sched_priority, 255);
	assert_int_equal(vm->cpus[1].sched_policy, 'f');
	assert_false(vm->cpus[1].has_runmask);
	assert_null(vm->cpus[1].partition);
	assert_int_equal(vm->cpus[2].sched_policy, 'o');
	assert_int_equal(vm->cpus[2].runmask, 8); /* last runmask wins */
	assert_int_equal(vm->cpus[2].set_count, 1);
	assert_string_equal(vm->cpus[2].sets[0].name, "vcpu-x");
	assert_int_equal(vm->set_count, 0);
	conf_vm_free(vm);
}

static void test_ram_rom_placement(void **state)
{
	/* the recommended x86 layout */
	struct conf_vm *vm = ok("ram 0,0xa0000 reserve loc 0xa0000,0x20000 rom 0xc0000,0x40000 "
				"ram 1m,1023m ram 4k rom 8k");

	assert_int_equal(vm->ram_count, 3);
	assert_int_equal(vm->rom_count, 2);
	assert_true(vm->rams[0].has_start);
	assert_int_equal(vm->rams[1].start, 1u << 20);
	assert_int_equal(vm->rams[1].length, 1023u << 20);
	/* no start: right after the highest RAM/ROM so far */
	assert_false(vm->rams[2].has_start);
	assert_int_equal(vm->rams[2].start, 1ull << 30);
	assert_int_equal(vm->rams[2].length, 4096);
	assert_int_equal(vm->roms[1].start, (1ull << 30) + 4096);
	assert_int_equal(vm->roms[1].length, 8192);
	conf_vm_free(vm);

	vm = ok("rom 0xfffff000,4k ram 16m");
	assert_int_equal(vm->rams[0].start, 0x100000000ull);
	conf_vm_free(vm);
}

static void test_load_forms(void **state)
{
	struct conf_vm *vm = ok("ram 0,64m rom 0x8000000,64k\n"
				"load /boot/kernel\n"
				"acpi load /boot/ssdt.aml\n"
				"data load 0x1000000,/boot/blob,with,commas\n"
				"fdt load 0x8000000,/boot/vm.dtb\n"
				"initrd load 32m,/boot/initrd\n"
				"raw load 0x10,/r\nelf load /e\n"
				"load /a,b\n");
	static const char *types[] = {NULL, "acpi", "data", "fdt", "initrd", "raw", "elf", NULL};

	assert_int_equal(vm->load_count, 8);
	for (unsigned i = 0; i < 8; i++) {
		if (types[i])
			assert_string_equal(vm->loads[i].blob_type, types[i]);
		else
			assert_null(vm->loads[i].blob_type);
	}
	assert_false(vm->loads[0].has_address);
	assert_int_equal(vm->loads[2].address, 0x1000000);
	assert_string_equal(vm->loads[2].path, "/boot/blob,with,commas");
	assert_int_equal(vm->loads[3].address, 0x8000000);
	assert_int_equal(vm->loads[4].address, 32u << 20);
	assert_int_equal(vm->loads[1].pos.line, 3);
	assert_int_equal(vm->loads[1].pos.col, 1); /* the blob type starts it */
	assert_string_equal(vm->loads[7].path, "/a,b");
	conf_vm_free(vm);
}

static void test_vdev_options(void **state)
{
	struct conf_vm *vm = ok("vdev ioapic loc 0xfec00000 intr apic name ioa hostvector 32\n"
				"vdev hpet loc 0xfed00000 intr ioa:2,ioa:6 intr ioa:8 legacy-free\n"
				"  frequency 14318180 log warn,error slog\n"
				"vdev virtio-net loc pci:0:3 loc 0x1000 legacy peer\n"
				"vdev vdev-pl011 loc mem:0x1c090000 intr gic:37 name /dev/ser1 x");
	const struct conf_vdev *v;

	assert_int_equal(vm->vdev_count, 4);
	v = &vm->vdevs[0];
	assert_int_equal(v->option_count, 1);
	assert_string_equal(v->options[0].name, "hostvector");
	assert_string_equal(v->options[0].value, "32");
	assert_int_equal(v->options[0].value_pos.col, 58);

	v = &vm->vdevs[1];
	assert_int_equal(v->intr_count, 3);
	assert_int_equal(v->intrs[0].line, 2);
	assert_int_equal(v->intrs[1].line, 6);
	assert_int_equal(v->intrs[1].pos.col, 37); /* the second item of the list */
	assert_int_equal(v->intrs[2].line, 8);
	assert_int_equal(v->option_count, 2);
	assert_string_equal(v->options[0].name, "legacy-free");
	assert_null(v->options[0].value);
	assert_string_equal(v->options[1].name, "frequency");
	assert_string_equal(v->options[1].value, "14318180");
	assert_string_equal(v->log, "warn,error slog");
	assert_int_equal(v->log_spec.filters, CONF_LOG_WARN | CONF_LOG_ERROR);
	assert_int_equal(v->log_spec.dest, CONF_LOG_SLOG);

	v = &vm->vdevs[2];
	assert_int_equal(v->loc_count, 2);
	assert_int_equal(v->locs[0].loc.kind, VDEV_LOC_PCI_BDF);
	assert_int_equal(v->locs[0].loc.dev, 3);
	assert_false(v->locs[1].has_space);
	assert_int_equal(v->option_count, 2);
	assert_null(v->options[0].value); /* legacy: known no-argument */
	assert_string_equal(v->options[1].name, "peer");
	assert_null(v->options[1].value); /* next word is `vdev`: no argument */

	v = &vm->vdevs[3];
	assert_string_equal(v->type, "vdev-pl011");
	assert_true(v->locs[0].has_space);
	assert_string_equal(v->name, "/dev/ser1");
	assert_string_equal(v->options[0].name, "x");
	assert_null(v->options[0].value); /* end of input */
	conf_vm_free(vm);
}

static void test_vdev_top_level_inside(void **state)
{
	/* a top-level option inside a vdev ends nothing: the vdev goes on */
	struct conf_vm *vm = ok("vdev ser8250 loc 0x3f8 ram 1m hostdev /dev/ser1 dryrun name s");

	assert_int_equal(vm->ram_count, 1);
	assert_true(vm->dryrun);
	assert_string_equal(vm->vdevs[0].options[0].value, "/dev/ser1");
	assert_string_equal(vm->vdevs[0].name, "s");
	conf_vm_free(vm);
}

static void test_vdev_by_type_name(void **state)
{
	/* an unnamed controller answers to its type (intr ioapic:2) */
	struct conf_vm *vm = ok("vdev vdev-ioapic.so loc 0xfec00000 intr apic\n"
				"vdev hpet intr ioapic:2,ioapic:6");

	assert_int_equal(vm->vdevs[1].intr_count, 2);
	conf_vm_free(vm);
}

static void test_native_controllers(void **state)
{
	static const char *const natives[] = {"xenpic", NULL};
	struct conf_env env = test_env;
	struct run r;
	struct conf_vm *vm = ok("vdev a intr apic vdev b intr isa:3 vdev c intr pci:1 "
				"vdev d intr msi vdev e intr gic:37 vdev f intr cpu:0");

	assert_int_equal(vm->vdev_count, 6);
	conf_vm_free(vm);

	env.native_controllers = natives;
	r = parse_env("vdev a intr xenpic:1 vdev b intr gic:37", &env);
	assert_null(r.vm);
	assert_int_equal(r.errors, 1);
	assert_non_null(strstr(r.diag, "t.vmconf:1:34: error: unknown interrupt controller 'gic'"));
	free(r.diag);
}

static void test_pass_reserve(void **state)
{
	struct conf_vm *vm = ok("data pass loc mem:0x2000,r=0x1000 intr 5,u=7 intr gic:40,t\n"
				"pass loc pci:0:12.0=pci:0x8086/0x1234 loc io:0x60,4,rw=0x70\n"
				"reserve intr 39 loc pci:0:1 loc io 0xcf,0x8 loc 0x1000,0x8");
	const struct conf_region_ctx *p0 = &vm->passes[0], *p1 = &vm->passes[1];
	const struct conf_region_ctx *r0 = &vm->reserves[0];

	assert_int_equal(vm->pass_count, 2);
	assert_string_equal(p0->blob_type, "data");
	assert_int_equal(p0->locs[0].loc.base, 0x2000);
	assert_int_equal(p0->locs[0].loc.length, 0);
	assert_string_equal(p0->locs[0].pass_flags, "r");
	assert_int_equal(p0->locs[0].host.base, 0x1000);
	assert_int_equal(p0->intr_count, 2);
	assert_null(p0->intrs[0].controller);
	assert_int_equal(p0->intrs[0].line, 5);
	assert_true(p0->intrs[0].unmask);
	assert_true(p0->intrs[0].has_vector);
	assert_int_equal(p0->intrs[0].vector, 7);
	assert_string_equal(p0->intrs[1].controller, "gic");
	assert_true(p0->intrs[1].ist);
	assert_false(p0->intrs[1].unmask);

	assert_null(p1->blob_type);
	assert_int_equal(p1->locs[0].loc.kind, VDEV_LOC_PCI_BDF);
	assert_int_equal(p1->locs[0].loc.dev, 12);
	assert_true(p1->locs[0].has_host);
	assert_int_equal(p1->locs[0].host.kind, VDEV_LOC_PCI_ID);
	assert_int_equal(p1->locs[0].host.vendor, 0x8086);
	assert_int_equal(p1->locs[1].loc.space, VDEV_SPACE_PIO);
	assert_int_equal(p1->locs[1].host.base, 0x70);

	assert_int_equal(vm->reserve_count, 1);
	assert_int_equal(r0->intr_count, 1);
	assert_int_equal(r0->intrs[0].line, 39);
	assert_int_equal(r0->loc_count, 3);
	assert_int_equal(r0->locs[1].loc.space, VDEV_SPACE_PIO);
	assert_int_equal(r0->locs[1].loc.base, 0xcf);
	assert_int_equal(r0->locs[1].loc.length, 8);
	assert_string_equal(r0->locs[1].text, "io:0xcf,0x8");
	assert_int_equal(r0->locs[2].loc.space, VDEV_SPACE_MMIO);
	conf_vm_free(vm);
}

static void test_set_scopes(void **state)
{
	struct conf_vm *vm =
	    ok("set grow-heap 1 cpu set c1 2 vdev ser8250 set vdev-message-block-timeout 5\n"
	       "pass loc 0x1000,0x1000 set after-pass 3");

	assert_int_equal(vm->set_count, 2);
	assert_string_equal(vm->sets[0].name, "grow-heap");
	assert_string_equal(vm->sets[0].value, "1");
	assert_string_equal(vm->sets[1].name, "after-pass"); /* pass has no sets */
	assert_int_equal(vm->cpus[0].set_count, 1);
	assert_string_equal(vm->cpus[0].sets[0].value, "2");
	assert_int_equal(vm->vdevs[0].set_count, 1);
	assert_string_equal(vm->vdevs[0].sets[0].name, "vdev-message-block-timeout");
	assert_int_equal(vm->vdevs[0].sets[0].value_pos.col, 74);
	conf_vm_free(vm);
}

static void test_logger_unsupported_misc(void **state)
{
	struct conf_vm *vm = ok("");

	/* defaults */
	assert_int_equal(vm->logger_count, 0);
	assert_int_equal(vm->unsupported[CONF_UNSUP_INSTRUCTION], CONF_UNSUP_FAIL);
	assert_int_equal(vm->unsupported[CONF_UNSUP_REFERENCE], CONF_UNSUP_IGNORE);
	assert_int_equal(vm->unsupported[CONF_UNSUP_REGISTER], CONF_UNSUP_FAIL);
	assert_false(vm->dryrun);
	conf_vm_free(vm);

	vm = ok("logger fatal,internal,error,warn,info,debug,verbose stdout logger error none\n"
		"unsupported instruction abort unsupported reference fail unsupported reference "
		"ignore unsupported register ignore\n"
		"cmdline first cmdline \"second one\" dump /tmp/a dump \"|gzip >x\"");
	assert_int_equal(vm->logger_count, 2);
	assert_int_equal(vm->loggers[0].filters, 0x7f);
	assert_int_equal(vm->loggers[0].dest, CONF_LOG_STDOUT);
	assert_int_equal(vm->loggers[1].filters, CONF_LOG_ERROR);
	assert_int_equal(vm->loggers[1].dest, CONF_LOG_NONE);
	assert_int_equal(vm->unsupported[CONF_UNSUP_INSTRUCTION], CONF_UNSUP_ABORT);
	assert_int_equal(vm->unsupported[CONF_UNSUP_REFERENCE], CONF_UNSUP_IGNORE);
	assert_int_equal(vm->unsupported[CONF_UNSUP_REGISTER], CONF_UNSUP_IGNORE);
	assert_string_equal(vm->cmdline, "second one");
	assert_string_equal(vm->dump, "|gzip >x");
	conf_vm_free(vm);
}

static void test_print(void **state)
{
	struct conf_vm *vm =
	    ok("system demo\n"
	       "cpu sched 10r runmask 0,1 cpu\n"
	       "ram 0,0xa0000 rom 0xc0000,0x40000 ram 1m,15m ram 1m\n"
	       "fdt load 0x100000,/b/vm.dtb load /b/k\n"
	       "pass loc 0x10000000,4k,rw=0x2000 intr 5,u\n"
	       "reserve intr 39 loc io:0xcf,8\n"
	       "set fdt-dump-file /tmp/f.dtb\n"
	       "vdev ioapic loc 0xfec00000 intr apic name ioa\n"
	       "vdev ser8250 loc io:0x3f8 intr ioa:4 hostdev \"/dev/ser 1\" log error stdout "
	       "set vdev-message-block-timeout 5\n"
	       "logger warn,error stderr unsupported register abort\n"
	       "cmdline \"console=ttyS0 q=\\\"x\\\"\" dryrun\n");
	char *out = print(vm);

	assert_string_equal(out, "system: demo\n"
				 "cpu 0: sched 10r runmask 0x3\n"
				 "cpu 1:\n"
				 "ram 0: 0x0,0xa0000\n"
				 "ram 1: 0x100000,0xf00000\n"
				 "ram 2: 0x1000000,0x100000 (placed)\n"
				 "rom 0: 0xc0000,0x40000\n"
				 "load 0: fdt at 0x100000 /b/vm.dtb\n"
				 "load 1: (sniff) /b/k\n"
				 "pass 0:\n"
				 "  loc mem:0x10000000,0x1000,rw=0x2000\n"
				 "  intr 5,u\n"
				 "reserve 0:\n"
				 "  loc io:0xcf,0x8\n"
				 "  intr 39\n"
				 "vdev 0: ioapic name ioa\n"
				 "  loc mem:0xfec00000\n"
				 "  intr apic\n"
				 "vdev 1: ser8250\n"
				 "  loc io:0x3f8\n"
				 "  intr ioa:4\n"
				 "  log error stdout\n"
				 "  option hostdev \"/dev/ser 1\"\n"
				 "  set vdev-message-block-timeout \"5\"\n"
				 "logger 0: error,warn stderr\n"
				 "unsupported: instruction fail reference ignore register abort\n"
				 "set fdt-dump-file \"/tmp/f.dtb\"\n"
				 "cmdline: \"console=ttyS0 q=\\\"x\\\"\"\n"
				 "dump: (none)\n"
				 "dryrun: yes\n");
	free(out);
	conf_vm_free(vm);

	vm = ok("");
	out = print(vm);
	assert_string_equal(out, "system: (none)\n"
				 "cpu (default): one vCPU\n"
				 "logger (default): fatal,internal,error,warn,info stderr\n"
				 "unsupported: instruction fail reference ignore register fail\n"
				 "cmdline: (none)\n"
				 "dump: (none)\n"
				 "dryrun: no\n");
	free(out);
	conf_vm_free(vm);
}

/* ------------------------------------------------------- command line */

static struct run parse_argv(int argc, char **argv)
{
	struct run r = {0};
	size_t len = 0;
	FILE *f = open_memstream(&r.diag, &len);
	struct conf_diag *d;

	assert_non_null(f);
	d = conf_diag_new(f);
	r.vm = conf_parse_argv(argc, argv, &test_env, d);
	r.errors = conf_diag_error_count(d);
	conf_diag_free(d);
	fclose(f);
	return r;
}

static void test_argv_stream(void **state)
{
	char *argv[] = {"@tests/conf/valid/x86-basic.vmconf",
			"set",
			"fdt-dump-file",
			"/tmp/f.dtb",
			"dryrun",
			"vdev",
			"ser8250",
			"hostdev",
			"$env{HOST_DEV}"};
	struct run r = parse_argv(9, argv);
	const struct conf_vdev *last;

	if (!r.vm)
		fail_msg("%s", r.diag);
	/* the file's last context (a vdev) ends with the file: `set` is global */
	assert_int_equal(r.vm->set_count, 1);
	assert_string_equal(r.vm->sets[0].name, "fdt-dump-file");
	assert_string_equal(r.vm->sets[0].pos.file, "<command line>");
	assert_int_equal(r.vm->sets[0].pos.line, 1);
	assert_int_equal(r.vm->sets[0].pos.col, 40);
	assert_true(r.vm->dryrun);
	last = &r.vm->vdevs[r.vm->vdev_count - 1];
	assert_string_equal(last->type, "ser8250");
	assert_string_equal(last->options[0].value, "/dev/ser3");
	assert_int_equal(last->options[0].value_pos.col, 93);
	assert_string_equal(r.vm->system, "x86basic");
	assert_string_equal(r.vm->system_pos.file, "tests/conf/valid/x86-basic.vmconf");
	assert_int_equal(r.vm->file_count, 2);
	free(r.diag);
	conf_vm_free(r.vm);
}

static void test_argv_errors(void **state)
{
	char *argv[] = {"ram", "1m", "@tests/conf/no-such.vmconf", "ramm", "2m", "@"};
	struct run r = parse_argv(6, argv);

	assert_null(r.vm);
	assert_int_equal(r.errors, 3);
	assert_string_equal(
	    r.diag, "<command line>:1:8: error: cannot read 'tests/conf/no-such.vmconf': No "
		    "such file or directory\n"
		    "ram 1m @tests/conf/no-such.vmconf ramm 2m @\n"
		    "       ^\n"
		    "<command line>:1:35: error: unknown option 'ramm'; did you mean 'ram'?\n"
		    "ram 1m @tests/conf/no-such.vmconf ramm 2m @\n"
		    "                                  ^\n"
		    "<command line>:1:43: error: '@' needs a file name: @file.vmconf\n"
		    "ram 1m @tests/conf/no-such.vmconf ramm 2m @\n"
		    "                                          ^\n");
	free(r.diag);
}

static void test_argv_system_in_file_first(void **state)
{
	/* system must be first across the whole stream */
	char *argv[] = {"dryrun", "@tests/conf/valid/x86-basic.vmconf"};
	struct run r = parse_argv(2, argv);

	assert_null(r.vm);
	assert_int_equal(r.errors, 1);
	assert_non_null(strstr(r.diag,
			       "tests/conf/valid/x86-basic.vmconf:3:1: error: 'system' must "
			       "be the first option; 'dryrun' comes before it (<command "
			       "line>:1:1)\n"));
	free(r.diag);
}

static void test_asinfo_iomem(void **state)
{
	struct conf_asinfo *t = NULL;
	int n = conf_asinfo_load_iomem("tests/conf/iomem.txt", &t);

	assert_int_equal(n, 4);
	assert_string_equal(t[0].name, "Reserved");
	assert_int_equal(t[0].start, 0);
	assert_int_equal(t[0].length, 0x1000);
	assert_string_equal(t[1].name, "System RAM");
	assert_int_equal(t[1].start, 0x1000);
	assert_int_equal(t[1].length, 0x9e000);
	assert_string_equal(t[2].name, "guestmem1");
	assert_int_equal(t[2].start, 0x100000000ull);
	assert_int_equal(t[2].length, 0x10000000);
	assert_string_equal(t[3].name, "PCI Bus 0000:00");
	conf_asinfo_free(t, (unsigned)n);

	assert_int_equal(conf_asinfo_load_iomem("tests/conf/none.txt", &t), -ENOENT);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(seed_context_changes),
	    cmocka_unit_test(seed_last_value_wins),
	    cmocka_unit_test(seed_order_inside_context),
	    cmocka_unit_test(seed_ram_before_load),
	    cmocka_unit_test(seed_controller_before_user),
	    cmocka_unit_test(seed_substitution_asinfo),
	    cmocka_unit_test(seed_substitution_env),
	    cmocka_unit_test(seed_multipliers),
	    cmocka_unit_test(test_comments_newlines_quotes),
	    cmocka_unit_test(test_hash_inside_word),
	    cmocka_unit_test(test_quoted_keyword_is_value),
	    cmocka_unit_test(test_env_in_quotes),
	    cmocka_unit_test(test_system),
	    cmocka_unit_test(test_cpu_options),
	    cmocka_unit_test(test_ram_rom_placement),
	    cmocka_unit_test(test_load_forms),
	    cmocka_unit_test(test_vdev_options),
	    cmocka_unit_test(test_vdev_top_level_inside),
	    cmocka_unit_test(test_vdev_by_type_name),
	    cmocka_unit_test(test_native_controllers),
	    cmocka_unit_test(test_pass_reserve),
	    cmocka_unit_test(test_set_scopes),
	    cmocka_unit_test(test_logger_unsupported_misc),
	    cmocka_unit_test(test_print),
	    cmocka_unit_test(test_argv_stream),
	    cmocka_unit_test(test_argv_errors),
	    cmocka_unit_test(test_argv_system_in_file_first),
	    cmocka_unit_test(test_asinfo_iomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
