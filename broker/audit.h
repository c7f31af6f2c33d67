/* SPDX-License-Identifier: MIT */
/* audit.h - the broker's audit log: one JSON object per line (audit.c). */
#ifndef UHS_AUDIT_H
#define UHS_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "resolve.h"

/* A guest can cause a log line per hypercall: at most AUDIT_BURST lines at once, then
 * AUDIT_RATE per second; what is dropped is counted in a line of its own. */
#define AUDIT_BURST	 1000
#define AUDIT_RATE	 100
#define AUDIT_LIMIT_TEXT "rate limit: at most 1000 lines at once, then 100 per second"

struct audit {
	int fd; /* the log (stderr by default) */
	bool all; /* also log allowed operations and host errors */
	const struct policy *pol; /* for the mount's guest path */
	uint64_t tokens, last_ns; /* the rate limit's bucket (zero: full) */
	uint64_t dropped; /* lines dropped since the last one written */
};

/* Loads what the log needs from files (jansson's hash seed, the time zone) while files can
 * still be opened: call before confinement. */
void audit_prepare(void);

/* Logs one decided operation: rc 0 (allowed) or -errno with the verdict's reason.  By default
 * only denials are logged. */
void audit_op(struct audit *a, const char *op, const char *path, int rc,
	      const struct resolve_verdict *v);
/* Writes the count of lines still dropped, at exit. */
void audit_finish(struct audit *a);

#endif
