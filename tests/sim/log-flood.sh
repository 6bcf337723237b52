#!/bin/sh
# tests/sim/log-flood.sh: a guest cannot flood vdm's log. Every message a
# guest can cause goes through one rate limit (log_guest, devmodel/log.h):
# at most 16 lines a second per source, then a count of what was held back.
# Sources checked here: the core's failed requests (a rep whose buffer is
# outside RAM, `unsupported reference fail` on an unowned port) and a
# plugin's own log lines through the host's log service (vdev-good logs
# every tick: a million ticks in one virtual second).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
VDM="$BIN/vdm"
PLUGINS="$O/tests/unit/plugins"
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
[ -f "$PLUGINS/vdev-good.so" ] || { echo "SKIP: vdev-good.so not built"; exit 77; }
export XDG_RUNTIME_DIR="$(mktemp -d)"
tmp=$XDG_RUNTIME_DIR
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
bad() { echo "FAIL: $*"; fail=1; }

{
	echo "write mmio 0x20000000 4 1"          # the tick timer on, 500 ns period
	echo "wait 500ms"                         # a million ticks, each logged
	echo "rep-write pio 0x90 1 100000 0x7ff00000" # buffer outside RAM: 25 failed requests
	for i in $(seq 1 500); do echo "write pio 0x80 1 0"; done # unowned: -ENXIO each
} >"$tmp/flood.vmscript"
timeout 60 "$VDM" --backend sim --plugin-path "$PLUGINS" --script "$tmp/flood.vmscript" \
	system flood ram 0,1m unsupported reference fail \
	vdev good loc 0x20000000 period 500 log debug,info,warn,error stderr >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] || bad "vdm exited $rc: $(tail -n 3 "$tmp/out")"
lines=$(wc -l <"$tmp/out")
[ "$lines" -le 60 ] || bad "$lines log lines for a flooding guest"
ticks=$(grep -c 'good.0: tick ' "$tmp/out")
[ "$ticks" -ge 1 ] && [ "$ticks" -le 32 ] || bad "$ticks tick lines of the plugin (at most 16 a second)"
failed=$(grep -c 'vm: vCPU 0: ioreq .* failed' "$tmp/out")
[ "$failed" -ge 1 ] && [ "$failed" -le 32 ] || bad "$failed failed-request lines (at most 16 a second)"
grep -q 'good.0: [0-9]* guest-triggered messages suppressed' "$tmp/out" || bad "no summary for the plugin"
grep -q 'vm: [0-9]* guest-triggered messages suppressed' "$tmp/out" || bad "no summary for the core"
# configuration-time messages are never limited
grep -q 'good.0: created at 0x20000000' "$tmp/out" || bad "the create-time message is missing"
[ $fail -eq 0 ] && echo ok
exit $fail
