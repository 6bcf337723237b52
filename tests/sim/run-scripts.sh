#!/bin/sh
# tests/sim/run-scripts.sh: whole vdm on the sim backend running guest
# scripts, in both sim modes (hypervisor side in a thread, and in a separate
# process sharing only the pages, RAM and channels).
#  - tests/sim/NAME.vmscript runs against tests/sim/NAME.vmconf and must
#    pass (exit 0) in both modes;
#  - tests/sim/DIR/*.vmscript run against the configuration words in
#    tests/sim/DIR/args (one line: @files and config words, as on vdm's
#    command line), likewise;
#  - tests/sim/fail/NAME.vmscript names its config and the line that must
#    fail ("# conf: FILE" and "# fails-at: LINE"): vdm must exit 1 and print
#    "NAME.vmscript:LINE: FAIL".
# Env: O, BIN, PLUGIN_DIR (tests/run-tests).
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
[ -x "$VDM" ] || { echo "SKIP: $VDM not built"; exit 77; }
export VDM_PLUGIN_PATH="$PLUGIN_DIR" XDG_RUNTIME_DIR="$(mktemp -d)"
trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT INT TERM
out="$XDG_RUNTIME_DIR/out"
fail=0 ran=0

# with_mode MODE WORDS...: the words with `set sim-process MODE` where the
# VM's settings go, right after the `system` line of the first @file (a
# `set` after a vdev line would be that vdev's, which vdm refuses).
modes_dir=$XDG_RUNTIME_DIR
with_mode() {
	mode=$1
	shift
	first=${1#@}
	shift
	sed "/^system /a set sim-process $mode" "$first" >"$modes_dir/$mode.vmconf"
	echo "@$modes_dir/$mode.vmconf $*"
}

for script in tests/sim/*.vmscript samples/sim-demo.vmscript tests/sim/*/*.vmscript; do
	case $script in tests/sim/fail/*) continue ;; esac
	if [ -f "$(dirname "$script")/args" ]; then
		words=$(cat "$(dirname "$script")/args")
	else
		words="@${script%.vmscript}.vmconf"
	fi
	for mode in off on; do
		ran=$((ran + 1))
		# shellcheck disable=SC2086 # the words are split as vdm's command line
		timeout 60 "$VDM" --backend sim --script "$script" $(with_mode $mode $words) >"$out" 2>&1
		rc=$?
		if [ $rc -eq 0 ] && ! grep -q ': FAIL:' "$out"; then
			echo "ok   $script (sim-process $mode)"
		else
			echo "FAIL $script (sim-process $mode): exit $rc"
			sed 's/^/    | /' "$out"
			fail=1
		fi
	done
done

for script in tests/sim/fail/*.vmscript; do
	[ -e "$script" ] || continue
	conf=$(sed -n 's/^# conf: *//p' "$script")
	line=$(sed -n 's/^# fails-at: *//p' "$script")
	for mode in off on; do
		ran=$((ran + 1))
		timeout 60 "$VDM" --backend sim --script "$script" $(with_mode $mode @"$conf") >"$out" 2>&1
		rc=$?
		if [ $rc -eq 1 ] && grep -q "^$script:$line: FAIL:" "$out"; then
			echo "ok   $script fails at line $line (sim-process $mode)"
		else
			echo "FAIL $script (sim-process $mode): exit $rc, want 1 and a FAIL at line $line"
			sed 's/^/    | /' "$out"
			fail=1
		fi
	done
done
echo "$ran sim runs"
exit $fail
