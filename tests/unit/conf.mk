# Unit tests of conf/: one executable per tests/unit/test_conf_*.c, linked
# with the conf library and cmocka. They read sample configs from tests/conf/
# (paths relative to the top of the tree, where tests/run-tests runs them).
CONF_UNIT_TESTS := $(patsubst tests/unit/%.c,$(O)/tests/unit/%, \
	$(sort $(wildcard tests/unit/test_conf_*.c)))
UNIT_TESTS += $(CONF_UNIT_TESTS)

$(CONF_UNIT_TESTS): $(O)/tests/unit/test_conf_%: $(O)/tests/unit/test_conf_%.o $(CONF_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(CONF_LIB) -lcmocka
