# tests/bench/sim_ioreq.mk: the sim backend's ioreq path across two
# processes against an eventfd ping-pong (tests/bench/sim_ioreq.c).

SIM_IOREQ_BENCH := $(O)/tests/bench/sim_ioreq

$(SIM_IOREQ_BENCH): $(O)/tests/bench/sim_ioreq.o $(O)/devmodel/sim/sim_hv.o \
		$(O)/devmodel/sim/sim_domain.o $(O)/devmodel/sim/vmscript.o \
		$(O)/devmodel/ioreq_engine.o $(O)/devmodel/request.o $(CONF_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

BENCHES += $(SIM_IOREQ_BENCH)
bench: $(SIM_IOREQ_BENCH)
