/*
 * devmodel/lockdown.c: least privilege once a VM is set up (lockdown.h).
 *
 * The allowed set is what a device model does after set-up, vdm's own
 * threads and a plugin's alike (plugins run inside vdm, and virtio devices
 * with I/O workers and a QMP server will): memory management, I/O on file
 * descriptors it has or opens (files, sockets with fd passing, pipes,
 * eventfds, timerfds, signalfds, pidfds, epoll, io_uring), ioctl (KVM, Xen
 * privcmd, terminals), threads and futexes, signals to itself and its own
 * child, time, and the few file-system calls teardown needs (unlink of the
 * control socket). What is refused is what a device model never needs and
 * an exploit wants: executing programs (execve, execveat), debugging or
 * reading other processes (ptrace, process_vm_readv/writev, kcmp,
 * pidfd_getfd), changing the system (mount, umount2, pivot_root, chroot,
 * swapon, reboot, kexec_*, *_module, settimeofday, sethostname, ...),
 * kernel attack surface it has no use for (bpf, perf_event_open, keyctl,
 * add_key, request_key, userfaultfd, unshare, setns, personality,
 * open_by_handle_at, name_to_handle_at, fanotify_*, iopl, ioperm, acct,
 * quotactl, lookup_dcookie, vhangup), and changing identity (setuid and
 * friends) once privileges are dropped. The list below is an allow list:
 * anything not in it, including system calls newer than this file, takes
 * the mode's action.
 *
 * One filter for the whole process (SECCOMP_FILTER_FLAG_TSYNC): the
 * vCPU, event-loop, signal, control and plugin threads share it. Separate
 * filters per thread kind would shave ioctl off the event loop and open
 * off the vCPUs, but a plugin may do either from either (a device opening
 * its backing file from a vCPU's register write), so one set it is.
 */
#include "devmodel/lockdown.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "devmodel/control.h"
#include "devmodel/exitcode.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"

static const char *const lockdown_allowed[] = {
    /* memory */
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "mlock",
    "mlock2",
    "munlock",
    "mincore",
    "memfd_create",
    "membarrier",
    "mbind",
    "get_mempolicy",
    "set_mempolicy",
    /* I/O on descriptors */
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "ioctl",
    "fstat",
    "newfstatat",
    "statx",
    "stat",
    "lstat",
    "fstatfs",
    "statfs",
    "fsync",
    "fdatasync",
    "sync_file_range",
    "fallocate",
    "ftruncate",
    "flock",
    "fadvise64",
    "readahead",
    "sendfile",
    "splice",
    "tee",
    "copy_file_range",
    "pipe",
    "pipe2",
    "getdents64",
    "openat",
    "open",
    "openat2",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getcwd",
    "unlink",
    "unlinkat",
    "mkdir",
    "mkdirat",
    "fchmod",
    "chmod",
    "umask",
    "rename",
    "renameat",
    "renameat2",
    "utimensat",
    "fchown",
    /* polling and event descriptors */
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "signalfd",
    "signalfd4",
    "pidfd_open",
    "pidfd_send_signal",
    "inotify_init1",
    "inotify_add_watch",
    "inotify_rm_watch",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_getevents",
    "io_pgetevents",
    "io_cancel",
    /* sockets (Unix sockets, fd passing, syslog, QMP, network backends) */
    "socket",
    "socketpair",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "shutdown",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
    /* threads, processes of its own, signals */
    "clone",
    "clone3",
    "fork",
    "vfork",
    "futex",
    "futex_waitv",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "set_tid_address",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "gettid",
    "getpid",
    "getppid",
    "getpgrp",
    "getpgid",
    "getsid",
    "kill",
    "tgkill",
    "tkill",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigtimedwait",
    "rt_sigpending",
    "rt_sigsuspend",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "sigaltstack",
    "restart_syscall",
    "pause",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "sched_setscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "getpriority",
    "setpriority",
    "prctl",
    "arch_prctl",
    "prlimit64",
    "getrlimit",
    "getrusage",
    "times",
    /* time, identity (read only), system facts */
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "getresuid",
    "getresgid",
    "capget",
    "uname",
    "sysinfo",
    "getrandom",
    "getcpu",
};

/* The mode a VM asks for: the last `set seccomp` (default log). */
static int lockdown_mode(const struct conf_vm *conf, const struct conf_option **where)
{
	int mode = LOCKDOWN_SECCOMP_LOG;

	*where = NULL;
	for (unsigned i = 0; i < conf->set_count; i++) {
		const struct conf_option *o = &conf->sets[i];

		if (strcmp(o->name, "seccomp") || !o->value)
			continue;
		*where = o;
		if (!strcmp(o->value, "off"))
			mode = LOCKDOWN_SECCOMP_OFF;
		else if (!strcmp(o->value, "log"))
			mode = LOCKDOWN_SECCOMP_LOG;
		else if (!strcmp(o->value, "on"))
			mode = LOCKDOWN_SECCOMP_ON;
		else if (!strcmp(o->value, "kill"))
			mode = LOCKDOWN_SECCOMP_KILL;
		else
			mode = -1;
	}
	return mode;
}

int lockdown_check_config(const struct conf_vm *conf, struct conf_diag *diag)
{
	int rc = 0;

	for (unsigned i = 0; i < conf->set_count; i++) {
		const struct conf_option *o = &conf->sets[i];

		if (strcmp(o->name, "seccomp"))
			continue;
		if (!o->value || (strcmp(o->value, "off") && strcmp(o->value, "log") &&
				  strcmp(o->value, "on") && strcmp(o->value, "kill"))) {
			conf_diag_error(diag, o->value ? &o->value_pos : &o->pos,
					"set seccomp %s: expected off, log, on or kill",
					o->value ? o->value : "");
			rc = VDM_EXIT_CONFIG;
		}
	}
	return rc;
}

static const char *lockdown_mode_name(int mode)
{
	static const char *const names[] = {"off", "log", "on", "kill"};

	return mode >= 0 && mode <= LOCKDOWN_SECCOMP_KILL ? names[mode] : "?";
}

/* What an isolated plugin's process may not do of the list (isolate.c):
 * make or signal or reap processes. Threads still come by clone. */
static const char *const lockdown_isolated_denied[] = {
    "fork", "vfork", "kill", "wait4", "waitid", "clone", "clone3",
};

static bool lockdown_isolated_denies(const char *name)
{
	for (size_t i = 0;
	     i < sizeof(lockdown_isolated_denied) / sizeof(lockdown_isolated_denied[0]); i++)
		if (strcmp(name, lockdown_isolated_denied[i]) == 0)
			return true;
	return false;
}

/*
 * Load the allow list with `mode`'s action for everything else; for an
 * isolated plugin's process (isolated), without lockdown_isolated_denied,
 * clone only for threads, and clone3 failing with ENOSYS whatever the mode
 * (glibc then makes threads with clone, whose flags a filter can see).
 */
static int lockdown_filter_load(int mode, bool isolated)
{
	uint32_t deny = mode == LOCKDOWN_SECCOMP_LOG	? SCMP_ACT_LOG
			: mode == LOCKDOWN_SECCOMP_KILL ? SCMP_ACT_KILL_PROCESS
							: SCMP_ACT_ERRNO(EPERM);
	scmp_filter_ctx ctx = seccomp_init(deny);
	int ret;

	if (!ctx)
		return -ENOMEM;
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	/* a binary tree of the numbers: every vCPU exit pays the filter */
	if (ret == 0 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0) {
		/* older libseccomp: the linear filter works too */
	}
	for (size_t i = 0; ret == 0 && i < sizeof(lockdown_allowed) / sizeof(lockdown_allowed[0]);
	     i++) {
		int nr = seccomp_syscall_resolve_name(lockdown_allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if (isolated && lockdown_isolated_denies(lockdown_allowed[i]))
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (ret == 0 && isolated)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (ret == 0 && isolated)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

/* Install the allow list with `mode`'s action for everything else. */
static int lockdown_seccomp(struct vm *vm, int mode)
{
	int ret = lockdown_filter_load(mode, false);

	if (ret == 0)
		vm_log(vm, LOG_LVL_INFO, "seccomp %s: %zu system calls allowed, the rest %s",
		       lockdown_mode_name(mode),
		       sizeof(lockdown_allowed) / sizeof(lockdown_allowed[0]),
		       mode == LOCKDOWN_SECCOMP_LOG    ? "logged (allowed)"
		       : mode == LOCKDOWN_SECCOMP_KILL ? "kill vdm"
						       : "fail with EPERM");
	return ret;
}

int lockdown_apply_isolated(const struct conf_vm *conf)
{
	const struct conf_option *where;
	int mode = lockdown_mode(conf, &where), ret;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (mode == LOCKDOWN_SECCOMP_OFF)
		return 0;
	ret = lockdown_filter_load(mode, true);
	/* as for vdm, the default `log` never stops a device */
	return mode == LOCKDOWN_SECCOMP_LOG ? 0 : ret;
}

/*
 * The control socket and its lock live in root's 0700 directory, which the
 * dropped user cannot write to unlink them at exit. A janitor forked
 * before the drop keeps root for that one job: it waits until every copy
 * of the pipe's write end is gone (vdm ended, however it ended), then
 * unlinks both and exits (releasing the lock it inherited last).
 */
static void lockdown_fork_janitor(struct vm *vm)
{
	char sock[PATH_MAX], lock[PATH_MAX + 8];
	int fds[2];
	pid_t pid;

	if (control_socket_path(vm_conf(vm)->system, sock, sizeof(sock)) < 0)
		return;
	snprintf(lock, sizeof(lock), "%.*s.lock", (int)(strlen(sock) - 5), sock);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		char c;

		close(fds[1]);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		unlink(sock);
		unlink(lock);
		_exit(0);
	}
	close(fds[0]);
	/* fds[1] stays open (close-on-exec) for vdm's lifetime */
}

/* Root no more: the user of `set run-as`, else $VDM_USER, else nobody. */
static int lockdown_drop(struct vm *vm)
{
	const struct conf_vm *conf = vm_conf(vm);
	const char *user = getenv("VDM_USER");
	struct passwd *pw;

	for (unsigned i = 0; i < conf->set_count; i++)
		if (!strcmp(conf->sets[i].name, "run-as") && conf->sets[i].value)
			user = conf->sets[i].value;
	if (!user || !*user)
		user = "nobody";
	if (geteuid() != 0) {
		vm_log(vm, LOG_LVL_INFO, "not root: no privileges to drop");
		return 0;
	}
	pw = getpwnam(user);
	if (!pw) {
		vm_log(vm, LOG_LVL_FATAL, "privilege drop: no user %s to run as", user);
		return -ENOENT;
	}
	lockdown_fork_janitor(vm);
	if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		int err = -errno;

		vm_log(vm, LOG_LVL_FATAL, "privilege drop: cannot become %s: %s", user,
		       strerror(errno));
		return err;
	}
	vm_log(vm, LOG_LVL_INFO, "running as %s (uid %u)", user, (unsigned)pw->pw_uid);
	return 0;
}

static bool lockdown_wants_drop(struct vm *vm)
{
	const struct conf_vm *conf = vm_conf(vm);

	for (unsigned i = 0; i < conf->set_count; i++)
		if (!strcmp(conf->sets[i].name, "run-as"))
			return true;
	return vm_options(vm)->restrict_xen;
}

int lockdown_apply(struct vm *vm, bool drop_privileges)
{
	const struct conf_option *where;
	int mode = lockdown_mode(vm_conf(vm), &where), ret;

	if (drop_privileges && lockdown_wants_drop(vm)) {
		ret = lockdown_drop(vm);
		if (ret < 0)
			return ret;
	}
	/* No exec can give privileges back, whatever the seccomp mode. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		vm_log(vm, LOG_LVL_FATAL, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return ret;
	}
	if (mode == LOCKDOWN_SECCOMP_OFF) {
		vm_log(vm, LOG_LVL_INFO, "seccomp off (set seccomp off)");
		return 0;
	}
	ret = lockdown_seccomp(vm, mode);
	if (ret == 0)
		return 0;
	if (mode == LOCKDOWN_SECCOMP_LOG) {
		/* The default must never stop a guest: say so and go on. */
		vm_log(vm, LOG_LVL_WARN,
		       "seccomp log: cannot install the filter: %s; running "
		       "without it",
		       strerror(-ret));
		return 0;
	}
	vm_log(vm, LOG_LVL_FATAL, "seccomp %s: cannot install the filter: %s",
	       lockdown_mode_name(mode), strerror(-ret));
	return ret;
}
