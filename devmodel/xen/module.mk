# devmodel/xen/module.mk: the xen backend. devmodel/module.mk compiles
# devmodel/xen/*.c into vdm and links Debian's libxen 4.17 libraries
# (VDM_XEN_LIBS there: xendevicemodel xenforeignmemory xenevtchn xencontrol
# xenstore xentoolcore, xen-ioreq.md 2.1). Tests link the same objects
# against tests/xen/xen_double.c instead of those libraries (tests/xen/xen.mk).
XEN_BACKEND_OBJS := $(patsubst %.c,$(O)/%.o,$(sort $(wildcard devmodel/xen/*.c)))

# The HVM platform fragment (devmodel/xen/hvm-platform.vmconf): copied into
# the build tree ($(O)/share/vdm, where vdm's xl mode looks next to its
# binary) and installed to $(PREFIX)/share/vdm.
HVM_PLATFORM_VMCONF := $(O)/share/vdm/hvm-platform.vmconf
$(HVM_PLATFORM_VMCONF): devmodel/xen/hvm-platform.vmconf
	@mkdir -p $(@D)
	cp $< $@
BINS += $(HVM_PLATFORM_VMCONF)

install-hvm-platform: devmodel/xen/hvm-platform.vmconf
	install -d $(DESTDIR)$(PREFIX)/share/vdm
	install -m 0644 $< $(DESTDIR)$(PREFIX)/share/vdm/hvm-platform.vmconf
.PHONY: install-hvm-platform
INSTALL_TARGETS += install-hvm-platform
