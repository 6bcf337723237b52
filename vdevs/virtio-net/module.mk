# vdevs/virtio-net: vdev-virtio-net.so (a virtio network device on the
# SDK's virtio helper, sdk/lib/virtio*.c with pci.c and state.c: tap and
# peer backends) and its tests (through the SDK test host).

VDEV_VIRTIO_NET_SO := $(O)/lib/vdm/vdev-virtio-net.so
VDEV_VIRTIO_NET_OBJS := $(O)/plugin/vdevs/virtio-net/virtio-net.o \
	$(O)/plugin/sdk/lib/virtio.o $(O)/plugin/sdk/lib/virtio_queue.o \
	$(O)/plugin/sdk/lib/virtio_worker.o $(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_VIRTIO_NET_SO)

$(VDEV_VIRTIO_NET_SO): $(VDEV_VIRTIO_NET_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^ -lpthread

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_VIRTIO_NET_TEST := $(O)/tests/vdevs/virtio-net/test_virtio_net
UNIT_TESTS += $(VDEV_VIRTIO_NET_TEST)

$(O)/vdevs/virtio-net/tests/test_virtio_net.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_VIRTIO_NET_SO)"' -Itests/unit
$(VDEV_VIRTIO_NET_TEST): $(O)/vdevs/virtio-net/tests/test_virtio_net.o $(VDEV_TESTHOST_LIB) | $(VDEV_VIRTIO_NET_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
