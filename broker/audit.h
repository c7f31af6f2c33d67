/* SPDX-License-Identifier: MIT */
/* audit.h - the broker's audit log: one JSON object per line (audit.c). */
#ifndef UHS_AUDIT_H
#define UHS_AUDIT_H

#include <stdbool.h>

#include "resolve.h"

struct audit {
	int fd; /* the log (stderr by default) */
	bool all; /* also log allowed operations and host errors */
	const struct policy *pol; /* for the mount's guest path */
};

/* Loads what the log needs from files (jansson's hash seed, the time zone) while files can
 * still be opened: call before confinement. */
void audit_prepare(void);

/* Logs one decided operation: rc 0 (allowed) or -errno with the verdict's reason.  By default
 * only denials are logged. */
void audit_op(const struct audit *a, const char *op, const char *path, int rc,
	      const struct resolve_verdict *v);

#endif
