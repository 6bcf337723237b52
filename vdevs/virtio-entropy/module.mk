# vdevs/virtio-entropy: vdev-virtio-entropy.so (virtio-rng on the SDK's
# virtio helper, sdk/lib/virtio*.c with pci.c and state.c) and its tests
# (through the SDK test host).

VDEV_VIRTIO_ENTROPY_SO := $(O)/lib/vdm/vdev-virtio-entropy.so
VDEV_VIRTIO_ENTROPY_OBJS := $(O)/plugin/vdevs/virtio-entropy/virtio-entropy.o \
	$(O)/plugin/sdk/lib/virtio.o $(O)/plugin/sdk/lib/virtio_queue.o \
	$(O)/plugin/sdk/lib/virtio_worker.o $(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_VIRTIO_ENTROPY_SO)

$(VDEV_VIRTIO_ENTROPY_SO): $(VDEV_VIRTIO_ENTROPY_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^ -lpthread

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_VIRTIO_ENTROPY_TEST := $(O)/tests/vdevs/virtio-entropy/test_virtio_entropy
UNIT_TESTS += $(VDEV_VIRTIO_ENTROPY_TEST)

$(O)/vdevs/virtio-entropy/tests/test_virtio_entropy.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_VIRTIO_ENTROPY_SO)"' -Itests/unit
$(VDEV_VIRTIO_ENTROPY_TEST): $(O)/vdevs/virtio-entropy/tests/test_virtio_entropy.o $(VDEV_TESTHOST_LIB) | $(VDEV_VIRTIO_ENTROPY_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
