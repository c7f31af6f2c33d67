/* policy.h - the path-mapping policy: which guest paths map to which host directories, with
 * which rights, and how guest paths are resolved against them.
 *
 * This module is pure: parsing and validation use no global state, and resolution
 * (resolve.c) makes no system calls except openat2 and the *at() family on directory fds it
 * is given, plus fstat/close on what it opened.  Only the broker links it; the VMM never
 * includes this header and never sees a host path.
 */
#ifndef UHS_POLICY_H
#define UHS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#define POL_PATH_MAX	       4096 /* guest paths, including the NUL */
#define POL_MAX_MOUNTS	       64
#define POL_DEFAULT_OPEN_FILES 128
#define POL_MAX_OPEN_FILES     65536

enum pol_symlinks {
	POL_SYMLINKS_DENY, /* default: any symlink on the path is refused (EACCES) */
	POL_SYMLINKS_WITHIN /* symlinks are followed if they stay inside the mount */
};

struct pol_mount {
	char *host; /* host directory, absolute (made absolute when parsed) */
	char *guest; /* normalised absolute guest path ("/data"; "/" allowed) */
	bool writable; /* "rw"; otherwise every write is EROFS */
	bool create; /* O_CREAT may create new files (needs writable) */
	bool remove; /* unlink allowed (needs writable) */
	bool mkdir; /* mkdir allowed (needs writable) */
	bool hardlinks; /* regular files with st_nlink > 1 may be opened (default false) */
	enum pol_symlinks symlinks;
	char origin[96]; /* where it was declared: "policy.json:7:5" or "--mount #2" */
};

struct policy {
	struct pol_mount *mounts;
	size_t nmounts;
	uint32_t max_open_files; /* guest fds open at once; default POL_DEFAULT_OPEN_FILES */
	uint64_t max_write_bytes; /* total bytes the guest may write to files; 0 = unlimited */
	bool scratch; /* private per-run directory behind every unmapped path */
	char *source; /* policy file path, or NULL */
};

/* Initialises an empty policy with the defaults. */
void policy_init(struct policy *p);
void policy_free(struct policy *p);

/* Reads a JSON policy file (format in docs/policy.md).  Mounts are appended to p; limits
 * and scratch are set.  Relative host paths are relative to the file's directory.
 * Returns 0, or -1 with "FILE:LINE:COLUMN: message" (or "FILE: message") in err. */
int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen);

/* The same for policy text already in memory: len bytes at buf (no NUL needed; at most the
 * file loader's 1 MiB).  name stands for the file in messages, origins and p->source.
 * Relative host paths are relative to basedir (itself made absolute with the current
 * directory), or, if basedir is NULL, to the directory of name taken as a file path, as
 * policy_load_file does.  Returns 0, or -1 with a message in err as policy_load_file. */
int policy_load_buffer(struct policy *p, const char *name, const char *buf, size_t len,
		       const char *basedir, char *err, size_t errlen);

/* Adds a command-line mount "HOST:GUEST[:ro|:rw]" (index = its 1-based position, for
 * messages).  rw mounts may create, remove and mkdir; ro mounts may do none of that;
 * symlinks are refused.  Relative HOST is relative to the current directory.
 * Returns 0, or -1 with a message in err. */
int policy_add_cli_mount(struct policy *p, const char *spec, int index, char *err, size_t errlen);

/* Checks the combined policy: no guest path mounted twice, rights consistent (create,
 * remove, mkdir need rw), host paths are existing directories.  Returns 0 or -1 with the
 * first error (prefixed by the mount's origin) in err. */
int policy_validate(const struct policy *p, char *err, size_t errlen);

/* Prints the effective mapping, one mount per line, then limits and scratch, in the format
 * of `uhyve-sec --check-policy`. */
void policy_print(const struct policy *p, FILE *f);

/* ---- guest paths (path.c) ---- */

/* Normalises a guest path lexically: a path without a leading '/' is taken relative to '/'
 * (Hermit 0.6.x sends paths relative to its /root mount), empty and "." components are
 * dropped, ".." removes the previous component.  Returns 0 with the result ("/" or
 * "/a/b", never a trailing '/') in out, -EACCES if ".." would leave '/', -ENAMETOOLONG if
 * it does not fit in cap bytes. */
int path_normalize(const char *in, char *out, size_t cap);

/* Longest-prefix match of a normalised guest path against the mounts, on component
 * boundaries ("/data" matches "/data" and "/data/x", not "/database").  Returns the mount
 * index or -1; *rest receives the remainder relative to the mount ("" for the mount root,
 * else "a/b" without leading '/'), pointing into `norm`. */
int policy_match(const struct policy *p, const char *norm, const char **rest);

/* ---- resolution against the host (resolve.c) ---- */

/* The broker's open roots: dirfds[i] belongs to p->mounts[i] (O_PATH|O_DIRECTORY|O_CLOEXEC),
 * scratch_fd to the scratch directory or -1. */
struct pol_roots {
	const struct policy *pol;
	const int *dirfds;
	int scratch_fd;
};

/* The reason given when the policy allowed the operation but the host refused it (ENOENT,
 * EEXIST, ...): the audit log calls that an error, not a denial. */
#define POL_REASON_HOST "host error"

/* Why a request was denied or failed, for the audit log. */
struct pol_verdict {
	const char *reason; /* static string: "read-only mount", "symlink refused", ... */
	int mount; /* mount index, -1 for scratch or no mount */
};

/* Opens `guest_path` (any form; normalised here) with guest open flags (Hermit values equal
 * Linux: O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY; others
 * are refused with EINVAL) and creation mode.  On success returns 0 and an O_CLOEXEC fd of a
 * regular file or directory in *fd.  Errors are -errno: EACCES for policy denial (no
 * mount, symlink, escape, special file, hardlink, creation not allowed), EROFS for writes
 * to a read-only mount, or what the host returned (ENOENT, EEXIST, EISDIR, ...). */
int policy_open(const struct pol_roots *r, const char *guest_path, int flags, uint32_t mode,
		int *fd, struct pol_verdict *v);
int policy_unlink(const struct pol_roots *r, const char *guest_path, struct pol_verdict *v);
int policy_mkdir(const struct pol_roots *r, const char *guest_path, uint32_t mode,
		 struct pol_verdict *v);
/* stat (nofollow = false) or lstat (true). */
int policy_stat(const struct pol_roots *r, const char *guest_path, bool nofollow, struct stat *st,
		struct pol_verdict *v);

#endif
