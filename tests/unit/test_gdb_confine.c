/* SPDX-License-Identifier: MIT */
/* test_gdb_confine.c - what a debugger adds to the VMM's seccomp filter (issue 15,
 * docs/threat-model.md 3.12): with gdb_vcpu_ioctls() the vCPU fds accept KVM_SET_GUEST_DEBUG,
 * KVM_SET_REGS, KVM_GET_XSAVE and KVM_SET_XSAVE, on the vCPU fds only; without a debugger
 * they die by SIGSYS; with one, KVM_SET_SREGS and every socket call still do.  Each case runs
 * in a fresh child that installs the real filter (vmm/vmm_sandbox.c). */
#include <fcntl.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "gdb.h"
#include "sbx.h"
#include "vmm_sandbox.h"

enum { ALLOW, KILL };

struct call {
	const char *name;
	unsigned long req; /* a vCPU ioctl request; 0: the socket calls below */
	bool other_fd; /* the request on fd 0 instead of the vCPU fd */
	int nr; /* a system call without arguments that matter */
};

static void run_call(int vcpu, const struct call *c)
{
	if (c->req != 0) {
		syscall(SYS_ioctl, c->other_fd ? 0 : vcpu, c->req, 0);
	} else if (c->nr == SYS_socket) {
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	} else {
		syscall(c->nr, vcpu, NULL, NULL, 0); /* accept4/bind/listen/connect on the "vCPU" */
	}
}

/* Runs the call in a child under the VMM filter, with or without the debugger's ioctls. */
static int outcome(bool dbg, const struct call *c)
{
	int vcpu = open("/dev/null", O_RDONLY | O_CLOEXEC), st;
	pid_t pid;

	assert_true(vcpu >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vmm_confinement v = {.vcpu_fds = &vcpu,
					    .nvcpu = 1,
					    .broker_sock = -1,
					    .broker_pid = -1,
					    .vm_fd = -1};
		char err[256];
		if (dbg) {
			v.dbg_ioctls = gdb_vcpu_ioctls(&v.ndbg_ioctls);
		}
		if (vmm_confine_seccomp(&v, err, sizeof err) != 0) {
			_exit(2);
		}
		run_call(vcpu, c);
		_exit(0);
	}
	close(vcpu);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
		return KILL;
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	return ALLOW;
}

static void expect(bool dbg, const struct call *c, int want)
{
	print_message("# %s debugger, %s%s: expect %s\n", dbg ? "with" : "without", c->name,
		      c->other_fd ? " on another fd" : "", want == KILL ? "SIGSYS" : "survival");
	assert_int_equal(outcome(dbg, c), want);
}

static const struct call set_debug = {"KVM_SET_GUEST_DEBUG", KVM_SET_GUEST_DEBUG, false, 0};
static const struct call set_debug_other = {"KVM_SET_GUEST_DEBUG", KVM_SET_GUEST_DEBUG, true, 0};
static const struct call set_regs = {"KVM_SET_REGS", KVM_SET_REGS, false, 0};
static const struct call get_xsave = {"KVM_GET_XSAVE", KVM_GET_XSAVE, false, 0};
static const struct call set_xsave = {"KVM_SET_XSAVE", KVM_SET_XSAVE, false, 0};
static const struct call set_sregs = {"KVM_SET_SREGS", KVM_SET_SREGS, false, 0};
static const struct call sock = {"socket", 0, false, SYS_socket};
static const struct call acc = {"accept4", 0, false, SYS_accept4};
static const struct call conn = {"connect", 0, false, SYS_connect};

static bool no_sandbox(void)
{
	if (sbx_seccomp_compiled_out()) {
		print_message("# sanitizer build: no sandbox to test\n");
		return true;
	}
	return false;
}

static void with_debugger(void **state)
{
	(void)state;
	if (no_sandbox()) {
		return;
	}
	expect(true, &set_debug, ALLOW);
	expect(true, &set_regs, ALLOW);
	expect(true, &get_xsave, ALLOW);
	expect(true, &set_xsave, ALLOW);
	expect(true, &set_debug_other, KILL);
	expect(true, &set_sregs, KILL);
	expect(true, &sock, KILL);
	expect(true, &acc, KILL);
	expect(true, &conn, KILL);
}

static void without_debugger(void **state)
{
	(void)state;
	if (no_sandbox()) {
		return;
	}
	expect(false, &set_debug, KILL);
	expect(false, &set_regs, KILL);
	expect(false, &set_xsave, KILL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(with_debugger),
	    cmocka_unit_test(without_debugger),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
