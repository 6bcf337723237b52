/*
 * conf/number.c: numbers, location specs and interrupt specs, the small
 * grammars that the parser, vdm and the SDK host all share. They work on a
 * whole word and report the offset of the first bad character so that the
 * caller can point a caret at it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

static int digit_value(char c, unsigned base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return (unsigned)v < base ? v : -1;
}

int conf_number_parse(const char *text, unsigned flags, uint64_t *value, size_t *bad_offset)
{
	size_t i = 0, start;
	unsigned base = 10;
	bool neg = false, overflow = false;
	uint64_t v = 0;
	int d;

	if (bad_offset)
		*bad_offset = 0;
	if (!text || !value)
		return -EINVAL;
	if ((flags & CONF_NUM_SIGNED) && (text[0] == '-' || text[0] == '+')) {
		neg = text[0] == '-';
		i = 1;
	}
	if (text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
		base = 16;
		i += 2;
	}
	start = i;
	while ((d = digit_value(text[i], base)) >= 0) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			overflow = true;
		v = v * base + (uint64_t)d;
		i++;
	}
	if (i == start) {
		if (bad_offset)
			*bad_offset = i;
		return -EINVAL;
	}
	if (flags & CONF_NUM_MULTIPLIERS) {
		unsigned shift = 0;

		switch (text[i]) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		}
		if (shift) {
			if (v > (UINT64_MAX >> shift))
				overflow = true;
			v <<= shift;
			i++;
		}
	}
	if (text[i] != '\0') {
		if (bad_offset)
			*bad_offset = i;
		return -EINVAL;
	}
	if (overflow)
		return -ERANGE;
	if (flags & CONF_NUM_SIGNED) {
		if (neg) {
			if (v > (uint64_t)INT64_MAX + 1)
				return -ERANGE;
			v = (uint64_t)0 - v; /* two's complement of the magnitude */
		} else if (v > (uint64_t)INT64_MAX) {
			return -ERANGE;
		}
	}
	*value = v;
	return 0;
}

static void set_err(char *errbuf, size_t errlen, size_t *bad_offset, size_t offset, const char *fmt,
		    ...) __attribute__((format(printf, 5, 6)));
static void set_err(char *errbuf, size_t errlen, size_t *bad_offset, size_t offset, const char *fmt,
		    ...)
{
	va_list ap;

	if (bad_offset)
		*bad_offset = offset;
	if (!errbuf || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* One number taken from text[s, e): the piece is copied so that the whole-word
 * parser sees exactly it. */
int conf_span_number(const char *text, size_t s, size_t e, unsigned flags, const char *what,
		     uint64_t *v, char *errbuf, size_t errlen, size_t *bad_offset)
{
	char buf[80];
	size_t bad = 0;
	int rc;

	if (s == e) {
		set_err(errbuf, errlen, bad_offset, s, "missing %s", what);
		return -EINVAL;
	}
	if (e - s >= sizeof(buf)) {
		set_err(errbuf, errlen, bad_offset, s, "%s is too long to be a number", what);
		return -EINVAL;
	}
	memcpy(buf, text + s, e - s);
	buf[e - s] = '\0';
	rc = conf_number_parse(buf, flags, v, &bad);
	if (rc == -ERANGE) {
		set_err(errbuf, errlen, bad_offset, s, "%s '%s' is too large", what, buf);
		return -EINVAL;
	}
	if (rc < 0) {
		if (bad == 0 || (bad == 2 && buf[1] == 'x'))
			set_err(errbuf, errlen, bad_offset, s + bad,
				"%s '%s' is not a number (decimal, or hex with 0x)", what, buf);
		else
			set_err(errbuf, errlen, bad_offset, s + bad, "unexpected '%c' after the %s",
				buf[bad], what);
		return -EINVAL;
	}
	return 0;
}

static size_t find_char(const char *text, size_t s, size_t e, char c)
{
	for (size_t i = s; i < e; i++)
		if (text[i] == c)
			return i;
	return e;
}

/* pci:bus:dev[.fn] or pci:vid/did in text[s, e) */
static int parse_pci(const char *text, size_t s, size_t e, struct vdev_loc *loc, char *errbuf,
		     size_t errlen, size_t *bad_offset)
{
	size_t slash = find_char(text, s, e, '/');
	uint64_t a, b, c = 0;
	int rc;

	if (slash < e) {
		rc = conf_span_number(text, s, slash, 0, "PCI vendor id", &a, errbuf, errlen,
				      bad_offset);
		if (!rc)
			rc = conf_span_number(text, slash + 1, e, 0, "PCI device id", &b, errbuf,
					      errlen, bad_offset);
		if (rc)
			return rc;
		if (a > 0xffff || b > 0xffff) {
			set_err(errbuf, errlen, bad_offset, a > 0xffff ? s : slash + 1,
				"PCI %s id is more than 16 bits", a > 0xffff ? "vendor" : "device");
			return -EINVAL;
		}
		loc->kind = VDEV_LOC_PCI_ID;
		loc->vendor = (uint16_t)a;
		loc->device = (uint16_t)b;
		return 0;
	}
	size_t colon = find_char(text, s, e, ':');
	if (colon == e) {
		set_err(errbuf, errlen, bad_offset, e,
			"expected pci:bus:dev[.fn] or pci:vendor/device");
		return -EINVAL;
	}
	size_t dot = find_char(text, colon + 1, e, '.');
	rc = conf_span_number(text, s, colon, 0, "PCI bus", &a, errbuf, errlen, bad_offset);
	if (!rc)
		rc = conf_span_number(text, colon + 1, dot, 0, "PCI device", &b, errbuf, errlen,
				      bad_offset);
	if (!rc && dot < e)
		rc = conf_span_number(text, dot + 1, e, 0, "PCI function", &c, errbuf, errlen,
				      bad_offset);
	if (rc)
		return rc;
	if (a > 255) {
		set_err(errbuf, errlen, bad_offset, s, "PCI bus %llu is above 255",
			(unsigned long long)a);
		return -EINVAL;
	}
	if (b > 31) {
		set_err(errbuf, errlen, bad_offset, colon + 1, "PCI device %llu is above 31",
			(unsigned long long)b);
		return -EINVAL;
	}
	if (c > 7) {
		set_err(errbuf, errlen, bad_offset, dot + 1, "PCI function %llu is above 7",
			(unsigned long long)c);
		return -EINVAL;
	}
	loc->kind = VDEV_LOC_PCI_BDF;
	loc->space = VDEV_SPACE_PCICFG;
	loc->bus = (uint8_t)a;
	loc->dev = (uint8_t)b;
	loc->fn = (uint8_t)c;
	return 0;
}

static bool is_pass_flags(const char *text, size_t s, size_t e)
{
	if (s == e)
		return false;
	for (size_t i = s; i < e; i++)
		if (!strchr("+-rwxcemdnst", text[i]) || text[i] == '\0')
			return false;
	return true;
}

int conf_loc_parse_ext(const char *text, enum vdev_space default_space, bool pass,
		       struct vdev_loc *loc, struct conf_loc_ext *ext, char *errbuf, size_t errlen,
		       size_t *bad_offset)
{
	size_t len, end, p = 0, c1, c2;
	uint64_t addr, length = 0;
	int rc;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (bad_offset)
		*bad_offset = 0;
	if (!text || !loc) {
		set_err(errbuf, errlen, bad_offset, 0, "no location");
		return -EINVAL;
	}
	memset(loc, 0, sizeof(*loc));
	if (ext)
		memset(ext, 0, sizeof(*ext));
	len = strlen(text);
	end = pass ? find_char(text, 0, len, '=') : len;
	if (len == 0) {
		set_err(errbuf, errlen, bad_offset, 0, "empty location");
		return -EINVAL;
	}

	if (strncmp(text, "pci:", 4) == 0) {
		rc = parse_pci(text, 4, end, loc, errbuf, errlen, bad_offset);
		if (rc)
			return rc;
		if (ext)
			ext->has_space = true;
		if (end < len) {
			/* pass loc pci:0:12.0=pci:0x8086/0x1234: the host device */
			if (strncmp(text + end + 1, "pci:", 4) != 0) {
				set_err(errbuf, errlen, bad_offset, end + 1,
					"a PCI location passes a host PCI device: expected pci: "
					"after '='");
				return -EINVAL;
			}
			struct vdev_loc host;
			rc = parse_pci(text, end + 5, len, &host, errbuf, errlen, bad_offset);
			if (rc)
				return rc;
			if (ext) {
				ext->has_host = true;
				ext->host = host;
			}
		}
		return 0;
	}

	loc->kind = VDEV_LOC_ADDR;
	loc->space = default_space == VDEV_SPACE_PIO ? VDEV_SPACE_PIO : VDEV_SPACE_MMIO;
	if (strncmp(text, "mem:", 4) == 0) {
		loc->space = VDEV_SPACE_MMIO;
		p = 4;
	} else if (strncmp(text, "io:", 3) == 0) {
		loc->space = VDEV_SPACE_PIO;
		p = 3;
	}
	if (ext)
		ext->has_space = p != 0;

	c1 = find_char(text, p, end, ',');
	c2 = c1 < end ? find_char(text, c1 + 1, end, ',') : end;
	rc = conf_span_number(text, p, c1, CONF_NUM_MULTIPLIERS, "address", &addr, errbuf, errlen,
			      bad_offset);
	if (rc)
		return rc;
	if (c1 < end) {
		if (pass && c2 == end && is_pass_flags(text, c1 + 1, end)) {
			/* mem:0x2000,r=0x1000: flags without a length */
			if (ext) {
				ext->flags_start = text + c1 + 1;
				ext->flags_len = end - c1 - 1;
			}
		} else {
			rc = conf_span_number(text, c1 + 1, c2, CONF_NUM_MULTIPLIERS, "length",
					      &length, errbuf, errlen, bad_offset);
			if (rc)
				return rc;
			if (length == 0) {
				set_err(errbuf, errlen, bad_offset, c1 + 1,
					"a length of zero covers nothing");
				return -EINVAL;
			}
			if (c2 < end) {
				if (!pass || !is_pass_flags(text, c2 + 1, end)) {
					set_err(errbuf, errlen, bad_offset, c2 + 1,
						pass ? "expected pass flags (+-rwxcemdnst) after "
						       "the length"
						     : "unexpected text after the length");
					return -EINVAL;
				}
				if (ext) {
					ext->flags_start = text + c2 + 1;
					ext->flags_len = end - c2 - 1;
				}
			}
		}
	}
	if (length && addr > UINT64_MAX - length + 1) {
		set_err(errbuf, errlen, bad_offset, p,
			"address 0x%llx plus length 0x%llx goes beyond the 64-bit address space",
			(unsigned long long)addr, (unsigned long long)length);
		return -EINVAL;
	}
	if (loc->space == VDEV_SPACE_PIO && addr > 0xffff) {
		set_err(errbuf, errlen, bad_offset, p, "I/O port 0x%llx is above 0xffff",
			(unsigned long long)addr);
		return -EINVAL;
	}
	if (loc->space == VDEV_SPACE_PIO && length && addr + length - 1 > 0xffff) {
		set_err(errbuf, errlen, bad_offset, p,
			"I/O port range 0x%llx,0x%llx goes beyond port 0xffff",
			(unsigned long long)addr, (unsigned long long)length);
		return -EINVAL;
	}
	loc->base = addr;
	loc->length = length;
	if (end < len) {
		uint64_t host;

		rc = conf_span_number(text, end + 1, len, CONF_NUM_MULTIPLIERS, "host address",
				      &host, errbuf, errlen, bad_offset);
		if (rc)
			return rc;
		if (length && host > UINT64_MAX - length + 1) {
			set_err(errbuf, errlen, bad_offset, end + 1,
				"host address 0x%llx plus length 0x%llx goes beyond the 64-bit "
				"address space",
				(unsigned long long)host, (unsigned long long)length);
			return -EINVAL;
		}
		if (ext) {
			ext->has_host = true;
			ext->host.kind = VDEV_LOC_ADDR;
			ext->host.space = loc->space;
			ext->host.base = host;
			ext->host.length = length;
		}
	}
	return 0;
}

int conf_loc_parse(const char *text, enum vdev_space default_space, struct vdev_loc *loc,
		   char *errbuf, size_t errlen, size_t *bad_offset)
{
	return conf_loc_parse_ext(text, default_space, false, loc, NULL, errbuf, errlen,
				  bad_offset);
}

int conf_intr_parse(const char *text, size_t len, bool pass, char **controller, bool *has_line,
		    unsigned *line, struct conf_intr_ext *ext, char *errbuf, size_t errlen,
		    size_t *bad_offset)
{
	size_t end = len, colon, comma;
	uint64_t v;
	int rc;

	*controller = NULL;
	*has_line = false;
	*line = 0;
	memset(ext, 0, sizeof(*ext));
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (len == 0) {
		set_err(errbuf, errlen, bad_offset, 0, "empty interrupt");
		return -EINVAL;
	}
	if (pass) {
		/* guest_intr[,u][,t][=vector] */
		size_t eq = find_char(text, 0, len, '=');

		if (eq < len) {
			rc = conf_span_number(text, eq + 1, len, 0, "host vector", &v, errbuf,
					      errlen, bad_offset);
			if (rc)
				return rc;
			if (v > UINT32_MAX) {
				set_err(errbuf, errlen, bad_offset, eq + 1,
					"host vector is too large");
				return -EINVAL;
			}
			ext->has_vector = true;
			ext->vector = (unsigned)v;
			end = eq;
		}
		comma = find_char(text, 0, end, ',');
		for (size_t i = comma; i < end; i++) {
			if (text[i] == ',')
				continue;
			if (text[i] == 'u' && text[i - 1] == ',')
				ext->unmask = true;
			else if (text[i] == 't' && text[i - 1] == ',')
				ext->ist = true;
			else {
				set_err(errbuf, errlen, bad_offset, i,
					"unknown interrupt attribute: expected ,u or ,t");
				return -EINVAL;
			}
		}
		end = comma;
	} else {
		comma = find_char(text, 0, end, ',');
		if (comma < end) {
			set_err(errbuf, errlen, bad_offset, comma,
				"one interrupt per value: split the list before calling");
			return -EINVAL;
		}
	}
	colon = find_char(text, 0, end, ':');
	if (colon == 0) {
		set_err(errbuf, errlen, bad_offset, 0,
			"missing interrupt controller name before ':'");
		return -EINVAL;
	}
	if (colon == end && text[0] >= '0' && text[0] <= '9') {
		/* reserve intr 39: a guest interrupt number alone */
		if (!pass) {
			set_err(errbuf, errlen, bad_offset, 0,
				"expected controller:line (e.g. ioapic:4), not a bare number");
			return -EINVAL;
		}
		rc = conf_span_number(text, 0, end, 0, "interrupt line", &v, errbuf, errlen,
				      bad_offset);
		if (rc)
			return rc;
		if (v > UINT32_MAX) {
			set_err(errbuf, errlen, bad_offset, 0, "interrupt line is too large");
			return -EINVAL;
		}
		*has_line = true;
		*line = (unsigned)v;
		return 0;
	}
	if (colon < end) {
		rc = conf_span_number(text, colon + 1, end, 0, "interrupt line", &v, errbuf, errlen,
				      bad_offset);
		if (rc)
			return rc;
		if (v > UINT32_MAX) {
			set_err(errbuf, errlen, bad_offset, colon + 1,
				"interrupt line is too large");
			return -EINVAL;
		}
		*has_line = true;
		*line = (unsigned)v;
	}
	*controller = strndup(text, colon);
	return *controller ? 0 : -ENOMEM;
}

int conf_line_parse(const char *spec, size_t *name_len, uint64_t *line, size_t *bad_offset)
{
	const char *colon;
	size_t bad = 0;
	int rc;

	if (bad_offset)
		*bad_offset = 0;
	if (!spec || !name_len || !line)
		return -EINVAL;
	colon = strchr(spec, ':');
	if (!colon || colon == spec) {
		if (bad_offset)
			*bad_offset = colon ? 0 : strlen(spec);
		return -EINVAL;
	}
	rc = conf_number_parse(colon + 1, 0, line, &bad);
	if (rc < 0) {
		if (bad_offset)
			*bad_offset = (size_t)(colon + 1 - spec) + bad;
		return rc;
	}
	*name_len = (size_t)(colon - spec);
	return 0;
}
