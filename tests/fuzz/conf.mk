# The conf/ fuzz target: the fuzz source, the sources it links (globs are
# expanded by tests/fuzz/run) and a seed corpus directory (trailing '/').
FUZZERS += tests/fuzz/fuzz_conf.c:conf/*.c:tests/conf/valid/:tests/conf/invalid/
# `make test` runs every fuzz target briefly (tests/fuzz/brief.sh).
CHECK_SCRIPTS += tests/fuzz/brief.sh
