# vdevs/8259: vdev-8259.so and its tests (through the SDK test host).

VDEV_PIC8259_SO := $(O)/lib/vdm/vdev-8259.so
VDEV_PIC8259_OBJS := $(O)/plugin/vdevs/8259/8259.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_PIC8259_SO)

$(VDEV_PIC8259_SO): $(VDEV_PIC8259_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_PIC8259_TEST := $(O)/tests/vdevs/8259/test_8259
UNIT_TESTS += $(VDEV_PIC8259_TEST)

$(O)/vdevs/8259/tests/test_8259.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_PIC8259_SO)"'
$(VDEV_PIC8259_TEST): $(O)/vdevs/8259/tests/test_8259.o $(VDEV_TESTHOST_LIB) | $(VDEV_PIC8259_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
