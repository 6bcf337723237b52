# tests/unit/sdklib.mk: unit tests of the helper code compiled into plugins
# (sdk/lib/). The helpers are built here as ordinary objects; plugins get
# their own hidden-visibility copies ($(O)/plugin/sdk/lib/*.o).

UNIT_TESTS += $(O)/tests/unit/test_state

$(O)/tests/unit/test_state: $(O)/tests/unit/test_state.o $(O)/sdk/lib/state.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ -lcmocka
