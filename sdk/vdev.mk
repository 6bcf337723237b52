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
#	SAN=1              a sanitizer build (ASan+UBSan) in build/san
#	FUZZ=1             a clang build instrumented for `make fuzz` (coverage,
#	                   ASan+UBSan) in build/fuzz
#	BUILD              output directory (default build/release, build/san or
#	                   build/fuzz: flavours never share objects)
#	FUZZ_SECONDS       how long `make fuzz` runs (default 60)
#	PREFIX             install the plugin under $(PREFIX)/lib/vdm instead
#	                   of the SDK's plugin directory; DESTDIR is honoured
#	CC CFLAGS CPPFLAGS LDFLAGS PKG_CONFIG   as usual (CFLAGS defaults to -O2 -g)
#
# Targets: all (the plugin and its tests), test (run the tests), conform
# (run vdev-conform on the plugin), conform-valgrind (its uninitialised-reads
# check under memcheck; says SKIP without valgrind), fuzz (vdev-conform
# --fuzz for FUZZ_SECONDS; best with FUZZ=1; says SKIP when the SDK has no
# fuzzer), install, clean (this flavour's BUILD).
#
# Changing CC, CFLAGS, CPPFLAGS, LDFLAGS or the flavour rebuilds everything
# (they are remembered in $(BUILD)/.flags).
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
CFLAGS ?= -O2 -g
VDEV_WARNINGS ?= -Wall -Wextra
SAN ?= 0
FUZZ ?= 0
FUZZ_SECONDS ?= 60

# The flavour: its own build folder and the flags that make it.
ifeq ($(FUZZ),1)
VDEV_FLAVOUR := fuzz
CC := clang
VDEV_FLAVOUR_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else ifeq ($(SAN),1)
VDEV_FLAVOUR := san
VDEV_FLAVOUR_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
else
VDEV_FLAVOUR := release
VDEV_FLAVOUR_FLAGS :=
endif
BUILD ?= build/$(VDEV_FLAVOUR)

# Objects depend on the flags they were built with: a different CFLAGS or
# flavour rewrites the stamp, and everything is built again.
VDEV_FLAGS_STAMP := $(BUILD)/.flags
VDEV_FLAGS_TEXT := $(CC) | $(CPPFLAGS) | $(CFLAGS) | $(VDEV_FLAVOUR_FLAGS) | $(LDFLAGS)
ifneq ($(file <$(VDEV_FLAGS_STAMP)),$(VDEV_FLAGS_TEXT))
$(shell mkdir -p $(BUILD))
$(file >$(VDEV_FLAGS_STAMP),$(VDEV_FLAGS_TEXT))
endif

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
VDEV_PLUGIN_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -MMD -MP $(VDEV_WARNINGS) \
	$(VDEV_FLAVOUR_FLAGS)
# clang does not link its sanitizer runtimes into a shared object (the
# fuzzer program provides them), so -z defs would refuse a FUZZ=1 plugin.
VDEV_PLUGIN_LDFLAGS := -shared -Wl,-z,now $(if $(filter fuzz,$(VDEV_FLAVOUR)),,-Wl,-z,defs) \
	$(VDEV_FLAVOUR_FLAGS)

.DEFAULT_GOAL := all
.PHONY: all test conform conform-valgrind fuzz install clean

all: $(VDEV_PLUGIN) $(VDEV_TEST_BINS)

$(BUILD)/obj/%.o: %.c $(VDEV_FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VDEV_SDK_CFLAGS) $(VDEV_PLUGIN_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/sdk/%.o: $(VDEV_SDK_SRCDIR)/%.c $(VDEV_FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VDEV_SDK_CFLAGS) $(VDEV_PLUGIN_CFLAGS) $(CFLAGS) -c -o $@ $<

$(VDEV_PLUGIN): $(VDEV_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $(VDEV_PLUGIN_LDFLAGS) -o $@ $^

# Tests: cmocka programs linked with the SDK test host.
VDEV_TESTHOST_CFLAGS = $(shell $(PKG_CONFIG) --cflags vdev-testhost)
VDEV_TESTHOST_LIBS = $(shell $(PKG_CONFIG) --libs vdev-testhost)

$(BUILD)/tests/%: tests/%.c $(VDEV_PLUGIN) $(VDEV_FLAGS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(VDEV_TESTHOST_CFLAGS) -std=gnu11 -MMD -MP $(VDEV_WARNINGS) $(CFLAGS) \
		$(filter-out -fsanitize=fuzzer-no-link%,$(VDEV_FLAVOUR_FLAGS)) \
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

conform-valgrind: $(VDEV_PLUGIN)
	@if [ "$(VDEV_FLAVOUR)" != release ]; then \
		echo "SKIP: memcheck cannot run a sanitizer build (use the release flavour)"; \
	elif ! command -v valgrind >/dev/null 2>&1; then \
		echo "SKIP: valgrind is not installed"; \
	else \
		$(VDEV_CONFORM) $(VDEV_CONFORM_ARGS) --valgrind --only uninitialised-reads \
			$(VDEV_PLUGIN); \
	fi

fuzz: $(VDEV_PLUGIN)
	@mkdir -p $(BUILD)/fuzz-corpus $(BUILD)/fuzz-findings
	@cd $(BUILD)/fuzz-findings && rc=0 && \
		$(VDEV_CONFORM) $(VDEV_CONFORM_ARGS) --fuzz $(FUZZ_SECONDS) \
		--corpus $(abspath $(BUILD)/fuzz-corpus) $(abspath $(VDEV_PLUGIN)) || rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "vdev.mk: fuzz skipped"; exit 0; fi; \
	if [ $$rc -ne 0 ]; then echo "vdev.mk: the fuzzer found something: $(BUILD)/fuzz-findings/"; fi; \
	exit $$rc

install: $(VDEV_PLUGIN)
	install -d $(DESTDIR)$(VDEV_PLUGINDIR)
	install -m 0755 $(VDEV_PLUGIN) $(DESTDIR)$(VDEV_PLUGINDIR)/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
