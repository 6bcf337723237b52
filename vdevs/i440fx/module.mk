# vdevs/i440fx: vdev-i440fx.so (the 440FX host bridge at 00:00.0, on the SDK's
# PCI helper and vdevs/common/chipset.c) and its tests (through the SDK test host).

VDEV_I440FX_SO := $(O)/lib/vdm/vdev-i440fx.so
VDEV_I440FX_OBJS := $(O)/plugin/vdevs/i440fx/i440fx.o $(O)/plugin/vdevs/common/chipset.o \
	$(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_I440FX_SO)

$(VDEV_I440FX_SO): $(VDEV_I440FX_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_I440FX_TEST := $(O)/tests/vdevs/i440fx/test_i440fx
UNIT_TESTS += $(VDEV_I440FX_TEST)

$(O)/vdevs/i440fx/tests/test_i440fx.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_DIR='"$(dir $(VDEV_I440FX_SO))"'
$(VDEV_I440FX_TEST): $(O)/vdevs/i440fx/tests/test_i440fx.o $(O)/vdevs/common/tests/chipset_test.o \
		$(VDEV_TESTHOST_LIB) | $(VDEV_I440FX_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
