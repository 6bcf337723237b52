#!/bin/sh
# tests/cli/special-files.sh: every path a user names (an @file, a guest
# script, a `load` image, a plugin given by path) is opened in a way that
# never blocks: a directory or a device is refused at once naming what it
# is; a FIFO with no writer (it used to hang vdm forever) is an error at
# once, one whose writer stalls after 10 s; a pipe that delivers (`@<(...)`,
# `@/dev/stdin`) is read. Each run is bounded by timeout(1): a hang fails
# with exit 124.
set -u
. tests/cli/lib.sh
need_plugin "$TEST_PLUGINS/vdev-good.so"
command -v timeout >/dev/null 2>&1 || { echo "SKIP: timeout(1) not installed"; exit 77; }

# trun NAME EXPECTED_RC ARGS...: run with a 20 s bound
trun() {
	name=$1 want=$2
	shift 2
	timeout -k 2 20 "$VDM" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name: exit $rc, expected $want (124: hung) (vdm $*)"
		sed 's/^/    err| /' "$TMP/$name.err" | head -10
	fi
}

mkfifo "$TMP/fifo"
mkdir "$TMP/dir"

# @file
trun check-fifo 65 --check "@$TMP/fifo"
expect check-fifo err "<command line>:1:1: error: cannot read '$TMP/fifo': is a FIFO (named pipe) with no writer"
trun check-dir 65 --check "@$TMP/dir"
expect check-dir err "cannot read '$TMP/dir': is a directory"
trun check-chardev 65 --check "@/dev/zero"
expect check-chardev err "is a character device"
# a later @file is still reported at its own column
printf 'ram 0,1m\n' >"$TMP/ok.vmconf"
trun check-second 65 --check "@$TMP/ok.vmconf" "@$TMP/fifo"
expect check-second err "<command line>:1:$((${#TMP} + 13)): error: cannot read '$TMP/fifo'"

# pipes that deliver are fine; a stalled writer is an error, not a hang
printf 'system piped\nram 0,1m\n' >"$TMP/piped.vmconf"
"$VDM" --check "@/dev/stdin" <"$TMP/piped.vmconf" >"$TMP/stdin.out" 2>&1 || fail "@/dev/stdin: $(cat "$TMP/stdin.out")"
expect stdin out "system: piped"
mkfifo "$TMP/stall"
sleep 30 >"$TMP/stall" &
staller=$!
trun stalled 65 --check "@$TMP/stall"
expect stalled err "is a pipe whose writer sent nothing for 10 s"
kill "$staller" 2>/dev/null

# the sim backend's guest script
printf 'system sf\nram 0,1m\n' >"$TMP/sim.vmconf"
trun script-fifo 65 --backend sim --script "$TMP/fifo" "@$TMP/sim.vmconf"
expect script-fifo err "cannot read script: is a FIFO"
trun script-dir 65 --backend sim --script "$TMP/dir" "@$TMP/sim.vmconf"
expect script-dir err "is a directory"

# a plugin named by its path that is a FIFO or a directory (the search
# path skips what is not a regular file)
mkfifo "$TMP/dir/vdev-fifo.so"
mkdir "$TMP/dir/vdev-adir.so"
trun plugin-fifo 65 --check ram 0,1m vdev "$TMP/dir/vdev-fifo.so" loc 0x1000
expect plugin-fifo err "is a FIFO"
trun plugin-dir 65 --check ram 0,1m vdev "$TMP/dir/vdev-adir.so" loc 0x1000
expect plugin-dir err "is a directory"
trun describe-fifo 65 --describe "$TMP/dir/vdev-fifo.so"
expect describe-fifo err "is a FIFO"
trun search-fifo 65 --check --plugin-path "$TMP/dir" ram 0,1m vdev fifo loc 0x1000
expect search-fifo err "no vdev-fifo.so"

# ser8250's hostdev: a FIFO with no reader is refused at once (not waited
# for), with the real reason and the vdev's position
if [ -f "$PLUGIN_DIR/vdev-ser8250.so" ]; then
	trun hostdev-fifo 65 --backend sim --plugin-path "$PLUGIN_DIR" system sf ram 0,1m \
		vdev ser8250 loc io:0x3f8 hostdev ">$TMP/fifo"
	expect hostdev-fifo err "cannot open $TMP/fifo: No such device or address"
	expect hostdev-fifo err "<command line>:1:20: error: vdev ser8250.0"
fi

# `load` on the kvm backend: the image is checked with the configuration (65)
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	trun load-fifo 65 --backend kvm system sf ram 0,1m load "0x1000,$TMP/fifo"
	expect load-fifo err "is a FIFO"
	expect load-fifo err "<command line>:1:"
	trun load-dir 65 --backend kvm system sf ram 0,1m load "$TMP/dir"
	expect load-dir err "is a directory"
else
	echo "note: /dev/kvm not usable: the kvm \`load\` cases are not run"
fi
finish
