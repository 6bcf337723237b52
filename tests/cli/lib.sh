# tests/cli/lib.sh: helpers for the shell tests of the vdm binary (sourced).
# Env from tests/run-tests: O, BIN, PLUGIN_DIR.
O=${O:-build/release}
BIN=${BIN:-$O/bin}
PLUGIN_DIR=${PLUGIN_DIR:-$O/lib/vdm}
VDM="$BIN/vdm"
TEST_PLUGINS="$O/tests/unit/plugins"
# The sanitizer build reports leaks at exit; the plugins are dlclose'd, so
# keep leak reports but without unloading-related false positives.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
# Never let a developer's environment change which plugins are found.
unset VDM_PLUGIN_PATH
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

if [ ! -x "$VDM" ]; then
	echo "SKIP: $VDM is not built"
	exit 77
fi

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run NAME EXPECTED_RC ARGS...: run vdm, keep stdout/stderr in $TMP/NAME.{out,err}
run() {
	name=$1 want=$2
	shift 2
	"$VDM" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name: exit $rc, expected $want (vdm $*)"
		sed 's/^/    out| /' "$TMP/$name.out" | head -20
		sed 's/^/    err| /' "$TMP/$name.err" | head -20
	fi
}

# expect NAME out|err TEXT: the output contains TEXT (a fixed string)
expect() {
	if ! grep -qF -- "$3" "$TMP/$1.$2"; then
		fail "$1: std$2 lacks: $3"
		sed "s/^/    $2| /" "$TMP/$1.$2" | head -30
	fi
}

# expect_not NAME out|err TEXT
expect_not() {
	if grep -qF -- "$3" "$TMP/$1.$2"; then
		fail "$1: std$2 should not contain: $3"
	fi
}

need_plugin() {
	if [ ! -f "$1" ]; then
		echo "SKIP: $1 is not built"
		exit 77
	fi
}

finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures failure(s)"
		exit 1
	fi
	echo "ok"
	exit 0
}
