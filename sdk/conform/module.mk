# sdk/conform: vdev-conform, the conformance runner for any vdev-*.so
# (sdk/conform/README.md). It is built on the SDK test host, whose archive
# carries the loader (sdk/host) and the config parsers (conf/) too.
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a

VDEV_CONFORM_SRCS := $(filter-out sdk/conform/fuzz.c,$(sort $(wildcard sdk/conform/*.c)))
VDEV_CONFORM_OBJS := $(VDEV_CONFORM_SRCS:%.c=$(O)/%.o)
VDEV_CONFORM := $(O)/bin/vdev-conform
BINS += $(VDEV_CONFORM)

# -rdynamic is not wanted: plugins link against nothing of the host.
$(VDEV_CONFORM): $(VDEV_CONFORM_OBJS) $(VDEV_TESTHOST_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(VDEV_CONFORM_OBJS) $(VDEV_TESTHOST_LIB) -ldl -lpthread

# vdev-conform-fuzz: the libFuzzer target behind `vdev-conform --fuzz`
# (sdk/conform/fuzz.c), built with clang together with the test host's
# sources, where clang and its fuzzer runtime are installed (DEB_PACKAGES
# has clang and libclang-rt-14-dev); without them `--fuzz` says SKIP.
CLANG ?= clang
VDEV_CONFORM_FUZZ := $(O)/bin/vdev-conform-fuzz
VDEV_CONFORM_FUZZ_SRCS := sdk/conform/fuzz.c $(sort $(wildcard sdk/testhost/*.c sdk/host/*.c conf/*.c))
VDEV_CONFORM_FUZZ_OK := $(shell printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }\n' | \
	$(CLANG) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1 && echo yes)
ifeq ($(VDEV_CONFORM_FUZZ_OK),yes)
BINS += $(VDEV_CONFORM_FUZZ)
endif

$(VDEV_CONFORM_FUZZ): $(VDEV_CONFORM_FUZZ_SRCS) $(wildcard sdk/testhost/*.h sdk/host/*.h conf/*.h sdk/include/vdev/*.h)
	@mkdir -p $(@D)
	$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -Isdk/include -I. -Wall -Wextra -Werror \
		-Wno-unused-parameter -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
		-o $@ $(VDEV_CONFORM_FUZZ_SRCS) -ldl -lpthread
