# vdevs/xen-platform: vdev-xen-platform.so (the Xen platform device 5853:0001, on the SDK's
# PCI helper and vdevs/common/chipset.c) and its tests (through the SDK test host).

VDEV_XEN_PLATFORM_SO := $(O)/lib/vdm/vdev-xen-platform.so
VDEV_XEN_PLATFORM_OBJS := $(O)/plugin/vdevs/xen-platform/xen-platform.o $(O)/plugin/vdevs/common/chipset.o \
	$(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_XEN_PLATFORM_SO)

$(VDEV_XEN_PLATFORM_SO): $(VDEV_XEN_PLATFORM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_XEN_PLATFORM_TEST := $(O)/tests/vdevs/xen-platform/test_xen_platform
UNIT_TESTS += $(VDEV_XEN_PLATFORM_TEST)

$(O)/vdevs/xen-platform/tests/test_xen_platform.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_DIR='"$(dir $(VDEV_XEN_PLATFORM_SO))"'
$(VDEV_XEN_PLATFORM_TEST): $(O)/vdevs/xen-platform/tests/test_xen_platform.o $(O)/vdevs/common/tests/chipset_test.o \
		$(VDEV_TESTHOST_LIB) | $(VDEV_XEN_PLATFORM_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
