#!/bin/sh
# tests/sdk/template-out-of-tree.sh: what a plugin author does, end to end.
#
# Installs the SDK into a temporary prefix (make install PREFIX=$tmp), copies
# vdev-template/ somewhere else, and there, with nothing but pkg-config
# pointing at the prefix, builds vdev-ticker.so, runs its cmocka tests,
# runs vdev-conform on it and installs it. Then checks the installed tree
# and the plugin's exports; then builds a virtio device (vdevs/virtio-entropy's
# source) the same way, with every SDK helper. In the SAN build everything is compiled with
# ASan+UBSan, the template too (its tests link the sanitized test host).
#
# Env (from tests/run-tests): O, SAN. Exit 0 pass, 77 skip, else fail.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build/release}
SAN=${SAN:-0}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

command -v pkg-config >/dev/null 2>&1 || skip "pkg-config is not installed"
printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <cmocka.h>\n' |
	${CC:-cc} -E -x c - >/dev/null 2>&1 || skip "cmocka headers are not installed (libcmocka-dev)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vdev-template.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
work=$tmp/work/my-device

# Run make as a fresh top-level make: not as part of the caller's jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

# Build with the tree's own PREFIX first: install must only copy, never
# compile something (vdm bakes PREFIX in) into the shared build.
if ! make -C "$top" -q O="$O" SAN="$SAN" all >/dev/null 2>&1; then
	echo "== the build is not up to date; make all first"
	make -C "$top" --no-print-directory O="$O" SAN="$SAN" all >"$tmp/all.log" 2>&1 ||
		{ tail -n 40 "$tmp/all.log"; fail "the tree does not build (make all)"; }
fi

echo "== install the SDK into $prefix (O=$O SAN=$SAN)"
make -C "$top" --no-print-directory O="$O" SAN="$SAN" install PREFIX="$prefix" \
	>"$tmp/install.log" 2>&1 || { tail -n 40 "$tmp/install.log"; fail "make install failed"; }

for f in include/vdev/vdev.h include/vdev/state.h include/vdev/testhost.h \
	lib/pkgconfig/vdev-sdk.pc share/vdev-sdk/vdev.mk share/vdev-sdk/src/state.c \
	include/vdev/virtio.h share/vdev-sdk/src/virtio.c share/vdev-sdk/src/virtio_internal.h \
	lib/vdm/vdev-ticker.so; do
	[ -f "$prefix/$f" ] || fail "make install did not install $f"
done
[ -f "$prefix/lib/libvdev-testhost.a" ] && [ -f "$prefix/lib/pkgconfig/vdev-testhost.pc" ] ||
	skip "the SDK test host (libvdev-testhost.a) is not built yet, nothing to test the template with"
[ -x "$prefix/bin/vdev-conform" ] ||
	skip "vdev-conform is not built yet; the template cannot be checked"

had_build=no
[ -e "$top/vdev-template/build" ] && had_build=yes

# Nothing of the source tree is visible from here on: only the prefix.
mkdir -p "$tmp/work" && cp -R "$top/vdev-template" "$work" || fail "copying the template"
rm -rf "$work/build" "$work/module.mk"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
unset PKG_CONFIG_LIBDIR
[ "$(pkg-config --modversion vdev-sdk)" != "" ] || fail "pkg-config does not see vdev-sdk"

# vdev.mk's flavours: SAN=1 builds in build/san, otherwise build/release.
flavour=release
[ "$SAN" = 1 ] && flavour=san

echo "== build the template out of tree in $work"
(cd "$work" && make --no-print-directory SAN="$SAN") ||
	fail "the template does not build against the installed SDK"
so="$work/build/$flavour/vdev-ticker.so"
[ -f "$so" ] || fail "no $so"

echo "== exported symbols"
exports=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^_' | sort)
[ "$exports" = "vdev_plugin_entry" ] ||
	fail "vdev-ticker.so must export only vdev_plugin_entry, exports: $exports"

echo "== the template's tests"
(cd "$work" && make --no-print-directory SAN="$SAN" test) ||
	fail "the template's tests failed"

echo "== vdev-conform"
(cd "$work" && make --no-print-directory SAN="$SAN" conform) ||
	fail "vdev-conform rejects the template"

echo "== flavours: a change of CFLAGS rebuilds; release and san never share objects"
(cd "$work" && make --no-print-directory SAN="$SAN" CFLAGS="-O1 -g" >"$tmp/reflags.log" 2>&1) ||
	fail "the template does not build with other CFLAGS"
grep -q "ticker.c" "$tmp/reflags.log" || fail "changing CFLAGS did not rebuild the template"
if [ "$SAN" != 1 ]; then
	(cd "$work" && make --no-print-directory SAN=1 >/dev/null 2>&1) || fail "SAN=1 does not build"
	[ -f "$work/build/san/vdev-ticker.so" ] && [ -f "$work/build/release/vdev-ticker.so" ] ||
		fail "SAN=1 did not build beside the release flavour (build/san, build/release)"
fi
(cd "$work" && make --no-print-directory SAN="$SAN" conform-valgrind) ||
	fail "make conform-valgrind fails on the template"

echo "== install the plugin (DESTDIR and PREFIX)"
(cd "$work" && make --no-print-directory install DESTDIR="$tmp/dest") || fail "template install"
[ -f "$tmp/dest$prefix/lib/vdm/vdev-ticker.so" ] || fail "template install put nothing in $tmp/dest$prefix/lib/vdm"
(cd "$work" && make --no-print-directory install PREFIX="$tmp/other") || fail "template install PREFIX"
[ -f "$tmp/other/lib/vdm/vdev-ticker.so" ] || fail "template install PREFIX= ignored"

# A virtio device out of tree: every helper the SDK ships (the default
# VDEV_SDK_HELPERS, virtio*.c among them) compiles under the author's plain
# -Wall -Wextra -Werror, and the result conforms.
echo "== a virtio plugin out of tree (vdevs/virtio-entropy's source, all SDK helpers)"
vwork="$tmp/virtio"
mkdir -p "$vwork" && cp "$top/vdevs/virtio-entropy/virtio-entropy.c" "$vwork/" || fail "copying virtio-entropy.c"
printf '%s\n' 'VDEV_NAME := virtio-entropy' 'VDEV_SOURCES := virtio-entropy.c' \
	'VDEV_WARNINGS := -Wall -Wextra -Werror' \
	'include $(shell pkg-config --variable=vdevmk vdev-sdk)' >"$vwork/Makefile"
(cd "$vwork" && make --no-print-directory SAN="$SAN" all conform) ||
	fail "a virtio plugin does not build or conform against the installed SDK"

# The PCI template, from where make install put it.
echo "== the PCI template (installed copy) out of tree"
pwork="$tmp/work/my-pci-device"
[ -f "$prefix/share/vdev-sdk/template-pci/src/pcidma.c" ] || fail "make install did not install the PCI template"
[ -f "$prefix/share/doc/vdev-sdk/README.md" ] && [ -f "$prefix/share/doc/vdev-sdk/conform/README.md" ] &&
	[ -f "$prefix/share/doc/vdev-sdk/vmscript.md" ] || fail "make install did not install the documentation"
cp -R "$prefix/share/vdev-sdk/template-pci" "$pwork" || fail "copying the PCI template"
(cd "$pwork" && make --no-print-directory SAN="$SAN" all test conform) ||
	fail "the PCI template does not build, test or conform against the installed SDK"

# The source tree stays clean: the build happened in the copy only.
[ $had_build = yes ] || [ ! -e "$top/vdev-template/build" ] || fail "something built inside the source tree's vdev-template/"
echo "PASS: template builds, tests, conforms and installs out of tree"
