# tests/kvm/kvm.mk: the KVM engine and the guest loader.
#   test_kvm_guests: every sample guest on /dev/kvm through devmodel/kvm and
#                    dm_request_execute (skips with 77 without usable KVM).
#   test_guest_loader: cmocka unit test of devmodel/guest_loader.c.
#   qemu-guests.sh: the same guest ELFs on QEMU -M microvm (baseline).
#   vdm-kvm-guests.sh: the whole vdm on the kvm backend with ser8250 and
#                      debug-exit plugins.

KVM_TEST_GUESTS := $(addprefix $(O)/guests/,hello.elf irq.elf inject.elf exitbench.elf \
	pic-pit.elf ioapic-pit.elf isa-pit.elf uart.elf rtc.elf)
KVM_CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

UNIT_TESTS += $(O)/tests/kvm/test_kvm_guests $(O)/tests/kvm/test_guest_loader
CHECK_SCRIPTS += tests/kvm/qemu-guests.sh tests/kvm/vdm-kvm-guests.sh tests/kvm/dump.sh

# The guests are built before the test that boots them, so `make check`
# never runs it against stale or missing images.
$(O)/tests/kvm/test_kvm_guests: $(O)/tests/kvm/test_kvm_guests.o $(KVM_LIB) \
		$(O)/devmodel/request.o $(CONF_LIB) | $(KVM_TEST_GUESTS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(O)/tests/kvm/test_kvm_guests.o $(KVM_LIB) \
		$(O)/devmodel/request.o $(CONF_LIB) -lpthread -lrt

$(O)/tests/kvm/test_guest_loader: $(O)/tests/kvm/test_guest_loader.o $(GUEST_LOADER_OBJS) $(CONF_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(KVM_CMOCKA_LIBS)
