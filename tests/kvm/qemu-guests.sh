#!/bin/sh
# tests/kvm/qemu-guests.sh: the same sample guest ELFs boot on QEMU
# (-M microvm -kernel, PVH entry), as a side-by-side baseline for vdm's kvm
# backend. isa-debug-exit at 0xf4 turns the guest's status S into QEMU's
# exit status (S << 1) | 1, so success (S = 0) is 1.
# The PC device guests need microvm's legacy devices: `pic=on,pit=on,rtc=on` (off
# by default; its I/O APIC is always there and maps ISA IRQ 0 to pin 2 as
# vdm's configs do) and a second isa-serial at 0x2f8/IRQ 3. QEMU's 16550
# raises its interrupt in loopback (no OUT2 gating), so the uart guest gets
# `loop-irq=any`.
# Env: O (build directory with guests/). Skips (77) without QEMU.
set -u
O=${O:-build/release}
QEMU=${QEMU:-qemu-system-x86_64}
if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "SKIP: $QEMU not installed"
	exit 77
fi
fail=0
# GUEST:APPEND (commas for spaces): the runs and their command lines.
runs="hello:expect=vdm-hello irq: inject: pic-pit: ioapic-pit: rtc: uart:loop-irq=any
uart:via=ioapic,loop-irq=any uart:via=ioapic,trigger=level,loop-irq=any"
for run in $runs; do
	guest=${run%%:*}
	append=$(echo "${run#*:}" | tr ',' ' ')
	elf="$O/guests/$guest.elf"
	if [ ! -f "$elf" ]; then
		echo "FAIL $guest: $elf not built"
		fail=1
		continue
	fi
	# kvm when usable, else tcg; -nodefaults keeps the port map to ours.
	out=$(timeout 60 "$QEMU" -M microvm,pic=on,pit=on,rtc=on -accel kvm -accel tcg -m 64 \
		-nodefaults -no-user-config -nographic -serial stdio \
		-chardev null,id=com2 -device isa-serial,iobase=0x2f8,irq=3,chardev=com2 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x01 \
		-kernel "$elf" -append "$append" 2>/dev/null | tr -d '\r')
	echo "---- $guest $append on QEMU"
	echo "$out"
	if ! echo "$out" | grep -qx "RESULT ok"; then
		echo "FAIL $guest: no \"RESULT ok\" line"
		fail=1
	fi
	if echo "$out" | grep -q "^FAIL"; then
		echo "FAIL $guest: a check failed"
		fail=1
	fi
done
# The exit status path: hello must end QEMU with (0 << 1) | 1.
timeout 60 "$QEMU" -M microvm -accel kvm -accel tcg -m 64 -nodefaults -no-user-config \
	-nographic -serial null -device isa-debug-exit,iobase=0xf4,iosize=0x01 \
	-kernel "$O/guests/hello.elf" >/dev/null 2>&1
status=$?
if [ "$status" -ne 1 ]; then
	echo "FAIL hello: QEMU exit status $status, want 1 (debug-exit value 0)"
	fail=1
fi
[ $fail -eq 0 ] && echo "qemu guests: all passed"
exit $fail
