# tests/conformance: vdev-conform's own tests.
#
#   $(O)/tests/conformance/vdev-conform-ref.so           the reference device
#                                                         (refdev.c): all pass
#   $(O)/tests/conformance/broken/vdev-broken-NAME.so     one defect each
#                                                         (broken/NAME.c)
#   check-broken.sh   each broken plugin fails exactly the check named in
#                     its source, the reference passes everything
#   run-intree.sh     vdev-conform on every plugin in $PLUGIN_DIR
#
# The fixtures are not in PLUGINS: they must never be installed or found
# by `vdev NAME`.
CONFORM_FIXTURE_DIR := $(O)/tests/conformance
CONFORM_REFDEV_OBJ := $(O)/plugin/tests/conformance/refdev.o
CONFORM_REF_SO := $(CONFORM_FIXTURE_DIR)/vdev-conform-ref.so
CONFORM_BROKEN_SRCS := $(sort $(wildcard tests/conformance/broken/*.c))
CONFORM_BROKEN_SOS := $(patsubst tests/conformance/broken/%.c,$(CONFORM_FIXTURE_DIR)/broken/vdev-broken-%.so,$(CONFORM_BROKEN_SRCS))
CONFORM_REFPCI_SO := $(CONFORM_FIXTURE_DIR)/vdev-conform-refpci.so
# The PCI reference (refpci.c) and the fixtures made from it (broken/pci-*.c)
# are built on the SDK's PCI helper and state codec.
CONFORM_REFPCI_OBJS := $(O)/plugin/tests/conformance/refpci.o $(O)/plugin/sdk/lib/pci.o \
	$(O)/plugin/sdk/lib/state.o
CONFORM_PCI_BROKEN_SOS := $(filter $(CONFORM_FIXTURE_DIR)/broken/vdev-broken-pci-%,$(CONFORM_BROKEN_SOS))
CONFORM_FIXTURES := $(CONFORM_REF_SO) $(CONFORM_REFPCI_SO) $(CONFORM_BROKEN_SOS)

CHECK_SCRIPTS += tests/conformance/check-broken.sh tests/conformance/run-intree.sh

all: $(CONFORM_FIXTURES)

CONFORM_FIXTURE_LDFLAGS = $(PLUGIN_LDFLAGS)
# The load-rtld-now fixture needs an undefined symbol, which -z defs forbids.
$(CONFORM_FIXTURE_DIR)/broken/vdev-broken-undefined-symbol.so: CONFORM_FIXTURE_LDFLAGS = -shared

$(CONFORM_REF_SO): $(O)/plugin/tests/conformance/conform-ref.o $(CONFORM_REFDEV_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(CONFORM_FIXTURE_LDFLAGS) -o $@ $^

$(CONFORM_REFPCI_SO): $(O)/plugin/tests/conformance/conform-refpci.o $(CONFORM_REFPCI_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(CONFORM_FIXTURE_LDFLAGS) -o $@ $^

$(CONFORM_PCI_BROKEN_SOS): $(CONFORM_REFPCI_OBJS)

$(CONFORM_FIXTURE_DIR)/broken/vdev-broken-%.so: $(O)/plugin/tests/conformance/broken/%.o $(CONFORM_REFDEV_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(CONFORM_FIXTURE_LDFLAGS) -o $@ $^ -lpthread

# The virtio fixture is built on the SDK's virtio helper.
$(CONFORM_FIXTURE_DIR)/broken/vdev-broken-virtio-late-write.so: $(O)/plugin/sdk/lib/virtio.o \
	$(O)/plugin/sdk/lib/virtio_queue.o $(O)/plugin/sdk/lib/virtio_worker.o \
	$(O)/plugin/sdk/lib/pci.o $(O)/plugin/sdk/lib/state.o

# Keep the fixtures' objects (pattern-rule intermediates) for incremental builds.
.PRECIOUS: $(O)/plugin/tests/conformance/broken/%.o
