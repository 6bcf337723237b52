# vdevs/piix4-pm: vdev-piix4-pm.so (PIIX4 power management at 00:01.3, on the SDK's
# PCI helper and vdevs/common/chipset.c) and its tests (through the SDK test host).

VDEV_PIIX4_PM_SO := $(O)/lib/vdm/vdev-piix4-pm.so
VDEV_PIIX4_PM_OBJS := $(O)/plugin/vdevs/piix4-pm/piix4-pm.o $(O)/plugin/vdevs/common/chipset.o \
	$(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_PIIX4_PM_SO)

$(VDEV_PIIX4_PM_SO): $(VDEV_PIIX4_PM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_PIIX4_PM_TEST := $(O)/tests/vdevs/piix4-pm/test_piix4_pm
UNIT_TESTS += $(VDEV_PIIX4_PM_TEST)

$(O)/vdevs/piix4-pm/tests/test_piix4_pm.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_DIR='"$(dir $(VDEV_PIIX4_PM_SO))"'
$(VDEV_PIIX4_PM_TEST): $(O)/vdevs/piix4-pm/tests/test_piix4_pm.o $(O)/vdevs/common/tests/chipset_test.o \
		$(VDEV_TESTHOST_LIB) | $(VDEV_PIIX4_PM_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
