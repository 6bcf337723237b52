#!/bin/sh
# tests/kvm/virtio-guests.sh: the virtio sample guests, driving their
# device the way a driver does over virtio-mmio, on two implementations:
#  - vdm's kvm backend with the in-tree plugin (samples/virtio-*.vmconf);
#  - QEMU's microvm with its own virtio-mmio device (modern: the transport
#    is legacy unless force-legacy=false), which checks the guests
#    themselves against another implementation. Without ACPI (acpi=off)
#    microvm tells the guest where the device is with virtio_mmio.device=
#    on the command line, as the vmconf does on vdm.
# Each run must print every expected PASS line, no FAIL, and RESULT ok.
# Env: O, BIN, PLUGIN_DIR (tests/run-tests). A part that cannot run
# (no /dev/kvm or vdm or script(1); no QEMU) prints SKIP; with neither
# part runnable the script exits 77. VDM overrides the vdm binary.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM=${VDM:-$BIN/vdm}
QEMU=${QEMU:-qemu-system-x86_64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0 ran=0

# GUEST:QEMU-DEVICE:PASS names
guests="virtio-entropy:virtio-rng-device:virtio-probe virtio-reset virtio-version-1-offered \
virtio-features-ok virtio-queue-free virtio-queue-ready virtio-driver-ok virtio-rng-used \
virtio-rng-interrupt virtio-rng-lengths virtio-rng-random virtio-rng-polled \
virtio-rng-no-interrupt virtio-reset-clears"

check() { # where, guest, output file, PASS names...
	where=$1 guest=$2 out=$3
	shift 3
	for name in "$@"; do
		grep -qx "PASS $name" "$out" || { echo "FAIL $guest on $where: no \"PASS $name\""; fail=1; }
	done
	grep -q '^FAIL' "$out" && { echo "FAIL $guest on $where: a guest check failed"; fail=1; }
	grep -qx 'RESULT ok' "$out" || { echo "FAIL $guest on $where: no \"RESULT ok\""; fail=1; }
}

vdm_ok=1
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP vdm part: /dev/kvm not usable"; vdm_ok=0
elif ! [ -x "$VDM" ]; then
	echo "SKIP vdm part: $VDM not built"; vdm_ok=0
elif ! command -v script >/dev/null 2>&1; then
	echo "SKIP vdm part: script(1) not installed (the UART's stdout wants a terminal)"; vdm_ok=0
fi
qemu_ok=1
command -v "$QEMU" >/dev/null 2>&1 || { echo "SKIP QEMU part: $QEMU not installed"; qemu_ok=0; }

for entry in "$(echo "$guests" | tr -s ' ')"; do
	guest=${entry%%:*}
	rest=${entry#*:}
	qdev=${rest%%:*}
	names=${rest#*:}
	elf=$O/guests/$guest.elf
	if [ ! -f "$elf" ]; then
		echo "FAIL $guest: $elf not built"
		fail=1
		continue
	fi
	if [ $vdm_ok = 1 ]; then
		if [ ! -f "$PLUGIN_DIR/vdev-$guest.so" ]; then
			echo "FAIL $guest: vdev-$guest.so not built"
			fail=1
		else
			ran=1
			VDM_GUESTS=$O/guests timeout 60 script -qec "'$VDM' --backend kvm \
				--plugin-path '$PLUGIN_DIR' @samples/$guest.vmconf 2>'$tmp/err'; \
				echo \"rc=\$?\" >'$tmp/rc'" /dev/null 2>&1 | tr -d '\r' >"$tmp/out"
			rc=$(sed -n 's/^rc=//p' "$tmp/rc" 2>/dev/null)
			echo "---- $guest on vdm --backend kvm (exit ${rc:-none})"
			cat "$tmp/out"
			grep -v ' info: ' "$tmp/err"
			# shellcheck disable=SC2086
			check vdm "$guest" "$tmp/out" $names
			[ "${rc:-x}" = 0 ] || { echo "FAIL $guest on vdm: exit ${rc:-none}, want 0"; fail=1; }
		fi
	fi
	if [ $qemu_ok = 1 ]; then
		ran=1
		timeout 60 "$QEMU" -M microvm,acpi=off,pit=on,pic=on,rtc=on -accel kvm -accel tcg -m 64 \
			-nodefaults -no-user-config -nographic -serial stdio \
			-global virtio-mmio.force-legacy=false -device "$qdev" \
			-device isa-debug-exit,iobase=0xf4,iosize=0x01 \
			-kernel "$elf" 2>/dev/null | tr -d '\r' >"$tmp/qout"
		echo "---- $guest on QEMU microvm with -device $qdev"
		cat "$tmp/qout"
		# shellcheck disable=SC2086
		check QEMU "$guest" "$tmp/qout" $names
	fi
done
[ $ran = 1 ] || { echo "SKIP: neither vdm on /dev/kvm nor QEMU can run"; exit 77; }
[ $fail -eq 0 ] && echo "virtio guests: all passed"
exit $fail
