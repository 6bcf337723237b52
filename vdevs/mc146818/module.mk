# vdevs/mc146818: vdev-mc146818.so (MC146818A RTC and CMOS) and its tests (through the SDK test host).

VDEV_MC146818_SO := $(O)/lib/vdm/vdev-mc146818.so
VDEV_MC146818_OBJS := $(O)/plugin/vdevs/mc146818/mc146818.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_MC146818_SO)

$(VDEV_MC146818_SO): $(VDEV_MC146818_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_MC146818_TEST := $(O)/tests/vdevs/mc146818/test_mc146818
UNIT_TESTS += $(VDEV_MC146818_TEST)

$(O)/vdevs/mc146818/tests/test_mc146818.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_MC146818_SO)"'
$(VDEV_MC146818_TEST): $(O)/vdevs/mc146818/tests/test_mc146818.o $(VDEV_TESTHOST_LIB) | $(VDEV_MC146818_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
