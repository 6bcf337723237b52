# conf/: the qvm configuration language, built as a static library that vdm,
# the SDK host side and the tests link with $(CONF_LIB).
CONF_SRCS := $(sort $(wildcard conf/*.c))
CONF_OBJS := $(CONF_SRCS:%.c=$(O)/%.o)
CONF_LIB := $(O)/lib/libconf.a

$(CONF_LIB): $(CONF_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^
