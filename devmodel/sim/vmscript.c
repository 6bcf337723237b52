/*
 * devmodel/sim/vmscript.c: parse .vmscript guest scripts (format in
 * vmscript.h and devmodel/sim/README.md). Numbers use the configuration
 * language's notation (conf_number_parse: decimal, 0x hex, K/M/G).
 */
#include "devmodel/sim/vmscript.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

#define VMS_MAX_WORDS  16
#define VMS_MAX_REPEAT (1u << 20) /* bytes of one fill/check repeat */
/* The largest script read (a script is hand-written text). */
#define VMS_FILE_MAX (16u << 20)

struct vms_word {
	char *text; /* unescaped */
	size_t len; /* quoted text may hold NUL bytes */
	bool quoted;
	unsigned col;
};

struct vms_parser {
	const char *name;
	FILE *err;
	unsigned errors;
	unsigned line;
	const char *line_text;
	size_t line_len;
};

static void vms_error(struct vms_parser *p, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void vms_error(struct vms_parser *p, unsigned col, const char *fmt, ...)
{
	va_list ap;

	p->errors++;
	if (!p->err)
		return;
	fprintf(p->err, "%s:%u:%u: error: ", p->name, p->line, col);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fprintf(p->err, "\n  %.*s\n  %*s^\n", (int)p->line_len, p->line_text, (int)(col - 1), "");
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Split one line into words; a '#' outside quotes starts a comment. On
 * error *count still says how many words were allocated, for the caller to
 * free.
 */
static int vms_split(struct vms_parser *p, struct vms_word *words, unsigned *count)
{
	const char *s = p->line_text, *end = s + p->line_len;
	unsigned n = 0;

	*count = 0;
	while (s < end) {
		while (s < end && isspace((unsigned char)*s))
			s++;
		if (s >= end || *s == '#')
			break;
		if (n == VMS_MAX_WORDS) {
			vms_error(p, (unsigned)(s - p->line_text) + 1,
				  "more than %u words on one line (a step takes at most %u: split "
				  "long byte lists over several fill/check steps)",
				  VMS_MAX_WORDS, VMS_MAX_WORDS);
			return -EINVAL;
		}
		struct vms_word *w = &words[n];
		w->col = (unsigned)(s - p->line_text) + 1;
		w->quoted = *s == '"';
		char *out = malloc((size_t)(end - s) + 1), *o = out;
		if (!out)
			return -ENOMEM;
		if (w->quoted) {
			s++;
			while (s < end && *s != '"') {
				if (*s == '\\' && s + 1 < end) {
					s++;
					switch (*s) {
					case 'n':
						*o++ = '\n';
						break;
					case 'r':
						*o++ = '\r';
						break;
					case 't':
						*o++ = '\t';
						break;
					case '0':
						*o++ = '\0';
						break;
					case 'x':
						if (s + 2 < end && hex_digit(s[1]) >= 0 &&
						    hex_digit(s[2]) >= 0) {
							*o++ = (char)(hex_digit(s[1]) * 16 +
								      hex_digit(s[2]));
							s += 2;
							break;
						}
						free(out);
						vms_error(p, (unsigned)(s - p->line_text),
							  "\\x needs two hex digits");
						return -EINVAL;
					default:
						*o++ = *s;
						break;
					}
					s++;
				} else {
					*o++ = *s++;
				}
			}
			if (s >= end) {
				free(out);
				vms_error(p, w->col, "unterminated quoted text");
				return -EINVAL;
			}
			s++;
		} else {
			while (s < end && !isspace((unsigned char)*s) && *s != '#')
				*o++ = *s++;
		}
		*o = '\0';
		w->text = out;
		w->len = (size_t)(o - out);
		*count = ++n;
	}
	*count = n;
	return 0;
}

static unsigned word_col(const struct vms_word *w)
{
	return w->col;
}

static int vms_number(struct vms_parser *p, const struct vms_word *w, const char *what,
		      uint64_t *value)
{
	size_t bad = 0;
	int rc =
	    w->quoted ? -EINVAL : conf_number_parse(w->text, CONF_NUM_MULTIPLIERS, value, &bad);

	if (rc == -ERANGE)
		vms_error(p, word_col(w), "%s '%s' is out of range", what, w->text);
	else if (rc < 0)
		vms_error(p, word_col(w) + (unsigned)bad, "%s: expected a number, got '%s'", what,
			  w->text);
	return rc;
}

static int vms_space(struct vms_parser *p, const struct vms_word *w, enum vdev_space *space)
{
	if (!strcmp(w->text, "mmio"))
		*space = VDEV_SPACE_MMIO;
	else if (!strcmp(w->text, "pio"))
		*space = VDEV_SPACE_PIO;
	else if (!strcmp(w->text, "pcicfg"))
		*space = VDEV_SPACE_PCICFG;
	else {
		vms_error(p, word_col(w), "expected mmio, pio or pcicfg, got '%s'", w->text);
		return -EINVAL;
	}
	return 0;
}

/* A device address: a number, or BUS:DEV.FN+REG in pcicfg. */
static int vms_address(struct vms_parser *p, const struct vms_word *w, enum vdev_space space,
		       uint64_t *addr)
{
	unsigned bus, dev, fn, reg;
	int used = 0;

	if (space == VDEV_SPACE_PCICFG && strchr(w->text, ':')) {
		if (sscanf(w->text, "%u:%u.%u+%i%n", &bus, &dev, &fn, &reg, &used) != 4 ||
		    w->text[used] || bus > 255 || dev > 31 || fn > 7 || reg > 0xfff) {
			vms_error(
			    p, word_col(w),
			    "expected BUS:DEV.FN+REG (bus<256, dev<32, fn<8, reg<4096), got '%s'",
			    w->text);
			return -EINVAL;
		}
		*addr = VDEV_PCICFG_ADDR(bus, dev, fn, reg);
		return 0;
	}
	if (vms_number(p, w, "address", addr) < 0)
		return -EINVAL;
	if (space == VDEV_SPACE_PIO && *addr > 0xffff) {
		vms_error(p, word_col(w), "port 0x%llx is above 0xffff", (unsigned long long)*addr);
		return -EINVAL;
	}
	return 0;
}

static int vms_size(struct vms_parser *p, const struct vms_word *w, enum vdev_space space,
		    unsigned *size)
{
	uint64_t v;

	if (vms_number(p, w, "size", &v) < 0)
		return -EINVAL;
	if (v != 1 && v != 2 && v != 4 && v != 8) {
		vms_error(p, word_col(w), "size must be 1, 2, 4 or 8, got %llu",
			  (unsigned long long)v);
		return -EINVAL;
	}
	if (space == VDEV_SPACE_PIO && v == 8) {
		vms_error(p, word_col(w), "port I/O is at most 4 bytes wide");
		return -EINVAL;
	}
	*size = (unsigned)v;
	return 0;
}

/* "10ns", "5us", "2ms", "1s"; a bare number is nanoseconds. */
static int vms_duration(struct vms_parser *p, const struct vms_word *w, uint64_t *ns)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
	size_t len = strlen(w->text);

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t sl = strlen(units[i].suffix);
		if (len > sl && !strcmp(w->text + len - sl, units[i].suffix) &&
		    isdigit((unsigned char)w->text[len - sl - 1])) {
			char num[64];
			uint64_t v;
			if (len - sl >= sizeof(num))
				break;
			memcpy(num, w->text, len - sl);
			num[len - sl] = '\0';
			if (conf_number_parse(num, 0, &v, NULL) < 0 ||
			    v > UINT64_MAX / units[i].mult)
				break;
			*ns = v * units[i].mult;
			return 0;
		}
	}
	if (conf_number_parse(w->text, 0, ns, NULL) == 0)
		return 0;
	vms_error(p, word_col(w), "expected a duration like 10us, 2ms or 1s, got '%s'", w->text);
	return -EINVAL;
}

/* fill/check contents: one quoted text, or a list of byte values. */
static int vms_bytes(struct vms_parser *p, struct vms_word *words, unsigned n,
		     struct vms_step *step)
{
	if (n == 0) {
		vms_error(p, (unsigned)p->line_len + 1, "expected bytes or \"text\"");
		return -EINVAL;
	}
	if (n == 1 && words[0].quoted) {
		step->byte_count = words[0].len;
		step->bytes = malloc(step->byte_count ? step->byte_count : 1);
		if (!step->bytes)
			return -ENOMEM;
		memcpy(step->bytes, words[0].text, step->byte_count);
		return 0;
	}
	/* `repeat COUNT BYTE`: the one way to say "COUNT bytes of BYTE". */
	if (n >= 1 && !words[0].quoted && !strcmp(words[0].text, "repeat")) {
		uint64_t count, v;

		if (n != 3) {
			vms_error(p, word_col(&words[0]), "usage: repeat COUNT BYTE");
			return -EINVAL;
		}
		if (vms_number(p, &words[1], "count", &count) < 0 ||
		    vms_number(p, &words[2], "byte", &v) < 0)
			return -EINVAL;
		if (!count || count > VMS_MAX_REPEAT || v > 0xff) {
			vms_error(p, word_col(&words[count && count <= VMS_MAX_REPEAT ? 2 : 1]),
				  "repeat wants a COUNT of 1..%u and a BYTE of 0..0xff",
				  VMS_MAX_REPEAT);
			return -EINVAL;
		}
		step->bytes = malloc(count);
		if (!step->bytes)
			return -ENOMEM;
		memset(step->bytes, (int)v, count);
		step->byte_count = count;
		return 0;
	}
	step->bytes = malloc(n);
	if (!step->bytes)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		uint64_t v;
		/* `fill GPA 16 0xaa` reads like "16 bytes of 0xaa" but would be
		 * two bytes: in a list, every byte is written 0xNN. */
		if (n > 1 && !words[i].quoted && strncmp(words[i].text, "0x", 2) != 0 &&
		    strncmp(words[i].text, "0X", 2) != 0) {
			vms_error(p, word_col(&words[i]),
				  "in a list of bytes write each as 0xNN (so that `GPA LEN BYTE` "
				  "cannot be taken for two bytes); for COUNT bytes of one value "
				  "write `repeat COUNT BYTE`");
			return -EINVAL;
		}
		if (vms_number(p, &words[i], "byte", &v) < 0)
			return -EINVAL;
		if (v > 0xff) {
			vms_error(p, word_col(&words[i]), "byte value 0x%llx is above 0xff",
				  (unsigned long long)v);
			return -EINVAL;
		}
		step->bytes[i] = (uint8_t)v;
	}
	step->byte_count = n;
	return 0;
}

static int vms_expect_words(struct vms_parser *p, struct vms_word *w, unsigned n, unsigned min,
			    unsigned max, const char *usage)
{
	if (n - 1 < min || n - 1 > max) {
		vms_error(p, word_col(&w[0]), "usage: %s", usage);
		return -EINVAL;
	}
	return 0;
}

static int vms_parse_step(struct vms_parser *p, struct vms_word *w, unsigned n, struct vms_step *s)
{
	const char *op = w[0].text;

	if (!strcmp(op, "vcpu")) {
		s->op = VMS_VCPU;
		if (vms_expect_words(p, w, n, 1, 1, "vcpu N") < 0 ||
		    vms_number(p, &w[1], "vcpu", &s->value) < 0)
			return -EINVAL;
		if (s->value >= 128) {
			vms_error(p, word_col(&w[1]), "at most 128 vCPUs (one ioreq page)");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(op, "write") || !strcmp(op, "read")) {
		bool is_read = op[0] == 'r';
		s->op = is_read ? VMS_READ : VMS_WRITE;
		s->mask = UINT64_MAX;
		if (n < 4 || (!is_read && n != 5)) {
			vms_error(p, word_col(&w[0]),
				  is_read ? "usage: read SPACE ADDR SIZE [mask M] [expect V]"
					  : "usage: write SPACE ADDR SIZE VALUE");
			return -EINVAL;
		}
		if (vms_space(p, &w[1], &s->space) < 0 ||
		    vms_address(p, &w[2], s->space, &s->addr) < 0 ||
		    vms_size(p, &w[3], s->space, &s->size) < 0)
			return -EINVAL;
		if (!is_read)
			return vms_number(p, &w[4], "value", &s->value) < 0 ? -EINVAL : 0;
		for (unsigned i = 4; i < n; i += 2) {
			if (i + 1 >= n ||
			    (strcmp(w[i].text, "mask") && strcmp(w[i].text, "expect"))) {
				vms_error(p, word_col(&w[i]), "expected 'mask M' or 'expect V'");
				return -EINVAL;
			}
			if (w[i].text[0] == 'm') {
				if (vms_number(p, &w[i + 1], "mask", &s->mask) < 0)
					return -EINVAL;
			} else {
				if (vms_number(p, &w[i + 1], "expected value", &s->value) < 0)
					return -EINVAL;
				s->has_expect = true;
			}
		}
		return 0;
	}
	if (!strcmp(op, "rep-write") || !strcmp(op, "rep-read") || !strcmp(op, "rep-stos")) {
		uint64_t count;
		s->op = op[4] == 'w' ? VMS_REP_WRITE : op[4] == 'r' ? VMS_REP_READ : VMS_REP_STOS;
		if (vms_expect_words(p, w, n, 5, 6,
				     s->op == VMS_REP_STOS
					 ? "rep-stos SPACE ADDR SIZE COUNT VALUE [df]"
					 : "rep-read|rep-write SPACE ADDR SIZE COUNT GPA [df]") < 0)
			return -EINVAL;
		if (vms_space(p, &w[1], &s->space) < 0 ||
		    vms_address(p, &w[2], s->space, &s->addr) < 0 ||
		    vms_size(p, &w[3], s->space, &s->size) < 0 ||
		    vms_number(p, &w[4], "count", &count) < 0)
			return -EINVAL;
		if (count == 0 || count > UINT32_MAX) {
			vms_error(p, word_col(&w[4]), "count must be 1..4294967295");
			return -EINVAL;
		}
		s->count = (uint32_t)count;
		if (vms_number(p, &w[5], s->op == VMS_REP_STOS ? "value" : "buffer address",
			       s->op == VMS_REP_STOS ? &s->value : &s->gpa) < 0)
			return -EINVAL;
		if (n == 7) {
			if (strcmp(w[6].text, "df")) {
				vms_error(p, word_col(&w[6]),
					  "expected 'df' or the end of the line");
				return -EINVAL;
			}
			s->df = true;
		}
		if (s->op == VMS_REP_STOS && s->space != VDEV_SPACE_MMIO) {
			vms_error(p, word_col(&w[1]),
				  "rep-stos is an MMIO form (Xen sends it as COPY)");
			return -EINVAL;
		}
		if (s->space == VDEV_SPACE_PCICFG) {
			vms_error(p, word_col(&w[1]),
				  "PCI configuration accesses are never repeated");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(op, "fill") || !strcmp(op, "check")) {
		s->op = op[0] == 'f' ? VMS_FILL : VMS_CHECK;
		if (n < 2) {
			vms_error(p, word_col(&w[0]),
				  "usage: %s GPA 0xNN... | %s GPA \"text\" | %s GPA repeat COUNT BYTE",
				  op, op, op);
			return -EINVAL;
		}
		if (vms_number(p, &w[1], "guest address", &s->addr) < 0)
			return -EINVAL;
		return vms_bytes(p, &w[2], n - 2, s);
	}
	if (!strcmp(op, "line") || !strcmp(op, "edges")) {
		s->op = op[0] == 'l' ? VMS_LINE : VMS_EDGES;
		if (vms_expect_words(p, w, n, 2, 2,
				     s->op == VMS_LINE ? "line CTRL:N LEVEL"
						       : "edges CTRL:N COUNT") < 0)
			return -EINVAL;
		const char *colon = strchr(w[1].text, ':');
		if (!colon || colon == w[1].text || !colon[1]) {
			vms_error(p, word_col(&w[1]), "expected CONTROLLER:LINE, got '%s'",
				  w[1].text);
			return -EINVAL;
		}
		s->line_name = strdup(w[1].text);
		if (!s->line_name)
			return -ENOMEM;
		if (vms_number(p, &w[2], s->op == VMS_LINE ? "level" : "edge count", &s->value) < 0)
			return -EINVAL;
		if (s->op == VMS_LINE && s->value > 1) {
			vms_error(p, word_col(&w[2]), "a level is 0 or 1");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(op, "msi")) {
		s->op = VMS_MSI;
		if (vms_expect_words(p, w, n, 2, 2, "msi ADDR DATA") < 0 ||
		    vms_number(p, &w[1], "MSI address", &s->addr) < 0 ||
		    vms_number(p, &w[2], "MSI data", &s->value) < 0)
			return -EINVAL;
		return 0;
	}
	if (!strcmp(op, "no-msi")) {
		s->op = VMS_NO_MSI;
		return vms_expect_words(p, w, n, 0, 0, "no-msi");
	}
	if (!strcmp(op, "wait")) {
		s->op = VMS_WAIT;
		if (vms_expect_words(p, w, n, 1, 1, "wait DURATION") < 0)
			return -EINVAL;
		return vms_duration(p, &w[1], &s->value);
	}
	if (!strcmp(op, "invalidate")) {
		s->op = VMS_INVALIDATE;
		return vms_expect_words(p, w, n, 0, 0, "invalidate");
	}
	if (!strcmp(op, "exit")) {
		s->op = VMS_EXIT;
		if (vms_expect_words(p, w, n, 1, 1, "exit CODE") < 0 ||
		    vms_number(p, &w[1], "exit code", &s->value) < 0)
			return -EINVAL;
		return 0;
	}
	if (!strcmp(op, "link-route")) {
		s->op = VMS_LINK_ROUTE;
		if (vms_expect_words(p, w, n, 2, 2, "link-route LINK IRQ") < 0 ||
		    vms_number(p, &w[1], "PCI link", &s->addr) < 0 ||
		    vms_number(p, &w[2], "ISA IRQ", &s->value) < 0)
			return -EINVAL;
		if (s->addr > 3 || s->value > 15) {
			vms_error(p, word_col(&w[1]), "links are 0..3 (PIRQA..D), IRQs 0..15");
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(op, "shutdown")) {
		s->op = VMS_SHUTDOWN;
		if (vms_expect_words(p, w, n, 1, 1, "shutdown poweroff|reboot") < 0)
			return -EINVAL;
		if (strcmp(w[1].text, "poweroff") && strcmp(w[1].text, "reboot")) {
			vms_error(p, word_col(&w[1]), "expected poweroff or reboot, got '%s'",
				  w[1].text);
			return -EINVAL;
		}
		s->value = w[1].text[0] == 'r';
		return 0;
	}
	vms_error(p, word_col(&w[0]),
		  "unknown step '%s' (expected vcpu, write, read, rep-write, rep-read, rep-stos, "
		  "fill, check, line, edges, msi, no-msi, wait, invalidate, exit, link-route or "
		  "shutdown)",
		  op);
	return -EINVAL;
}

static void vms_step_free(struct vms_step *s)
{
	free(s->bytes);
	free(s->line_name);
	free((char *)s->text);
}

struct vms_script *vms_parse_string(const char *text, const char *name, FILE *err)
{
	struct vms_parser p = {.name = name, .err = err};
	struct vms_script *script = calloc(1, sizeof(*script));
	unsigned cap = 0;

	if (!script || !(script->file = strdup(name))) {
		free(script);
		return NULL;
	}
	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		struct vms_word words[VMS_MAX_WORDS];
		unsigned n = 0;

		p.line++;
		p.line_text = s;
		p.line_len = len && s[len - 1] == '\r' ? len - 1 : len;
		if (vms_split(&p, words, &n) == 0 && n > 0) {
			struct vms_step step = {.line = p.line};
			int rc = vms_parse_step(&p, words, n, &step);
			step.text = strndup(p.line_text, p.line_len);
			if (rc == 0 && step.text) {
				if (script->step_count == cap) {
					cap = cap ? cap * 2 : 32;
					struct vms_step *grown =
					    realloc(script->steps, cap * sizeof(*grown));
					if (!grown) {
						vms_step_free(&step);
						p.errors++;
						break;
					}
					script->steps = grown;
				}
				script->steps[script->step_count++] = step;
			} else {
				vms_step_free(&step);
			}
		}
		for (unsigned i = 0; i < n; i++)
			free(words[i].text);
		s += nl ? len + 1 : len;
	}
	if (p.errors) {
		vms_free(script);
		return NULL;
	}
	return script;
}

struct vms_script *vms_parse_file(const char *path, FILE *err)
{
	char *text = NULL;
	size_t size = 0;
	const char *why;
	struct vms_script *script;

	/* Never blocks: a FIFO or device is refused before it is read. */
	if (conf_file_read(path, VMS_FILE_MAX, &text, &size, &why) < 0) {
		if (err)
			fprintf(err, "%s: error: cannot read script: %s\n", path, why);
		return NULL;
	}
	if (memchr(text, '\0', size)) {
		if (err)
			fprintf(err, "%s: error: script contains a NUL byte\n", path);
		free(text);
		return NULL;
	}
	script = vms_parse_string(text, path, err);
	free(text);
	return script;
}

void vms_free(struct vms_script *script)
{
	if (!script)
		return;
	for (unsigned i = 0; i < script->step_count; i++)
		vms_step_free(&script->steps[i]);
	free(script->steps);
	free(script->file);
	free(script);
}
