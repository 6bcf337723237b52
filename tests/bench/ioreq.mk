# tests/bench/ioreq.mk: the ioreq engine benchmark (requests per second
# through the engine vs. dm_request_execute directly). `make bench` runs it
# through tests/bench/run.

IOREQ_BENCH := $(O)/tests/bench/ioreq_bench

$(IOREQ_BENCH): $(O)/tests/bench/ioreq_bench.o $(O)/devmodel/ioreq_engine.o \
		$(O)/devmodel/request.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

BENCHES += $(IOREQ_BENCH)

# `bench` depends on `all`, which does not build benchmarks: add ours.
bench: $(IOREQ_BENCH)
