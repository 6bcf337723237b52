#!/bin/sh
# vdev-template/ci/build-test-conform.sh: what CI runs for this plugin.
#
# Builds the plugin against an installed vdm SDK, runs its tests, runs
# vdev-conform on it, and installs it into a staging directory (the artefact
# to ship). Usage, from the plugin's top directory:
#
#	VDEV_SDK_PREFIX=/opt/vdm ci/build-test-conform.sh
#
# VDEV_SDK_PREFIX: where `make install PREFIX=...` put the SDK (default
# /usr/local). SAN=1 builds and tests with ASan+UBSan. STAGE: where the
# plugin is installed for packaging (default build/stage).
set -eu
cd "$(dirname "$0")/.."

prefix=${VDEV_SDK_PREFIX:-/usr/local}
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if ! pkg-config --exists vdev-sdk vdev-testhost; then
	echo "ci: the vdm SDK is not installed under $prefix (no vdev-sdk.pc / vdev-testhost.pc)" >&2
	exit 1
fi
echo "ci: vdm SDK $(pkg-config --modversion vdev-sdk) from $prefix"

cflags="-O2 -g"
ldflags=""
if [ "${SAN:-0}" = 1 ]; then
	san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	cflags="-O1 -g $san"
	ldflags="$san"
fi

make clean
make CFLAGS="$cflags" LDFLAGS="$ldflags"
make CFLAGS="$cflags" LDFLAGS="$ldflags" test
make CFLAGS="$cflags" LDFLAGS="$ldflags" conform
make install DESTDIR="${STAGE:-$PWD/build/stage}"
echo "ci: built, tested, conformant; staged under ${STAGE:-build/stage}"
