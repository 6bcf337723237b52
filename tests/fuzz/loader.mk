# The guest loader (ELF/PVH/raw, hvm_start_info) and the vmscript parser as
# fuzz targets. The loader's seeds are the sample guests of the release
# build, when built (a missing seed directory is skipped).
FUZZERS += tests/fuzz/fuzz_guest_loader.c:devmodel/guest_loader.c:conf/*.c:build/release/guests/
FUZZERS += tests/fuzz/fuzz_vmscript.c:devmodel/sim/vmscript.c:conf/*.c:tests/sim/:samples/
