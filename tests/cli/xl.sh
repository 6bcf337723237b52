#!/bin/sh
# vdm in xl mode (started by libxl with QEMU's command line, devmodel/xl/):
# refusals exit 65 naming the argument and the xl.cfg setting; -vdm-print
# shows the translation; a vdev whose plugin is missing is named before Xen
# is touched; the installed wrapper lib/vdm/xl-dm passes its arguments on.
set -u
. tests/cli/lib.sh
export VDM_HVM_PLATFORM=none
QMP="socket,id=libxl-cmd,path=$TMP/qmp-libxl-3,server=on,wait=off"

run vnc 65 -xen-domid 3 -chardev "$QMP" -name g -vnc 127.0.0.1:0,to=99 -m 64
expect vnc err "error: -vnc 127.0.0.1:0,to=99"
expect vnc err "set vnc=0"
expect vnc err "the guest's device model did not start"

run vga 65 -xen-domid 3 -chardev "$QMP" -device cirrus-vga,vgamem_mb=8 -m 64
expect vga err 'vga="none"'

run unknown 65 -xen-domid 3 -chardev "$QMP" -m 64 -no-such-option 1
expect unknown err "-no-such-option 1: unknown option"

run noqmp 65 -xen-domid 3 -m 64
expect noqmp err "missing the QMP socket"

run print 0 --xl-dm -xen-domid 3 -chardev "$QMP" -name g -serial pty -m 64 -vdm-print
expect print out "system g"
expect print out "vdev ser8250 loc io:0x3f8 intr isa:4 name serial0 hostdev pty	# -serial pty"
expect print out "ram 0xc0000,0x3f40000"

# the same VM as a vmconf would give: --check of the translation
run check 0 --xl-dm -xen-domid 3 -chardev "$QMP" -name g -serial pty -m 64 -vdm-check
expect check out "ser8250"

# a vdev whose plugin does not exist: named, with the argument it came from
printf 'vdev no-such-device\n' >"$TMP/extra.vmconf"
run noplugin 65 --xl-dm -xen-domid 3 -chardev "$QMP" -m 64 -vdm-config "$TMP/extra.vmconf"
expect noplugin err "$TMP/extra.vmconf:1:6: error: vdev no-such-device: no vdev-no-such-device.so"
if [ ! -f "$PLUGIN_DIR/vdev-virtio-blk.so" ]; then
	: >"$TMP/disk.img"
	run noblk 65 --xl-dm -xen-domid 3 -chardev "$QMP" -m 64 \
		-drive "file=$TMP/disk.img,if=ide,index=0,media=disk,format=raw,cache=writeback"
	expect noblk err "<xl-dm devices>:2:6: error: vdev virtio-blk: no vdev-virtio-blk.so"
	expect noblk err "# -drive file=$TMP/disk.img"
fi

# the wrapper libxl's device_model_override names
if [ -x "$PLUGIN_DIR/xl-dm" ]; then
	"$PLUGIN_DIR/xl-dm" -xen-domid 3 -chardev "$QMP" -name w -m 64 -vdm-print \
		>"$TMP/wrap.out" 2>"$TMP/wrap.err" || fail "xl-dm wrapper: exit $?"
	grep -q "system w" "$TMP/wrap.out" || fail "xl-dm wrapper: no translation"
else
	fail "$PLUGIN_DIR/xl-dm is not built"
fi
finish
