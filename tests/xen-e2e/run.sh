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
# HVM guests (tests/xen-e2e/hvm.list) start with plain `xl create`, libxl
# spawning vdm as their device model (xl mode, /lib/vdm/xl-dm) on the HVM
# platform; they run when vdm has xl mode and their plugins are built, and
# are listed as SKIP otherwise. XEN_E2E_ONLY=NAME... runs only those guests
# (PVH or HVM), for working on one.
# The console log stays in build/xen-e2e/<build>/console.log.
#
# Env: O, BIN, PLUGIN_DIR (tests/run-tests). Exit 0 all passed, 1 a
# failure, 77 (with "SKIP: why") when the packages cannot be fetched or
# QEMU, cpio tools or the build are missing. XEN_E2E_TIMEOUT bounds the
# QEMU run (seconds, default 600); XEN_E2E_ONLY=NAME... runs only those
# guests (PVH or HVM).
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
libxentoollog1 libxenhypfs1 libyajl2 linux-image-$KVER busybox-static seabios xenstore-utils"
T_START=$(date +%s.%N)
ONLY=${XEN_E2E_ONLY:-}
wanted() { [ -z "$ONLY" ] || echo " $ONLY " | grep -q " $1 "; }

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
printf 'root:x:0:0:root:/:/bin/sh\nxen-qemuuser-shared:x:990:990::/:/bin/false\n' >"$IR/etc/passwd"
printf 'root:x:0:\nxen-qemuuser-shared:x:990:\n' >"$IR/etc/group"
XB=$ROOT/usr/lib/xen-4.17/bin
for t in xl xenstored xenconsoled xen-init-dom0 libxl-save-helper; do cp "$XB/$t" "$IR/usr/lib/xen-4.17/bin/"; done
cp "$BIN/vdm" "$IR/bin/vdm"
cp "$PLUGIN_DIR"/vdev-*.so "$IR/lib/vdm/"
# HVM (hvm.list): hvmloader and SeaBIOS where libxl looks, xenstore-read for
# the checks, and the wrapper device_model_override names
mkdir -p "$IR/usr/lib/xen-4.17/boot" "$IR/usr/share/seabios"
cp "$ROOT/usr/lib/xen-4.17/boot/hvmloader" "$IR/usr/lib/xen-4.17/boot/"
cp "$ROOT/usr/share/seabios/bios-256k.bin" "$IR/usr/share/seabios/"
cp "$ROOT/usr/bin/xenstore" "$IR/bin/xenstore"
for t in read ls exists; do ln -s xenstore "$IR/bin/xenstore-$t"; done
sed 's|@VDM@|/bin/vdm|' devmodel/xl/xl-dm.in >"$IR/lib/vdm/xl-dm"
# the HVM platform fragment where vdm looks for it (<dir of vdm>/../share/vdm)
if [ -f "$O/share/vdm/hvm-platform.vmconf" ]; then
	mkdir -p "$IR/share/vdm"
	cp "$O/share/vdm/hvm-platform.vmconf" "$IR/share/vdm/"
fi
chmod 755 "$IR/lib/vdm/xl-dm"
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
	wanted "$name" || continue
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
# HVM guests: firmware, the xl-dm wrapper, the platform fragment, xl configs.
hvm_ok=""
# (vdm's xl mode, devmodel/xl/, takes libxl's argv after --xl-dm; --help does not list it)
if grep -qa -- '--xl-dm' "$BIN/vdm"; then
	hvm_ok=yes
	# (hvmloader, SeaBIOS, xenstore, the xl-dm wrapper and the platform
	# fragment were copied in above)
fi
: >"$OUT/hvm-skipped"
grep -v '^#' "$HERE/hvm.list" | while read -r name disk files needs; do
	[ -n "$name" ] || continue
	wanted "$name" || continue
	why=""
	[ -n "$hvm_ok" ] || why="vdm has no xl mode (--xl-dm)"
	for p in $(echo "$needs" | tr ',' ' '); do
		[ "$p" = - ] || [ -f "$PLUGIN_DIR/vdev-$p.so" ] || why="${why:+$why; }vdev-$p.so not built"
	done
	for f in $disk $(echo "$files" | tr ',' ' '); do
		[ "$f" = - ] || [ -f "$O/guests/$f" ] || why="${why:+$why; }$O/guests/$f not built"
	done
	if [ -n "$why" ]; then
		echo "$name $why" >>"$OUT/hvm-skipped"
		continue
	fi
	for f in $(echo "$files" | tr ',' ' '); do
		[ "$f" = - ] || cp "$O/guests/$f" "$IR/guests/"
	done
	args_line=""
	if [ -f "$HERE/$name.vmconf" ]; then
		cp "$HERE/$name.vmconf" "$IR/e2e/"
		args_line="device_model_args = [ \"-vdm-config\", \"/e2e/$name.vmconf\" ]"
	fi
	disk_line=""
	if [ "$disk" != - ]; then
		cp "$O/guests/$disk" "$IR/guests/"
		# backendtype=qdisk: the PV backend is the device model's, which vdm
		# declines (Closed); a plain disk= makes libxl wait for blkback's vbd
		# before it starts vdm, and dom0 here has no blkback (docs/xen.md)
		disk_line="disk = [ \"format=raw,vdev=hda,access=rw,backendtype=qdisk,target=/guests/$disk\" ]"
	fi
	cat >"$IR/e2e/$name.cfg" <<EOC
type = "hvm"
name = "$name"
memory = 64
vcpus = 1
device_model_version = "qemu-xen"
device_model_override = "/lib/vdm/xl-dm"
vga = "none"
vnc = 0
serial = "file:/tmp/$name.serial"
boot = "c"
$disk_line
$args_line
on_poweroff = "destroy"
on_reboot = "destroy"
on_crash = "preserve"
EOC
	echo "$name" >>"$IR/e2e/hvm-guests"
done
# The device-model lifecycle guests (hvm-dm.list): libxl's view of vdm.
grep -v '^#' "$HERE/hvm-dm.list" | while read -r name disk what; do
	[ -n "$name" ] || continue
	wanted "$name" || continue
	[ -n "$hvm_ok" ] || continue
	cat >"$IR/e2e/$name.cfg" <<EOC
type = "hvm"
name = "$name"
memory = 32
vcpus = 1
device_model_version = "qemu-xen"
device_model_override = "/lib/vdm/xl-dm"
device_model_args = [ "-vdm-plugin-path", "/lib/vdm" ]
vnc = 0
vga = "none"
serial = "pty"
boot = "c"
on_poweroff = "preserve"
on_crash = "preserve"
EOC
	# dm_restrict: libxl passes the QMP socket and -S, waits for query-status
	[ "$what" = restrict ] && echo 'dm_restrict = 1' >>"$IR/e2e/$name.cfg"
	if [ "$disk" != "-" ]; then
		cp "$O/guests/$disk" "$IR/guests/"
		echo "disk = [ \"format=raw, vdev=hda, access=rw, backendtype=qdisk, target=/guests/$disk\" ]" >>"$IR/e2e/$name.cfg"
	fi
	echo "$name $what" >>"$IR/e2e/hvm-dm-guests"
done
cp "$HERE/init.sh" "$IR/init"
chmod 755 "$IR/init"
(cd "$IR" && find . | "$OLDPWD/$BUSYBOX" cpio -o -H newc 2>/dev/null) | gzip -1 >"$OUT/initrd.cpio.gz" ||
	{ echo "cannot pack the initramfs"; exit 1; }
T_BOOT=$(now)

# ---- boot: each console line is stamped with the host's seconds since boot
LOG=$OUT/console.log
: >"$LOG"
timeout "${XEN_E2E_TIMEOUT:-600}" qemu-system-x86_64 -machine q35 -cpu qemu64,+svm,+npt,+rdrand \
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
	wanted "$name" || continue
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
# HVM guests: "E2E <guest> <kind> <text>" with kinds serial, dmesg, log (vdm's
# qemu-dm log), xl (xl create's output), end.
while read -r name why; do
	[ -n "$name" ] && say "SKIP  xen-e2e/$name: $why"
done <"$OUT/hvm-skipped"
grep -v '^#' "$HERE/hvm.list" | while read -r name disk files needs; do
	[ -n "$name" ] || continue
	wanted "$name" || continue
	grep -q "^$name " "$OUT/hvm-skipped" && continue
	why=""
	end=$(field "$name" end)
	if [ -z "$end" ]; then
		why="never ran to the end (timeout?)"
	else
		t=$(echo "$end" | sed -n 's/.*secs \([^ ]*\).*/\1/p')
		serial=$(field "$name" serial)
		dmesg=$(field "$name" dmesg)
		vlog=$(field "$name" log)
		echo "$end" | grep -q 'xl-create 0 ' || why="$why; xl create failed: $(field "$name" xl | tail -n 1)"
		want_end=$(sed -n "s/^# end $name: //p" "$HERE/hvm.list")
		echo "$end" | grep -q "ended $want_end" || why="$why; the domain did not end by $want_end ($end)"
		echo "$end" | grep -q 'vdm-left no' || why="$why; vdm still running after the domain"
		echo "$end" | grep -q 'dm-key no' || why="$why; the device-model xenstore key was left behind"
		for pass in $(sed -n "s/^# pass $name: //p" "$HERE/hvm.list" | tr ' ' '_'); do
			echo "$serial" | tr ' ' '_' | grep -qx "PASS_$pass" || why="$why; no \"PASS $(echo "$pass" | tr '_' ' ')\""
		done
		echo "$serial" | grep -q '^FAIL' && why="$why; $(echo "$serial" | grep -m1 '^FAIL')"
		bad=$(echo "$vlog" | grep -E ' (error|fatal)[a-z]*: ' | head -n 1)
		[ -z "$bad" ] || why="$why; vdm log: $bad"
		# -no-shutdown: vdm waits for libxl's SIGHUP after the guest's end
		field "$name" xl-log | grep -q 'Device Model already exited' &&
			why="$why; libxl: \"Device Model already exited\" (vdm did not wait for its SIGHUP)"
		for kind in dmesg vdm-log; do
			wants=$(sed -n "s/^# $kind $name: //p" "$HERE/hvm.list")
			[ $kind = dmesg ] && have=$dmesg || have=$vlog
			while IFS= read -r want; do
				[ -z "$want" ] || echo "$have" | grep -qF "$want" || why="$why; $kind lacks \"$want\""
			done <<EOW
$wants
EOW
		done
	fi
	if [ -z "$why" ]; then
		say "PASS  xen-e2e/$name ($t s: xl create, vdm as libxl's device model, hvmloader, SeaBIOS, $(sed -n "s/^# end $name: //p" "$HERE/hvm.list"))"
	else
		say "FAIL  xen-e2e/$name:${why#;}"
		grep " E2E $name " "$LOG" | tail -n 60 | sed 's/^/    | /'
		echo fail >"$OUT/failed"
	fi
done
# Device-model lifecycle guests (hvm-dm.list): "E2E <guest> hvm-end key value ..." from dom0
grep -v '^#' "$HERE/hvm-dm.list" | while read -r name disk what; do
	[ -n "$name" ] || continue
	wanted "$name" || continue
	[ -n "$hvm_ok" ] || { say "SKIP  xen-e2e/$name: vdm has no xl mode (--xl-dm)"; continue; }
	end=$(field "$name" hvm-end)
	dmlog=$(field "$name" log)
	saverlog=$(field "$name" saver-log)
	why=""
	val() { echo "$end" | sed -n "s/.*\(^\| \)$1 \([^ ]*\).*/\2/p"; }
	if [ -z "$end" ]; then
		why="never ran to the end (timeout?)"
	else
		[ "$(val xl-create)" = 0 ] || why="$why; xl create exited $(val xl-create)"
		if [ "$what" = restrict ]; then
			# -S: readiness is query-status "prelaunch", and no key is written
			[ "$(val state-key)" = none ] || why="$why; a state key with dm_restrict: $(val state-key)"
		else
			[ "$(val state-key)" = running ] || why="$why; device-model state key: $(val state-key)"
		fi
		case "$(val tty)" in /dev/pts/*) ;; *) why="$why; no serial pty from query-chardev ($(val tty))" ;; esac
		[ "$(val vdm-after-destroy)" = gone ] || why="$why; vdm still there after xl destroy"
		[ "$(val qmp-socket)" = gone ] || why="$why; QMP socket left behind"
		[ "$(val dm-key)" = gone ] || why="$why; xenstore device-model key left behind"
		if [ "$what" = save ]; then
			[ "$(val saved)" = 0 ] || why="$why; xl save exited $(val saved)"
			[ "$(val saver-after-save)" = gone ] || why="$why; the saving vdm still runs"
			[ "$(val saver-qmp)" = gone ] || why="$why; the saving vdm left its QMP socket"
			[ "$(val restored)" = 0 ] || why="$why; xl restore exited $(val restored)"
			[ "$(val restored-key)" = running ] || why="$why; restored device model not running"
			echo "$saverlog" | grep -qF "qmp: xen-save-devices-state: every device's state written" ||
				why="$why; the saving vdm did not write the devices' state"
			echo "$dmlog" | grep -qF -- "-incoming: every device's state restored" ||
				why="$why; the restored vdm did not restore the devices' state"
			bad=$(echo "$saverlog" | grep -E ' (error|fatal)[a-z]*: ' | head -n 1)
			[ -z "$bad" ] || why="$why; saving vdm log: $bad"
		fi
		bad=$(echo "$dmlog" | grep -E ' (error|fatal)[a-z]*: ' | head -n 1)
		[ -z "$bad" ] || why="$why; vdm log: $bad"
		wants=$(sed -n "s/^# dm-log \($name\|all\): //p" "$HERE/hvm-dm.list")
		while IFS= read -r want; do
			[ -z "$want" ] || echo "$dmlog" | grep -qF "$want" || why="$why; vdm log lacks \"$want\""
		done <<EOW
$wants
EOW
	fi
	if [ -z "$why" ]; then
		case "$what" in
		save) how="state key, QMP query-chardev + cont, xl save + xl restore" ;;
		restrict) how="dm_restrict: passed QMP socket, -S, query-status, restricted and unprivileged, cont" ;;
		*) how="state key, QMP query-chardev + cont" ;;
		esac
		say "PASS  xen-e2e/$name ($(val secs) s: xl create with vdm as the HVM device model, $how, xl destroy leaves nothing)"
	else
		say "FAIL  xen-e2e/$name:${why#;}"
		grep " E2E $name " "$LOG" | tail -n 40 | sed 's/^/    | /'
		echo fail >"$OUT/failed"
	fi
done
[ -f "$OUT/failed" ] && { rm -f "$OUT/failed"; fail=1; }
off=$(awk '/E2E dom0-poweroff/ { print $1; exit }' "$LOG")
say "xen-e2e: packing $(secs "$T_PACK" "$T_BOOT") s, boot $ready s, guests done at ${off:-?} s, QEMU ended at $(secs "$T_BOOT" "$T_END") s, total $(secs "$T_START" "$T_END") s; console: $LOG"
exit $fail
