#!/bin/sh
# tests/bench/kvm_exit.sh: the cost of one guest exit to the device model,
# vdm's kvm backend against QEMU on the same /dev/kvm, in the same run.
#
# Both boot samples/guests/exitbench.elf, which does n `out`s to port 0x80
# (vdm: a null port, answered by the core's unclaimed-access policy through
# dm_request_execute, as every exit is; QEMU -M microvm: nothing there, its
# unassigned-I/O handler). Each side runs twice, with N1 and N2 outs, and
# the difference of the wall times removes the boot and exit cost:
#   exits/s = (N2 - N1) / (t2 - t1)
# Output (tests/bench/run convention): one line, ratio = vdm / QEMU (above
# 1: vdm takes more exits per second). Without QEMU: the vdm figure and a
# "SKIP qemu" line. BENCH_SECONDS is not used: the counts fix the time
# (~1 s per side on PVM, where an exit costs 5-10 us).
# Env: O, BIN, PLUGIN_DIR; N1/N2 override the counts.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
N1=${N1:-2000}
N2=${N2:-200000}
QEMU=${QEMU:-qemu-system-x86_64}
skip() { echo "SKIP: $*"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable: not accessible"
[ -x "$BIN/vdm" ] || skip "$BIN/vdm not built"
[ -f "$O/guests/exitbench.elf" ] || skip "$O/guests/exitbench.elf not built"
for p in ser8250 debug-exit; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || skip "vdev-$p.so not built"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

now_ns() { date +%s%N; }

# vdm_run N: boot exitbench with n=N, the guest's console to a file; prints
# the wall time in ns. Fails (exit 1) when the guest did not pass.
vdm_run() {
	cat >"$tmp/vm.vmconf" <<EOC
system exitbench
ram 0,16M
load $O/guests/exitbench.elf
cmdline n=$1
vdev ser8250 loc io:0x3f8 hostdev >$tmp/console
vdev debug-exit loc io:0xf4
EOC
	t0=$(now_ns)
	"$BIN/vdm" --backend kvm --plugin-path "$PLUGIN_DIR" @"$tmp/vm.vmconf" 2>"$tmp/err" </dev/null
	rc=$?
	t1=$(now_ns)
	if [ $rc -ne 0 ] || ! grep -q "^outs $1" "$tmp/console" ||
		! grep -q "^PASS exitbench" "$tmp/console"; then
		echo "kvm_exit: vdm run n=$1 failed (exit $rc)" >&2
		cat "$tmp/err" "$tmp/console" >&2
		return 1
	fi
	echo $((t1 - t0))
}

# qemu_run N: the same ELF on QEMU; success is debug-exit status 1.
qemu_run() {
	t0=$(now_ns)
	timeout 120 "$QEMU" -M microvm -accel kvm -m 64 -nodefaults -no-user-config -nographic \
		-serial file:"$tmp/qconsole" -device isa-debug-exit,iobase=0xf4,iosize=0x01 \
		-kernel "$O/guests/exitbench.elf" -append "n=$1" >/dev/null 2>"$tmp/qerr" </dev/null
	rc=$?
	t1=$(now_ns)
	if [ $rc -ne 1 ] || ! grep -q "^outs $1" "$tmp/qconsole"; then
		echo "kvm_exit: qemu run n=$1 failed (status $rc)" >&2
		cat "$tmp/qerr" "$tmp/qconsole" >&2
		return 1
	fi
	echo $((t1 - t0))
}

# rate T1 T2: exits per second from the two wall times (ns).
rate() {
	awk -v n1="$N1" -v n2="$N2" -v t1="$1" -v t2="$2" 'BEGIN {
		d = t2 - t1; if (d <= 0) { print 0; exit }
		printf "%.0f\n", (n2 - n1) * 1e9 / d }'
}

v1=$(vdm_run "$N1") && v2=$(vdm_run "$N2") || exit 1
vdm_rate=$(rate "$v1" "$v2")
[ "$vdm_rate" -gt 0 ] || { echo "kvm_exit: vdm timings make no sense ($v1, $v2 ns)" >&2; exit 1; }
vdm_us=$(awk -v r="$vdm_rate" 'BEGIN { printf "%.2f", 1e6 / r }')
if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "kvm_exit out-port: vdm $vdm_rate exits/s ($vdm_us us/exit)"
	echo "SKIP qemu: $QEMU not installed"
	exit 0
fi
q1=$(qemu_run "$N1") && q2=$(qemu_run "$N2") || exit 1
qemu_rate=$(rate "$q1" "$q2")
[ "$qemu_rate" -gt 0 ] || { echo "kvm_exit: qemu timings make no sense ($q1, $q2 ns)" >&2; exit 1; }
qemu_us=$(awk -v r="$qemu_rate" 'BEGIN { printf "%.2f", 1e6 / r }')
ratio=$(awk -v a="$vdm_rate" -v b="$qemu_rate" 'BEGIN { printf "%.2f", a / b }')
echo "kvm_exit out-port: vdm $vdm_rate exits/s ($vdm_us us/exit), qemu $qemu_rate exits/s ($qemu_us us/exit), ratio $ratio"
