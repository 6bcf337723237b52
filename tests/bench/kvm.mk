# tests/bench/kvm.mk: exits per second, vdm's kvm backend vs QEMU on the
# same /dev/kvm (tests/bench/kvm_exit.sh; skips without /dev/kvm). Needs
# vdm, the exitbench guest and the ser8250/debug-exit plugins, all in `all`.

BENCHES += tests/bench/kvm_exit.sh
