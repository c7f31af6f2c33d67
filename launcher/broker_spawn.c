/* SPDX-License-Identifier: MIT */
/* broker_spawn.c - starting the file broker program (uhyve-sec-broker) and waiting for it.
 *
 * The broker is forked and exec'd (OpenBSD privsep style) before the VMM touches anything
 * guest-controlled: it is a fresh program image with its own address-space layout and stack
 * canary, holding none of the launcher's memory.  It gets exactly its socket, the audit log
 * and the packed policy (common/include/broker_proto.h), an empty environment (test builds
 * pass UHS_TEST_* on), its own process group (the terminal's ^C goes to the VMM, which ends
 * the run; the broker then sees EOF, cleans up and exits) and SIGTERM when the VMM dies. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker_proto.h"
#include "broker_sandbox.h"
#include "helper_path.h"
#include "launcher.h"
#include "uhs_msg.h"
#include "uhs_status.h"

#define FD_FLOOR 16 /* sources are moved above the target numbers 3-6 first */

static int open_audit(const struct broker_launch *o)
{
	int fd;

	if (o->audit_log == NULL) {
		return STDERR_FILENO;
	}
	fd = open(o->audit_log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		uhs_msg("cannot open audit log %s: %s", o->audit_log, strerror(errno));
	}
	return fd;
}

/* The validated policy in a sealed memfd: the broker reads exactly what was checked. */
static int policy_memfd(const struct policy *pol)
{
	void *buf;
	size_t len;
	int fd;

	if (policy_pack(pol, &buf, &len) != 0) {
		return -1;
	}
	fd = memfd_create("uhyve-sec-policy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && (write(fd, buf, len) != (ssize_t)len ||
			fcntl(fd, F_ADD_SEALS,
			      F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)) {
		close(fd);
		fd = -1;
	}
	free(buf);
	return fd;
}

/* UHS_TEST_* variables reach the broker in test builds only (fail-closed tests). */
static void test_env(char **envp, size_t cap)
{
	size_t n = 0;
#ifdef UHS_TEST_HOOKS
	extern char **environ;
	for (char **e = environ; *e != NULL && n + 1 < cap; e++) {
		if (strncmp(*e, "UHS_TEST_", 9) == 0) {
			envp[n++] = *e;
		}
	}
#else
	(void)cap;
#endif
	envp[n] = NULL;
}

/* In the child: fds 3-6, stdio, CPU, then exec.  Never returns. */
static void exec_broker(const char *path, const struct broker_launch *o, const int src[4],
			pid_t parent)
{
	char tmpdir[PATH_MAX + 16], name[] = BROKER_HELPER_NAME, all[] = "--audit-all",
				    afd[] = "--audit-fd", off[] = "--no-confine",
				    direct[] = "--io-direct", sync[] = "--io-sync",
				    image[] = "--image";
	char *argv[12], *envp[16];
	int a = 0, null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent || null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(null, STDOUT_FILENO) < 0 || dup2(src[0], BRK_FD_SOCK) < 0 ||
	    (src[1] != STDERR_FILENO && dup2(src[1], BRK_FD_AUDIT) < 0) ||
	    dup2(src[2], BRK_FD_POLICY) < 0 || (src[3] >= 0 && dup2(src[3], BRK_FD_IMAGE) < 0)) {
		_exit(ST_BROKER);
	}
	if (o->cpu >= 0) {
		/* Synchronous requests are fastest when the broker shares the vCPU's CPU: a
		 * cross-CPU wake-up costs 50-100 us on a nested host, same-CPU 12 us. */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(o->cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0) {
			uhs_msg("broker: cannot run on host CPU %d: %s", o->cpu, strerror(errno));
			_exit(ST_USAGE);
		}
	}
	close_range(src[3] >= 0 ? BRK_FD_IMAGE + 1 : BRK_FD_POLICY + 1, ~0u, 0);
	snprintf(tmpdir, sizeof tmpdir, "--tmpdir=%s", o->tmpdir);
	argv[a++] = name;
	if (o->audit_all) {
		argv[a++] = all;
	}
	if (src[1] != STDERR_FILENO) {
		argv[a++] = afd;
	}
	if (!o->confine) {
		argv[a++] = off;
	}
	if (o->io_direct) {
		argv[a++] = direct;
	}
	if (o->io_sync) {
		argv[a++] = sync;
	}
	if (src[3] >= 0) {
		argv[a++] = image;
	}
	argv[a++] = tmpdir;
	argv[a] = NULL;
	test_env(envp, sizeof envp / sizeof envp[0]);
	execve(path, argv, envp);
	uhs_msg("cannot start the file broker %s: %s", path, strerror(errno));
	_exit(ST_BROKER);
}

static void close_all(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] > STDERR_FILENO) {
			close(fds[i]);
		}
	}
}

int broker_start(const struct policy *pol, const struct broker_launch *o, int *sock, pid_t *pid)
{
	char path[PATH_MAX];
	int sv[2] = {-1, -1}, src[4] = {-1, -1, -1, -1}, audit, mem;
	pid_t parent = getpid();

	if (helper_path(BROKER_HELPER_NAME, "broker", path, sizeof path) != 0) {
		uhs_msg("the file broker (%s) is not installed next to uhyve-sec",
			BROKER_HELPER_NAME);
		return ST_BROKER;
	}
	if ((audit = open_audit(o)) < 0) {
		return ST_CANTCREAT;
	}
	mem = policy_memfd(pol);
	if (mem < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		uhs_msg("cannot set up the file broker: %s", strerror(errno));
		close_all((int[]){audit, mem}, 2);
		return ST_BROKER;
	}
	src[0] = fcntl(sv[1], F_DUPFD_CLOEXEC, FD_FLOOR);
	src[1] = audit == STDERR_FILENO ? audit : fcntl(audit, F_DUPFD_CLOEXEC, FD_FLOOR);
	src[2] = fcntl(mem, F_DUPFD_CLOEXEC, FD_FLOOR);
	src[3] = o->image_fd >= 0 ? fcntl(o->image_fd, F_DUPFD_CLOEXEC, FD_FLOOR) : -1;
	close_all((int[]){sv[1], audit, mem}, 3);
	*pid = src[0] < 0 || src[1] < 0 || src[2] < 0 || (o->image_fd >= 0 && src[3] < 0) ? -1
											  : fork();
	if (*pid == 0) {
		exec_broker(path, o, src, parent);
	}
	close_all(src, 4);
	if (*pid < 0) {
		uhs_msg("cannot start the file broker: %s", strerror(errno));
		close(sv[0]);
		return ST_BROKER;
	}
	*sock = sv[0];
	return 0;
}

int broker_wait_ready(int sock, pid_t pid)
{
	struct brk_req ready = {.h = {.version = BRK_VERSION, .op = BRK_OP_READY, .seq = 0}};
	struct brk_reply rep;
	const char *why = "the broker stopped before it was ready";
	int fd = -1, nfds = 0, st;
	ssize_t n = brk_recv(sock, &rep, sizeof rep, &fd, &nfds);

	if (fd >= 0) {
		close(fd);
	}
	if (n > 0 && brk_reply_check(&rep, (size_t)n, &ready, nfds, &why) == 0) {
		return 0;
	}
	if (n > 0) {
		uhs_msg("broker: bad ready message: %s", why);
	}
	kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) != 0) {
		return WEXITSTATUS(st); /* it said why */
	}
	uhs_msg("%s", why);
	return ST_BROKER;
}

int broker_reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid) {
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
