#!/bin/sh
# tests/teardown/kvm-lines-high.sh: the teardown case of sim-lines-high.sh
# with a real guest on /dev/kvm: samples/guests/lines-high.c leaves the
# 8254, both UARTs and the RTC interrupting into the 8259 and the I/O APIC
# with interrupts disabled, then powers off. vdm must exit 0 promptly
# whatever the order of the controllers and devices in the config.
# Env: O, BIN, PLUGIN_DIR (tests/run-tests). SKIP without /dev/kvm.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
GUEST=$O/guests/lines-high.elf
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: /dev/kvm not usable"; exit 77; }
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
[ -f "$GUEST" ] || { echo "SKIP: $GUEST not built"; exit 77; }
for p in 8259 ioapic timer8254 ser8250 mc146818 debug-exit; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || { echo "SKIP: vdev-$p.so not built"; exit 77; }
done
export VDM_PLUGIN_PATH="$PLUGIN_DIR" XDG_RUNTIME_DIR="$(mktemp -d)"
trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT INT TERM
T=$XDG_RUNTIME_DIR

. tests/teardown/lines.sh

echo "$CONTROLLER_SETS" | tr '|' '\n' | while read -r ctrls; do
	orders | while read -r devs; do
		conf=$T/vm.vmconf
		{
			echo "system teardown-kvm"
			echo "ram 0,16M"
			echo "load $GUEST"
			for p in $ctrls $devs; do
				part_conf "$p" | sed "s|^vdev ser8250 loc io:0x3f8 .*|& hostdev >$T/console|"
			done
			echo "vdev debug-exit loc io:0xf4"
		} >"$conf"
		: >"$T/console"
		timeout -k 5 30 "$VDM" --backend kvm @"$conf" >"$T/out" 2>&1
		rc=$?
		if [ $rc -eq 0 ] && grep -q '^PASS lines-raised' "$T/console"; then
			echo "ok   $ctrls | $devs"
		else
			echo "FAIL $ctrls | $devs: exit $rc$([ $rc -eq 124 ] && echo ', hung at teardown')"
			sed 's/^/    console| /' "$T/console"
			sed 's/^/    | /' "$T/out"
			sed 's/^/    conf| /' "$conf"
			echo 1 >"$T/failed"
		fi
	done
done
[ -f "$T/failed" ] && exit 1
exit 0
