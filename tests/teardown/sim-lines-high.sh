#!/bin/sh
# tests/teardown/sim-lines-high.sh: vdm ends cleanly (exit 0, promptly)
# when devices hold their lines high into the in-tree interrupt
# controllers at the moment the VM ends, whatever the order of the
# controllers and devices in the config, in both sim modes.
#
# The case it guards: a line released at teardown made the 8259 drive
# cpu:0 from inside the interrupt registry, which deadlocked vdm at exit.
# Each run asserts the lines really are high before the end (`line`
# steps) and that vdm exits 0 within the timeout.
# Env: O, BIN, PLUGIN_DIR (tests/run-tests).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
for p in 8259 ioapic timer8254 ser8250 mc146818 debug-exit; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || { echo "SKIP: vdev-$p.so not built"; exit 77; }
done
export VDM_PLUGIN_PATH="$PLUGIN_DIR" XDG_RUNTIME_DIR="$(mktemp -d)"
trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT INT TERM
T=$XDG_RUNTIME_DIR

. tests/teardown/lines.sh

# The script steps that leave a part's line high.
part_steps() {
	case $1 in
	pic | pic-on-ioapic) # ICW1..4, every IRQ unmasked; nobody acknowledges
		printf '%s\n' "write pio 0x20 1 0x11" "write pio 0x21 1 0x20" "write pio 0x21 1 0x04" \
			"write pio 0x21 1 0x01" "write pio 0x21 1 0x00" ;;
	ioapic) # pins 0, 4, 8: level-triggered, unmasked
		for pin in 0 4 8; do
			printf 'write mmio 0xfec00000 4 %d\nwrite mmio 0xfec00010 4 0x8030\n' $((0x10 + 2 * pin))
		done ;;
	pit) # channel 0, mode 0, count 2: OUT rises at terminal count and stays high
		printf '%s\n' "write pio 0x43 1 0x30" "write pio 0x40 1 0x02" "write pio 0x40 1 0x00" ;;
	com1) printf '%s\n' "write pio 0x3fc 1 0x08" "write pio 0x3f9 1 0x02" ;; # OUT2, IER.THRE
	com2) printf '%s\n' "write pio 0x2fc 1 0x08" "write pio 0x2f9 1 0x02" ;;
	rtc) # 1024 Hz periodic interrupt, never acknowledged through register C
		printf '%s\n' "write pio 0x70 1 0x0a" "write pio 0x71 1 0x26" "write pio 0x70 1 0x0b" \
			"write pio 0x71 1 0x42" ;;
	esac
}

echo "$CONTROLLER_SETS" | tr '|' '\n' | while read -r ctrls; do
	orders | while read -r devs; do
		name=$(echo "$ctrls $devs" | tr ' ' '-')
		conf=$T/$name.vmconf script=$T/$name.vmscript
		{
			echo "system teardown"
			echo "ram 0,1M"
			for p in $ctrls $devs; do part_conf "$p"; done
			echo "vdev debug-exit loc io:0xf4"
		} >"$conf"
		{
			for p in $ctrls $devs; do part_steps "$p"; done
			echo "wait 5ms"
			case $ctrls in *pic-on-ioapic*) ;; *) echo "line cpu:0 1" ;; esac
			echo "write pio 0xf4 1 0"
			echo "exit 0"
		} >"$script"
		for mode in off on; do
			# the VM's setting goes before the vdev lines (after one it
			# would be that vdev's, which vdm refuses)
			sed "/^system /a set sim-process $mode" "$conf" >"$conf.$mode"
			timeout -k 5 20 "$VDM" --backend sim --script "$script" @"$conf.$mode" \
				>"$T/out" 2>&1
			rc=$?
			if [ $rc -eq 0 ] && ! grep -q ': FAIL:' "$T/out"; then
				echo "ok   $ctrls | $devs (sim-process $mode)"
			else
				echo "FAIL $ctrls | $devs (sim-process $mode): exit $rc$([ $rc -eq 124 ] && echo ', hung at teardown')"
				sed 's/^/    | /' "$T/out"
				sed 's/^/    conf| /' "$conf"
				echo 1 >"$T/failed"
			fi
		done
	done
done
[ -f "$T/failed" ] && exit 1
exit 0
