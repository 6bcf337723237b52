# vdevs/wdt-ib700: vdev-wdt-ib700.so (IB700 watchdog) and its tests (through the SDK test host).

VDEV_WDT_IB700_SO := $(O)/lib/vdm/vdev-wdt-ib700.so
VDEV_WDT_IB700_OBJS := $(O)/plugin/vdevs/wdt-ib700/wdt-ib700.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_WDT_IB700_SO)

$(VDEV_WDT_IB700_SO): $(VDEV_WDT_IB700_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_WDT_IB700_TEST := $(O)/tests/vdevs/wdt-ib700/test_wdt_ib700
UNIT_TESTS += $(VDEV_WDT_IB700_TEST)

$(O)/vdevs/wdt-ib700/tests/test_wdt_ib700.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_WDT_IB700_SO)"'
$(VDEV_WDT_IB700_TEST): $(O)/vdevs/wdt-ib700/tests/test_wdt_ib700.o $(VDEV_TESTHOST_LIB) | $(VDEV_WDT_IB700_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
