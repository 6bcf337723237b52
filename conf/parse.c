/*
 * conf/parse.c: the grammar of the qvm language, from words to the VM tree.
 *
 * How words are grouped (conf/README.md says it for users):
 *  - a top-level option keyword is one of top_options[]; `cpu`, `vdev`,
 *    `pass` and `reserve` open a context that lasts until the next of these,
 *    or the end of the @file that opened it;
 *  - inside `cpu`: sched, runmask, partition, set belong to the cpu;
 *  - inside `pass`/`reserve`: loc and intr;
 *  - inside `vdev`: loc, intr, name, log, set, and every other word that is
 *    not a top-level keyword is a device option taking the next word as its
 *    argument (unless it takes none: conf_env.option_arity asks the
 *    plugin's schema, else a fixed list; or the next word is a keyword or
 *    the end of the input);
 *  - other top-level options (ram, load, ...) apply to the VM and end nothing.
 * Errors are reported and parsing goes on with the next word, so that one
 * run shows several errors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/internal.h"

#define MAX_ERRORS 50

enum ctx_kind { CTX_NONE, CTX_CPU, CTX_VDEV, CTX_PASS, CTX_RESERVE };

/* An `intr X:N` whose controller was not defined before it, waiting for the
 * end of input to tell "defined later" from "unknown". */
struct pending_intr {
	const char *controller;
	struct conf_pos pos;
	unsigned vdevs_before; /* vdevs defined before the user */
};

struct parser {
	struct conf_vm *vm;
	const struct conf_env *env;
	struct conf_diag *diag;
	const struct conf_token *t;
	unsigned n, i;
	enum ctx_kind ctx;
	unsigned ctx_index;
	bool seen_other; /* an option other than `system` was read */
	const struct conf_token *first_other;
	uint64_t mem_next; /* where a ram/rom without start goes */
	bool mem_full;	   /* the highest ram/rom ends at 2^64 */
	bool oom;
	bool stopped;
	struct pending_intr *pending;
	unsigned pending_count;
};

static const char *const top_options[] = {
    "system", "cpu",	"ram",	       "rom", "load",	"pass",	   "reserve",
    "vdev",   "logger", "unsupported", "set", "dryrun", "cmdline", "dump",
};
#define TOP_COUNT (sizeof(top_options) / sizeof(top_options[0]))
static const char *const blob_types[] = {"data", "acpi", "fdt", "initrd", "raw", "elf"};
static const char *const cpu_options[] = {"sched", "runmask", "partition", "set"};
static const char *const region_options[] = {"loc", "intr"};
static const char *const vdev_options[] = {"loc", "intr", "name", "log", "set", "isolate"};
/* Device options known to take no argument (qvm's option lists mark them),
 * for when conf_env.option_arity is not given or does not know. */
static const char *const vdev_noarg_options[] = {"legacy", "legacy-free"};
/* What a no-argument option may still be given explicitly: `start off`. */
static const char *const bool_literals[] = {"on", "off", "yes", "no", "true", "false", "1", "0"};
static const char *const default_natives[] = {"apic", "isa", "pci", "msi", "gic", "cpu", NULL};
static const char *const log_filters[] = {"fatal", "internal", "error",	 "warn",
					  "info",  "debug",    "verbose"};
static const char *const log_dests[] = {"stdout", "stderr", "slog", "none"};
static const char *const unsup_kinds[] = {"instruction", "reference", "register"};
static const char *const unsup_actions[] = {"abort", "fail", "ignore"};

#define COUNT(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

static int find_word(const char *word, const char *const *list, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (strcmp(word, list[i]) == 0)
			return (int)i;
	return -1;
}

static void perr(struct parser *p, const struct conf_pos *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void perr(struct parser *p, const struct conf_pos *pos, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->stopped)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_diag_error(p->diag, pos, "%s", msg);
	if (conf_diag_error_count(p->diag) >= MAX_ERRORS) {
		conf_diag_note(p->diag, pos, "too many errors, stopping here");
		p->stopped = true;
	}
}

/* Where character `off` of a token was written. */
static const struct conf_pos *tok_at(const struct conf_token *t, size_t off)
{
	return &t->cpos[off < t->len ? off : t->len];
}

static bool is_keyword(const struct conf_token *t)
{
	return !t->boundary && !t->quoted && find_word(t->text, top_options, TOP_COUNT) >= 0;
}

static const struct conf_token *peek(const struct parser *p, unsigned ahead)
{
	return p->i + ahead < p->n ? &p->t[p->i + ahead] : NULL;
}

/* `acpi load ...`: a blob type is a prefix only right before load/pass. */
static bool is_blob_prefix(const struct parser *p, const struct conf_token *t)
{
	const struct conf_token *next = t + 1;

	if (t->boundary || t->quoted || find_word(t->text, blob_types, COUNT(blob_types)) < 0)
		return false;
	if (next >= p->t + p->n || next->boundary || next->quoted)
		return false;
	return strcmp(next->text, "load") == 0 || strcmp(next->text, "pass") == 0;
}

/* Does this word end a device option list (a keyword, or a blob prefix)? */
static bool ends_options(const struct parser *p, const struct conf_token *t)
{
	return t->boundary || is_keyword(t) || is_blob_prefix(p, t);
}

static char *vm_str(struct parser *p, const char *s)
{
	char *c = conf_vm_strdup(p->vm, s);

	if (!c && s)
		p->oom = true;
	return c;
}

static void *push(struct parser *p, void *array, unsigned *count, size_t size)
{
	void *e = conf_array_push(array, count, size);

	if (!e)
		p->oom = true;
	return e;
}

/* The argument of `opt`: the next word, unless the input ends or the next
 * word is an option keyword (then the argument is missing). */
static const struct conf_token *take_arg(struct parser *p, const struct conf_token *opt,
					 const char *what)
{
	const struct conf_token *a = peek(p, 0);

	if (a && !a->boundary && !is_keyword(a)) {
		p->i++;
		/* A failed substitution was reported: say nothing more. */
		return a->bad ? NULL : a;
	}
	if (a && !a->boundary)
		perr(p, &opt->pos, "'%s' needs %s; found the option '%s' instead", opt->text, what,
		     a->text);
	else
		perr(p, &opt->pos, "'%s' needs %s", opt->text, what);
	return NULL;
}

static bool number_in(struct parser *p, const struct conf_token *t, size_t s, size_t e,
		      unsigned flags, const char *what, uint64_t *v)
{
	char msg[200];
	size_t bad = 0;

	if (conf_span_number(t->text, s, e, flags, what, v, msg, sizeof(msg), &bad) == 0)
		return true;
	perr(p, tok_at(t, bad), "%s", msg);
	return false;
}

/* ----------------------------------------------------------- contexts */

static const char *vdev_base_type(const char *type, size_t *len)
{
	const char *b = type ? strrchr(type, '/') : NULL;
	size_t n;

	b = b ? b + 1 : (type ? type : "");
	if (strncmp(b, "vdev-", 5) == 0)
		b += 5;
	n = strlen(b);
	if (n > 3 && strcmp(b + n - 3, ".so") == 0)
		n -= 3;
	*len = n;
	return b;
}

/* The name other vdevs use for vdev v: its `name`, else its type. */
static bool vdev_answers_to(const struct conf_vdev *v, const char *name)
{
	size_t n;
	const char *b;

	if (v->name)
		return strcmp(v->name, name) == 0;
	b = vdev_base_type(v->type, &n);
	return strlen(name) == n && strncmp(b, name, n) == 0;
}

static const char *const *natives(const struct parser *p)
{
	return p->env && p->env->native_controllers ? p->env->native_controllers : default_natives;
}

static bool is_native(const struct parser *p, const char *name)
{
	for (const char *const *n = natives(p); *n; n++)
		if (strcmp(*n, name) == 0)
			return true;
	return false;
}

/* Check the intrs of a context that just closed; `self` is the vdev index
 * (or -1) and `before` the number of vdevs defined before the user. */
static void check_intrs(struct parser *p, const struct conf_intr *intrs, unsigned count, int self,
			unsigned before)
{
	for (unsigned k = 0; k < count; k++) {
		const struct conf_intr *in = &intrs[k];
		bool found = false;

		if (!in->controller || is_native(p, in->controller))
			continue;
		for (unsigned j = 0; j < before && !found; j++)
			found = vdev_answers_to(&p->vm->vdevs[j], in->controller);
		if (found)
			continue;
		if (self >= 0 && p->vm->vdevs[self].name &&
		    strcmp(p->vm->vdevs[self].name, in->controller) == 0) {
			perr(p, &in->pos, "vdev '%s' cannot take its interrupt from itself",
			     in->controller);
			continue;
		}
		struct pending_intr *pi = push(p, &p->pending, &p->pending_count, sizeof(*pi));
		if (!pi)
			return;
		pi->controller = in->controller;
		pi->pos = in->pos;
		pi->vdevs_before = before;
	}
}

static void resolve_pending(struct parser *p)
{
	for (unsigned k = 0; k < p->pending_count; k++) {
		const struct pending_intr *pi = &p->pending[k];
		const struct conf_vdev *def = NULL;
		const char *cands[64];
		unsigned nc = 0;

		for (unsigned j = pi->vdevs_before; j < p->vm->vdev_count && !def; j++)
			if (vdev_answers_to(&p->vm->vdevs[j], pi->controller))
				def = &p->vm->vdevs[j];
		if (def) {
			const struct conf_pos *dp = def->name ? &def->name_pos : &def->type_pos;

			perr(p, &pi->pos,
			     "interrupt controller '%s' is defined later (%s:%u:%u): a controller "
			     "must come before any intr that names it",
			     pi->controller, dp->file, dp->line, dp->col);
			conf_diag_note(p->diag, dp, "'%s' is defined here", pi->controller);
			continue;
		}
		for (const char *const *n = natives(p); *n && nc < COUNT(cands); n++)
			cands[nc++] = *n;
		for (unsigned j = 0; j < pi->vdevs_before && nc < COUNT(cands); j++)
			if (p->vm->vdevs[j].name)
				cands[nc++] = p->vm->vdevs[j].name;
		const char *s = conf_suggest(pi->controller, cands, nc);
		perr(p, &pi->pos,
		     "unknown interrupt controller '%s': no vdev before this point is named '%s', "
		     "and it is not a native controller%s%s%s",
		     pi->controller, pi->controller, s ? "; did you mean '" : "", s ? s : "",
		     s ? "'?" : "");
	}
}

static void close_ctx(struct parser *p)
{
	struct conf_vm *vm = p->vm;

	switch (p->ctx) {
	case CTX_VDEV: {
		struct conf_vdev *v = &vm->vdevs[p->ctx_index];

		if (v->name) {
			for (unsigned j = 0; j < p->ctx_index; j++) {
				const struct conf_vdev *o = &vm->vdevs[j];

				if (o->name && strcmp(o->name, v->name) == 0) {
					perr(p, &v->name_pos,
					     "duplicate vdev name '%s' (first given at %s:%u:%u)",
					     v->name, o->name_pos.file, o->name_pos.line,
					     o->name_pos.col);
					break;
				}
			}
		}
		check_intrs(p, v->intrs, v->intr_count, (int)p->ctx_index, p->ctx_index);
		break;
	}
	case CTX_PASS: {
		const struct conf_region_ctx *r = &vm->passes[p->ctx_index];

		check_intrs(p, r->intrs, r->intr_count, -1, vm->vdev_count);
		break;
	}
	case CTX_RESERVE: {
		const struct conf_region_ctx *r = &vm->reserves[p->ctx_index];

		check_intrs(p, r->intrs, r->intr_count, -1, vm->vdev_count);
		break;
	}
	default:
		break;
	}
	p->ctx = CTX_NONE;
}

/* ------------------------------------------------------------ values */

static void add_set(struct parser *p, const struct conf_token *opt, struct conf_option **sets,
		    unsigned *count)
{
	const struct conf_token *var = take_arg(p, opt, "a variable name and a value");
	const struct conf_token *val =
	    var ? take_arg(p, opt, "a value after the variable name") : NULL;
	struct conf_option *o;

	if (!val)
		return;
	o = push(p, sets, count, sizeof(*o));
	if (!o)
		return;
	o->name = vm_str(p, var->text);
	o->value = vm_str(p, val->text);
	o->pos = var->pos;
	o->value_pos = val->pos;
}

/* filter[,filter...] dest, for `logger` and a vdev's `log` */
static bool parse_log_spec(struct parser *p, const struct conf_token *opt, struct conf_logger *out)
{
	const struct conf_token *f = take_arg(p, opt, "filters and a destination");
	const struct conf_token *d = f ? take_arg(p, opt, "a destination after the filters") : NULL;
	bool ok = true;
	size_t s = 0;

	if (!d)
		return false;
	out->pos = opt->pos;
	out->filters = 0;
	while (s <= f->len) {
		size_t e = s + strcspn(f->text + s, ",");
		char word[32];
		int k;

		snprintf(word, sizeof(word), "%.*s", (int)(e - s), f->text + s);
		k = e - s < sizeof(word) ? find_word(word, log_filters, COUNT(log_filters)) : -1;
		if (k < 0 && strcmp(word, "warning") == 0)
			k = 3; /* the per-vdev `log` pages spell it so */
		if (k >= 0) {
			out->filters |= 1u << k;
		} else if (e == s) {
			perr(p, tok_at(f, s), "empty log filter");
			ok = false;
		} else {
			const char *sg = conf_suggest(word, log_filters, COUNT(log_filters));

			perr(p, tok_at(f, s),
			     "unknown log filter '%.*s'%s%s%s (filters: fatal, internal, error, "
			     "warn, info, debug, verbose)",
			     (int)(e - s), f->text + s, sg ? "; did you mean '" : "", sg ? sg : "",
			     sg ? "'?" : "");
			ok = false;
		}
		s = e + 1;
	}
	int k = find_word(d->text, log_dests, COUNT(log_dests));
	if (k < 0) {
		const char *sg = conf_suggest(d->text, log_dests, COUNT(log_dests));

		perr(p, &d->pos, "unknown log destination '%s'%s%s%s (stdout, stderr, slog, none)",
		     d->text, sg ? "; did you mean '" : "", sg ? sg : "", sg ? "'?" : "");
		return false;
	}
	out->dest = (enum conf_log_dest)k;
	return ok;
}

/* `loc io 0xcf,0x8` (a reserve example): the space as a separate word */
static const struct conf_token *loc_word(struct parser *p, const struct conf_token *opt,
					 char **joined, size_t *shift)
{
	const struct conf_token *a = take_arg(p, opt, "a location");
	const struct conf_token *b;

	*joined = NULL;
	*shift = 0;
	if (!a || a->quoted || (strcmp(a->text, "io") != 0 && strcmp(a->text, "mem") != 0))
		return a;
	b = peek(p, 0);
	if (!b || ends_options(p, b))
		return a;
	p->i++;
	if (asprintf(joined, "%s:%s", a->text, b->text) < 0) {
		*joined = NULL;
		p->oom = true;
		return NULL;
	}
	*shift = a->len + 1;
	return b;
}

static void add_loc(struct parser *p, const struct conf_token *opt, bool pass,
		    struct conf_loc **locs, unsigned *count)
{
	char *joined, msg[200];
	size_t shift, bad = 0;
	const struct conf_token *a = loc_word(p, opt, &joined, &shift);
	const char *text = joined ? joined : (a ? a->text : NULL);
	struct vdev_loc loc;
	struct conf_loc_ext ext;
	struct conf_loc *l;

	if (!a)
		return;
	if (conf_loc_parse_ext(text, VDEV_SPACE_MMIO, pass, &loc, &ext, msg, sizeof(msg), &bad)) {
		perr(p, bad >= shift ? tok_at(a, bad - shift) : &p->t[p->i - 2].pos, "%s", msg);
		free(joined);
		return;
	}
	l = push(p, locs, count, sizeof(*l));
	if (l) {
		l->loc = loc;
		l->has_space = ext.has_space;
		l->text = vm_str(p, text);
		l->pos = joined ? p->t[p->i - 2].pos : a->pos;
		if (ext.flags_start)
			l->pass_flags = conf_vm_strndup(p->vm, ext.flags_start, ext.flags_len);
		l->has_host = ext.has_host;
		l->host = ext.host;
	}
	free(joined);
}

static void add_intrs(struct parser *p, const struct conf_token *opt, bool region, bool reserve,
		      struct conf_intr **intrs, unsigned *count)
{
	const struct conf_token *a = take_arg(p, opt, "an interrupt");
	size_t s = 0;

	if (!a)
		return;
	/* A vdev's intr takes a comma list (intr ioapic:2,ioapic:6); in pass
	 * and reserve the commas carry attributes (intr 5,u=7). */
	while (s <= a->len) {
		size_t e = region ? a->len : s + strcspn(a->text + s, ",");
		char *ctrl = NULL, msg[200];
		struct conf_intr_ext ext;
		size_t bad = 0;
		bool has_line;
		unsigned line;
		int rc = conf_intr_parse(a->text + s, e - s, region, &ctrl, &has_line, &line, &ext,
					 msg, sizeof(msg), &bad);

		if (rc == -ENOMEM) {
			p->oom = true;
			return;
		}
		if (rc) {
			perr(p, tok_at(a, s + bad), "%s", msg);
		} else if (reserve && (ext.unmask || ext.ist || ext.has_vector)) {
			perr(p, tok_at(a, s),
			     "interrupt attributes (,u ,t =vector) are for pass only");
		} else {
			struct conf_intr *in = push(p, intrs, count, sizeof(*in));

			if (in) {
				in->text = conf_vm_strndup(p->vm, a->text + s, e - s);
				in->controller = vm_str(p, ctrl);
				in->has_line = has_line;
				in->line = line;
				in->pos = *tok_at(a, s);
				in->unmask = ext.unmask;
				in->ist = ext.ist;
				in->has_vector = ext.has_vector;
				in->vector = ext.vector;
			}
		}
		free(ctrl);
		s = e + 1;
	}
}

/* ----------------------------------------------------- context options */

/* Is t an argument of `isolate` (on-failure=..., timeout=...)? */
static bool is_isolate_arg(const struct conf_token *t)
{
	return t && !t->boundary && !t->quoted &&
	       (strncmp(t->text, "on-failure=", 11) == 0 || strncmp(t->text, "timeout=", 8) == 0);
}

/*
 * isolate [on-failure=ignore|terminate][,timeout=MS]: the words that follow
 * are its arguments only when they have those forms, so a bare `isolate`
 * leaves the next device option alone.
 */
static void parse_isolate(struct parser *p, const struct conf_token *opt, struct conf_vdev *v)
{
	v->isolate = true;
	v->isolate_pos = opt->pos;
	while (is_isolate_arg(peek(p, 0))) {
		const struct conf_token *a = &p->t[p->i++];
		size_t s = 0;

		while (s < a->len) {
			size_t e = s;

			while (e < a->len && a->text[e] != ',')
				e++;
			if (strncmp(a->text + s, "on-failure=", 11) == 0) {
				const char *w = a->text + s + 11;
				size_t n = e - s - 11;

				if (n == 6 && strncmp(w, "ignore", 6) == 0)
					v->isolate_terminate = false;
				else if (n == 9 && strncmp(w, "terminate", 9) == 0)
					v->isolate_terminate = true;
				else
					perr(p, tok_at(a, s + 11),
					     "isolate: on-failure= takes ignore or terminate");
			} else if (strncmp(a->text + s, "timeout=", 8) == 0) {
				uint64_t ms;

				if (number_in(p, a, s + 8, e, 0, "timeout", &ms)) {
					if (ms < 1 || ms > 60000)
						perr(p, tok_at(a, s + 8),
						     "isolate: timeout=%llu is out of range "
						     "1..60000 "
						     "(milliseconds)",
						     (unsigned long long)ms);
					else
						v->isolate_timeout_ms = (unsigned)ms;
				}
			} else {
				perr(p, tok_at(a, s),
				     "isolate: expected on-failure=ignore|terminate or timeout=MS");
			}
			s = e + 1;
		}
	}
}

static void parse_sched(struct parser *p, const struct conf_token *opt, struct conf_cpu *cpu)
{
	const struct conf_token *a = take_arg(p, opt, "a priority, e.g. 10 or 10r");
	size_t e;
	uint64_t prio;
	char policy = 0;

	if (!a)
		return;
	if (strchr(a->text, ',')) {
		perr(p, tok_at(a, (size_t)(strchr(a->text, ',') - a->text)),
		     "sporadic scheduling (sched high,low,max_repl,period,budget s) is not "
		     "supported: give priority[r|f|o]");
		return;
	}
	e = a->len;
	if (e > 1 && strchr("rfo", a->text[e - 1])) {
		policy = a->text[e - 1];
		e--;
	}
	if (!number_in(p, a, 0, e, 0, "priority", &prio))
		return;
	if (prio < 1 || prio > 255) {
		perr(p, &a->pos, "scheduling priority %llu is out of range 1..255",
		     (unsigned long long)prio);
		return;
	}
	cpu->has_sched = true; /* repeated: the last one wins */
	cpu->sched_priority = (int)prio;
	cpu->sched_policy = policy;
}

static void parse_runmask(struct parser *p, const struct conf_token *opt, struct conf_cpu *cpu)
{
	const struct conf_token *a = take_arg(p, opt, "a list of host CPU numbers");
	uint64_t mask = 0, n;
	size_t s = 0;

	if (!a)
		return;
	while (s <= a->len) {
		size_t e = s + strcspn(a->text + s, ",");

		if (!number_in(p, a, s, e, 0, "CPU number", &n))
			return;
		if (n > 63) {
			perr(p, tok_at(a, s), "host CPU number %llu is above 63",
			     (unsigned long long)n);
			return;
		}
		mask |= 1ull << n;
		s = e + 1;
	}
	cpu->has_runmask = true;
	cpu->runmask = mask;
}

static bool parse_cpu_option(struct parser *p, const struct conf_token *opt)
{
	struct conf_cpu *cpu = &p->vm->cpus[p->ctx_index];
	const struct conf_token *a;

	switch (find_word(opt->text, cpu_options, COUNT(cpu_options))) {
	case 0:
		p->i++;
		parse_sched(p, opt, cpu);
		return true;
	case 1:
		p->i++;
		parse_runmask(p, opt, cpu);
		return true;
	case 2:
		p->i++;
		a = take_arg(p, opt, "a partition name");
		if (a)
			cpu->partition = vm_str(p, a->text);
		return true;
	case 3:
		p->i++;
		add_set(p, opt, &cpu->sets, &cpu->set_count);
		return true;
	}
	return false;
}

static bool parse_region_option(struct parser *p, const struct conf_token *opt)
{
	bool pass = p->ctx == CTX_PASS;
	struct conf_region_ctx *r =
	    pass ? &p->vm->passes[p->ctx_index] : &p->vm->reserves[p->ctx_index];

	switch (find_word(opt->text, region_options, COUNT(region_options))) {
	case 0:
		p->i++;
		add_loc(p, opt, pass, &r->locs, &r->loc_count);
		return true;
	case 1:
		p->i++;
		add_intrs(p, opt, true, !pass, &r->intrs, &r->intr_count);
		return true;
	}
	return false;
}

/* The words the schema's BOOL type reads (sdk/host/options.c), any case. */
static bool is_bool_literal(const struct conf_token *t)
{
	for (unsigned k = 0; k < COUNT(bool_literals); k++)
		if (strcasecmp(t->text, bool_literals[k]) == 0)
			return true;
	return false;
}

/* Does device option `name` of vdev v take an argument? 0 no, 1 yes: the
 * plugin's schema through env->option_arity when it knows, else the fixed
 * list of no-argument options. */
static int vdev_option_arity(const struct parser *p, const struct conf_vdev *v, const char *name)
{
	int arity = -1;

	if (p->env && p->env->option_arity && v->type)
		arity = p->env->option_arity(p->env->option_ctx, v->type, name);
	if (arity == 0 || arity == 1)
		return arity;
	return find_word(name, vdev_noarg_options, COUNT(vdev_noarg_options)) >= 0 ? 0 : 1;
}

static bool parse_vdev_option(struct parser *p, const struct conf_token *opt)
{
	struct conf_vdev *v = &p->vm->vdevs[p->ctx_index];
	const struct conf_token *a;
	struct conf_option *o;

	/* `set` is also a top-level keyword: inside a vdev it is the vdev's. */
	if (ends_options(p, opt) && strcmp(opt->text, "set") != 0)
		return false;
	p->i++;
	switch (find_word(opt->text, vdev_options, COUNT(vdev_options))) {
	case 0:
		add_loc(p, opt, false, &v->locs, &v->loc_count);
		return true;
	case 1:
		add_intrs(p, opt, false, false, &v->intrs, &v->intr_count);
		return true;
	case 2:
		a = take_arg(p, opt, "a name");
		if (a) {
			v->name = vm_str(p, a->text);
			v->name_pos = a->pos;
		}
		return true;
	case 3: {
		struct conf_logger spec;
		unsigned first = p->i;

		if (parse_log_spec(p, opt, &spec)) {
			char *text = NULL;

			if (asprintf(&text, "%s %s", p->t[first].text, p->t[first + 1].text) < 0) {
				p->oom = true;
				return true;
			}
			v->log = vm_str(p, text);
			v->log_spec = spec;
			free(text);
		}
		return true;
	}
	case 4:
		add_set(p, opt, &v->sets, &v->set_count);
		return true;
	case 5:
		parse_isolate(p, opt, v);
		return true;
	}
	/* A device option, kept as text for the plugin's schema. */
	o = push(p, &v->options, &v->option_count, sizeof(*o));
	if (!o)
		return true;
	o->name = vm_str(p, opt->text);
	o->pos = opt->pos;
	a = peek(p, 0);
	if (!a || ends_options(p, a))
		return true;
	/* A no-argument option takes the next word only when that word is a
	 * bool literal (`start off`): anything else is the next option. */
	if (vdev_option_arity(p, v, opt->text) == 0 && !is_bool_literal(a))
		return true;
	o->value = vm_str(p, a->text);
	o->value_pos = a->pos;
	p->i++;
	return true;
}

/* ---------------------------------------------------- top-level options */

static void parse_memory(struct parser *p, const struct conf_token *opt, bool rom)
{
	const char *what = rom ? "rom" : "ram";
	const struct conf_token *a = take_arg(p, opt, "[start,]length");
	struct conf_memory m = {0};
	struct conf_memory *slot;
	size_t comma;

	if (!a)
		return;
	m.pos = opt->pos;
	comma = strcspn(a->text, ",");
	if (comma < a->len) {
		if (!number_in(p, a, 0, comma, CONF_NUM_MULTIPLIERS, "start address", &m.start) ||
		    !number_in(p, a, comma + 1, a->len, CONF_NUM_MULTIPLIERS, "length", &m.length))
			return;
		m.has_start = true;
	} else {
		if (!number_in(p, a, 0, a->len, CONF_NUM_MULTIPLIERS, "length", &m.length))
			return;
		if (p->mem_full) {
			perr(p, &a->pos,
			     "no room for a %s after the highest ram/rom, which ends at the top of "
			     "the address space",
			     what);
			return;
		}
		m.start = p->mem_next;
	}
	if (m.length == 0) {
		perr(p, tok_at(a, comma < a->len ? comma + 1 : 0), "a %s of length zero", what);
		return;
	}
	if (m.start > UINT64_MAX - m.length + 1) {
		perr(p, &a->pos, "%s 0x%llx,0x%llx goes beyond the 64-bit address space", what,
		     (unsigned long long)m.start, (unsigned long long)m.length);
		return;
	}
	for (int kind = 0; kind < 2; kind++) {
		const struct conf_memory *list = kind ? p->vm->roms : p->vm->rams;
		unsigned count = kind ? p->vm->rom_count : p->vm->ram_count;

		for (unsigned j = 0; j < count; j++) {
			const struct conf_memory *o = &list[j];

			if (m.start <= o->start + (o->length - 1) &&
			    o->start <= m.start + (m.length - 1)) {
				perr(p, &a->pos,
				     "%s 0x%llx,0x%llx overlaps the %s 0x%llx,0x%llx given at "
				     "%s:%u:%u",
				     what, (unsigned long long)m.start,
				     (unsigned long long)m.length, kind ? "rom" : "ram",
				     (unsigned long long)o->start, (unsigned long long)o->length,
				     o->pos.file, o->pos.line, o->pos.col);
				return;
			}
		}
	}
	uint64_t last = m.start + (m.length - 1);
	if (!p->mem_full && (p->vm->ram_count + p->vm->rom_count == 0 || last + 1 > p->mem_next ||
			     last == UINT64_MAX)) {
		if (last == UINT64_MAX)
			p->mem_full = true;
		else if (last + 1 > p->mem_next)
			p->mem_next = last + 1;
	}
	slot = rom ? push(p, &p->vm->roms, &p->vm->rom_count, sizeof(*slot))
		   : push(p, &p->vm->rams, &p->vm->ram_count, sizeof(*slot));
	if (slot)
		*slot = m;
}

static void parse_load(struct parser *p, const struct conf_token *opt,
		       const struct conf_token *blob)
{
	const struct conf_token *a = take_arg(p, opt, "[address,]path");
	const struct conf_token *first = blob ? blob : opt;
	struct conf_load l = {0};
	struct conf_load *slot;
	size_t comma;

	if (!a)
		return;
	l.pos = first->pos;
	l.blob_type = blob ? vm_str(p, blob->text) : NULL;
	/* load 0x100000,/boot/x: the address is there when the text before
	 * the first comma starts with a digit (paths rarely do). */
	comma = strcspn(a->text, ",");
	if (comma < a->len && a->text[0] >= '0' && a->text[0] <= '9') {
		if (!number_in(p, a, 0, comma, CONF_NUM_MULTIPLIERS, "load address", &l.address))
			return;
		l.has_address = true;
		l.path = vm_str(p, a->text + comma + 1);
	} else {
		l.path = vm_str(p, a->text);
	}
	if (!l.path || !l.path[0]) {
		perr(p, tok_at(a, comma + 1), "'load' needs a file path");
		return;
	}
	if (p->vm->ram_count + p->vm->rom_count == 0) {
		perr(p, &first->pos,
		     "'load' needs guest memory: give 'ram' (or 'rom') before it, e.g. 'ram 32m "
		     "load %s'",
		     l.path);
		return;
	}
	if (l.has_address) {
		bool inside = false;

		for (unsigned j = 0; j < p->vm->ram_count && !inside; j++)
			inside = l.address >= p->vm->rams[j].start &&
				 l.address - p->vm->rams[j].start < p->vm->rams[j].length;
		for (unsigned j = 0; j < p->vm->rom_count && !inside; j++)
			inside = l.address >= p->vm->roms[j].start &&
				 l.address - p->vm->roms[j].start < p->vm->roms[j].length;
		if (!inside) {
			perr(p, &a->pos,
			     "load address 0x%llx is not inside any ram or rom given before this "
			     "'load'",
			     (unsigned long long)l.address);
			return;
		}
	}
	slot = push(p, &p->vm->loads, &p->vm->load_count, sizeof(*slot));
	if (slot)
		*slot = l;
}

static void parse_unsupported(struct parser *p, const struct conf_token *opt)
{
	const struct conf_token *k = take_arg(p, opt, "instruction|reference|register");
	const struct conf_token *a = k ? take_arg(p, opt, "abort|fail|ignore") : NULL;
	int ki, ai;

	if (!a)
		return;
	ki = find_word(k->text, unsup_kinds, COUNT(unsup_kinds));
	ai = find_word(a->text, unsup_actions, COUNT(unsup_actions));
	if (ki < 0)
		perr(p, &k->pos,
		     "unknown 'unsupported' kind '%s': expected instruction, reference or register",
		     k->text);
	if (ai < 0)
		perr(p, &a->pos,
		     "unknown 'unsupported' action '%s': expected abort, fail or ignore", a->text);
	if (ki >= 0 && ai >= 0)
		p->vm->unsupported[ki] = (enum conf_unsupported_action)ai;
}

static void unknown_option(struct parser *p, const struct conf_token *tok)
{
	const char *cands[TOP_COUNT + 8];
	unsigned nc = 0;
	const char *sg;

	for (unsigned k = 0; k < TOP_COUNT; k++)
		cands[nc++] = top_options[k];
	if (p->ctx == CTX_CPU)
		for (unsigned k = 0; k < COUNT(cpu_options); k++)
			cands[nc++] = cpu_options[k];
	if (p->ctx == CTX_PASS || p->ctx == CTX_RESERVE)
		for (unsigned k = 0; k < COUNT(region_options); k++)
			cands[nc++] = region_options[k];
	sg = tok->quoted ? NULL : conf_suggest(tok->text, cands, nc);
	if (!tok->quoted && find_word(tok->text, blob_types, COUNT(blob_types)) >= 0)
		perr(p, &tok->pos, "'%s' is a blob type: it must be followed by 'load' or 'pass'",
		     tok->text);
	else if (sg)
		perr(p, &tok->pos, "unknown option '%s'; did you mean '%s'?", tok->text, sg);
	else if (tok->quoted)
		perr(p, &tok->pos, "expected an option, found the quoted text \"%s\"", tok->text);
	else if ((p->ctx == CTX_PASS || p->ctx == CTX_RESERVE) &&
		 find_word(tok->text, vdev_options, COUNT(vdev_options)) >= 0)
		perr(p, &tok->pos, "'%s' is not an option of '%s'", tok->text,
		     p->ctx == CTX_PASS ? "pass" : "reserve");
	else
		perr(p, &tok->pos, "unknown option '%s'", tok->text);
	/* Skip its arguments: the words after it on the same line, up to the
	 * next word we know. */
	p->i++;
	while (p->i < p->n) {
		const struct conf_token *t = &p->t[p->i];

		if (ends_options(p, t) || t->pos.file != tok->pos.file ||
		    t->pos.line != tok->pos.line)
			break;
		if (p->ctx == CTX_CPU && find_word(t->text, cpu_options, COUNT(cpu_options)) >= 0)
			break;
		if ((p->ctx == CTX_PASS || p->ctx == CTX_RESERVE) &&
		    find_word(t->text, region_options, COUNT(region_options)) >= 0)
			break;
		p->i++;
	}
}

static void open_ctx(struct parser *p, enum ctx_kind kind, unsigned index)
{
	p->ctx = kind;
	p->ctx_index = index;
}

static void parse_top(struct parser *p)
{
	const struct conf_token *tok = &p->t[p->i], *blob = NULL, *a;
	struct conf_vm *vm = p->vm;
	int k;

	if (is_blob_prefix(p, tok)) {
		blob = tok;
		p->i++;
		tok = &p->t[p->i];
	}
	k = tok->quoted ? -1 : find_word(tok->text, top_options, TOP_COUNT);
	if (k < 0) {
		unknown_option(p, tok);
		return;
	}
	p->i++;
	if (k != 0 && !p->seen_other) {
		p->seen_other = true;
		p->first_other = blob ? blob : tok;
	}
	switch (k) {
	case 0: /* system */
		a = take_arg(p, tok, "a name");
		if (p->seen_other) {
			const struct conf_token *f = p->first_other;

			perr(p, &tok->pos,
			     "'system' must be the first option; '%s' comes before it (%s:%u:%u)",
			     f->text, f->pos.file, f->pos.line, f->pos.col);
		} else if (a) {
			const char *why = conf_system_name_check(a->text, NULL);

			if (why)
				perr(p, &a->pos, "system '%.80s%s': %s", a->text,
				     strlen(a->text) > 80 ? "..." : "", why);
			vm->system = vm_str(p, a->text); /* repeated: the last one wins */
			vm->system_pos = a->pos;
		}
		break;
	case 1: { /* cpu */
		struct conf_cpu *c;

		close_ctx(p);
		c = push(p, &vm->cpus, &vm->cpu_count, sizeof(*c));
		if (c) {
			c->pos = tok->pos;
			open_ctx(p, CTX_CPU, vm->cpu_count - 1);
		}
		break;
	}
	case 2:
	case 3:
		parse_memory(p, tok, k == 3);
		break;
	case 4:
		parse_load(p, tok, blob);
		break;
	case 5:
	case 6: { /* pass, reserve */
		struct conf_region_ctx *r;

		close_ctx(p);
		if (k == 5)
			r = push(p, &vm->passes, &vm->pass_count, sizeof(*r));
		else
			r = push(p, &vm->reserves, &vm->reserve_count, sizeof(*r));
		if (!r)
			break;
		r->pos = (blob ? blob : tok)->pos;
		if (blob)
			r->blob_type = vm_str(p, blob->text);
		open_ctx(p, k == 5 ? CTX_PASS : CTX_RESERVE,
			 (k == 5 ? vm->pass_count : vm->reserve_count) - 1);
		break;
	}
	case 7: { /* vdev */
		struct conf_vdev *v;

		close_ctx(p);
		a = take_arg(p, tok, "a device type (e.g. ser8250)");
		v = push(p, &vm->vdevs, &vm->vdev_count, sizeof(*v));
		if (!v)
			break;
		v->pos = tok->pos;
		if (a) {
			v->type = vm_str(p, a->text);
			v->type_pos = a->pos;
		}
		/* Without a type the context still opens, so that its options
		 * do not each report an error. */
		open_ctx(p, CTX_VDEV, vm->vdev_count - 1);
		break;
	}
	case 8: { /* logger */
		struct conf_logger spec, *l;

		if (parse_log_spec(p, tok, &spec)) {
			l = push(p, &vm->loggers, &vm->logger_count, sizeof(*l));
			if (l)
				*l = spec;
		}
		break;
	}
	case 9:
		parse_unsupported(p, tok);
		break;
	case 10:
		add_set(p, tok, &vm->sets, &vm->set_count);
		break;
	case 11:
		vm->dryrun = true;
		break;
	case 12:
		a = take_arg(p, tok, "the guest's command line (quote it)");
		if (a) {
			vm->cmdline = vm_str(p, a->text);
			vm->cmdline_pos = a->pos;
		}
		break;
	case 13:
		a = take_arg(p, tok, "a directory or \"|command\"");
		if (a) {
			vm->dump = vm_str(p, a->text);
			vm->dump_pos = a->pos;
		}
		break;
	}
}

struct conf_vm *conf_parse_tokens(struct conf_vm *vm, struct conf_tokens *toks,
				  const struct conf_env *env, struct conf_diag *diag)
{
	struct parser p = {
	    .vm = vm,
	    .env = env,
	    .diag = diag,
	    .t = toks->v,
	    .n = toks->count,
	};

	while (p.i < p.n && !p.oom && !p.stopped) {
		const struct conf_token *tok = &p.t[p.i];
		bool handled = false;

		/* The lexer's errors about words already consumed come now, in
		 * input order with the parser's own. */
		conf_tokens_flush(toks, p.i + 1, diag);

		if (tok->boundary) {
			close_ctx(&p);
			p.i++;
			continue;
		}
		if (tok->bad) {
			p.i++;
			continue;
		}
		if (!tok->quoted) {
			if (p.ctx == CTX_CPU)
				handled = parse_cpu_option(&p, tok);
			else if (p.ctx == CTX_PASS || p.ctx == CTX_RESERVE)
				handled = parse_region_option(&p, tok);
			else if (p.ctx == CTX_VDEV)
				handled = parse_vdev_option(&p, tok);
		}
		if (!handled)
			parse_top(&p);
	}
	if (!p.oom && !p.stopped) {
		conf_tokens_flush(toks, toks->count + 1, diag);
		close_ctx(&p);
		resolve_pending(&p);
	}
	free(p.pending);
	if (p.oom)
		conf_diag_error(diag, NULL, "out of memory while reading the configuration");
	return vm;
}
