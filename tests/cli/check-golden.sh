#!/bin/sh
# vdm --check against golden outputs: tests/cli/check/NAME.vmconf, run as
# `vdm --check ARGS @tests/cli/check/NAME.vmconf` (ARGS from its first line,
# `# args: ...`), must print exactly NAME.out (exit 0) or NAME.err (exit 65).
# --check loads the plugins and assembles the VM as dryrun does, without a
# hypervisor, so these are the errors a run would meet at start.
# VDM_GOLDEN_UPDATE=1 rewrites the golden files from the current output.
set -u
. tests/cli/lib.sh

for conf in tests/cli/check/*.vmconf; do
	name=$(basename "$conf" .vmconf)
	args=$(sed -n '1s/^# args: //p' "$conf")
	# shellcheck disable=SC2086 # ARGS are words
	"$VDM" --check --plugin-path "$PLUGIN_DIR" $args "@$conf" >"$TMP/out" 2>"$TMP/all"
	rc=$?
	grep -v '^vdm\[.*\] info: ' "$TMP/all" >"$TMP/err" # what devices say they do is not the point
	if [ "${VDM_GOLDEN_UPDATE:-0}" = 1 ]; then
		rm -f "${conf%.vmconf}.out" "${conf%.vmconf}.err"
		[ "$rc" = 0 ] && cp "$TMP/out" "${conf%.vmconf}.out"
		[ "$rc" = 65 ] && cp "$TMP/err" "${conf%.vmconf}.err"
	fi
	if [ -f "${conf%.vmconf}.err" ]; then
		want=65 golden="${conf%.vmconf}.err" got="$TMP/err"
	else
		want=0 golden="${conf%.vmconf}.out" got="$TMP/out"
	fi
	if [ "$rc" != "$want" ]; then
		fail "$name: exit $rc, expected $want"
		sed 's/^/    err| /' "$TMP/err" | head -10
		continue
	fi
	if ! cmp -s "$golden" "$got"; then
		fail "$name: output differs from $golden"
		diff "$golden" "$got" | head -20 | sed 's/^/    /'
	fi
	# dryrun, with its backend, meets the very same errors (or none)
	case "$args" in *kvm*) [ -r /dev/kvm ] && [ -w /dev/kvm ] || continue ;; esac
	# shellcheck disable=SC2086
	"$VDM" --plugin-path "$PLUGIN_DIR" $args "@$conf" dryrun >/dev/null 2>"$TMP/dall"
	rc=$?
	grep -v '^vdm\[.*\] info: ' "$TMP/dall" >"$TMP/derr" 
	if [ "$want" = 0 ]; then
		[ "$rc" = 0 ] || { fail "$name: --check passes, dryrun exits $rc"; sed 's/^/    err| /' "$TMP/derr" | head -10; }
		continue
	fi
	if [ "$rc" != 65 ] || ! cmp -s "$golden" "$TMP/derr"; then
		fail "$name: dryrun (exit $rc) does not report what --check does"
		diff "$golden" "$TMP/derr" | head -10 | sed 's/^/    /'
	fi
done
finish
