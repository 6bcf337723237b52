#!/bin/sh
# `dryrun`: the whole VM is assembled (plugins created, lines resolved,
# regions mapped), printed, and vdm exits 0; assembly errors exit 65 with
# file:line:col. Uses the test plugin vdev-good.so, and the in-tree 8259
# and ser8250 when they are built.
set -u
. tests/cli/lib.sh
need_plugin "$TEST_PLUGINS/vdev-good.so"
P="--plugin-path $TEST_PLUGINS"

cat >"$TMP/vm.vmconf" <<'CONF'
system dry
ram 0,0xa0000
reserve loc 0xa0000,0x20000
rom 0xc0000,0x40000
ram 1m,15m
vdev good loc 0x20000000 name g1
vdev good loc 0x20001000 name g2 period 2000
CONF
run vm 0 $P "@$TMP/vm.vmconf" dryrun
expect vm out "vm dry uuid "
expect vm out "  ram      0x0000000000000000-0x000000000009ffff 640K"
expect vm out "  reserve  0x00000000000a0000-0x00000000000bffff 128K"
expect vm out "  rom      0x00000000000c0000-0x00000000000fffff 256K"
expect vm out "  ram      0x0000000000100000-0x0000000000ffffff 15M"
expect vm out "  mmio   0x0000000020000000-0x000000002000001f g1 (region 0)"
expect vm out "  mmio   0x0000000020001000-0x000000002000101f g2 (region 0)"
expect vm out "  g1               good 1.0.0 $TEST_PLUGINS/vdev-good.so"
expect vm err "dryrun completed"
# the UUID is fresh each run and shown in every log line
uuid=$(sed -n 's/^vm dry uuid \(.*\)$/\1/p' "$TMP/vm.out")
short=$(echo "$uuid" | cut -c1-8)
expect vm err "vdm[dry/$short]"
run vm2 0 $P "@$TMP/vm.vmconf" dryrun
uuid2=$(sed -n 's/^vm dry uuid \(.*\)$/\1/p' "$TMP/vm2.out")
[ -n "$uuid" ] && [ "$uuid" != "$uuid2" ] || fail "uuid not fresh: '$uuid' '$uuid2'"

# a device over RAM: both named, at the device's loc
printf 'ram 0,1m\nvdev good loc 0x80000 name g\n' >"$TMP/ram.vmconf"
run ram 65 $P "@$TMP/ram.vmconf" dryrun
expect ram err "$TMP/ram.vmconf:2:15: error: vdev g: mmio region 0x80000-0x8001f overlaps ram 0x0-0xfffff"
expect_not ram out "dryrun completed"

# two devices on each other
printf 'vdev good loc 0x20000000 name a\nvdev good loc 0x20000008 name b\n' >"$TMP/two.vmconf"
run two 65 $P "@$TMP/two.vmconf" dryrun
expect two err "$TMP/two.vmconf:2:"
expect two err "overlaps a 0x20000000-0x2000001f"

# a device refusing its configuration: named, exit 65
printf 'vdev good name lonely\n' >"$TMP/refuse.vmconf"
run refuse 65 $P "@$TMP/refuse.vmconf" dryrun
expect refuse err "vdev lonely (good): create failed"

# the in-tree devices, with an interrupt controller plugin and lines
if [ -f "$PLUGIN_DIR/vdev-8259.so" ] && [ -f "$PLUGIN_DIR/vdev-ser8250.so" ]; then
	cat >"$TMP/pc.vmconf" <<'CONF'
system pc
ram 0,1m
vdev 8259 loc 0x20 name pic
vdev ser8250 loc 0x3f8 intr pic:4 hostdev >/dev/null
vdev good loc 0x20000000 intr pic:5 name t
CONF
	run pc 0 $P "@$TMP/pc.vmconf" dryrun
	expect pc out "interrupt controllers:"
	expect pc out "  pic              16 lines (8259)"
	expect pc out "  ser8250.0        -> pic:4"
	expect pc out "  t                -> pic:5"
	expect pc out "  pio    0x00000000000003f8-0x00000000000003ff ser8250.0 (region 0)"
	expect pc out "vdev-8259.so"
	printf 'ram 0,1m\nvdev 8259 loc 0x20 name pic\nvdev good loc 0x20000000 intr pic:16\n' >"$TMP/line.vmconf"
	run line 65 $P "@$TMP/line.vmconf" dryrun
	expect line err "$TMP/line.vmconf:3:31: error:"
	expect line err "controller 'pic' has no line 16"
else
	echo "note: 8259/ser8250 not built; skipped their part"
fi

# `vdev hpet` without intr: wired as a PC's HPET, and it says so
if [ -f "$PLUGIN_DIR/vdev-hpet.so" ]; then
	run hpet 0 --backend sim ram 0,1m vdev hpet dryrun
	expect hpet out "  hpet.0           -> isa:0"
	expect hpet out "  hpet.0           -> isa:8"
	expect hpet err "info: hpet.0: no intr given: PC defaults, timer 0 -> isa:0, timer 1 -> isa:8"
fi
# a UART without hostdev says where its output goes
if [ -f "$PLUGIN_DIR/vdev-ser8250.so" ]; then
	run uart-nohost 0 --backend sim ram 0,1m vdev ser8250 dryrun
	expect uart-nohost err "info: ser8250.0: no hostdev: the guest's output is discarded"
fi
finish
