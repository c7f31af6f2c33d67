/* SPDX-License-Identifier: MIT */
/* init.c - the container's processes (docs/oci.md, "Process model").
 *
 *   create ──fork──> init: new session, the terminal (pty slave) or the engine's stdio, the
 *                     container's network namespace (when config.json names one: uhyve-sec
 *                     then finds its TAP there by name), the cgroups, the rlimits; tells
 *                     create it is ready; blocks opening
 *                     exec.fifo for writing until `start` opens it for reading; then
 *                     ──fork──> monitor: holds the kernel fd and the read end of
 *                     uhyve-sec's --status-fd pipe, stdio on /dev/null, stop signals blocked;
 *                     when the pipe ends, writes uhyve-sec's own failure (the end record) to
 *                     --log as an error, and exits
 *                     and execs uhyve-sec (same pid: the pid file, the engine's waitpid and
 *                     its signals reach the VMM), with KERNEL = /proc/MONITOR/fd/N: the file
 *                     create resolved inside the rootfs, never a path looked up again, the
 *                     status pipe on fd 3 and the guest's TAP (netns.c) on fd NET_TAP_FD.
 *
 * Trust: runs the engine's and the runtime's code only; what it reads back from uhyve-sec
 * (the end record, endrec.c) is untrusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "create.h"

#define REC_MAX 1024

__attribute__((noreturn, format(printf, 2, 3))) static void init_fail(int w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (w >= 0) {
		if (write(w, msg, strlen(msg)) < 0) {
			_exit(1);
		}
	} else {
		log_error("%s", msg);
	}
	_exit(1);
}

/* Dispositions survive exec when ignored: uhyve-sec must get SIGTERM/SIGINT/SIGHUP. */
static void reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP) {
			signal(sig, SIG_DFL);
		}
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int apply_rlimits(const struct oci_spec *s, char *err, size_t errlen)
{
	for (size_t i = 0; i < s->nrlimits; i++) {
		struct rlimit rl = {s->rlimits[i].soft, s->rlimits[i].hard};
		if (setrlimit(s->rlimits[i].resource, &rl) != 0) {
			int e = errno;
			snprintf(err, errlen, "process.rlimits[%zu]: setrlimit %llu/%llu: %s", i,
				 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
				 strerror(e));
			return -1;
		}
	}
	return 0;
}

/* Closes every fd except those in keep (n of them). */
static void close_except(const int *keep, size_t n)
{
	unsigned lo = 0;

	for (;;) {
		unsigned next = ~0u;
		for (size_t i = 0; i < n; i++) {
			if (keep[i] >= 0 && (unsigned)keep[i] >= lo && (unsigned)keep[i] < next) {
				next = (unsigned)keep[i];
			}
		}
		if (next > lo) {
			close_range(lo, next == ~0u ? ~0u : next - 1, 0);
		}
		if (next == ~0u) {
			return;
		}
		lo = next + 1;
	}
}

static void endrec_report(const char *buf, size_t len)
{
	struct endrec r;

	endrec_parse(buf, len, &r);
	switch (r.kind) {
	case END_GUEST:
		log_debug("the guest exited with code %d", r.status);
		break;
	case END_DONE:
		log_debug("uhyve-sec ended without running a guest");
		break;
	case END_ERROR:
		log_msg(strcmp(r.what, "signal") == 0 ? LOG_INFO : LOG_ERROR,
			"uhyve-sec: %s (exit status %d, %s)", r.msg, r.status, r.what);
		break;
	case END_NONE:
		log_warn("uhyve-sec ended without an end record (killed, or it could not start)");
		break;
	case END_BAD:
	default:
		log_error("uhyve-sec wrote a malformed end record");
		break;
	}
}

__attribute__((noreturn)) static void monitor_main(int rfd, int kfd)
{
	char rec[REC_MAX + 1];
	size_t len = 0;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	const int keep[] = {rfd, kfd, g_log.fd, null};
	sigset_t stop;

	close_except(keep, sizeof keep / sizeof keep[0]);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
		_exit(1);
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	prctl(PR_SET_NAME, "uhs-oci-monitor");
	for (;;) {
		ssize_t n = read(rfd, rec + len, REC_MAX - len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0 || (len += (size_t)n) == REC_MAX) {
			break;
		}
	}
	endrec_report(rec, len);
	_exit(0);
}

/* Puts fd at number to, inherited across exec.  fd must not be a number below 5 that another
 * of ours will take: callers first move theirs above 4 (place_fds). */
static int place_fd(int fd, int to)
{
	return fd == to ? fcntl(fd, F_SETFD, 0) : dup2(fd, to);
}

/* The status pipe at 3 and the TAP (if any) at NET_TAP_FD, without O_CLOEXEC. */
static int place_fds(int status, int tap)
{
	int s = fcntl(status, F_DUPFD_CLOEXEC, 5),
	    t = tap >= 0 ? fcntl(tap, F_DUPFD_CLOEXEC, 5) : -1;

	if (s < 0 || (tap >= 0 && t < 0)) {
		return -1;
	}
	return place_fd(s, 3) < 0 || (t >= 0 && place_fd(t, NET_TAP_FD) < 0) ? -1 : 0;
}

/* Forks the monitor and execs uhyve-sec; returns only to fail. */
__attribute__((noreturn)) static void exec_vmm(struct job *j)
{
	char *const envp[] = {NULL};
	char kpath[64];
	int sp[2];
	pid_t m;

	if (pipe2(sp, O_CLOEXEC) != 0) {
		init_fail(-1, "cannot create the status pipe: %s", strerror(errno));
	}
	if ((m = fork()) < 0) {
		init_fail(-1, "cannot fork the monitor: %s", strerror(errno));
	}
	if (m == 0) {
		monitor_main(sp[0], j->kfd);
	}
	close(sp[0]);
	snprintf(kpath, sizeof kpath, "/proc/%d/fd/%d", (int)m, j->kfd);
	free(j->plan.argv[j->kernel_arg]);
	/* --status-fd=3 and --net fd:NET_TAP_FD, without O_CLOEXEC */
	if ((j->plan.argv[j->kernel_arg] = strdup(kpath)) == NULL ||
	    place_fds(sp[1], j->net.tap_fd) != 0) {
		init_fail(-1, "cannot set up uhyve-sec's arguments");
	}
	execve(j->vmm, j->plan.argv, envp);
	init_fail(-1, "cannot execute %.256s: %s", j->vmm, strerror(errno));
}

/* Blocks until `start` opens the FIFO for reading, then tells it we go. */
static void wait_start(const struct job *j)
{
	int fd;

	do {
		fd = openat(j->dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		init_fail(-1, "container %.256s: exec.fifo: %s", j->id, strerror(errno));
	}
	close(fd);
}

__attribute__((noreturn)) static void init_main(struct job *j, int w)
{
	char err[512];

	reset_signals();
	if (setsid() < 0) {
		init_fail(w, "setsid: %s", strerror(errno));
	}
	if (j->pty_slave >= 0 &&
	    (ioctl(j->pty_slave, TIOCSCTTY, 0) != 0 || dup2(j->pty_slave, 0) != 0 ||
	     dup2(j->pty_slave, 1) != 1 || dup2(j->pty_slave, 2) != 2)) {
		init_fail(w, "cannot make the pty the container's terminal: %s", strerror(errno));
	}
	if (j->net.ns_fd >= 0 && setns(j->net.ns_fd, CLONE_NEWNET) != 0) {
		init_fail(w, "cannot join the network namespace: %s", strerror(errno));
	}
	if (j->cgroups != NULL && cg_join(j->cgroups, err, sizeof err) != 0) {
		init_fail(w, "%s", err);
	}
	if (apply_rlimits(&j->spec, err, sizeof err) != 0) {
		init_fail(w, "%s", err);
	}
	if (write(w, "", 1) != 1) {
		_exit(1);
	}
	close(w);
	wait_start(j);
	exec_vmm(j);
}

pid_t init_spawn(struct job *j, char *err, size_t errlen)
{
	char buf[512];
	ssize_t n = 0, r;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		snprintf(err, errlen, "cannot start the container process: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		init_main(j, p[1]);
	}
	close(p[1]);
	while (n < (ssize_t)sizeof buf - 1 &&
	       ((r = read(p[0], buf + n, sizeof buf - 1 - (size_t)n)) > 0 ||
		(r < 0 && errno == EINTR))) {
		n += r > 0 ? r : 0;
	}
	close(p[0]);
	if (n == 1 && buf[0] == '\0') {
		return pid;
	}
	buf[n > 0 ? n : 0] = '\0';
	snprintf(err, errlen, "%s", n > 0 ? buf : "the container's init process died in setup");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* connect(2) to a socket path of any length: through its directory when it is long. */
static int connect_path(int s, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *slash = strrchr(path, '/');
	int dfd = -1, rc;

	if (strlen(path) < sizeof sa.sun_path) {
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	} else {
		char dir[4096];
		if (slash == NULL || (size_t)(slash - path) >= sizeof dir) {
			errno = ENAMETOOLONG;
			return -1;
		}
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
		if ((dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			return -1;
		}
		snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, slash + 1);
	}
	rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
	if (dfd >= 0) {
		close(dfd);
	}
	return rc;
}

static int send_fd(int s, int fd, char *name)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = name, .iov_len = strlen(name)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(s, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

int console_setup(struct job *j, const char *sock_path, char *err, size_t errlen)
{
	char name[128];
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), s = -1, rc = -1;

	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
	    ptsname_r(master, name, sizeof name) != 0 ||
	    (j->pty_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot create a pty: %s", strerror(errno));
		goto out;
	}
	if (j->spec.console_rows != 0 || j->spec.console_cols != 0) {
		struct winsize ws = {.ws_row = (unsigned short)j->spec.console_rows,
				     .ws_col = (unsigned short)j->spec.console_cols};
		ioctl(master, TIOCSWINSZ, &ws);
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect_path(s, sock_path) != 0 || send_fd(s, master, name) != 0) {
		snprintf(err, errlen, "--console-socket %.256s: %s", sock_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (s >= 0) {
		close(s);
	}
	if (master >= 0) {
		close(master);
	}
	return rc;
}
