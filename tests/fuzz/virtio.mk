# The SDK virtio helper fuzz target: the helper, the PCI helper and the state
# codec, driven through the SDK test host (which carries sdk/host and conf/).
FUZZERS += tests/fuzz/fuzz_virtio.c:sdk/lib/*.c:sdk/testhost/*.c:sdk/host/*.c:conf/*.c
