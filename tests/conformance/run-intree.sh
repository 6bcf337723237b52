#!/bin/sh
# tests/conformance/run-intree.sh: vdev-conform on every plugin in
# $PLUGIN_DIR (the in-tree devices and the template): fails when any check
# fails or crashes on any of them; warnings are printed, not failures.
#
# A device that cannot be created with vdev-conform's default options
# (say, it has REQUIRED options) gets its option text from
# tests/conformance/options/NAME.options (one line, as after `vdev NAME`).
# A check a device is exempt from, by the decision of its owner, is listed
# in tests/conformance/options/NAME.waive, one "CHECK-ID reason" a line;
# the waiver and its reason are printed on every run.
# The seed is fixed (CONFORM_SEED, default 1) so that `make test` gives the
# same verdict every time; run with other seeds to explore.
# Exits 77 with SKIP when the directory holds no plugin.
# Env (from tests/run-tests): O, BIN, PLUGIN_DIR, SAN.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
CONFORM="$BIN/vdev-conform"
SEED=${CONFORM_SEED:-1}
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

# uninitialised-reads runs where memcheck can: valgrind installed, and not
# a sanitizer build (CONFORM_VALGRIND=0 leaves it out).
valgrind=""
if [ "${CONFORM_VALGRIND:-1}" = 1 ] && [ "${SAN:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
	valgrind=--valgrind
fi

failed=""
for so in "$@"; do
	name=$(basename "$so" .so)
	name=${name#vdev-}
	opts_file="$SRC/options/$name.options"
	waive_file="$SRC/options/$name.waive"
	echo "== $so"
	waived=""
	if [ -f "$waive_file" ]; then
		while read -r id reason; do
			case $id in '' | '#'*) continue ;; esac
			echo "waived: $id: $reason"
			waived="$waived${waived:+,}$id"
		done <"$waive_file"
	fi
	if [ -f "$opts_file" ]; then
		"$CONFORM" --seed "$SEED" $valgrind ${waived:+--skip "$waived"} \
			--options "$(head -n 1 "$opts_file")" "$so"
	else
		"$CONFORM" --seed "$SEED" $valgrind ${waived:+--skip "$waived"} "$so"
	fi
	rc=$?
	[ $rc -eq 0 ] || failed="$failed $name"
done
if [ -n "$failed" ]; then
	echo "FAIL: vdev-conform found problems in:$failed"
	exit 1
fi
echo "all $# plugin(s) in $PLUGIN_DIR conform"
