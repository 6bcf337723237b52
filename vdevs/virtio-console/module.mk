# vdevs/virtio-console: vdev-virtio-console.so (a virtio console on the
# SDK's virtio helper, sdk/lib/virtio*.c with pci.c and state.c, and the
# host endpoints ser8250 uses, vdevs/common/hostio.c) and its tests
# (through the SDK test host).

VDEV_VIRTIO_CONSOLE_SO := $(O)/lib/vdm/vdev-virtio-console.so
VDEV_VIRTIO_CONSOLE_OBJS := $(O)/plugin/vdevs/virtio-console/virtio-console.o $(O)/plugin/vdevs/common/hostio.o \
	$(O)/plugin/sdk/lib/virtio.o $(O)/plugin/sdk/lib/virtio_queue.o \
	$(O)/plugin/sdk/lib/virtio_worker.o $(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_VIRTIO_CONSOLE_SO)

$(VDEV_VIRTIO_CONSOLE_SO): $(VDEV_VIRTIO_CONSOLE_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^ -lpthread

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_VIRTIO_CONSOLE_TEST := $(O)/tests/vdevs/virtio-console/test_virtio_console
UNIT_TESTS += $(VDEV_VIRTIO_CONSOLE_TEST)

$(O)/vdevs/virtio-console/tests/test_virtio_console.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_VIRTIO_CONSOLE_SO)"' -Itests/unit
$(VDEV_VIRTIO_CONSOLE_TEST): $(O)/vdevs/virtio-console/tests/test_virtio_console.o $(VDEV_TESTHOST_LIB) | $(VDEV_VIRTIO_CONSOLE_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
