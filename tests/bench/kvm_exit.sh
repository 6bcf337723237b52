#!/bin/sh
# tests/bench/kvm_exit.sh: the cost of one guest exit to the device model,
# for port I/O and for MMIO: vdm's kvm backend, QEMU on the same /dev/kvm,
# and tests/bench/kvm_floor (a raw KVM_RUN loop that answers the accesses
# itself: the floor), in the same run.
#
# All three boot samples/guests/exitbench.elf: n `out`s to port 0x80, or
# n byte writes to MMIO 0xd0000000 (" mmio"); nothing is there (vdm: the
# core's unclaimed-access policy, through dm_request_execute as every exit;
# QEMU -M microvm: its unassigned handlers; kvm_floor: ignored). The same
# guest matters: on PVM its loop's own instructions cost as much as a good
# part of an exit. Each side runs twice, with N1 and N2
# accesses (each the faster of two runs), and the difference of the wall
# times removes boot and exit:
#   us/exit = (t2 - t1) / (N2 - N1)
# Lines (tests/bench/run convention), KIND pio or mmio:
#   kvm_exit KIND: vdm U us, qemu U us, raw U us, vdm/raw R, vdm/qemu R, overhead% P
#   kvm_exit KIND-cpu: the same from the CPU time (user + system, all
#     threads) instead of the wall time: steadier on a loaded machine
# overhead% = (vdm - raw) / raw * 100, vdm's cost per exit over the floor.
# BENCH_SECONDS is not used: the counts fix the time (~1 s per side on
# PVM, where an exit costs 5-15 us). Env: O, BIN, PLUGIN_DIR; N1/N2.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
N1=${N1:-1000}
N2=${N2:-40000}
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

# timed WANT-STATUS COMMAND...: "<wall ns> <cpu us>", each the least of two
# runs (a run the scheduler stole from is slower, never faster); fails on
# another status
timed() {
	want=$1
	shift
	: >"$tmp/runs"
	for try in 1 2; do
		"$TIMEEXEC" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" </dev/null || return 1
		read -r ns kib st cpu <"$tmp/t"
		[ "$st" -eq "$want" ] || { echo "kvm_exit: $1 exited $st" >&2; cat "$tmp/err" >&2; return 1; }
		echo "$ns $cpu" >>"$tmp/runs"
	done
	awk 'NR == 1 || $1 < w { w = $1 } NR == 1 || $2 < c { c = $2 } END { print w, c }' "$tmp/runs"
}

# console_has FILE KIND N: the guest counted its accesses and passed
console_has() {
	if [ "$2" = mmio ]; then what="mmio writes $3"; else what="outs $3"; fi
	grep -q "^$what[[:space:]]*$" "$1" && grep -q "^PASS exitbench" "$1" ||
		{ echo "kvm_exit: guest did not report '$what'" >&2; cat "$1" >&2; return 1; }
}

vdm_run() { # KIND N
	args="n=$2"
	[ "$1" = pio ] || args="$args mmio"
	cat >"$tmp/vm.vmconf" <<EOC
system bench-exit-$$
ram 0,16M
load $O/guests/exitbench.elf
cmdline "$args"
vdev ser8250 loc io:0x3f8 hostdev >$tmp/console
vdev debug-exit loc io:0xf4
EOC
	timed 0 "$BIN/vdm" --backend kvm --plugin-path "$PLUGIN_DIR" @"$tmp/vm.vmconf" &&
		console_has "$tmp/console" "$1" "$2"
}

qemu_run() { # KIND N; success is debug-exit status 1
	args="n=$2"
	[ "$1" = pio ] || args="$args mmio"
	timed 1 "$QEMU" -M microvm -accel kvm -m 16 -nodefaults -no-user-config -nographic \
		-serial file:"$tmp/qconsole" -device isa-debug-exit,iobase=0xf4,iosize=0x01 \
		-kernel "$O/guests/exitbench.elf" -append "$args" &&
		console_has "$tmp/qconsole" "$1" "$2"
}

raw_run() { # KIND N: the same guest on kvm_floor, its console on stdout
	args="n=$2"
	[ "$1" = pio ] || args="$args mmio"
	"$TIMEEXEC" -o "$tmp/rawt" "$FLOOR" elf "$O/guests/exitbench.elf" "$args" >"$tmp/rconsole" \
		2>"$tmp/err" </dev/null &&
		timed 0 "$FLOOR" elf "$O/guests/exitbench.elf" "$args" &&
		console_has "$tmp/rconsole" "$1" "$2"
}

# per_exit "W1 C1" "W2 C2": "<wall us> <cpu us>" per exit
per_exit() {
	echo "$1 $2" | awk -v n1="$N1" -v n2="$N2" '{
		w = $3 - $1; c = $4 - $2
		if (w <= 0 || c <= 0) { print "0 0"; exit }
		printf "%.3f %.3f\n", w / 1e3 / (n2 - n1), c / (n2 - n1) }'
}

# report KIND FIGURE VDM QEMU RAW: one line of the table
report() {
	awk -v k="$1$2" -v v="$3" -v q="$4" -v r="$5" 'BEGIN {
		if (v <= 0 || r <= 0) { print "kvm_exit: timings make no sense" > "/dev/stderr"; exit 1 }
		printf "kvm_exit %s: vdm %.2f us, ", k, v
		if (q > 0) printf "qemu %.2f us, ", q
		printf "raw %.2f us, vdm/raw %.3f, ", r, v / r
		if (q > 0) printf "vdm/qemu %.3f, ", v / q
		printf "overhead%% %.1f\n", (v - r) / r * 100 }'
}

have_qemu=1
command -v "$QEMU" >/dev/null 2>&1 || have_qemu=0
for kind in pio mmio; do
	# interleaved, so load that comes and goes hits every side alike
	r1=$(raw_run $kind "$N1") && v1=$(vdm_run $kind "$N1") || exit 1
	r2=$(raw_run $kind "$N2") && v2=$(vdm_run $kind "$N2") || exit 1
	set -- $(per_exit "$r1" "$r2")
	raw=$1 raw_cpu=$2
	set -- $(per_exit "$v1" "$v2")
	vdm=$1 vdm_cpu=$2
	qemu=0 qemu_cpu=0
	if [ $have_qemu = 1 ]; then
		q1=$(qemu_run $kind "$N1") && q2=$(qemu_run $kind "$N2") || exit 1
		set -- $(per_exit "$q1" "$q2")
		qemu=$1 qemu_cpu=$2
	fi
	report $kind "" "$vdm" "$qemu" "$raw" || exit 1
	report $kind -cpu "$vdm_cpu" "$qemu_cpu" "$raw_cpu" || exit 1
done
[ $have_qemu = 1 ] || echo "SKIP qemu: $QEMU not installed"
exit 0
