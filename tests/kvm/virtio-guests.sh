#!/bin/sh
# tests/kvm/virtio-guests.sh: the virtio sample guests, driving their
# device the way a driver does over virtio-mmio, on two implementations:
#  - vdm's kvm backend with the in-tree plugins (samples/virtio-*.vmconf);
#  - QEMU's microvm with its own virtio-mmio devices (modern: the transport
#    is legacy unless force-legacy=false), which checks the guests
#    themselves against another implementation. Without ACPI (acpi=off)
#    microvm tells the guest where the device is with virtio_mmio.device=
#    on the command line, as the vmconfs do on vdm.
# virtio-entropy: random buffers, interrupts, polling, reset.
# virtio-pci: virtio-entropy over virtio-pci modern with MSI-X (masking,
# PBA), INTx, the cfg window; on QEMU as -M pc with virtio-rng-pci
# (microvm has no CF8/CFC bridge; SeaBIOS assigns the BARs there).
# virtio-blk: GET_ID, write, flush, read-verify, IOERR past the end; then
# the image is checked on the host (sectors 8..15 hold the guest's
# pattern), a second run (phase=verify) finds the data, and the images
# written by vdm and by QEMU are byte-identical.
# virtio-console: a greeting, then the line the host put in the console's
# input echoed back ("echo: LINE"), compared on the host side (vdm:
# hostdev <file >file; QEMU: virtio-serial-device + virtconsole on a pipe);
# then the same through multiport on a named port (vdm: `port`, port 0;
# QEMU: virtserialport nr=1).
# virtio-net: two VMs linked (vdm: `peer` over a unix socket, started in
# both orders; QEMU: -netdev socket listen/connect); the sender's 16
# checksummed frames verified by the receiver, which answers.
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

entropy_checks="virtio-probe virtio-reset virtio-version-1-offered virtio-features-ok
	virtio-queue-free virtio-queue-ready virtio-driver-ok virtio-rng-used virtio-rng-interrupt
	virtio-rng-lengths virtio-rng-random virtio-rng-polled virtio-rng-no-interrupt
	virtio-reset-clears"
blk_checks="virtio-blk-probe virtio-blk-features-ok virtio-blk-capacity virtio-blk-queue-ready
	virtio-blk-get-id virtio-blk-serial virtio-blk-write virtio-blk-flush
	virtio-blk-read-verify virtio-blk-read-past-end-ioerr virtio-blk-interrupts"
blk_verify_checks="virtio-blk-probe virtio-blk-features-ok virtio-blk-queue-ready
	virtio-blk-persisted"
pci_checks="virtio-pci-found virtio-pci-identity virtio-pci-bar4-64bit virtio-pci-bar4-below-4g
	virtio-pci-capabilities virtio-pci-reset virtio-pci-version-1 virtio-pci-features-ok
	virtio-pci-num-queues virtio-pci-config-vector virtio-pci-bad-vector-refused
	virtio-pci-queue-vector virtio-pci-queue-enabled virtio-pci-driver-ok virtio-pci-msix-used
	virtio-pci-msix-no-config-interrupt virtio-pci-random virtio-pci-msix-masked-pends
	virtio-pci-msix-unmask-delivers virtio-pci-intx virtio-pci-isr-cleared
	virtio-pci-cfg-window virtio-pci-reset-clears"

console_checks="virtio-console-probe virtio-console-features-ok virtio-console-queues
	virtio-console-driver-ok virtio-console-tx virtio-console-rx-line virtio-console-echo
	virtio-console-interrupts virtio-console-reset"
net_checks="virtio-net-probe virtio-net-mac-offered virtio-net-features-ok virtio-net-mac-unicast
	virtio-net-queues virtio-net-driver-ok virtio-net-link-up virtio-net-interrupts
	virtio-net-reset"
net_send_checks="$net_checks virtio-net-sent virtio-net-answer virtio-net-peer-verified"
net_recv_checks="$net_checks virtio-net-received virtio-net-in-order virtio-net-rx-header
	virtio-net-answered"
console_mp_checks="$console_checks virtio-console-multiport-offered virtio-console-port-added
	virtio-console-port-name virtio-console-port-host-open"
console_line="a line from the host, $$"

check() { # where, guest, output file, PASS names...
	where=$1 guest=$2 out=$3
	shift 3
	for name in "$@"; do
		grep -qx "PASS $name" "$out" || { echo "FAIL $guest on $where: no \"PASS $name\""; fail=1; }
	done
	grep -q '^FAIL' "$out" && { echo "FAIL $guest on $where: a guest check failed"; fail=1; }
	grep -qx 'RESULT ok' "$out" || { echo "FAIL $guest on $where: no \"RESULT ok\""; fail=1; }
}

# run_vdm GUEST VMCONF: the guest on vdm --backend kvm; output in $tmp/out.
run_vdm() {
	ran=1
	VDM_GUESTS=$O/guests timeout 60 script -qec "'$VDM' --backend kvm \
		--plugin-path '$PLUGIN_DIR' @'$2' 2>'$tmp/err'; \
		echo \"rc=\$?\" >'$tmp/rc'" /dev/null 2>&1 | tr -d '\r' >"$tmp/out"
	rc=$(sed -n 's/^rc=//p' "$tmp/rc" 2>/dev/null)
	echo "---- $1 on vdm --backend kvm (exit ${rc:-none})"
	cat "$tmp/out"
	grep -v ' info: ' "$tmp/err"
	[ "${rc:-x}" = 0 ] || { echo "FAIL $1 on vdm: exit ${rc:-none}, want 0"; fail=1; }
}

# run_qemu GUEST APPEND QEMU-ARGS...: the guest on QEMU microvm; output in
# $tmp/out (or $QEMU_OUT).
run_qemu() {
	ran=1
	guest=$1 append=$2
	shift 2
	timeout 60 "$QEMU" -M microvm,acpi=off,pit=on,pic=on,rtc=on -accel kvm -accel tcg -m 64 \
		-nodefaults -no-user-config -nographic -serial stdio \
		-global virtio-mmio.force-legacy=false "$@" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x01 \
		-kernel "$O/guests/$guest.elf" -append "$append" 2>/dev/null | tr -d '\r' >"${QEMU_OUT:-$tmp/out}"
	echo "---- $guest $append on QEMU microvm $*"
	cat "${QEMU_OUT:-$tmp/out}"
}

# check_console WHERE OUTPUT-FILE: the greeting and the echo reached the host.
check_console() {
	printf 'virtio-console: hello from the guest\necho: %s\n' "$console_line" | cmp -s - "$2" ||
		{ echo "FAIL virtio-console on $1: the host side got:"; cat "$2"; fail=1; }
}

# run_net_pair_vdm FIRST SECOND: two VMs on one peer socket, FIRST started
# first (recv or send); outputs in $tmp/net-ROLE.out.
run_net_pair_vdm() {
	ran=1
	rm -f "$tmp/link"
	for role in "$1" "$2"; do
		VDM_GUESTS=$O/guests VDM_NET_PEER=$tmp/link VDM_NET_ROLE=$role timeout 60 \
			script -qec "'$VDM' --backend kvm --plugin-path '$PLUGIN_DIR' \
			@samples/virtio-net.vmconf 2>'$tmp/net-$role.err'; \
			echo \"rc=\$?\" >'$tmp/net-$role.rc'" /dev/null 2>&1 | tr -d '\r' >"$tmp/net-$role.out" &
		sleep 0.3
	done
	wait
	for role in recv send; do
		rc=$(sed -n 's/^rc=//p' "$tmp/net-$role.rc" 2>/dev/null)
		echo "---- virtio-net role=$role on vdm --backend kvm ($1 first, exit ${rc:-none})"
		cat "$tmp/net-$role.out"
		grep -v ' info: ' "$tmp/net-$role.err"
		[ "${rc:-x}" = 0 ] || { echo "FAIL virtio-net $role on vdm: exit ${rc:-none}, want 0"; fail=1; }
	done
	# shellcheck disable=SC2086
	check vdm virtio-net-send "$tmp/net-send.out" $net_send_checks
	# shellcheck disable=SC2086
	check vdm virtio-net-recv "$tmp/net-recv.out" $net_recv_checks
	grep -qx 'num_buffers 0 in 0 frame(s)' "$tmp/net-recv.out" ||
		{ echo "FAIL virtio-net on vdm: num_buffers must be 1 without MRG_RXBUF"; fail=1; }
}

# The guest's pattern in sectors 8..15 of an image: 32 x "vdm sector NN !\n" each.
expected_sectors() {
	for s in 08 09 10 11 12 13 14 15; do
		i=0
		while [ $i -lt 32 ]; do
			printf 'vdm sector %s !\n' "$s"
			i=$((i + 1))
		done
	done
}

check_image() { # where, image
	dd if="$2" bs=512 skip=8 count=8 2>/dev/null | cmp -s - "$tmp/expect" ||
		{ echo "FAIL virtio-blk on $1: sectors 8..15 of the image are not the guest's data"; fail=1; }
	dd if="$2" bs=512 count=8 2>/dev/null | cmp -s - "$tmp/zeros" ||
		{ echo "FAIL virtio-blk on $1: sectors 0..7 changed"; fail=1; }
}

for g in virtio-entropy virtio-blk virtio-pci virtio-console virtio-net; do
	[ -f "$O/guests/$g.elf" ] || { echo "FAIL $g: $O/guests/$g.elf not built"; fail=1; }
done
expected_sectors >"$tmp/expect"
dd if=/dev/zero of="$tmp/zeros" bs=512 count=8 2>/dev/null

vdm_ok=1
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP vdm part: /dev/kvm not usable"; vdm_ok=0
elif ! [ -x "$VDM" ]; then
	echo "SKIP vdm part: $VDM not built"; vdm_ok=0
elif ! command -v script >/dev/null 2>&1; then
	echo "SKIP vdm part: script(1) not installed (the UART's stdout wants a terminal)"; vdm_ok=0
fi
for p in virtio-entropy virtio-blk virtio-console virtio-net ioapic timer8254 ser8250 debug-exit; do
	[ $vdm_ok = 1 ] && [ ! -f "$PLUGIN_DIR/vdev-$p.so" ] &&
		{ echo "FAIL: vdev-$p.so not built"; fail=1; vdm_ok=0; }
done
qemu_ok=1
command -v "$QEMU" >/dev/null 2>&1 || { echo "SKIP QEMU part: $QEMU not installed"; qemu_ok=0; }

if [ $vdm_ok = 1 ]; then
	run_vdm virtio-entropy samples/virtio-entropy.vmconf
	# shellcheck disable=SC2086
	check vdm virtio-entropy "$tmp/out" $entropy_checks
	# virtio-pci (vdm only: microvm has no CF8/CFC host bridge)
	run_vdm virtio-pci samples/virtio-pci.vmconf
	# shellcheck disable=SC2086
	check vdm virtio-pci "$tmp/out" $pci_checks

	truncate -s 1M "$tmp/vdm.img"
	export VDM_DISK="$tmp/vdm.img"
	run_vdm virtio-blk samples/virtio-blk.vmconf
	# shellcheck disable=SC2086
	check vdm virtio-blk "$tmp/out" $blk_checks
	check_image vdm "$tmp/vdm.img"
	# a second VM on the same image finds the data
	sed 's/^cmdline "\(.*\)"$/cmdline "\1 phase=verify"/' samples/virtio-blk.vmconf >"$tmp/verify.vmconf"
	run_vdm virtio-blk "$tmp/verify.vmconf"
	# shellcheck disable=SC2086
	check vdm virtio-blk-verify "$tmp/out" $blk_verify_checks

	printf '%s\n' "$console_line" >"$tmp/con.in"
	export VDM_CONSOLE_IN="$tmp/con.in" VDM_CONSOLE_OUT="$tmp/con.out"
	run_vdm virtio-console samples/virtio-console.vmconf
	# shellcheck disable=SC2086
	check vdm virtio-console "$tmp/out" $console_checks
	check_console vdm "$tmp/con.out"
	# multiport: port 0 a named generic port
	sed -e 's/^cmdline \(.*\)$/cmdline "\1 port=0 name=org.vdm.test"/' \
		-e 's/^\(vdev virtio-console .*\)$/\1 port org.vdm.test/' \
		samples/virtio-console.vmconf >"$tmp/console-mp.vmconf"
	run_vdm virtio-console-multiport "$tmp/console-mp.vmconf"
	# shellcheck disable=SC2086
	check vdm virtio-console-multiport "$tmp/out" $console_mp_checks
	check_console vdm "$tmp/con.out"

	run_net_pair_vdm recv send
	run_net_pair_vdm send recv
fi
if [ $qemu_ok = 1 ]; then
	run_qemu virtio-entropy "" -device virtio-rng-device
	# shellcheck disable=SC2086
	check QEMU virtio-entropy "$tmp/out" $entropy_checks

	truncate -s 1M "$tmp/qemu.img"
	drive="file=$tmp/qemu.img,if=none,id=d0,format=raw"
	run_qemu virtio-blk "serial=vdm-disk0" -drive "$drive" \
		-device virtio-blk-device,drive=d0,serial=vdm-disk0
	# shellcheck disable=SC2086
	check QEMU virtio-blk "$tmp/out" $blk_checks
	check_image QEMU "$tmp/qemu.img"
	run_qemu virtio-blk "phase=verify" -drive "$drive" -device virtio-blk-device,drive=d0
	# shellcheck disable=SC2086
	check QEMU virtio-blk-verify "$tmp/out" $blk_verify_checks
	ran=1
	# virtio-pci against QEMU's implementation
	timeout 60 "$QEMU" -M pc -accel kvm -accel tcg -m 64 -nodefaults -no-user-config \
		-nographic -serial stdio -device virtio-rng-pci,disable-legacy=on \
		-device isa-debug-exit,iobase=0xf4,iosize=0x01 \
		-kernel "$O/guests/virtio-pci.elf" 2>/dev/null | tr -d '\r' |
		sed 's/^.*Booting from ROM\.\.//' | grep -a '^PASS\|^FAIL\|^RESULT\|^[a-z]' >"$tmp/out"
	echo "---- virtio-pci on QEMU -M pc -device virtio-rng-pci,disable-legacy=on"
	cat "$tmp/out"
	# shellcheck disable=SC2086
	check QEMU virtio-pci "$tmp/out" $pci_checks
	if [ $vdm_ok = 1 ] && ! cmp -s "$tmp/vdm.img" "$tmp/qemu.img"; then
		echo "FAIL virtio-blk: the images written on vdm and on QEMU differ"
		fail=1
	fi

	# the console on a pipe chardev: QEMU opens $tmp/qcon.in and .out
	mkfifo "$tmp/qcon.in" "$tmp/qcon.out"
	cat "$tmp/qcon.out" >"$tmp/qcon.txt" &
	reader=$!
	printf '%s\n' "$console_line" >"$tmp/qcon.in" &
	run_qemu virtio-console "" -device virtio-serial-device \
		-chardev pipe,id=c0,path="$tmp/qcon" -device virtconsole,chardev=c0
	wait $reader
	# shellcheck disable=SC2086
	check QEMU virtio-console "$tmp/out" $console_checks
	check_console QEMU "$tmp/qcon.txt"
	# multiport: a virtserialport at port 1
	cat "$tmp/qcon.out" >"$tmp/qcon.txt" &
	reader=$!
	printf '%s\n' "$console_line" >"$tmp/qcon.in" &
	run_qemu virtio-console "port=1 name=org.vdm.test" -device virtio-serial-device \
		-chardev pipe,id=c0,path="$tmp/qcon" \
		-device virtserialport,chardev=c0,name=org.vdm.test,nr=1
	wait $reader
	# shellcheck disable=SC2086
	check QEMU virtio-console-multiport "$tmp/out" $console_mp_checks
	check_console QEMU "$tmp/qcon.txt"

	# net: the receiver listens, the sender connects (QEMU's socket
	# netdev wants the listener first)
	port=$((20000 + $$ % 20000))
	QEMU_OUT=$tmp/qnet-recv.out run_qemu virtio-net role=recv \
		-netdev socket,id=n0,listen=127.0.0.1:$port -device virtio-net-device,netdev=n0 \
		>"$tmp/qnet-recv.log" &
	recv_pid=$!
	sleep 1
	QEMU_OUT=$tmp/qnet-send.out run_qemu virtio-net role=send \
		-netdev socket,id=n0,connect=127.0.0.1:$port \
		-device virtio-net-device,netdev=n0,mac=52:54:00:00:00:02
	wait $recv_pid
	cat "$tmp/qnet-recv.log"
	# shellcheck disable=SC2086
	check QEMU virtio-net-send "$tmp/qnet-send.out" $net_send_checks
	# shellcheck disable=SC2086
	check QEMU virtio-net-recv "$tmp/qnet-recv.out" $net_recv_checks
fi
[ $ran = 1 ] || { echo "SKIP: neither vdm on /dev/kvm nor QEMU can run"; exit 77; }
[ $fail -eq 0 ] && echo "virtio guests: all passed"
exit $fail
