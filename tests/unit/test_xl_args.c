/*
 * tests/unit/test_xl_args.c: libxl's device-model command line ->
 * vmconf (devmodel/xl/xl_args.c). The argv are the ones libxl 4.17's
 * libxl__build_device_model_args_new builds (reference/xen-hvm-dm.md 1.2;
 * tools/libs/light/libxl_dm.c at RELEASE-4.17.7): an HVM guest with vnc=0,
 * vga="none", serial="pty", one disk, one cdrom and one vif; the same with
 * dm_restrict; a restore; and what vdm refuses. The generated texts are
 * compared whole, then parsed by conf/ as vdm does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "devmodel/xl/xl_args.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* What libxl 4.17 runs for domain 5 "hvm1" (memory=256, vcpus=2). */
static char *const typical[] = {
    "/usr/local/lib/vdm/xl-dm",
    "-xen-domid",
    "5",
    "-no-shutdown",
    "-chardev",
    "socket,id=libxl-cmd,path=/var/run/xen/qmp-libxl-5,server=on,wait=off",
    "-mon",
    "chardev=libxl-cmd,mode=control",
    "-chardev",
    "socket,id=libxenstat-cmd,path=/var/run/xen/qmp-libxenstat-5,server=on,wait=off",
    "-mon",
    "chardev=libxenstat-cmd,mode=control",
    "-nodefaults",
    "-no-user-config",
    "-name",
    "hvm1",
    "-vnc",
    "none",
    "-display",
    "none",
    "-serial",
    "pty",
    "-boot",
    "order=cd",
    "-smp",
    "2",
    "-device",
    "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:5a:01:02",
    "-netdev",
    "type=tap,id=net0,ifname=vif5.0-emu,br=xenbr0,script=no,downscript=no",
    "-vdm-config",
    "/etc/vdm/extra.vmconf",
    "-machine",
    "xenfv,suppress-vmdesc=on",
    "-m",
    "256",
    "-drive",
    "file=/srv/hvm1.img,if=ide,index=0,media=disk,format=raw,cache=writeback",
    "-drive",
    "if=none,readonly=on,id=ide-5632,file=/srv/boot.iso,format=raw",
    "-device",
    "ide-cd,id=ide-5632,drive=ide-5632,bus=ide.1,unit=0",
};

static const char typical_machine[] =
    "# vdm's translation of the device-model command line libxl gave it\n"
    "# (devmodel/xl/xl_args.c; `vdm --xl-dm ... -vdm-print` shows it)\n"
    "system hvm1\t# -name hvm1\n"
    "ram 0,0xa0000\t# -m 256\n"
    "ram 0xc0000,0xff40000\t# -m 256\n";

static const char typical_devices[] =
    "# the guest's devices from libxl's -boot, -serial, -drive and -device\n"
    "vdev mc146818 boot-order cd\t# -boot order=cd\n"
    "vdev ser8250 loc io:0x3f8 intr isa:4 name serial0 hostdev pty\t# -serial pty\n"
    "vdev virtio-blk name disk0 hostdev /srv/hvm1.img\t# -drive "
    "file=/srv/hvm1.img,if=ide,index=0,media=disk,format=raw,cache=writeback\n"
    "vdev virtio-blk name cdrom1 hostdev </srv/boot.iso\t# -drive "
    "if=none,readonly=on,id=ide-5632,file=/srv/boot.iso,format=raw\n"
    "vdev virtio-net name nic0 mac 00:16:3e:5a:01:02 tapdev vif5.0-emu\t# -device "
    "rtl8139,id=nic0,netdev=net0,mac=00:16:3e:5a:01:02\n";

/* Parse argv; the log text in *log (caller frees). */
static int parse(int argc, char *const *argv, struct xl_args *a, char **log)
{
	size_t len;
	FILE *f = open_memstream(log, &len);
	int rc;

	assert_non_null(f);
	rc = xl_args_parse(argc, argv, a, f);
	fclose(f);
	return rc;
}

/* parse() of a minimal libxl argv (domain 4, its QMP socket, 128 MiB) and the extra words,
 * NULL-ended. */
static int parse_base(struct xl_args *a, char **log, ...)
{
	char *argv[32] = {"xl-dm",
			  "-xen-domid",
			  "4",
			  "-chardev",
			  "socket,id=libxl-cmd,path=/run/q,server=on,wait=off",
			  "-m",
			  "128"};
	int argc = 7;
	va_list ap;
	char *w;

	va_start(ap, log);
	while ((w = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = w;
	va_end(ap);
	return parse(argc, argv, a, log);
}

static void test_typical_guest(void **state)
{
	struct xl_args a;
	char *log = NULL;

	assert_int_equal(parse(ARGC(typical), typical, &a, &log), 0);
	assert_int_equal(a.domid, 5);
	assert_string_equal(a.name, "hvm1");
	assert_string_equal(a.qmp_path, "/var/run/xen/qmp-libxl-5");
	assert_string_equal(a.xenstat_path, "/var/run/xen/qmp-libxenstat-5");
	assert_int_equal(a.qmp_fd, -1);
	assert_int_equal(a.incoming_fd, -1);
	assert_false(a.start_paused);
	assert_false(a.restrict_xen);
	assert_int_equal(a.serial_count, 1);
	assert_int_equal(a.ram_mib, 256);
	assert_int_equal(a.config_count, 1);
	assert_string_equal(a.configs[0], "/etc/vdm/extra.vmconf");
	assert_string_equal(a.machine_text, typical_machine);
	assert_string_equal(a.devices_text, typical_devices);
	assert_true(a.no_shutdown);
	assert_string_equal(a.boot_order, "cd");
	/* what was ignored or differs from QEMU is said, and why */
	assert_non_null(
	    strstr(log, "note: -boot order=cd: vdm serves a cdrom as a virtio-blk disk"));
	assert_int_equal(a.vcpus, 2);
	assert_non_null(strstr(log, "rtl8139 NIC is served as virtio-net"));
	assert_non_null(
	    strstr(log, "note: -machine xenfv,suppress-vmdesc=on: no Xen platform device"));
	assert_null(strstr(log, "error"));
	free(log);
	xl_args_free(&a);
}

/* The texts go through conf/ as vdm reads them: machine, devices. */
static void test_typical_parses(void **state)
{
	struct xl_args a;
	char *log = NULL;
	struct conf_text texts[2];
	char *words[] = {"@" XL_ARGS_MACHINE, "@" XL_ARGS_DEVICES};
	struct conf_env env = {.texts = texts, .text_count = 2};
	struct conf_diag *d = conf_diag_new(stderr);
	struct conf_vm *vm;

	assert_int_equal(parse(ARGC(typical), typical, &a, &log), 0);
	texts[0] = (struct conf_text){XL_ARGS_MACHINE, a.machine_text};
	texts[1] = (struct conf_text){XL_ARGS_DEVICES, a.devices_text};
	vm = conf_parse_argv(2, words, &env, d);
	assert_non_null(vm);
	assert_string_equal(vm->system, "hvm1");
	assert_int_equal(vm->ram_count, 2);
	assert_int_equal(vm->rams[0].start, 0);
	assert_int_equal(vm->rams[0].length, 0xa0000);
	assert_int_equal(vm->rams[1].start + vm->rams[1].length, 256u << 20);
	assert_int_equal(vm->vdev_count, 5);
	assert_string_equal(vm->vdevs[0].type, "mc146818");
	assert_string_equal(vm->vdevs[0].options[0].name, "boot-order");
	assert_string_equal(vm->vdevs[0].options[0].value, "cd");
	assert_string_equal(vm->vdevs[1].type, "ser8250");
	assert_string_equal(vm->vdevs[1].name, "serial0");
	assert_string_equal(vm->vdevs[2].type, "virtio-blk");
	assert_string_equal(vm->vdevs[4].type, "virtio-net");
	/* diagnostics name the generated text, whose line says where it came from */
	assert_string_equal(vm->vdevs[2].type_pos.file, XL_ARGS_DEVICES);
	assert_int_equal(vm->vdevs[2].type_pos.line, 4);
	conf_vm_free(vm);
	conf_diag_free(d);
	free(log);
	xl_args_free(&a);
}

/* dm_restrict=1: libxl passes the socket (fd=N) and -S, restricts, runs as a user. */
static void test_dm_restrict(void **state)
{
	char *const argv[] = {
	    "xl-dm",
	    "-xen-domid",
	    "9",
	    "-no-shutdown",
	    "-chardev",
	    "socket,id=libxl-cmd,fd=12,server=on,wait=off",
	    "-S",
	    "-mon",
	    "chardev=libxl-cmd,mode=control",
	    "-nodefaults",
	    "-no-user-config",
	    "-name",
	    "r1",
	    "-vnc",
	    "none",
	    "-display",
	    "none",
	    "-net",
	    "none",
	    "-xen-domid-restrict",
	    "-chroot",
	    "/var/run/xen/qemu-root-9",
	    "-machine",
	    "xenfv,suppress-vmdesc=on,max-ram-below-4g=0xe0000000",
	    "-m",
	    "4096",
	    "-runas",
	    "xen-qemuuser-range-base",
	};
	struct xl_args a;
	char *log = NULL;

	assert_int_equal(parse(ARGC(argv), argv, &a, &log), 0);
	assert_int_equal(a.qmp_fd, 12);
	assert_null(a.qmp_path);
	assert_true(a.start_paused);
	assert_true(a.no_shutdown);
	assert_true(a.restrict_xen);
	assert_string_equal(a.runas, "xen-qemuuser-range-base");
	assert_int_equal(a.serial_count, 0);
	/* below the hole up to max-ram-below-4g, the rest above 4 GiB */
	assert_non_null(strstr(a.machine_text, "ram 0xc0000,0xdff40000\t"));
	assert_non_null(strstr(a.machine_text, "ram 0x100000000,0x20000000\t"));
	assert_non_null(strstr(log, "-chroot /var/run/xen/qemu-root-9: ignored"));
	free(log);
	xl_args_free(&a);
}

/* xl restore: -incoming fd:N. */
static void test_incoming(void **state)
{
	char *const argv[] = {"xl-dm",
			      "-xen-domid",
			      "3",
			      "-chardev",
			      "socket,id=libxl-cmd,path=/run/q,server=on,wait=off",
			      "-incoming",
			      "fd:17",
			      "-m",
			      "8192",
			      "-serial",
			      "none"};
	struct xl_args a;
	char *log = NULL;

	assert_int_equal(parse(ARGC(argv), argv, &a, &log), 0);
	assert_int_equal(a.incoming_fd, 17);
	/* 8 GiB: 0xf0000000 below 4 GiB, 0x110000000 above */
	assert_non_null(strstr(a.machine_text, "ram 0x100000000,0x110000000\t"));
	assert_non_null(strstr(a.machine_text, "system dom3\t"));
	assert_int_equal(a.serial_count, 0);
	free(log);
	xl_args_free(&a);
}

/* One refused argument: exit 65, a message naming it and what to change in xl.cfg. */
static void refused(const char *opt, const char *val, const char *expect)
{
	struct xl_args a;
	char *log = NULL;

	assert_int_equal(parse_base(&a, &log, opt, val, (char *)NULL), 65);
	if (!strstr(log, expect))
		fail_msg("%s %s: log lacks \"%s\":\n%s", opt, val ? val : "", expect, log);
	assert_non_null(strstr(log, "error: "));
	assert_non_null(strstr(log, opt));
	free(log);
	xl_args_free(&a);
}

static void test_refusals(void **state)
{
	refused("-vnc", "127.0.0.1:0,to=99", "set vnc=0");
	refused("-device", "cirrus-vga,vgamem_mb=8", "vga=\"none\"");
	refused("-device", "VGA,vgamem_mb=16", "vga=\"none\"");
	refused("-usb", NULL, "no USB");
	refused("-device", "usb-tablet", "no USB");
	refused("-soundhw", "hda", "soundhw=");
	refused("-device", "intel-hda", "soundhw=");
	refused("-spice", "port=6000,tls-port=0,addr=127.0.0.1", "spice=");
	refused("-display", "sdl", "sdl=0");
	refused("-serial", "tcp:127.0.0.1:4555", "serial=\"pty\"");
	refused("-drive", "file=/x.qcow2,if=ide,index=0,media=disk,format=qcow2,cache=writeback",
		"format=qcow2");
	refused("-kernel", "/boot/vmlinuz", "type=\"pvh\"");
	refused("-chardev", "pty,id=libxl-channel0", "channel");
	refused("-incoming", "tcp:0:4444", "fd:N");
	refused("-frobnicate", "1", "unknown option");
	refused("-device", "rtl8139,id=nic0,netdev=net9,mac=00:16:3e:00:00:01", "no -netdev");
	refused("-m", "lots", "RAM in MiB");
}

/* Without the domain or the QMP socket libxl always gives, nothing starts. */
static void test_missing_essentials(void **state)
{
	char *const argv[] = {"xl-dm", "-xen-domid", "4", "-m", "128"};
	char *const argv2[] = {"xl-dm",	   "--xl-dm",
			       "-m",	   "128",
			       "-chardev", "socket,id=libxl-cmd,path=/run/q,server=on,wait=off"};
	struct xl_args a;
	char *log = NULL;

	assert_int_equal(parse(ARGC(argv), argv, &a, &log), 65);
	assert_non_null(strstr(log, "QMP socket"));
	free(log);
	xl_args_free(&a);
	assert_int_equal(parse(ARGC(argv2), argv2, &a, &log), 65);
	assert_non_null(strstr(log, "-xen-domid"));
	free(log);
	xl_args_free(&a);
}

/* Paths are quoted with the language's escapes; substitution text is refused. */
static void test_quoting(void **state)
{
	struct xl_args a;
	char *log = NULL;
	struct conf_text texts[1];
	char *words[] = {"@" XL_ARGS_DEVICES};
	struct conf_env env = {.texts = texts, .text_count = 1};
	struct conf_diag *d = conf_diag_new(stderr);
	struct conf_vm *vm;

	assert_int_equal(
	    parse_base(&a, &log, "-drive",
		       "file=/srv/my disk \"1\".img,if=ide,index=0,media=disk,format=raw", "-drive",
		       "file=/srv/a,,b.img,if=ide,index=1,media=disk,format=raw", (char *)NULL),
	    0);
	texts[0] = (struct conf_text){XL_ARGS_DEVICES, a.devices_text};
	vm = conf_parse_argv(1, words, &env, d);
	assert_non_null(vm);
	assert_int_equal(vm->vdev_count, 3); /* the CMOS, two disks */
	assert_string_equal(vm->vdevs[1].options[vm->vdevs[1].option_count - 1].value,
			    "/srv/my disk \"1\".img");
	/* ",," in a QEMU option value is a comma */
	assert_string_equal(vm->vdevs[2].options[vm->vdevs[2].option_count - 1].value,
			    "/srv/a,b.img");
	conf_vm_free(vm);
	conf_diag_free(d);
	free(log);
	xl_args_free(&a);
	assert_int_equal(parse_base(&a, &log, "-drive",
				    "file=/srv/$env{HOME}.img,if=ide,index=0,media=disk,format=raw",
				    (char *)NULL),
			 65);
	assert_non_null(strstr(log, "$env{"));
	free(log);
	xl_args_free(&a);
}

/* Found by fuzz_xl_args: a relative path keeps its first character, a newline is refused. */
static void test_path_edges(void **state)
{
	struct xl_args a;
	char *log = NULL;

	assert_int_equal(parse_base(&a, &log, "-drive",
				    "file=<odd.img,if=ide,index=0,media=disk,format=raw",
				    (char *)NULL),
			 0);
	/* not "<odd.img": hostdev would read that as odd.img, read-only */
	assert_non_null(strstr(a.devices_text, "hostdev ./<odd.img\t"));
	free(log);
	xl_args_free(&a);
	assert_int_equal(parse_base(&a, &log, "-drive",
				    "file=/srv/a\nb.img,if=ide,index=0,media=disk,format=raw",
				    (char *)NULL),
			 65);
	assert_non_null(strstr(log, "control character"));
	free(log);
	xl_args_free(&a);
}

/*
 * -boot order= (xl.cfg boot=) becomes the CMOS boot order SeaBIOS reads,
 * libxl's "cda" without one; letters a PC cannot boot are refused as QEMU
 * refuses them, with what to change in xl.cfg.
 */
static void test_boot_order(void **state)
{
	static const struct {
		const char *arg, *expect;
	} bad[] = {
	    {"order=cdan", "at most three"},
	    {"order=cz", "'z' is not a PC boot device"},
	    {"order=cc", "'c' given twice"},
	    {"menu=on", "expected order="},
	};
	struct xl_args a;
	char *log = NULL;

	assert_int_equal(parse_base(&a, &log, (char *)NULL), 0);
	assert_null(a.boot_order);
	assert_non_null(strstr(a.devices_text, "vdev mc146818 boot-order cda\t# -boot (none given: "
					       "libxl's default order=cda)\n"));
	free(log);
	xl_args_free(&a);

	assert_int_equal(parse_base(&a, &log, "-boot", "order=dc,menu=on", (char *)NULL), 0);
	assert_non_null(
	    strstr(a.devices_text, "vdev mc146818 boot-order dc\t# -boot order=dc,menu=on\n"));
	assert_non_null(strstr(log, "note: -boot order=dc,menu=on: ignored: menu="));
	assert_null(strstr(log, "cdrom")); /* no cdrom: nothing to say about d */
	free(log);
	xl_args_free(&a);

	/* QEMU's old form; n is mapped as QEMU maps it, with a note */
	assert_int_equal(parse_base(&a, &log, "-boot", "nc", (char *)NULL), 0);
	assert_string_equal(a.boot_order, "nc");
	assert_non_null(strstr(a.devices_text, "vdev mc146818 boot-order nc\t"));
	assert_non_null(strstr(log, "no boot ROM"));
	free(log);
	xl_args_free(&a);

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_base(&a, &log, "-boot", bad[i].arg, (char *)NULL), 65);
		if (!strstr(log, bad[i].expect) || !strstr(log, "error: -boot"))
			fail_msg("-boot %s: log lacks \"%s\":\n%s", bad[i].arg, bad[i].expect, log);
		assert_null(
		    strstr(a.devices_text, "boot-order cda")); /* not silently the default */
		free(log);
		xl_args_free(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_typical_guest), cmocka_unit_test(test_typical_parses),
	    cmocka_unit_test(test_dm_restrict),	  cmocka_unit_test(test_incoming),
	    cmocka_unit_test(test_refusals),	  cmocka_unit_test(test_missing_essentials),
	    cmocka_unit_test(test_quoting),	  cmocka_unit_test(test_path_edges),
	    cmocka_unit_test(test_boot_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
