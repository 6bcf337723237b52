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

# the default loc is what the device takes when given none: address and length
expect good out "default loc mem: (none without more configuration)"
for d in "ser8250 io:0x3f8,0x8" "hpet mem:0xfed00000,0x400" "8259 io:0x20,0x2 io:0xa0,0x2 io:0x4d0,0x2"; do
	set -- $d
	[ -f "$PLUGIN_DIR/vdev-$1.so" ] || continue
	run "describe-$1" 0 --describe "$1"
	expect "describe-$1" out "default loc ${d#* }"
done

# --describe and vdevs/README.md say the same of mc146818's ram-size 0
if [ -f "$PLUGIN_DIR/vdev-mc146818.so" ]; then
	run describe-rtc 0 --describe mc146818
	expect describe-rtc out "(0: from the VM's memory map"
	grep -qF "ram-size\` [0: from the VM's memory map" vdevs/README.md ||
		fail "vdevs/README.md: ram-size 0 is not \"from the VM's memory map\""
fi

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
