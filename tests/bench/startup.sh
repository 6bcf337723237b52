#!/bin/sh
# tests/bench/startup.sh: start-up to power-off for a guest that does
# nothing, and the peak RSS of the same run: vdm's kvm backend, QEMU
# microvm on the same ELF, and tests/bench/kvm_floor, a raw KVM program
# running the same ELF and answering its port I/O itself (the floor; on PVM
# the guest's own instructions, emulated, are most of it). "empty" is
# kvm_floor with a guest that powers off at once: process, VM and vCPU
# creation alone.
#
# The guest is samples/guests/exitbench.elf with n=0: it prints two lines
# on COM1 ("outs 0", "PASS exitbench") and writes 0 to the debug-exit port.
# Times are wall time from fork to exit (tests/bench/timeexec), the fastest
# of STARTUP_TRIES (3) runs; RSS is ru_maxrss (the least of the runs). Lines (tests/bench/run convention):
#   startup idle: vdm T ms, qemu T ms, floor T ms, empty T ms, qemu/vdm R, vdm/floor R
#   startup cpu: the same runs' CPU time (user + system, all threads):
#     waiting for a core is not in it, so on a loaded machine it moves
#     less than the wall time
#   rss idle: vdm K KiB, qemu K KiB, floor K KiB, vdm/qemu R
# Without QEMU its figures and ratios are left out ("SKIP qemu" line).
# Env: O, BIN, PLUGIN_DIR, QEMU.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
QEMU=${QEMU:-qemu-system-x86_64}
TIMEEXEC=$O/tests/bench/timeexec
FLOOR=$O/tests/bench/kvm_floor
skip() { echo "SKIP: $*"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable: not accessible"
for f in "$BIN/vdm" "$TIMEEXEC" "$FLOOR" "$O/guests/exitbench.elf" \
	"$PLUGIN_DIR/vdev-ser8250.so" "$PLUGIN_DIR/vdev-debug-exit.so"; do
	[ -e "$f" ] || skip "$f not built"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
cat >"$tmp/vm.vmconf" <<EOC
system bench-idle-$$
ram 0,16M
load $O/guests/exitbench.elf
cmdline n=0
vdev ser8250 loc io:0x3f8 hostdev >$tmp/console
vdev debug-exit loc io:0xf4
EOC

# measure NAME EXPECTED-STATUS COMMAND...: "<wall ms> <KiB> <cpu ms>", each
# the least of TRIES runs (a run the scheduler stole from is slower, never
# faster), or fail
TRIES=${STARTUP_TRIES:-3}
measure() {
	name=$1 want=$2
	shift 2
	: >"$tmp/runs"
	try=0
	while [ $try -lt "$TRIES" ]; do
		"$TIMEEXEC" -o "$tmp/t" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || exit 1
		read -r ns kib st cpu <"$tmp/t"
		if [ "$st" -ne "$want" ]; then
			echo "startup: $name exited $st, expected $want" >&2
			cat "$tmp/err" >&2
			exit 1
		fi
		echo "$ns $kib $cpu" >>"$tmp/runs"
		try=$((try + 1))
	done
	awk 'NR == 1 || $1 < w { w = $1 } NR == 1 || $2 < k { k = $2 } NR == 1 || $3 < c { c = $3 }
		END { printf "%.2f %d %.2f\n", w / 1e6, k, c / 1e3 }' "$tmp/runs"
}

have_qemu=1
command -v "$QEMU" >/dev/null 2>&1 || have_qemu=0
set -- $(measure empty 0 "$FLOOR" boot)
empty_ms=$1
set -- $(measure floor 0 "$FLOOR" elf "$O/guests/exitbench.elf" n=0)
floor_ms=$1 floor_kib=$2 floor_cpu=$3
grep -q "^PASS exitbench" "$tmp/out" || { echo "startup: floor guest did not pass" >&2; exit 1; }
set -- $(measure vdm 0 "$BIN/vdm" --backend kvm --plugin-path "$PLUGIN_DIR" @"$tmp/vm.vmconf")
vdm_ms=$1 vdm_kib=$2 vdm_cpu=$3
grep -q "^PASS exitbench" "$tmp/console" || { echo "startup: vdm guest did not pass" >&2; exit 1; }
if [ $have_qemu = 0 ]; then
	echo "startup idle: vdm $vdm_ms ms, floor $floor_ms ms, empty $empty_ms ms, vdm/floor $(awk -v a="$vdm_ms" -v b="$floor_ms" 'BEGIN { printf "%.2f", a / b }')"
	echo "startup cpu: vdm $vdm_cpu ms, floor $floor_cpu ms, vdm/floor $(awk -v a="$vdm_cpu" -v b="$floor_cpu" 'BEGIN { printf "%.2f", a / b }')"
	echo "rss idle: vdm $vdm_kib KiB, floor $floor_kib KiB"
	echo "SKIP qemu: $QEMU not installed"
	exit 0
fi
# isa-debug-exit: status (0 << 1) | 1
set -- $(measure qemu 1 "$QEMU" -M microvm -accel kvm -m 16 -nodefaults -no-user-config \
	-nographic -serial file:"$tmp/qconsole" -device isa-debug-exit,iobase=0xf4,iosize=0x01 \
	-kernel "$O/guests/exitbench.elf" -append n=0)
qemu_ms=$1 qemu_kib=$2 qemu_cpu=$3
grep -q "^PASS exitbench" "$tmp/qconsole" || { echo "startup: qemu guest did not pass" >&2; exit 1; }
awk -v v="$vdm_ms" -v q="$qemu_ms" -v f="$floor_ms" -v e="$empty_ms" \
	'BEGIN { printf "startup idle: vdm %s ms, qemu %s ms, floor %s ms, empty %s ms, qemu/vdm %.2f, vdm/floor %.2f\n", v, q, f, e, q / v, v / f }'
awk -v v="$vdm_cpu" -v q="$qemu_cpu" -v f="$floor_cpu" \
	'BEGIN { printf "startup cpu: vdm %s ms, qemu %s ms, floor %s ms, qemu/vdm %.2f, vdm/floor %.2f\n", v, q, f, q / v, v / f }'
awk -v v="$vdm_kib" -v q="$qemu_kib" -v f="$floor_kib" \
	'BEGIN { printf "rss idle: vdm %d KiB, qemu %d KiB, floor %d KiB, vdm/qemu %.3f\n", v, q, f, v / q }'
