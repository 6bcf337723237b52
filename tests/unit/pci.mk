# tests/unit/pci.mk: PCI unit tests: the core's host bridge (CF8/CFC
# decoding into pcicfg dispatch, devmodel/pci_host.c, linked with the iomap
# only) and the SDK's PCI helper (sdk/lib/pci.c) in a device linked into the
# test and driven through the SDK test host.

PCI_CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

UNIT_TESTS += $(O)/tests/unit/test_pci_host
$(O)/tests/unit/test_pci_host: $(O)/tests/unit/test_pci_host.o $(O)/devmodel/pci_host.o \
		$(O)/devmodel/iomap.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PCI_CMOCKA_LIBS) -lpthread

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
UNIT_TESTS += $(O)/tests/unit/test_pci_helper
$(O)/tests/unit/test_pci_helper: $(O)/tests/unit/test_pci_helper.o $(O)/sdk/lib/pci.o \
		$(O)/sdk/lib/state.o $(VDEV_TESTHOST_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PCI_CMOCKA_LIBS) -ldl -lpthread
endif
