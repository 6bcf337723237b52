# tests/unit/ioreq.mk: unit tests of the request path (devmodel/request.c)
# and the ioreq engine (devmodel/ioreq_engine.c). They link the sources'
# objects directly, so they do not depend on the rest of devmodel building.

IOREQ_CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

$(O)/tests/unit/test_request: $(O)/tests/unit/test_request.o $(O)/devmodel/request.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(IOREQ_CMOCKA_LIBS)

$(O)/tests/unit/test_ioreq_engine: $(O)/tests/unit/test_ioreq_engine.o \
		$(O)/devmodel/ioreq_engine.o $(O)/devmodel/request.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(IOREQ_CMOCKA_LIBS) -lpthread

$(O)/tests/unit/test_ioreq_buffered: $(O)/tests/unit/test_ioreq_buffered.o \
		$(O)/devmodel/ioreq_engine.o $(O)/devmodel/request.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(IOREQ_CMOCKA_LIBS)

UNIT_TESTS += $(patsubst %.c,$(O)/%,$(wildcard tests/unit/test_request.c \
	tests/unit/test_ioreq_engine.c tests/unit/test_ioreq_buffered.c))
