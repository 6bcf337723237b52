#!/bin/sh
# vdm --describe NAME, and the plugin search order: --plugin-path, then
# VDM_PLUGIN_PATH, then the build tree's lib/vdm, then the install dir.
set -u
. tests/cli/lib.sh
need_plugin "$TEST_PLUGINS/vdev-good.so"

run good 0 --describe good --plugin-path "$TEST_PLUGINS"
expect good out "name        good"
expect good out "version     1.0.0"
expect good out "file        $TEST_PLUGINS/vdev-good.so"
expect good out "period           uint    default 1000 range 1..1000000000"
expect good out "pulse            bool    default off"
expect good out "access       1 2 4 bytes"

run unknown 65 --describe nosuch --plugin-path "$TEST_PLUGINS"
expect unknown err "vdev-nosuch.so"

# search order
mkdir -p "$TMP/a" "$TMP/b"
cp "$TEST_PLUGINS/vdev-good.so" "$TMP/a/"
cp "$TEST_PLUGINS/vdev-good.so" "$TMP/b/"
VDM_PLUGIN_PATH="$TMP/nothing:$TMP/a" "$VDM" --describe good >"$TMP/env.out" 2>"$TMP/env.err" ||
	fail "env: exit $?"
expect env out "file        $TMP/a/vdev-good.so"
VDM_PLUGIN_PATH="$TMP/a" "$VDM" --plugin-path "$TMP/b" --describe good >"$TMP/flag.out" \
	2>"$TMP/flag.err" || fail "flag: exit $?"
expect flag out "file        $TMP/b/vdev-good.so"
# the build tree's lib/vdm next to the executable
if [ -f "$PLUGIN_DIR/vdev-8259.so" ]; then
	run tree 0 --describe 8259
	expect tree out "lib/vdm/vdev-8259.so"
fi
finish
