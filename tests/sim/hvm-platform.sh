#!/bin/sh
# tests/sim/hvm-platform.sh: `vdm --check` of the HVM platform fragment
# (devmodel/xen/hvm-platform.vmconf, as installed, with the CMOS xl mode
# adds from -boot: cmos.vmconf) lists every platform
# device, and a PCI device added after it is placed without an error. The fragment's behaviour on the sim backend, enumerated and
# programmed as hvmloader does it, powered off through PM1a_CNT and
# rebooted through 0xcf9, is tests/sim/hvm-platform/*.vmscript, run by
# tests/sim/run-scripts.sh.
# Env: O, BIN, PLUGIN_DIR (tests/run-tests).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
export VDM_PLUGIN_PATH="$PLUGIN_DIR"
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM
fail=0
# the fragment is the Xen HVM platform: checked as the xen backend sees it
"$VDM" --check --backend xen @tests/sim/hvm-platform/head.vmconf @devmodel/xen/hvm-platform.vmconf @tests/sim/hvm-platform/cmos.vmconf >"$out" 2>&1 ||
	{ echo "FAIL vdm --check exited $?"; cat "$out"; exit 1; }
for dev in i440fx piix3 piix4-pm mc146818 pckeyboard; do
	if grep -q "^vdev [0-9]*: $dev\$" "$out"; then
		echo "ok   --check lists $dev"
	else
		echo "FAIL --check does not list $dev"
		fail=1
	fi
done
# A PCI device placed automatically probes past the platform's slots 0 and 1
# (the SDK helper tries each device number): no error for the probe, 00:02.0.
"$VDM" --backend sim @tests/sim/hvm-platform/head.vmconf @devmodel/xen/hvm-platform.vmconf @tests/sim/hvm-platform/cmos.vmconf \
	vdev pci-dummy dryrun >"$out" 2>&1 || { echo "FAIL dryrun with a pci-dummy exited $?"; fail=1; }
if grep -q 'error' "$out"; then
	echo "FAIL the placement probe was reported: $(grep -m1 error "$out")"
	fail=1
elif grep -q '^  pcicfg 0x0000000000010000-0x0000000000010fff pci-dummy.0' "$out"; then
	echo "ok   an automatic PCI device lands at 00:02.0 without an error"
else
	echo "FAIL pci-dummy not at 00:02.0:"; cat "$out"; fail=1
fi
exit $fail
