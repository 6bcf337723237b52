# tests/teardown: vdm's teardown always ends, promptly and in order.
#   sim-lines-high.sh  devices hold lines high into the in-tree controllers
#                      when the VM ends, in every order (the exit deadlock)
#   kvm-lines-high.sh  the same on /dev/kvm with a real guest
#   guard.sh           a vdev whose destroy hangs: the teardown guard ends
#                      vdm with a message naming it (the fixture below is
#                      never installed nor in PLUGINS)
TEARDOWN_FIXTURE := $(O)/tests/teardown/vdev-destroy-hang.so
CHECK_SCRIPTS += tests/teardown/sim-lines-high.sh tests/teardown/kvm-lines-high.sh \
	tests/teardown/guard.sh

all: $(TEARDOWN_FIXTURE)

$(TEARDOWN_FIXTURE): $(O)/plugin/tests/teardown/destroy-hang.o $(CONFORM_REFDEV_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^
