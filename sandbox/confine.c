/* confine.c - seccomp, Landlock, capabilities and namespaces for the VMM and the broker (see
 * confine.h for the order).  The two tables below are the only place a syscall is allowed;
 * the filters, `--print-sandbox` and the tests all read them. */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine.h"
#include "policy.h"

/* ---- the allowlists ---- */

enum sbx_arg {
	A_NONE,
	A_KVM_IOCTL, /* arg0 = a vCPU fd, arg1 = a listed request */
	A_BROKER_FD, /* arg0 = the broker socket */
	A_TGKILL_SELF, /* arg0 = own pid, arg2 = SIGUSR1 or SIGUSR2 */
	A_WAIT_BROKER, /* arg0 = the broker's pid */
	A_NO_EXEC, /* arg2 (prot) without PROT_EXEC */
	A_EMPTY_PATH, /* arg3 (flags) includes AT_EMPTY_PATH: stat of an fd, not of a path */
	A_DONTNEED, /* arg2 (advice) == MADV_DONTNEED */
};

struct sbx_rule {
	int nr; /* resolved at compile time: no name lookup on the boot path */
	const char *name;
	enum sbx_arg arg;
	const char *why;
};

static const struct sbx_rule vmm_rules[] = {
    {SCMP_SYS(ioctl), "ioctl", A_KVM_IOCTL,
     "vCPU run loop: KVM_RUN and register reads, on the vCPU fds only; batching of the "
     "console port once a guest prints a lot (vmm/pio_ring.c)"},
    {SCMP_SYS(read), "read", A_NONE, "guest file reads, on fds the broker handed over"},
    {SCMP_SYS(write), "write", A_NONE,
     "console output; guest file writes on fds the broker handed over"},
    {SCMP_SYS(lseek), "lseek", A_NONE, "guest lseek on handed-over fds"},
    {SCMP_SYS(fstat), "fstat", A_NONE,
     "guest fstat on handed-over fds (fstat(2) only: no path stat)"},
    {SCMP_SYS(getdents64), "getdents64", A_NONE, "guest getdents on handed-over directory fds"},
    {SCMP_SYS(close), "close", A_NONE, "guest close; teardown"},
    {SCMP_SYS(sendmsg), "sendmsg", A_BROKER_FD, "file requests to the broker"},
    {SCMP_SYS(recvmsg), "recvmsg", A_BROKER_FD, "broker replies, fds by SCM_RIGHTS"},
    {SCMP_SYS(shutdown), "shutdown", A_BROKER_FD,
     "wake a vCPU waiting on a hung broker when the VM stops"},
    {SCMP_SYS(futex), "futex", A_NONE, "mutexes, the start barrier, thread join"},
    {SCMP_SYS(tgkill), "tgkill", A_TGKILL_SELF,
     "kick vCPU threads out of KVM_RUN, wake the main thread"},
    {SCMP_SYS(rt_sigprocmask), "rt_sigprocmask", A_NONE,
     "glibc blocks signals while a vCPU thread exits"},
    {SCMP_SYS(rt_sigtimedwait), "rt_sigtimedwait", A_NONE,
     "the main thread waits for stop signals and SIGCHLD"},
    {SCMP_SYS(rt_sigreturn), "rt_sigreturn", A_NONE, "return from the (empty) kick handler"},
    {SCMP_SYS(wait4), "wait4", A_WAIT_BROKER, "reap the broker, and only the broker"},
    {SCMP_SYS(munmap), "munmap", A_NONE, "teardown of guest RAM and vCPU run areas"},
    {SCMP_SYS(madvise), "madvise", A_DONTNEED, "glibc releases a finished vCPU thread's stack"},
    {SCMP_SYS(exit), "exit", A_NONE, "vCPU thread exit"},
    {SCMP_SYS(exit_group), "exit_group", A_NONE, "process exit"},
};

static const struct sbx_rule broker_rules[] = {
    {SCMP_SYS(openat2), "openat2", A_NONE,
     "every lookup: RESOLVE_BENEATH|NO_MAGICLINKS|NO_XDEV under a root fd"},
    {SCMP_SYS(unlinkat), "unlinkat", A_NONE, "guest unlink; scratch cleanup (relative to a dirfd)"},
    {SCMP_SYS(mkdirat), "mkdirat", A_NONE, "guest mkdir (relative to a dirfd)"},
    {SCMP_SYS(fstat), "fstat", A_NONE, "type and link checks on what was opened"},
    {SCMP_SYS(newfstatat), "newfstatat", A_EMPTY_PATH,
     "glibc fstat/fdopendir: AT_EMPTY_PATH on an fd only"},
    {SCMP_SYS(fchmod), "fchmod", A_NONE, "clear set-id bits of created files and directories"},
    {SCMP_SYS(ftruncate), "ftruncate", A_NONE, "O_TRUNC, applied to the checked fd"},
    {SCMP_SYS(fcntl), "fcntl", A_NONE, "clear O_NONBLOCK after the type check"},
    {SCMP_SYS(close), "close", A_NONE, "close fds after passing them"},
    {SCMP_SYS(getdents64), "getdents64", A_NONE, "scratch cleanup"},
    {SCMP_SYS(sendmsg), "sendmsg", A_BROKER_FD, "replies to the VMM, fds by SCM_RIGHTS"},
    {SCMP_SYS(recvmsg), "recvmsg", A_BROKER_FD, "requests from the VMM"},
    {SCMP_SYS(poll), "poll", A_NONE, "wait for a request, interruptible by SIGTERM"},
    {SCMP_SYS(write), "write", A_NONE, "diagnostics on stderr"},
    {SCMP_SYS(writev), "writev", A_NONE, "audit log lines"},
    {SCMP_SYS(mmap), "mmap", A_NO_EXEC,
     "allocations (audit JSON, directory streams); never executable"},
    {SCMP_SYS(munmap), "munmap", A_NONE, "allocations"},
    {SCMP_SYS(brk), "brk", A_NONE, "allocations"},
    {SCMP_SYS(rt_sigreturn), "rt_sigreturn", A_NONE, "return from the SIGTERM handler"},
    {SCMP_SYS(restart_syscall), "restart_syscall", A_NONE,
     "restart of a wait interrupted by a signal"},
    {SCMP_SYS(exit_group), "exit_group", A_NONE, "process exit"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The vCPU ioctls the run loop needs (assist requests are added at run time). */
static const unsigned long vmm_ioctls[] = {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS};

const char *sbx_vmm_syscall(unsigned i)
{
	return i < NELEM(vmm_rules) ? vmm_rules[i].name : NULL;
}

const char *sbx_broker_syscall(unsigned i)
{
	return i < NELEM(broker_rules) ? broker_rules[i].name : NULL;
}

bool sbx_seccomp_compiled_out(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return true;
#else
	return false;
#endif
}

/* ---- seccomp ---- */

struct sbx_args {
	const struct sbx_vmm *vmm;
	int sock;
	pid_t broker_pid;
};

static int add_ioctls(scmp_filter_ctx ctx, int nr, const struct sbx_vmm *v)
{
	int rc = 0;

	for (int f = 0; f < v->nvcpu && rc == 0; f++) {
		for (size_t i = 0; i < NELEM(vmm_ioctls) && rc == 0; i++) {
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)v->vcpu_fds[f]),
					      SCMP_A1(SCMP_CMP_EQ, vmm_ioctls[i]));
		}
		for (int i = 0; i < v->nioctls && rc == 0; i++) {
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)v->vcpu_fds[f]),
					      SCMP_A1(SCMP_CMP_EQ, v->ioctls[i]));
		}
	}
	if (rc == 0 && v->vm_fd >= 0) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)v->vm_fd),
				      SCMP_A1(SCMP_CMP_EQ, KVM_REGISTER_COALESCED_MMIO));
	}
	return rc;
}

static int add_rule(scmp_filter_ctx ctx, const struct sbx_rule *r, const struct sbx_args *a)
{
	int nr = r->nr;

	if (nr < 0) {
		return -ENOSYS;
	}
	switch (r->arg) {
	case A_NONE:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	case A_KVM_IOCTL:
		return add_ioctls(ctx, nr, a->vmm);
	case A_BROKER_FD:
		return a->sock < 0 ? 0
				   : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
						      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)a->sock));
	case A_TGKILL_SELF: {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
					  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
					  SCMP_A2(SCMP_CMP_EQ, SIGUSR1));
		return rc != 0 ? rc
			       : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 2,
						  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
						  SCMP_A2(SCMP_CMP_EQ, SIGUSR2));
	}
	case A_WAIT_BROKER:
		return a->broker_pid <= 0
			   ? 0
			   : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)a->broker_pid));
	case A_NO_EXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case A_EMPTY_PATH:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	case A_DONTNEED:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A2(SCMP_CMP_EQ, MADV_DONTNEED));
	default:
		return -EINVAL;
	}
}

static int load_filter(const struct sbx_rule *rules, size_t n, const struct sbx_args *a, char *err,
		       size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc = 0;

	if (sbx_seccomp_compiled_out()) {
		return 0; /* sanitizer build: see confine.h */
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0) {
		snprintf(err, errlen, "seccomp is not available");
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int r = add_rule(ctx, &rules[i], a);
		if (r != 0) {
			snprintf(err, errlen, "seccomp rule for %s: %s", rules[i].name,
				 strerror(-r));
			rc = -1;
			goto out;
		}
	}
	if ((rc = seccomp_load(ctx)) != 0) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(-rc));
		rc = -1;
	}
out:
	seccomp_release(ctx);
	return rc;
}

/* ---- Landlock ---- */

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ull << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ull << 15)
#endif
#define LL_NET_BIND_TCP	       (1ull << 0)
#define LL_NET_CONNECT_TCP     (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0)
#define LL_SCOPE_SIGNAL	       (1ull << 1)

/* The ruleset attribute grew with the ABI: handled_access_fs (1), _net (4), scoped (6). */
struct ll_attr {
	uint64_t fs, net, scoped;
};

int sbx_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
#ifdef UHS_TEST_HOOKS
	const char *fake = getenv("UHS_TEST_LANDLOCK_ABI"); /* test builds only: fail-closed test */

	if (fake != NULL) {
		abi = atol(fake);
	}
#endif
	return abi < 0 ? 0 : (int)abi;
}

static uint64_t ll_fs_all(int abi)
{
	uint64_t fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* the 13 rights of ABI 1 */

	fs |= abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0;
	fs |= abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0;
	fs |= abi >= 5 ? LANDLOCK_ACCESS_FS_IOCTL_DEV : 0;
	return fs;
}

static int ll_ruleset(int abi)
{
	struct ll_attr a = {.fs = ll_fs_all(abi),
			    .net = abi >= 4 ? LL_NET_BIND_TCP | LL_NET_CONNECT_TCP : 0,
			    .scoped = abi >= 6 ? LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL : 0};
	size_t size = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;

	return (int)syscall(SYS_landlock_create_ruleset, &a, size, 0);
}

static int ll_allow(int ruleset, int dirfd, uint64_t rights)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = rights, .parent_fd = dirfd};

	return (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
}

static int ll_enforce(int ruleset, char *err, size_t errlen)
{
	int rc = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);

	if (rc != 0) {
		snprintf(err, errlen, "landlock_restrict_self: %s", strerror(errno));
	}
	close(ruleset);
	return rc == 0 ? 0 : -1;
}

static int ll_check(int *abi, char *err, size_t errlen)
{
	*abi = sbx_landlock_abi();
	if (*abi < SBX_LANDLOCK_MIN_ABI) {
		snprintf(err, errlen,
			 "Landlock is not available (Linux 5.13 or newer with Landlock enabled in "
			 "the LSM list is required; --sandbox=off runs unconfined)");
		return -1;
	}
	return 0;
}

/* ---- capabilities, no_new_privs ---- */

static int drop_privs(char *err, size_t errlen)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
		snprintf(err, errlen, "cannot drop capabilities");
		return -1;
	}
	/* The bounding set can only be emptied with CAP_SETPCAP, which an unprivileged
	 * process does not have; no_new_privs keeps it from ever mattering. */
	if (prctl(PR_CAPBSET_READ, CAP_SETPCAP) == 1) {
		capng_clear(CAPNG_SELECT_BOUNDS);
		capng_apply(CAPNG_SELECT_BOUNDS);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- namespaces ---- */

static char vmm_ns[80] = "none";

const char *sbx_vmm_namespaces(void)
{
	return vmm_ns;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		return -1;
	}
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int map_ids(uid_t uid, gid_t gid)
{
	char m[64];

	snprintf(m, sizeof m, "%u %u 1\n", uid, uid);
	if (write_file("/proc/self/setgroups", "deny") != 0 ||
	    write_file("/proc/self/uid_map", m) != 0) {
		return -1;
	}
	snprintf(m, sizeof m, "%u %u 1\n", gid, gid);
	return write_file("/proc/self/gid_map", m);
}

/* An empty, read-only tmpfs as the root of a private mount namespace. */
/* An empty, read-only tmpfs as the root.  chroot rather than pivot_root + detaching the
 * old tree: 25 us instead of 115 us here, and equally final for a process that has no
 * capabilities and whose seccomp filter allows neither chroot, fchdir nor any path call.
 * In a new user namespace the new mount namespace's mounts are slaves already; without
 * one (root, user namespaces refused) they are made private first, so the tmpfs never
 * propagates back to the host. */
static int empty_root(bool in_userns)
{
	static const char *const dirs[] = {"/tmp", "/proc", "/dev"};

	if (!in_userns && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		return -1;
	}
	for (size_t i = 0; i < NELEM(dirs); i++) {
		if (mount("uhyve-sec-empty", dirs[i], "tmpfs",
			  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=4k,nr_inodes=2,mode=0555") != 0 ||
		    chdir(dirs[i]) != 0) {
			continue;
		}
		return chroot(".") != 0 || chdir("/") != 0 ? -1 : 0;
	}
	return -1;
}

/* Best effort, as the host allows: user (when it works), mount and IPC. */
static void enter_namespaces(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	int base = CLONE_NEWNS | CLONE_NEWIPC;

	bool userns = false;

	if (unshare(CLONE_NEWUSER | base) == 0 && map_ids(uid, gid) == 0) {
		snprintf(vmm_ns, sizeof vmm_ns, "user mount ipc");
		userns = true;
	} else if (unshare(base) == 0) {
		snprintf(vmm_ns, sizeof vmm_ns, "mount ipc (no user namespace: %s)",
			 strerror(errno));
	} else {
		snprintf(vmm_ns, sizeof vmm_ns, "none (unshare: %s)", strerror(errno));
		return;
	}
	if (empty_root(userns) != 0) {
		size_t l = strlen(vmm_ns);
		snprintf(vmm_ns + l, sizeof vmm_ns - l, ", host root kept (%s)", strerror(errno));
	} else {
		size_t l = strlen(vmm_ns);
		snprintf(vmm_ns + l, sizeof vmm_ns - l, ", empty read-only root");
	}
}

/* ---- the two processes ---- */

int sbx_vmm_early(char *err, size_t errlen)
{
	int abi, rs;

	if (sbx_seccomp_compiled_out()) {
		return 0;
	}
	if (ll_check(&abi, err, errlen) != 0) {
		return -1;
	}
	enter_namespaces();
	if (drop_privs(err, errlen) != 0) {
		return -1;
	}
	rs = ll_ruleset(abi);
	if (rs < 0) {
		snprintf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	return ll_enforce(rs, err, errlen); /* no rule: no file system at all */
}

int sbx_vmm_seccomp(const struct sbx_vmm *v, char *err, size_t errlen)
{
	struct sbx_args a = {.vmm = v, .sock = v->broker_sock, .broker_pid = v->broker_pid};

	return load_filter(vmm_rules, NELEM(vmm_rules), &a, err, errlen);
}

/* Landlock rights per mount, exactly what the policy grants. */
static uint64_t mount_rights(const struct pol_mount *m, int abi)
{
	uint64_t r = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

	if (m->writable) {
		r |= LANDLOCK_ACCESS_FS_WRITE_FILE | (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0);
		r |= m->create ? LANDLOCK_ACCESS_FS_MAKE_REG : 0;
		r |= m->remove ? LANDLOCK_ACCESS_FS_REMOVE_FILE : 0;
		r |= m->mkdir ? LANDLOCK_ACCESS_FS_MAKE_DIR : 0;
	}
	return r;
}

static uint64_t scratch_rights(int abi)
{
	return LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |
	       LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
	       LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
	       LANDLOCK_ACCESS_FS_REMOVE_DIR | (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0);
}

int sbx_broker(const struct sbx_broker *b, char *err, size_t errlen)
{
	struct sbx_args a = {.vmm = NULL, .sock = b->sock, .broker_pid = -1};
	int abi, rs, rc = 0;

	if (sbx_seccomp_compiled_out()) {
		return 0;
	}
	if (ll_check(&abi, err, errlen) != 0) {
		return -1;
	}
	unshare(CLONE_NEWIPC | CLONE_NEWNET); /* best effort: the broker has no use for either */
	if (drop_privs(err, errlen) != 0) {
		return -1;
	}
	if ((rs = ll_ruleset(abi)) < 0) {
		snprintf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < b->pol->nmounts && rc == 0; i++) {
		rc = ll_allow(rs, b->dirfds[i], mount_rights(&b->pol->mounts[i], abi));
	}
	if (rc == 0 && b->scratch_fd >= 0) {
		rc = ll_allow(rs, b->scratch_fd, scratch_rights(abi));
	}
	if (rc == 0 && b->scratch_parent_fd >= 0) {
		/* only to remove the (then empty) scratch directory itself at exit */
		rc = ll_allow(rs, b->scratch_parent_fd, LANDLOCK_ACCESS_FS_REMOVE_DIR);
	}
	if (rc != 0) {
		snprintf(err, errlen, "landlock_add_rule: %s", strerror(errno));
		close(rs);
		return -1;
	}
	if (ll_enforce(rs, err, errlen) != 0) {
		return -1;
	}
	return load_filter(broker_rules, NELEM(broker_rules), &a, err, errlen);
}

/* ---- --print-sandbox ---- */

static const char *arg_text(enum sbx_arg a)
{
	switch (a) {
	case A_KVM_IOCTL:
		return "fd in the vCPU fds, request in {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS}; "
		       "fd == the VM fd, request == KVM_REGISTER_COALESCED_MMIO";
	case A_BROKER_FD:
		return "fd == the broker socket";
	case A_TGKILL_SELF:
		return "tgid == own pid, sig in {SIGUSR1, SIGUSR2}";
	case A_WAIT_BROKER:
		return "pid == the broker's pid";
	case A_NO_EXEC:
		return "prot without PROT_EXEC";
	case A_EMPTY_PATH:
		return "flags include AT_EMPTY_PATH";
	case A_DONTNEED:
		return "advice == MADV_DONTNEED";
	case A_NONE:
	default:
		return "any arguments";
	}
}

static void print_rules(FILE *f, const char *who, const struct sbx_rule *r, size_t n)
{
	fprintf(f, "%s seccomp allowlist (%zu syscalls, default action: kill the process)%s:\n",
		who, n,
		sbx_seccomp_compiled_out() ? " [not installed in this sanitizer build]" : "");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "    %-16s %-68s # %s\n", r[i].name, arg_text(r[i].arg), r[i].why);
	}
}

static void print_rights(FILE *f, uint64_t r)
{
	static const char *const names[] = {"execute",	  "write_file",	 "read_file", "read_dir",
					    "remove_dir", "remove_file", "make_char", "make_dir",
					    "make_reg",	  "make_sock",	 "make_fifo", "make_block",
					    "make_sym",	  "refer",	 "truncate",  "ioctl_dev"};
	const char *sep = "";

	for (size_t i = 0; i < NELEM(names); i++) {
		if (r & (1ull << i)) {
			fprintf(f, "%s%s", sep, names[i]);
			sep = ",";
		}
	}
}

void sbx_print(FILE *f, const struct policy *pol)
{
	int abi = sbx_landlock_abi();

	fprintf(f, "Landlock ABI of this kernel: %d (minimum %d)\n", abi, SBX_LANDLOCK_MIN_ABI);
	if (sbx_seccomp_compiled_out()) {
		fprintf(f,
			"THIS IS A SANITIZER BUILD: none of the confinement below is applied (the "
			"sanitizer runtimes need the syscalls and /proc files it forbids)\n");
	}
	fprintf(f, "\n");
	fprintf(f, "VMM (the process you start; confined before the first KVM_RUN):\n");
	fprintf(f, "  capabilities: none (effective, permitted, inheritable; bounding set too "
		   "when CAP_SETPCAP was held); no_new_privs\n");
	fprintf(f, "  namespaces: new user (when permitted), mount, IPC and network, with an empty "
		   "read-only tmpfs root; no PID namespace (the VMM forks nothing after setup)\n");
	fprintf(f, "  Landlock: handles ");
	print_rights(f, ll_fs_all(abi));
	fprintf(f, "%s%s; no rule: no file system access at all\n",
		abi >= 4 ? ", net bind_tcp,connect_tcp" : "",
		abi >= 6 ? ", scoped abstract_unix_socket,signal" : "");
	print_rules(f, "  VMM", vmm_rules, NELEM(vmm_rules));
	fprintf(f, "\nBroker (started before the VMM confines itself; only with a mount):\n");
	fprintf(f, "  capabilities: none; no_new_privs; namespaces: new IPC and network\n");
	fprintf(f, "  Landlock: handles the same rights; rules:\n");
	for (size_t i = 0; pol != NULL && i < pol->nmounts; i++) {
		fprintf(f, "    %s -> %s: ", pol->mounts[i].guest, pol->mounts[i].host);
		print_rights(f, mount_rights(&pol->mounts[i], abi));
		fprintf(f, "\n");
	}
	if (pol != NULL && pol->scratch) {
		fprintf(f, "    scratch directory: ");
		print_rights(f, scratch_rights(abi));
		fprintf(f, "; its parent: remove_dir\n");
	}
	if (pol == NULL || (pol->nmounts == 0 && !pol->scratch)) {
		fprintf(f, "    (no mount: no broker is started)\n");
	}
	print_rules(f, "  broker", broker_rules, NELEM(broker_rules));
}
