# tests/sdk/sdk.mk: the SDK as a plugin author meets it.
#
# template-out-of-tree.sh installs the SDK to a temporary prefix, builds the
# template there against it with pkg-config only, runs its tests and
# vdev-conform, and installs it (needs the whole build: it runs in `make check`).

CHECK_SCRIPTS += tests/sdk/template-out-of-tree.sh
