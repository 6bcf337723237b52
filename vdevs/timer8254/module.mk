# vdevs/timer8254: vdev-timer8254.so (Intel 8254 PIT) and its tests (through the SDK test host).

VDEV_TIMER8254_SO := $(O)/lib/vdm/vdev-timer8254.so
VDEV_TIMER8254_OBJS := $(O)/plugin/vdevs/timer8254/timer8254.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_TIMER8254_SO)

$(VDEV_TIMER8254_SO): $(VDEV_TIMER8254_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_TIMER8254_TEST := $(O)/tests/vdevs/timer8254/test_timer8254
UNIT_TESTS += $(VDEV_TIMER8254_TEST)

$(O)/vdevs/timer8254/tests/test_timer8254.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_TIMER8254_SO)"'
$(VDEV_TIMER8254_TEST): $(O)/vdevs/timer8254/tests/test_timer8254.o $(VDEV_TESTHOST_LIB) | $(VDEV_TIMER8254_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
