#!/bin/sh
# tests/sim/hvm-platform.sh: the HVM platform fragment
# (devmodel/xen/hvm-platform.vmconf, exactly as installed) on the sim
# backend, driven by tests/sim/hvm-platform/*.vmscript in both sim modes:
# enumerated and programmed as hvmloader does it, powered off through
# PM1a_CNT, rebooted through 0xcf9.
# Env: O, BIN, PLUGIN_DIR (tests/run-tests).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
export VDM_PLUGIN_PATH="$PLUGIN_DIR" XDG_RUNTIME_DIR="$(mktemp -d)"
trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT INT TERM
out="$XDG_RUNTIME_DIR/out"
dir=tests/sim/hvm-platform
fail=0

for script in $dir/*.vmscript; do
	for mode in off on; do
		timeout 60 "$VDM" --backend sim --script "$script" @$dir/head.vmconf \
			@devmodel/xen/hvm-platform.vmconf vdev ser8250 loc io:0x3f8 intr isa:4 \
			set sim-process $mode >"$out" 2>&1
		rc=$?
		if [ $rc -eq 0 ] && ! grep -q ': FAIL:' "$out"; then
			echo "ok   $script (sim-process $mode)"
		else
			echo "FAIL $script (sim-process $mode): exit $rc"
			sed 's/^/    | /' "$out"
			fail=1
		fi
	done
done
# The machine as --check shows it: every platform device listed
"$VDM" --check @$dir/head.vmconf @devmodel/xen/hvm-platform.vmconf >"$out" 2>&1 || fail=1
for dev in i440fx piix3 piix4-pm mc146818 pckeyboard; do
	grep -q "^vdev [0-9]*: $dev\$" "$out" || { echo "FAIL --check does not list $dev"; fail=1; }
done
exit $fail
