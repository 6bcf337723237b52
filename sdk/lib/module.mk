# sdk/lib/module.mk: the SDK's helper code and `make install`.
#
# Helper code (sdk/lib/*.c, headers in sdk/include/vdev/) is compiled into
# each plugin, never linked from the host: in-tree plugins link the
# hidden-visibility objects $(SDK_LIB_PLUGIN_OBJS) (e.g.
# $(O)/plugin/sdk/lib/state.o); out-of-tree plugins compile the installed
# sources through vdev.mk.
#
# make install PREFIX=/usr/local DESTDIR= installs whatever the build made:
#	$(PREFIX)/include/vdev/*.h                  the ABI and helper headers
#	$(PREFIX)/lib/pkgconfig/vdev-sdk.pc         cflags, srcdir, vdevmk, plugindir, conform
#	$(PREFIX)/lib/pkgconfig/vdev-testhost.pc    (with the test host)
#	$(PREFIX)/share/vdev-sdk/vdev.mk            the make fragment plugins include
#	$(PREFIX)/share/vdev-sdk/template/          vdev-template/ to copy (and
#	$(PREFIX)/share/vdev-sdk/template-pci/      vdev-template-pci/), without
#	                                            their in-tree module.mk
#	$(PREFIX)/share/doc/vdev-sdk/               the guide (README.md), PCI.md,
#	                                            VIRTIO.md, conform/README.md and
#	                                            vmscript.md (the .vmscript reference)
#	$(PREFIX)/share/vdev-sdk/src/*.c, *.h       helper sources plugins compile in
#	                                            (and the headers they share)
#	$(PREFIX)/lib/libvdev-testhost.a            self-contained (sdk/testhost/module.mk)
#	$(PREFIX)/bin/vdm, vdev-conform             when in BINS
#	$(PREFIX)/bin/vdev-conform-fuzz             where clang's libFuzzer is
#	$(PREFIX)/lib/vdm/vdev-*.so                 every plugin in PLUGINS

SDK_LIB_SRCS := $(sort $(wildcard sdk/lib/*.c))
SDK_LIB_PRIVATE_HDRS := $(sort $(wildcard sdk/lib/*.h))
SDK_LIB_PLUGIN_OBJS := $(SDK_LIB_SRCS:%.c=$(O)/plugin/%.o)

SDK_ABI_MAJOR := $(shell sed -n 's/^\#define VDEV_ABI_MAJOR[[:space:]]*//p' sdk/include/vdev/vdev.h)
SDK_ABI_MINOR := $(shell sed -n 's/^\#define VDEV_ABI_MINOR[[:space:]]*//p' sdk/include/vdev/vdev.h)
SDK_VERSION := $(SDK_ABI_MAJOR).$(SDK_ABI_MINOR).0

# Libraries a program linked with the installed libvdev-testhost.a needs.
VDEV_TESTHOST_LDLIBS ?= -ldl -lpthread

SDK_PC_SED = -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(SDK_VERSION)|g' \
	-e 's|@ABI_MAJOR@|$(SDK_ABI_MAJOR)|g' -e 's|@ABI_MINOR@|$(SDK_ABI_MINOR)|g' \
	-e 's|@TESTHOST_LIBS@|$(VDEV_TESTHOST_LDLIBS)|g'

# Evaluated when the recipes run, after every fragment was read and the
# build finished: the lists are complete then.
# vdm is installed by devmodel's install-vdm when that exists, else here.
SDK_INSTALL_BINS = $(filter $(O)/bin/vdev-conform $(O)/bin/vdev-conform-fuzz \
	$(if $(filter install-vdm,$(INSTALL_TARGETS)),,$(O)/bin/vdm),$(BINS))
SDK_DEST = $(DESTDIR)$(PREFIX)

INSTALL_TARGETS += install-sdk install-bins
.PHONY: install-bins

install-sdk: all
	install -d $(SDK_DEST)/include/vdev $(SDK_DEST)/lib/pkgconfig \
		$(SDK_DEST)/share/vdev-sdk/src
	install -m 0644 sdk/include/vdev/*.h $(SDK_DEST)/include/vdev/
	install -m 0644 $(SDK_LIB_SRCS) $(SDK_LIB_PRIVATE_HDRS) $(SDK_DEST)/share/vdev-sdk/src/
	install -m 0644 sdk/vdev.mk $(SDK_DEST)/share/vdev-sdk/vdev.mk
	install -d $(SDK_DEST)/share/doc/vdev-sdk/conform
	install -m 0644 sdk/README.md sdk/PCI.md sdk/VIRTIO.md $(SDK_DEST)/share/doc/vdev-sdk/
	install -m 0644 sdk/conform/README.md $(SDK_DEST)/share/doc/vdev-sdk/conform/README.md
	install -m 0644 devmodel/sim/README.md $(SDK_DEST)/share/doc/vdev-sdk/vmscript.md
	rm -rf $(SDK_DEST)/share/vdev-sdk/template $(SDK_DEST)/share/vdev-sdk/template-pci
	for t in template template-pci; do \
		[ -d vdev-$$t ] || continue; \
		(cd vdev-$$t && find . -type f ! -name module.mk ! -path './build/*') | \
		while read -r f; do \
			install -D -m 0644 vdev-$$t/$$f $(SDK_DEST)/share/vdev-sdk/$$t/$$f; \
		done; \
	done
	chmod 0755 $(SDK_DEST)/share/vdev-sdk/template*/ci/*.sh
	sed $(SDK_PC_SED) sdk/vdev-sdk.pc.in > $(SDK_DEST)/lib/pkgconfig/vdev-sdk.pc
	@set -e; \
	if [ -n "$(VDEV_TESTHOST_LIB)" ] && [ -f "$(VDEV_TESTHOST_LIB)" ]; then \
		echo "install $(VDEV_TESTHOST_LIB) -> $(SDK_DEST)/lib/"; \
		install -m 0644 $(VDEV_TESTHOST_LIB) $(SDK_DEST)/lib/libvdev-testhost.a; \
		sed $(SDK_PC_SED) sdk/vdev-testhost.pc.in > $(SDK_DEST)/lib/pkgconfig/vdev-testhost.pc; \
	else \
		echo "install-sdk: no test host library in this build; vdev-testhost.pc not installed"; \
	fi

install-bins: all
	@set -e; \
	if [ -n "$(strip $(SDK_INSTALL_BINS))" ]; then \
		install -d $(SDK_DEST)/bin; \
		echo "install $(SDK_INSTALL_BINS) -> $(SDK_DEST)/bin"; \
		install -m 0755 $(SDK_INSTALL_BINS) $(SDK_DEST)/bin/; \
	fi; \
	if [ -n "$(strip $(PLUGINS))" ]; then \
		install -d $(SDK_DEST)/lib/vdm; \
		echo "install $(notdir $(PLUGINS)) -> $(SDK_DEST)/lib/vdm"; \
		install -m 0755 $(PLUGINS) $(SDK_DEST)/lib/vdm/; \
	fi
