# devmodel/xl/module.mk: vdm as libxl's device model (devmodel/xl/xl_mode.h).
# devmodel/module.mk compiles devmodel/xl/*.c into vdm; this gives them the
# install prefix (where hvm-platform.vmconf is looked up) and installs the
# xl-dm wrapper that device_model_override= names.
$(O)/devmodel/xl/xl_mode.o: CPPFLAGS_ALL += -DVDM_SHARE_DIR='"$(PREFIX)/share/vdm"' \
	-DVDM_VERSION='"$(shell git describe --always --dirty 2>/dev/null || echo 0.1)"'

# The wrapper in the build tree too, so a build can be tried as a device model.
$(O)/lib/vdm/xl-dm: devmodel/xl/xl-dm.in
	@mkdir -p $(@D)
	sed 's|@VDM@|$(abspath $(O))/bin/vdm|' $< >$@
	chmod 0755 $@
BINS += $(O)/lib/vdm/xl-dm

install-xl-dm: devmodel/xl/xl-dm.in
	install -d $(DESTDIR)$(PREFIX)/lib/vdm
	sed 's|@VDM@|$(PREFIX)/bin/vdm|' $< >$(DESTDIR)$(PREFIX)/lib/vdm/xl-dm
	chmod 0755 $(DESTDIR)$(PREFIX)/lib/vdm/xl-dm
.PHONY: install-xl-dm
INSTALL_TARGETS += install-xl-dm
