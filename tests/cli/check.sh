#!/bin/sh
# vdm --check: the VM assembled as dryrun does (plugins created, lines and
# regions checked) without any hypervisor; print the description; exit 0,
# or 65 with file:line:col (tests/cli/check-golden.sh has the exact outputs).
set -u
. tests/cli/lib.sh
need_plugin "$TEST_PLUGINS/vdev-good.so"

cat >"$TMP/ok.vmconf" <<'CONF'
system clitest
ram 0,1m
vdev good loc 0x20000000 period 500
CONF
run ok 0 --check --plugin-path "$TEST_PLUGINS" "@$TMP/ok.vmconf"
expect ok out "clitest"
expect ok out "good"
expect_not ok err "error"

# config words after the file are part of the configuration
run words 0 --check --plugin-path "$TEST_PLUGINS" "@$TMP/ok.vmconf" cmdline '"console=ttyS0"'
expect words out "console=ttyS0"

printf 'system clitest\nram 0,1m\nram 0x80000,64k\n' >"$TMP/overlap.vmconf"
run overlap 65 --check "@$TMP/overlap.vmconf"
expect overlap err "$TMP/overlap.vmconf:3:"
expect overlap err "overlaps"

printf 'ram 0,1m\nvdev good loc 0x20000000 period 0\n' >"$TMP/range.vmconf"
run range 65 --check --plugin-path "$TEST_PLUGINS" "@$TMP/range.vmconf"
expect range err "$TMP/range.vmconf:2:"
expect range err "period"

printf 'ram 0,1m\n\nvdev nosuch loc 0x1000\n' >"$TMP/noplugin.vmconf"
run noplugin 65 --check "@$TMP/noplugin.vmconf"
expect noplugin err "$TMP/noplugin.vmconf:3:6: error:"
expect noplugin err "vdev-nosuch.so"

printf 'ram 0,1m\nbogus-option 3\n' >"$TMP/syntax.vmconf"
run syntax 65 --check "@$TMP/syntax.vmconf"
expect syntax err "$TMP/syntax.vmconf:2:1: error:"

run nofile 65 --check "@$TMP/does-not-exist.vmconf"
expect nofile err "does-not-exist.vmconf"
finish
