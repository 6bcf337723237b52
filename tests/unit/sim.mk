# Unit tests of the sim backend's own parts (devmodel/sim/).
SIM_TEST_VMSCRIPT := $(O)/tests/unit/test_vmscript
UNIT_TESTS += $(SIM_TEST_VMSCRIPT)

$(SIM_TEST_VMSCRIPT): $(O)/tests/unit/test_vmscript.o $(O)/devmodel/sim/vmscript.o $(CONF_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcmocka
