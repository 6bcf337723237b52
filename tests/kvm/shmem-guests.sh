#!/bin/sh
# tests/kvm/shmem-guests.sh: samples/guests/shmem.c on two vdm VMs (kvm
# backend, samples/shmem.vmconf) sharing one vdev-shmem object: a writes
# a pattern and rings, b checks it, answers and rings back, a checks the
# answer and that the doorbell interrupted it. Run twice, each role
# starting first. Each VM must print every expected PASS line, no FAIL,
# RESULT ok and exit 0; the object left in /dev/shm is removed.
# Env: O, BIN, PLUGIN_DIR (tests/run-tests); VDM overrides the vdm
# binary. Without /dev/kvm, vdm or script(1): SKIP, exit 77.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM=${VDM:-$BIN/vdm}
tmp=$(mktemp -d)
name=vdm-test-$$
trap 'rm -rf "$tmp"; rm -f "/dev/shm/vdm-shmem-$name"' EXIT INT TERM
fail=0

a_checks="shmem-probe shmem-attach shmem-answer shmem-peer-read-ours shmem-peer-data
	shmem-doorbell-interrupt shmem-detach"
b_checks="shmem-probe shmem-attach shmem-ready shmem-data shmem-answered shmem-detach"

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm not usable"; exit 77
elif ! [ -x "$VDM" ]; then
	echo "SKIP: $VDM not built"; exit 77
elif ! command -v script >/dev/null 2>&1; then
	echo "SKIP: script(1) not installed (the UART's stdout wants a terminal)"; exit 77
fi
for f in "$PLUGIN_DIR/vdev-shmem.so" "$O/guests/shmem.elf"; do
	[ -f "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done

check() { # role, output file, PASS names...
	role=$1 out=$2
	shift 2
	for n in "$@"; do
		grep -qx "PASS $n" "$out" || { echo "FAIL shmem role $role: no \"PASS $n\""; fail=1; }
	done
	grep -q '^FAIL' "$out" && { echo "FAIL shmem role $role: a guest check failed"; fail=1; }
	grep -qx 'RESULT ok' "$out" || { echo "FAIL shmem role $role: no \"RESULT ok\""; fail=1; }
}

run_pair() { # FIRST SECOND
	rm -f "/dev/shm/vdm-shmem-$name"
	for role in "$1" "$2"; do
		VDM_GUESTS=$O/guests VDM_SHMEM_NAME=$name VDM_SHMEM_ROLE=$role timeout 60 \
			script -qec "'$VDM' --backend kvm --plugin-path '$PLUGIN_DIR' \
			@samples/shmem.vmconf 2>'$tmp/$role.err'; \
			echo \"rc=\$?\" >'$tmp/$role.rc'" /dev/null 2>&1 | tr -d '\r' >"$tmp/$role.out" &
		sleep 0.3
	done
	wait
	for role in a b; do
		rc=$(sed -n 's/^rc=//p' "$tmp/$role.rc" 2>/dev/null)
		echo "---- shmem role=$role on vdm --backend kvm ($1 first, exit ${rc:-none})"
		cat "$tmp/$role.out"
		grep -v ' info: ' "$tmp/$role.err"
		[ "${rc:-x}" = 0 ] || { echo "FAIL shmem role $role: exit ${rc:-none}, want 0"; fail=1; }
	done
	# shellcheck disable=SC2086
	check a "$tmp/a.out" $a_checks
	# shellcheck disable=SC2086
	check b "$tmp/b.out" $b_checks
}

run_pair a b
run_pair b a
[ $fail -eq 0 ] && echo "shmem guests: all passed"
exit $fail
