# vdev.mk: build, test, check and install one vdm plugin against an installed
# vdev SDK. Installed as $(PREFIX)/share/vdev-sdk/vdev.mk; a plugin's Makefile
# sets a few variables and includes it (the SDK guide, sdk/README.md,
# section 1; vdev-template/Makefile is a complete example):
#
#	VDEV_NAME    := ticker              # builds vdev-ticker.so
#	VDEV_SOURCES := src/ticker.c
#	VDEV_TESTS   := tests/test_ticker.c # cmocka, one executable each
#	include $(shell pkg-config --variable=vdevmk vdev-sdk)
#
# Optional inputs:
#	VDEV_SDK_HELPERS   SDK helper sources compiled into the plugin, by
#	                   base name (default: every one the SDK ships, e.g. state)
#	VDEV_CONFORM_ARGS  extra arguments for vdev-conform
#	VDEV_WARNINGS      warning flags (default -Wall -Wextra)
#	BUILD              output directory (default build)
#	PREFIX             install the plugin under $(PREFIX)/lib/vdm instead
#	                   of the SDK's plugin directory; DESTDIR is honoured
#	CC CFLAGS CPPFLAGS LDFLAGS PKG_CONFIG   as usual (CFLAGS defaults to -O2 -g)
#
# Targets: all (the plugin and its tests), test (run the tests), conform
# (run vdev-conform on the plugin), install, clean.
#
# Tests get the plugin's path twice: compiled in as VDEV_PLUGIN_FILE, and in
# the environment as VDEV_PLUGIN when `make test` runs them.

ifndef VDEV_NAME
$(error vdev.mk: set VDEV_NAME (the device name, [a-z0-9-]+) before including vdev.mk)
endif
ifndef VDEV_SOURCES
$(error vdev.mk: set VDEV_SOURCES (the plugin's C sources) before including vdev.mk)
endif

PKG_CONFIG ?= pkg-config
CC ?= cc
CFLAGS ?= -O2 -g
BUILD ?= build
VDEV_WARNINGS ?= -Wall -Wextra

VDEV_SDK_CFLAGS := $(shell $(PKG_CONFIG) --cflags vdev-sdk 2>/dev/null)
VDEV_SDK_SRCDIR := $(shell $(PKG_CONFIG) --variable=srcdir vdev-sdk 2>/dev/null)
ifeq ($(VDEV_SDK_SRCDIR),)
$(error vdev.mk: pkg-config cannot find vdev-sdk; install the SDK (make install PREFIX=DIR in the vdm tree) and set PKG_CONFIG_PATH=DIR/lib/pkgconfig)
endif
VDEV_CONFORM ?= $(shell $(PKG_CONFIG) --variable=conform vdev-sdk)
ifdef PREFIX
VDEV_PLUGINDIR ?= $(PREFIX)/lib/vdm
else
VDEV_PLUGINDIR ?= $(shell $(PKG_CONFIG) --variable=plugindir vdev-sdk)
endif

VDEV_SDK_HELPERS ?= $(basename $(notdir $(wildcard $(VDEV_SDK_SRCDIR)/*.c)))

VDEV_PLUGIN := $(BUILD)/vdev-$(VDEV_NAME).so
VDEV_OBJS := $(VDEV_SOURCES:%.c=$(BUILD)/obj/%.o) $(VDEV_SDK_HELPERS:%=$(BUILD)/sdk/%.o)
VDEV_TEST_BINS := $(VDEV_TESTS:%.c=$(BUILD)/%)

# Plugins: position independent, everything hidden but the entry symbol
# (VDEV_PLUGIN_ENTRY), no undefined symbols (a plugin links against nothing
# of the host), bound at load time so a missing symbol fails at dlopen.
VDEV_PLUGIN_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -MMD -MP $(VDEV_WARNINGS)
VDEV_PLUGIN_LDFLAGS := -shared -Wl,-z,defs -Wl,-z,now

.DEFAULT_GOAL := all
.PHONY: all test conform install clean

all: $(VDEV_PLUGIN) $(VDEV_TEST_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VDEV_SDK_CFLAGS) $(VDEV_PLUGIN_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/sdk/%.o: $(VDEV_SDK_SRCDIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VDEV_SDK_CFLAGS) $(VDEV_PLUGIN_CFLAGS) $(CFLAGS) -c -o $@ $<

$(VDEV_PLUGIN): $(VDEV_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(VDEV_PLUGIN_LDFLAGS) -o $@ $^

# Tests: cmocka programs linked with the SDK test host.
VDEV_TESTHOST_CFLAGS = $(shell $(PKG_CONFIG) --cflags vdev-testhost)
VDEV_TESTHOST_LIBS = $(shell $(PKG_CONFIG) --libs vdev-testhost)

$(BUILD)/tests/%: tests/%.c $(VDEV_PLUGIN)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VDEV_TESTHOST_CFLAGS) -std=gnu11 -MMD -MP $(VDEV_WARNINGS) $(CFLAGS) \
		-DVDEV_PLUGIN_FILE='"$(abspath $(VDEV_PLUGIN))"' \
		$(LDFLAGS) -o $@ $< $(VDEV_TESTHOST_LIBS) -lcmocka

test: all
	@failed=0; for t in $(VDEV_TEST_BINS); do \
		echo "== $$t"; \
		VDEV_PLUGIN=$(abspath $(VDEV_PLUGIN)) $$t || failed=1; \
	done; \
	if [ $$failed -ne 0 ]; then echo "vdev.mk: tests failed"; exit 1; fi

conform: $(VDEV_PLUGIN)
	@if [ ! -x "$(VDEV_CONFORM)" ]; then \
		echo "vdev.mk: vdev-conform not found at '$(VDEV_CONFORM)' (install the SDK with it)"; \
		exit 1; \
	fi
	$(VDEV_CONFORM) $(VDEV_CONFORM_ARGS) $(VDEV_PLUGIN)

install: $(VDEV_PLUGIN)
	install -d $(DESTDIR)$(VDEV_PLUGINDIR)
	install -m 0755 $(VDEV_PLUGIN) $(DESTDIR)$(VDEV_PLUGINDIR)/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
