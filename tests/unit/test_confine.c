/* SPDX-License-Identifier: MIT */
/* test_confine.c - the installed seccomp filters behave as the allowlists say: each allowed
 * call (with allowed arguments) survives, each forbidden one kills the process by SIGSYS.
 * Every case runs in a fresh child that installs the real filter (vmm/vmm_sandbox.c,
 * broker/broker_sandbox.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker_sandbox.h"
#include "policy.h"
#include "sbx.h"
#include "vmm_sandbox.h"

enum { ALLOW, KILL };

struct ctx {
	pid_t pid, tid; /* taken before the filter: getpid/gettid are not on the list */
	int vcpu; /* stands in for a vCPU fd */
	int sock[2]; /* the broker socket */
};

typedef long (*call_fn)(const struct ctx *c);

static long c_kvm_run(const struct ctx *c)
{
	return syscall(SYS_ioctl, c->vcpu, KVM_RUN, 0);
}
static long c_kvm_other(const struct ctx *c)
{
	return syscall(SYS_ioctl, c->vcpu, KVM_GET_FPU, 0);
}
static long c_kvm_run_other_fd(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_ioctl, 0, KVM_RUN, 0);
}
static long c_read(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_read, -1, NULL, 0);
}
static long c_write(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_write, -1, NULL, 0);
}
static long c_poll(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_poll, NULL, 0, 0);
}
static long c_fstat(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_fstat, -1, NULL);
}
static long c_close(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_close, -1);
}
static long sendmsg_x(int fd)
{
	char x = 'x';
	struct iovec iov = {&x, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	return syscall(SYS_sendmsg, fd, &m, MSG_DONTWAIT);
}
static long c_send_broker(const struct ctx *c)
{
	return sendmsg_x(c->sock[0]);
}
static long c_send_other(const struct ctx *c)
{
	return sendmsg_x(c->sock[1]);
}
static long c_shutdown(const struct ctx *c)
{
	return shutdown(c->sock[0], SHUT_RD);
}
static long c_tgkill_usr2(const struct ctx *c)
{
	return syscall(SYS_tgkill, c->pid, c->tid, SIGUSR2);
}
static long c_tgkill_kill(const struct ctx *c)
{
	return syscall(SYS_tgkill, c->pid, c->tid, SIGKILL);
}
static long c_madv_dontneed(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_madvise, NULL, 0, MADV_DONTNEED);
}
static long c_madv_other(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_madvise, NULL, 0, MADV_WILLNEED);
}
static long c_openat(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY);
}
static long c_open(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_open, "/", O_RDONLY);
}
static long c_openat2(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0);
}
static long c_newfstatat(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_newfstatat, AT_FDCWD, "/", NULL, 0);
}
static long c_newfstatat_fd(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_newfstatat, -1, "", NULL, AT_EMPTY_PATH);
}
static long c_execve(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_execve, "/bin/true", NULL, NULL);
}
static long c_socket(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}
static long c_ptrace(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_ptrace, 0, 0, 0, 0);
}
static long c_mmap_rw(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
}
static long c_mmap_x(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
}
static long c_mprotect(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_mprotect, NULL, 0, PROT_READ);
}
static long c_unlinkat(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_unlinkat, -1, "x", 0);
}
static long c_clone(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_clone, 0, NULL, NULL, NULL, 0);
}
static long c_kill(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_kill, 1, 0);
}
static long c_get_seals(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_fcntl, -1, F_GET_SEALS);
}
static long c_fcntl_setfl(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_fcntl, -1, F_SETFL, 0);
}
static long c_getdents(const struct ctx *c)
{
	char buf[64];

	(void)c;
	return syscall(SYS_getdents64, -1, buf, sizeof buf);
}
static long c_memfd_sealable(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_memfd_create, "x", MFD_CLOEXEC | MFD_ALLOW_SEALING);
}
static long c_memfd_plain(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_memfd_create, "x", MFD_CLOEXEC);
}
static long c_wait_other(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_wait4, 1, NULL, WNOHANG, NULL);
}
/* The instruction assist (ASSIST_PID below): SIGKILL and wait4 for it, nothing else. */
#define ASSIST_PID (1 << 21)
static long c_kill_assist(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_kill, ASSIST_PID, SIGKILL);
}
static long c_kill_assist_term(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_kill, ASSIST_PID, SIGTERM);
}
static long c_wait_assist(const struct ctx *c)
{
	(void)c;
	return syscall(SYS_wait4, ASSIST_PID, NULL, WNOHANG, NULL);
}

/* A VMM with a NIC (--net): its VM fd and statistics fd are the "vCPU" fd of the ctx here. */
static long c_gsi_routing(const struct ctx *c)
{
	return syscall(SYS_ioctl, c->vcpu, KVM_SET_GSI_ROUTING, 0);
}
static long c_gsi_routing_other_fd(const struct ctx *c)
{
	return syscall(SYS_ioctl, c->sock[0], KVM_SET_GSI_ROUTING, 0);
}
static long c_irqfd(const struct ctx *c)
{
	return syscall(SYS_ioctl, c->vcpu, KVM_IRQFD, 0);
}
static long c_pread_stats(const struct ctx *c)
{
	char b[8];

	return syscall(SYS_pread64, c->vcpu, b, sizeof b, 0);
}
static long c_pread_other(const struct ctx *c)
{
	char b[8];

	return syscall(SYS_pread64, c->sock[0], b, sizeof b, 0);
}

static bool with_net; /* the VMM filter of a VM with a NIC */

/* Runs fn in a child after installing the VMM (broker = false) or broker filter. */
static int outcome(bool broker, call_fn fn)
{
	struct ctx c;
	pid_t pid;
	int st;

	c.vcpu = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c.sock), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		int rc;
		signal(SIGUSR2, SIG_IGN);
		c.pid = getpid();
		c.tid = gettid();
		if (broker) {
			static const struct policy pol = {.nmounts = 0};
			struct broker_confinement b = {.pol = &pol,
						       .dirfds = NULL,
						       .scratch_fd = -1,
						       .scratch_parent_fd = -1,
						       .sock = c.sock[0]};
			rc = broker_confine(&b, err, sizeof err);
		} else {
			struct vmm_confinement v = {.vcpu_fds = &c.vcpu,
						    .nvcpu = 1,
						    .broker_sock = c.sock[0],
						    .broker_pid = 1 << 22,
						    .net = with_net,
						    .net_vm_fd = c.vcpu,
						    .stats_fds = &c.vcpu,
						    .nstats = 1,
						    .assist_pid = ASSIST_PID};
			rc = vmm_confine_seccomp(&v, err, sizeof err);
		}
		if (rc != 0) {
			dprintf(2, "# filter not installed: %s\n", err);
			_exit(2);
		}
		fn(&c);
		_exit(0);
	}
	close(c.vcpu);
	close(c.sock[0]);
	close(c.sock[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
		return KILL;
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	return ALLOW;
}

#define EXPECT(broker, fn, want)                                                                   \
	do {                                                                                       \
		print_message("# %s %s: expect %s\n", broker ? "broker" : "VMM", #fn,              \
			      want == KILL ? "SIGSYS" : "survival");                               \
		assert_int_equal(outcome(broker, fn), want);                                       \
	} while (0)

static void vmm_filter(void **state)
{
	(void)state;
	if (sbx_seccomp_compiled_out()) {
		print_message("# sanitizer build: no sandbox to test\n");
		return;
	}
	EXPECT(false, c_kvm_run, ALLOW);
	EXPECT(false, c_kvm_other, KILL);
	EXPECT(false, c_kvm_run_other_fd, KILL);
	EXPECT(false, c_read, ALLOW);
	EXPECT(false, c_write, ALLOW);
	EXPECT(false, c_poll, ALLOW);
	EXPECT(false, c_fstat, ALLOW);
	EXPECT(false, c_close, ALLOW);
	EXPECT(false, c_send_broker, ALLOW);
	EXPECT(false, c_send_other, KILL);
	EXPECT(false, c_shutdown, ALLOW);
	EXPECT(false, c_tgkill_usr2, ALLOW);
	EXPECT(false, c_tgkill_kill, KILL);
	EXPECT(false, c_madv_dontneed, ALLOW);
	EXPECT(false, c_madv_other, KILL);
	EXPECT(false, c_wait_other, KILL);
	EXPECT(false, c_get_seals, ALLOW);
	EXPECT(false, c_fcntl_setfl, KILL);
	EXPECT(false, c_getdents, KILL); /* directory listings come as memfds (issue 16) */
	EXPECT(false, c_memfd_sealable, KILL);
	EXPECT(false, c_openat, KILL);
	EXPECT(false, c_open, KILL);
	EXPECT(false, c_openat2, KILL);
	EXPECT(false, c_newfstatat, KILL);
	EXPECT(false, c_newfstatat_fd, KILL);
	EXPECT(false, c_execve, KILL);
	EXPECT(false, c_socket, KILL);
	EXPECT(false, c_ptrace, KILL);
	EXPECT(false, c_mmap_rw, KILL);
	EXPECT(false, c_mprotect, KILL);
	EXPECT(false, c_unlinkat, KILL);
	EXPECT(false, c_clone, KILL);
	EXPECT(false, c_kill, KILL);
	EXPECT(false, c_kill_assist, ALLOW);
	EXPECT(false, c_kill_assist_term, KILL);
	EXPECT(false, c_wait_assist, ALLOW);
}

/* The additions of a NIC are there only with a NIC, and only on their fds. */
static void vmm_net_filter(void **state)
{
	(void)state;
	if (sbx_seccomp_compiled_out()) {
		print_message("# sanitizer build: no sandbox to test\n");
		return;
	}
	with_net = false;
	EXPECT(false, c_gsi_routing, KILL);
	EXPECT(false, c_pread_stats, KILL);
	with_net = true;
	EXPECT(false, c_gsi_routing, ALLOW);
	EXPECT(false, c_gsi_routing_other_fd, KILL);
	EXPECT(false, c_irqfd, KILL);
	EXPECT(false, c_pread_stats, ALLOW);
	EXPECT(false, c_pread_other, KILL);
	EXPECT(false, c_kvm_run, ALLOW);
	EXPECT(false, c_kvm_other, KILL);
	EXPECT(false, c_open, KILL);
	EXPECT(false, c_openat, KILL);
	EXPECT(false, c_socket, KILL);
	EXPECT(false, c_execve, KILL);
	EXPECT(false, c_clone, KILL);
	EXPECT(false, c_mmap_rw, KILL);
	with_net = false;
}

static void broker_filter(void **state)
{
	(void)state;
	if (sbx_seccomp_compiled_out() || sbx_landlock_abi() < SBX_LANDLOCK_MIN_ABI) {
		print_message("# sanitizer build or no Landlock: no broker sandbox to test\n");
		return;
	}
	EXPECT(true, c_openat2, ALLOW);
	EXPECT(true, c_unlinkat, ALLOW);
	EXPECT(true, c_newfstatat_fd, ALLOW);
	EXPECT(true, c_newfstatat, KILL);
	EXPECT(true, c_mmap_rw, ALLOW);
	EXPECT(true, c_memfd_sealable, ALLOW);
	EXPECT(true, c_memfd_plain, KILL);
	EXPECT(true, c_getdents, ALLOW);
	EXPECT(true, c_mmap_x, KILL);
	EXPECT(true, c_send_broker, ALLOW);
	EXPECT(true, c_send_other, KILL);
	EXPECT(true, c_openat, KILL);
	EXPECT(true, c_open, KILL);
	EXPECT(true, c_execve, KILL);
	EXPECT(true, c_socket, KILL);
	EXPECT(true, c_ptrace, KILL);
	EXPECT(true, c_kvm_run, KILL);
	EXPECT(true, c_clone, KILL);
}

static void tables(void **state)
{
	unsigned n = 0;

	(void)state;
	while (vmm_syscall(n) != NULL) {
		n++;
	}
	assert_true(n <= 22);
	n = 0;
	while (vmm_net_syscall(n) != NULL) {
		n++;
	}
	assert_int_equal(n, 2); /* ioctl (one more request), pread64 */
	n = 0;
	while (broker_syscall(n) != NULL) {
		n++;
	}
	assert_true(n <= 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vmm_filter),
	    cmocka_unit_test(vmm_net_filter),
	    cmocka_unit_test(broker_filter),
	    cmocka_unit_test(tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
