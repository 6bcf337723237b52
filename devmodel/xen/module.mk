# devmodel/xen/module.mk: the xen backend. devmodel/module.mk compiles
# devmodel/xen/*.c into vdm and links Debian's libxen 4.17 libraries
# (VDM_XEN_LIBS there: xendevicemodel xenforeignmemory xenevtchn xencontrol
# xenstore xentoolcore, xen-ioreq.md 2.1). Tests link the same objects
# against tests/xen/xen_double.c instead of those libraries (tests/xen/xen.mk).
XEN_BACKEND_OBJS := $(patsubst %.c,$(O)/%.o,$(sort $(wildcard devmodel/xen/*.c)))
