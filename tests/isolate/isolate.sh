#!/bin/sh
# tests/isolate/isolate.sh: `vdev NAME isolate` (devmodel/isolate.c).
#  sim: the scripts tests/sim/{ticker,pci,virtio,isa-bus,hpet-storm} pass
#       with every device but the interrupt controllers isolated, in both
#       sim modes; a plugin crashing in a
#       read, or hanging in one, reads as all-ones afterwards and the VM goes
#       on (on-failure=ignore), or the VM ends with 6 \\(on-failure=terminate\\);
#       a destroy that hangs does not hold vdm's exit; a create that crashes
#       is a failed create (64); the failure is named exactly once.
#  kvm: the hello guest prints through an isolated ser8250 (fd watches) and
#       powers off through an isolated debug-exit; a UART that crashes on
#       the guest's first byte (tests/isolate/uart-fault.c) leaves the guest
#       running to its power-off (exit 0), one that hangs ends it with 6.
#  sweep: every broken conformance fixture, isolated, under register pokes:
#       vdm always ends by itself (0, 64 or 65), never by a signal.
#  every run: no process of the run is left once vdm has exited.
#  config: a bad on-failure= or timeout= is an error at file:line:col (65);
#       an isolated interrupt controller is refused (65).
# Env: O, BIN, PLUGIN_DIR (tests/run-tests). The kvm part is skipped with a
# message when /dev/kvm is not usable; everything skips (77) without vdm.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
BROKEN=$O/tests/conformance/broken
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
for f in "$BROKEN/vdev-broken-read-crash.so" "$BROKEN/vdev-broken-read-hang.so" \
	"$BROKEN/vdev-broken-option-crash.so" \
	"$O/tests/teardown/vdev-destroy-hang.so" "$O/tests/isolate/vdev-uart-fault.so"; do
	[ -f "$f" ] || { echo "SKIP: $f not built"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
export VDM_PLUGIN_PATH="$PLUGIN_DIR" XDG_RUNTIME_DIR="$tmp"
# Every vdm of this run carries the tag in its environment, and so does
# every process it forks: what still has it after vdm exited was left behind.
tag="vdm-isolate-test-$$-$(date +%s%N)"
fail=0
# A crash is named by its signal; in the sanitizer build UBSan sees the
# fault first and the process exits with 1, which is named so.
SEGV='(crashed \(signal 11, Segmentation fault\)|exited with status 1)'
FPE='(crashed \(signal 8, Floating point exception\)|exited with status 1)'
# LeakSanitizer's exit-time scan cannot run under `set seccomp on`
# (tests/seccomp/seccomp.sh does the same)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

bad() {
	echo "FAIL $*"
	fail=1
}

# leftovers LABEL: no process with our tag, within 2 s of vdm's exit
leftovers() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		left=$(grep -l "ISOLATE_TEST_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null)
		[ -z "$left" ] && return 0
		sleep 0.2
	done
	bad "$1: processes left behind: $left"
}

# run LABEL WANT-RC vdm-args...: output in $tmp/out
run() {
	label=$1 want=$2
	shift 2
	timeout 60 env ISOLATE_TEST_TAG="$tag" "$VDM" "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ] && ! grep -q ': FAIL:' "$tmp/out"; then
		echo "ok   $label (exit $rc)"
	else
		bad "$label: exit $rc, want $want"
		sed 's/^/    | /' "$tmp/out"
	fi
	leftovers "$label"
}

# once LABEL PATTERN: the output has exactly one line matching PATTERN (ERE)
once() {
	n=$(grep -E -c -- "$2" "$tmp/out")
	[ "$n" = 1 ] || { bad "$1: $n lines match '$2', want 1"; sed 's/^/    | /' "$tmp/out"; }
}

# ---- sim: in-tree scripts with every device isolated but the interrupt
# controllers (UART with rep I/O, template ticker with timers and lines, a
# PCI function moving its BAR, virtio queues through mem_read/mem_write,
# the HPET, the ISA bus)
for name in ticker pci virtio isa-bus hpet-storm; do
	sed -E '/^vdev (ioapic|8259)( |$)/!s/^vdev .*/& isolate/' tests/sim/$name.vmconf \
		>"$tmp/$name.vmconf"
	grep -q ' isolate$' "$tmp/$name.vmconf" || bad "$name.vmconf: no vdev to isolate"
	for mode in off on; do
		run "sim $name isolated (sim-process $mode)" 0 --backend sim \
			--script tests/sim/$name.vmscript @"$tmp/$name.vmconf" set sim-process $mode
		grep -q 'isolated plugin' "$tmp/out" && bad "sim $name: an isolated plugin failed"
	done
done

# ---- sim: a read that crashes
cat >"$tmp/crash.vmscript" <<'EOF'
read mmio 0x200000 4 expect 0x31464552      # the ID, from the child
read mmio 0x200013 4 expect 0xffffffff      # the crash: answered all-ones
read mmio 0x200000 4 expect 0xffffffff      # failed for good
write mmio 0x200004 4 1                     # dropped
read pio 0x3fd 1 mask 0x60 expect 0x60      # the VM's other devices go on
write pio 0xf4 1 0
exit 0
EOF
conf() { # PLUGIN ISOLATE-WORDS: a VM with that plugin isolated at 0x200000
	cat >"$tmp/vm.vmconf" <<EOF
system iso-test
ram 0,1M
vdev $1 loc 0x200000 intr isa:5 isolate $2
vdev ser8250 loc io:0x3f8 intr isa:4
vdev debug-exit loc io:0xf4
EOF
}
conf "$BROKEN/vdev-broken-read-crash.so" ""
run "sim read crash, on-failure=ignore" 0 --backend sim --script "$tmp/crash.vmscript" \
	@"$tmp/vm.vmconf"
once "sim read crash" "error: broken-read-crash.0: isolated plugin broken-read-crash $SEGV during a read; the device now reads as all-ones"
once "sim read crash (one report)" "isolated plugin"

sed 's/^exit 0/exit 6/' "$tmp/crash.vmscript" >"$tmp/crash6.vmscript"
conf "$BROKEN/vdev-broken-read-crash.so" "on-failure=terminate"
run "sim read crash, on-failure=terminate" 6 --backend sim \
	--script "$tmp/crash6.vmscript" @"$tmp/vm.vmconf"
once "sim read crash, terminate" "$SEGV during a read; the VM ends \\(on-failure=terminate\\)"

# ---- sim: a read that never returns
cat >"$tmp/hang.vmscript" <<'EOF'
read mmio 0x200000 4 expect 0x31464552
read mmio 0x200021 2 expect 0xffff          # the hang: all-ones after the timeout
read mmio 0x200000 4 expect 0xffffffff
wait 1ms
write pio 0xf4 1 0
exit 0
EOF
conf "$BROKEN/vdev-broken-read-hang.so" "timeout=200"
start=$(date +%s)
run "sim read hang, on-failure=ignore" 0 --backend sim --script "$tmp/hang.vmscript" \
	@"$tmp/vm.vmconf"
[ $(($(date +%s) - start)) -le 10 ] || bad "sim read hang: took $(($(date +%s) - start)) s"
once "sim read hang" "error: broken-read-hang.0: isolated plugin broken-read-hang did not answer within 200 ms \\(hung\\) during a read"
sed 's/^exit 0/exit 6/' "$tmp/hang.vmscript" >"$tmp/hang6.vmscript"
conf "$BROKEN/vdev-broken-read-hang.so" "on-failure=terminate,timeout=200"
run "sim read hang, on-failure=terminate" 6 --backend sim --script "$tmp/hang6.vmscript" \
	@"$tmp/vm.vmconf"
once "sim read hang, terminate" "did not answer within 200 ms \\(hung\\) during a read; the VM ends"

# ---- sim: a destroy that never returns does not hold vdm
printf 'read mmio 0x200000 4 expect 0x31464552\nwrite pio 0xf4 1 0\nexit 0\n' \
	>"$tmp/destroy.vmscript"
conf "$O/tests/teardown/vdev-destroy-hang.so" "timeout=200"
start=$(date +%s)
run "sim destroy hang" 0 --backend sim --script "$tmp/destroy.vmscript" @"$tmp/vm.vmconf"
[ $(($(date +%s) - start)) -le 10 ] || bad "sim destroy hang: took $(($(date +%s) - start)) s"
once "sim destroy hang" "isolated plugin destroy-hang did not answer within 1000 ms \\(hung\\) during destroy; its process is killed"

# ---- sim: a create that crashes: vdm reports it at the vdev and exits 64
printf 'system iso-test\nram 0,1M\nvdev %s loc 0x200000 intr isa:5 ticks 0 isolate\n' \
	"$BROKEN/vdev-broken-option-crash.so" >"$tmp/vm.vmconf"
run "sim create crash" 64 --backend sim --script "$tmp/destroy.vmscript" @"$tmp/vm.vmconf"
once "sim create crash" "vm.vmconf:3:1: vdev broken-option-crash.0 \\(broken-option-crash\\): create failed: isolated plugin broken-option-crash $FPE during create$"

# ---- sim: every broken conformance fixture isolated, under register
# pokes and time: vdm ends by itself every time (a config error, a failed
# create, or the script's end), never by a signal
cat >"$tmp/sweep.vmscript" <<'EOF'
read mmio 0x200000 4
write mmio 0x200004 4 3
write mmio 0x200010 4 1
read mmio 0x200013 4
read mmio 0x200021 2
wait 2ms
read mmio 0x20000c 4
write pio 0xf4 1 0
exit 0
EOF
swept=0
for so in "$BROKEN"/vdev-broken-*.so; do
	printf 'system sweep\nram 0,1M\nvdev %s loc 0x200000 intr isa:5 isolate timeout=200\nvdev debug-exit loc io:0xf4\n' \
		"$so" >"$tmp/vm.vmconf"
	timeout 60 env ISOLATE_TEST_TAG="$tag" "$VDM" --backend sim --script "$tmp/sweep.vmscript" \
		@"$tmp/vm.vmconf" >"$tmp/out" 2>&1
	rc=$?
	case $rc in
	0 | 64 | 65) ;;
	*)
		bad "sweep $(basename "$so"): exit $rc"
		sed 's/^/    | /' "$tmp/out"
		;;
	esac
	leftovers "sweep $(basename "$so")"
	swept=$((swept + 1))
done
[ $swept -ge 20 ] || bad "sweep: only $swept broken fixtures found"
echo "ok   sweep of $swept broken fixtures isolated"

# ---- config errors
conf "$BROKEN/vdev-broken-read-crash.so" "on-failure=maybe"
run "isolate on-failure=maybe" 65 --check @"$tmp/vm.vmconf"
once "isolate on-failure=maybe" "vm.vmconf:3:.*on-failure= takes ignore or terminate"
conf "$BROKEN/vdev-broken-read-crash.so" "timeout=0"
run "isolate timeout=0" 65 --check @"$tmp/vm.vmconf"
once "isolate timeout=0" "vm.vmconf:3:.*timeout=0 is out of range"
printf 'system iso-test\nram 0,1M\nvdev ioapic loc 0xfec00000 name myioapic isolate\n' \
	>"$tmp/vm.vmconf"
run "isolated interrupt controller" 65 --backend sim --check @"$tmp/vm.vmconf"
once "isolated interrupt controller" "vm.vmconf:3:.*isolate is not supported for an interrupt controller"

# ---- kvm
if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP kvm part: /dev/kvm not usable"
elif [ ! -f "$O/guests/hello.elf" ]; then
	echo "SKIP kvm part: $O/guests/hello.elf not built"
else
	kconf() { # UART-LINE
		cat >"$tmp/vm.vmconf" <<EOF
system iso-kvm
ram 0,16M
load $O/guests/hello.elf
cmdline expect=vdm-hello
$1
vdev debug-exit loc io:0xf4 success 0 isolate
EOF
	}
	kconf "vdev ser8250 loc io:0x3f8 hostdev >stdout isolate"
	run "kvm hello, ser8250 and debug-exit isolated" 0 --backend kvm @"$tmp/vm.vmconf"
	grep -q '^RESULT ok' "$tmp/out" || bad "kvm hello isolated: no RESULT ok"
	grep -q '^PASS hello' "$tmp/out" || bad "kvm hello isolated: no PASS hello"

	kconf "vdev $O/tests/isolate/vdev-uart-fault.so loc io:0x3f8 fault crash isolate"
	run "kvm UART crash, on-failure=ignore" 0 --backend kvm @"$tmp/vm.vmconf"
	once "kvm UART crash" "error: uart-fault.0: isolated plugin uart-fault $SEGV during a write; the device now reads as all-ones"

	kconf "vdev $O/tests/isolate/vdev-uart-fault.so loc io:0x3f8 fault hang isolate on-failure=terminate,timeout=300"
	run "kvm UART hang, on-failure=terminate" 6 --backend kvm @"$tmp/vm.vmconf"
	once "kvm UART hang" "error: uart-fault.0: isolated plugin uart-fault did not answer within 300 ms \\(hung\\) during a write; the VM ends \\(on-failure=terminate\\)"

	# the isolated process's filter: no fork, though vdm's own list has it
	kconf "vdev $O/tests/isolate/vdev-uart-fault.so loc io:0x3f8 fault fork isolate"
	run "kvm fork under set seccomp on" 0 --backend kvm @"$tmp/vm.vmconf" set seccomp on
	once "kvm fork refused" "uart-fault.0: fork: Operation not permitted"
	run "kvm fork under set seccomp off" 0 --backend kvm @"$tmp/vm.vmconf" set seccomp off
	once "kvm fork allowed" "uart-fault.0: fork: done"
fi

[ $fail = 0 ] && echo "PASS isolate"
exit $fail
