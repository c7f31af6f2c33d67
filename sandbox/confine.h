/* confine.h - confinement of the VMM and the broker: capabilities, no_new_privs, namespaces,
 * Landlock, seccomp.  The syscall allowlists below are the single source of truth for the
 * filters that get installed, for `uhyve-sec --print-sandbox`, and for the tests.
 *
 * Order (acquire everything, then drop), VMM:
 *   1. everything opened: KVM, vCPU fds, guest RAM, kernel loaded, output, broker socket;
 *   2. sbx_vmm_early() on the main thread, before any other thread exists: new user (when
 *      not root), mount, IPC and network namespaces with an empty read-only root, all
 *      capabilities and the bounding set dropped, no_new_privs, a Landlock domain that
 *      handles every file-system right the kernel knows with no rule (no file system at all),
 *      network rights and scoping where the ABI has them;
 *   3. vCPU threads created (they inherit 2) and parked;
 *   4. sbx_vmm_seccomp(): the allowlist, SCMP_ACT_KILL_PROCESS, synchronised to all threads;
 *   5. the vCPUs are released into KVM_RUN.
 * Broker: after it opened its roots, scratch and audit log, sbx_broker() drops capabilities,
 * sets no_new_privs, enters new IPC and network namespaces, restricts itself with Landlock to
 * exactly the rights the policy grants on each root, then installs its allowlist. */
#ifndef UHS_CONFINE_H
#define UHS_CONFINE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct policy;

enum sbx_mode { SBX_STRICT, SBX_OFF };

#define SBX_LANDLOCK_MIN_ABI 1 /* documented minimum: Linux 5.13 */

/* What the VMM's filter pins arguments to. */
struct sbx_vmm {
	const int *vcpu_fds; /* ioctl only on these */
	int nvcpu;
	const unsigned long *ioctls; /* extra vCPU ioctl requests (the assist), may be NULL */
	int nioctls;
	int vm_fd; /* KVM_REGISTER_COALESCED_MMIO only, on it; -1: the VM fd is closed */
	int broker_sock; /* sendmsg/recvmsg/shutdown only here; -1: no broker */
	pid_t broker_pid; /* wait4 only for it; -1: none */
};

struct sbx_broker {
	const struct policy *pol;
	const int *dirfds; /* one per mount */
	int scratch_fd; /* or -1 */
	int scratch_parent_fd; /* O_PATH fd of the scratch directory's parent, or -1 */
	int sock;
};

/* Returns the Landlock ABI of the running kernel (0 if absent). */
int sbx_landlock_abi(void);

/* VMM steps 2 and 4.  Return 0, or -1 with a one-line reason in err (the run must stop). */
int sbx_vmm_early(char *err, size_t errlen) __attribute__((warn_unused_result));
int sbx_vmm_seccomp(const struct sbx_vmm *v, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Broker confinement, in the broker process.  Returns 0 or -1 with err. */
int sbx_broker(const struct sbx_broker *b, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Which namespaces sbx_vmm_early() entered ("user mount ipc net" or a reason). */
const char *sbx_vmm_namespaces(void);

/* `uhyve-sec --print-sandbox`: both allowlists with their justifications and argument
 * filters, the Landlock ABI and rules, namespaces and capabilities.  pol may be NULL. */
void sbx_print(FILE *f, const struct policy *pol);

/* The allowlists, for tests: name of entry i, or NULL past the end. */
const char *sbx_vmm_syscall(unsigned i);
const char *sbx_broker_syscall(unsigned i);

/* True in sanitizer builds: their runtimes need syscalls and /proc files no sandbox should
 * allow (LeakSanitizer reads /proc/PID/task and stops threads with ptrace), so the whole
 * confinement is compiled out there; release and test builds always have it. */
bool sbx_seccomp_compiled_out(void);

#endif
