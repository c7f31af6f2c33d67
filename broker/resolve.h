/* SPDX-License-Identifier: MIT */
/* resolve.h - resolving guest paths against the host, in the broker: openat2 under the root
 * dirfd of the matching mount (resolve.c).  It makes no system calls except openat2 and the
 * *at() family on the directory fds it is given, plus fstat/fchmod/ftruncate/fcntl/close on
 * what it opened. */
#ifndef UHS_RESOLVE_H
#define UHS_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "policy.h"

/* The broker's open roots: dirfds[i] belongs to p->mounts[i] (O_PATH|O_DIRECTORY|O_CLOEXEC),
 * scratch_fd to the scratch directory or -1; io_flags the operator's --io-mode. */
struct resolve_roots {
	const struct policy *pol;
	const int *dirfds; /* a file mapping's: the O_PATH fd of the file's directory */
	int scratch_fd;
	int io_flags; /* O_DIRECT and/or O_SYNC (--io-mode) for every open without O_DIRECTORY */
	/* single-file mappings (m->file): the held O_PATH fd of the file and its resolved path
	 * (file_map.c); NULL when the policy has none */
	const int *filefds;
	char *const *filepaths;
};

/* The reason given when the policy allowed the operation but the host refused it (ENOENT,
 * EEXIST, ...): the audit log calls that an error, not a denial. */
#define RESOLVE_REASON_HOST "host error"

/* Why a request was denied or failed, for the audit log; and what it created. */
struct resolve_verdict {
	const char *reason; /* static string: "read-only mount", "symlink refused", ... */
	int mount; /* mount index, -1 for scratch or no mount */
	unsigned created; /* files and directories this request created (also on failure) */
};

/* No limit on what one open may create (resolve_open). */
#define RESOLVE_NEW_ANY 0xffffffffu

/* Opens `guest_path` (any form; normalised here) with guest open flags (Hermit values equal
 * Linux: O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY; others
 * are refused with EINVAL) and creation mode.  On success returns 0 and an O_CLOEXEC fd of a
 * regular file or directory in *fd.  Errors are -errno: EACCES for policy denial (no
 * mount, symlink, escape, special file, hardlink, creation not allowed), EROFS for writes
 * to a read-only mount, or what the host returned (ENOENT, EEXIST, EISDIR, ...). */
int resolve_open(const struct resolve_roots *r, const char *guest_path, int flags, uint32_t mode,
		 int *fd, struct resolve_verdict *v);
/* The same, creating at most new_max entries (the file, and in scratch its missing parent
 * directories; v->created says how many, exactly).  A file O_CREAT would have to create
 * beyond new_max: ENOSPC (an existing one opens); parents beyond it: ENOSPC. */
int resolve_open_counted(const struct resolve_roots *r, const char *guest_path, int flags,
			 uint32_t mode, unsigned new_max, int *fd, struct resolve_verdict *v);
int resolve_unlink(const struct resolve_roots *r, const char *guest_path,
		   struct resolve_verdict *v);
/* v->created is 1 when the directory was made (even if a later step failed). */
int resolve_mkdir(const struct resolve_roots *r, const char *guest_path, uint32_t mode,
		  struct resolve_verdict *v);
/* stat (nofollow = false) or lstat (true). */
int resolve_stat(const struct resolve_roots *r, const char *guest_path, bool nofollow,
		 struct stat *st, struct resolve_verdict *v);

/* The checked fd of an open: blocking again, O_TRUNC applied, set-id bits stripped behind a
 * write.  Returns 0 or -errno. */
int resolve_finish_open(int fd, const struct stat *st, int flags);

/* ---- file_map.c: single-file mappings ---- */
/* At start: realpath of the host file (malloc'd in *path), its directory (O_PATH) and the
 * file itself (O_PATH, never through a symlink), which must be a regular file (-EINVAL
 * otherwise).  Returns 0 or -errno; the caller closes and frees what was set. */
int file_map_open_root(const struct pol_mount *m, int *dirfd, int *filefd, char **path);
/* The last component of a file_map_open_root path. */
const char *file_map_name(const char *path);
/* Opens mapping i (the guest path is exactly its guest path) with guest flags; the caller has
 * checked the write rights.  0 with *out, or -errno with the verdict. */
int resolve_file_open(const struct resolve_roots *r, int i, int flags, int *out,
		      struct resolve_verdict *v);
int resolve_file_stat(const struct resolve_roots *r, int i, struct stat *st,
		      struct resolve_verdict *v);
/* A path below a file mapping: -ENOTDIR with the verdict. */
int file_map_below(struct resolve_verdict *v);

#endif
