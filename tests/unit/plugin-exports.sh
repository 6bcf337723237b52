#!/bin/sh
# Every plugin exports exactly one symbol, vdev_plugin_entry, and imports
# only from libc: a plugin links against nothing of the host, so any host
# can load it (vdev.h, DESIGN.md "The plugin ABI"). Checks every .so in
# $PLUGIN_DIR (the in-tree devices) and the test plugin vdev-good.so.
# Skipped in the sanitizer build, whose plugins import the sanitizers' symbols.
set -u
O=${O:-build/release}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
if [ "${SAN:-0}" = 1 ] || case "$O" in *san*) true ;; *) false ;; esac; then
	echo "SKIP: sanitizer build (plugins import ASan/UBSan symbols)"
	exit 77
fi
if ! command -v nm >/dev/null 2>&1 || ! command -v readelf >/dev/null 2>&1; then
	echo "SKIP: nm/readelf (binutils) not installed"
	exit 77
fi
plugins=""
for so in "$PLUGIN_DIR"/vdev-*.so "$O/tests/unit/plugins/vdev-good.so"; do
	[ -f "$so" ] && plugins="$plugins $so"
done
if [ -z "$plugins" ]; then
	echo "SKIP: no plugins built under $O"
	exit 77
fi
fail=0 n=0
for so in $plugins; do
	n=$((n + 1))
	exports=$(nm -D --defined-only "$so" | awk '{print $NF}' | sort)
	if [ "$exports" != "vdev_plugin_entry" ]; then
		echo "FAIL: $so must export exactly vdev_plugin_entry; it exports: ${exports:-nothing}" | tr '\n' ' '
		echo
		echo "  build it with -fvisibility=hidden and define the entry with VDEV_PLUGIN_ENTRY(desc)."
		fail=1
	fi
	# Undefined symbols: strong ones must come from glibc (versioned
	# GLIBC_*); weak ones (w) are the toolchain's optional hooks.
	imports=$(nm -D --undefined-only "$so" | awk '$1 == "U" {print $2}' | grep -v '@GLIBC_')
	if [ -n "$imports" ]; then
		echo "FAIL: $so imports symbols that are not libc's:"
		echo "$imports" | sed 's/^/    /'
		fail=1
	fi
	needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -v '^libc\.so\.')
	if [ -n "$needed" ]; then
		echo "FAIL: $so needs libraries other than libc: $needed"
		fail=1
	fi
done
[ $fail -eq 0 ] && echo "ok: $n plugin(s) export only vdev_plugin_entry and import only libc"
exit $fail
