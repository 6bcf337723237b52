# devmodel/xen/module.mk: the xen backend's link flags. devmodel/module.mk
# compiles devmodel/xen/*.c into vdm; these are the Debian libxen 4.17
# libraries it calls (xen-ioreq.md 2.1). Tests link the same objects
# against tests/xen/xen_double.c instead (tests/xen/xen.mk).
XEN_PKGS := xendevicemodel xenforeignmemory xenevtchn xentoolcore xenstore xencontrol
XEN_LIBS := $(shell $(PKG_CONFIG) --libs $(XEN_PKGS) 2>/dev/null || \
	echo -lxendevicemodel -lxenforeignmemory -lxenevtchn -lxentoolcore -lxenstore -lxenctrl)
VDM_EXTRA_LIBS += $(XEN_LIBS)
XEN_BACKEND_OBJS := $(patsubst %.c,$(O)/%.o,$(sort $(wildcard devmodel/xen/*.c)))
