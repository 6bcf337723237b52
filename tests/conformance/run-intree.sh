#!/bin/sh
# tests/conformance/run-intree.sh: vdev-conform on every plugin in
# $PLUGIN_DIR (the in-tree devices and the template): fails when any check
# fails or crashes on any of them; warnings are printed, not failures.
#
# A device that cannot be created with vdev-conform's default options
# (say, it has REQUIRED options) gets its option text from
# tests/conformance/options/NAME.options (one line, as after `vdev NAME`).
# Exits 77 with SKIP when the directory holds no plugin.
# Env (from tests/run-tests): O, BIN, PLUGIN_DIR.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
CONFORM="$BIN/vdev-conform"
SRC=$(dirname "$0")

if [ ! -x "$CONFORM" ]; then
	echo "FAIL: $CONFORM is not built (make all)"
	exit 1
fi
set -- "$PLUGIN_DIR"/vdev-*.so
if [ ! -f "$1" ]; then
	echo "SKIP: no vdev-*.so in $PLUGIN_DIR"
	exit 77
fi

failed=""
for so in "$@"; do
	name=$(basename "$so" .so)
	name=${name#vdev-}
	opts_file="$SRC/options/$name.options"
	echo "== $so"
	if [ -f "$opts_file" ]; then
		"$CONFORM" --options "$(head -n 1 "$opts_file")" "$so"
	else
		"$CONFORM" "$so"
	fi
	rc=$?
	[ $rc -eq 0 ] || failed="$failed $name"
done
if [ -n "$failed" ]; then
	echo "FAIL: vdev-conform found problems in:$failed"
	exit 1
fi
echo "all $# plugin(s) in $PLUGIN_DIR conform"
