#!/bin/busybox sh
# tests/xen-e2e/init.sh: /init of the dom0 initramfs that tests/xen-e2e/run.sh
# builds. Brings up the Xen toolstack (xenstored, xenconsoled,
# xen-init-dom0), then for each guest in /e2e/guests: xl create -p, vdm
# --domid against it, xl unpause once vdm logged "attached", wait for vdm to
# end, and print everything on the console as "E2E <guest> <kind> <text>"
# lines for the host to check. Then each HVM guest of /e2e/hvm-guests: plain
# xl create (libxl spawns vdm through /lib/vdm/xl-dm), wait for the domain
# to end on its own, and report xl's output, the guest's lines of xl dmesg,
# vdm's log (/var/log/xen/qemu-dm-NAME.log), COM1 and what is left behind.
# Then powers the machine off.
export PATH=/bin:/usr/lib/xen-4.17/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts # xenconsoled needs it
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/xen /run/xenstored /var/lib/xen /var/log/xen
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "E2E $*"; }

for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc; do
	insmod /lib/modules/$m.ko || say dom0 error "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen
xenstored --pid-file=/run/xenstored.pid
i=0
while [ ! -S /run/xenstored/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
xenconsoled --pid-file=/run/xenconsoled.pid
xen-init-dom0 >/tmp/init-dom0.log 2>&1 || { say dom0 error "xen-init-dom0 failed"; cat /tmp/init-dom0.log; }
xl info >/tmp/xlinfo 2>&1 || { say dom0 error "xl info failed"; cat /tmp/xlinfo; }
say dom0-ready "uptime $(up) $(grep -E '^(xen_version|nr_cpus|free_memory)' /tmp/xlinfo | tr -s ' ' | tr '\n' ' ')"

run_guest() {
	g=$1
	t0=$(up)
	export E2E_SERIAL=/tmp/$g.serial
	: >"$E2E_SERIAL"
	if ! xl create -p /e2e/$g.cfg >/tmp/$g.xl 2>&1; then
		sed "s/^/E2E $g log xl: /" /tmp/$g.xl
		say "$g" end "vdm-exit none secs 0 (xl create failed)"
		return
	fi
	domid=$(xl domid "$g")
	vdm --domid "$domid" --plugin-path /lib/vdm @/e2e/$g.vmconf >/tmp/$g.out 2>/tmp/$g.log &
	pid=$!
	i=0
	while ! grep -q attached /tmp/$g.log && kill -0 $pid 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	t1=$(up)
	xl unpause "$g"
	# vdm ends when the guest powers off (debug-exit, or the domain's shutdown)
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 $pid 2>/dev/null; then
		say "$g" log "e2e: error: vdm still running after 60 s: SIGTERM"
		kill -TERM $pid
	fi
	wait $pid
	rc=$?
	t2=$(up)
	state=$(xl list "$g" 2>/dev/null | awk 'NR == 2 { print $5 }')
	xl destroy "$g" >/dev/null 2>&1
	sed "s/^/E2E $g serial /" "$E2E_SERIAL"
	sed "s/^/E2E $g stdout /" /tmp/$g.out
	sed "s/^/E2E $g log /" /tmp/$g.log
	say "$g" end "vdm-exit $rc secs $(awk -v a=$t0 -v b=$t2 'BEGIN { printf "%.2f", b - a }') attach $(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.2f", b - a }') domain-state ${state:-gone}"
}

# An HVM guest under libxl: vdm is its device model, started by libxl.
run_hvm_guest() {
	g=$1
	t0=$(up)
	: >/tmp/$g.serial
	xl create /e2e/$g.cfg >/tmp/$g.xl 2>&1
	xrc=$?
	domid=$(xl domid "$g" 2>/dev/null)
	t1=$(up)
	# the domain ends by itself (power-off, or SeaBIOS's reboot 60 s after
	# "No bootable device"; on_* = destroy); give it 120 s
	i=0
	while [ -n "$domid" ] && xl domid "$g" >/dev/null 2>&1 && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ended=none
	if [ -n "$domid" ] && xl domid "$g" >/dev/null 2>&1; then
		say "$g" log "e2e: error: the domain still exists after 120 s: xl destroy"
		xl dmesg 2>/dev/null | grep "(d$domid)" | tail -n 5 | sed "s/^/E2E $g dmesg-before-destroy /"
		xl destroy "$g" >/dev/null 2>&1
		ended=destroyed
	elif [ -n "$domid" ]; then
		ended=$(sed -n 's/.*shut down, reason code \([0-9]*\).*/\1/p' /var/log/xen/xl-$g.log 2>/dev/null | tail -n 1)
		case $ended in 0) ended=poweroff ;; 1) ended=reboot ;; *) ended="reason-${ended:-unknown}" ;; esac
	fi
	t2=$(up)
	# libxl waited for its device model to go; nothing of it may remain
	sleep 1
	left=no
	pidof vdm >/dev/null 2>&1 && left=yes
	key=no
	[ -n "$domid" ] && xenstore-read /local/domain/0/device-model/$domid/state >/dev/null 2>&1 && key=yes
	sed "s/^/E2E $g xl /" /tmp/$g.xl
	[ -n "$domid" ] && xl dmesg 2>/dev/null | grep "(d$domid)" | sed "s/^/E2E $g dmesg /"
	sed "s/^/E2E $g log /" /var/log/xen/qemu-dm-$g.log 2>/dev/null
	sed "s/^/E2E $g xl-log /" /var/log/xen/xl-$g.log 2>/dev/null
	sed "s/^/E2E $g serial /" /tmp/$g.serial
	say "$g" end "xl-create $xrc secs $(awk -v a=$t0 -v b=$t2 'BEGIN { printf "%.2f", b - a }') create $(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.2f", b - a }') ended $ended vdm-left $left dm-key $key"
}

# $1's state: "gone" once the process is gone or a zombie (vdm is
# reparented to this init, which reaps it only later), waiting up to 10 s.
dm_left() {
	i=0
	while [ -n "$1" ] && [ $i -lt 100 ]; do
		st=$(awk '{ print $3 }' /proc/$1/stat 2>/dev/null)
		[ -z "$st" ] || [ "$st" = Z ] && break
		sleep 0.1
		i=$((i + 1))
	done
	st=$(awk '{ print $3 }' /proc/$1/stat 2>/dev/null)
	if [ -n "$1" ] && [ -n "$st" ] && [ "$st" != Z ]; then echo running; else echo gone; fi
}

# A device-model lifecycle guest (hvm-dm.list): libxl starts vdm itself.
# $2 "save": xl save (vdm writes every device's state through QMP), then
# xl restore (a new vdm restores it from -incoming fd:N), then destroy.
run_hvm() {
	g=$1
	t0=$(up)
	xl create /e2e/$g.cfg >/tmp/$g.xl 2>&1
	xrc=$?
	sed "s/^/E2E $g log xl: /" /tmp/$g.xl
	domid=$(xl domid "$g" 2>/dev/null)
	key=none tty=none pid="" state=none saved=""
	if [ -n "$domid" ]; then
		key=$(xenstore-read /local/domain/0/device-model/$domid/state 2>/dev/null || echo none)
		tty=$(xenstore-read /local/domain/$domid/serial/0/tty 2>/dev/null || echo none)
		# what the guest prints on COM1, through the pty libxl recorded (xl console -t serial)
		[ -c "$tty" ] && { cat "$tty" >/tmp/$g.serial 2>/dev/null & }
		pid=$(xenstore-read /local/domain/$domid/image/device-model-pid 2>/dev/null)
		sleep 1
		state=$(xl list "$g" 2>/dev/null | awk 'NR == 2 { print $5 }')
		if [ "$2" = save ]; then
			xl save "$g" /tmp/$g.save >/tmp/$g.xlsave 2>&1
			src=$?
			grep -v "xc: progress" /tmp/$g.xlsave | sed "s/^/E2E $g log xl save: /"
			saver=$(dm_left "$pid")
			oldqmp=gone
			[ -e /run/xen/qmp-libxl-$domid ] && oldqmp=left
			xl restore /tmp/$g.save >/tmp/$g.xlrestore 2>&1
			rrc=$?
			sed "s/^/E2E $g log xl restore: /" /tmp/$g.xlrestore
			sed "s/^/E2E $g saver-log /" /var/log/xen/qemu-dm-$g.log.1 2>/dev/null
			domid=$(xl domid "$g" 2>/dev/null)
			rkey=none
			[ -n "$domid" ] && rkey=$(xenstore-read /local/domain/0/device-model/$domid/state 2>/dev/null || echo none)
			[ -n "$domid" ] && pid=$(xenstore-read /local/domain/$domid/image/device-model-pid 2>/dev/null)
			saved="saved $src saver-after-save $saver saver-qmp $oldqmp restored $rrc restored-key $rkey "
		fi
		[ -n "$domid" ] && { xl destroy "$g" >/tmp/$g.destroy 2>&1 || sed "s/^/E2E $g log xl destroy: /" /tmp/$g.destroy; }
	fi
	left=$(dm_left "$pid")
	qmp=gone
	[ -n "$domid" ] && [ -e /run/xen/qmp-libxl-$domid ] && qmp=left
	dmkey=gone
	[ -n "$domid" ] && xenstore-exists /local/domain/0/device-model/$domid 2>/dev/null && dmkey=left
	sed "s/^/E2E $g log /" /var/log/xen/qemu-dm-$g.log 2>/dev/null
	tr -d '\r' </tmp/$g.serial 2>/dev/null | sed "s/^/E2E $g serial /"
	say "$g" hvm-end "xl-create $xrc domid ${domid:-none} state-key $key tty $tty domain-state ${state:-none} ${saved}vdm-after-destroy $left qmp-socket $qmp dm-key $dmkey secs $(awk -v a=$t0 -v b=$(up) 'BEGIN { printf "%.2f", b - a }')"
}

# the virtio-blk guests' disk: 1 MiB of zeros, written by one run, read by the next
dd if=/dev/zero of=/tmp/virtio-blk.img bs=1024 count=1024 2>/dev/null
for g in $(cat /e2e/guests 2>/dev/null); do
	run_guest "$g"
done
for g in $(cat /e2e/hvm-guests 2>/dev/null); do
	run_hvm_guest "$g"
done
[ -f /e2e/hvm-dm-guests ] && while read -r g what; do
	run_hvm "$g" "$what"
done </e2e/hvm-dm-guests
say dom0-poweroff "uptime $(up)"
sync
poweroff -f
