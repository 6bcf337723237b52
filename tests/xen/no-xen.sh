#!/bin/sh
# vdm --domid N on a host without Xen: exit 64, and the message names what
# is missing (/dev/xen/privcmd). Env: BIN (tests/run-tests sets it).
set -u
BIN=${BIN:-build/release/bin}
if [ -e /dev/xen/privcmd ]; then
	echo "SKIP: /dev/xen/privcmd exists: this host runs Xen"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'system noxen\nram 0,1M\n' >"$tmp/guest.vmconf"
"$BIN/vdm" --domid 1 "@$tmp/guest.vmconf" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
if [ $rc -ne 64 ]; then
	echo "FAIL: exit $rc, expected 64"
	exit 1
fi
if ! grep -q '/dev/xen/privcmd is missing' "$tmp/out"; then
	echo "FAIL: the message does not name /dev/xen/privcmd"
	exit 1
fi
# dryrun never touches Xen: it describes the native controllers and exits 0
"$BIN/vdm" --domid 1 "@$tmp/guest.vmconf" dryrun >"$tmp/dry" 2>&1
rc=$?
if [ $rc -ne 0 ] || ! grep -q 'isa .*16 lines (native)' "$tmp/dry"; then
	cat "$tmp/dry"
	echo "FAIL: dryrun exit $rc or no native isa controller"
	exit 1
fi
echo "PASS: exit 64 naming /dev/xen/privcmd; dryrun 0"
