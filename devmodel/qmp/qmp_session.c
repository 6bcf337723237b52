/*
 * devmodel/qmp/qmp_session.c: the QMP protocol of one connection, as
 * libxl 4.17 speaks it (libxl_qmp.c): the server greets first
 * ({"QMP": {"version": ...}}), the client negotiates with
 * qmp_capabilities, then sends commands {"execute", "arguments", "id"}
 * and reads one reply per command, {"return": ..., "id"} or
 * {"error": {"class", "desc"}, "id"}. Every message vdm sends ends in
 * "\r\n": libxl looks for CRLF to cut its input into messages.
 *
 * Input is a stream of JSON values with any whitespace between them (what
 * json-c's incremental tokener reads); a value that stays unfinished past
 * QMP_MAX_MESSAGE bytes, or bytes that are not JSON, end the connection
 * after an error reply, since the stream cannot be resynchronised.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devmodel/log.h"
#include "devmodel/qmp/qmp_internal.h"

/* Replies are small; a client that never reads cannot make vdm grow. */
#define QMP_MAX_OUTPUT (1u << 20)

struct qmp_session {
	const struct qmp_ops *ops;
	void *ctx;
	struct qmp_fdsets *sets;
	struct json_tokener *tok;
	size_t pending; /* bytes of the value being read */
	bool negotiated, broken;
	char *out;
	size_t out_off, out_len, out_cap;
	int fds[QMP_MAX_FDS]; /* received, not yet given to a command */
	unsigned nfds;
};

static void qmp_log(struct qmp_session *s, unsigned level, const char *line)
{
	if (s->ops->log)
		s->ops->log(s->ctx, level, line);
}

static void qmp_queue(struct qmp_session *s, struct json_object *msg)
{
	const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t n = text ? strlen(text) : 0;

	if (!text || s->out_len + n + 2 > QMP_MAX_OUTPUT) {
		s->broken = true;
		return;
	}
	if (s->out_len + n + 2 > s->out_cap) {
		size_t cap = (s->out_len + n + 2) * 2;
		char *grown = realloc(s->out, cap);

		if (!grown) {
			s->broken = true;
			return;
		}
		s->out = grown;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, text, n);
	memcpy(s->out + s->out_len + n, "\r\n", 2);
	s->out_len += n + 2;
}

/* Queue an error reply (id may be NULL: the server could not read one). */
static void qmp_queue_error(struct qmp_session *s, struct json_object *id, const char *cls,
			    const char *desc)
{
	struct json_object *msg = json_object_new_object(), *err = json_object_new_object();

	json_object_object_add(err, "class", json_object_new_string(cls));
	json_object_object_add(err, "desc", json_object_new_string(desc));
	json_object_object_add(msg, "error", err);
	if (id)
		json_object_object_add(msg, "id", json_object_get(id));
	qmp_queue(s, msg);
	json_object_put(msg);
}

struct qmp_session *qmp_session_new(const struct qmp_ops *ops, void *ctx, struct qmp_fdsets *sets)
{
	struct qmp_session *s = calloc(1, sizeof(*s));
	struct json_object *greet, *qmp;

	if (!s)
		return NULL;
	s->ops = ops;
	s->ctx = ctx;
	s->sets = sets;
	s->tok = json_tokener_new_ex(32);
	if (!s->tok) {
		free(s);
		return NULL;
	}
	greet = json_object_new_object();
	qmp = json_object_new_object();
	{
		struct json_object *version = qmp_greeting_version();

		json_object_object_add(version, "package",
				       json_object_new_string(ops->package ? ops->package : "vdm"));
		json_object_object_add(qmp, "version", version);
	}
	json_object_object_add(qmp, "capabilities", json_object_new_array());
	json_object_object_add(greet, "QMP", qmp);
	qmp_queue(s, greet);
	json_object_put(greet);
	if (s->broken) {
		qmp_session_free(s);
		return NULL;
	}
	return s;
}

void qmp_session_free(struct qmp_session *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	if (s->sets)
		qmp_fdsets_release(s->sets, s);
	json_tokener_free(s->tok);
	free(s->out);
	free(s);
}

const char *qmp_session_output(struct qmp_session *s, size_t *len)
{
	*len = s->out_len - s->out_off;
	return s->out + s->out_off;
}

void qmp_session_consume(struct qmp_session *s, size_t n)
{
	if (n > s->out_len - s->out_off)
		n = s->out_len - s->out_off;
	s->out_off += n;
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
}

/* The oldest descriptor that came with the input, or -1. */
static int qmp_take_fd(struct qmp_session *s)
{
	int fd;

	if (!s->nfds)
		return -1;
	fd = s->fds[0];
	memmove(s->fds, s->fds + 1, (s->nfds - 1) * sizeof(int));
	s->nfds--;
	return fd;
}

static void qmp_handle(struct qmp_session *s, struct json_object *msg)
{
	struct json_object *id = NULL, *exec = NULL, *args = NULL, *reply;
	struct qmp_call call = {0};
	const char *name;

	if (!json_object_is_type(msg, json_type_object)) {
		qmp_queue_error(s, NULL, QMP_ERR_GENERIC, "QMP input must be a JSON object");
		return;
	}
	json_object_object_get_ex(msg, "id", &id);
	if (!json_object_object_get_ex(msg, "execute", &exec) ||
	    !json_object_is_type(exec, json_type_string)) {
		qmp_queue_error(s, id, QMP_ERR_GENERIC,
				"QMP input member 'execute' must be a string");
		return;
	}
	name = json_object_get_string(exec);
	if (json_object_object_get_ex(msg, "arguments", &args) &&
	    !json_object_is_type(args, json_type_object)) {
		qmp_queue_error(s, id, QMP_ERR_GENERIC,
				"QMP input member 'arguments' must be an object");
		return;
	}
	if (strcmp(name, "qmp_capabilities") == 0) {
		if (s->negotiated) {
			qmp_queue_error(s, id, QMP_ERR_NOT_FOUND,
					"Capabilities negotiation is already complete, command "
					"ignored");
			return;
		}
		s->negotiated = true;
		call.ret = json_object_new_object();
	} else if (!s->negotiated) {
		qmp_queue_error(s, id, QMP_ERR_NOT_FOUND,
				"Expecting capabilities negotiation with 'qmp_capabilities'");
		return;
	} else {
		call.ops = s->ops;
		call.ctx = s->ctx;
		call.sets = s->sets;
		call.owner = s;
		call.args = args;
		call.fd = qmp_take_fd(s);
		qmp_command_run(name, &call);
		if (call.fd >= 0)
			close(call.fd); /* sent with a command that does not keep one */
	}
	if (call.err_class) {
		char line[400];

		snprintf(line, sizeof(line), "qmp: %.64s: %s: %s", name, call.err_class, call.err);
		qmp_log(s, LOG_LVL_DEBUG, line);
		json_object_put(call.ret);
		qmp_queue_error(s, id, call.err_class, call.err);
		return;
	}
	reply = json_object_new_object();
	json_object_object_add(reply, "return", call.ret ? call.ret : json_object_new_object());
	if (id)
		json_object_object_add(reply, "id", json_object_get(id));
	qmp_queue(s, reply);
	json_object_put(reply);
}

static bool qmp_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int qmp_session_input(struct qmp_session *s, const char *data, size_t len, const int *fds,
		      unsigned nfds)
{
	size_t off = 0;

	for (unsigned i = 0; i < nfds; i++) {
		if (s->nfds < QMP_MAX_FDS)
			s->fds[s->nfds++] = fds[i];
		else
			close(fds[i]);
	}
	if (s->broken)
		return -EPROTO;
	while (off < len) {
		struct json_object *obj;
		enum json_tokener_error jerr;
		size_t chunk, used;

		if (s->pending == 0) {
			while (off < len && qmp_space(data[off]))
				off++;
			if (off == len)
				break;
		}
		chunk = len - off;
		if (chunk > QMP_MAX_MESSAGE + 1 - s->pending)
			chunk = QMP_MAX_MESSAGE + 1 - s->pending;
		obj = json_tokener_parse_ex(s->tok, data + off, (int)chunk);
		jerr = json_tokener_get_error(s->tok);
		if (jerr == json_tokener_continue) {
			s->pending += chunk;
			off += chunk;
			if (s->pending > QMP_MAX_MESSAGE) {
				qmp_queue_error(s, NULL, QMP_ERR_GENERIC,
						"QMP message too large (the limit is 64 KiB)");
				s->broken = true;
				return -EPROTO;
			}
			continue;
		}
		if (jerr != json_tokener_success) {
			char desc[160];

			snprintf(desc, sizeof(desc), "JSON parse error, %s",
				 json_tokener_error_desc(jerr));
			qmp_queue_error(s, NULL, QMP_ERR_GENERIC, desc);
			s->broken = true;
			json_object_put(obj);
			return -EPROTO;
		}
		used = json_tokener_get_parse_end(s->tok);
		if (used == 0 || used > chunk)
			used = chunk;
		off += used;
		s->pending = 0;
		json_tokener_reset(s->tok);
		qmp_handle(s, obj);
		json_object_put(obj);
		if (s->broken)
			return -EPROTO;
	}
	return 0;
}
