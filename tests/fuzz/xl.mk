# The translation of libxl's device-model argv (devmodel/xl/xl_args.c) as a
# fuzz target: with conf/, whose parser must read every path back intact.
FUZZERS += tests/fuzz/fuzz_xl_args.c:devmodel/xl/xl_args.c:conf/*.c:tests/fuzz/xl-seeds/
