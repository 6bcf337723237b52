#!/bin/busybox sh
# tests/xen-e2e/init.sh: /init of the dom0 initramfs that tests/xen-e2e/run.sh
# builds. Brings up the Xen toolstack (xenstored, xenconsoled,
# xen-init-dom0), then for each guest in /e2e/guests: xl create -p, vdm
# --domid against it, xl unpause once vdm logged "attached", wait for vdm to
# end, and print everything on the console as "E2E <guest> <kind> <text>"
# lines for the host to check; then powers the machine off.
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

# the virtio-blk guests' disk: 1 MiB of zeros, written by one run, read by the next
dd if=/dev/zero of=/tmp/virtio-blk.img bs=1024 count=1024 2>/dev/null
for g in $(cat /e2e/guests); do
	run_guest "$g"
done
say dom0-poweroff "uptime $(up)"
sync
poweroff -f
