# vdev-template-pci/module.mk: the PCI template built in-tree with the
# tree's rules (as vdev-template/module.mk does for the ticker): `make`
# covers it, run-intree.sh runs vdev-conform on it, and its tests run.
# Authors who copy it use its Makefile instead; this file stays behind.

VDEV_PCIDMA_SO := $(O)/lib/vdm/vdev-pcidma.so
VDEV_PCIDMA_OBJS := $(O)/plugin/vdev-template-pci/src/pcidma.o $(O)/plugin/sdk/lib/pci.o \
	$(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_PCIDMA_SO)

$(VDEV_PCIDMA_SO): $(VDEV_PCIDMA_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_PCIDMA_TEST := $(O)/vdev-template-pci/tests/test_pcidma
ifneq ($(wildcard sdk/testhost/module.mk),)
UNIT_TESTS += $(VDEV_PCIDMA_TEST)
endif

$(O)/vdev-template-pci/tests/test_pcidma.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_FILE='"$(VDEV_PCIDMA_SO)"'
$(VDEV_PCIDMA_TEST): $(O)/vdev-template-pci/tests/test_pcidma.o $(VDEV_TESTHOST_LIB) | $(VDEV_PCIDMA_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
