# vdevs/pckeyboard: vdev-pckeyboard.so (8042 keyboard controller) and its tests (through the SDK test host).

VDEV_PCKEYBOARD_SO := $(O)/lib/vdm/vdev-pckeyboard.so
VDEV_PCKEYBOARD_OBJS := $(O)/plugin/vdevs/pckeyboard/pckeyboard.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_PCKEYBOARD_SO)

$(VDEV_PCKEYBOARD_SO): $(VDEV_PCKEYBOARD_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_PCKEYBOARD_TEST := $(O)/tests/vdevs/pckeyboard/test_pckeyboard
UNIT_TESTS += $(VDEV_PCKEYBOARD_TEST)

$(O)/vdevs/pckeyboard/tests/test_pckeyboard.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_PCKEYBOARD_SO)"'
$(VDEV_PCKEYBOARD_TEST): $(O)/vdevs/pckeyboard/tests/test_pckeyboard.o $(VDEV_TESTHOST_LIB) | $(VDEV_PCKEYBOARD_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
