# devmodel/kvm/module.mk: the KVM VM engine and the guest loader, as one
# static library the kvm backend glue (and tests/kvm) link against.
#   $(O)/lib/libvdmkvm.a: devmodel/kvm/kvm_vm.c devmodel/guest_loader.c

KVM_ENGINE_OBJS := $(O)/devmodel/kvm/kvm_vm.o
GUEST_LOADER_OBJS := $(O)/devmodel/guest_loader.o
KVM_LIB := $(O)/lib/libvdmkvm.a

$(KVM_LIB): $(KVM_ENGINE_OBJS) $(GUEST_LOADER_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^
