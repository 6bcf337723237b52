/*
 * tests/unit/test_control.c: the control socket (devmodel/control.c) as a
 * local attacker meets it: a runtime directory someone else made or opened
 * up is refused, the socket is 0600, another uid is turned away
 * (SO_PEERCRED), idle clients cannot lock others out, a client that never
 * reads cannot stall the event loop, nothing runs after quit, and one name
 * is one VM. A VM without a backend, its event loop on a thread, real
 * Unix-socket clients from the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "devmodel/control.h"
#include "devmodel/evloop.h"
#include "devmodel/vm.h"

struct fixture {
	char root[64]; /* XDG_RUNTIME_DIR */
	char dir[96];  /* root/vdm */
	struct conf_diag *diag;
	struct conf_vm *conf;
	struct vm *vm;
	struct control *control;
	FILE *log;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->root, sizeof(f->root), "/tmp/vdm-test-control-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/vdm", f->root);
	setenv("XDG_RUNTIME_DIR", f->root, 1);
	f->log = fopen("/dev/null", "w");
	f->diag = conf_diag_new(stderr);
	f->conf = conf_parse_string("system ctltest\nram 0,64k\n", "t.vmconf", NULL, f->diag);
	assert_non_null(f->conf);
	struct vm_options opts = {.domid = -1, .log_stdout = f->log, .log_stderr = f->log};
	f->vm = vm_new(f->conf, &opts);
	assert_non_null(f->vm);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	evloop_stop(vm_evloop(f->vm));
	control_close(f->control);
	vm_free(f->vm);
	conf_vm_free(f->conf);
	conf_diag_free(f->diag);
	fclose(f->log);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	control_set_idle_ms(10000);
	free(f);
	return 0;
}

static void open_and_run(struct fixture *f)
{
	assert_int_equal(control_open(f->vm, &f->control), 0);
	assert_int_equal(evloop_start(vm_evloop(f->vm)), 0);
}

static int client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(control_socket_path("ctltest", sa.sun_path, sizeof(sa.sun_path)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Everything the server sends within timeout_ms (until EOF or a quiet spell). */
static size_t receive(int fd, char *buf, size_t cap, int timeout_ms, bool *eof)
{
	size_t got = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	*eof = false;
	while (got + 1 < cap && poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);

		if (n <= 0) {
			*eof = true;
			break;
		}
		got += (size_t)n;
		if (got >= 3 && !strcmp(buf + got - 3, "ok\n") && timeout_ms > 200)
			timeout_ms = 200; /* a reply is complete: wait only for more */
	}
	buf[got] = '\0';
	return got;
}

static void say(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* A command on a fresh connection gets its "ok" within 1 s. */
static void assert_served(void)
{
	char buf[512];
	bool eof;
	int fd = client();

	say(fd, "help\n");
	receive(fd, buf, sizeof(buf), 1000, &eof);
	assert_non_null(strstr(buf, "quit [CODE]\nhelp\nok\n"));
	close(fd);
}

static void test_modes(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct stat st;

	open_and_run(f);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/ctltest.sock", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_served();
}

static void test_unsafe_dir_mode(void **state)
{
	struct fixture *f = *state;

	/* another user's process made it group/world-accessible */
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(control_open(f->vm, &f->control), -EPERM);
	assert_null(f->control);
}

static void test_unsafe_dir_owner(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip(); /* only root can give a directory away */
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chown(f->dir, 65534, 65534), 0);
	assert_int_equal(control_open(f->vm, &f->control), -EPERM);
	/* and a client does not talk to whatever socket is in there */
	assert_int_equal(control_client("ctltest", "status"), -EPERM);
}

static void test_unsafe_dir_symlink(void **state)
{
	struct fixture *f = *state;
	char target[128];

	snprintf(target, sizeof(target), "%s/elsewhere", f->root);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlink(target, f->dir), 0);
	assert_int_equal(control_open(f->vm, &f->control), -EPERM);
}

static void test_bad_names(void **state)
{
	char path[108];

	(void)state;
	assert_int_equal(control_socket_path("../../tmp/x", path, sizeof(path)), -EINVAL);
	assert_int_equal(control_socket_path("a/b", path, sizeof(path)), -EINVAL);
	assert_int_equal(
	    control_socket_path(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", path,
		sizeof(path)),
	    -EINVAL);
	assert_int_equal(control_socket_path("ok.name-1_2", path, sizeof(path)), 0);
}

static void test_one_vm_per_name(void **state)
{
	struct fixture *f = *state;
	struct control *second = NULL;

	open_and_run(f);
	assert_int_equal(control_open(f->vm, &second), -EADDRINUSE);
	assert_null(second);
	assert_served(); /* the first one's socket is untouched */
}

static void test_idle_clients_cannot_lock_out(void **state)
{
	struct fixture *f = *state;
	int idle[40];

	open_and_run(f);
	/* far more idle connections than the cap: each new one still served */
	for (unsigned i = 0; i < 40; i++)
		idle[i] = client();
	assert_served();
	assert_served();
	for (unsigned i = 0; i < 40; i++)
		close(idle[i]);
}

static void test_idle_timeout(void **state)
{
	struct fixture *f = *state;
	char buf[128];
	bool eof;
	int fd;

	control_set_idle_ms(300);
	open_and_run(f);
	fd = client();
	receive(fd, buf, sizeof(buf), 3000, &eof);
	assert_true(eof); /* dropped, not kept forever */
	close(fd);
}

static void test_client_that_never_reads(void **state)
{
	struct fixture *f = *state;
	char burst[4096];
	uint64_t t0;
	int fd;

	open_and_run(f);
	fd = client();
	/* commands whose replies it never takes */
	for (size_t i = 0; i + 7 < sizeof(burst); i += 7)
		memcpy(burst + i, "status\n", 7);
	burst[sizeof(burst) - 1 - (sizeof(burst) - 1) % 7] = '\0';
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (unsigned i = 0; i < 200; i++)
		if (send(fd, burst, strlen(burst), MSG_NOSIGNAL) < 0)
			break;
	/* the loop is not stalled: others are answered at once */
	t0 = evloop_now_ns();
	assert_served();
	assert_served();
	assert_true(evloop_now_ns() - t0 < 1000000000ull);
	close(fd);
}

static void test_nothing_after_quit(void **state)
{
	struct fixture *f = *state;
	char buf[512];
	bool eof;
	int fd;

	open_and_run(f);
	fd = client();
	say(fd, "quit 5\nhelp\nquit 7\n");
	receive(fd, buf, sizeof(buf), 2000, &eof);
	assert_string_equal(buf, "ok\n"); /* help did not run */
	assert_true(eof);		  /* and the connection is closed */
	assert_int_equal(vm_stop_code(f->vm), 5);
	assert_true(vm_stopped_by_host(f->vm));
	close(fd);
}

/* Drop to uid 65534 but keep the capability to reach the socket, so that
 * only SO_PEERCRED stands between that user and the VM. */
static int connect_as_other_user(char *buf, size_t cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};
	uint32_t bits = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);
	int pipefd[2];
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		bool eof;
		int fd;

		close(pipefd[0]);
		if (prctl(PR_SET_KEEPCAPS, 1) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		data[0].effective = data[0].permitted = bits;
		if (syscall(SYS_capset, &hdr, data) < 0)
			_exit(3);
		/* no cmocka here: a failed assert would run the parent's teardown */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (control_socket_path("ctltest", sa.sun_path, sizeof(sa.sun_path)) < 0 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(5);
		/* the server may have closed already: then the quit is not even sent */
		(void)!send(fd, "quit 9\n", 7, MSG_NOSIGNAL);
		size_t n = receive(fd, buf, cap, 2000, &eof);
		if (write(pipefd[1], buf, n) < 0)
			_exit(4);
		_exit(0);
	}
	close(pipefd[1]);
	int status;
	ssize_t n = read(pipefd[0], buf, cap - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_other_uid_refused(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	int rc;

	if (geteuid() != 0)
		skip();
	open_and_run(f);
	rc = connect_as_other_user(buf, sizeof(buf));
	if (rc == 2 || rc == 3)
		skip(); /* no setuid/capset here (a restricted container) */
	assert_int_equal(rc, 0);
	assert_string_equal(buf, "error: permission denied\n");
	assert_false(vm_stopping(f->vm)); /* its quit did not run */
	assert_served();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsafe_dir_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsafe_dir_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unsafe_dir_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_vm_per_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_clients_cannot_lock_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_that_never_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nothing_after_quit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
