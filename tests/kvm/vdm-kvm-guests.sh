#!/bin/sh
# tests/kvm/vdm-kvm-guests.sh: the whole vdm process on the kvm backend
# with the real plugins: the sample guests print through vdev-ser8250 and
# power off through vdev-debug-exit. Checks the PASS lines and vdm's exit
# code, also the failure path (a debug-exit whose success value the guest
# does not write ends vdm with a code in 33..63). Then the PC device guests
# with their samples/*.vmconf (8259 + 8254 by ExtINT, I/O APIC + 8254 by
# MSI, the MC146818 RTC/CMOS, a second UART in loopback and by interrupts through each controller
# with host input); a guest whose plugins are not built is reported SKIP.
# MSI, one ISA IRQ reaching both through `isa` while the guest switches
# from one to the other, ...). The UART's stdout endpoint is a plain file
# here (it works with files, pipes and terminals alike).
# Env: O, BIN, PLUGIN_DIR (tests/run-tests). Skips (77) without /dev/kvm,
# or without vdm or the two plugins. VDM overrides the vdm binary.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
skip() { echo "SKIP: $*"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable: not accessible"
VDM=${VDM:-$BIN/vdm}
[ -x "$VDM" ] || skip "$VDM not built"
for p in ser8250 debug-exit; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || skip "vdev-$p.so not built"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

# run GUEST SUCCESS-VALUE: vdm's output in $tmp/out, exit code in $tmp/rc.
run() {
	[ $# -ge 3 ] && cp "$3" "$tmp/vm.vmconf" || cat >"$tmp/vm.vmconf" <<EOC
system $1
ram 0,16M
load $O/guests/$1.elf
cmdline expect=vdm-hello
vdev ser8250 loc io:0x3f8 hostdev >stdout
vdev debug-exit loc io:0xf4 success $2
EOC
	VDM_GUESTS=$O/guests timeout 60 "$VDM" --backend kvm --plugin-path "$PLUGIN_DIR" \
		@"$tmp/vm.vmconf" >"$tmp/raw" 2>"$tmp/err"
	echo "rc=$?" >"$tmp/rc"
	tr -d '\r' <"$tmp/raw" >"$tmp/out" # the guests end their lines with CR LF
	rc=$(sed -n 's/^rc=//p' "$tmp/rc" 2>/dev/null)
	echo "---- vdm --backend kvm, guest $1 (exit ${rc:-none})"
	cat "$tmp/out"
	# vdm's log goes to a file of its own so that it cannot split lines of
	# the guest's serial output.
	grep -v ' info: ' "$tmp/err"
}

expect() { # guest, PASS names...
	guest=$1; shift
	for name in "$@" ; do
		grep -qx "PASS $name" "$tmp/out" || { echo "FAIL $guest: no \"PASS $name\""; fail=1; }
	done
	grep -q '^FAIL' "$tmp/out" && { echo "FAIL $guest: a guest check failed"; fail=1; }
	grep -qx 'RESULT ok' "$tmp/out" || { echo "FAIL $guest: no \"RESULT ok\""; fail=1; }
	[ "${rc:-x}" = 0 ] || { echo "FAIL $guest: vdm exit ${rc:-none}, want 0"; fail=1; }
}

run hello 0
expect hello start-info memmap cmdline hello
run irq 0
expect irq lapic-timer-ticks lapic-timer-vector irq-preserves-state lapic-timer-masked
# The guest writes 0, which this debug-exit does not take as success.
run hello 7
if [ -z "${rc:-}" ] || [ "$rc" -lt 33 ] || [ "$rc" -gt 63 ]; then
	echo "FAIL hello: success 7 but guest wrote 0: vdm exit ${rc:-none}, want 33..63"
	fail=1
fi

# has_plugins NAME...: all built, else say which guest is skipped.
has_plugins() {
	guest=$1; shift
	for p in "$@"; do
		[ -f "$PLUGIN_DIR/vdev-$p.so" ] && continue
		echo "SKIP $guest: vdev-$p.so not built"
		return 1
	done
}

if has_plugins pic-pit 8259 timer8254; then
	run pic-pit 0 samples/pic-pit.vmconf
	expect pic-pit pic-init-mask pic-mask-readback pit-clock-runs pit-irq0-rate \
		pit-irq0-rate-polling pic-irq0-vector pic-isr-in-service pic-no-eoi-blocks \
		pic-eoi-clears-isr pic-eoi-resumes pic-mask-stops pic-masked-irr \
		pic-unmask-resumes pic-no-spurious
fi
if has_plugins ioapic-pit ioapic timer8254; then
	run ioapic-pit 0 samples/ioapic-pit.vmconf
	expect ioapic-pit ioapic-version ioapic-rte-readback ioapic-pit-rate \
		ioapic-pit-rate-polling ioapic-pit-vector ioapic-mask-stops ioapic-unmask-resumes
fi
# One ISA IRQ, two controllers: the guest moves from the 8259 to the I/O APIC mid-run.
if has_plugins isa-pit 8259 ioapic timer8254; then
	run isa-pit 0 samples/isa-pit.vmconf
	expect isa-pit isa-pic-mode-ticks isa-pic-mode-ioapic-quiet isa-apic-mode-ticks \
		isa-apic-mode-pic-quiet
fi
if has_plugins rtc mc146818 timer8254; then
	run rtc 0 samples/rtc.vmconf
	expect rtc rtc-battery-good rtc-update-flag rtc-seconds-advance rtc-one-second \
		rtc-binary-mode cmos-base-memory cmos-extended-memory cmos-memory-above-16m
fi
if has_plugins pci pci-dummy; then
	run pci 0 samples/pci.vmconf
	expect pci pci-host-bridge pci-empty-slot-reads-ones pci-dummy-found-once \
		pci-bar-memory-4k pci-bar-restored pci-bar-decodes pci-scratch pci-bar-moved \
		pci-old-bar-empty
fi
uart_checks="uart-scratch uart-loop-msr uart-loop-dr uart-loop-iir-rda uart-loop-data
	uart-loop-drained uart-loop-no-line-irq uart-thre-irq uart-thre-cleared
	uart-thre-after-tx uart-no-other-irq"
if has_plugins uart 8259 timer8254; then
	run uart 0 samples/uart.vmconf
	expect uart $uart_checks
fi
if has_plugins uart-ioapic ioapic timer8254; then
	# The same guest through the I/O APIC, level-triggered (each interrupt
	# needs the LAPIC EOI to reach the ioapic), with bytes from the host.
	printf 'vdm-rx' >"$tmp/rx"
	sed -e 's/^vdev 8259 .*/vdev ioapic loc mem:0xfec00000 intr apic name ioapic/' \
	    -e "s|^vdev ser8250 loc io:0x2f8 .*|vdev ser8250 loc io:0x2f8 intr ioapic:3 hostdev <$tmp/rx|" \
	    -e 's/^load .*/&\ncmdline "via=ioapic trigger=level rx=vdm-rx"/' samples/uart.vmconf >"$tmp/uart-ioapic.vmconf"
	run uart 0 "$tmp/uart-ioapic.vmconf"
	expect uart-ioapic $uart_checks uart-rda-irq uart-rx-data uart-ioapic-level \
		uart-ioapic-remote-irr-clear
	grep -q "interrupts through the I/O APIC" "$tmp/out" ||
		{ echo "FAIL uart-ioapic: the guest did not take via=ioapic"; fail=1; }
fi
[ $fail -eq 0 ] && echo "vdm kvm guests: all passed"
exit $fail
