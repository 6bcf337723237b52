# vdevs/virtio-blk: vdev-virtio-blk.so (a virtio block device on the SDK's
# virtio helper, sdk/lib/virtio*.c with pci.c and state.c) and its tests
# (through the SDK test host, on image files in a temporary directory; the
# test exports its pread so that the plugin's reads can be stalled).

VDEV_VIRTIO_BLK_SO := $(O)/lib/vdm/vdev-virtio-blk.so
VDEV_VIRTIO_BLK_OBJS := $(O)/plugin/vdevs/virtio-blk/virtio-blk.o $(O)/plugin/vdevs/virtio-blk/uring.o \
	$(O)/plugin/sdk/lib/virtio.o $(O)/plugin/sdk/lib/virtio_queue.o \
	$(O)/plugin/sdk/lib/virtio_worker.o $(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_VIRTIO_BLK_SO)

$(VDEV_VIRTIO_BLK_SO): $(VDEV_VIRTIO_BLK_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^ -lpthread

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_VIRTIO_BLK_TEST := $(O)/tests/vdevs/virtio-blk/test_virtio_blk
UNIT_TESTS += $(VDEV_VIRTIO_BLK_TEST)

$(O)/vdevs/virtio-blk/tests/test_virtio_blk.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_VIRTIO_BLK_SO)"' -Itests/unit
$(VDEV_VIRTIO_BLK_TEST): $(O)/vdevs/virtio-blk/tests/test_virtio_blk.o $(VDEV_TESTHOST_LIB) | $(VDEV_VIRTIO_BLK_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -Wl,--export-dynamic-symbol=pread -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
