# tests/unit/core.mk: unit tests of the vdm core (devmodel/): dispatch,
# interrupt registry, guest memory, VM assembly. They link the core objects
# directly (not vdm's main or the backends), so they build while other parts
# of devmodel/ are being written.

CORE_CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

$(O)/tests/unit/test_iomap: $(O)/tests/unit/test_iomap.o $(O)/devmodel/iomap.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CORE_CMOCKA_LIBS) -lpthread

$(O)/tests/unit/test_irq: $(O)/tests/unit/test_irq.o $(O)/devmodel/irq.o $(CONF_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CORE_CMOCKA_LIBS) -lpthread

$(O)/tests/unit/test_guest_mem: $(O)/tests/unit/test_guest_mem.o $(O)/devmodel/guest_mem.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CORE_CMOCKA_LIBS)

$(O)/tests/unit/test_evloop: $(O)/tests/unit/test_evloop.o $(O)/devmodel/evloop.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CORE_CMOCKA_LIBS) -lpthread

# VM assembly: the whole core plus the plugin loader; the test plugins of
# tests/unit/sdkhost.mk (vdev-good.so; named here because that fragment is
# read after this one) are what it assembles.
$(O)/tests/unit/test_vm: $(O)/tests/unit/test_vm.o $(VDM_CORE_OBJS) $(VDEV_HOST_LIB) $(CONF_LIB) \
		| $(O)/tests/unit/plugins/vdev-good.so
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(O)/tests/unit/test_vm.o $(VDM_CORE_OBJS) $(VDEV_HOST_LIB) \
		$(CONF_LIB) $(CORE_CMOCKA_LIBS) -ldl -lpthread -luuid -lseccomp

UNIT_TESTS += $(patsubst %.c,$(O)/%,$(wildcard tests/unit/test_iomap.c tests/unit/test_irq.c \
	tests/unit/test_guest_mem.c tests/unit/test_evloop.c tests/unit/test_vm.c))
