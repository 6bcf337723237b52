# vdevs/pci-dummy: vdev-pci-dummy.so (a placeholder PCI function, built on the
# SDK's PCI helper sdk/lib/pci.c) and its tests (through the SDK test host).

VDEV_PCI_DUMMY_SO := $(O)/lib/vdm/vdev-pci-dummy.so
VDEV_PCI_DUMMY_OBJS := $(O)/plugin/vdevs/pci-dummy/pci-dummy.o $(O)/plugin/sdk/lib/pci.o \
	$(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_PCI_DUMMY_SO)

$(VDEV_PCI_DUMMY_SO): $(VDEV_PCI_DUMMY_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The tests need the SDK test host; skip them in a tree that lacks it.
ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_PCI_DUMMY_TEST := $(O)/tests/vdevs/pci-dummy/test_pci_dummy
UNIT_TESTS += $(VDEV_PCI_DUMMY_TEST)

$(O)/vdevs/pci-dummy/tests/test_pci_dummy.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_PCI_DUMMY_SO)"'
$(VDEV_PCI_DUMMY_TEST): $(O)/vdevs/pci-dummy/tests/test_pci_dummy.o $(VDEV_TESTHOST_LIB) | $(VDEV_PCI_DUMMY_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
