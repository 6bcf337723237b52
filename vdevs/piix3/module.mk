# vdevs/piix3: vdev-piix3.so (the PIIX3 ISA bridge at 00:01.0, on the SDK's
# PCI helper and vdevs/common/chipset.c) and its tests (through the SDK test host).

VDEV_PIIX3_SO := $(O)/lib/vdm/vdev-piix3.so
VDEV_PIIX3_OBJS := $(O)/plugin/vdevs/piix3/piix3.o $(O)/plugin/vdevs/common/chipset.o \
	$(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_PIIX3_SO)

$(VDEV_PIIX3_SO): $(VDEV_PIIX3_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_PIIX3_TEST := $(O)/tests/vdevs/piix3/test_piix3
UNIT_TESTS += $(VDEV_PIIX3_TEST)

$(O)/vdevs/piix3/tests/test_piix3.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_DIR='"$(dir $(VDEV_PIIX3_SO))"'
$(VDEV_PIIX3_TEST): $(O)/vdevs/piix3/tests/test_piix3.o $(O)/vdevs/common/tests/chipset_test.o \
		$(VDEV_TESTHOST_LIB) | $(VDEV_PIIX3_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
