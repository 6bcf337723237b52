# tests/isolate: `vdev NAME isolate` (devmodel/isolate.c).
#   isolate.sh       sim and kvm: crashing and hanging plugins isolated (the
#                    VM goes on, or ends with 6 by the policy; the failure is
#                    named once; no process is left), in-tree devices the
#                    same isolated as not, the option's config errors
#   uart-fault.c     the kvm fixture: a UART stand-in that crashes or hangs
#                    on the first byte (never installed nor in PLUGINS)
ISOLATE_FIXTURE := $(O)/tests/isolate/vdev-uart-fault.so
CHECK_SCRIPTS += tests/isolate/isolate.sh

all: $(ISOLATE_FIXTURE)

$(ISOLATE_FIXTURE): $(O)/plugin/tests/isolate/uart-fault.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $^
