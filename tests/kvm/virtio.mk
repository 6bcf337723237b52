# tests/kvm/virtio.mk: the virtio sample guests (samples/guests/virtio-*.c)
# on vdm's kvm backend and on QEMU microvm's virtio-mmio devices
# (virtio-guests.sh).

CHECK_SCRIPTS += tests/kvm/virtio-guests.sh

# The shmem guest pair (samples/guests/shmem.c): two vdm VMs sharing one
# vdev-shmem object (shmem-guests.sh).
CHECK_SCRIPTS += tests/kvm/shmem-guests.sh
