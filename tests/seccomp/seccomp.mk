# tests/seccomp/seccomp.mk: vdm's seccomp filter (devmodel/lockdown.c) seen
# from a plugin: vdev-syscall-probe.so makes the system call a guest script
# asks for; seccomp.sh checks what each `set seccomp` mode does with it.
SECCOMP_PROBE := $(O)/tests/seccomp/plugins/vdev-syscall-probe.so

$(SECCOMP_PROBE): $(O)/plugin/tests/seccomp/syscall-probe.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) $(PLUGIN_LDFLAGS) -o $@ $<

all: $(SECCOMP_PROBE)
CHECK_SCRIPTS += tests/seccomp/seccomp.sh
