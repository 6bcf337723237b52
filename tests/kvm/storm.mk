# tests/kvm/storm.mk: the 1 ns HPET timer of a hostile guest on kvm
# (samples/guests/hpet-storm.c, built by the samples' guest rules).
GUESTS += $(O)/guests/hpet-storm.elf
CHECK_SCRIPTS += tests/kvm/hpet-storm.sh
