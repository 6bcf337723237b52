# sdk/conform: vdev-conform, the conformance runner for any vdev-*.so
# (sdk/conform/README.md). It is built on the SDK test host, whose archive
# carries the loader (sdk/host) and the config parsers (conf/) too.
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a

VDEV_CONFORM_SRCS := $(sort $(wildcard sdk/conform/*.c))
VDEV_CONFORM_OBJS := $(VDEV_CONFORM_SRCS:%.c=$(O)/%.o)
VDEV_CONFORM := $(O)/bin/vdev-conform
BINS += $(VDEV_CONFORM)

# -rdynamic is not wanted: plugins link against nothing of the host.
$(VDEV_CONFORM): $(VDEV_CONFORM_OBJS) $(VDEV_TESTHOST_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(VDEV_CONFORM_OBJS) $(VDEV_TESTHOST_LIB) -ldl -lpthread
