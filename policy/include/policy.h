/* SPDX-License-Identifier: MIT */
/* policy.h - the path-mapping policy: which guest paths map to which host directories, with
 * which rights and limits; parsing (JSON file, --mount), validation, printing, matching of
 * guest paths against the mounts.
 *
 * Trust: operator input (the policy file and the command line); the parser still treats its
 * bytes as untrusted (it is fuzzed).  The VMM never includes this header and never sees a
 * host path; the broker resolves guest paths against the host (broker/resolve.c).
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
	char *host; /* host directory or file, absolute (made absolute when parsed) */
	char *guest; /* normalised absolute guest path ("/data"; "/" allowed) */
	bool writable; /* "rw"; otherwise every write is EROFS */
	bool create; /* O_CREAT may create new files (needs writable) */
	bool remove; /* unlink allowed (needs writable) */
	bool mkdir; /* mkdir allowed (needs writable) */
	bool hardlinks; /* regular files with st_nlink > 1 may be opened (default false) */
	enum pol_symlinks symlinks;
	bool file; /* set by policy_validate: host is a regular file, mapped at exactly GUEST
		      (read, and with rw written; never created, removed or listed) */
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

/* Parses a JSON policy (format in docs/policy.md) of len bytes at buf (no NUL needed; at most
 * 1 MiB).  Mounts are appended to p; limits and scratch are set.  name stands for the file in
 * messages, origins and p->source.  Relative host paths are relative to basedir, which must
 * be absolute, or, if basedir is NULL, to the directory of name, which must then be absolute
 * (the launcher's policy_load_file passes the file's directory).  Returns 0, or -1 with
 * "FILE:LINE:COLUMN: message" (or "FILE: message") in err; p is then unchanged. */
int policy_load_buffer(struct policy *p, const char *name, const char *buf, size_t len,
		       const char *basedir, char *err, size_t errlen);

/* Adds a command-line mount "HOST:GUEST[:ro|:rw]" (index = its 1-based position, for
 * messages).  rw mounts may create, remove and mkdir; ro mounts may do none of that;
 * symlinks are refused.  A relative HOST is relative to cwd (absolute; the caller's current
 * directory).  Returns 0, or -1 with a message in err. */
int policy_add_cli_mount(struct policy *p, const char *spec, int index, const char *cwd, char *err,
			 size_t errlen);

/* How policy_validate() learns about a host path: stat(2) in the launcher, a fake in tests. */
typedef int (*policy_stat_fn)(const char *path, struct stat *st);

/* Checks the combined policy: no guest path mounted twice, rights consistent (create,
 * remove, mkdir need rw), and, with host_stat, host paths are existing directories or
 * regular files: a regular file makes the mount a single-file mapping (m->file; its create,
 * remove and mkdir rights are cleared, and it cannot be mounted at "/").  Returns 0 or -1
 * with the first error (prefixed by the mount's origin) in err. */
int policy_validate(struct policy *p, policy_stat_fn host_stat, char *err, size_t errlen);

/* Prints the effective mapping, one mount per line, then limits and scratch, in the format
 * of `uhyve-sec --check-policy`. */
void policy_print(const struct policy *p, FILE *f);

/* ---- the validated policy as a flat buffer, launcher -> broker (pack.c) ---- */

/* Serialises p into a malloc'd buffer.  Returns 0 or -ENOMEM. */
int policy_pack(const struct policy *p, void **buf, size_t *len)
    __attribute__((warn_unused_result));
/* Rebuilds a policy from policy_pack()'s output, checking every count, length and flag.
 * Returns 0, or -1 (malformed) / -ENOMEM with p empty. */
int policy_unpack(struct policy *p, const void *buf, size_t len)
    __attribute__((warn_unused_result));

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

#endif
