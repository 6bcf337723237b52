#!/bin/sh
# tests/cli/systemd-unit.sh: samples/systemd/vdm@.service keeps its
# hardening: the sandboxing directives docs/SECURITY.md relies on are there,
# and systemd's own audit (systemd-analyze security, when installed) rates
# its exposure 4.0 or lower ("OK" on systemd's 0-10 scale).
set -u
unit=samples/systemd/vdm@.service
fail=0
for d in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes CapabilityBoundingSet= \
	MemoryMax= TasksMax= ProtectKernelTunables=yes ProtectKernelModules=yes \
	RestrictNamespaces=yes RestrictSUIDSGID=yes LockPersonality=yes \
	MemoryDenyWriteExecute=yes RestrictAddressFamilies=AF_UNIX DevicePolicy=closed \
	SystemCallArchitectures=native UMask=0077 ProtectHome=yes; do
	grep -q "^$d" "$unit" || { echo "FAIL: $unit lacks $d"; fail=1; }
done
if command -v systemd-analyze >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	cp "$unit" "$tmp/vdm@check.service"
	level=$(systemd-analyze security --offline=yes "$tmp/vdm@check.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	rm -rf "$tmp"
	if [ -n "$level" ]; then
		awk -v l="$level" 'BEGIN { exit !(l <= 4.0) }' ||
			{ echo "FAIL: systemd rates the unit's exposure $level (> 4.0)"; fail=1; }
		echo "exposure $level"
	fi
fi
[ $fail -eq 0 ] && echo ok
exit $fail
