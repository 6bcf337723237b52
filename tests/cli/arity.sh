#!/bin/sh
# vdm asks each plugin's schema which device options take no argument while
# it parses (conf_env.option_arity, sdk/host/arity.h): the template ticker's
# `start` and mc146818's `utc` are NOARG bools and may sit anywhere in a
# vdev context; an explicit on/off after them is still their value; a type
# that does not load is reported once, by the loading step.
set -u
. tests/cli/lib.sh
need_plugin "$PLUGIN_DIR/vdev-ticker.so"
need_plugin "$PLUGIN_DIR/vdev-mc146818.so"
P="--plugin-path $PLUGIN_DIR"

# on the command line, in the middle
run mid 0 --check $P ram 0,1m vdev ticker loc 0x200000 start irq-mode edge intr apic
grep -qx "  option start" "$TMP/mid.out" || fail "mid: no line '  option start'"
expect mid out '  option irq-mode "edge"'
expect_not mid out 'option start "'
expect_not mid out "option edge"

# in a file, then a newline and the next option
printf 'ram 0,1m\nvdev ticker loc 0x200000 intr apic start\n    irq-mode edge\n    period 250\n' \
	>"$TMP/nl.vmconf"
run nl 0 --check $P "@$TMP/nl.vmconf"
expect nl out '  option irq-mode "edge"'
expect nl out '  option period "250"'
expect_not nl out 'option start "'

# an explicit value is still taken when it is a bool literal
run off 0 --check $P ram 0,1m vdev ticker loc 0x200000 start off irq-mode edge intr apic
expect off out '  option start "off"'
expect off out '  option irq-mode "edge"'

# a word that is not a literal is the next option, refused by the schema
run maybe 65 --check $P ram 0,1m vdev ticker loc 0x200000 start maybe intr apic
expect maybe err "no option 'maybe'"

# a plugin named by path answers too
run path 0 --check ram 0,1m vdev "$PLUGIN_DIR/vdev-ticker.so" loc 0x200000 start irq-mode edge \
	intr apic
expect path out '  option irq-mode "edge"'

# `utc loc ...`: loc is not utc's value
run utc 0 --check $P ram 0,1m vdev mc146818 utc loc io:0x70 intr apic
expect utc out "  loc io:0x70"
expect_not utc out 'option utc "'

# a type that does not load: one error, from the loading step, nothing else
run nosuch 65 --check $P ram 0,1m vdev nosuch start irq-mode edge
expect nosuch err "vdev-nosuch.so"
n=$(grep -c "error:" "$TMP/nosuch.err")
[ "$n" = 1 ] || fail "nosuch: $n errors, expected 1"
[ "$(wc -l <"$TMP/nosuch.err")" = 3 ] || fail "nosuch: more than the error and its source line"
finish
