#!/bin/sh
# ci/build-test-conform.sh: what CI runs for this plugin (the same script
# as vdev-template's).
#
# Builds the plugin against an installed vdm SDK, runs its tests, runs
# vdev-conform on it, and installs it into a staging directory (the artefact
# to ship). Usage, from the plugin's top directory:
#
#	VDEV_SDK_PREFIX=/opt/vdm ci/build-test-conform.sh
#
# VDEV_SDK_PREFIX: where `make install PREFIX=...` put the SDK (default
# /usr/local). SAN=1 builds and tests with ASan+UBSan. FUZZ_SECONDS: how
# long the fuzzer runs (default 20, 0: not at all). STAGE: where the plugin
# is installed for packaging (default build/stage).
set -eu
cd "$(dirname "$0")/.."

prefix=${VDEV_SDK_PREFIX:-/usr/local}
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if ! pkg-config --exists vdev-sdk vdev-testhost; then
	echo "ci: the vdm SDK is not installed under $prefix (no vdev-sdk.pc / vdev-testhost.pc)" >&2
	exit 1
fi
echo "ci: vdm SDK $(pkg-config --modversion vdev-sdk) from $prefix"

# SAN=1: vdev.mk's sanitizer flavour (ASan+UBSan), in build/san.
flavour=release
[ "${SAN:-0}" = 1 ] && flavour=san

make clean SAN="${SAN:-0}"
make SAN="${SAN:-0}"
make SAN="${SAN:-0}" test
make SAN="${SAN:-0}" conform
# Reads of uninitialised memory: vdev-conform's uninitialised-reads under
# valgrind's memcheck, where valgrind is installed (not in the SAN flavour).
if [ "${SAN:-0}" != 1 ]; then
	make conform-valgrind
fi
# A short coverage-guided run over the registers, the interrupt-controller
# ops and restore (FUZZ_SECONDS, default 20; 0 leaves it out). It needs
# clang; without clang or an SDK built without the fuzzer it says SKIP.
if [ "${FUZZ_SECONDS:-20}" != 0 ] && command -v clang >/dev/null 2>&1; then
	make FUZZ=1 FUZZ_SECONDS="${FUZZ_SECONDS:-20}" fuzz
fi
make SAN="${SAN:-0}" install DESTDIR="${STAGE:-$PWD/build/stage}"
echo "ci: built ($flavour), tested, conformant; staged under ${STAGE:-build/stage}"
