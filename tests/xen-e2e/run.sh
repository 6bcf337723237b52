#!/bin/sh
# tests/xen-e2e/run.sh: vdm on real Xen 4.17, under QEMU emulation.
#
# Fetches Debian's Xen, dom0 kernel and busybox (apt-get download, cached in
# build/xen-e2e/debs), packs a dom0 initramfs holding the toolstack, vdm, its
# plugins and the sample guests, boots Xen in qemu-system-x86_64 (TCG, SVM
# with NPT: Debian's Xen has no shadow paging), and lets dom0 run every
# guest of tests/xen-e2e/guests.list: xl create -p, vdm --domid, xl unpause
# (tests/xen-e2e/init.sh). Then checks each guest's PASS lines, RESULT ok,
# vdm's exit code and its log, and prints one runner line per guest.
# The console log stays in build/xen-e2e/<build>/console.log.
#
# Env: O, BIN, PLUGIN_DIR (tests/run-tests). Exit 0 all passed, 1 a
# failure, 77 (with "SKIP: why") when the packages cannot be fetched or
# QEMU, cpio tools or the build are missing. XEN_E2E_TIMEOUT bounds the
# QEMU run (seconds, default 270).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
HERE=tests/xen-e2e
WORK=${XEN_E2E_WORK:-build/xen-e2e}
DEBS=$WORK/debs
ROOT=$WORK/root
OUT=$WORK/$(basename "$O")
KVER=6.1.0-56-amd64
PKGS="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common libxenmisc4.17 libxenstore4
libxentoolcore1 libxenevtchn1 libxengnttab1 libxenforeignmemory1 libxendevicemodel1 libxencall1
libxentoollog1 libxenhypfs1 libyajl2 linux-image-$KVER busybox-static"
T_START=$(date +%s.%N)

skip() { echo "SKIP: $*"; exit 77; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
command -v dpkg-deb >/dev/null 2>&1 || skip "dpkg-deb missing"
[ -x "$BIN/vdm" ] || skip "$BIN/vdm not built"
for p in ser8250 debug-exit hpet timer8254 virtio-entropy virtio-blk; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || skip "vdev-$p.so not built"
done
grep -v '^#' "$HERE/guests.list" | while read -r name elf rest; do
	[ -n "$name" ] || continue
	[ -f "$O/guests/$elf.elf" ] || { echo "missing $O/guests/$elf.elf"; exit 1; }
done || skip "sample guests not built (make $O/guests/...)"

# ---- packages: fetched once, kept in build/xen-e2e/debs
mkdir -p "$DEBS" "$OUT"
missing=""
for p in $PKGS; do
	ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "fetching Debian packages:$missing"
	(cd "$DEBS" && timeout 180 apt-get -q download $missing) >"$WORK/apt.log" 2>&1 ||
		skip "cannot fetch the Debian packages (apt-get download$missing failed: $(tail -n 1 "$WORK/apt.log"))"
fi
stamp=$(ls "$DEBS" | md5sum | cut -c1-16)
if [ ! -f "$ROOT/.stamp-$stamp" ]; then
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	for d in "$DEBS"/*.deb; do dpkg-deb -x "$d" "$ROOT" || skip "cannot unpack $d"; done
	gunzip -c "$ROOT/boot/xen-4.17-amd64.gz" >"$ROOT/xen" # QEMU's multiboot loader wants the ELF
	touch "$ROOT/.stamp-$stamp"
fi
BUSYBOX=$ROOT/bin/busybox
[ -x "$BUSYBOX" ] || skip "busybox-static did not unpack"

# ---- dom0 initramfs
T_PACK=$(now)
IR=$OUT/initrd
rm -rf "$IR"
mkdir -p "$IR/bin" "$IR/lib64" "$IR/lib/modules" "$IR/lib/vdm" \
	"$IR/usr/lib/xen-4.17/bin" "$IR/etc/xen" "$IR/var/lib/xen" "$IR/var/lib/xenstored" \
	"$IR/var/log/xen" "$IR/proc" "$IR/sys" "$IR/dev" "$IR/run" "$IR/tmp" "$IR/guests" "$IR/e2e"
ln -s ../run "$IR/var/run"
cp "$BUSYBOX" "$IR/bin/busybox"
: >"$IR/etc/xen/xl.conf"
echo "root:x:0:0:root:/:/bin/sh" >"$IR/etc/passwd"
echo "root:x:0:" >"$IR/etc/group"
XB=$ROOT/usr/lib/xen-4.17/bin
for t in xl xenstored xenconsoled xen-init-dom0; do cp "$XB/$t" "$IR/usr/lib/xen-4.17/bin/"; done
cp "$BIN/vdm" "$IR/bin/vdm"
cp "$PLUGIN_DIR"/vdev-*.so "$IR/lib/vdm/"
MD=$ROOT/lib/modules/$KVER/kernel/drivers/xen
for m in xen-privcmd.ko xenfs/xenfs.ko xen-evtchn.ko xen-gntdev.ko xen-gntalloc.ko; do
	cp "$MD/$m" "$IR/lib/modules/" || skip "kernel module $m missing from linux-image-$KVER"
done
# Libraries: what ldd resolves (the packages' own libxen* first), plus
# libgcc_s (glibc loads it for pthread_cancel; xl aborts without it).
LIBS=$(for f in "$IR"/usr/lib/xen-4.17/bin/* "$IR/bin/vdm" "$IR"/lib/vdm/*.so; do
	LD_LIBRARY_PATH=$(pwd)/$ROOT/usr/lib/x86_64-linux-gnu ldd "$f" 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u)
# They go to /lib: with no ld.so.cache the loader searches only /lib, /usr/lib.
for l in $LIBS $(gcc -print-file-name=libgcc_s.so.1); do
	cp -L "$l" "$IR/lib/" || exit 1
done
ln -s ../lib/ld-linux-x86-64.so.2 "$IR/lib64/ld-linux-x86-64.so.2"
# Guests, their vdm configs and xl configs, the list, the script.
grep -v '^#' "$HERE/guests.list" | while read -r name elf vcpus cmdline; do
	[ -n "$name" ] || continue
	cp "$O/guests/$elf.elf" "$IR/guests/"
	cp "$HERE/$name.vmconf" "$IR/e2e/"
	cat >"$IR/e2e/$name.cfg" <<EOC
type = "pvh"
name = "$name"
kernel = "/guests/$elf.elf"
memory = 16
vcpus = $vcpus
cmdline = "$cmdline"
on_poweroff = "preserve"
on_crash = "preserve"
EOC
	echo "$name" >>"$IR/e2e/guests"
done
cp "$HERE/init.sh" "$IR/init"
chmod 755 "$IR/init"
(cd "$IR" && find . | "$OLDPWD/$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -1 >"$OUT/initrd.cpio.gz" ||
	{ echo "cannot pack the initramfs"; exit 1; }
T_BOOT=$(now)

# ---- boot: each console line is stamped with the host's seconds since boot
LOG=$OUT/console.log
: >"$LOG"
timeout "${XEN_E2E_TIMEOUT:-270}" qemu-system-x86_64 -machine q35 -cpu qemu64,+svm,+npt,+rdrand \
	-m 2048 -smp 2 -nographic -no-reboot -kernel "$ROOT/xen" \
	-append "console=com1 com1=115200 dom0_mem=1024M dom0_max_vcpus=2 loglvl=all guest_loglvl=all" \
	-initrd "$ROOT/boot/vmlinuz-$KVER console=hvc0 earlyprintk=xen loglevel=4,$OUT/initrd.cpio.gz" \
	</dev/null 2>&1 | sed -u 's/\r*$//' | while IFS= read -r line; do
		echo "$(secs "$T_BOOT" "$(now)") $line"
	done >"$LOG"
T_END=$(now)

# ---- results
fail=0
say() { echo "$*"; }
ready=$(awk '/E2E dom0-ready/ { print $1; exit }' "$LOG")
if [ -z "$ready" ]; then
	say "FAIL  xen-e2e/boot: dom0 never became ready, console: $LOG"
	tail -n 40 "$LOG" | sed 's/^/    | /'
	exit 1
fi
say "PASS  xen-e2e/boot: Xen and dom0 up in $ready s (toolstack running)"
# Guest lines as dom0 printed them: "E2E <guest> <kind> <text>".
field() { # guest kind -> texts
	sed -n "s/^[0-9.]* E2E $1 $2 //p" "$LOG"
}
grep -v '^#' "$HERE/guests.list" | while read -r name elf vcpus cmdline; do
	[ -n "$name" ] || continue
	why=""
	end=$(field "$name" end)
	if [ -z "$end" ]; then
		why="never ran to the end (timeout?)"
	else
		rc=$(echo "$end" | sed -n 's/.*vdm-exit \([^ ]*\).*/\1/p')
		t=$(echo "$end" | sed -n 's/.*secs \([^ ]*\).*/\1/p')
		serial=$(field "$name" serial)
		vlog=$(field "$name" log)
		for pass in $(sed -n "s/^# pass $name: //p" "$HERE/guests.list"); do
			echo "$serial" | grep -qx "PASS $pass" || why="$why; no \"PASS $pass\""
		done
		echo "$serial" | grep -q '^FAIL' && why="$why; $(echo "$serial" | grep -m1 '^FAIL')"
		echo "$serial" | grep -qx 'RESULT ok' || why="$why; no \"RESULT ok\""
		[ "$rc" = 0 ] || why="$why; vdm exited $rc, want 0"
		echo "$vlog" | grep -q 'attached' || why="$why; vdm never logged \"attached\""
		bad=$(echo "$vlog" | grep -E ' (error|fatal|warn)[a-z]*: ' | head -n 1)
		[ -z "$bad" ] || why="$why; vdm log: $bad"
		wants=$(sed -n "s/^# vdm-log $name: //p" "$HERE/guests.list")
		while IFS= read -r want; do
			[ -z "$want" ] || echo "$vlog" | grep -qF "$want" || why="$why; vdm log lacks \"$want\""
		done <<EOW
$wants
EOW
	fi
	if [ -z "$why" ]; then
		say "PASS  xen-e2e/$name ($t s: xl create -p, vdm, unpause, power-off)"
	else
		say "FAIL  xen-e2e/$name:${why#;}"
		grep " E2E $name " "$LOG" | tail -n 30 | sed 's/^/    | /'
		echo fail >"$OUT/failed"
	fi
done
[ -f "$OUT/failed" ] && { rm -f "$OUT/failed"; fail=1; }
off=$(awk '/E2E dom0-poweroff/ { print $1; exit }' "$LOG")
say "xen-e2e: packing $(secs "$T_PACK" "$T_BOOT") s, boot $ready s, guests done at ${off:-?} s, QEMU ended at $(secs "$T_BOOT" "$T_END") s, total $(secs "$T_START" "$T_END") s; console: $LOG"
exit $fail
