# vdevs/ser8250: vdev-ser8250.so and its tests (through the SDK test host).

VDEV_SER8250_SO := $(O)/lib/vdm/vdev-ser8250.so
VDEV_SER8250_OBJS := $(O)/plugin/vdevs/ser8250/ser8250.o $(O)/plugin/vdevs/common/hostio.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_SER8250_SO)

$(VDEV_SER8250_SO): $(VDEV_SER8250_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_SER8250_TEST := $(O)/tests/vdevs/ser8250/test_ser8250
UNIT_TESTS += $(VDEV_SER8250_TEST)

$(O)/vdevs/ser8250/tests/test_ser8250.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_SER8250_SO)"'
$(VDEV_SER8250_TEST): $(O)/vdevs/ser8250/tests/test_ser8250.o $(VDEV_TESTHOST_LIB) | $(VDEV_SER8250_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
