# sdk/testhost: the SDK test host (vdev/testhost.h). libvdev-testhost.a is
# self-contained: it carries the objects of sdk/host and of conf/, so a third
# party links just -lvdev-testhost -ldl -lpthread.
VDEV_TESTHOST_SRCS := sdk/testhost/testhost.c sdk/testhost/instance.c \
	sdk/testhost/dispatch.c sdk/testhost/events.c sdk/testhost/services.c \
	sdk/testhost/pci.c
# state.c (the codec, host-side build) for vdev_state_crc32 and for tests
# that decode a saved state (vdev/state.h says it is exposed for them).
VDEV_TESTHOST_OBJS := $(VDEV_TESTHOST_SRCS:%.c=$(O)/%.o) $(O)/sdk/lib/state.o
VDEV_TESTHOST_LIB := $(O)/lib/libvdev-testhost.a

# One archive from our objects plus the members of the two libraries (an
# ar MRI script, so the member lists of other fragments need not be known).
$(VDEV_TESTHOST_LIB): $(VDEV_TESTHOST_OBJS) $(VDEV_HOST_LIB) $(CONF_LIB) sdk/testhost/module.mk
	@mkdir -p $(@D)
	rm -f $@
	{ echo "create $@"; echo "addlib $(VDEV_HOST_LIB)"; echo "addlib $(CONF_LIB)"; \
	  for o in $(VDEV_TESTHOST_OBJS); do echo "addmod $$o"; done; \
	  echo save; echo end; } | $(AR) -M
	$(AR) s $@
