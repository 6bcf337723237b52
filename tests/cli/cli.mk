# tests/cli/cli.mk: shell tests of the vdm binary (command line, --check,
# dryrun, --describe, exit codes). They need $(O)/bin/vdm and the test
# plugin vdev-good.so, which `make check` builds through `all`.
CHECK_SCRIPTS += tests/cli/usage.sh tests/cli/check.sh tests/cli/dryrun.sh tests/cli/describe.sh \
	tests/cli/arity.sh tests/cli/special-files.sh tests/cli/xl.sh tests/cli/systemd-unit.sh \
	tests/cli/check-golden.sh
