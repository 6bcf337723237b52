# tests/unit/qmp.mk: the QMP server (devmodel/qmp/) over real unix sockets on
# the event loop, against libxl 4.17's exchanges; and the translation of
# libxl's device-model command line (devmodel/xl/xl_args.c) into vmconf.
QMP_TEST_CMOCKA := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

$(O)/tests/unit/test_qmp.o: CPPFLAGS_ALL += $(QMP_JSON_CFLAGS)
$(O)/tests/unit/test_qmp: $(O)/tests/unit/test_qmp.o $(QMP_OBJS) $(O)/devmodel/evloop.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(QMP_TEST_CMOCKA) $(QMP_JSON_LIBS) -lpthread

$(O)/tests/unit/test_xl_args: $(O)/tests/unit/test_xl_args.o $(O)/devmodel/xl/xl_args.o $(CONF_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(QMP_TEST_CMOCKA)

UNIT_TESTS += $(O)/tests/unit/test_qmp $(O)/tests/unit/test_xl_args
