/* SPDX-License-Identifier: MIT */
/* broker_sandbox.h - the broker's confinement (broker/broker_sandbox.c). */
#ifndef UHS_BROKER_SANDBOX_H
#define UHS_BROKER_SANDBOX_H

#include <stddef.h>
#include <stdio.h>

struct policy;

#define BROKER_HELPER_NAME "uhyve-sec-broker"

struct broker_confinement {
	const struct policy *pol;
	const int *dirfds; /* one per mount (a file mapping: its directory, granted nothing) */
	const int *filefds; /* a file mapping's file (its only rule), else -1 */
	int scratch_fd; /* or -1 */
	int scratch_parent_fd; /* O_PATH fd of the scratch directory's parent, or -1 */
	int sock;
};

/* In the broker process, after its roots are open.  Returns 0 or -1 with err. */
int broker_confine(const struct broker_confinement *b, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* --print-sandbox: the broker's part for this policy (NULL: none). */
void broker_print_sandbox(FILE *f, const struct policy *pol);

/* The allowlist, for tests: name of entry i, or NULL past the end. */
const char *broker_syscall(unsigned i);

#endif
