# tests/bench/blk.mk: virtio-blk IOPS and MB/s from a guest, vdm's kvm
# backend with aio threads and aio io_uring (BLK_RUNS runs each, median
# with min-max) against QEMU microvm's virtio-blk-device on the same image
# (tests/bench/blk.sh; skips without /dev/kvm). Needs vdm, the blkbench
# guest and the virtio-blk, ioapic, timer8254, ser8250 and debug-exit
# plugins, all in `all`.

BENCHES += tests/bench/blk.sh
