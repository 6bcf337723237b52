# vdevs/debug-exit: vdev-debug-exit.so and its tests (through the SDK test host).

VDEV_DEBUG_EXIT_SO := $(O)/lib/vdm/vdev-debug-exit.so
VDEV_DEBUG_EXIT_OBJS := $(O)/plugin/vdevs/debug-exit/debug-exit.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_DEBUG_EXIT_SO)

$(VDEV_DEBUG_EXIT_SO): $(VDEV_DEBUG_EXIT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_DEBUG_EXIT_TEST := $(O)/tests/vdevs/debug-exit/test_debug_exit
UNIT_TESTS += $(VDEV_DEBUG_EXIT_TEST)

$(O)/vdevs/debug-exit/tests/test_debug_exit.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_DEBUG_EXIT_SO)"'
$(VDEV_DEBUG_EXIT_TEST): $(O)/vdevs/debug-exit/tests/test_debug_exit.o $(VDEV_TESTHOST_LIB) | $(VDEV_DEBUG_EXIT_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
