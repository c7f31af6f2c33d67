/* SPDX-License-Identifier: MIT */
/* seccomp.c - seccomp filters built from a process's syscall table (sbx.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sbx.h"

bool sbx_seccomp_compiled_out(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	return true;
#else
	return false;
#endif
#else
	return false;
#endif
}

static int add_rule(scmp_filter_ctx ctx, const struct sbx_rule *r, sbx_add_fn add, const void *arg)
{
	if (r->nr < 0) {
		return -ENOSYS;
	}
	if (r->arg == SBX_ARG_ANY) {
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
	}
	return add != NULL ? add(ctx, r, arg) : -EINVAL;
}

int sbx_load_filter(const struct sbx_rule *rules, size_t n, sbx_add_fn add, const void *arg,
		    char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc = 0;

	if (sbx_seccomp_compiled_out()) {
		return 0; /* sanitizer build: see sbx.h */
	}
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0) {
		snprintf(err, errlen, "seccomp is not available");
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int r = add_rule(ctx, &rules[i], add, arg);
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

void sbx_print_rules(FILE *f, const char *who, const struct sbx_rule *r, size_t n,
		     sbx_arg_text_fn text)
{
	fprintf(f, "%s seccomp allowlist (%zu syscalls, default action: kill the process)%s:\n",
		who, n,
		sbx_seccomp_compiled_out() ? " [not installed in this sanitizer build]" : "");
	for (size_t i = 0; i < n; i++) {
		const char *t = r[i].arg == SBX_ARG_ANY ? "any arguments" : text(r[i].arg);
		fprintf(f, "    %-16s %-68s # %s\n", r[i].name, t, r[i].why);
	}
}
