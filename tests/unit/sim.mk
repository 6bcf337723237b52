# Unit tests of the sim backend's own parts (devmodel/sim/).
SIM_TEST_VMSCRIPT := $(O)/tests/unit/test_vmscript
UNIT_TESTS += $(SIM_TEST_VMSCRIPT)

$(SIM_TEST_VMSCRIPT): $(O)/tests/unit/test_vmscript.o $(O)/devmodel/sim/vmscript.o $(CONF_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcmocka

SIM_TEST_HV := $(O)/tests/unit/test_sim_hv
UNIT_TESTS += $(SIM_TEST_HV)

$(SIM_TEST_HV): $(O)/tests/unit/test_sim_hv.o $(O)/devmodel/sim/sim_hv.o \
		$(O)/devmodel/sim/sim_domain.o $(O)/devmodel/sim/vmscript.o $(CONF_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcmocka -lpthread
