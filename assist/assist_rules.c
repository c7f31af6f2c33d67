/* SPDX-License-Identifier: MIT */
/* assist_rules.c - the seccomp allowlist of a running assist process (default action: kill
 * the process).  assist_install_filter() builds the filter from this table and
 * --print-sandbox prints it, so the two cannot disagree.  Everything a burst needs exists
 * before the filter goes in (the JIT buffers included). */
#include <errno.h>
#include <sys/mman.h>

#include "assist_proto.h"
#include "assist_sandbox.h"
#include "sbx.h"

enum assist_arg {
	A_OWN_SOCKET = 1, /* arg 0 is one of its vCPU sockets (fd 4 + i) */
	A_NO_EXEC, /* arg 2 (prot) without PROT_EXEC */
	A_SELF, /* arg 0 == 0: the calling thread */
};

static const struct sbx_rule assist_rules[] = {
    {SCMP_SYS(read), "read", A_OWN_SOCKET, "requests from the VMM"},
    {SCMP_SYS(write), "write", A_OWN_SOCKET, "replies to the VMM"},
    {SCMP_SYS(futex), "futex", SBX_ARG_ANY, "the start barrier"},
    {SCMP_SYS(mmap), "mmap", A_NO_EXEC, "Unicorn's region bookkeeping; never executable"},
    {SCMP_SYS(mprotect), "mprotect", A_NO_EXEC, "the same; never executable"},
    {SCMP_SYS(munmap), "munmap", SBX_ARG_ANY, "the same"},
    {SCMP_SYS(mremap), "mremap", SBX_ARG_ANY, "glibc realloc (cannot add PROT_EXEC)"},
    {SCMP_SYS(madvise), "madvise", SBX_ARG_ANY, "glibc free"},
    {SCMP_SYS(brk), "brk", SBX_ARG_ANY, "glibc malloc"},
    {SCMP_SYS(clock_gettime), "clock_gettime", SBX_ARG_ANY, "burst timing (vDSO fallback)"},
    {SCMP_SYS(sched_setaffinity), "sched_setaffinity", A_SELF,
     "a worker follows its vCPU thread's CPU"},
    {SCMP_SYS(rt_sigreturn), "rt_sigreturn", SBX_ARG_ANY, "signal return"},
    {SCMP_SYS(exit), "exit", SBX_ARG_ANY, "thread exit"},
    {SCMP_SYS(exit_group), "exit_group", SBX_ARG_ANY, "EOF from the VMM ends the process"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int add_assist_rule(scmp_filter_ctx f, const struct sbx_rule *r, const void *arg)
{
	unsigned n = *(const unsigned *)arg;
	int rc = 0;

	switch ((enum assist_arg)r->arg) {
	case A_OWN_SOCKET:
		for (unsigned i = 0; rc == 0 && i < n; i++) {
			rc = seccomp_rule_add(
			    f, SCMP_ACT_ALLOW, r->nr, 1,
			    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)(ASSIST_FD_SOCK0 + (int)i)));
		}
		return rc;
	case A_NO_EXEC:
		return seccomp_rule_add(f, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case A_SELF:
		return seccomp_rule_add(f, SCMP_ACT_ALLOW, r->nr, 1, SCMP_A0(SCMP_CMP_EQ, 0));
	default:
		return -EINVAL;
	}
}

int assist_install_filter(unsigned nsock, char *err, size_t errlen)
{
	return sbx_load_filter(assist_rules, NELEM(assist_rules), add_assist_rule, &nsock, err,
			       errlen);
}

static const char *arg_text(int a)
{
	switch ((enum assist_arg)a) {
	case A_OWN_SOCKET:
		return "fd is one of its vCPU sockets";
	case A_NO_EXEC:
		return "prot without PROT_EXEC";
	case A_SELF:
		return "pid == 0 (the calling thread)";
	default:
		return "?";
	}
}

void assist_print_process_sandbox(FILE *f)
{
	fprintf(f, "  process: fds guest RAM (mapped, then closed) and one socket per vCPU; "
		   "nobody (when started as root), no capabilities, no_new_privs, not dumpable, "
		   "RLIMIT_NOFILE 0, stderr on /dev/null, parent-death signal\n");
	sbx_print_rules(f, "  assist", assist_rules, NELEM(assist_rules), arg_text);
}
