#!/bin/sh
# tests/kvm/hpet-storm.sh: a guest programs the HPET for a 1-tick periodic
# interrupt (samples/guests/hpet-storm.c) on the kvm backend. vdm must
# deliver a bounded number (the guest checks at most 64 + 1000 in 100 ms of
# HPET time), end normally, and use a bounded share of the host: its CPU
# time may not exceed 1.5 times the run's wall time (before the bound the
# storm took both cores). Skips without /dev/kvm or script(1).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
skip() { echo "SKIP: $*"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable"
[ -x "$BIN/vdm" ] || skip "vdm not built"
[ -f "$O/guests/hpet-storm.elf" ] || skip "the hpet-storm guest is not built"
for p in ioapic hpet ser8250 debug-exit; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || skip "vdev-$p.so not built"
done
command -v script >/dev/null 2>&1 || skip "script(1) not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# the guest's console in a file of its own: vdm's log cannot split its lines
export XDG_RUNTIME_DIR="$tmp" VDM_GUESTS="$O/guests" VDM_PLUGIN_PATH="$PLUGIN_DIR" \
	HPET_STORM_CONSOLE="$tmp/console"
fail=0

t0=$(date +%s%N)
timeout 60 script -qec "sh -c 'time -p \"$BIN/vdm\" --backend kvm @tests/kvm/hpet-storm.vmconf' 2>&1" \
	/dev/null >"$tmp/out" 2>&1
rc=$?
wall_ms=$((($(date +%s%N) - t0) / 1000000))
tr -d '\r' <"$tmp/out" >"$tmp/log"
tr -d '\r' <"$tmp/console" >"$tmp/console.txt"
grep -E "interrupts in|PASS|FAIL|RESULT" "$tmp/console.txt"
[ $rc -eq 0 ] || { echo "FAIL: vdm exit $rc"; fail=1; }
for c in hpet-period hpet-storm-delivered hpet-storm-bounded; do
	grep -qx "PASS $c" "$tmp/console.txt" || { echo "FAIL: no PASS $c"; fail=1; }
done
cpu=$(awk '/^user / { u = $2 } /^sys / { s = $2 } END { printf "%d", (u + s) * 1000 }' "$tmp/log")
echo "vdm: ${cpu} ms of CPU in ${wall_ms} ms"
[ "$cpu" -le $((wall_ms * 3 / 2)) ] || { echo "FAIL: vdm used ${cpu} ms of CPU in ${wall_ms} ms"; fail=1; }
[ $fail -eq 0 ] && echo ok
exit $fail
