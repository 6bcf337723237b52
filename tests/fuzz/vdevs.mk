# Every in-tree vdev's registers through the SDK test host, one fuzz target (fuzz_vdevs.c).
FUZZERS += tests/fuzz/fuzz_vdevs.c:tests/fuzz/vdevs/*.c:sdk/lib/*.c:sdk/testhost/*.c:sdk/host/*.c:conf/*.c:tests/fuzz/seeds/vdevs/
