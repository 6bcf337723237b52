#!/bin/sh
# tests/bench/assembly.sh: VM assembly time against the number of vdevs:
# `dryrun` of 10 000 and of 100 000 instances of the test plugin vdev-good
# (scrambled addresses, the sim backend on virtual time so no timerfd is
# used per instance). ratio = (time for 100k / time for 10k) / 10: about 1
# when assembly grows like n log n, about 10 when it is quadratic.
set -u
O=${O:-build/release}
VDM="$O/bin/vdm"
PLUGINS="$O/tests/unit/plugins"
[ -x "$VDM" ] && [ -f "$PLUGINS/vdev-good.so" ] || { echo "SKIP: vdm or vdev-good.so not built"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/empty.vmscript"

# conf N: a config of N vdevs at scrambled addresses
conf() {
	awk -v n="$1" 'BEGIN {
		print "system bench-assembly"; print "ram 0,1m";
		for (i = 0; i < n; i++)
			printf "vdev good loc 0x%x period 500\n", 536870912 + ((i * 7919) % n) * 4096;
	}' >"$tmp/$1.vmconf"
}

# ms N: milliseconds to assemble (and tear down) N vdevs
ms() {
	t0=$(date +%s%N)
	"$VDM" --backend sim --script "$tmp/empty.vmscript" --plugin-path "$PLUGINS" \
		"@$tmp/$1.vmconf" dryrun >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	echo $((($(date +%s%N) - t0) / 1000000))
}

conf 10000
conf 100000
small=$(ms 10000)
big=$(ms 100000)
[ "$small" -gt 0 ] || small=1
ratio=$(awk -v a="$big" -v b="$small" 'BEGIN { printf "%.2f", a / b / 10 }')
echo "assembly vdevs: 10k ${small} ms, 100k ${big} ms, ratio $ratio"
