# vdevs/shmem: vdev-shmem.so (named shared memory between VMs with a
# doorbell, on the SDK PCI helper) and its tests (through the SDK test
# host, two instances sharing objects in /dev/shm).

VDEV_SHMEM_SO := $(O)/lib/vdm/vdev-shmem.so
VDEV_SHMEM_OBJS := $(O)/plugin/vdevs/shmem/shmem.o $(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_SHMEM_SO)

$(VDEV_SHMEM_SO): $(VDEV_SHMEM_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

ifneq ($(wildcard sdk/testhost/module.mk),)
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_SHMEM_TEST := $(O)/tests/vdevs/shmem/test_shmem
UNIT_TESTS += $(VDEV_SHMEM_TEST)

$(O)/vdevs/shmem/tests/test_shmem.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_PATH='"$(VDEV_SHMEM_SO)"'
$(VDEV_SHMEM_TEST): $(O)/vdevs/shmem/tests/test_shmem.o $(VDEV_TESTHOST_LIB) | $(VDEV_SHMEM_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
endif
