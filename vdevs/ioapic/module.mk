# vdevs/ioapic: vdev-ioapic.so (82093AA I/O APIC) and its tests (through the SDK test host).

VDEV_IOAPIC_SO := $(O)/lib/vdm/vdev-ioapic.so
VDEV_IOAPIC_OBJS := $(O)/plugin/vdevs/ioapic/ioapic.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_IOAPIC_SO)

$(VDEV_IOAPIC_SO): $(VDEV_IOAPIC_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_IOAPIC_TEST := $(O)/tests/vdevs/ioapic/test_ioapic
UNIT_TESTS += $(VDEV_IOAPIC_TEST)

$(O)/vdevs/ioapic/tests/test_ioapic.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_IOAPIC_SO)"'
$(VDEV_IOAPIC_TEST): $(O)/vdevs/ioapic/tests/test_ioapic.o $(VDEV_TESTHOST_LIB) | $(VDEV_IOAPIC_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
