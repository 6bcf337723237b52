#!/bin/sh
# tests/bench/rss.sh: vdm's peak RSS (ru_maxrss, tests/bench/timeexec)
# against the guest's RAM size and against the number of vdevs. (vdm
# against QEMU for the same guest is in startup.sh's "rss idle" line.)
#   rss ram-1g: 16m K KiB, 1g K KiB, 1g/16m R
#     the idle guest of startup.sh on the kvm backend with 16 MiB and with
#     1 GiB of RAM. The guest touches a few pages only; vdm must not touch
#     the rest either, so R should be about 1 (it is ~64 if vdm zeroes or
#     copies the whole RAM).
#   rss vdevs: 1 K KiB, 100 K KiB, 1000 K KiB, per-vdev K KiB
#     the sim backend with an empty script and N instances of the test
#     plugin vdev-good (as assembly.sh); per-vdev = (K1000 - K1) / 999.
# Env: O, BIN, PLUGIN_DIR.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
TEST_PLUGINS=$O/tests/unit/plugins
TIMEEXEC=$O/tests/bench/timeexec
skip() { echo "SKIP: $*"; exit 77; }
for f in "$BIN/vdm" "$TIMEEXEC" "$O/guests/exitbench.elf" "$TEST_PLUGINS/vdev-good.so" \
	"$PLUGIN_DIR/vdev-ser8250.so" "$PLUGIN_DIR/vdev-debug-exit.so"; do
	[ -e "$f" ] || skip "$f not built"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# kib COMMAND...: peak RSS of one run that must exit 0
kib() {
	"$TIMEEXEC" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" </dev/null || exit 1
	read -r ns k st cpu <"$tmp/t"
	[ "$st" -eq 0 ] || { echo "rss: $1 exited $st" >&2; cat "$tmp/err" >&2; exit 1; }
	echo "$k"
}

if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	for ram in 16M 1G; do
		cat >"$tmp/$ram.vmconf" <<EOC
system bench-rss-$$
ram 0,$ram
load $O/guests/exitbench.elf
cmdline n=0
vdev ser8250 loc io:0x3f8 hostdev >$tmp/console
vdev debug-exit loc io:0xf4
EOC
	done
	small=$(kib "$BIN/vdm" --backend kvm --plugin-path "$PLUGIN_DIR" @"$tmp/16M.vmconf") &&
		big=$(kib "$BIN/vdm" --backend kvm --plugin-path "$PLUGIN_DIR" @"$tmp/1G.vmconf") || exit 1
	awk -v s="$small" -v b="$big" \
		'BEGIN { printf "rss ram-1g: 16m %d KiB, 1g %d KiB, 1g/16m %.3f\n", s, b, b / s }'
else
	echo "SKIP rss ram-1g: /dev/kvm not usable"
fi

: >"$tmp/empty.vmscript"
vdevs() { # N: peak RSS with N vdev-good instances
	awk -v n="$1" -v pid="$$" 'BEGIN {
		print "system bench-rss-" pid; print "ram 0,1m";
		for (i = 0; i < n; i++)
			printf "vdev good loc 0x%x period 500\n", 536870912 + i * 4096;
	}' >"$tmp/$1.vmconf"
	kib "$BIN/vdm" --backend sim --script "$tmp/empty.vmscript" --plugin-path "$TEST_PLUGINS" \
		@"$tmp/$1.vmconf"
}
k1=$(vdevs 1) && k100=$(vdevs 100) && k1000=$(vdevs 1000) || exit 1
awk -v a="$k1" -v b="$k100" -v c="$k1000" 'BEGIN {
	printf "rss vdevs: 1 %d KiB, 100 %d KiB, 1000 %d KiB, per-vdev %.2f KiB\n", a, b, c, (c - a) / 999 }'
