#!/bin/sh
# vdm's command line itself: --help, --version, bad flags, missing config,
# exit codes (65 for bad command-line configuration).
set -u
. tests/cli/lib.sh

run help 0 --help
expect help out "usage: vdm [options] @file.vmconf"
expect help out "--describe NAME"
expect help out "Backends compiled in:"
# the ABI version vdm reports is the one of the header it was built with
abi=$(sed -n 's/^#define VDEV_ABI_MAJOR \([0-9]*\).*/\1/p' sdk/include/vdev/vdev.h).$(
	sed -n 's/^#define VDEV_ABI_MINOR \([0-9]*\).*/\1/p' sdk/include/vdev/vdev.h)
run version 0 --version
expect version out "vdev ABI $abi"
run badflag 65 --frobnicate
expect badflag err "unknown option --frobnicate"
run noconfig 65
expect noconfig err "no configuration given"
run badbackend 65 --backend qemu dryrun
expect badbackend err "--backend qemu: expected xen, kvm or sim"
run baddomid 65 --domid abc dryrun
expect baddomid err "--domid abc"
run noval 65 --plugin-path
expect noval err "--plugin-path needs a value"
run badasinfo 65 --asinfo foo dryrun
expect badasinfo err "expected NAME=START,LENGTH"

# A backend that is not compiled in: exit 64 with a message (when one exists).
compiled=$("$VDM" --help | sed -n 's/^Backends compiled in: //p')
missing=""
for b in xen kvm sim; do
	case " $compiled " in *" $b "*) ;; *) missing=$b; break ;; esac
done
if [ -n "$missing" ]; then
	printf 'ram 0,1m\n' >"$TMP/min.vmconf"
	run nobackend 64 --backend "$missing" "@$TMP/min.vmconf"
	expect nobackend err "backend $missing is not compiled into this vdm"
fi
finish
