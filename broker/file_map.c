/* SPDX-License-Identifier: MIT */
/* file_map.c - single-file mappings (--file-mapping file.txt:/guest.txt): the guest reaches
 * exactly that file, at exactly its guest path, and nothing next to it.
 *
 * At start (before confinement) the broker resolves the operator's host path once (realpath:
 * the operator may name a symlink), holds an O_PATH fd of the file itself (its identity, its
 * metadata, and the only Landlock rule that grants anything: read, and with rw write and
 * truncate, on that one inode) and an O_PATH fd of its directory, which grants nothing.  A
 * guest open reopens the name under that directory with openat2 (RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, O_NOFOLLOW) and hands out
 * the fd only if it is the very inode held (same device and inode number): a file a host user
 * renamed into its place is refused (EACCES), a symlink swapped in never followed.  Nothing is
 * ever created, removed or listed through a file mapping.
 *
 * Trust: the guest chooses only the flags (checked like every open); the names are the
 * operator's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "resolve.h"

static const char R_REPLACED[] = "file mapping replaced on the host";
static const char R_HOST[] = RESOLVE_REASON_HOST;
static const char R_NOTDIR[] = "below a file mapping";

static int fail(struct resolve_verdict *v, int err, const char *reason)
{
	v->reason = reason;
	return err;
}

static long openat2_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = {.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC | O_NOFOLLOW),
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};

	return syscall(SYS_openat2, dirfd, name, &how, sizeof how);
}

int file_map_open_root(const struct pol_mount *m, int *dirfd, int *filefd, char **path)
{
	char *slash;
	struct stat st;

	*dirfd = *filefd = -1;
	*path = realpath(m->host, NULL);
	slash = *path != NULL ? strrchr(*path, '/') : NULL;
	if (slash == NULL || slash[1] == '\0') {
		return *path == NULL ? -errno : -EISDIR;
	}
	*slash = '\0';
	*dirfd = open(slash == *path ? "/" : *path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	if (*dirfd < 0) {
		return -errno;
	}
	*filefd = (int)openat2_beneath(*dirfd, slash + 1, O_PATH);
	if (*filefd < 0 || fstat(*filefd, &st) != 0) {
		return -errno;
	}
	return S_ISREG(st.st_mode) ? 0 : -EINVAL;
}

const char *file_map_name(const char *path)
{
	return strrchr(path, '/') + 1;
}

int file_map_below(struct resolve_verdict *v)
{
	return fail(v, -ENOTDIR, R_NOTDIR);
}

int resolve_file_open(const struct resolve_roots *r, int i, int flags, int *out,
		      struct resolve_verdict *v)
{
	struct stat held, st;
	int k = (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_NONBLOCK | O_NOCTTY, rc;
	long fd;

	if (flags & O_DIRECTORY) {
		return fail(v, -ENOTDIR, R_HOST);
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		return fail(v, -EEXIST, R_HOST);
	}
	fd = openat2_beneath(r->dirfds[i], file_map_name(r->filepaths[i]),
			     k | (r->io_flags & (O_DIRECT | O_SYNC)));
	if (fd < 0) {
		return fail(
		    v, errno == ENOENT || errno == ELOOP || errno == EXDEV ? -EACCES : -errno,
		    errno == ENOENT || errno == ELOOP || errno == EXDEV ? R_REPLACED : R_HOST);
	}
	if (fstat((int)fd, &st) != 0 || fstat(r->filefds[i], &held) != 0) {
		rc = fail(v, -errno, R_HOST);
	} else if (st.st_dev != held.st_dev || st.st_ino != held.st_ino || !S_ISREG(st.st_mode)) {
		rc = fail(v, -EACCES, R_REPLACED);
	} else if ((rc = resolve_finish_open((int)fd, &st, flags)) < 0) {
		rc = fail(v, rc, R_HOST);
	}
	if (rc < 0) {
		close((int)fd);
		return rc;
	}
	*out = (int)fd;
	return 0;
}

int resolve_file_stat(const struct resolve_roots *r, int i, struct stat *st,
		      struct resolve_verdict *v)
{
	return fstat(r->filefds[i], st) != 0 ? fail(v, -errno, R_HOST) : 0;
}
