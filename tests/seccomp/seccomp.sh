#!/bin/sh
# tests/seccomp/seccomp.sh: vdm's seccomp filter (devmodel/lockdown.c), as a
# plugin inside vdm meets it, on the sim backend (both modes) and on kvm:
#   set seccomp on    a forbidden call (execve, personality) fails with EPERM,
#                     allowed ones (getpid, a Unix socket) work, the VM goes on
#   set seccomp kill  a forbidden call kills vdm with SIGSYS
#   set seccomp log   (the default) and off: nothing is refused
#   set seccomp bogus a configuration error at file:line:col (also --check)
# Also: PR_SET_NO_NEW_PRIVS is set once the VM runs (/proc/PID/status).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
VDM="$BIN/vdm"
PROBE_DIR="$O/tests/seccomp/plugins"
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
[ -f "$PROBE_DIR/vdev-syscall-probe.so" ] || { echo "SKIP: vdev-syscall-probe.so not built"; exit 77; }
export XDG_RUNTIME_DIR="$(mktemp -d)"
tmp=$XDG_RUNTIME_DIR
trap 'rm -rf "$tmp"' EXIT INT TERM
# LeakSanitizer stops the world with ptrace at exit: not something vdm allows
export ASAN_OPTIONS="detect_leaks=0"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

ENOENT=2 EPERM=1
# script EXECVE PERSONALITY: the probes' expected results
script() {
	cat <<EOS
write mmio 0x20000000 4 3
read mmio 0x20000000 4 expect 0
write mmio 0x20000000 4 4
read mmio 0x20000000 4 expect 0
write mmio 0x20000000 4 1
read mmio 0x20000000 4 expect $1
write mmio 0x20000000 4 2
read mmio 0x20000000 4 expect $2
write mmio 0x20000000 4 3
read mmio 0x20000000 4 expect 0
EOS
}
script $EPERM $EPERM >"$tmp/refused.vmscript"
script $ENOENT 0 >"$tmp/allowed.vmscript"

# sim MODE SCRIPT SIM-PROCESS: run vdm, exit code in $rc
sim() {
	timeout 30 "$VDM" --backend sim --plugin-path "$PROBE_DIR" --script "$2" system secc \
		ram 0,1m set sim-process "$3" set seccomp "$1" vdev syscall-probe loc 0x20000000 \
		>"$tmp/out" 2>&1
	rc=$?
}

for proc in off on; do
	sim on "$tmp/refused.vmscript" $proc
	[ $rc -eq 0 ] || bad "seccomp on (sim-process $proc): exit $rc: $(grep -E 'FAIL|seccomp' "$tmp/out" | head -3)"
	grep -q "seccomp on: [0-9]* system calls allowed, the rest fail with EPERM" "$tmp/out" ||
		bad "seccomp on: not announced"
	sim log "$tmp/allowed.vmscript" $proc
	[ $rc -eq 0 ] || bad "seccomp log (sim-process $proc): exit $rc: $(grep FAIL "$tmp/out" | head -3)"
	sim off "$tmp/allowed.vmscript" $proc
	[ $rc -eq 0 ] || bad "seccomp off (sim-process $proc): exit $rc: $(grep FAIL "$tmp/out" | head -3)"
	sim kill "$tmp/refused.vmscript" $proc
	[ $rc -eq 159 ] || [ $rc -eq 137 ] || bad "seccomp kill (sim-process $proc): exit $rc, expected death by SIGSYS (159)"
done
# the default is log: nothing refused, without any `set seccomp`
timeout 30 "$VDM" --backend sim --plugin-path "$PROBE_DIR" --script "$tmp/allowed.vmscript" \
	system secc ram 0,1m vdev syscall-probe loc 0x20000000 >"$tmp/out" 2>&1 ||
	bad "default mode: $(tail -n 3 "$tmp/out")"
grep -q "seccomp log:" "$tmp/out" || bad "default mode is not log: $(grep seccomp "$tmp/out")"

# NO_NEW_PRIVS once running (sim without a script idles until told)
"$VDM" --backend sim system nnp ram 0,1m set seccomp off >"$tmp/nnp.out" 2>&1 &
pid=$!
for i in $(seq 1 100); do [ -S "$tmp/vdm/nnp.sock" ] && break; sleep 0.05; done
sleep 0.2
grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$pid/status" || bad "NoNewPrivs not set: $(grep NoNewPrivs /proc/$pid/status)"
kill "$pid"; wait "$pid"

# privilege drop (root only): `set run-as USER` on sim and kvm, also --restrict
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	"$VDM" --backend sim system drop ram 0,1m set run-as nobody >"$tmp/drop.out" 2>&1 &
	pid=$!
	for i in $(seq 1 100); do grep -q "running as nobody" "$tmp/drop.out" && break; sleep 0.05; done
	sleep 0.1
	uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")
	[ "$uid" = "65534655346553465534" ] || bad "run-as nobody: uids $uid"
	grep -q "^CapEff:[[:space:]]*0*$" "/proc/$pid/status" || bad "run-as nobody: capabilities kept: $(grep CapEff /proc/$pid/status)"
	# root's client still reaches the VM that runs as nobody
	"$VDM" --control drop status >"$tmp/drop.status" 2>&1 || bad "run-as nobody: --control: $(cat "$tmp/drop.status")"
	kill "$pid"; wait "$pid"; rc=$?
	[ $rc -eq 0 ] || bad "run-as nobody: exit $rc after SIGTERM: $(tail -n 2 "$tmp/drop.out")"
	sleep 0.3
	[ -e "$tmp/vdm/drop.sock" ] && bad "run-as nobody: the socket is left behind (root's directory)"
	[ -e "$tmp/vdm/drop.lock" ] && bad "run-as nobody: the lock file is left behind"
	if [ -r /dev/kvm ] && [ -f "$O/guests/hello.elf" ] && command -v script >/dev/null 2>&1; then
		VDM_GUESTS="$O/guests" VDM_PLUGIN_PATH="$O/lib/vdm" timeout 30 script -qec \
			"$VDM --backend kvm --restrict @samples/hello.vmconf" /dev/null >"$tmp/kvm.out" 2>&1
		rc=$?
		[ $rc -eq 0 ] || bad "kvm --restrict: exit $rc: $(tail -n 3 "$tmp/kvm.out")"
		grep -q "running as nobody (uid 65534)" "$tmp/kvm.out" || bad "kvm --restrict: no privilege drop"
	fi
else
	echo "note: not root: the privilege drop is not tested"
fi

# a bad mode is a configuration error, also for --check
"$VDM" --check ram 0,1m set seccomp maybe >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 65 ] || bad "set seccomp maybe: exit $rc"
grep -q "<command line>:1:22: error: set seccomp maybe: expected off, log, on or kill" "$tmp/err" ||
	bad "set seccomp maybe: $(cat "$tmp/err")"

# kvm: the same refusals from a real guest's point of view are the
# plugin's; here only that a guest runs to its end with `seccomp kill`
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ -f "$O/guests/hello.elf" ] &&
	[ -f "$O/lib/vdm/vdev-debug-exit.so" ] && command -v script >/dev/null 2>&1; then
	VDM_GUESTS="$O/guests" VDM_PLUGIN_PATH="$O/lib/vdm" timeout 30 script -qec \
		"$VDM --backend kvm @samples/hello.vmconf set seccomp kill" /dev/null >"$tmp/kvm.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] || bad "kvm hello with seccomp kill: exit $rc: $(tail -n 3 "$tmp/kvm.out")"
	grep -q "seccomp kill:" "$tmp/kvm.out" || bad "kvm: no seccomp"
else
	echo "note: /dev/kvm or the hello guest missing: the kvm case is not run"
fi
[ $fail -eq 0 ] && echo ok
exit $fail
