/* SPDX-License-Identifier: MIT */
/* sbx.h - confinement mechanisms shared by uhyve-sec's processes: seccomp filters built from a
 * syscall table, Landlock, capabilities and no_new_privs, namespaces with an empty root.
 *
 * Trust: this folder holds mechanism, not policy.  Each process owns the table of what it may
 * do (vmm/vmm_sandbox.c, broker/broker_sandbox.c, assist/assist_rules.c); the table is the
 * single source of its filter, of `uhyve-sec --print-sandbox` and of the tests.  Nothing here
 * includes a header of another folder except common/.
 */
#ifndef UHS_SBX_H
#define UHS_SBX_H

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SBX_LANDLOCK_MIN_ABI 1 /* documented minimum: Linux 5.13 */

/* One allowlisted system call.  `arg` names the argument filter: SBX_ARG_ANY, or a kind the
 * owning process defines (values > 0) and implements in its sbx_add_fn. */
struct sbx_rule {
	int nr; /* resolved at compile time: no name lookup on the boot path */
	const char *name;
	int arg;
	const char *why;
};
#define SBX_ARG_ANY 0

/* Adds the filter rule(s) for r to ctx.  Returns 0 or a negative errno. */
typedef int (*sbx_add_fn)(scmp_filter_ctx ctx, const struct sbx_rule *r, const void *arg);
/* Text of an argument-filter kind, for --print-sandbox. */
typedef const char *(*sbx_arg_text_fn)(int arg);

/* True in sanitizer builds: their runtimes need syscalls and /proc files no sandbox should
 * allow (LeakSanitizer reads /proc/PID/task and stops threads with ptrace), so the whole
 * confinement is compiled out there; release and test builds always have it. */
bool sbx_seccomp_compiled_out(void);

/* Builds and installs the filter of n rules (default action: kill the process), synchronised
 * to every thread.  Rules with SBX_ARG_ANY are added here, others through add(arg).  Returns 0
 * or -1 with a one-line reason in err. */
int sbx_load_filter(const struct sbx_rule *rules, size_t n, sbx_add_fn add, const void *arg,
		    char *err, size_t errlen) __attribute__((warn_unused_result));

/* Prints "<who> seccomp allowlist (N syscalls, ...):" and one line per rule. */
void sbx_print_rules(FILE *f, const char *who, const struct sbx_rule *r, size_t n,
		     sbx_arg_text_fn text);

/* ---- Landlock ---- */

/* The Landlock ABI of the running kernel (0 if absent). */
int sbx_landlock_abi(void);
/* Fails (with a message naming --sandbox=off) below SBX_LANDLOCK_MIN_ABI. */
int sbx_landlock_check(int *abi, char *err, size_t errlen);
/* Every file-system right the ABI knows. */
uint64_t sbx_landlock_fs_all(int abi);
/* A ruleset handling every file-system right (and network rights and scopes where the ABI
 * has them).  Returns its fd or -1. */
int sbx_landlock_ruleset(int abi);
/* Allows `rights` beneath dirfd.  Returns 0 or -1 (errno). */
int sbx_landlock_allow(int ruleset, int dirfd, uint64_t rights);
/* Enforces and closes the ruleset.  Returns 0 or -1 with err. */
int sbx_landlock_enforce(int ruleset, char *err, size_t errlen);
/* Prints rights as "read_file,read_dir,...". */
void sbx_print_rights(FILE *f, uint64_t rights);
/* Prints what a ruleset of this ABI handles beyond the file system (", net ..."). */
void sbx_print_landlock_extra(FILE *f, int abi);

/* ---- privileges and namespaces ---- */

/* Drops every capability (and the bounding set where possible), sets no_new_privs.  Returns 0
 * or -1 with err. */
int sbx_drop_privs(char *err, size_t errlen);
/* Enters new user (when permitted), mount and IPC namespaces and chroots into an empty
 * read-only tmpfs; best effort.  Describes what it did in desc. */
void sbx_enter_namespaces(char *desc, size_t cap);

#endif
