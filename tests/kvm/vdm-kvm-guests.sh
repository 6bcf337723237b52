#!/bin/sh
# tests/kvm/vdm-kvm-guests.sh: the whole vdm process on the kvm backend
# with the real plugins: the sample guests print through vdev-ser8250 and
# power off through vdev-debug-exit. Checks the PASS lines and vdm's exit
# code, also the failure path (a debug-exit whose success value the guest
# does not write ends vdm with a code in 33..63).
# Env: O, BIN, PLUGIN_DIR (tests/run-tests). Skips (77) without /dev/kvm,
# without vdm or the two plugins, or without script(1) (the UART's stdout
# endpoint wants a terminal). VDM overrides the vdm binary.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
skip() { echo "SKIP: $*"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable: not accessible"
VDM=${VDM:-$BIN/vdm}
[ -x "$VDM" ] || skip "$VDM not built"
for p in ser8250 debug-exit; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || skip "vdev-$p.so not built"
done
command -v script >/dev/null 2>&1 || skip "script(1) not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# run GUEST SUCCESS-VALUE: vdm's output in $tmp/out, exit code in $tmp/rc.
run() {
	cat >"$tmp/vm.vmconf" <<EOC
system $1
ram 0,16M
load $O/guests/$1.elf
cmdline expect=vdm-hello
vdev ser8250 loc io:0x3f8 hostdev >stdout
vdev debug-exit loc io:0xf4 success $2
EOC
	timeout 60 script -qec "'$VDM' --backend kvm --plugin-path '$PLUGIN_DIR' \
		@'$tmp/vm.vmconf' 2>'$tmp/err'; echo \"rc=\$?\" >'$tmp/rc'" /dev/null 2>&1 |
		tr -d '\r' >"$tmp/out"
	rc=$(sed -n 's/^rc=//p' "$tmp/rc" 2>/dev/null)
	echo "---- vdm --backend kvm, guest $1 (exit ${rc:-none})"
	cat "$tmp/out"
	# vdm's log goes to a file of its own so that it cannot split lines of
	# the guest's serial output on the shared terminal.
	grep -v ' info: ' "$tmp/err"
}

expect() { # guest, PASS names...
	guest=$1; shift
	for name in "$@" ; do
		grep -qx "PASS $name" "$tmp/out" || { echo "FAIL $guest: no \"PASS $name\""; fail=1; }
	done
	grep -q '^FAIL' "$tmp/out" && { echo "FAIL $guest: a guest check failed"; fail=1; }
	grep -qx 'RESULT ok' "$tmp/out" || { echo "FAIL $guest: no \"RESULT ok\""; fail=1; }
	[ "${rc:-x}" = 0 ] || { echo "FAIL $guest: vdm exit ${rc:-none}, want 0"; fail=1; }
}

run hello 0
expect hello start-info memmap cmdline hello
run irq 0
expect irq lapic-timer-ticks lapic-timer-vector irq-preserves-state lapic-timer-masked
# The guest writes 0, which this debug-exit does not take as success.
run hello 7
if [ -z "${rc:-}" ] || [ "$rc" -lt 33 ] || [ "$rc" -gt 63 ]; then
	echo "FAIL hello: success 7 but guest wrote 0: vdm exit ${rc:-none}, want 33..63"
	fail=1
fi
[ $fail -eq 0 ] && echo "vdm kvm guests: all passed"
exit $fail
