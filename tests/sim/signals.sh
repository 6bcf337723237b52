#!/bin/sh
# tests/sim/signals.sh: every signal that ends vdm ends it in order and
# promptly, on the sim backend with a long guest script (in a thread and in
# a child process) and without a script:
#   SIGTERM SIGINT SIGHUP SIGUSR1 -> exit 0, SIGQUIT -> exit 3 (the stop code
#   wins over the script's result), within 5 s;
#   the control socket is removed, the UART's output reaches its file, the
#   hypervisor child (`set sim-process on`) is reaped, not orphaned;
#   ignored signals (SIGPIPE, SIGALRM, SIGTTOU, a real-time one) change nothing.
# And `set sim-process on` with the child SIGKILLed: vdm notices, says so,
# exits 96 at once; vdm SIGKILLed: the child dies with it.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
[ -f "$PLUGIN_DIR/vdev-ser8250.so" ] || { echo "SKIP: vdev-ser8250.so not built"; exit 77; }
export VDM_PLUGIN_PATH="$PLUGIN_DIR" XDG_RUNTIME_DIR="$(mktemp -d)"
tmp=$XDG_RUNTIME_DIR
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# alive PID: running, not a zombie (an orphan's zombie waits for an init that may not reap)
alive() { st=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }

# A script that prints "hi" through the UART, then runs for minutes.
{
	echo "write pio 0x3f8 1 0x68"
	echo "write pio 0x3f8 1 0x69"
	yes "wait 1ms" | head -n 1000000
	echo "exit 0"
} >"$tmp/long.vmscript"
sock="$tmp/vdm/sig.sock"

# start MODE: vdm in the background, $pid; waits for its socket
start() {
	kind=$1
	rm -f "$tmp/uart.out"
	case $1 in
	thread) set -- --script "$tmp/long.vmscript" ;;
	process) set -- --script "$tmp/long.vmscript" system sig set sim-process on ;;
	idle) set -- system sig ;;
	esac
	[ "$1" = "--script" ] && [ "$#" = 2 ] && set -- "$@" system sig
	"$VDM" --backend sim "$@" ram 0,1m \
		vdev ser8250 loc io:0x3f8 hostdev ">$tmp/uart.out" >"$tmp/vdm.out" 2>&1 &
	pid=$!
	for i in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
	[ -S "$sock" ] || bad "$1: no socket: $(cat "$tmp/vdm.out")"
	# let the script run a little: until the UART has printed (bounded,
	# not timed: a loaded machine may take a while) and, in process mode,
	# the hypervisor child exists
	for i in $(seq 1 200); do
		[ "$kind" = idle ] || [ "$(cat "$tmp/uart.out" 2>/dev/null)" = hi ] || { sleep 0.05; continue; }
		children=$(cat /proc/$pid/task/*/children 2>/dev/null)
		[ "$kind" != process ] || [ -n "$children" ] || { sleep 0.05; continue; }
		break
	done
	children=$(cat /proc/$pid/task/*/children 2>/dev/null)
}

# finish NAME WANT: wait at most 5 s for vdm, check its exit and what it left
finish() {
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		bad "$1: vdm still runs 5 s after the signal"
		kill -9 "$pid"
	fi
	wait "$pid"
	rc=$?
	pid=
	[ "$rc" = "$2" ] || bad "$1: exit $rc, expected $2: $(tail -n 5 "$tmp/vdm.out")"
	[ -e "$sock" ] && bad "$1: the socket is left behind"
	[ "$(cat "$tmp/uart.out" 2>/dev/null)" = "hi" ] || [ "$mode" = idle ] ||
		bad "$1: UART output lost: '$(cat "$tmp/uart.out" 2>/dev/null)'"
	for c in $children; do
		alive "$c" && { bad "$1: child $c orphaned"; kill -9 "$c"; }
	done
	return 0
}

for mode in thread process idle; do
	for sig in TERM INT HUP USR1 QUIT; do
		want=0
		[ $sig = QUIT ] && want=3
		start $mode
		# signals vdm ignores first: nothing may happen
		kill -PIPE "$pid"; kill -ALRM "$pid"; kill -TTOU "$pid"; kill -39 "$pid"
		sleep 0.1
		kill -0 "$pid" 2>/dev/null || bad "$mode: an ignored signal ended vdm"
		kill -$sig "$pid"
		finish "$mode SIG$sig" $want
		grep -q "SIG$sig" "$tmp/vdm.out" || bad "$mode SIG$sig: not logged"
	done
done

# The hypervisor child killed: noticed at once, with a clear reason.
mode=process
start process
[ -n "$children" ] || bad "no hypervisor child found"
for c in $children; do kill -9 "$c"; done
children=
finish "child killed" 96
grep -q "hypervisor process (pid [0-9]*) was killed by SIGKILL" "$tmp/vdm.out" ||
	bad "child killed: no clear message: $(tail -n 3 "$tmp/vdm.out")"

# vdm itself SIGKILLed: its hypervisor child does not live on as an orphan.
start process
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
sleep 0.5
for c in $children; do
	alive "$c" && { bad "vdm killed: child $c orphaned"; kill -9 "$c"; }
done

[ $fail -eq 0 ] && echo ok
exit $fail
