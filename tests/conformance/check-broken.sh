#!/bin/sh
# tests/conformance/check-broken.sh: vdev-conform catches each defect with
# the right check and with no other.
#
# Every tests/conformance/broken/NAME.c says in its top comment
#   Caught by: CHECK-ID (OUTCOME)
# and this script holds vdev-conform --json to it: CHECK-ID has OUTCOME,
# every other check passes or skips, and the exit status is 1 exactly when
# OUTCOME is fail or crashed. A fixture whose comment says it needs ASan
# expects nothing to fail in a build without it; one whose comment names
# --valgrind runs with it (and expects nothing to fail where valgrind
# cannot run: not installed, or a sanitizer build). The reference device
# and the reference PCI function (vdev-conform-refpci.so, the base of the
# broken/pci-*.c fixtures) must pass every check. Then the command line:
# --list, --only/--skip, --seed, --tap, usage errors.
# Env (from tests/run-tests): O, BIN, SAN.
set -u
O=${O:-build/release}
BIN=${BIN:-$O/bin}
SAN=${SAN:-0}
CONFORM="$BIN/vdev-conform"
FIXTURES="$O/tests/conformance"
SRC=$(dirname "$0")
SEED=12345
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

if [ ! -x "$CONFORM" ] || [ ! -f "$FIXTURES/vdev-conform-ref.so" ]; then
	echo "FAIL: $CONFORM or the fixtures under $FIXTURES are not built (make all)"
	exit 1
fi

# "id outcome" per line from vdev-conform --json (one result per line).
outcomes() {
	sed -n 's/^ *{"id": "\([a-z0-9-]*\)", "outcome": "\([a-z]*\)".*/\1 \2/p' "$1"
}

all_ids=$("$CONFORM" --list | awk '{print $1}')
nchecks=$(echo "$all_ids" | wc -l)
[ "$nchecks" -ge 18 ] || fail "--list shows $nchecks checks, expected at least 18"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run_fixture SO EXPECT_ID EXPECT_OUTCOME [ARGS...]: EXPECT_ID "-" = all pass.
run_fixture() {
	so=$1 want_id=$2 want=$3
	shift 3
	name=$(basename "$so" .so)
	out="$tmp/$name.json"
	"$CONFORM" --json --seed $SEED "$@" "$so" >"$out" 2>"$tmp/$name.err"
	rc=$?
	got=$(outcomes "$out")
	n=$(echo "$got" | grep -c .)
	if [ "$n" -ne "$nchecks" ]; then
		fail "$name: $n results in --json, expected $nchecks"
		sed 's/^/    | /' "$out" "$tmp/$name.err" | head -40
		return
	fi
	grep -q "\"seed\": $SEED," "$out" || fail "$name: the seed is not in the --json output"
	bad=0
	echo "$got" | while read -r id outcome; do
		if [ "$id" = "$want_id" ]; then
			[ "$outcome" = "$want" ] || echo "$name: $id is $outcome, expected $want"
		elif [ "$outcome" != pass ] && [ "$outcome" != skip ]; then
			echo "$name: $id is $outcome, expected pass or skip"
		# the virtio, PCI and DMA checks skip devices that are not of their
		# kind (the MMIO reference has no PCI function and does no DMA);
		# uninitialised-reads runs only with --valgrind
		elif [ "$want_id" = - ] && [ "$outcome" != pass ] &&
			! { [ "$outcome" = skip ] && case $id in virtio-* | pci-command | dma-faults | uninitialised-reads) true ;; *) false ;; esac; }; then
			echo "$name: $id is $outcome, expected pass"
		fi
	done >"$tmp/$name.bad"
	if [ -s "$tmp/$name.bad" ]; then
		while read -r line; do fail "$line"; done <"$tmp/$name.bad"
		grep -v '"outcome": "pass"' "$out" | cut -c1-400 | sed 's/^/    | /'
		bad=1
	fi
	if [ "$want_id" != - ] && ! echo "$got" | grep -q "^$want_id "; then
		fail "$name: no result for $want_id"
		bad=1
	fi
	case $want in
	fail | crashed) want_rc=1 ;;
	*) want_rc=0 ;;
	esac
	[ $rc -eq $want_rc ] || fail "$name: exit status $rc, expected $want_rc"
	[ $bad -eq 0 ] && [ $rc -eq $want_rc ] && echo "ok: $name: ${want_id} ${want}"
}

# The references under memcheck too, where it can run.
refargs=""
[ "$SAN" != 1 ] && command -v valgrind >/dev/null 2>&1 && refargs=--valgrind
run_fixture "$FIXTURES/vdev-conform-ref.so" - pass $refargs
run_fixture "$FIXTURES/vdev-conform-refpci.so" - pass $refargs
for id in pci-command dma-faults; do
	[ "$(outcomes "$tmp/vdev-conform-refpci.json" | sed -n "s/^$id //p")" = pass ] ||
		fail "vdev-conform-refpci: $id does not pass (a PCI function with DMA must)"
done

for src in "$SRC"/broken/*.c; do
	name=$(basename "$src" .c)
	so="$FIXTURES/broken/vdev-broken-$name.so"
	[ -f "$so" ] || { fail "$so is not built"; continue; }
	spec=$(tr '\n' ' ' <"$src" | sed -n 's/.*Caught by: *\** *\([a-z0-9-]*\) (\([a-z]*\)[:)].*/\1 \2/p')
	id=${spec% *}
	want=${spec#* }
	if [ -z "$spec" ] || ! echo "$all_ids" | grep -qx "$id"; then
		fail "$src: no valid 'Caught by: CHECK-ID (OUTCOME)' in its comment"
		continue
	fi
	args=""
	grep -q -- "--timeout 2" "$src" && args="--timeout 2"
	novalgrind=0
	if grep -q -- "--valgrind" "$src"; then
		args="$args --valgrind"
		# memcheck cannot run a sanitizer build; without valgrind the check skips
		{ [ "$SAN" = 1 ] || ! command -v valgrind >/dev/null 2>&1; } && novalgrind=1
	fi
	if [ $novalgrind = 1 ]; then
		run_fixture "$so" - pass $args
	elif grep -q "built with ASan" "$src" && [ "$SAN" != 1 ]; then
		run_fixture "$so" - pass $args
	else
		run_fixture "$so" "$id" "$want" $args
	fi
done

# Files that are not plugins: findings, not crashes.
head -c 4096 /dev/urandom >"$tmp/vdev-garbage.so"
head -c 300 "$FIXTURES/vdev-conform-ref.so" >"$tmp/vdev-truncated.so"
for so in "$tmp/vdev-garbage.so" "$tmp/vdev-truncated.so"; do
	"$CONFORM" --json --only load-rtld-now,exports-one-symbol,abi-version "$so" >"$tmp/not.json" 2>&1
	rc=$?
	got=$(outcomes "$tmp/not.json" | tr '\n' ' ')
	[ $rc -eq 1 ] && [ "$got" = "load-rtld-now fail exports-one-symbol fail abi-version skip " ] ||
		fail "$(basename "$so"): exit $rc, outcomes: $got"
done

# The command line.
ref="$FIXTURES/vdev-conform-ref.so"
"$CONFORM" --only abi-version,random-access --seed 7 "$ref" >"$tmp/only.txt"
[ $? -eq 0 ] || fail "--only: exit status not 0"
grep -q "^PASS *abi-version" "$tmp/only.txt" && grep -q "^PASS *random-access" "$tmp/only.txt" &&
	[ "$(grep -c '^PASS' "$tmp/only.txt")" -eq 2 ] || fail "--only did not run exactly the 2 checks"
grep -q "seed 7 (replay with --seed 7)" "$tmp/only.txt" || fail "the human output does not print the seed"
"$CONFORM" --skip register-sweep "$FIXTURES/broken/vdev-broken-read-crash.so" >/dev/null 2>&1 ||
	fail "--skip register-sweep on read-crash should leave nothing failing"
"$CONFORM" --tap --only load-rtld-now,exports-one-symbol "$FIXTURES/broken/vdev-broken-extra-export.so" >"$tmp/tap.txt"
[ $? -eq 1 ] || fail "--tap: exit status not 1 for a failing check"
grep -q "^1\.\.2$" "$tmp/tap.txt" && grep -q "^ok 1 - load-rtld-now" "$tmp/tap.txt" &&
	grep -q "^not ok 2 - exports-one-symbol" "$tmp/tap.txt" &&
	grep -q 'see: "see sdk/README.md section 2 (The descriptor and ABI)"' "$tmp/tap.txt" ||
	{ fail "--tap output is not as expected"; sed 's/^/    | /' "$tmp/tap.txt"; }
"$CONFORM" --only no-such-check "$ref" >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown check id is not a usage error (exit 2)"
"$CONFORM" "$tmp/does-not-exist.so" >/dev/null 2>&1
[ $? -eq 2 ] || fail "a missing plugin file is not a usage error (exit 2)"
"$CONFORM" --in-process --only register-sweep,reset-power-on "$ref" >/dev/null 2>&1 ||
	fail "--in-process on the reference device did not pass"

# --fuzz: a short run finds nothing in the reference and the read-width
# violation of read-wide at once (77 where the fuzzer could not be built).
conform_abs="$(cd "$(dirname "$CONFORM")" && pwd)/vdev-conform"
ref_abs="$(cd "$(dirname "$ref")" && pwd)/$(basename "$ref")"
wide_abs="$(cd "$FIXTURES/broken" && pwd)/vdev-broken-read-wide.so"
(cd "$tmp" && "$conform_abs" --fuzz 2 --seed 5 --corpus "$tmp" "$ref_abs") >"$tmp/fuzz.txt" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
	echo "SKIP: --fuzz: $(head -n 1 "$tmp/fuzz.txt")"
else
	[ $rc -eq 0 ] || { fail "--fuzz on the reference: exit $rc"; tail -n 5 "$tmp/fuzz.txt"; }
	mkdir -p "$tmp/wide"
	(cd "$tmp/wide" && "$conform_abs" --fuzz 20 --seed 5 --corpus "$tmp/wide" "$wide_abs") \
		>"$tmp/fuzz-wide.txt" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q "contract violation (read-width)" "$tmp/fuzz-wide.txt" &&
		ls "$tmp/wide"/vdev-conform-fuzz-crash-* >/dev/null 2>&1 ||
		fail "--fuzz did not report read-wide's violation (exit $rc)"
fi

if [ $failures -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all fixtures caught by the right check"
