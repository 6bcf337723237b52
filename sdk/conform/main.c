/*
 * sdk/conform/main.c: the vdev-conform command line and its three output
 * formats (human, --json, --tap). sdk/conform/README.md is the user's
 * reference; keep the two in step.
 *
 * Exit status: 0 when no check failed or crashed, 1 when one did, 2 for a
 * usage error or when the runner itself could not work.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdk/conform/conform.h"

#define EXIT_CHECKS_FAILED 1
#define EXIT_USAGE	   2

enum format { FORMAT_HUMAN, FORMAT_JSON, FORMAT_TAP };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vdev-conform [options] PLUGIN.so\n"
		"       vdev-conform --list\n"
		"Runs the vdev conformance checks on a plugin, each in a child process.\n"
		"  --list             list the checks and exit\n"
		"  --only ID[,ID]     run only these checks\n"
		"  --skip ID[,ID]     do not run these checks\n"
		"  --seed N           seed of the random workloads (printed on every run)\n"
		"  --options TEXT     instance options, as after `vdev NAME` in a config\n"
		"  --timeout S        seconds per check before it counts as crashed (10)\n"
		"  --in-process       run checks in this process (for debuggers; no timeout)\n"
		"  --valgrind         run uninitialised-reads (the access, reset and state\n"
		"                     checks again under valgrind; slow)\n"
		"  --json, --tap      machine-readable output instead of text\n"
		"  --fuzz SECONDS     instead of the checks, fuzz registers, controller ops\n"
		"                     and restore for that long (libFuzzer; exit 77 without it)\n"
		"  --corpus DIR       the fuzzer's corpus (default: a new directory in /tmp)\n"
		"  -h, --help         this text\n"
		"Exit status: 0 nothing failed or crashed, 1 a check failed or crashed,\n"
		"2 usage error. See sdk/conform/README.md.\n");
}

static const struct conform_check *find_check(const char *id, size_t len)
{
	for (unsigned i = 0; i < conform_check_count; i++)
		if (strlen(conform_checks[i].id) == len && !strncmp(conform_checks[i].id, id, len))
			return &conform_checks[i];
	return NULL;
}

/* Marks the checks named in a comma list; -EINVAL (after a message) for an unknown id. */
static int mark_ids(const char *list, bool *marks, const char *option)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");
		const struct conform_check *c = find_check(p, len);

		if (len && !c) {
			fprintf(stderr,
				"vdev-conform: %s: unknown check id \"%.*s\" (--list shows "
				"them)\n",
				option, (int)len, p);
			return -EINVAL;
		}
		if (c)
			marks[c - conform_checks] = true;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int parse_u64(const char *text, uint64_t *value)
{
	char *end;

	errno = 0;
	*value = strtoull(text, &end, 0);
	return (errno || end == text || *end || text[0] == '-') ? -EINVAL : 0;
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else if (c >= 0x80)
			fputc('?', out); /* plugin output need not be UTF-8 */
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* The "see sdk/README.md section N (title)" pointer of a finding. */
static void see_also(const struct conform_check *c, char *buf, size_t len)
{
	snprintf(buf, len, "see sdk/README.md section %u (%s)", c->section,
		 conform_guide_title(c->section));
}

static void print_human(const struct conform_check *c, const struct conform_result *r, double ms)
{
	static const char *const tags[] = {"PASS", "SKIP", "WARN", "FAIL", "CRASHED"};
	char see[128];

	printf("%-8s %-28s %7.1f ms", tags[r->outcome], c->id, ms);
	if (r->details[0]) {
		printf("  ");
		for (const char *p = r->details; *p; p++) {
			putchar(*p);
			if (*p == '\n')
				printf("%48s", "");
		}
	}
	putchar('\n');
	if (r->outcome == CONFORM_FAIL || r->outcome == CONFORM_CRASHED ||
	    r->outcome == CONFORM_WARN) {
		see_also(c, see, sizeof(see));
		printf("%48s%s\n", "", see);
	}
}

static void print_tap(unsigned n, const struct conform_check *c, const struct conform_result *r)
{
	char see[128];
	bool bad = r->outcome == CONFORM_FAIL || r->outcome == CONFORM_CRASHED;

	see_also(c, see, sizeof(see));
	printf("%s %u - %s", bad ? "not ok" : "ok", n, c->id);
	if (r->outcome == CONFORM_SKIP) {
		printf(" # SKIP ");
		for (const char *p = r->details; *p && *p != '\n'; p++)
			putchar(*p);
	}
	putchar('\n');
	if (r->outcome != CONFORM_SKIP && (r->details[0] || bad || r->outcome == CONFORM_WARN)) {
		printf("  ---\n  outcome: %s\n  details: |\n    ",
		       conform_outcome_name(r->outcome));
		for (const char *p = r->details; *p; p++) {
			putchar(*p);
			if (*p == '\n')
				printf("    ");
		}
		printf("\n");
		if (bad || r->outcome == CONFORM_WARN)
			printf("  see: \"%s\"\n", see);
		printf("  ...\n");
	}
}

static void print_json(bool first, const struct conform_check *c, const struct conform_result *r,
		       double ms)
{
	char see[128];

	see_also(c, see, sizeof(see));
	/* One result per line, so that line tools can read it too. */
	printf("%s    {\"id\": ", first ? "" : ",\n");
	json_string(stdout, c->id);
	printf(", \"outcome\": \"%s\", \"duration_ms\": %.1f, \"section\": %u, \"see\": ",
	       conform_outcome_name(r->outcome), ms, c->section);
	json_string(stdout, see);
	printf(", \"details\": ");
	json_string(stdout, r->details);
	printf("}");
}

static uint64_t default_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid()) %
	       1000000000ull;
}

/* Whether the plugin file names libasan (gcc's ASan runtime) anywhere: its
 * DT_NEEDED does when it was linked with gcc -fsanitize=address. */
static bool plugin_needs_gcc_asan(const char *path)
{
	static const char needle[] = "libasan.so";
	FILE *f = fopen(path, "rb");
	char buf[65536 + sizeof(needle)];
	size_t keep = 0, got;
	bool found = false;

	if (!f)
		return false;
	while (!found && (got = fread(buf + keep, 1, sizeof(buf) - keep, f)) > 0) {
		size_t len = keep + got;

		found = memmem(buf, len, needle, sizeof(needle) - 1) != NULL;
		keep = len < sizeof(needle) ? len : sizeof(needle) - 1;
		memmove(buf, buf + len - keep, keep);
	}
	fclose(f);
	return found;
}

/*
 * --fuzz: exec vdev-conform-fuzz (next to this program) on the plugin with
 * the options the checks would use. Its exit status is ours: 0 nothing
 * found, 1 a finding (libFuzzer saved the input), 77 no fuzzer built.
 */
static int run_fuzz(const struct conform_opts *opts, unsigned seconds, const char *corpus)
{
	static const struct conform_check probe = {"fuzz", 13, "the fuzzer's options", NULL, 0};
	struct conform_result result = {0};
	struct conform_run run = {.opts = opts, .check = &probe, .result = &result};
	struct conform_session s;
	char self[PATH_MAX], fuzz[PATH_MAX + 32], plugin[PATH_MAX],
	    dir[] = "/tmp/vdev-conform-corpus-XXXXXX";
	char a_time[48], a_timeout[48], a_seed[48];
	ssize_t got = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (got <= 0)
		return EXIT_USAGE;
	self[got] = '\0';
	slash = strrchr(self, '/');
	snprintf(fuzz, sizeof(fuzz), "%.*s/vdev-conform-fuzz", slash ? (int)(slash - self) : 1,
		 slash ? self : ".");
	if (access(fuzz, X_OK) < 0) {
		printf("SKIP: %s is not built: it needs clang and its libFuzzer runtime "
		       "(libclang-rt-dev) when the SDK is built\n",
		       fuzz);
		return 77;
	}
	if (plugin_needs_gcc_asan(opts->plugin)) {
		printf("SKIP: %s is built with gcc's AddressSanitizer (it needs libasan), which "
		       "cannot share a process with the fuzzer's clang runtime: fuzz a release or "
		       "a FUZZ=1 (clang) build\n",
		       opts->plugin);
		return 77;
	}
	if (!realpath(opts->plugin, plugin)) {
		fprintf(stderr, "vdev-conform: %s: %s\n", opts->plugin, strerror(errno));
		return EXIT_USAGE;
	}
	/* The instance options the checks use (a free loc, an intr). A plugin
	 * built for the fuzzer (FUZZ=1) does not load here, only in the fuzzer
	 * (its coverage symbols are the fuzzer's): then the fuzzer chooses. */
	setenv("VDEV_CONFORM_FUZZ_PLUGIN", plugin, 1);
	if (opts->options) {
		setenv("VDEV_CONFORM_FUZZ_OPTIONS", opts->options, 1);
	} else if (conform_session_open(&s, &run) == 0) {
		conform_session_want_intr(&s);
		setenv("VDEV_CONFORM_FUZZ_OPTIONS", s.options, 1);
		conform_session_close(&s);
	}
	if (!corpus) {
		if (!mkdtemp(dir)) {
			fprintf(stderr, "vdev-conform: mkdtemp: %s\n", strerror(errno));
			return EXIT_USAGE;
		}
		corpus = dir;
	}
	printf("vdev-conform --fuzz %s for %u s, options \"%s\", seed %" PRIu64
	       ", corpus %s; a finding is saved as ./vdev-conform-fuzz-crash-* (replay: "
	       "VDEV_CONFORM_FUZZ_PLUGIN=%s %s FILE)\n",
	       plugin, seconds,
	       getenv("VDEV_CONFORM_FUZZ_OPTIONS") ? getenv("VDEV_CONFORM_FUZZ_OPTIONS")
						   : "(the fuzzer's choice)",
	       opts->seed, corpus, plugin, fuzz);
	fflush(stdout);
	snprintf(a_time, sizeof(a_time), "-max_total_time=%u", seconds);
	snprintf(a_timeout, sizeof(a_timeout), "-timeout=%u", opts->timeout_s);
	snprintf(a_seed, sizeof(a_seed), "-seed=%" PRIu64, opts->seed % 2147483647u + 1);
	execl(fuzz, fuzz, a_time, a_timeout, a_seed, "-rss_limit_mb=2048", "-error_exitcode=1",
	      "-timeout_exitcode=1", "-print_final_stats=1",
	      "-artifact_prefix=./vdev-conform-fuzz-", corpus, (char *)NULL);
	fprintf(stderr, "vdev-conform: %s: %s\n", fuzz, strerror(errno));
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	/* clang-format off */
	static const struct option longopts[] = {
	    {"list", no_argument, NULL, 'l'},
	    {"only", required_argument, NULL, 'o'},
	    {"skip", required_argument, NULL, 'x'},
	    {"seed", required_argument, NULL, 's'},
	    {"options", required_argument, NULL, 'O'},
	    {"timeout", required_argument, NULL, 't'},
	    {"in-process", no_argument, NULL, 'i'},
	    {"valgrind", no_argument, NULL, 'V'},
	    {"fuzz", required_argument, NULL, 'F'},
	    {"corpus", required_argument, NULL, 'C'},
	    {"json", no_argument, NULL, 'j'},
	    {"tap", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	/* clang-format on */
	struct conform_opts opts = {.timeout_s = 10};
	bool only[64] = {false}, skip[64] = {false}, have_only = false, list = false;
	bool have_seed = false;
	unsigned fuzz_seconds = 0;
	const char *corpus = NULL;
	enum format format = FORMAT_HUMAN;
	unsigned counts[CONFORM_CRASHED + 1] = {0};
	uint64_t value;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			list = true;
			break;
		case 'o':
			if (mark_ids(optarg, only, "--only") < 0)
				return EXIT_USAGE;
			have_only = true;
			break;
		case 'x':
			if (mark_ids(optarg, skip, "--skip") < 0)
				return EXIT_USAGE;
			break;
		case 's':
			if (parse_u64(optarg, &opts.seed) < 0) {
				fprintf(stderr, "vdev-conform: --seed wants a number, not \"%s\"\n",
					optarg);
				return EXIT_USAGE;
			}
			have_seed = true;
			break;
		case 'O':
			opts.options = optarg;
			break;
		case 't':
			if (parse_u64(optarg, &value) < 0 || value == 0 || value > 86400) {
				fprintf(stderr,
					"vdev-conform: --timeout wants seconds (1..86400), not "
					"\"%s\"\n",
					optarg);
				return EXIT_USAGE;
			}
			opts.timeout_s = (unsigned)value;
			break;
		case 'i':
			opts.in_process = true;
			break;
		case 'V':
			opts.valgrind = true;
			break;
		case 'F':
			if (parse_u64(optarg, &value) < 0 || value == 0 || value > 86400 * 7) {
				fprintf(stderr, "vdev-conform: --fuzz wants seconds, not \"%s\"\n",
					optarg);
				return EXIT_USAGE;
			}
			fuzz_seconds = (unsigned)value;
			break;
		case 'C':
			corpus = optarg;
			break;
		case 'j':
			format = FORMAT_JSON;
			break;
		case 'T':
			format = FORMAT_TAP;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (list) {
		for (unsigned i = 0; i < conform_check_count; i++)
			printf("%-28s %s (sdk/README.md section %u)\n", conform_checks[i].id,
			       conform_checks[i].summary, conform_checks[i].section);
		return 0;
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	opts.plugin = argv[optind];
	opts.self = argv[0];
	if (access(opts.plugin, R_OK) < 0) {
		fprintf(stderr, "vdev-conform: %s: %s\n", opts.plugin, strerror(errno));
		return EXIT_USAGE;
	}
	/* dlopen searches the library path for a name without '/': the user
	 * means the file, so make it a path. */
	char path[4096];
	if (!strchr(opts.plugin, '/')) {
		snprintf(path, sizeof(path), "./%s", opts.plugin);
		opts.plugin = path;
	}
	if (!have_seed)
		opts.seed = default_seed();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fuzz_seconds)
		return run_fuzz(&opts, fuzz_seconds, corpus);

	unsigned selected = 0;
	for (unsigned i = 0; i < conform_check_count; i++)
		if ((!have_only || only[i]) && !skip[i])
			selected++;
	if (format == FORMAT_HUMAN)
		printf("vdev-conform %s: %u check(s), seed %" PRIu64 " (replay with --seed %" PRIu64
		       ")%s%s%s\n",
		       opts.plugin, selected, opts.seed, opts.seed,
		       opts.options ? ", options \"" : "", opts.options ? opts.options : "",
		       opts.options ? "\"" : "");
	else if (format == FORMAT_TAP)
		printf("TAP version 13\n# vdev-conform %s seed %" PRIu64 "\n1..%u\n", opts.plugin,
		       opts.seed, selected);
	else {
		printf("{\"plugin\": ");
		json_string(stdout, opts.plugin);
		printf(", \"seed\": %" PRIu64 ", \"options\": ", opts.seed);
		if (opts.options)
			json_string(stdout, opts.options);
		else
			printf("null");
		printf(", \"results\": [\n");
	}

	unsigned n = 0;
	for (unsigned i = 0; i < conform_check_count; i++) {
		const struct conform_check *check = &conform_checks[i];
		struct conform_result *result;
		uint64_t t0;
		double ms;
		int rc;

		if ((have_only && !only[i]) || skip[i])
			continue;
		result = calloc(1, sizeof(*result));
		if (!result) {
			fprintf(stderr, "vdev-conform: out of memory\n");
			return EXIT_USAGE;
		}
		t0 = conform_now_ns();
		rc = conform_run_check(&opts, check, result);
		ms = (double)(conform_now_ns() - t0) / 1e6;
		if (rc < 0) {
			fprintf(stderr, "vdev-conform: cannot run check %s: %s\n", check->id,
				strerror(-rc));
			free(result);
			return EXIT_USAGE;
		}
		counts[result->outcome]++;
		n++;
		if (format == FORMAT_HUMAN)
			print_human(check, result, ms);
		else if (format == FORMAT_TAP)
			print_tap(n, check, result);
		else
			print_json(n == 1, check, result, ms);
		free(result);
	}
	if (format == FORMAT_JSON)
		printf(
		    "\n  ], \"summary\": {\"pass\": %u, \"skip\": %u, \"warn\": %u, \"fail\": %u, "
		    "\"crashed\": %u}}\n",
		    counts[CONFORM_PASS], counts[CONFORM_SKIP], counts[CONFORM_WARN],
		    counts[CONFORM_FAIL], counts[CONFORM_CRASHED]);
	else if (format == FORMAT_TAP)
		printf("# pass %u, skip %u, warn %u, fail %u, crashed %u\n", counts[CONFORM_PASS],
		       counts[CONFORM_SKIP], counts[CONFORM_WARN], counts[CONFORM_FAIL],
		       counts[CONFORM_CRASHED]);
	else
		printf("%u passed, %u skipped, %u warned, %u failed, %u crashed (seed %" PRIu64
		       ")\n",
		       counts[CONFORM_PASS], counts[CONFORM_SKIP], counts[CONFORM_WARN],
		       counts[CONFORM_FAIL], counts[CONFORM_CRASHED], opts.seed);
	return counts[CONFORM_FAIL] || counts[CONFORM_CRASHED] ? EXIT_CHECKS_FAILED : 0;
}
