# tests/bench/dispatch.mk: address dispatch with 10, 100 and 1000 regions
# (tests/bench/dispatch.c over devmodel/iomap.c).

DISPATCH_BENCH := $(O)/tests/bench/dispatch

$(DISPATCH_BENCH): $(O)/tests/bench/dispatch.o $(O)/devmodel/iomap.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lpthread

BENCHES += $(DISPATCH_BENCH)
bench: $(DISPATCH_BENCH)
