# tests/bench/kvm.mk: the benches on /dev/kvm (each skips without it):
# start-up and peak RSS of an idle guest (startup.sh), exit cost for port
# I/O and MMIO (kvm_exit.sh), RSS against vdevs and guest RAM (rss.sh);
# vdm's kvm backend against QEMU and against tests/bench/kvm_floor, a raw
# KVM program, in the same run. Needs vdm, the exitbench guest and the
# ser8250/debug-exit plugins (all in `all`) and the two helpers below.

BENCH_HELPERS := $(O)/tests/bench/kvm_floor $(O)/tests/bench/timeexec

$(O)/tests/bench/kvm_floor: $(O)/tests/bench/kvm_floor.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

$(O)/tests/bench/timeexec: $(O)/tests/bench/timeexec.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

BENCHES += tests/bench/startup.sh tests/bench/kvm_exit.sh tests/bench/rss.sh

bench: $(BENCH_HELPERS)
