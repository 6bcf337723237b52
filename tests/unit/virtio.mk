# tests/unit/virtio.mk: the SDK's virtio helper (sdk/lib/virtio*.c with the
# PCI helper and the state codec) in a device linked into the test and
# driven through the SDK test host, whose RAM holds the rings.

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
UNIT_TESTS += $(O)/tests/unit/test_virtio
$(O)/tests/unit/test_virtio: $(O)/tests/unit/test_virtio.o $(O)/sdk/lib/virtio.o \
		$(O)/sdk/lib/virtio_queue.o $(O)/sdk/lib/virtio_worker.o $(O)/sdk/lib/pci.o \
		$(O)/sdk/lib/state.o $(VDEV_TESTHOST_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka) -ldl -lpthread
endif
