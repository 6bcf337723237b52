# vdevs/hpet: vdev-hpet.so (IA-PC HPET) and its tests (through the SDK test host).

VDEV_HPET_SO := $(O)/lib/vdm/vdev-hpet.so
VDEV_HPET_OBJS := $(O)/plugin/vdevs/hpet/hpet.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_HPET_SO)

$(VDEV_HPET_SO): $(VDEV_HPET_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_HPET_TEST := $(O)/tests/vdevs/hpet/test_hpet
UNIT_TESTS += $(VDEV_HPET_TEST)

$(O)/vdevs/hpet/tests/test_hpet.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_HPET_SO)"'
$(VDEV_HPET_TEST): $(O)/vdevs/hpet/tests/test_hpet.o $(VDEV_TESTHOST_LIB) | $(VDEV_HPET_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
