#!/bin/sh
# tests/kvm/dump.sh: vdm's `dump` on the kvm backend, read back with gdb.
# samples/guests/dump.c fills a page with 0x5eed0000 + i, loads ebx, esi,
# edi, ebp with known values and parks on one `jmp .`:
#  - a watchdog (wdt-ib700 action dump,terminate, fired at once) writes
#    DIR/<system>-YYYYMMDD-hhmmss.gcore and vdm exits 4;
#  - `dump "|cmd"` on SIGUSR2 pipes the same core into a command, twice
#    (the guest keeps running after a dump);
#  - two dumps in one second into a directory get distinct names (-1).
# gdb must show the registers, the parked instruction and the pattern.
# Env: O, BIN, PLUGIN_DIR (tests/run-tests). Skips (77) without /dev/kvm,
# gdb, vdm or the plugins.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM=${VDM:-$BIN/vdm}
skip() { echo "SKIP: $*"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not usable"
[ -x "$VDM" ] || skip "$VDM not built"
command -v gdb >/dev/null 2>&1 || skip "gdb not installed"
for p in ser8250 wdt-ib700; do
	[ -f "$PLUGIN_DIR/vdev-$p.so" ] || skip "vdev-$p.so not built"
done
[ -f "$O/guests/dump.elf" ] || skip "$O/guests/dump.elf not built"
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
export XDG_RUNTIME_DIR="$tmp"
fail=0
bad() { echo "FAIL $*"; fail=1; }

# check CORE WHAT: gdb reads the registers, the parked jmp and the pattern
check() {
	addr=$(sed -n 's/^pattern at //p' "$tmp/out" | tr -d '\r' | head -1)
	[ -n "$addr" ] || { bad "$2: the guest printed no pattern address"; return; }
	gdb -batch -nx -c "$1" -ex 'p/x $rbx' -ex 'p/x $rsi' -ex 'p/x $rdi' -ex 'p/x $rbp' \
		-ex 'x/i $rip' -ex "x/4wx $addr" -ex "x/wx $addr + 4092" >"$tmp/gdb" 2>&1
	for want in '= 0x12345678' '= 0xcafef00d' '= 0xbadc0de' '= 0x600dd00d' \
		"$addr:	0x5eed0000	0x5eed0001	0x5eed0002	0x5eed0003" 0x5eed03ff; do
		grep -qF -- "$want" "$tmp/gdb" || bad "$2: gdb shows no '$want'"
	done
	# the vCPU is parked on `jmp` to itself
	grep -Eq '=> (0x[0-9a-f]+):[[:space:]]+jmp +\1' "$tmp/gdb" || bad "$2: rip is not on the parked jmp"
	[ $fail = 0 ] && echo "ok   $2: registers and memory read back by gdb" || sed 's/^/    | /' "$tmp/gdb"
}

conf() { # NAME DUMP [more words]
	name=$1 dump=$2
	shift 2
	cat >"$tmp/$name.vmconf" <<EOC
system $name
ram 0,16M
load $O/guests/dump.elf
vdev ser8250 loc io:0x3f8 hostdev >stdout
$*
dump $dump
EOC
}

# 1. the watchdog's dump,terminate
mkdir "$tmp/dir"
conf wdt "$tmp/dir" "vdev wdt-ib700 action dump,terminate"
timeout 60 "$VDM" --backend kvm --plugin-path "$PLUGIN_DIR" "@$tmp/wdt.vmconf" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc = 4 ] || { bad "watchdog: exit $rc, want 4"; cat "$tmp/err"; }
core=$(ls "$tmp/dir"/wdt-*.gcore 2>/dev/null | head -1)
case "$core" in
"$tmp/dir"/wdt-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9].gcore) check "$core" watchdog ;;
*) bad "watchdog: no DIR/wdt-YYYYMMDD-hhmmss.gcore ($(ls "$tmp/dir"))"; cat "$tmp/err" ;;
esac

# 2. SIGUSR2, into a pipe, twice; 3. two dumps into one directory in a second
mkdir "$tmp/dir2"
for how in pipe dir; do
	if [ $how = pipe ]; then
		conf usr2 "\"|cat >>$tmp/piped.core\""
	else
		conf usr2 "$tmp/dir2"
	fi
	# no timeout(1) in between: the signals are for vdm (the trap kills it)
	"$VDM" --backend kvm --plugin-path "$PLUGIN_DIR" "@$tmp/usr2.vmconf" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	for i in $(seq 100); do grep -q parking "$tmp/out" 2>/dev/null && break; sleep 0.1; done
	sleep 0.2 # past the `out`: parked
	kill -USR2 "$pid"
	for i in $(seq 100); do [ "$(grep -c 'guest dump written' "$tmp/err")" -ge 1 ] && break; sleep 0.1; done
	[ $how = pipe ] && cp "$tmp/piped.core" "$tmp/first.core"
	kill -USR2 "$pid"
	for i in $(seq 100); do [ "$(grep -c 'guest dump written' "$tmp/err")" -ge 2 ] && break; sleep 0.1; done
	kill -TERM "$pid"
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	pid=
	[ $rc = 0 ] || bad "SIGUSR2 ($how): exit $rc, want 0 after SIGTERM"
	[ "$(grep -c 'guest dump written' "$tmp/err")" = 2 ] || { bad "SIGUSR2 ($how): not two dumps"; cat "$tmp/err"; }
	if [ $how = pipe ]; then
		check "$tmp/first.core" "SIGUSR2 into |cat"
	else
		n=$(ls "$tmp/dir2" | grep -c '^usr2-.*\.gcore$')
		[ "$n" = 2 ] || bad "SIGUSR2 (dir): $n dumps in the directory, want 2 ($(ls "$tmp/dir2"))"
		[ $fail = 0 ] && echo "ok   two dumps, two names: $(ls "$tmp/dir2" | tr '\n' ' ')"
	fi
done
exit $fail
