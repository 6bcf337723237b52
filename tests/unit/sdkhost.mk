# tests/unit/sdkhost.mk: unit tests of the SDK's host side (sdk/host) and of
# the test host (sdk/testhost), with tiny plugins built for the loader tests.

SDKHOST_PLUGIN_DIR := $(O)/tests/unit/plugins
# Each a deliberately wrong descriptor (tests/unit/plugins/bad-desc.c with
# -DBAD_<variant>), plus "ok", the same file without a mistake.
SDKHOST_BAD_VARIANTS := ok abi2 short name-upper name-empty misnamed noversion flags \
	intc-noops intc-noset noops nocreate sizes-empty sizes-bad opt-empty opt-dup \
	opt-badname opt-common opt-type opt-flags enum-nochoices noarg-nonbool default-bad \
	default-range default-choice
SDKHOST_TEST_PLUGINS := $(SDKHOST_PLUGIN_DIR)/vdev-good.so $(SDKHOST_PLUGIN_DIR)/vdev-noentry.so \
	$(SDKHOST_PLUGIN_DIR)/vdev-nulldesc.so $(SDKHOST_PLUGIN_DIR)/vdev-unresolved.so \
	$(SDKHOST_BAD_VARIANTS:%=$(SDKHOST_PLUGIN_DIR)/vdev-bad-%.so)

# Keep the objects (they are intermediate files of a pattern chain).
.SECONDARY: $(patsubst $(SDKHOST_PLUGIN_DIR)/vdev-%.so,$(O)/plugin/tests/unit/plugins/%.o,\
	$(SDKHOST_TEST_PLUGINS))

SDKHOST_BAD_OBJS := $(SDKHOST_BAD_VARIANTS:%=$(O)/plugin/tests/unit/plugins/bad-%.o)
# A static pattern: only these targets, so no other file looks buildable from bad-desc.c.
$(SDKHOST_BAD_OBJS): $(O)/plugin/tests/unit/plugins/bad-%.o: tests/unit/plugins/bad-desc.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(PLUGIN_CFLAGS) -DBAD_NAME='"bad-$*"' \
		-DBAD_$(subst -,_,$*) -c -o $@ $<

$(filter-out %/vdev-unresolved.so,$(SDKHOST_TEST_PLUGINS)): \
		$(SDKHOST_PLUGIN_DIR)/vdev-%.so: $(O)/plugin/tests/unit/plugins/%.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $<

# This one must fail to load: it is linked without -z defs.
$(SDKHOST_PLUGIN_DIR)/vdev-unresolved.so: $(O)/plugin/tests/unit/plugins/unresolved.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -shared -o $@ $<

SDKHOST_LIBS := $(VDEV_HOST_LIB) $(CONF_LIB) -ldl -lpthread

$(O)/tests/unit/test_plugin_load: $(O)/tests/unit/test_plugin_load.o $(VDEV_HOST_LIB) $(CONF_LIB) \
		| $(SDKHOST_TEST_PLUGINS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(SDKHOST_LIBS) -lcmocka

$(O)/tests/unit/test_options: $(O)/tests/unit/test_options.o $(VDEV_HOST_LIB) $(CONF_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(SDKHOST_LIBS) -lcmocka

# The test host is linked the way a third party links it: one archive.
$(O)/tests/unit/test_testhost: $(O)/tests/unit/test_testhost.o $(VDEV_TESTHOST_LIB) \
		| $(SDKHOST_TEST_PLUGINS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(VDEV_TESTHOST_LIB) -ldl -lpthread -lcmocka

UNIT_TESTS += $(O)/tests/unit/test_plugin_load $(O)/tests/unit/test_options \
	$(O)/tests/unit/test_testhost
CHECK_SCRIPTS += tests/unit/plugin-exports.sh
