# vdev-template/module.mk: the template built in-tree with the tree's rules.
#
# The same sources the standalone Makefile builds against an installed SDK,
# here compiled with the tree's warnings (and sanitizers with SAN=1), so that
# `make` covers the template and vdev-conform's run over every in-tree plugin
# includes it. Authors who copy the template use vdev-template/Makefile
# instead; this file stays behind.

VDEV_TICKER_SO := $(O)/lib/vdm/vdev-ticker.so
VDEV_TICKER_OBJS := $(O)/plugin/vdev-template/src/ticker.o $(O)/plugin/sdk/lib/state.o
PLUGINS += $(VDEV_TICKER_SO)

$(VDEV_TICKER_SO): $(VDEV_TICKER_OBJS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^

# The template's cmocka tests, through the SDK test host (the library comes
# from sdk/testhost/module.mk, read after this file: hence the default).
VDEV_TESTHOST_LIB ?= $(O)/lib/libvdev-testhost.a
VDEV_TICKER_TEST := $(O)/vdev-template/tests/test_ticker
ifneq ($(wildcard sdk/testhost/module.mk),)
UNIT_TESTS += $(VDEV_TICKER_TEST)
endif

$(O)/vdev-template/tests/test_ticker.o: CPPFLAGS_ALL += -DVDEV_PLUGIN_FILE='"$(VDEV_TICKER_SO)"'
$(VDEV_TICKER_TEST): $(O)/vdev-template/tests/test_ticker.o $(VDEV_TESTHOST_LIB) | $(VDEV_TICKER_SO)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -lcmocka -ldl -lpthread
