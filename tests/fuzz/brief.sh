#!/bin/sh
# tests/fuzz/brief.sh: every fuzz target of the tree (FUZZERS in the
# tests/fuzz/*.mk and */module.mk fragments) built and run briefly, so that
# `make test` catches a target that no longer builds and a crash on its seed
# corpus plus a few seconds of mutation. `make fuzz` runs them for longer
# (FUZZ_SECONDS). The fuzzers carry their own ASan+UBSan: they run once,
# from the release build's check.
set -u
O=${O:-build/release}
if [ "${SAN:-0}" = 1 ]; then
	echo "SKIP: the fuzzers are sanitizer builds of their own; the release check runs them"
	exit 77
fi
entries=$(sed -n 's/^FUZZERS += //p' tests/fuzz/*.mk */module.mk */*/module.mk 2>/dev/null)
[ -n "$entries" ] || { echo "SKIP: no FUZZERS listed"; exit 77; }
# shellcheck disable=SC2086 # one word per entry
FUZZ_SECONDS=${FUZZ_BRIEF_SECONDS:-3} O="$O" tests/fuzz/run $entries
