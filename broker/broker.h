/* SPDX-License-Identifier: MIT */
/* broker.h - the file broker (uhyve-sec-broker): the only process that touches the host file
 * system on the guest's behalf.  main.c is the program, broker.c serves the VMM's requests. */
#ifndef UHS_BROKER_H
#define UHS_BROKER_H

#include <signal.h>
#include <stdbool.h>

#include "policy.h"

struct image_fs;

struct broker_opts {
	int audit_fd; /* the audit log; stderr by default */
	bool audit_all; /* log allowed operations too */
	bool confine; /* --sandbox=strict: seccomp, Landlock, no capabilities */
	const char *tmpdir; /* where a scratch directory is made (absolute) */
	int io_flags; /* --io-direct, --io-sync: O_DIRECT, O_SYNC on every host file it opens */
	const struct image_fs *image; /* --image: a Hermit image's files at / (fd 6), or NULL */
};

/* Set by the SIGTERM handler: the serve loop ends at its next wake-up. */
extern volatile sig_atomic_t broker_terminate;

/* Prints "uhyve-sec: broker: <message>" to stderr. */
void bmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the roots (and scratch), confines itself, says READY on `sock` and serves requests
 * until EOF.  Returns the process exit status. */
int broker_serve(int sock, const struct policy *pol, const struct broker_opts *o);

#endif
