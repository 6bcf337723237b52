#!/bin/sh
# tests/xen-e2e/linux/mkimage.sh ROOT KVER OUT RANDREAD: the Linux guest of
# the Xen run (tests/xen-e2e/linux.list), built without loop mounts or root:
#   OUT/boot.img  FAT (mkfs.vfat, label VDMBOOT) with syslinux's boot
#                 sector and ldlinux (`syslinux --install`, through mtools),
#                 syslinux.cfg, Debian's vmlinuz and our initrd.gz; no
#                 partition table (SeaBIOS boots the volume's boot sector)
#   OUT/data.img  an empty FAT (label VDMDATA) the guest writes into
# The initrd holds busybox-static, tests/xen-e2e/linux/init, RANDREAD and
# the kernel modules the guest needs (the kernel has virtio, virtio-pci,
# virtio-blk, hw_random's virtio-rng, FAT, the NLS tables FAT mounts need by default (cp437, ascii, utf8), virtio-net and
# virtio-console as modules), in dependency order read from each module's
# .modinfo (the .deb has no modules.dep). ROOT is the unpacked packages of
# tests/xen-e2e/run.sh (linux-image-KVER, busybox-static). Needs mtools,
# dosfstools, syslinux, syslinux-common and objcopy (DEB_PACKAGES).
# Reuses OUT when its inputs did not change. Exit 77 with "SKIP: why" when
# a tool is missing.
set -eu
ROOT=$1 KVER=$2 OUT=$3 RANDREAD=$4
HERE=tests/xen-e2e/linux
MODS=$ROOT/lib/modules/$KVER
# The modules /init loads (their dependencies are found below)
WANT="virtio_pci virtio_blk virtio-rng vfat nls_cp437 nls_ascii nls_utf8 virtio_net virtio_console"
MBR_DIR=/usr/lib/syslinux

for t in mkfs.vfat mcopy syslinux objcopy; do
	command -v $t >/dev/null 2>&1 || { echo "SKIP: $t missing (make deps: dosfstools, mtools, syslinux)"; exit 77; }
done
key=$(cat "$0" "$HERE/init" "$RANDREAD" "$ROOT/boot/vmlinuz-$KVER" "$ROOT/bin/busybox" | md5sum | cut -c1-16)
[ -f "$OUT/.stamp-$key" ] && exit 0
rm -rf "$OUT"
mkdir -p "$OUT/initrd/bin" "$OUT/initrd/lib/modules" "$OUT/initrd/proc" "$OUT/initrd/sys" \
	"$OUT/initrd/dev" "$OUT/initrd/tmp"

# name -> path of the .ko (names use - and _ interchangeably)
ko_path() {
	n=$(echo "$1" | tr '_-' '..')
	p=$(grep -E "/$n\.ko$" "$MODS/modules.order" | head -n 1)
	[ -n "$p" ] || { echo "mkimage: module $1 not in linux-image-$KVER" >&2; exit 1; }
	echo "$MODS/$p"
}
# emits the module's dependencies (depth first), then the module, once each
add_mod() {
	grep -qx "$1" "$OUT/load" 2>/dev/null && return 0
	ko=$(ko_path "$1")
	objcopy -O binary -j .modinfo "$ko" "$OUT/modinfo"
	deps=$(tr '\0' '\n' <"$OUT/modinfo" | sed -n 's/^depends=//p' | tr ',' ' ')
	for d in $deps; do add_mod "$d"; done
	# (sh has no local variables: the recursion overwrote ko)
	cp "$(ko_path "$1")" "$OUT/initrd/lib/modules/$1.ko"
	echo "$1" >>"$OUT/load"
}
: >"$OUT/load"
for m in $WANT; do add_mod "$m"; done
rm -f "$OUT/modinfo"
cp "$OUT/load" "$OUT/initrd/lib/modules/load"
cp "$ROOT/bin/busybox" "$OUT/initrd/bin/busybox"
cp "$RANDREAD" "$OUT/initrd/bin/randread"
cp "$HERE/init" "$OUT/initrd/init"
chmod 755 "$OUT/initrd/init"
BB=$(cd "$ROOT/bin" && pwd)/busybox
(cd "$OUT/initrd" && find . | "$BB" cpio -o -H newc 2>/dev/null) | gzip -9 >"$OUT/initrd.gz"
[ "$(stat -c %s "$OUT/initrd.gz")" -gt 100000 ] || { echo "mkimage: packing the initrd failed" >&2; exit 1; }

# quiet: every byte on ttyS0 is a trapped port access served by the device
# model (ser8250: LSR polled, THR written, a round trip each), which at a few
# ms per round trip under TCG makes a full boot log cost minutes; so the
# kernel prints warnings only, and earlyprintk=xen,keep also sends them to
# port 0xe9, which Xen itself prints as "(dN)" lines on its console (no
# device model involved, so they show even when the serial path is what
# broke). panic=1 reboots, which ends the domain (on_reboot = "destroy").
cat >"$OUT/syslinux.cfg" <<EOC
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND console=ttyS0,115200 quiet earlyprintk=xen,keep panic=1
EOC
kb=$(( ($(stat -c %s "$ROOT/boot/vmlinuz-$KVER") + $(stat -c %s "$OUT/initrd.gz")) / 1024 + 2048 ))
mkfs.vfat -C -n VDMBOOT "$OUT/boot.img.new" $kb >/dev/null
syslinux --install "$OUT/boot.img.new"
MTOOLS_SKIP_CHECK=1 mcopy -i "$OUT/boot.img.new" "$ROOT/boot/vmlinuz-$KVER" ::vmlinuz
MTOOLS_SKIP_CHECK=1 mcopy -i "$OUT/boot.img.new" "$OUT/initrd.gz" "$OUT/syslinux.cfg" ::
mkfs.vfat -C -n VDMDATA "$OUT/data.img.new" 8192 >/dev/null
mv "$OUT/boot.img.new" "$OUT/boot.img"
mv "$OUT/data.img.new" "$OUT/data.img"
rm -rf "$OUT/initrd"
touch "$OUT/.stamp-$key"
