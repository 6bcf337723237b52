#!/bin/sh
# tests/bench/kvm_exit.sh: the cost of one guest exit to the device model,
# for port I/O and for MMIO: vdm's kvm backend, QEMU on the same /dev/kvm,
# and tests/bench/kvm_floor (a raw KVM_RUN loop that answers the accesses
# itself: the floor), in the same run.
#
# vdm and QEMU boot samples/guests/exitbench.elf: n `out`s to port 0x80, or
# n byte writes to MMIO 0xd0000000 (" mmio"); nothing is there on either
# (vdm: the core's unclaimed-access policy, through dm_request_execute as
# every exit; QEMU -M microvm: its unassigned handlers). kvm_floor runs the
# same loop from a few bytes of code. Each side runs twice, with N1 and N2
# accesses (each the faster of two runs), and the difference of the wall
# times removes boot and exit:
#   us/exit = (t2 - t1) / (N2 - N1)
# Lines (tests/bench/run convention), KIND pio or mmio:
#   kvm_exit KIND: vdm U us, qemu U us, raw U us, vdm/raw R, vdm/qemu R, overhead% P
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

# timed WANT-STATUS COMMAND...: wall ns, the faster of two runs (a run
# the scheduler stole from is slower, never faster); fails on another status
timed() {
	want=$1
	shift
	best=
	for try in 1 2; do
		"$TIMEEXEC" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" </dev/null || return 1
		read -r ns kib st <"$tmp/t"
		[ "$st" -eq "$want" ] || { echo "kvm_exit: $1 exited $st" >&2; cat "$tmp/err" >&2; return 1; }
		[ -n "$best" ] && [ "$best" -le "$ns" ] || best=$ns
	done
	echo "$best"
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

raw_run() { timed 0 "$FLOOR" "$1" "$2"; }

# per_exit T1 T2: microseconds per exit
per_exit() {
	awk -v n1="$N1" -v n2="$N2" -v t1="$1" -v t2="$2" 'BEGIN {
		d = t2 - t1; if (d <= 0) { print 0; exit }
		printf "%.3f\n", d / 1e3 / (n2 - n1) }'
}

have_qemu=1
command -v "$QEMU" >/dev/null 2>&1 || have_qemu=0
for kind in pio mmio; do
	# interleaved, so load that comes and goes hits every side alike
	r1=$(raw_run $kind "$N1") && v1=$(vdm_run $kind "$N1") || exit 1
	r2=$(raw_run $kind "$N2") && v2=$(vdm_run $kind "$N2") || exit 1
	raw=$(per_exit "$r1" "$r2")
	vdm=$(per_exit "$v1" "$v2")
	if [ $have_qemu = 1 ]; then
		q1=$(qemu_run $kind "$N1") && q2=$(qemu_run $kind "$N2") || exit 1
		qemu=$(per_exit "$q1" "$q2")
	else
		qemu=0
	fi
	awk -v k="$kind" -v v="$vdm" -v q="$qemu" -v r="$raw" 'BEGIN {
		if (v <= 0 || r <= 0) { print "kvm_exit: timings make no sense" > "/dev/stderr"; exit 1 }
		printf "kvm_exit %s: vdm %.2f us, ", k, v
		if (q > 0) printf "qemu %.2f us, ", q
		printf "raw %.2f us, vdm/raw %.3f, ", r, v / r
		if (q > 0) printf "vdm/qemu %.3f, ", v / q
		printf "overhead%% %.1f\n", (v - r) / r * 100 }' || exit 1
done
[ $have_qemu = 1 ] || echo "SKIP qemu: $QEMU not installed"
exit 0
