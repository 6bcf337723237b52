# tests/xen/xen.mk: the xen backend without Xen.
#  - test_xen: the backend objects (devmodel/xen/*.o) and the vdm core linked
#    with tests/xen/xen_double.c, a test double of the Xen libraries with the
#    Debian 4.17 signatures, instead of libxen*: call order of xen-ioreq.md 7.
#  - no-xen.sh: the real vdm (linked against Debian's libxen) exits 64 naming
#    /dev/xen/privcmd on a host without Xen.
XEN_TEST := $(O)/tests/xen/test_xen
# Every top-level devmodel object but main (the core grows files; the other
# backends' folders are left out).
XEN_TEST_CORE := $(patsubst %.c,$(O)/%.o,$(filter-out devmodel/main.c,$(sort $(wildcard devmodel/*.c))))
XEN_TEST_OBJS := $(O)/tests/xen/test_xen.o $(O)/tests/xen/xen_double.o $(XEN_BACKEND_OBJS) \
	$(XEN_TEST_CORE)
XEN_TEST_CMOCKA := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

$(XEN_TEST): $(XEN_TEST_OBJS) $(VDEV_HOST_LIB) $(CONF_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(XEN_TEST_OBJS) $(VDEV_HOST_LIB) $(CONF_LIB) \
		$(XEN_TEST_CMOCKA) -ldl -lpthread -luuid -lfdt -lseccomp

UNIT_TESTS += $(XEN_TEST)
CHECK_SCRIPTS += tests/xen/no-xen.sh
