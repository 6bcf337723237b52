# devmodel/: the vdm executable. Every .c file under devmodel/ (one level of
# sub-folders: kvm/, sim/, xen/, ...) is part of vdm, except files named
# *_test*; other engineers add files here by convention, not by editing
# this fragment.
VDM_SRCS := $(filter-out %_test.c %_test_%.c,$(sort $(wildcard devmodel/*.c devmodel/*/*.c)))
VDM_OBJS := $(VDM_SRCS:%.c=$(O)/%.o)
VDM_LIBS := -ldl -lpthread -luuid -lfdt -lseccomp
# Backends may need more: they add to VDM_EXTRA_LIBS in their own fragment.
VDM_EXTRA_LIBS ?=
# The Xen backend's libraries, whenever devmodel/xen/ has sources (Debian's
# libxen-dev ships their .pc files).
ifneq ($(wildcard devmodel/xen/*.c),)
VDM_XEN_LIBS := $(shell $(PKG_CONFIG) --libs xendevicemodel xenforeignmemory xenevtchn \
	xencontrol xenstore xentoolcore 2>/dev/null)
endif

# The core objects without main() and without backends: what unit tests link.
VDM_CORE_SRCS := devmodel/log.c devmodel/iomap.c devmodel/irq.c devmodel/guest_mem.c \
	devmodel/evloop.c devmodel/backend.c devmodel/plugin_host.c devmodel/vm.c \
	devmodel/control.c devmodel/request.c devmodel/pci_host.c devmodel/pci_host_attach.c \
	devmodel/teardown_guard.c devmodel/set_vars.c devmodel/dump.c devmodel/isolate.c \
	devmodel/lockdown.c
VDM_CORE_OBJS := $(VDM_CORE_SRCS:%.c=$(O)/%.o)

# The install dir compiled into main.c (plugin search path).
$(O)/devmodel/main.o: CPPFLAGS_ALL += -DVDM_PLUGIN_INSTALL_DIR='"$(PREFIX)/lib/vdm"' \
	-DVDM_VERSION='"$(shell git describe --always --dirty 2>/dev/null || echo 0.1)"'

$(O)/bin/vdm: $(VDM_OBJS) $(VDEV_HOST_LIB) $(CONF_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(VDM_OBJS) $(VDEV_HOST_LIB) $(CONF_LIB) \
		$(VDM_EXTRA_LIBS) $(VDM_XEN_LIBS) $(VDM_LIBS)

BINS += $(O)/bin/vdm

install-vdm: $(O)/bin/vdm
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/vdm
	install -m 0755 $(O)/bin/vdm $(DESTDIR)$(PREFIX)/bin/vdm
.PHONY: install-vdm
INSTALL_TARGETS += install-vdm
