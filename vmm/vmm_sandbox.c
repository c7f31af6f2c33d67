/* SPDX-License-Identifier: MIT */
/* vmm_sandbox.c - the VMM's confinement: its syscall allowlist (the single source of its
 * filter, of --print-sandbox and of the tests) and the order it is applied in.
 *
 * Order (acquire everything, then drop; vm_setup.c):
 *   1. everything opened: KVM, vCPU fds, guest RAM, output, broker socket, the kernel file
 *      (mapped, not parsed); /dev/kvm and the RAM memfd closed again;
 *   2. vmm_confine_early() on the main thread, before any other thread exists: new user (when
 *      not root), mount and IPC namespaces with an empty read-only root, all capabilities and
 *      the bounding set dropped, no_new_privs, a Landlock domain that handles every
 *      file-system right the kernel knows with no rule (no file system at all), network rights
 *      and scoping where the ABI has them;
 *   3. the kernel image parsed and loaded (confined by 2, not yet by 5: the load needs mmap,
 *      getrandom and set-up ioctls), the image and (mostly) the VM fd closed;
 *   4. vCPU threads created (they inherit 2) and parked;
 *   5. vmm_confine_seccomp(): the allowlist, SCMP_ACT_KILL_PROCESS, synchronised to all threads;
 *   6. the vCPUs are released into KVM_RUN.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sbx.h"
#include "vmm_sandbox.h"

enum vmm_arg {
	A_KVM_IOCTL = 1, /* arg0 = a vCPU fd, arg1 = a listed request */
	A_BROKER_FD, /* arg0 = the broker socket */
	A_TGKILL_SELF, /* arg0 = own pid, arg2 = SIGUSR1 or SIGUSR2 */
	A_WAIT_CHILD, /* arg0 = the broker's or the assist's pid */
	A_KILL_ASSIST, /* arg0 = the assist's pid, arg1 = SIGKILL */
	A_DONTNEED, /* arg2 (advice) == MADV_DONTNEED */
	A_GET_SEALS, /* arg1 (cmd) == F_GET_SEALS */
	A_NET_ROUTE, /* ioctl: arg0 = the VM fd, arg1 = KVM_SET_GSI_ROUTING (NIC only) */
	A_NET_STATS, /* pread64: arg0 in KVM's statistics fds (NIC with --stats only) */
};

static const struct sbx_rule vmm_rules[] = {
    {SCMP_SYS(ioctl), "ioctl", A_KVM_IOCTL,
     "vCPU run loop: KVM_RUN and register reads, on the vCPU fds only; batching of the "
     "console port once a guest prints a lot (vmm/pio_ring.c)"},
    {SCMP_SYS(read), "read", SBX_ARG_ANY,
     "guest file reads and directory listings, on fds the broker handed over; the "
     "guest's stdin (fd 0)"},
    {SCMP_SYS(write), "write", SBX_ARG_ANY,
     "console output; guest file writes on fds the broker handed over"},
    {SCMP_SYS(poll), "poll", SBX_ARG_ANY,
     "console output waits for its reader, a stdin read for input, at most 50 ms at a "
     "time, so a stop always ends the run"},
    {SCMP_SYS(lseek), "lseek", SBX_ARG_ANY, "guest lseek on handed-over fds"},
    {SCMP_SYS(fstat), "fstat", SBX_ARG_ANY,
     "guest fstat on handed-over fds (fstat(2) only: no path stat)"},
    {SCMP_SYS(fcntl), "fcntl", A_GET_SEALS,
     "check that a directory listing from the broker is a sealed memfd"},
    {SCMP_SYS(close), "close", SBX_ARG_ANY, "guest close; teardown"},
    {SCMP_SYS(sendmsg), "sendmsg", A_BROKER_FD, "file requests to the broker"},
    {SCMP_SYS(recvmsg), "recvmsg", A_BROKER_FD, "broker replies, fds by SCM_RIGHTS"},
    {SCMP_SYS(shutdown), "shutdown", A_BROKER_FD,
     "wake a vCPU waiting on a hung broker when the VM stops"},
    {SCMP_SYS(futex), "futex", SBX_ARG_ANY, "mutexes, the start barrier, thread join"},
    {SCMP_SYS(tgkill), "tgkill", A_TGKILL_SELF,
     "kick vCPU threads out of KVM_RUN, wake the main thread"},
    {SCMP_SYS(rt_sigprocmask), "rt_sigprocmask", SBX_ARG_ANY,
     "glibc blocks signals while a vCPU thread exits"},
    {SCMP_SYS(rt_sigtimedwait), "rt_sigtimedwait", SBX_ARG_ANY,
     "the main thread waits for stop signals and SIGCHLD"},
    {SCMP_SYS(rt_sigreturn), "rt_sigreturn", SBX_ARG_ANY, "return from the (empty) kick handler"},
    {SCMP_SYS(wait4), "wait4", A_WAIT_CHILD,
     "reap the broker and the instruction assist, and only them"},
    {SCMP_SYS(kill), "kill", A_KILL_ASSIST,
     "end the instruction assist when the VM is done (then reap it: no zombie is left)"},
    {SCMP_SYS(munmap), "munmap", SBX_ARG_ANY, "teardown of guest RAM and vCPU run areas"},
    {SCMP_SYS(madvise), "madvise", A_DONTNEED, "glibc releases a finished vCPU thread's stack"},
    {SCMP_SYS(exit), "exit", SBX_ARG_ANY, "vCPU thread exit"},
    {SCMP_SYS(exit_group), "exit_group", SBX_ARG_ANY, "process exit"},
};

/* What a VM with a NIC (--net) needs on top: an I/O APIC write re-routes the NIC's interrupt,
 * and --stats reads KVM's exit counters.  The I/O thread's poll(2) for the TAP and its
 * eventfds and read/write on them are in the table above already. */
static const struct sbx_rule vmm_net_rules[] = {
    {SCMP_SYS(ioctl), "ioctl", A_NET_ROUTE,
     "the guest programs the I/O APIC entry of the NIC's line (--net only)"},
    {SCMP_SYS(pread64), "pread64", A_NET_STATS,
     "--stats with --net: KVM's exit counters, read once at the end"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NRULES	 (NELEM(vmm_rules) + NELEM(vmm_net_rules))

/* The vCPU ioctls the run loop needs (assist requests are added at run time). */
static const unsigned long vmm_ioctls[] = {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS};

static char vmm_ns[96] = "none";

const char *vmm_syscall(unsigned i)
{
	return i < NELEM(vmm_rules) ? vmm_rules[i].name : NULL;
}

const char *vmm_net_syscall(unsigned i)
{
	return i < NELEM(vmm_net_rules) ? vmm_net_rules[i].name : NULL;
}

const char *vmm_namespaces(void)
{
	return vmm_ns;
}

static int allow_fd_req(scmp_filter_ctx ctx, int nr, int fd, unsigned long req)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd),
				SCMP_A1(SCMP_CMP_EQ, req));
}

static int add_ioctls(scmp_filter_ctx ctx, int nr, const struct vmm_confinement *v)
{
	int rc = 0;

	for (int f = 0; f < v->nvcpu && rc == 0; f++) {
		for (size_t i = 0; i < NELEM(vmm_ioctls) && rc == 0; i++) {
			rc = allow_fd_req(ctx, nr, v->vcpu_fds[f], vmm_ioctls[i]);
		}
		for (int i = 0; i < v->nioctls && rc == 0; i++) {
			rc = allow_fd_req(ctx, nr, v->vcpu_fds[f], v->ioctls[i]);
		}
		for (int i = 0; i < v->ndbg_ioctls && rc == 0; i++) {
			rc = allow_fd_req(ctx, nr, v->vcpu_fds[f], v->dbg_ioctls[i]);
		}
	}
	if (rc == 0 && v->vm_fd >= 0) {
		rc = allow_fd_req(ctx, nr, v->vm_fd, KVM_REGISTER_COALESCED_MMIO);
	}
	return rc;
}

static int allow_a0(scmp_filter_ctx ctx, int nr, long v)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)v));
}

static int add_tgkill(scmp_filter_ctx ctx, int nr)
{
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
				  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
				  SCMP_A2(SCMP_CMP_EQ, SIGUSR1));

	return rc != 0 ? rc
		       : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
					  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
					  SCMP_A2(SCMP_CMP_EQ, SIGUSR2));
}

static int add_stats(scmp_filter_ctx ctx, int nr, const struct vmm_confinement *v)
{
	int rc = 0;

	for (int i = 0; v->net && i < v->nstats && rc == 0; i++) {
		rc = allow_a0(ctx, nr, v->stats_fds[i]);
	}
	return rc;
}

static int add_vmm_rule(scmp_filter_ctx ctx, const struct sbx_rule *r, const void *arg)
{
	const struct vmm_confinement *v = arg;
	int rc;

	switch ((enum vmm_arg)r->arg) {
	case A_KVM_IOCTL:
		return add_ioctls(ctx, r->nr, v);
	case A_BROKER_FD:
		return v->broker_sock < 0 ? 0 : allow_a0(ctx, r->nr, v->broker_sock);
	case A_TGKILL_SELF:
		return add_tgkill(ctx, r->nr);
	case A_WAIT_CHILD:
		rc = v->broker_pid <= 0 ? 0 : allow_a0(ctx, r->nr, v->broker_pid);
		return rc != 0 || v->assist_pid <= 0 ? rc : allow_a0(ctx, r->nr, v->assist_pid);
	case A_KILL_ASSIST:
		return v->assist_pid <= 0
			   ? 0
			   : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 2,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)v->assist_pid),
					      SCMP_A1(SCMP_CMP_EQ, SIGKILL));
	case A_DONTNEED:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A2(SCMP_CMP_EQ, MADV_DONTNEED));
	case A_GET_SEALS:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A1(SCMP_CMP_EQ, F_GET_SEALS));
	case A_NET_ROUTE:
		return v->net && v->net_vm_fd >= 0
			   ? allow_fd_req(ctx, r->nr, v->net_vm_fd, KVM_SET_GSI_ROUTING)
			   : 0;
	case A_NET_STATS:
		return add_stats(ctx, r->nr, v);
	default:
		return -EINVAL;
	}
}

int vmm_confine_early(char *err, size_t errlen)
{
	int abi, rs;

	if (sbx_seccomp_compiled_out()) {
		return 0;
	}
	if (sbx_landlock_check(&abi, err, errlen) != 0) {
		return -1;
	}
	sbx_enter_namespaces(vmm_ns, sizeof vmm_ns);
	if (sbx_drop_privs(err, errlen) != 0) {
		return -1;
	}
	rs = sbx_landlock_ruleset(abi);
	if (rs < 0) {
		snprintf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	return sbx_landlock_enforce(rs, err, errlen); /* no rule: no file system at all */
}

int vmm_confine_seccomp(const struct vmm_confinement *v, char *err, size_t errlen)
{
	struct sbx_rule all[NRULES];

	if (!v->net) {
		return sbx_load_filter(vmm_rules, NELEM(vmm_rules), add_vmm_rule, v, err, errlen);
	}
	memcpy(all, vmm_rules, sizeof vmm_rules);
	memcpy(all + NELEM(vmm_rules), vmm_net_rules, sizeof vmm_net_rules);
	return sbx_load_filter(all, NRULES, add_vmm_rule, v, err, errlen);
}

static const char *arg_text(int a)
{
	switch ((enum vmm_arg)a) {
	case A_KVM_IOCTL:
		return "fd in the vCPU fds, request in {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS}; "
		       "fd == the VM fd, request == KVM_REGISTER_COALESCED_MMIO";
	case A_BROKER_FD:
		return "fd == the broker socket";
	case A_TGKILL_SELF:
		return "tgid == own pid, sig in {SIGUSR1, SIGUSR2}";
	case A_WAIT_CHILD:
		return "pid == the broker's or the instruction assist's pid";
	case A_KILL_ASSIST:
		return "pid == the instruction assist's pid, sig == SIGKILL";
	case A_DONTNEED:
		return "advice == MADV_DONTNEED";
	case A_GET_SEALS:
		return "cmd == F_GET_SEALS";
	case A_NET_ROUTE:
		return "fd == the VM fd, request == KVM_SET_GSI_ROUTING";
	case A_NET_STATS:
		return "fd in the vCPUs' KVM statistics fds";
	default:
		return "?";
	}
}

void vmm_print_sandbox(FILE *f)
{
	int abi = sbx_landlock_abi();

	fprintf(f, "VMM (the process you start; confined before the first KVM_RUN):\n");
	fprintf(f, "  capabilities: none (effective, permitted, inheritable; bounding set too "
		   "when CAP_SETPCAP was held); no_new_privs\n");
	fprintf(f, "  namespaces: new user (when permitted), mount and IPC, with an empty "
		   "read-only tmpfs root; no PID namespace (the VMM forks nothing after setup)\n");
	fprintf(f, "  Landlock: handles ");
	sbx_print_rights(f, sbx_landlock_fs_all(abi));
	sbx_print_landlock_extra(f, abi);
	fprintf(f, "; no rule: no file system access at all\n");
	sbx_print_rules(f, "  VMM", vmm_rules, NELEM(vmm_rules), arg_text);
}

void vmm_print_sandbox_net(FILE *f)
{
	fprintf(f, "VMM with --net (a NIC): the TAP and eventfds are opened by the launcher and\n"
		   "registered with KVM before confinement; poll, read and write on them use the\n"
		   "rules above; the VMM never opens /dev/net/tun and gets no socket.  Added:\n");
	sbx_print_rules(f, "  VMM --net", vmm_net_rules, NELEM(vmm_net_rules), arg_text);
}
