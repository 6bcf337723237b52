# tests/xen-e2e/xen-e2e.mk: vdm on real Xen 4.17 under QEMU emulation.
#  - make test-xen: fetch Debian's Xen, dom0 kernel and busybox (cached in
#    build/xen-e2e/debs), build a dom0 initramfs with vdm, its plugins and
#    the sample guests, boot Xen in qemu-system-x86_64 and run each guest of
#    tests/xen-e2e/guests.list through xl create -p / vdm --domid / xl
#    unpause (tests/xen-e2e/run.sh; console log in build/xen-e2e/<build>/),
#    then each HVM guest of tests/xen-e2e/hvm.list through `xl create` with
#    vdm as its device model (libxl starts lib/vdm/xl-dm) and `xl destroy`.
#  - make test runs the same script (CHECK_SCRIPTS); it skips with the
#    reason when the packages cannot be fetched or QEMU is missing.
# The guests written for it are samples/guests/xen_*.c, built by the
# GUEST_* rules of samples/module.mk (they run on the kvm backend too).

XEN_E2E_GUEST_NAMES := xen_mmio xen_msi xen_smp xen_pass
XEN_E2E_GUEST_ELFS := $(addprefix $(GUEST_DIR)/,$(addsuffix .elf,$(XEN_E2E_GUEST_NAMES)))
GUESTS += $(XEN_E2E_GUEST_ELFS)
.SECONDARY: $(addprefix $(GUEST_DIR)/,$(addsuffix .o,$(XEN_E2E_GUEST_NAMES)))

# The Linux guest's 4 KiB random-read loop (tests/xen-e2e/linux/randread.c):
# a static Linux program for the guest's initramfs, so neither the host's
# CPPFLAGS nor -fPIC
XEN_E2E_RANDREAD := $(GUEST_DIR)/linux-randread
GUESTS += $(XEN_E2E_RANDREAD)
$(XEN_E2E_RANDREAD): tests/xen-e2e/linux/randread.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -static $(WARNINGS) -o $@ $<

XEN_E2E_NEEDS := $(O)/bin/vdm $(addprefix $(O)/lib/vdm/vdev-,$(addsuffix .so,ser8250 debug-exit hpet)) \
	$(addprefix $(GUEST_DIR)/,$(addsuffix .elf,hello irq exitbench $(XEN_E2E_GUEST_NAMES))) \
	$(O)/lib/vdm/vdev-pci-dummy.so $(HVM_BOOT_IMG) $(HVM_BOOT_ROM) $(XEN_E2E_RANDREAD) \
	$(addprefix $(O)/lib/vdm/vdev-,$(addsuffix .so,virtio-blk virtio-entropy))

CHECK_SCRIPTS += tests/xen-e2e/run.sh

.PHONY: test-xen
# 77 is the script's "cannot run here" (it printed SKIP: why): not a failure.
test-xen: $(XEN_E2E_NEEDS)
	@O=$(O) BIN=$(O)/bin PLUGIN_DIR=$(O)/lib/vdm sh tests/xen-e2e/run.sh; rc=$$?; \
		[ $$rc -eq 77 ] && rc=0; exit $$rc
