#!/bin/sh
# tests/teardown/guard.sh: a vdev whose destroy never returns cannot keep
# vdm alive. The teardown guard must end vdm within its bound
# (VDM_TEARDOWN_TIMEOUT_MS) with exit code 7 and a message naming the
# vdev; a SIGTERM sent during the stuck teardown shortens the bound to
# 2 s, then ends it with the VM's own exit code; a SIGHUP during a teardown
# that finishes does not cut it short. Env: O, BIN (tests/run-tests).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
VDM="$BIN/vdm"
FIXTURE=$O/tests/teardown/vdev-destroy-hang.so
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
[ -f "$FIXTURE" ] || { echo "SKIP: $FIXTURE not built"; exit 77; }
export VDM_PLUGIN_PATH="$O/lib/vdm:$(dirname "$FIXTURE")" XDG_RUNTIME_DIR="$(mktemp -d)"
trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT INT TERM
T=$XDG_RUNTIME_DIR
fail=0

cat >"$T/hang.vmconf" <<EOC
system guard
ram 0,1M
vdev destroy-hang loc 0x200000 intr isa:3
vdev debug-exit loc io:0xf4
EOC
printf 'write pio 0xf4 1 0\nexit 0\n' >"$T/hang.vmscript"

# 1. the bound: exit 7, the stage named, well before the outer timeout
start=$(date +%s)
VDM_TEARDOWN_TIMEOUT_MS=500 timeout -k 2 20 "$VDM" --backend sim --script "$T/hang.vmscript" \
	@"$T/hang.vmconf" >"$T/out" 2>&1
rc=$? took=$(($(date +%s) - start))
if [ $rc -eq 7 ] && grep -q 'teardown did not finish within 500 ms (stuck in: destroying vdev destroy-hang' "$T/out" &&
	[ $took -lt 10 ]; then
	echo "ok   a hanging destroy ends vdm with 7 in ${took}s, naming the vdev"
else
	echo "FAIL a hanging destroy: exit $rc after ${took}s (want 7 and the stage named)"
	sed 's/^/    | /' "$T/out"
	fail=1
fi

# 2. SIGTERM during the stuck teardown: ends now, with the VM's code (0)
VDM_TEARDOWN_TIMEOUT_MS=30000 timeout -k 2 20 "$VDM" --backend sim --script "$T/hang.vmscript" \
	@"$T/hang.vmconf" >"$T/out" 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'ended with exit code' "$T/out"; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.3
pkill -TERM -P $pid -x vdm 2>/dev/null || pkill -TERM -f "hang.vmscript"
wait $pid
rc=$?
if [ $rc -eq 0 ] && grep -q 'SIGTERM during teardown, which did not finish within 2000 ms of it (stuck in: destroying vdev destroy-hang' "$T/out"; then
	echo "ok   SIGTERM during a stuck teardown ends vdm 2 s later with the VM's code"
else
	echo "FAIL SIGTERM during a stuck teardown: exit $rc"
	sed 's/^/    | /' "$T/out"
	fail=1
fi

# 3. SIGHUP while a teardown that finishes runs (libxl's destroy after a
# power-off): the teardown completes, the UART's last output is delivered
cat >"$T/ok.vmconf" <<EOC
system guard-ok
ram 0,1M
vdev ser8250 loc io:0x3f8 hostdev >$T/uart.out batch 300000
vdev debug-exit loc io:0xf4
EOC
printf 'write pio 0x3f8 1 0x6f\nwrite pio 0x3f8 1 0x6b\nwrite pio 0xf4 1 0\nexit 0\n' >"$T/ok.vmscript"
timeout -k 2 20 "$VDM" --backend sim --script "$T/ok.vmscript" @"$T/ok.vmconf" >"$T/out" 2>&1 &
pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q 'ended with exit code' "$T/out"; do
	sleep 0.02
	i=$((i + 1))
done
pkill -HUP -P $pid -x vdm 2>/dev/null
wait $pid
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$T/uart.out" 2>/dev/null)" = ok ] && ! grep -q 'during teardown' "$T/out"; then
	echo "ok   SIGHUP during a teardown that finishes: completed, output delivered"
else
	echo "FAIL SIGHUP during teardown: exit $rc, UART '$(cat "$T/uart.out" 2>/dev/null)'"
	sed 's/^/    | /' "$T/out"
	fail=1
fi
exit $fail
