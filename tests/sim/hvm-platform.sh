#!/bin/sh
# tests/sim/hvm-platform.sh: `vdm --check` of the HVM platform fragment
# (devmodel/xen/hvm-platform.vmconf, as installed) lists every platform
# device. The fragment's behaviour on the sim backend, enumerated and
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
"$VDM" --check --backend xen @tests/sim/hvm-platform/head.vmconf @devmodel/xen/hvm-platform.vmconf >"$out" 2>&1 ||
	{ echo "FAIL vdm --check exited $?"; cat "$out"; exit 1; }
for dev in i440fx piix3 piix4-pm mc146818 pckeyboard; do
	if grep -q "^vdev [0-9]*: $dev\$" "$out"; then
		echo "ok   --check lists $dev"
	else
		echo "FAIL --check does not list $dev"
		fail=1
	fi
done
exit $fail
