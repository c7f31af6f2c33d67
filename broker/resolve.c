/* SPDX-License-Identifier: MIT */
/* resolve.c - resolution of guest paths against the host directories of the policy (broker).
 *
 * Threat: the guest path comes from a hostile guest (through a VMM that may be compromised),
 * and local users may rename directories and swap symlinks inside the mounted host
 * directories while we resolve.  So:
 *  - the path is normalised lexically first (path.c): ".." never reaches the kernel;
 *  - every lookup is one openat2(2) relative to the mount's dirfd with RESOLVE_BENEATH |
 *    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV (+ RESOLVE_NO_SYMLINKS unless the mount has
 *    symlinks=within): the kernel, not us, decides whether the walk stays inside the mount, and
 *    it does so atomically with the walk.  No host path string is ever built or used;
 *  - there is no fallback when openat2 is missing (ENOSYS goes back to the caller);
 *  - what we hand out is checked on the fd we hand out (fstat), never on a name.
 * Syscalls used: openat2, fstat, close, unlinkat, mkdirat, and on fds we opened ourselves
 * fcntl(F_GETFL/F_SETFL), ftruncate and fchmod.  No global state, no allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "resolve.h"

#define OPENAT2_TRIES 8 /* EAGAIN = concurrent rename/mount seen while resolving ".." */
#define GUEST_FLAGS   (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY)

/* Reasons for the audit log (pol_verdict.reason). */
static const char R_ARGS[] = "invalid arguments";
static const char R_FLAGS[] = "unsupported open flags";
static const char R_PATH_ESCAPE[] = "path leaves /";
static const char R_PATH_LONG[] = "path too long";
static const char R_NO_MOUNT[] = "no mount";
static const char R_RO[] = "read-only mount";
static const char R_SYMLINK[] = "symlink refused";
static const char R_LEAVES[] = "leaves the mount";
static const char R_SPECIAL[] = "not a regular file or directory";
static const char R_HARDLINK[] = "hardlinked file";
static const char R_NOCREATE[] = "creation not allowed";
static const char R_NODELETE[] = "delete not allowed";
static const char R_NOMKDIR[] = "mkdir not allowed";
static const char R_ROOT[] = "mount root";
static const char R_FILE_MAP[] = "file mapping";
static const char R_TRUNC_RO[] = "O_TRUNC needs write access";
static const char R_NOSYS[] = "openat2 unavailable";
static const char R_RACE[] = "resolution kept racing";
static const char R_HOST[] = RESOLVE_REASON_HOST;
static const char R_NOSPACE[] = "write limit: no entry left";

/* A resolved request: the directory it is relative to and the rights that apply.  Scratch
 * has no struct pol_mount, hence the copy of the rights. */
struct target {
	int dirfd;
	bool writable, create, remove, mkdir, hardlinks, within;
	bool scratch; /* the private scratch directory, not a mount */
	int file; /* a single-file mapping: its mount index (file_map.c); else -1 */
	int io_flags; /* --io-mode: O_DIRECT/O_SYNC, added to opens without O_DIRECTORY */
	char *rest; /* "" = the directory itself, else "a/b"; points into norm */
	char norm[POL_PATH_MAX];
};

/* A parent directory fd and the last component; fd is closed by put_parent iff owned. */
struct parent {
	int fd;
	bool owned;
	const char *name;
};

static int fail(struct resolve_verdict *v, int err, const char *reason)
{
	v->reason = reason;
	return err;
}

static uint64_t resolve_flags(const struct target *t)
{
	uint64_t res = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

	if (!t->within) {
		res |= RESOLVE_NO_SYMLINKS;
	}
	return res;
}

/* openat2 relative to dirfd under the target's resolve flags.  O_CLOEXEC always, O_NOCTTY
 * unless O_PATH (openat2 rejects O_PATH with anything but O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC,
 * and an O_PATH open never acquires a terminal anyway); O_NOFOLLOW unless `follow` (see the callers
 * for when a trailing symlink may be followed: never outside the mount, since
 * RESOLVE_BENEATH|NO_XDEV hold for the whole walk).  The mode is passed only with O_CREAT (openat2
 * rejects it otherwise).  Retries EAGAIN a bounded number of times.  Returns the fd or -errno. */
static int t_openat2(const struct target *t, int dirfd, const char *path, int flags, uint32_t mode,
		     bool follow)
{
	struct open_how how;

	flags |= O_CLOEXEC;
	if (!(flags & O_PATH)) {
		flags |= O_NOCTTY;
	}
	if (!follow) {
		flags |= O_NOFOLLOW;
	}
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(unsigned int)flags;
	how.mode = (flags & O_CREAT) ? (mode & 0777) : 0;
	how.resolve = resolve_flags(t);
	for (int i = 0; i < OPENAT2_TRIES; i++) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);

		if (fd >= 0) {
			return (int)fd;
		}
		if (errno != EAGAIN) {
			return -errno;
		}
	}
	return -EAGAIN;
}

/* Maps an openat2 failure to the verdict.  ELOOP under RESOLVE_NO_SYMLINKS (or O_NOFOLLOW on
 * a trailing symlink) means a symlink was met: a policy refusal.  EXDEV is RESOLVE_BENEATH
 * (escape) or RESOLVE_NO_XDEV (mount crossing); the kernel does not say which. */
static int resolve_error(const struct target *t, int err, struct resolve_verdict *v)
{
	switch (err) {
	case -ELOOP:
		if (!t->within) {
			return fail(v, -EACCES, R_SYMLINK);
		}
		break;
	case -EXDEV:
		return fail(v, -EACCES, R_LEAVES);
	case -ENOSYS:
		return fail(v, err, R_NOSYS);
	case -EAGAIN:
		return fail(v, err, R_RACE);
	default:
		break;
	}
	return fail(v, err, R_HOST);
}

/* Normalises and matches guest_path and fills t.  Returns 0 or -errno with the verdict. */
static int resolve_target(const struct resolve_roots *r, const char *guest_path, struct target *t,
			  struct resolve_verdict *v)
{
	const struct pol_mount *m;
	const char *rest = NULL;
	int idx, rc;

	if (r == NULL || r->pol == NULL || guest_path == NULL) {
		return fail(v, -EINVAL, R_ARGS);
	}
	rc = path_normalize(guest_path, t->norm, sizeof t->norm);
	if (rc == -ENAMETOOLONG) {
		return fail(v, rc, R_PATH_LONG);
	}
	if (rc < 0) {
		return fail(v, -EACCES, R_PATH_ESCAPE);
	}
	t->io_flags = r->io_flags;
	idx = policy_match(r->pol, t->norm, &rest);
	if (idx >= 0 && (size_t)idx < r->pol->nmounts && rest != NULL && r->dirfds != NULL &&
	    r->dirfds[idx] >= 0) {
		m = &r->pol->mounts[idx];
		v->mount = idx;
		t->dirfd = r->dirfds[idx];
		t->writable = m->writable;
		t->create = m->writable && m->create;
		t->remove = m->writable && m->remove;
		t->mkdir = m->writable && m->mkdir;
		t->hardlinks = m->hardlinks;
		t->within = m->symlinks == POL_SYMLINKS_WITHIN;
		t->scratch = false;
		t->rest = t->norm + (rest - t->norm);
		t->file = m->file ? idx : -1;
		if (m->file && (r->filefds == NULL || r->filepaths == NULL)) {
			return fail(v, -EACCES, R_NO_MOUNT);
		}
		return m->file && t->rest[0] != '\0' ? file_map_below(v) : 0;
	}
	if (idx >= 0 || r->scratch_fd < 0) {
		return fail(v, -EACCES, R_NO_MOUNT);
	}
	/* Scratch: everything under it is the guest's own, but no links of either kind. */
	v->mount = -1;
	t->dirfd = r->scratch_fd;
	t->writable = t->create = t->remove = t->mkdir = true;
	t->hardlinks = false;
	t->within = false;
	t->scratch = true;
	t->file = -1;
	t->rest = t->norm + 1; /* norm is "/" or "/a/b" */
	return 0;
}

/* Opens the parent directory of t->rest (which must not be "") as O_PATH and splits off the
 * last component.  Symlinks on the way are refused or, with symlinks=within, followed inside
 * the mount; a trailing symlink in the parent part is an ordinary intermediate component. */
static int get_parent(struct target *t, struct parent *p, struct resolve_verdict *v)
{
	char *slash = strrchr(t->rest, '/');
	int fd;

	p->fd = t->dirfd;
	p->owned = false;
	if (slash == NULL) {
		p->name = t->rest;
	} else {
		*slash = '\0';
		p->name = slash + 1;
		fd = t_openat2(t, t->dirfd, t->rest, O_PATH | O_DIRECTORY, 0, true);
		if (fd < 0) {
			return resolve_error(t, fd, v);
		}
		p->fd = fd;
		p->owned = true;
	}
	/* Cannot happen after path_normalize; checked because unlinkat/mkdirat would act on it. */
	if (p->name[0] == '\0' || strcmp(p->name, ".") == 0 || strcmp(p->name, "..") == 0 ||
	    strchr(p->name, '/') != NULL) {
		if (p->owned) {
			close(p->fd);
		}
		return fail(v, -EINVAL, R_ARGS);
	}
	return 0;
}

static void put_parent(struct parent *p)
{
	if (p->owned) {
		close(p->fd);
	}
	p->owned = false;
}

/* Checks the object an open would return.  `pre` is the look-before-open on an O_PATH fd; the
 * authoritative check is the one on the opened fd (pre = false). */
static int check_object(const struct target *t, const struct stat *st, int flags, bool pre,
			struct resolve_verdict *v)
{
	if (S_ISLNK(st->st_mode)) {
		return fail(v, -EACCES, R_SYMLINK);
	}
	if (pre && (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		return fail(v, -EEXIST, R_HOST);
	}
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
		return fail(v, -EACCES, R_SPECIAL);
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(st->st_mode)) {
		return fail(v, -ENOTDIR, R_HOST);
	}
	if (S_ISREG(st->st_mode) && st->st_nlink > 1 && !t->hardlinks) {
		return fail(v, -EACCES, R_HARDLINK);
	}
	if (pre && (flags & O_CREAT) && S_ISDIR(st->st_mode)) {
		return fail(v, -EISDIR, R_HOST);
	}
	return 0;
}

/* Open without blocking on FIFOs and without being raced into handing out the wrong object:
 *
 *  1. Look: openat2(O_PATH) + fstat.  An O_PATH open never calls the driver's or the FIFO's
 *     open, so a FIFO, socket, device, symlink or hardlink that simply sits there is refused
 *     without ever being opened (opening e.g. a watchdog device has side effects even if we
 *     close it at once).
 *  2. Open the same path for real with O_NONBLOCK added.  A local user may have swapped the
 *     name in between; O_NONBLOCK guarantees that even a FIFO swapped in cannot block us
 *     (read: returns at once; write without reader: ENXIO).  O_TRUNC is NOT passed to the
 *     kernel: a hardlink to an outside file swapped in here must not be truncated.
 *  3. fstat the fd we will hand out and check it again: this check is the authoritative one,
 *     and nothing can swap the object behind an fd.  Only then clear O_NONBLOCK, apply O_TRUNC
 *     with ftruncate and strip set-id bits.
 * Remaining window: a device node swapped in between 1 and 2 gets its driver open() called
 * (and is closed again, never returned).  Only a host user who can create device nodes in the
 * mount can do that; mount the shares nodev to close it (CVE-2020-35517 mitigation). */
/* What is there now must be allowed before anything is opened for I/O (a missing name is
 * fine if the open may create it). */
static int precheck(struct target *t, const char *path, int flags, struct resolve_verdict *v)
{
	struct stat st;
	int fd = t_openat2(t, t->dirfd, path, O_PATH, 0, true), rc;

	if (fd == -ENOENT && (flags & O_CREAT)) {
		return t->create ? 0 : fail(v, -EACCES, R_NOCREATE);
	}
	if (fd < 0) {
		return resolve_error(t, fd, v);
	}
	rc = fstat(fd, &st) < 0 ? fail(v, -errno, R_HOST) : check_object(t, &st, flags, true, v);
	close(fd);
	return rc < 0 ? rc : 0;
}

/* The open flags for the kernel: no O_TRUNC (applied on the checked fd) and never blocking
 * on a FIFO; O_CREAT/O_EXCL only where the mount may create. */
static int kernel_flags(const struct target *t, int flags)
{
	int k = (flags & ~(O_TRUNC | O_EXCL)) | O_NONBLOCK;

	if (!(flags & O_DIRECTORY)) {
		k |= t->io_flags & (O_DIRECT | O_SYNC);
	}

	if ((flags & O_CREAT) && t->create) {
		return k | (flags & O_EXCL);
	}
	return k & ~O_CREAT;
}

/* On the opened, checked fd: blocking again, O_TRUNC, no set-id bits behind a write.
 * Returns 0 or -errno. */
int resolve_finish_open(int fd, const struct stat *st, int flags)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		return -errno;
	}
	if (!S_ISREG(st->st_mode)) {
		return 0;
	}
	if ((flags & O_TRUNC) && ftruncate(fd, 0) < 0) {
		return -errno;
	}
	/* Never leave a set-id file behind a write: created files can only get them from
	 * elsewhere (mode is & 0777), existing ones would keep them because the broker may hold
	 * CAP_FSETID, which stops the kernel from stripping them on write. */
	if (((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT)) &&
	    (st->st_mode & (S_ISUID | S_ISGID)) && fchmod(fd, st->st_mode & 01777) < 0) {
		return -errno;
	}
	return 0;
}

/* The open itself, knowing exactly whether it created the file (*created), and creating
 * nothing unless `may_create`.  Without O_EXCL an existing file is tried first; a missing one
 * is then created with O_EXCL, so a file that appeared meanwhile is never counted.  If O_EXCL
 * finds something after all (a name that came back, or with symlinks=within a dangling
 * symlink to follow), the kernel decides and the entry counts as created (fail safe).  With
 * symlinks=within a trailing symlink is followed (inside the mount only). */
static int open_create(const struct target *t, const char *path, int flags, uint32_t mode,
		       bool may_create, bool *created)
{
	int k = kernel_flags(t, flags), fd;

	*created = false;
	if (!(k & O_CREAT) || (k & O_EXCL)) {
		fd = t_openat2(t, t->dirfd, path, may_create ? k : k & ~(O_CREAT | O_EXCL), mode,
			       t->within);
		if (fd >= 0 && !may_create && (k & O_EXCL)) {
			close(fd); /* it exists: what O_EXCL says before any budget */
			return -EEXIST;
		}
		*created = fd >= 0 && (k & O_EXCL);
		return fd;
	}
	fd = t_openat2(t, t->dirfd, path, k & ~O_CREAT, mode, t->within);
	if (fd != -ENOENT || !may_create) {
		return fd;
	}
	fd = t_openat2(t, t->dirfd, path, k | O_EXCL, mode, t->within);
	if (fd == -EEXIST) {
		fd = t_openat2(t, t->dirfd, path, k, mode, t->within);
	}
	*created = fd >= 0;
	return fd;
}

static int open_checked(struct target *t, const char *path, int flags, uint32_t mode,
			unsigned new_max, int *out, struct resolve_verdict *v)
{
	bool may = v->created < new_max, created;
	struct stat st;
	int fd, rc = precheck(t, path, flags, v);

	if (rc < 0) {
		return rc;
	}
	fd = open_create(t, path, flags, mode, may, &created);
	v->created += created;
	if (fd < 0) {
		if (fd == -ENOENT && (flags & O_CREAT) && !t->create) {
			return fail(v, -EACCES, R_NOCREATE);
		}
		if (fd == -ENOENT && (flags & O_CREAT) && !may) {
			return fail(v, -ENOSPC, R_NOSPACE);
		}
		return resolve_error(t, fd, v);
	}
	if (fstat(fd, &st) < 0) {
		rc = fail(v, -errno, R_HOST);
	} else if ((rc = check_object(t, &st, flags, false, v)) >= 0 &&
		   (rc = resolve_finish_open(fd, &st, flags)) < 0) {
		rc = fail(v, rc, R_HOST);
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* Scratch is the guest's private space, and Hermit 0.6.x has no mkdir: O_CREAT there
 * creates the missing parent directories (0700), each step resolved like any lookup, as many
 * as `allow` (each counted in v->created); one more is ENOSPC. */
static int scratch_parents(const struct target *t, unsigned allow, struct resolve_verdict *v)
{
	char path[POL_PATH_MAX];
	char *comp = path, *slash;
	int dir = t->dirfd, rc = 0;

	snprintf(path, sizeof path, "%s", t->rest);
	while (rc == 0 && (slash = strchr(comp, '/')) != NULL) {
		bool may = v->created < allow;
		int next;
		*slash = '\0';
		if (may && mkdirat(dir, comp, 0700) == 0) {
			v->created++;
		} else if (may && errno != EEXIST) {
			rc = fail(v, -errno, R_HOST);
			break;
		}
		next = t_openat2(t, dir, comp, O_PATH | O_DIRECTORY, 0, false);
		if (dir != t->dirfd) {
			close(dir);
		}
		if (next < 0) { /* missing and not ours to make: the budget is spent */
			return !may && next == -ENOENT ? fail(v, -ENOSPC, R_NOSPACE)
						       : resolve_error(t, next, v);
		}
		dir = next;
		comp = slash + 1;
	}
	if (dir != t->dirfd) {
		close(dir);
	}
	return rc;
}

int resolve_open(const struct resolve_roots *r, const char *guest_path, int flags, uint32_t mode,
		 int *fd, struct resolve_verdict *v)
{
	return resolve_open_counted(r, guest_path, flags, mode, RESOLVE_NEW_ANY, fd, v);
}

int resolve_open_counted(const struct resolve_roots *r, const char *guest_path, int flags,
			 uint32_t mode, unsigned new_max, int *fd, struct resolve_verdict *v)
{
	struct resolve_verdict dummy;
	struct target t;
	int acc = flags & O_ACCMODE, rc;

	if (v == NULL) {
		v = &dummy;
	}
	v->reason = NULL;
	v->mount = -1;
	v->created = 0;
	if (fd == NULL) {
		return fail(v, -EINVAL, R_ARGS);
	}
	*fd = -1;
	if ((flags & ~GUEST_FLAGS) != 0 || acc == O_ACCMODE ||
	    (flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY)) {
		return fail(v, -EINVAL, R_FLAGS);
	}
	if (!(flags & O_CREAT)) {
		flags &= ~O_EXCL; /* meaningless without O_CREAT except on block devices */
	}
	rc = resolve_target(r, guest_path, &t, v);
	if (rc < 0) {
		return rc;
	}
	if ((acc != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND))) && !t.writable) {
		return fail(v, -EROFS, R_RO);
	}
	/* O_TRUNC is applied with ftruncate after the checks, which needs a writable fd; Linux
	 * would truncate on O_RDONLY|O_TRUNC, POSIX leaves it unspecified. */
	if ((flags & O_TRUNC) && acc == O_RDONLY) {
		return fail(v, -EINVAL, R_TRUNC_RO);
	}
	if (t.file >= 0) {
		return resolve_file_open(r, t.file, flags, fd, v);
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) && !t.create) {
		return fail(v, -EACCES, R_NOCREATE);
	}
	/* The file itself needs one entry of new_max: parents may take the rest. */
	if (t.scratch && (flags & O_CREAT) &&
	    (rc = scratch_parents(&t, new_max > 0 ? new_max - 1 : 0, v)) < 0) {
		return rc;
	}
	return open_checked(&t, t.rest[0] != '\0' ? t.rest : ".", flags, mode, new_max, fd, v);
}

/* The common start of unlink and mkdir: resolve, require a writable mount that grants the
 * operation's right, refuse the mount root itself (root_err), and open the parent. */
static int name_op_begin(const struct resolve_roots *r, const char *guest_path, bool is_mkdir,
			 struct target *t, struct parent *p, struct resolve_verdict *v)
{
	int rc;

	v->reason = NULL;
	v->mount = -1;
	v->created = 0;
	rc = resolve_target(r, guest_path, t, v);
	if (rc < 0) {
		return rc;
	}
	if (t->file >= 0) { /* the mapped file itself: never removed, never a directory */
		return fail(v, is_mkdir ? -EEXIST : -EBUSY, R_FILE_MAP);
	}
	if (!t->writable) {
		return fail(v, -EROFS, R_RO);
	}
	if (!(is_mkdir ? t->mkdir : t->remove)) {
		return fail(v, -EACCES, is_mkdir ? R_NOMKDIR : R_NODELETE);
	}
	if (t->rest[0] == '\0') {
		return fail(v, is_mkdir ? -EEXIST : -EBUSY, R_ROOT);
	}
	return get_parent(t, p, v);
}

int resolve_unlink(const struct resolve_roots *r, const char *guest_path, struct resolve_verdict *v)
{
	struct resolve_verdict dummy;
	struct parent p;
	struct target t;
	int rc;

	if (v == NULL) {
		v = &dummy;
	}
	rc = name_op_begin(r, guest_path, false, &t, &p, v);
	if (rc < 0) {
		return rc;
	}
	/* Never AT_REMOVEDIR: a directory gives the kernel's EISDIR.  The last component is not
	 * followed by unlinkat, so a symlink is removed, never its target. */
	rc = unlinkat(p.fd, p.name, 0) < 0 ? -errno : 0;
	put_parent(&p);
	return rc < 0 ? fail(v, rc, R_HOST) : 0;
}

int resolve_mkdir(const struct resolve_roots *r, const char *guest_path, uint32_t mode,
		  struct resolve_verdict *v)
{
	struct resolve_verdict dummy;
	struct parent p;
	struct target t;
	struct stat st;
	int rc, fd;

	if (v == NULL) {
		v = &dummy;
	}
	rc = name_op_begin(r, guest_path, true, &t, &p, v);
	if (rc < 0) {
		return rc;
	}
	if (mkdirat(p.fd, p.name, (mode_t)(mode & 0777)) < 0) {
		rc = fail(v, -errno, R_HOST);
		goto out;
	}
	v->created = 1;
	/* A setgid parent makes the new directory setgid: strip it (and setuid) through an fd,
	 * opened without following anything and without crossing a mount, so a name swapped
	 * since mkdirat can at worst be another directory of this mount. */
	fd = t_openat2(&t, p.fd, p.name, O_RDONLY | O_DIRECTORY, 0, false);
	if (fd < 0) {
		rc = resolve_error(&t, fd, v);
		goto out;
	}
	if (fstat(fd, &st) < 0 ||
	    ((st.st_mode & (S_ISUID | S_ISGID)) && fchmod(fd, st.st_mode & 01777) < 0)) {
		rc = fail(v, -errno, R_HOST);
	}
	close(fd);
out:
	put_parent(&p);
	return rc;
}

int resolve_stat(const struct resolve_roots *r, const char *guest_path, bool nofollow,
		 struct stat *st, struct resolve_verdict *v)
{
	struct resolve_verdict dummy;
	struct target t;
	int rc, fd;

	if (v == NULL) {
		v = &dummy;
	}
	v->reason = NULL;
	v->mount = -1;
	v->created = 0;
	if (st == NULL) {
		return fail(v, -EINVAL, R_ARGS);
	}
	rc = resolve_target(r, guest_path, &t, v);
	if (rc < 0) {
		return rc;
	}
	if (t.file >= 0) {
		return resolve_file_stat(r, t.file, st, v);
	}
	if (t.rest[0] == '\0') {
		return fstat(t.dirfd, st) < 0 ? fail(v, -errno, R_HOST) : 0;
	}
	/* Both through openat2(O_PATH) rather than fstatat: fstatat has no RESOLVE_NO_XDEV and
	 * would report the root of a mount sitting on the last component.  For lstat, O_PATH |
	 * O_NOFOLLOW returns the trailing symlink itself, even under RESOLVE_NO_SYMLINKS: its
	 * metadata (size = target length, owner, times) is all that is revealed, the target is
	 * never resolved.  O_PATH never opens the object, so FIFOs cannot block here. */
	fd = t_openat2(&t, t.dirfd, t.rest, O_PATH, 0, !nofollow);
	if (fd < 0) {
		return resolve_error(&t, fd, v);
	}
	rc = fstat(fd, st) < 0 ? fail(v, -errno, R_HOST) : 0;
	close(fd);
	/* A hardlinked file's metadata is the outside file's (size, times, owner, inode): refuse
	 * it like opening it, unless the mount allows hardlinks. */
	if (rc == 0 && S_ISREG(st->st_mode) && st->st_nlink > 1 && !t.hardlinks) {
		memset(st, 0, sizeof *st);
		return fail(v, -EACCES, R_HARDLINK);
	}
	return rc;
}
