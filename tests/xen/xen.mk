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
# devmodel/xl and devmodel/qmp too: libxl's whole device-model flow runs on the double.
XEN_TEST_OBJS := $(O)/tests/xen/test_xen.o $(O)/tests/xen/xen_double.o $(XEN_BACKEND_OBJS) \
	$(XEN_TEST_CORE) $(patsubst %.c,$(O)/%.o,$(sort $(wildcard devmodel/xl/*.c))) $(QMP_OBJS)
XEN_TEST_CMOCKA := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

# the lifecycle test assembles the ser8250 plugin
$(XEN_TEST): $(XEN_TEST_OBJS) $(VDEV_HOST_LIB) $(CONF_LIB) | $(PLUGINS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(XEN_TEST_OBJS) $(VDEV_HOST_LIB) $(CONF_LIB) \
		$(XEN_TEST_CMOCKA) $(QMP_JSON_LIBS) -ldl -lpthread -luuid -lfdt -lseccomp

UNIT_TESTS += $(XEN_TEST)
CHECK_SCRIPTS += tests/xen/no-xen.sh
