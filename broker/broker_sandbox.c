/* SPDX-License-Identifier: MIT */
/* broker_sandbox.c - the broker's confinement: its syscall allowlist (the single source of its
 * filter, of --print-sandbox and of the tests) and Landlock rights that are exactly what the
 * policy grants on each root.
 *
 * Order: after the broker opened its roots, scratch directory and audit log, broker_confine()
 * drops capabilities, sets no_new_privs, enters new IPC and network namespaces, restricts
 * itself with Landlock, then installs its allowlist. */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "broker_sandbox.h"
#include "policy.h"
#include "sbx.h"

enum broker_arg {
	A_SOCK = 1, /* arg0 = the VMM's socket */
	A_NO_EXEC, /* arg2 (prot) without PROT_EXEC */
	A_EMPTY_PATH, /* arg3 (flags) includes AT_EMPTY_PATH: stat of an fd, not of a path */
	A_MEMFD, /* arg1 (flags) == MFD_CLOEXEC | MFD_ALLOW_SEALING */
};

static const struct sbx_rule broker_rules[] = {
    {SCMP_SYS(openat2), "openat2", SBX_ARG_ANY,
     "every lookup: RESOLVE_BENEATH|NO_MAGICLINKS|NO_XDEV under a root fd"},
    {SCMP_SYS(unlinkat), "unlinkat", SBX_ARG_ANY,
     "guest unlink; scratch cleanup (relative to a dirfd)"},
    {SCMP_SYS(mkdirat), "mkdirat", SBX_ARG_ANY, "guest mkdir (relative to a dirfd)"},
    {SCMP_SYS(fstat), "fstat", SBX_ARG_ANY, "type and link checks on what was opened"},
    {SCMP_SYS(newfstatat), "newfstatat", A_EMPTY_PATH,
     "glibc fstat/fdopendir: AT_EMPTY_PATH on an fd only"},
    {SCMP_SYS(fchmod), "fchmod", SBX_ARG_ANY, "clear set-id bits of created files and directories"},
    {SCMP_SYS(ftruncate), "ftruncate", SBX_ARG_ANY, "O_TRUNC, applied to the checked fd"},
    {SCMP_SYS(fcntl), "fcntl", SBX_ARG_ANY,
     "clear O_NONBLOCK after the type check; seal a directory listing"},
    {SCMP_SYS(close), "close", SBX_ARG_ANY, "close fds after passing them"},
    {SCMP_SYS(getdents64), "getdents64", SBX_ARG_ANY,
     "directory listings for the guest; scratch cleanup"},
    {SCMP_SYS(memfd_create), "memfd_create", A_MEMFD,
     "a directory listing for the VMM, sealed (never a directory fd)"},
    {SCMP_SYS(sendmsg), "sendmsg", A_SOCK, "replies to the VMM, fds by SCM_RIGHTS"},
    {SCMP_SYS(recvmsg), "recvmsg", A_SOCK, "requests from the VMM"},
    {SCMP_SYS(poll), "poll", SBX_ARG_ANY, "wait for a request, interruptible by SIGTERM"},
    {SCMP_SYS(write), "write", SBX_ARG_ANY, "diagnostics on stderr; directory listings"},
    {SCMP_SYS(writev), "writev", SBX_ARG_ANY, "audit log lines"},
    {SCMP_SYS(mmap), "mmap", A_NO_EXEC,
     "allocations (audit JSON, directory streams); never executable"},
    {SCMP_SYS(munmap), "munmap", SBX_ARG_ANY, "allocations"},
    {SCMP_SYS(brk), "brk", SBX_ARG_ANY, "allocations"},
    {SCMP_SYS(rt_sigreturn), "rt_sigreturn", SBX_ARG_ANY, "return from the SIGTERM handler"},
    {SCMP_SYS(restart_syscall), "restart_syscall", SBX_ARG_ANY,
     "restart of a wait interrupted by a signal"},
    {SCMP_SYS(exit_group), "exit_group", SBX_ARG_ANY, "process exit"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ull << 14)
#endif

const char *broker_syscall(unsigned i)
{
	return i < NELEM(broker_rules) ? broker_rules[i].name : NULL;
}

static int add_broker_rule(scmp_filter_ctx ctx, const struct sbx_rule *r, const void *arg)
{
	const int *sock = arg;

	switch ((enum broker_arg)r->arg) {
	case A_SOCK:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)*sock));
	case A_NO_EXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case A_EMPTY_PATH:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	case A_MEMFD:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A1(SCMP_CMP_EQ, MFD_CLOEXEC | MFD_ALLOW_SEALING));
	default:
		return -EINVAL;
	}
}

/* Landlock rights per mount, exactly what the policy grants; a file mapping's go on the file
 * itself (file rights only: Landlock refuses directory rights on a file). */
static uint64_t mount_rights(const struct pol_mount *m, int abi)
{
	uint64_t r = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

	if (m->file) {
		return LANDLOCK_ACCESS_FS_READ_FILE |
		       (m->writable ? LANDLOCK_ACCESS_FS_WRITE_FILE |
					  (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0)
				    : 0);
	}

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

static int landlock_rules(const struct broker_confinement *b, int rs, int abi)
{
	int rc = 0;

	for (size_t i = 0; i < b->pol->nmounts && rc == 0; i++) {
		const struct pol_mount *m = &b->pol->mounts[i];
		rc = sbx_landlock_allow(rs, m->file ? b->filefds[i] : b->dirfds[i],
					mount_rights(m, abi));
	}
	if (rc == 0 && b->scratch_fd >= 0) {
		rc = sbx_landlock_allow(rs, b->scratch_fd, scratch_rights(abi));
	}
	if (rc == 0 && b->scratch_parent_fd >= 0) {
		/* only to remove the (then empty) scratch directory itself at exit */
		rc = sbx_landlock_allow(rs, b->scratch_parent_fd, LANDLOCK_ACCESS_FS_REMOVE_DIR);
	}
	return rc;
}

int broker_confine(const struct broker_confinement *b, char *err, size_t errlen)
{
	int abi, rs;

	if (sbx_seccomp_compiled_out()) {
		return 0;
	}
	if (sbx_landlock_check(&abi, err, errlen) != 0) {
		return -1;
	}
	unshare(CLONE_NEWIPC | CLONE_NEWNET); /* best effort: the broker has no use for either */
	if (sbx_drop_privs(err, errlen) != 0) {
		return -1;
	}
	if ((rs = sbx_landlock_ruleset(abi)) < 0) {
		snprintf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
		return -1;
	}
	if (landlock_rules(b, rs, abi) != 0) {
		snprintf(err, errlen, "landlock_add_rule: %s", strerror(errno));
		close(rs);
		return -1;
	}
	if (sbx_landlock_enforce(rs, err, errlen) != 0) {
		return -1;
	}
	return sbx_load_filter(broker_rules, NELEM(broker_rules), add_broker_rule, &b->sock, err,
			       errlen);
}

static const char *arg_text(int a)
{
	switch ((enum broker_arg)a) {
	case A_SOCK:
		return "fd == the broker socket";
	case A_NO_EXEC:
		return "prot without PROT_EXEC";
	case A_EMPTY_PATH:
		return "flags include AT_EMPTY_PATH";
	case A_MEMFD:
		return "flags == MFD_CLOEXEC|MFD_ALLOW_SEALING";
	default:
		return "?";
	}
}

void broker_print_sandbox(FILE *f, const struct policy *pol)
{
	int abi = sbx_landlock_abi();

	fprintf(f, "\nBroker (%s, started before the VMM confines itself; only with a mount):\n",
		BROKER_HELPER_NAME);
	fprintf(f, "  capabilities: none; no_new_privs; namespaces: new IPC and network\n");
	fprintf(f, "  Landlock: handles the same rights; rules:\n");
	for (size_t i = 0; pol != NULL && i < pol->nmounts; i++) {
		fprintf(f, "    %s -> %s: ", pol->mounts[i].guest, pol->mounts[i].host);
		sbx_print_rights(f, mount_rights(&pol->mounts[i], abi));
		fprintf(f, "\n");
	}
	if (pol != NULL && pol->scratch) {
		fprintf(f, "    scratch directory: ");
		sbx_print_rights(f, scratch_rights(abi));
		fprintf(f, "; its parent: remove_dir\n");
	}
	if (pol == NULL || (pol->nmounts == 0 && !pol->scratch)) {
		fprintf(f, "    (no mount: no broker is started)\n");
	}
	sbx_print_rules(f, "  broker", broker_rules, NELEM(broker_rules), arg_text);
}
