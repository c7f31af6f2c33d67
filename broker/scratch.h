/* SPDX-License-Identifier: MIT */
/* scratch.h - the private per-run scratch directory of a policy with "scratch": true. */
#ifndef UHS_SCRATCH_H
#define UHS_SCRATCH_H

#include <limits.h>

struct scratch {
	int fd; /* O_PATH of the directory, or -1 */
	int parent_fd; /* O_PATH of its parent: only to remove the directory at exit */
	char path[PATH_MAX]; /* for messages; "" when none was made */
};

/* Makes "TMPDIR/uhyve-sec-XXXXXX" (mode 0700).  Returns 0, or ST_BROKER after a message. */
int scratch_make(struct scratch *s, const char *tmpdir);

/* Removes the directory and everything in it, whatever its depth and whatever the fd limit
 * (at most two fds at a time), never following a symlink or crossing a mount.  Says so if
 * something is left.  Returns 0, or -1 if the directory could not be removed. */
int scratch_remove(struct scratch *s);

#endif
