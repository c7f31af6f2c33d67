/* SPDX-License-Identifier: MIT */
/* vmm_sandbox.h - the VMM's confinement (vmm/vmm_sandbox.c has the order and the table). */
#ifndef UHS_VMM_SANDBOX_H
#define UHS_VMM_SANDBOX_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* What the VMM's filter pins arguments to. */
struct vmm_confinement {
	const int *vcpu_fds; /* ioctl only on these */
	int nvcpu;
	const unsigned long *ioctls; /* extra vCPU ioctl requests (the assist), may be NULL */
	int nioctls;
	const unsigned long *dbg_ioctls; /* and the debugger's (vmm/gdb.h), may be NULL */
	int ndbg_ioctls;
	int vm_fd; /* KVM_REGISTER_COALESCED_MMIO only, on it; -1: the VM fd is closed */
	int broker_sock; /* sendmsg/recvmsg/shutdown only here; -1: no broker */
	pid_t broker_pid; /* wait4 only for it; -1: none */
	/* --net (a NIC): the I/O thread's poll, the interrupt route on the VM fd, and with
	 * --stats pread64 on KVM's statistics fds.  Nothing of this without a NIC. */
	bool net;
	int net_vm_fd; /* KVM_SET_GSI_ROUTING only, on it */
	const int *stats_fds;
	int nstats;
	pid_t assist_pid; /* wait4 and kill(SIGKILL) only for it (the instruction assist); <= 0:
			   * none */
};

/* Steps 2 and 4 of the order.  Return 0, or -1 with a one-line reason in err (the run must
 * stop). */
int vmm_confine_early(char *err, size_t errlen) __attribute__((warn_unused_result));
int vmm_confine_seccomp(const struct vmm_confinement *v, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Which namespaces vmm_confine_early() entered ("user mount ipc, ..." or a reason). */
const char *vmm_namespaces(void);

/* --print-sandbox: the VMM's part; and what a NIC adds (--print-sandbox --net ...). */
void vmm_print_sandbox(FILE *f);
void vmm_print_sandbox_net(FILE *f);

/* The allowlist, for tests: name of entry i, or NULL past the end; and what --net adds. */
const char *vmm_syscall(unsigned i);
const char *vmm_net_syscall(unsigned i);

#endif
