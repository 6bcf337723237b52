#!/bin/sh
# tests/sim/control-socket.sh: the control socket of a running VM (sim
# backend, no script: the VM idles on the host clock until told to stop).
# status names the VM and its UUID; stats counts a vdev's accesses; reset
# and bad commands answer; a second vdm with the same name is refused at
# start; quit CODE ends vdm with CODE and removes the socket. A runtime
# directory another user could use is refused (by the VM and by clients).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
[ -f "$PLUGIN_DIR/vdev-ticker.so" ] || { echo "SKIP: vdev-ticker.so not built"; exit 77; }
export VDM_PLUGIN_PATH="$PLUGIN_DIR" XDG_RUNTIME_DIR="$(mktemp -d)"
tmp=$XDG_RUNTIME_DIR
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$VDM" --backend sim system ctl-test ram 0,1M \
	vdev ticker loc 0x200000 intr isa:5 period 1000 >"$tmp/vdm.out" 2>&1 &
pid=$!
sock="$tmp/vdm/ctl-test.sock"
for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { cat "$tmp/vdm.out"; bad "no socket at $sock"; exit 1; }

"$VDM" --control ctl-test status >"$tmp/status"; rc=$?
[ $rc -eq 0 ] || bad "status: exit $rc"
grep -q '^vm ctl-test uuid [0-9a-f-]\{36\}: running, backend sim' "$tmp/status" || bad "status: $(cat "$tmp/status")"
grep -q 'ticker.0' "$tmp/status" || bad "status lists no ticker.0"
tail -n1 "$tmp/status" | grep -qx ok || bad "status does not end with ok"

"$VDM" --control ctl-test stats >"$tmp/stats" || bad "stats failed"
grep -qx 'state=running' "$tmp/stats" || bad "stats: no state=running"
grep -qx 'vdev.ticker.0.device=ticker' "$tmp/stats" || bad "stats: no ticker device line"
grep -qx 'vdev.ticker.0.reads=0' "$tmp/stats" || bad "stats: ticker reads not 0"
uuid=$(sed -n 's/^uuid=//p' "$tmp/stats")
grep -q "uuid $uuid" "$tmp/status" || bad "stats and status disagree on the UUID"

"$VDM" --control ctl-test reset >"$tmp/reset" || bad "reset failed: $(cat "$tmp/reset")"
"$VDM" --control ctl-test frobnicate >"$tmp/bad"; rc=$?
[ $rc -eq 1 ] && grep -q "^error: unknown command 'frobnicate'" "$tmp/bad" || bad "unknown command: exit $rc, $(cat "$tmp/bad")"
"$VDM" --control ctl-test "quit 300" >"$tmp/bad"; rc=$?
[ $rc -eq 1 ] || bad "quit 300 accepted"

# A second VM with the same name is refused at start (exit 64), saying why,
# and leaves the first one's socket alone.
timeout 5 "$VDM" --backend sim system ctl-test ram 0,1M dryrun >/dev/null 2>&1
timeout 10 "$VDM" --backend sim system ctl-test ram 0,1M >"$tmp/second.out" 2>&1; rc=$?
[ $rc -eq 64 ] || bad "second vdm: exit $rc, expected 64"
grep -q "a VM named 'ctl-test' is already running" "$tmp/second.out" || bad "second vdm: $(cat "$tmp/second.out")"
[ -S "$sock" ] || bad "the second vdm removed the first one's socket"
[ "$(stat -c %a "$sock")" = 600 ] || bad "socket mode $(stat -c %a "$sock"), expected 600"
[ "$(stat -c %a "$tmp/vdm")" = 700 ] || bad "directory mode $(stat -c %a "$tmp/vdm"), expected 700"

"$VDM" --control ctl-test "quit 7" >/dev/null || bad "quit failed"
wait "$pid"; rc=$?
pid=
[ $rc -eq 7 ] || bad "vdm exited $rc after quit 7"
[ -e "$sock" ] && bad "the socket is left behind"

# An unsafe runtime directory: vdm refuses to start rather than serve there.
chmod 0755 "$tmp/vdm"
timeout 10 "$VDM" --backend sim system ctl-test ram 0,1M >"$tmp/unsafe.out" 2>&1; rc=$?
[ $rc -eq 64 ] || bad "unsafe directory: exit $rc, expected 64"
grep -q "refusing an unsafe directory: $tmp/vdm has mode 0755" "$tmp/unsafe.out" || bad "unsafe directory: $(cat "$tmp/unsafe.out")"
"$VDM" --control ctl-test status >/dev/null 2>"$tmp/unsafe-client.err" && bad "a client used an unsafe directory"
grep -q "refusing an unsafe directory" "$tmp/unsafe-client.err" || bad "client: $(cat "$tmp/unsafe-client.err")"
chmod 0700 "$tmp/vdm"

# `system` names are checked before anything uses them (also by --check).
timeout 10 "$VDM" --check system ../../../tmp/x ram 0,1M >/dev/null 2>"$tmp/name.err"; rc=$?
[ $rc -eq 65 ] || bad "system ../../../tmp/x: exit $rc, expected 65"
grep -q "<command line>:1:8: error: system '../../../tmp/x'" "$tmp/name.err" || bad "bad name: $(cat "$tmp/name.err")"
"$VDM" --control ctl-test status >/dev/null 2>&1; rc=$?
[ $rc -eq 64 ] || bad "--control to a VM that is gone: exit $rc, want 64"
[ $fail -eq 0 ] && echo "control socket: ok"
exit $fail
