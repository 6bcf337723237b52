# tests/unit/control.mk: the control socket against a local attacker
# (devmodel/control.c with the core, a VM without a backend).
$(O)/tests/unit/test_control: $(O)/tests/unit/test_control.o $(VDM_CORE_OBJS) $(VDEV_HOST_LIB) \
		$(CONF_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(O)/tests/unit/test_control.o $(VDM_CORE_OBJS) \
		$(VDEV_HOST_LIB) $(CONF_LIB) $(CORE_CMOCKA_LIBS) -ldl -lpthread -luuid -lseccomp

UNIT_TESTS += $(O)/tests/unit/test_control
