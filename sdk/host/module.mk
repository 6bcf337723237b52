# sdk/host: the host side of the plugin ABI, shared by vdm, the SDK test host
# and vdev-conform: finding/loading/checking plugins (plugin.h) and validating
# a vdev's options against its schema (options.h); telling the config parser
# which device options take an argument (arity.h).
# Users link: $(VDEV_HOST_LIB) $(CONF_LIB) -ldl
CONF_LIB ?= $(O)/lib/libconf.a

VDEV_HOST_SRCS := sdk/host/arena.c sdk/host/plugin.c sdk/host/options.c sdk/host/arity.c
VDEV_HOST_OBJS := $(VDEV_HOST_SRCS:%.c=$(O)/%.o)
VDEV_HOST_LIB := $(O)/lib/libvdev-host.a

$(VDEV_HOST_LIB): $(VDEV_HOST_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^
