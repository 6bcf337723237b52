/*
 * tests/unit/test_qmp.c: the QMP server (devmodel/qmp/) over a real unix
 * socket, driven by the event loop on this thread, against the exchanges
 * libxl 4.17 has with its device model (libxl_qmp.c: qmp_prepare_cmd sends
 * {"execute":NAME,"id":N[,"arguments":{...}]} followed by "\r\n", reads
 * CRLF-framed replies, opens one connection per operation, passes add-fd's
 * descriptor with SCM_RIGHTS on the command's first byte).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "devmodel/evloop.h"
#include "devmodel/qmp/qmp.h"

/* ------------------------------------------------------ the fake VM */

static struct {
	const char *status;
	int conts, stops, saves;
	char pty[128];
	bool fail_cont;
} vmf;

static const char *fake_status(void *ctx)
{
	return vmf.status;
}

static int fake_cont(void *ctx, char *err, size_t errlen)
{
	if (vmf.fail_cont) {
		snprintf(err, errlen, "the backend is gone");
		return -EIO;
	}
	vmf.conts++;
	vmf.status = "running";
	return 0;
}

static int fake_stop(void *ctx, char *err, size_t errlen)
{
	vmf.stops++;
	vmf.status = "paused";
	return 0;
}

static int fake_chardevs(void *ctx, struct qmp_chardev *out, unsigned max)
{
	if (!vmf.pty[0] || max < 1)
		return 0;
	snprintf(out[0].label, sizeof(out[0].label), "serial0");
	snprintf(out[0].filename, sizeof(out[0].filename), "pty:%s", vmf.pty);
	return 1;
}

static int fake_save(void *ctx, int fd, bool live, char *err, size_t errlen)
{
	vmf.saves++;
	return write(fd, "DEVSTATE", 8) == 8 ? 0 : -EIO;
}

static unsigned fake_vcpus(void *ctx)
{
	return 3;
}

static const struct qmp_ops fake_ops = {
    .vcpus = fake_vcpus,
    .status = fake_status,
    .cont = fake_cont,
    .stop = fake_stop,
    .chardevs = fake_chardevs,
    .save = fake_save,
    .package = "vdm test",
};

/* ------------------------------------------------------ the fixture */

struct fix {
	struct evloop *loop;
	struct qmp_server *srv;
	char path[108];
	char dir[64];
};

static int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_qmp.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/qmp-libxl-7", f->dir);
	f->loop = evloop_new();
	assert_non_null(f->loop);
	assert_int_equal(qmp_server_new(f->loop, &fake_ops, NULL, &f->srv), 0);
	assert_int_equal(qmp_server_listen_path(f->srv, f->path), 0);
	assert_int_equal(qmp_server_start(f->srv), 0);
	memset(&vmf, 0, sizeof(vmf));
	vmf.status = "running";
	*state = f;
	return 0;
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	qmp_server_free(f->srv);
	/* the server unlinks the socket it made */
	assert_int_equal(access(f->path, F_OK), -1);
	evloop_run_once(f->loop, 0);
	assert_int_equal(evloop_item_count(f->loop), 0);
	evloop_free(f->loop);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client_connect(struct fix *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(sa.sun_path, f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/*
 * One CRLF-terminated message from the server, parsed (the loop runs in
 * between, on this thread). NULL when the server closed the connection.
 */
static struct json_object *client_read(struct fix *f, int fd)
{
	static char buf[1 << 17];
	static size_t have;
	static int have_fd = -1;

	if (have_fd != fd) {
		have = 0;
		have_fd = fd;
	}
	for (int round = 0; round < 400; round++) {
		char *crlf = have ? memmem(buf, have, "\r\n", 2) : NULL;
		ssize_t n;

		if (crlf) {
			size_t len = (size_t)(crlf - buf);
			struct json_object *o;

			*crlf = '\0';
			o = json_tokener_parse(buf);
			memmove(buf, crlf + 2, have - len - 2);
			have -= len + 2;
			assert_non_null(o);
			return o;
		}
		evloop_run_once(f->loop, 5);
		n = recv(fd, buf + have, sizeof(buf) - have - 1, 0);
		if (n == 0)
			return NULL;
		if (n > 0)
			have += (size_t)n;
	}
	fail_msg("no reply from the QMP server");
	return NULL;
}

static void client_send(int fd, const char *text, int pass_fd)
{
	struct iovec iov = {.iov_base = (void *)text, .iov_len = 1};
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (pass_fd >= 0) {
		/* libxl: the descriptor goes with the command's first byte */
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
		assert_int_equal(sendmsg(fd, &mh, 0), 1);
		text++;
	}
	assert_int_equal(send(fd, text, strlen(text), 0), (ssize_t)strlen(text));
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char key[64];

	while (o && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (dot ? 1 : 0);
	}
	return o;
}

static const char *get_str(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t get_int(struct json_object *o, const char *path)
{
	struct json_object *v = get(o, path);

	assert_non_null(v);
	return json_object_get_int64(v);
}

/* Connect, read the greeting, negotiate with id 1: libxl's first exchange. */
static int client_open(struct fix *f)
{
	int fd = client_connect(f);
	struct json_object *m = client_read(f, fd);

	assert_non_null(get(m, "QMP"));
	json_object_put(m);
	client_send(fd, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n", -1);
	m = client_read(f, fd);
	assert_non_null(m);
	assert_int_equal(get_int(m, "id"), 1);
	assert_true(json_object_is_type(get(m, "return"), json_type_object));
	json_object_put(m);
	return fd;
}

/* One command on a negotiated connection: the reply (caller frees). */
static struct json_object *call(struct fix *f, int fd, const char *cmd)
{
	client_send(fd, cmd, -1);
	return client_read(f, fd);
}

/* ------------------------------------------------------------- tests */

/* The greeting: CRLF-framed, QMP.version.qemu.{major,minor,micro} >= 2.11, then capabilities. */
static void test_greeting_and_capabilities(void **state)
{
	struct fix *f = *state;
	int fd = client_connect(f);
	struct json_object *m;
	char raw[4096];
	ssize_t n = 0;

	for (int i = 0; i < 200 && n <= 0; i++) {
		evloop_run_once(f->loop, 5);
		n = recv(fd, raw, sizeof(raw) - 1, MSG_PEEK);
	}
	assert_true(n > 2);
	raw[n] = '\0';
	assert_non_null(strstr(raw, "}\r\n")); /* libxl cuts messages at CRLF */
	m = client_read(f, fd);
	assert_true(get_int(m, "QMP.version.qemu.major") * 100 +
			get_int(m, "QMP.version.qemu.minor") >=
		    211);
	assert_true(get_int(m, "QMP.version.qemu.micro") >= 0);
	assert_string_equal(get_str(m, "QMP.version.package"), "vdm test");
	json_object_put(m);
	/* before negotiation only qmp_capabilities is accepted */
	m = call(f, fd, "{\"execute\":\"query-status\",\"id\":1}\r\n");
	assert_string_equal(get_str(m, "error.class"), "CommandNotFound");
	assert_int_equal(get_int(m, "id"), 1);
	json_object_put(m);
	m = call(f, fd, "{\"execute\":\"qmp_capabilities\",\"id\":2}\r\n");
	assert_int_equal(get_int(m, "id"), 2);
	assert_non_null(get(m, "return"));
	assert_null(get(m, "error"));
	json_object_put(m);
	/* twice is an error, as in QEMU */
	m = call(f, fd, "{\"execute\":\"qmp_capabilities\",\"id\":3}\r\n");
	assert_string_equal(get_str(m, "error.class"), "CommandNotFound");
	json_object_put(m);
	close(fd);
}

/* create: query-chardev with a real pty, then query-vnc; each on its own connection. */
static void test_post_config(void **state)
{
	struct fix *f = *state;
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	struct json_object *m, *list, *e;
	int fd;

	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	snprintf(vmf.pty, sizeof(vmf.pty), "%s", ptsname(master));

	fd = client_open(f);
	m = call(f, fd, "{\"execute\":\"query-chardev\",\"id\":2}\r\n");
	assert_int_equal(get_int(m, "id"), 2);
	list = get(m, "return");
	assert_true(json_object_is_type(list, json_type_array));
	assert_int_equal(json_object_array_length(list), 1);
	e = json_object_array_get_idx(list, 0);
	assert_string_equal(get_str(e, "label"), "serial0");
	/* libxl writes what follows "pty:" to /local/domain/N/serial/0/tty */
	assert_int_equal(strncmp(get_str(e, "filename"), "pty:", 4), 0);
	assert_string_equal(get_str(e, "filename") + 4, ptsname(master));
	assert_int_equal(access(get_str(e, "filename") + 4, F_OK), 0);
	json_object_put(m);
	close(fd);
	/* libxl closes; the server drops the connection */
	for (int i = 0; i < 100 && qmp_server_connection_count(f->srv); i++)
		evloop_run_once(f->loop, 5);
	assert_int_equal(qmp_server_connection_count(f->srv), 0);

	fd = client_open(f);
	m = call(f, fd, "{\"execute\":\"query-vnc\",\"id\":2}\r\n");
	assert_true(json_object_is_type(get(m, "return.enabled"), json_type_boolean));
	assert_false(json_object_get_boolean(get(m, "return.enabled")));
	json_object_put(m);
	close(fd);
	close(master);
}

/* -S: query-status says prelaunch; cont (libxl's unpause) makes it running; stop pauses. */
static void test_status_cont_stop(void **state)
{
	struct fix *f = *state;
	struct json_object *m;
	int fd;

	vmf.status = "prelaunch";
	fd = client_open(f);
	m = call(f, fd, "{\"execute\":\"query-status\",\"id\":2}\r\n");
	assert_string_equal(get_str(m, "return.status"), "prelaunch");
	assert_false(json_object_get_boolean(get(m, "return.running")));
	json_object_put(m);
	m = call(f, fd, "{\"execute\":\"cont\",\"id\":3}\r\n");
	assert_int_equal(get_int(m, "id"), 3);
	assert_non_null(get(m, "return"));
	json_object_put(m);
	assert_int_equal(vmf.conts, 1);
	m = call(f, fd, "{\"execute\":\"query-status\",\"id\":4}\r\n");
	assert_string_equal(get_str(m, "return.status"), "running");
	json_object_put(m);
	m = call(f, fd, "{\"execute\":\"stop\",\"id\":5}\r\n");
	assert_non_null(get(m, "return"));
	json_object_put(m);
	assert_int_equal(vmf.stops, 1);
	assert_string_equal(vmf.status, "paused");
	/* a failing op is a QMP error object, not a dropped connection */
	vmf.fail_cont = true;
	m = call(f, fd, "{\"execute\":\"cont\",\"id\":6}\r\n");
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	assert_non_null(strstr(get_str(m, "error.desc"), "the backend is gone"));
	assert_int_equal(get_int(m, "id"), 6);
	json_object_put(m);
	/* xl save reads the online vCPUs back first */
	m = call(f, fd, "{\"execute\":\"query-cpus-fast\",\"id\":8}\r\n");
	assert_int_equal(json_object_array_length(get(m, "return")), 3);
	assert_int_equal(get_int(json_object_array_get_idx(get(m, "return"), 2), "cpu-index"), 2);
	json_object_put(m);
	/* xentop's question on the libxenstat socket */
	m = call(f, fd, "{\"execute\":\"query-blockstats\",\"id\":10}\r\n");
	assert_true(json_object_is_type(get(m, "return"), json_type_array));
	assert_int_equal(json_object_array_length(get(m, "return")), 0);
	json_object_put(m);
	m = call(f, fd, "{\"execute\":\"query-cpus\",\"id\":9}\r\n");
	assert_int_equal(get_int(json_object_array_get_idx(get(m, "return"), 1), "CPU"), 1);
	json_object_put(m);
	m = call(f, fd, "{\"execute\":\"query-version\",\"id\":7}\r\n");
	assert_int_equal(get_int(m, "return.qemu.major"), QMP_QEMU_MAJOR);
	json_object_put(m);
	close(fd);
}

/* save (libxl__qmp_suspend_save): stop, add-fd with SCM_RIGHTS, xen-save-devices-state. */
static void test_add_fd_and_save(void **state)
{
	struct fix *f = *state;
	char file[128], cmd[256], got[16] = "";
	struct json_object *m;
	int fd, save_fd, set;

	snprintf(file, sizeof(file), "%s/qemu-save.7", f->dir);
	save_fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(save_fd >= 0);
	fd = client_open(f);
	/* libxc turns dirty logging on for every HVM save */
	m = call(
	    f, fd,
	    "{\"execute\":\"xen-set-global-dirty-log\",\"id\":1,\"arguments\":{\"enable\":true}}"
	    "\r\n");
	assert_non_null(get(m, "return"));
	json_object_put(m);
	m = call(f, fd, "{\"execute\":\"stop\",\"id\":2}\r\n");
	json_object_put(m);
	/* add-fd without a descriptor is refused */
	m = call(f, fd, "{\"execute\":\"add-fd\",\"id\":3}\r\n");
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	json_object_put(m);
	client_send(fd, "{\"execute\":\"add-fd\",\"id\":4}\r\n", save_fd);
	close(save_fd); /* the server holds its own copy now */
	m = client_read(f, fd);
	assert_int_equal(get_int(m, "id"), 4);
	set = (int)get_int(m, "return.fdset-id");
	assert_true(set >= 0);
	json_object_put(m);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"xen-save-devices-state\",\"id\":5,\"arguments\":{\"filename\":"
		 "\"/dev/fdset/%d\",\"live\":false}}\r\n",
		 set);
	m = call(f, fd, cmd);
	assert_int_equal(get_int(m, "id"), 5);
	assert_non_null(get(m, "return"));
	json_object_put(m);
	assert_int_equal(vmf.saves, 1);
	{
		int rfd = open(file, O_RDONLY);

		assert_true(rfd >= 0);
		assert_int_equal(read(rfd, got, sizeof(got) - 1), 8);
		close(rfd);
	}
	assert_string_equal(got, "DEVSTATE");
	/* an fd set that does not exist */
	m = call(f, fd,
		 "{\"execute\":\"xen-save-devices-state\",\"id\":6,\"arguments\":{\"filename\":"
		 "\"/dev/fdset/999\"}}\r\n");
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	json_object_put(m);
	/* missing argument */
	m = call(f, fd, "{\"execute\":\"xen-save-devices-state\",\"id\":7}\r\n");
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	assert_non_null(strstr(get_str(m, "error.desc"), "filename"));
	json_object_put(m);
	close(fd);
}

/* Bytes that are not JSON: an error reply, then the connection ends. */
static void test_malformed(void **state)
{
	struct fix *f = *state;
	struct json_object *m;
	int fd = client_open(f);

	client_send(fd, "{\"execute\": ]\r\n", -1);
	m = client_read(f, fd);
	assert_non_null(m);
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	assert_null(get(m, "id"));
	json_object_put(m);
	assert_null(client_read(f, fd)); /* closed */
	close(fd);
	/* not an object: an error, the connection stays */
	fd = client_open(f);
	m = call(f, fd, "[1,2]\r\n");
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	json_object_put(m);
	m = call(f, fd, "{\"execute\":42,\"id\":9}\r\n");
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	assert_int_equal(get_int(m, "id"), 9);
	json_object_put(m);
	m = call(f, fd, "{\"execute\":\"query-status\",\"arguments\":[],\"id\":10}\r\n");
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	json_object_put(m);
	/* two commands in one write, split replies */
	client_send(
	    fd, "{\"execute\":\"query-vnc\",\"id\":11}{\"execute\":\"query-vnc\",\"id\":12}", -1);
	m = client_read(f, fd);
	assert_int_equal(get_int(m, "id"), 11);
	json_object_put(m);
	m = client_read(f, fd);
	assert_int_equal(get_int(m, "id"), 12);
	json_object_put(m);
	close(fd);
}

/* A message larger than the bound: refused and closed, without buffering it all. */
static void test_oversized(void **state)
{
	struct fix *f = *state;
	size_t n = QMP_MAX_MESSAGE + 4096;
	char *big = malloc(n + 32);
	struct json_object *m;
	int fd = client_open(f);
	size_t sent = 0;

	assert_non_null(big);
	memcpy(big, "{\"execute\":\"", 12);
	memset(big + 12, 'a', n - 12);
	big[n] = '\0';
	while (sent < n) {
		ssize_t k = send(fd, big + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k > 0)
			sent += (size_t)k;
		else if (errno != EAGAIN)
			break; /* the server closed early: fine */
		evloop_run_once(f->loop, 5);
	}
	m = client_read(f, fd);
	assert_non_null(m);
	assert_string_equal(get_str(m, "error.class"), "GenericError");
	assert_non_null(strstr(get_str(m, "error.desc"), "too large"));
	json_object_put(m);
	assert_null(client_read(f, fd));
	close(fd);
	free(big);
}

/* Everything libxl may send that vdm does not serve: CommandNotFound with the id. */
static void test_unknown_command(void **state)
{
	struct fix *f = *state;
	struct json_object *m;
	int fd = client_open(f);

	m = call(
	    f, fd,
	    "{\"execute\":\"device_add\",\"id\":2,\"arguments\":{\"driver\":\"qemu64-x86_64-cpu\"}}"
	    "\r\n");
	assert_string_equal(get_str(m, "error.class"), "CommandNotFound");
	assert_non_null(get_str(m, "error.desc"));
	assert_int_equal(get_int(m, "id"), 2);
	json_object_put(m);
	close(fd);
}

/* At most QMP_MAX_CONNECTIONS: a new one beyond closes the oldest, and still works. */
static void test_connection_bound(void **state)
{
	struct fix *f = *state;
	int fds[QMP_MAX_CONNECTIONS + 3];
	struct json_object *m;

	for (unsigned i = 0; i < QMP_MAX_CONNECTIONS + 3; i++) {
		fds[i] = client_connect(f);
		m = client_read(f, fds[i]);
		assert_non_null(m);
		json_object_put(m);
		assert_true(qmp_server_connection_count(f->srv) <= QMP_MAX_CONNECTIONS);
	}
	assert_int_equal(qmp_server_connection_count(f->srv), QMP_MAX_CONNECTIONS);
	assert_null(client_read(f, fds[0])); /* the oldest was closed */
	client_send(fds[QMP_MAX_CONNECTIONS + 2], "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n",
		    -1);
	m = client_read(f, fds[QMP_MAX_CONNECTIONS + 2]);
	assert_int_equal(get_int(m, "id"), 1);
	json_object_put(m);
	for (unsigned i = 0; i < QMP_MAX_CONNECTIONS + 3; i++)
		close(fds[i]);
}

/* A descriptor kept by add-fd is closed with the connection that added it. */
static void test_fdset_released_with_connection(void **state)
{
	struct fix *f = *state;
	int pipefd[2], fd = client_open(f);
	struct json_object *m;
	char c;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	client_send(fd, "{\"execute\":\"add-fd\",\"id\":2}\r\n", pipefd[1]);
	close(pipefd[1]);
	m = client_read(f, fd);
	assert_true(get_int(m, "return.fdset-id") >= 0);
	json_object_put(m);
	/* the server's copy keeps the pipe open: no EOF yet */
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	assert_int_equal(read(pipefd[0], &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
	close(fd);
	for (int i = 0; i < 100 && qmp_server_connection_count(f->srv); i++)
		evloop_run_once(f->loop, 5);
	assert_int_equal(read(pipefd[0], &c, 1), 0); /* EOF: the set was closed */
	close(pipefd[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_greeting_and_capabilities, fix_setup,
					    fix_teardown),
	    cmocka_unit_test_setup_teardown(test_post_config, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_status_cont_stop, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_add_fd_and_save, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_oversized, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_command, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_connection_bound, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(test_fdset_released_with_connection, fix_setup,
					    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
