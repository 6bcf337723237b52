#!/bin/sh
# tests/bench/blk.sh: virtio-blk from inside a guest, vdm's kvm backend
# (vdev-virtio-blk over virtio-mmio) with each of its two aio backends
# (aio threads: the I/O threads; aio io_uring: the kernel's ring) against
# QEMU microvm's virtio-blk-device (modern virtio-mmio, cache=writeback
# as vdm's page cache writes, aio=threads) on copies of one 64 MiB image,
# in the same run.
#
# All boot samples/guests/blkbench.elf, which times itself with the 8254:
# 4 KiB random reads and writes (IOPS) and 64 KiB sequential reads and
# writes (MB/s), 4 requests in flight, the used ring polled, FLUSH
# negotiated (every side then keeps a write cache, as with Linux). Each
# side runs BLK_RUNS times (default 3), the sides interleaved (threads,
# io_uring, QEMU, threads, ...) so that a load change on a shared host
# hits them alike. Output (tests/bench/run convention): one line a
# workload with the median of each side, (min-max) after it, and two
# ratios: io_uring/threads (above 1: the ring is faster) and ratio = vdm's
# default backend / QEMU (above 1: vdm is faster). Without QEMU: the vdm
# figures and a "SKIP qemu" line. BENCH_SECONDS is not used: each workload
# runs BLK_MS (default 400) ms of guest time.
# Env: O, BIN, PLUGIN_DIR; BLK_MS, BLK_QD, BLK_RUNS.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
MS=${BLK_MS:-400}
QD=${BLK_QD:-4}
RUNS=${BLK_RUNS:-3}
QEMU=${QEMU:-qemu-system-x86_64}
skip() { echo "SKIP: $*"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable: not accessible"
[ -x "$BIN/vdm" ] || skip "$BIN/vdm not built"
[ -f "$O/guests/blkbench.elf" ] || skip "$O/guests/blkbench.elf not built"
for p in virtio-blk timer8254 ser8250 debug-exit; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || skip "vdev-$p.so not built"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
append="virtio_mmio.device=512@0xfeb00000:5 qd=$QD ms=$MS"

# The guest's lines, checked: every workload there, every PASS.
check_console() { # file, who
	for w in randread-4k randwrite-4k seqread-64k seqwrite-64k; do
		grep -q "^bench $w ops" "$1" && grep -q "^PASS blkbench-$w" "$1" || {
			echo "blk: $2 run failed for $w" >&2
			cat "$1" >&2
			return 1
		}
	done
}

# allocated, not sparse: block allocation on first write is not what is measured
dd if=/dev/zero of="$tmp/vdm.img" bs=1M count=64 2>/dev/null
cp "$tmp/vdm.img" "$tmp/qemu.img"

# vdm_run AIO N: one vdm run with `aio AIO`; the console in $tmp/con.AIO.N
vdm_run() {
	cat >"$tmp/vm.vmconf" <<EOC
system blkbench-$$
ram 0,16M
load $O/guests/blkbench.elf
cmdline "$append"
vdev ioapic loc mem:0xfec00000 intr apic name ioapic
vdev timer8254
vdev virtio-blk loc 0xfeb00000 intr ioapic:5 hostdev $tmp/vdm.img aio $1
vdev ser8250 loc io:0x3f8 hostdev >$tmp/con.$1.$2
vdev debug-exit loc io:0xf4
EOC
	"$BIN/vdm" --backend kvm --plugin-path "$PLUGIN_DIR" @"$tmp/vm.vmconf" 2>"$tmp/err" </dev/null
	rc=$?
	[ $rc -eq 0 ] || { echo "blk: vdm (aio $1) exit $rc" >&2; cat "$tmp/err" "$tmp/con.$1.$2" >&2; exit 1; }
	# the backend asked for is the one measured
	if [ "$1" = io_uring ] && grep -q "aio io_uring unavailable" "$tmp/err"; then
		echo "SKIP: aio io_uring unavailable here: $(grep unavailable "$tmp/err")"
		exit 77
	fi
	check_console "$tmp/con.$1.$2" "vdm (aio $1)" || exit 1
}

# qemu_run N: one QEMU run; the console in $tmp/con.qemu.N
qemu_run() {
	# microvm passes the device's own virtio_mmio.device=; the guest takes the first
	timeout 120 "$QEMU" -M microvm,acpi=off,pit=on -accel kvm -m 64 -nodefaults \
		-no-user-config -nographic -serial file:"$tmp/con.qemu.$1" \
		-global virtio-mmio.force-legacy=false \
		-drive file="$tmp/qemu.img",if=none,id=d0,format=raw,cache=writeback,aio=threads \
		-device virtio-blk-device,drive=d0 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x01 \
		-kernel "$O/guests/blkbench.elf" -append "qd=$QD ms=$MS" >/dev/null 2>"$tmp/qerr" </dev/null
	rc=$?
	[ $rc -eq 1 ] || { echo "blk: qemu status $rc" >&2; cat "$tmp/qerr" "$tmp/con.qemu.$1" >&2; exit 1; }
	check_console "$tmp/con.qemu.$1" qemu || exit 1
}

have_qemu=1
command -v "$QEMU" >/dev/null 2>&1 || have_qemu=0
n=1
while [ $n -le "$RUNS" ]; do
	vdm_run threads $n
	vdm_run io_uring $n
	[ $have_qemu = 0 ] || qemu_run $n
	n=$((n + 1))
done

# figures SIDE WORKLOAD KIND: each run's IOPS (kind iops) or MB/s (kind mbs)
# from "bench W ops N bytes B us T", one a line.
figures() {
	for f in "$tmp/con.$1".*; do
		awk -v w="$2" -v k="$3" '$1 == "bench" && $2 == w {
			if ($8 <= 0) { print 0; exit }
			if (k == "iops") printf "%.0f\n", $4 * 1e6 / $8
			else printf "%.1f\n", $6 / $8 }' "$f"
	done
}
# stats: "median min max" of the numbers on stdin
stats() {
	sort -g | awk '{ v[++n] = $1 } END {
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		print m, v[1], v[n] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "inf"; else printf "%.2f", a / b }'; }

# the device's default, as its option schema says
default=$("$BIN/vdm" --plugin-path "$PLUGIN_DIR" --describe virtio-blk |
	awk '$1 == "aio" && $3 == "default" { print $4 }')
[ -n "$default" ] || { echo "blk: no aio default in vdm --describe virtio-blk" >&2; exit 1; }
for spec in randread-4k:iops:IOPS randwrite-4k:iops:IOPS seqread-64k:mbs:MB/s seqwrite-64k:mbs:MB/s; do
	w=${spec%%:*}
	rest=${spec#*:}
	kind=${rest%%:*}
	unit=${rest#*:}
	set -- $(figures threads "$w" "$kind" | stats)
	t=$1 tmin=$2 tmax=$3
	set -- $(figures io_uring "$w" "$kind" | stats)
	u=$1 umin=$2 umax=$3
	line="blk $w: threads $t $unit ($tmin-$tmax), io_uring $u $unit ($umin-$umax)"
	line="$line, io_uring/threads $(ratio "$u" "$t")"
	if [ $have_qemu = 1 ]; then
		set -- $(figures qemu "$w" "$kind" | stats)
		q=$1 qmin=$2 qmax=$3
		[ "$default" = threads ] && d=$t || d=$u
		line="$line, qemu $q $unit ($qmin-$qmax), ratio $(ratio "$d" "$q")"
	fi
	echo "$line"
done
[ $have_qemu = 1 ] || echo "SKIP qemu: $QEMU not installed"
exit 0
