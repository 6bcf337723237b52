# tests/bench/table.awk: the bench lines of every run (tests/bench/run's
# convention) -> one table of medians with min and max (mode=table) or the
# same as JSON (mode=json). First file: tests/bench/targets; second: the
# lines. Rows keep the order in which they first appeared.
function num(s) { return s ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function fmt(v) {
	if (v == int(v) && (v >= 100 || v <= -100)) return sprintf("%d", v)
	if (v >= 100 || v <= -100) return sprintf("%.0f", v)
	if (v >= 10 || v <= -10) return sprintf("%.1f", v)
	return sprintf("%.3g", v)
}
# sorts vals[key, 1..n] into s[1..n]
function sorted(key, n,    i, j, t) {
	for (i = 1; i <= n; i++) s[i] = vals[key, i]
	for (i = 2; i <= n; i++) {
		t = s[i]
		for (j = i - 1; j >= 1 && s[j] > t; j--) s[j + 1] = s[j]
		s[j + 1] = t
	}
}
function median(n) { return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2 }
function verdict(key, m,    op, v) {
	if (!(key in top)) return ""
	op = top[key]; v = tval[key]
	if (op == ">=") return (m >= v ? "met" : "MISSED") " (" op " " v ")"
	return (m <= v ? "met" : "MISSED") " (" op " " v ")"
}
FNR == NR {
	if ($0 ~ /^#/ || NF < 5) next
	k = $1 " " $2 SUBSEP $3
	top[k] = $4; tval[k] = $5
	next
}
/^[A-Za-z0-9_-]+ [^:]+: / {
	c = index($0, ": ")
	row = substr($0, 1, c - 1)
	rest = substr($0, c + 2)
	gsub(/\([^)]*\)/, "", rest)
	np = split(rest, piece, /, */)
	for (p = 1; p <= np; p++) {
		nt = split(piece[p], t, " ")
		if (nt < 2 || !num(t[2])) continue
		unit = nt >= 3 ? t[3] : (t[1] ~ /%$/ ? "%" : "x")
		key = row SUBSEP t[1]
		if (!(key in cnt)) {
			order[++nkeys] = key
			units[key] = unit
		}
		vals[key, ++cnt[key]] = t[2] + 0
	}
}
END {
	if (mode == "table") {
		printf "%-26s %-12s %12s %12s %12s  %-8s %s\n", "bench", "figure", "median", "min", "max", "unit", "target"
		for (i = 1; i <= nkeys; i++) {
			key = order[i]; n = cnt[key]
			split(key, kp, SUBSEP)
			sorted(key, n)
			printf "%-26s %-12s %12s %12s %12s  %-8s %s\n", kp[1], kp[2], fmt(median(n)), fmt(s[1]), fmt(s[n]), units[key], verdict(key, median(n))
		}
		for (k in top) if (!(k in cnt)) {
			split(k, kp, SUBSEP)
			printf "%-26s %-12s %12s %12s %12s  %-8s %s\n", kp[1], kp[2], "-", "-", "-", "", "not measured (" top[k] " " tval[k] ")"
		}
		exit
	}
	printf "{\n  \"date\": %s,\n  \"machine\": %s,\n  \"cpu\": %s,\n  \"cpus\": %d,\n", jstr(date), jstr(machine), jstr(cpu), ncpu
	printf "  \"kernel\": %s,\n  \"commit\": %s,\n  \"load\": %s,\n  \"runs\": %d,\n  \"figures\": [", jstr(kernel), jstr(commit), jstr(load), runs
	for (i = 1; i <= nkeys; i++) {
		key = order[i]; n = cnt[key]
		split(key, kp, SUBSEP)
		sorted(key, n)
		printf "%s\n    {\"bench\": %s, \"figure\": %s, \"unit\": %s, \"median\": %s, \"min\": %s, \"max\": %s, \"values\": [", (i > 1 ? "," : ""), jstr(kp[1]), jstr(kp[2]), jstr(units[key]), median(n), s[1], s[n]
		for (j = 1; j <= n; j++) printf "%s%s", (j > 1 ? ", " : ""), vals[key, j]
		printf "]"
		if (key in top) printf ", \"target\": %s, \"met\": %s", jstr(top[key] " " tval[key]), verdict(key, median(n)) ~ /^met/ ? "true" : "false"
		printf "}"
	}
	printf "\n  ]\n}\n"
}
