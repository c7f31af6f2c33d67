/* SPDX-License-Identifier: MIT */
/* test_resolve.c - broker/resolve.c against a hostile host tree (resolve_fixture.h): an
 * attack table (every operation against every kind of object, exact -errno and reason, no fd
 * leak, nothing outside changed after every row), special cases, seccomp-checked syscall
 * discipline, and rename/symlink-swap races.
 *
 * Runs as root.  main() moves into a private mount namespace so the bind mount cannot leak;
 * cases that need mknod or mount are skipped (cmocka skip()) when those fail with EPERM.
 *
 * Note on NUL: a guest path with an embedded NUL is simply a shorter C string here ("a\0b" is
 * "a"); the broker protocol checks that the NUL is the last byte of the received path.
 * Note on "/" inside a component (libkrun #329): impossible, the resolver only ever sees a
 * whole path; ".." is removed lexically before the kernel sees the path, so physical ".."
 * only arises from symlink targets, which are refused or confined (rows "up", "subl").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "resolve.h"
#include "resolve_fixture.h"

/* ---- the attack table ---- */

enum op { R, W, RW, C, X, T, A, RT, D, F, S, L, U, M };

static const char *const op_names[] = {
    [R] = "open(R)",	[W] = "open(W)",     [RW] = "open(RW)",	   [C] = "open(RW|CREAT)",
    [X] = "open(EXCL)", [T] = "open(TRUNC)", [A] = "open(APPEND)", [RT] = "open(R|TRUNC)",
    [D] = "open(DIR)",	[F] = "open(flags)", [S] = "stat",	   [L] = "lstat",
    [U] = "unlink",	[M] = "mkdir",
};

struct row {
	const char *path;
	enum op op;
	int flags; /* only for F */
	int err; /* 0 or -errno */
	const char *reason; /* on error */
	/* On success: the host object (relative to T) the fd/stat must be, the object removed
	 * (unlink) or created (mkdir).  On error: a host path that must not exist afterwards. */
	const char *obj;
};

#define OK(p, o, obj)                                                                              \
	{                                                                                          \
		p, o, 0, 0, NULL, obj                                                              \
	}
#define HOST(p, o, e)                                                                              \
	{                                                                                          \
		p, o, 0, -(e), "host error", NULL                                                  \
	}
#define DENY(p, o, e, why)                                                                         \
	{                                                                                          \
		p, o, 0, -(e), why, NULL                                                           \
	}
#define SYM(p, o)     DENY(p, o, EACCES, "symlink refused")
#define LEAVE(p, o)   DENY(p, o, EACCES, "leaves the mount")
#define SPECIAL(p, o) DENY(p, o, EACCES, "not a regular file or directory")
#define HARD(p, o)    DENY(p, o, EACCES, "hardlinked file")
#define ROFS(p, o)    DENY(p, o, EROFS, "read-only mount")
#define BADFLAGS(p, fl)                                                                            \
	{                                                                                          \
		p, F, fl, -EINVAL, "unsupported open flags", NULL                                  \
	}
#define ABSENT(p, o, e, why, obj)                                                                  \
	{                                                                                          \
		p, o, 0, -(e), why, obj                                                            \
	}

/* Every operation on a path on which every operation is refused the same way. */
#define ALL(mac, p)                                                                                \
	mac(p, R), mac(p, W), mac(p, RW), mac(p, C), mac(p, X), mac(p, T), mac(p, A), mac(p, D),   \
	    mac(p, S), mac(p, L), mac(p, U), mac(p, M)

/* A symlink in the mount: refused (deny) or escaping (within) for everything that resolves
 * it; lstat shows the link itself, unlink removes it (never the target), mkdir EEXIST. */
#define LINK_ROWS(mac, p, obj)                                                                     \
	mac(p, R), mac(p, W), mac(p, RW), mac(p, C), mac(p, X), mac(p, T), mac(p, A), mac(p, D),   \
	    mac(p, S), OK(p, L, obj), OK(p, U, obj), HOST(p, M, EEXIST)

/* A special file: never opened, but stat/lstat/unlink work (no open involved). */
#define SPECIAL_ROWS(p, obj)                                                                       \
	SPECIAL(p, R), SPECIAL(p, W), SPECIAL(p, RW), SPECIAL(p, C), HOST(p, X, EEXIST),           \
	    SPECIAL(p, T), SPECIAL(p, D), OK(p, S, obj), OK(p, L, obj), OK(p, U, obj),             \
	    HOST(p, M, EEXIST)

/* Rows valid for both /data (deny) and /w (within): no symlink involved. */
#define COMMON_ROWS(P, mnt)                                                                        \
	OK(P, R, mnt), HOST(P, W, EISDIR), HOST(P, RW, EISDIR), HOST(P, C, EISDIR),                \
	    HOST(P, X, EEXIST), HOST(P, T, EISDIR), HOST(P, A, EISDIR), OK(P, D, mnt),             \
	    OK(P, S, mnt), OK(P, L, mnt), DENY(P, U, EBUSY, "mount root"),                         \
	    DENY(P, M, EEXIST, "mount root"), OK(P "/file", R, "root/file"),                       \
	    OK(P "/file", W, "root/file"), OK(P "/file", RW, "root/file"),                         \
	    OK(P "/file", C, "root/file"), HOST(P "/file", X, EEXIST),                             \
	    OK(P "/file", T, "root/file"), OK(P "/file", A, "root/file"),                          \
	    HOST(P "/file", D, ENOTDIR), OK(P "/file", S, "root/file"),                            \
	    OK(P "/file", L, "root/file"), OK(P "/file", U, "root/file"),                          \
	    HOST(P "/file", M, EEXIST), OK(P "/sub", R, "root/sub"), HOST(P "/sub", W, EISDIR),    \
	    HOST(P "/sub", RW, EISDIR), HOST(P "/sub", C, EISDIR), HOST(P "/sub", X, EEXIST),      \
	    HOST(P "/sub", T, EISDIR), OK(P "/sub", D, "root/sub"), OK(P "/sub", S, "root/sub"),   \
	    OK(P "/sub", L, "root/sub"), HOST(P "/sub", U, EISDIR), HOST(P "/sub", M, EEXIST),     \
	    OK(P "/sub/x", R, "root/sub/x"), OK(P "/sub/x", U, "root/sub/x"),                      \
	    OK(P "/sub/new", M, "root/sub/new"), OK(P "/sub/new", C, "root/sub/new"),              \
	    HOST(P "/missing", R, ENOENT), HOST(P "/missing", W, ENOENT),                          \
	    OK(P "/missing", C, "root/missing"), OK(P "/missing", X, "root/missing"),              \
	    HOST(P "/missing", T, ENOENT), HOST(P "/missing", D, ENOENT),                          \
	    HOST(P "/missing", S, ENOENT), HOST(P "/missing", L, ENOENT),                          \
	    HOST(P "/missing", U, ENOENT), OK(P "/missing", M, "root/missing"),                    \
	    HOST(P "/missing/x", R, ENOENT), HOST(P "/missing/x", C, ENOENT),                      \
	    HOST(P "/missing/x", S, ENOENT), HOST(P "/missing/x", L, ENOENT),                      \
	    HOST(P "/missing/x", U, ENOENT), HOST(P "/missing/x", M, ENOENT),                      \
	    HOST(P "/file/x", R, ENOTDIR), HOST(P "/file/x", C, ENOTDIR),                          \
	    HOST(P "/file/x", S, ENOTDIR), HOST(P "/file/x", L, ENOTDIR),                          \
	    HOST(P "/file/x", U, ENOTDIR), HOST(P "/file/x", M, ENOTDIR),                          \
	    SPECIAL_ROWS(P "/fifo", "root/fifo"), SPECIAL_ROWS(P "/sock", "root/sock"),            \
	    HARD(P "/hlink", R), HARD(P "/hlink", W), HARD(P "/hlink", RW), HARD(P "/hlink", C),   \
	    HOST(P "/hlink", X, EEXIST), HARD(P "/hlink", T), HARD(P "/hlink", A),                 \
	    HOST(P "/hlink", D, ENOTDIR), HARD(P "/hlink", S), HARD(P "/hlink", L),                \
	    OK(P "/hlink", U, "root/hlink"), HOST(P "/hlink", M, EEXIST),                          \
	    OK(P "/sgid", R, "root/sgid"), OK(P "/sgid/f", C, "root/sgid/f"),                      \
	    OK(P "/sgid/d", M, "root/sgid/d"), OK(P "/nl\nname", R, "root/nl\nname"),              \
	    OK(P "/nl\nname", S, "root/nl\nname"), OK(P "/nl\nname", U, "root/nl\nname"),          \
	    OK(P "/new\nline", C, "root/new\nline"), OK(P "/sp ace", R, "root/sp ace"),            \
	    OK(P "/sp ace", W, "root/sp ace"), OK(P "/sp ace", S, "root/sp ace"),                  \
	    OK(P "/\xff\xfe", R, "root/\xff\xfe"), OK(P "/\xff\xfe", W, "root/\xff\xfe"),          \
	    OK(P "/\xff\xfe", S, "root/\xff\xfe"), OK(P "/\xff\xfe", L, "root/\xff\xfe"),          \
	    OK(P "/\xff\xfe", U, "root/\xff\xfe"), OK(P "/new\xff", C, "root/new\xff"),            \
	    OK(P "/d\xfe\xff", M, "root/d\xfe\xff"), OK(P "/sub/../file", R, "root/file"),         \
	    HOST(P "/up/../outside", R, ENOENT), OK(P "/up/../outside", C, "root/outside")

static const struct row data_rows[] = {
    COMMON_ROWS("/data", "root"),
    LINK_ROWS(SYM, "/data/up", "root/up"),
    ALL(SYM, "/data/up/outside"),
    LINK_ROWS(SYM, "/data/etc", "root/etc"),
    ALL(SYM, "/data/etc/passwd"),
    LINK_ROWS(SYM, "/data/proc", "root/proc"),
    ALL(SYM, "/data/proc/etc/passwd"),
    LINK_ROWS(SYM, "/data/dangling", "root/dangling"),
    ABSENT("/data/dangling", C, EACCES, "symlink refused", "root/nonexistent"),
    ABSENT("/data/dangling", X, EACCES, "symlink refused", "root/nonexistent"),
    LINK_ROWS(SYM, "/data/dangling_out", "root/dangling_out"),
    ABSENT("/data/dangling_out", C, EACCES, "symlink refused", "created_outside"),
    LINK_ROWS(SYM, "/data/a", "root/a"),
    LINK_ROWS(SYM, "/data/inlink", "root/inlink"),
    LINK_ROWS(SYM, "/data/subl", "root/subl"),
    ALL(SYM, "/data/subl/x"),
    SYM("/data/subl/../file/../subl/x", R), /* lexically "/data/subl/x" */
    DENY("/data/../outside", R, EACCES, "no mount"),
    DENY("/data/../outside", C, EACCES, "no mount"),
    DENY("/data/../../outside", R, EACCES, "path leaves /"),
    DENY("/data/../../outside", U, EACCES, "path leaves /"),
    DENY("/database/file", R, EACCES, "no mount"),
    OK("data/file", R, "root/file"),
    OK("//data//./file/", R, "root/file"),
    OK("/data/file\0/../../outside", R, "root/file"), /* C string ends at the NUL */
    BADFLAGS("/data/file", O_RDONLY | O_NONBLOCK),
    BADFLAGS("/data/file", O_RDONLY | O_NOFOLLOW),
    BADFLAGS("/data/file", O_RDONLY | O_CLOEXEC),
    BADFLAGS("/data/file", O_PATH),
    BADFLAGS("/data/file", O_RDWR | O_SYNC),
    BADFLAGS("/data/file", O_RDWR | O_DIRECT),
    BADFLAGS("/data/file", O_RDONLY | O_NOATIME),
    BADFLAGS("/data/file", O_RDWR | O_ASYNC),
    BADFLAGS("/data", O_TMPFILE | O_RDWR),
    BADFLAGS("/data/file", O_ACCMODE),
    BADFLAGS("/data/file", (int)0x80000000u),
    {"/data/new", F, O_RDWR | O_CREAT | O_DIRECTORY, -EINVAL, "unsupported open flags", "root/new"},
    DENY("/data/file", RT, EINVAL, "O_TRUNC needs write access"),
    {"/data/file", F, O_RDONLY | O_EXCL, 0, NULL, "root/file"}, /* EXCL w/o CREAT: ignored */
    {"/data/new", F, O_WRONLY | O_CREAT | O_TRUNC, 0, NULL, "root/new"},
    {"/data/file", F, O_RDWR | O_APPEND | O_TRUNC, 0, NULL, "root/file"},
};

static const struct row within_rows[] = {
    COMMON_ROWS("/w", "root"), LINK_ROWS(LEAVE, "/w/up", "root/up"), ALL(LEAVE, "/w/up/outside"),
    ALL(LEAVE, "/w/up/root/file"), /* leaves and comes back: still refused */
    LINK_ROWS(LEAVE, "/w/etc", "root/etc"), ALL(LEAVE, "/w/etc/passwd"),
    LINK_ROWS(LEAVE, "/w/proc", "root/proc"), ALL(LEAVE, "/w/proc/etc/passwd"),
    /* dangling -> nonexistent (inside): followed like any in-mount symlink */
    HOST("/w/dangling", R, ENOENT), HOST("/w/dangling", S, ENOENT),
    OK("/w/dangling", L, "root/dangling"), OK("/w/dangling", C, "root/nonexistent"),
    ABSENT("/w/dangling", X, EEXIST, "host error", "root/nonexistent"),
    OK("/w/dangling", U, "root/dangling"), HOST("/w/dangling", M, EEXIST),
    LINK_ROWS(LEAVE, "/w/dangling_out", "root/dangling_out"),
    ABSENT("/w/dangling_out", C, EACCES, "leaves the mount", "created_outside"),
    HOST("/w/a", R, ELOOP), HOST("/w/a", C, ELOOP), HOST("/w/a", S, ELOOP), OK("/w/a", L, "root/a"),
    OK("/w/a", U, "root/a"), HOST("/w/a/x", M, ELOOP), OK("/w/inlink", R, "root/file"),
    OK("/w/inlink", W, "root/file"), OK("/w/inlink", C, "root/file"), HOST("/w/inlink", X, EEXIST),
    OK("/w/inlink", T, "root/file"), HOST("/w/inlink", D, ENOTDIR), OK("/w/inlink", S, "root/file"),
    OK("/w/inlink", L, "root/inlink"), OK("/w/inlink", U, "root/inlink"),
    HOST("/w/inlink", M, EEXIST), OK("/w/subl", R, "root/sub"), OK("/w/subl", D, "root/sub"),
    OK("/w/subl", S, "root/sub"), OK("/w/subl", L, "root/subl"), OK("/w/subl", U, "root/subl"),
    OK("/w/subl/x", R, "root/sub/x"), OK("/w/subl/x", S, "root/sub/x"),
    OK("/w/subl/x", L, "root/sub/x"), OK("/w/subl/x", U, "root/sub/x"),
    OK("/w/subl/nd", M, "root/sub/nd"), OK("/w/subl/nf", C, "root/sub/nf"),
    OK("/w/subl/../file", R, "root/file"), /* lexical: never goes through subl */
};

static const struct row chardev_rows[] = {
    SPECIAL_ROWS("/data/null", "root/null"),
    SPECIAL_ROWS("/w/null", "root/null"),
};

static const struct row bind_rows[] = {
    ALL(LEAVE, "/data/bindmnt/inner"),
    ALL(LEAVE, "/w/bindmnt/inner"),
    LEAVE("/data/bindmnt", R),
    LEAVE("/data/bindmnt", W),
    LEAVE("/data/bindmnt", C),
    LEAVE("/data/bindmnt", X),
    LEAVE("/data/bindmnt", D),
    LEAVE("/data/bindmnt", S),
    LEAVE("/data/bindmnt", L), /* fstatat would have shown the mounted root */
    HOST("/data/bindmnt", U, EISDIR),
    HOST("/data/bindmnt", M, EEXIST),
    LEAVE("/w/bindmnt", R),
    LEAVE("/w/bindmnt", L),
};

static const struct row ro_rows[] = {
    OK("/ro", R, "ro"),
    OK("/ro", D, "ro"),
    OK("/ro", S, "ro"),
    ROFS("/ro", W),
    ROFS("/ro", U),
    ROFS("/ro", M),
    OK("/ro/file", R, "ro/file"),
    OK("/ro/file", S, "ro/file"),
    OK("/ro/file", L, "ro/file"),
    ROFS("/ro/file", W),
    ROFS("/ro/file", RW),
    ROFS("/ro/file", C),
    ROFS("/ro/file", X),
    ROFS("/ro/file", T),
    ROFS("/ro/file", A),
    ROFS("/ro/file", RT),
    {"/ro/file", F, O_RDONLY | O_APPEND, -EROFS, "read-only mount", NULL},
    ROFS("/ro/file", U),
    ROFS("/ro/file", M),
    ROFS("/ro/sub", U),
    ROFS("/ro/sub/new", M),
    ABSENT("/ro/new", C, EROFS, "read-only mount", "ro/new"),
    ABSENT("/ro/new", X, EROFS, "read-only mount", "ro/new"),
    HOST("/ro/new", R, ENOENT),
    SYM("/ro/lnk", R),
    OK("/ro/lnk", L, "ro/lnk"),
    ROFS("/ro/lnk", U),
    OK("/hl/f1", R, "hl/f1"), /* hardlinks=true */
    OK("/hl/f2", W, "hl/f1"),
    OK("/hl/f2", T, "hl/f2"),
    /* rw mount without create/remove/mkdir rights */
    OK("/nc/file", W, "root/file"),
    OK("/nc/file", C, "root/file"),
    OK("/nc/file", T, "root/file"),
    DENY("/nc/file", X, EACCES, "creation not allowed"),
    ABSENT("/nc/new", C, EACCES, "creation not allowed", "root/new"),
    ABSENT("/nc/new", X, EACCES, "creation not allowed", "root/new"),
    DENY("/nc/missing/x", C, EACCES, "creation not allowed"),
    HOST("/nc/new", R, ENOENT),
    DENY("/nc/file", U, EACCES, "delete not allowed"),
    DENY("/nc/new", M, EACCES, "mkdir not allowed"),
    SYM("/nc/up/outside", R),
    /* no mount, no scratch */
    DENY("/", S, EACCES, "no mount"),
    DENY("/", R, EACCES, "no mount"),
    DENY("/outside", R, EACCES, "no mount"),
    DENY("/x/y", C, EACCES, "no mount"),
    DENY("/x", U, EACCES, "no mount"),
    DENY("/x", M, EACCES, "no mount"),
    DENY("/x", L, EACCES, "no mount"),
};

/* Scratch (unmatched paths): rw, create, delete, mkdir, no symlinks, no hardlinks. */
static const struct row scratch_rows[] = {
    OK("/", S, "scratch"),
    OK("/", R, "scratch"),
    DENY("/", U, EBUSY, "mount root"),
    DENY("/", M, EEXIST, "mount root"),
    OK("/new", C, "scratch/new"),
    OK("/new", X, "scratch/new"),
    OK("/nd", M, "scratch/nd"),
    HOST("/new", R, ENOENT),
    HOST("/nd/f", R, ENOENT),
    OK("/data/file", R, "root/file"), /* mounts still win */
    OK("/database", C, "scratch/database"),
    DENY("/../x", R, EACCES, "path leaves /"),
    SYM("/sl/passwd", R),
    SYM("/sl", R),
    OK("/sl", L, "scratch/sl"),
    OK("/sl", U, "scratch/sl"),
    HARD("/h1", R),
    HARD("/h2", W),
    HARD("/h2", S),
};

static int op_flags(const struct row *rw)
{
	switch (rw->op) {
	case R:
		return O_RDONLY;
	case W:
		return O_WRONLY;
	case RW:
		return O_RDWR;
	case C:
		return O_RDWR | O_CREAT;
	case X:
		return O_RDWR | O_CREAT | O_EXCL;
	case T:
		return O_WRONLY | O_TRUNC;
	case A:
		return O_WRONLY | O_APPEND;
	case RT:
		return O_RDONLY | O_TRUNC;
	case D:
		return O_RDONLY | O_DIRECTORY;
	case F:
		return rw->flags;
	default:
		return -1;
	}
}

static const char *errname(int e)
{
	const char *n = e == 0 ? "0" : strerrorname_np(e);

	return n != NULL ? n : "?";
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		n += de->d_name[0] != '.';
	}
	closedir(d);
	return n;
}

static const char *esc(const char *s, char *buf, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 5 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n') {
			o += (size_t)snprintf(buf + o, cap - o, "\\n");
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}

static int expected_mount(const struct fx *f, const struct resolve_roots *roots, const char *path)
{
	char norm[POL_PATH_MAX];
	const char *rest;

	(void)roots;
	if (path_normalize(path, norm, sizeof norm) < 0) {
		return -1;
	}
	return policy_match(&f->pol, norm, &rest);
}

static bool same_obj(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Runs one row on a fresh fixture; returns true if it behaved as expected. */
static bool run_row(const struct row *rw, bool scratch)
{
	static struct fx fxbuf;
	struct fx *f = &fxbuf;
	const struct resolve_roots *roots;
	struct resolve_verdict v = {.reason = "unset", .mount = -2};
	struct stat st, host;
	char ebuf[160], why[256] = "";
	int fd = -2, rc, before, after, want_mount;
	bool ok = true, outside;

	fx_create(f);
	roots = scratch ? &f->sroots : &f->roots;
	if ((strstr(rw->path, "/null") && !f->chardev) ||
	    (strstr(rw->path, "bindmnt") && !f->bind)) {
		printf("# %-36s %-14s skipped (no mknod/mount)\n", esc(rw->path, ebuf, sizeof ebuf),
		       op_names[rw->op]);
		fx_destroy(f);
		return true;
	}
	before = count_fds();
	switch (rw->op) {
	case S:
	case L:
		rc = resolve_stat(roots, rw->path, rw->op == L, &st, &v);
		break;
	case U:
		rc = resolve_unlink(roots, rw->path, &v);
		break;
	case M:
		rc = resolve_mkdir(roots, rw->path, 0755, &v);
		break;
	default:
		rc = resolve_open(roots, rw->path, op_flags(rw), 0644, &fd, &v);
		break;
	}
	after = count_fds() - (rc == 0 && fd >= 0 ? 1 : 0);

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (ok && !(cond)) {                                                               \
			ok = false;                                                                \
			snprintf(why, sizeof why, __VA_ARGS__);                                    \
		}                                                                                  \
	} while (0)

	CHECK(rc == rw->err, "rc %d (%s), want %d", rc, errname(-rc), rw->err);
	CHECK(before == after, "fd leak: %d fds before, %d after", before, after);
	if (rw->err != 0) {
		CHECK(v.reason != NULL && rw->reason != NULL && strcmp(v.reason, rw->reason) == 0,
		      "reason \"%s\", want \"%s\"", v.reason ? v.reason : "(null)", rw->reason);
		if (rw->op < S) {
			CHECK(fd == -1, "fd %d on error", fd);
		}
		if (rw->obj != NULL) {
			CHECK(fstatat(f->tmpfd, rw->obj, &host, AT_SYMLINK_NOFOLLOW) < 0 &&
				  errno == ENOENT,
			      "%s exists", rw->obj);
		}
	} else if (rc == 0) {
		CHECK(v.reason == NULL, "reason \"%s\" on success", v.reason);
		CHECK(fstatat(f->tmpfd, rw->obj, &host, AT_SYMLINK_NOFOLLOW) == 0 || rw->op == U,
		      "%s: %s", rw->obj, strerror(errno));
	}
	want_mount = expected_mount(f, roots, rw->path);
	if (rw->reason != NULL && strcmp(rw->reason, "unsupported open flags") == 0) {
		want_mount = -1; /* refused before resolution */
	}
	CHECK(v.mount == want_mount, "verdict mount %d, want %d", v.mount, want_mount);

	if (rc == 0 && ok) {
		switch (rw->op) {
		case S:
		case L:
			CHECK(same_obj(&st, &host), "stat is not %s", rw->obj);
			break;
		case U:
			CHECK(fstatat(f->tmpfd, rw->obj, &host, AT_SYMLINK_NOFOLLOW) < 0 &&
				  errno == ENOENT,
			      "%s still there", rw->obj);
			break;
		case M:
			CHECK(S_ISDIR(host.st_mode) && (host.st_mode & 07777) == 0755,
			      "mkdir made mode %o", (unsigned)host.st_mode);
			break;
		default: {
			int fl = fcntl(fd, F_GETFL), want = op_flags(rw);

			CHECK(fstat(fd, &st) == 0 && same_obj(&st, &host), "fd is not %s", rw->obj);
			CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "fd not O_CLOEXEC");
			CHECK((fl & O_NONBLOCK) == 0, "O_NONBLOCK left on");
			CHECK((fl & O_ACCMODE) == (want & O_ACCMODE), "access mode %o", fl);
			CHECK((fl & O_APPEND) == (want & O_APPEND), "O_APPEND %o", fl);
			CHECK(!(want & O_TRUNC) || st.st_size == 0, "not truncated");
			CHECK(!S_ISREG(st.st_mode) || (st.st_mode & (S_ISUID | S_ISGID)) == 0,
			      "set-id bits on %s", rw->obj);
			CHECK(!(want & O_CREAT) || !S_ISREG(st.st_mode) || st.st_nlink == 1,
			      "created file nlink %lu", (unsigned long)st.st_nlink);
			break;
		}
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	outside = fx_outside_unchanged(f);
	CHECK(outside, "something outside the mounts changed");
	printf("# %-36s %-14s -> %-12s %-32s outside unchanged: %s%s%s\n",
	       esc(rw->path, ebuf, sizeof ebuf), op_names[rw->op], errname(-rc),
	       rc == 0	  ? ""
	       : v.reason ? v.reason
			  : "(null)",
	       outside ? "yes" : "NO", ok ? "" : "   FAIL: ", why);
	fx_destroy(f);
	return ok;
#undef CHECK
}

static void run_rows(const struct row *rows, size_t n, bool scratch)
{
	size_t failed = 0;

	for (size_t i = 0; i < n; i++) {
		failed += !run_row(&rows[i], scratch);
	}
	if (failed) {
		fail_msg("%zu of %zu rows failed", failed, n);
	}
}

static void table_data(void **state)
{
	(void)state;
	run_rows(data_rows, sizeof data_rows / sizeof data_rows[0], false);
}

static void table_within(void **state)
{
	(void)state;
	run_rows(within_rows, sizeof within_rows / sizeof within_rows[0], false);
}

static void table_ro_rights_nomount(void **state)
{
	(void)state;
	run_rows(ro_rows, sizeof ro_rows / sizeof ro_rows[0], false);
}

static void table_scratch(void **state)
{
	(void)state;
	run_rows(scratch_rows, sizeof scratch_rows / sizeof scratch_rows[0], true);
}

static void table_chardev(void **state)
{
	struct fx *f = *state;

	if (!f->chardev) {
		skip();
	}
	run_rows(chardev_rows, sizeof chardev_rows / sizeof chardev_rows[0], false);
}

static void table_bindmount(void **state)
{
	struct fx *f = *state;

	if (!f->bind) {
		skip();
	}
	run_rows(bind_rows, sizeof bind_rows / sizeof bind_rows[0], false);
}

/* ---- single cases on one fixture (cmocka setup/teardown) ---- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (f == NULL) {
		return -1;
	}
	fx_create(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	bool outside = fx_outside_unchanged(f);

	fx_destroy(f);
	free(f);
	return outside ? 0 : -1;
}

static volatile sig_atomic_t g_alarm;

static void on_alarm(int sig)
{
	(void)sig;
	g_alarm = 1;
}

/* SIGALRM without SA_RESTART: a blocking open returns EINTR instead of hanging the suite. */
static void arm_alarm(unsigned secs)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	g_alarm = 0;
	alarm(secs);
}

static void fifo_never_blocks(void **state)
{
	struct fx *f = *state;
	static const int flags[] = {O_RDONLY,	      O_WRONLY,		  O_RDWR,
				    O_RDWR | O_CREAT, O_WRONLY | O_TRUNC, O_RDONLY | O_DIRECTORY};
	static const char *const paths[] = {"/data/fifo", "/w/fifo"};
	struct resolve_verdict v;
	int fd;

	arm_alarm(5);
	for (size_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
			assert_int_equal(resolve_open(&f->roots, paths[p], flags[i], 0644, &fd, &v),
					 -EACCES);
			assert_string_equal(v.reason, "not a regular file or directory");
			assert_int_equal(fd, -1);
		}
	}
	alarm(0);
	assert_false(g_alarm);
}

static void setgid_dir(void **state)
{
	struct fx *f = *state;
	struct resolve_verdict v;
	struct stat st, dir;
	int fd;

	assert_int_equal(fstatat(f->tmpfd, "root/sgid", &dir, 0), 0);
	assert_true(dir.st_mode & S_ISGID);
	assert_int_equal(dir.st_gid, FX_SGID_GID);
	/* A file asking for every mode bit: set-id and sticky masked, group inherited. */
	assert_int_equal(
	    resolve_open(&f->roots, "/data/sgid/f", O_RDWR | O_CREAT | O_EXCL, 07777, &fd, &v), 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	assert_int_equal(st.st_mode & 07777, 0755); /* umask 022 */
	assert_int_equal(st.st_gid, FX_SGID_GID);
	/* A directory would inherit S_ISGID from its parent: stripped. */
	assert_int_equal(resolve_mkdir(&f->roots, "/data/sgid/d", 07777, &v), 0);
	assert_int_equal(fstatat(f->tmpfd, "root/sgid/d", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & (S_ISGID | S_ISUID | S_ISVTX), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	assert_int_equal(st.st_gid, FX_SGID_GID);
	/* The same in scratch, where the parent is made setgid by the test. */
	assert_int_equal(fchmodat(f->tmpfd, "scratch", 02777, 0), 0);
	assert_int_equal(resolve_mkdir(&f->sroots, "/sd", 0700, &v), 0);
	assert_int_equal(fstatat(f->tmpfd, "scratch/sd", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
}

/* An existing set-id file opened for writing loses the bits (the broker may hold CAP_FSETID,
 * which keeps the kernel from stripping them on write); opened read-only it keeps them. */
static void setid_file_write(void **state)
{
	struct fx *f = *state;
	struct resolve_verdict v;
	struct stat st;
	int fd;

	fx_write(f->tmpfd, "root/suid", "#!/bin/sh\n");
	assert_int_equal(fchmodat(f->tmpfd, "root/suid", 06755, 0), 0);
	assert_int_equal(resolve_open(&f->roots, "/data/suid", O_RDONLY, 0, &fd, &v), 0);
	close(fd);
	assert_int_equal(fstatat(f->tmpfd, "root/suid", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 06755);
	assert_int_equal(resolve_open(&f->roots, "/data/suid", O_WRONLY | O_APPEND, 0, &fd, &v), 0);
	close(fd);
	assert_int_equal(fstatat(f->tmpfd, "root/suid", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
}

static void long_paths(void **state)
{
	struct fx *f = *state;
	static char p[6000];
	struct resolve_verdict v;
	struct stat st;
	size_t n;
	int fd;

	/* 5000 bytes of real components: too long for the normalised buffer. */
	n = (size_t)snprintf(p, sizeof p, "/data");
	while (n < 5000) {
		n += (size_t)snprintf(p + n, sizeof p - n, "/a");
	}
	assert_int_equal(resolve_open(&f->roots, p, O_RDONLY, 0, &fd, &v), -ENAMETOOLONG);
	assert_string_equal(v.reason, "path too long");
	assert_int_equal(v.mount, -1);
	assert_int_equal(resolve_stat(&f->roots, p, false, &st, &v), -ENAMETOOLONG);
	assert_int_equal(resolve_unlink(&f->roots, p, &v), -ENAMETOOLONG);
	assert_int_equal(resolve_mkdir(&f->roots, p, 0755, &v), -ENAMETOOLONG);
	/* Exactly POL_PATH_MAX - 1 bytes normalised fits (the host says ENOENT); one more does
	 * not.  200-byte components stay below NAME_MAX. */
	n = (size_t)snprintf(p, sizeof p, "/data");
	while (n + 201 <= POL_PATH_MAX - 1) {
		n += (size_t)snprintf(p + n, sizeof p - n, "/%0200d", 0);
	}
	p[n++] = '/';
	while (n < POL_PATH_MAX - 1) {
		p[n++] = 'b';
	}
	p[n] = '\0';
	assert_int_equal(strlen(p), POL_PATH_MAX - 1);
	assert_int_equal(resolve_open(&f->roots, p, O_RDONLY, 0, &fd, &v), -ENOENT);
	assert_int_equal(v.mount, M_DATA);
	strcat(p, "c");
	assert_int_equal(resolve_open(&f->roots, p, O_RDONLY, 0, &fd, &v), -ENAMETOOLONG);
	assert_string_equal(v.reason, "path too long");
	/* Long but ".." cancels it: "/data/<5000>/.." is "/data". */
	n = (size_t)snprintf(p, sizeof p, "/data/");
	memset(p + n, 'z', 5000);
	strcpy(p + n + 5000, "/../file");
	assert_int_equal(resolve_open(&f->roots, p, O_RDONLY, 0, &fd, &v), 0);
	close(fd);
	/* A component longer than NAME_MAX: the kernel's ENAMETOOLONG. */
	n = (size_t)snprintf(p, sizeof p, "/data/");
	memset(p + n, 'n', 256);
	p[n + 256] = '\0';
	assert_int_equal(resolve_open(&f->roots, p, O_RDWR | O_CREAT, 0644, &fd, &v),
			 -ENAMETOOLONG);
	assert_string_equal(v.reason, "host error");
}

static void content_and_truncation(void **state)
{
	struct fx *f = *state;
	struct resolve_verdict v;
	char buf[32] = "";
	struct stat st;
	int fd;

	assert_int_equal(resolve_open(&f->roots, "/data/file", O_RDONLY, 0, &fd, &v), 0);
	assert_int_equal(read(fd, buf, sizeof buf - 1), 6);
	assert_string_equal(buf, "hello\n");
	assert_int_equal(write(fd, "x", 1), -1); /* really read-only */
	close(fd);
	assert_int_equal(resolve_open(&f->roots, "/data/file", O_WRONLY | O_APPEND, 0, &fd, &v), 0);
	assert_int_equal(write(fd, "more\n", 5), 5);
	close(fd);
	assert_int_equal(fstatat(f->tmpfd, "root/file", &st, 0), 0);
	assert_int_equal(st.st_size, 11);
	assert_int_equal(resolve_open(&f->roots, "/data/file", O_RDWR | O_TRUNC, 0, &fd, &v), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	/* Refused hardlink + O_TRUNC: the outside file keeps its content (teardown checks). */
	assert_int_equal(resolve_open(&f->roots, "/data/hlink", O_WRONLY | O_TRUNC, 0, &fd, &v),
			 -EACCES);
	assert_string_equal(v.reason, "hardlinked file");
	/* Creation mode: only the permission bits, under the broker's umask. */
	assert_int_equal(resolve_open(&f->roots, "/data/m", O_WRONLY | O_CREAT, 0640, &fd, &v), 0);
	close(fd);
	assert_int_equal(fstatat(f->tmpfd, "root/m", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
}

static void bad_arguments(void **state)
{
	struct fx *f = *state;
	struct resolve_verdict v;
	struct stat st;
	int fd;

	assert_int_equal(resolve_open(&f->roots, NULL, O_RDONLY, 0, &fd, &v), -EINVAL);
	assert_non_null(v.reason);
	assert_int_equal(resolve_open(NULL, "/data/file", O_RDONLY, 0, &fd, &v), -EINVAL);
	assert_int_equal(resolve_open(&f->roots, "/data/file", O_RDONLY, 0, NULL, &v), -EINVAL);
	assert_int_equal(resolve_stat(&f->roots, "/data/file", false, NULL, &v), -EINVAL);
	/* A NULL verdict is tolerated. */
	assert_int_equal(resolve_stat(&f->roots, "/data/file", false, &st, NULL), 0);
	assert_int_equal(resolve_unlink(&f->roots, "/data/up/outside", NULL), -EACCES);
	/* A mount whose dirfd is not open is like no mount. */
	fd = f->dirfds[M_RO];
	f->dirfds[M_RO] = -1;
	assert_int_equal(resolve_stat(&f->roots, "/ro/file", false, &st, &v), -EACCES);
	f->dirfds[M_RO] = fd;
	assert_string_equal(v.reason, "no mount");
}

/* ---- syscall discipline, checked with seccomp in a child ---- */

#if defined(__x86_64__)
static void install_filter(const int *deny, size_t n, int err, int stat_rule)
{
	struct sock_filter prog[96];
	struct sock_fprog fp;
	size_t k = 0;

	prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, arch));
	prog[k++] =
	    (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, nr));
	if (stat_rule) {
		/* newfstatat is glibc's fstat(): allow it only with AT_EMPTY_PATH (on an fd). */
		prog[k++] =
		    (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_newfstatat, 0, 4);
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
							 offsetof(struct seccomp_data, args[3]));
		prog[k++] =
		    (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 0, 1);
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
		prog[k++] =
		    (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	}
	for (size_t i = 0; i < n; i++) {
		prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							 (unsigned)deny[i], 0, 1);
		prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
							 SECCOMP_RET_ERRNO | (unsigned)err);
	}
	prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	fp.len = (unsigned short)k;
	fp.filter = prog;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) < 0) {
		_exit(99);
	}
}

#define CHILD_CHECK(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "child check failed line %d: %s\n", __LINE__, #cond);      \
			_exit(1);                                                                  \
		}                                                                                  \
	} while (0)

static int wait_child(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* With every path-string syscall refused, all operations still work: resolve.c only uses
 * openat2 and the *at() calls on fds (and glibc's fstat = newfstatat(fd, "", AT_EMPTY_PATH)). */
static void no_path_syscalls(void **state)
{
	static const int deny[] = {
	    SYS_open,	SYS_openat,    SYS_creat,      SYS_stat,      SYS_lstat,    SYS_statx,
	    SYS_unlink, SYS_rmdir,     SYS_mkdir,      SYS_rename,    SYS_renameat, SYS_renameat2,
	    SYS_link,	SYS_linkat,    SYS_symlink,    SYS_symlinkat, SYS_readlink, SYS_readlinkat,
	    SYS_access, SYS_faccessat, SYS_faccessat2, SYS_chdir,     SYS_chmod,    SYS_fchmodat,
	    SYS_chown,	SYS_fchownat,  SYS_truncate,   SYS_mknod,     SYS_mknodat,  SYS_execve,
	};
	struct fx *f = *state;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct resolve_verdict v;
		struct stat st;
		int fd;

		install_filter(deny, sizeof deny / sizeof deny[0], EPERM, 1);
		CHILD_CHECK(openat(f->tmpfd, "outside", O_RDONLY) == -1 && errno == EPERM);
		CHILD_CHECK(resolve_open(&f->roots, "/data/file", O_RDONLY, 0, &fd, &v) == 0);
		close(fd);
		CHILD_CHECK(resolve_open(&f->roots, "/data/sub/n", O_RDWR | O_CREAT | O_TRUNC, 0644,
					 &fd, &v) == 0);
		close(fd);
		CHILD_CHECK(resolve_open(&f->roots, "/w/inlink", O_WRONLY | O_TRUNC, 0, &fd, &v) ==
			    0);
		close(fd);
		CHILD_CHECK(resolve_open(&f->roots, "/data/fifo", O_RDONLY, 0, &fd, &v) == -EACCES);
		CHILD_CHECK(resolve_open(&f->roots, "/data/up/outside", O_RDONLY, 0, &fd, &v) ==
			    -EACCES);
		CHILD_CHECK(resolve_stat(&f->roots, "/data/sub/x", false, &st, &v) == 0);
		CHILD_CHECK(resolve_stat(&f->roots, "/data/up", true, &st, &v) == 0);
		CHILD_CHECK(resolve_stat(&f->roots, "/data", true, &st, &v) == 0);
		CHILD_CHECK(resolve_mkdir(&f->roots, "/data/sgid/d", 0755, &v) == 0);
		CHILD_CHECK(resolve_unlink(&f->roots, "/data/sub/x", &v) == 0);
		CHILD_CHECK(resolve_unlink(&f->roots, "/data/up", &v) == 0);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);
}

/* Without openat2 nothing falls back to openat: ENOSYS comes back as-is. */
static void no_openat2_no_fallback(void **state)
{
	static const int deny[] = {SYS_openat2, SYS_open, SYS_openat};
	struct fx *f = *state;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct resolve_verdict v;
		struct stat st;
		int fd;

		install_filter(deny, sizeof deny / sizeof deny[0], ENOSYS, 0);
		CHILD_CHECK(resolve_open(&f->roots, "/data/file", O_RDONLY, 0, &fd, &v) == -ENOSYS);
		CHILD_CHECK(strcmp(v.reason, "openat2 unavailable") == 0 && fd == -1);
		CHILD_CHECK(resolve_open(&f->roots, "/data/new", O_RDWR | O_CREAT, 0644, &fd, &v) ==
			    -ENOSYS);
		CHILD_CHECK(resolve_stat(&f->roots, "/data/file", false, &st, &v) == -ENOSYS);
		CHILD_CHECK(resolve_stat(&f->roots, "/data/file", true, &st, &v) == -ENOSYS);
		CHILD_CHECK(resolve_unlink(&f->roots, "/data/sub/x", &v) == -ENOSYS);
		CHILD_CHECK(resolve_mkdir(&f->roots, "/data/sub/d", 0755, &v) == -ENOSYS);
		_exit(0);
	}
	assert_int_equal(wait_child(pid), 0);
	assert_int_equal(faccessat(f->tmpfd, "root/new", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(f->tmpfd, "root/sub/x", F_OK, AT_SYMLINK_NOFOLLOW), 0);
}
#else
static void no_path_syscalls(void **state)
{
	(void)state;
	skip();
}

static void no_openat2_no_fallback(void **state)
{
	(void)state;
	skip();
}
#endif

/* ---- races ---- */

/* Rounds per operation; UHS_RACE_ROUNDS=400000 gives the openat2 selftest's figure (M6). */
static int g_rounds = 20000;

struct race_count {
	long ok, refused, other, swaps, enxio;
	int other_err;
};

/* Forks a child that exchanges names a and b (relative to T) until killed; *swaps counts. */
static pid_t start_swapper(struct fx *f, const char *a, const char *b, volatile long *swaps)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;) {
			if (renameat2(f->tmpfd, a, f->tmpfd, b, RENAME_EXCHANGE) == 0) {
				(*swaps)++;
			}
		}
	}
	return pid;
}

static long stop_swapper(pid_t pid, volatile long *swaps)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return *swaps;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An fd the resolver returned must be an object under T/root: never T/outside, never T. */
static void assert_fd_inside(const struct fx *f, int fd)
{
	char link[64], target[512], want[96];
	struct stat st;
	ssize_t n;

	assert_int_equal(fstat(fd, &st), 0);
	assert_false(same_obj(&st, &f->outside));
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof target - 1);
	assert_true(n > 0);
	target[n] = '\0';
	snprintf(want, sizeof want, "%s/root/", f->tmp);
	if (strncmp(target, want, strlen(want)) != 0) {
		fail_msg("fd %d points to %s, outside %s", fd, target, want);
	}
}

static void count(struct race_count *c, int rc, const struct resolve_verdict *v)
{
	if (rc == 0) {
		c->ok++;
	} else if (rc == -EACCES && v->reason != NULL &&
		   (strcmp(v->reason, "symlink refused") == 0 ||
		    strcmp(v->reason, "leaves the mount") == 0 ||
		    strcmp(v->reason, "not a regular file or directory") == 0 ||
		    strcmp(v->reason, "hardlinked file") == 0)) {
		c->refused++;
	} else {
		c->other++;
		c->other_err = -rc;
	}
}

static void report(const char *mode, const char *op, const struct race_count *c, double secs)
{
	printf("# race %-6s %-22s rounds %d ok %ld refused %ld other %ld%s%s swaps %ld %.2fs", mode,
	       op, g_rounds, c->ok, c->refused, c->other, c->other ? " last " : "",
	       c->other ? errname(c->other_err) : "", c->swaps, secs);
	if (c->enxio) {
		printf(" (ENXIO: FIFO met by the real open %ld)", c->enxio);
	}
	printf("\n");
}

/* race_a is a directory holding a decoy "outside" file, race_b a symlink to ".." (T, where
 * the real outside lives).  A child exchanges them continuously: every path through race_a
 * or race_b is at any instant either inside or a jump out of the mount. */
static void race_dir_symlink(void **state)
{
	static const char *const modes[] = {"/data", "/w"};
	struct fx *f = *state;
	volatile long *swaps =
	    mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct resolve_verdict v;
	char p[64];
	int dirobj, fd;

	assert_true(swaps != MAP_FAILED);
	fx_mkdir(f->tmpfd, "root/race_a");
	fx_write(f->tmpfd, "root/race_a/outside", "decoy\n");
	fx_symlink(f->tmpfd, "..", "root/race_b");
	dirobj = openat(f->tmpfd, "root/race_a", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirobj >= 0);

	for (size_t m = 0; m < 2; m++) {
		static const char *const ops[] = {"open(R)", "open(RW|CREAT)", "stat",
						  "lstat",   "unlink",	       "mkdir"};

		for (size_t op = 0; op < 6; op++) {
			struct race_count c = {0};
			double t0 = now_s();
			pid_t pid;

			*swaps = 0;
			pid = start_swapper(f, "root/race_a", "root/race_b", swaps);
			for (int i = 0; i < g_rounds; i++) {
				const char *name = (i & 1) ? "race_a" : "race_b";
				struct stat st;
				int rc;

				switch (op) {
				case 0:
					snprintf(p, sizeof p, "%s/%s/outside", modes[m], name);
					rc = resolve_open(&f->roots, p, O_RDONLY, 0, &fd, &v);
					if (rc == 0) {
						assert_fd_inside(f, fd);
						close(fd);
					}
					break;
				case 1:
					snprintf(p, sizeof p, "%s/%s/new", modes[m], name);
					rc = resolve_open(&f->roots, p, O_RDWR | O_CREAT, 0644, &fd,
							  &v);
					if (rc == 0) {
						assert_fd_inside(f, fd);
						close(fd);
						unlinkat(dirobj, "new", 0);
					}
					break;
				case 2:
				case 3:
					snprintf(p, sizeof p, "%s/%s/outside", modes[m], name);
					rc = resolve_stat(&f->roots, p, op == 3, &st, &v);
					if (rc == 0) {
						assert_false(same_obj(&st, &f->outside));
					}
					break;
				case 4:
					snprintf(p, sizeof p, "%s/%s/outside", modes[m], name);
					rc = resolve_unlink(&f->roots, p, &v);
					if (rc == 0) {
						fd = openat(dirobj, "outside",
							    O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
						assert_true(fd >= 0);
						close(fd);
					}
					break;
				default:
					snprintf(p, sizeof p, "%s/%s/nd", modes[m], name);
					rc = resolve_mkdir(&f->roots, p, 0755, &v);
					if (rc == 0) {
						assert_int_equal(
						    unlinkat(dirobj, "nd", AT_REMOVEDIR), 0);
					}
					break;
				}
				count(&c, rc, &v);
			}
			c.swaps = stop_swapper(pid, swaps);
			report(modes[m], ops[op], &c, now_s() - t0);
			assert_true(c.ok > 0);
			assert_true(c.refused > 0);
			assert_int_equal(c.other, 0);
			assert_true(fx_outside_unchanged(f));
		}
	}
	close(dirobj);
	munmap((void *)(uintptr_t)swaps, sizeof(long));
}

/* "swap" is exchanged with a FIFO: the open must never block and never return the FIFO. */
static void race_fifo_swap(void **state)
{
	static const int flags[] = {O_RDONLY, O_WRONLY, O_RDWR | O_CREAT};
	static const char *const names[] = {"open(R)", "open(W)", "open(RW|CREAT)"};
	struct fx *f = *state;
	volatile long *swaps =
	    mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct resolve_verdict v;
	struct stat st;
	int fd;

	assert_true(swaps != MAP_FAILED);
	fx_write(f->tmpfd, "root/swap", "regular\n");
	assert_int_equal(mkfifoat(f->tmpfd, "root/swapfifo", 0666), 0);
	for (size_t k = 0; k < 3; k++) {
		struct race_count c = {0};
		double t0 = now_s();
		pid_t pid;

		*swaps = 0;
		pid = start_swapper(f, "root/swap", "root/swapfifo", swaps);
		arm_alarm(5);
		for (int i = 0; i < g_rounds && !g_alarm; i++) {
			int rc = resolve_open(&f->roots, "/data/swap", flags[k], 0644, &fd, &v);

			if (rc == 0) {
				assert_int_equal(fstat(fd, &st), 0);
				assert_true(S_ISREG(st.st_mode));
				close(fd);
			}
			/* O_WRONLY|O_NONBLOCK on a FIFO without reader: ENXIO, never a block.
			 * Only the real open can see it (the O_PATH look never opens). */
			if (rc == -ENXIO) {
				c.enxio++;
				rc = -EACCES;
				v.reason = "not a regular file or directory";
			}
			count(&c, rc, &v);
		}
		alarm(0);
		c.swaps = stop_swapper(pid, swaps);
		report("/data", names[k], &c, now_s() - t0);
		assert_false(g_alarm);
		assert_true(c.ok > 0);
		assert_int_equal(c.other, 0);
	}
	munmap((void *)(uintptr_t)swaps, sizeof(long));
}

/* "victim" is exchanged with the hardlink to T/outside while the guest opens it O_TRUNC:
 * O_TRUNC is applied only after the fd was checked, so the outside content survives. */
static void race_hardlink_trunc(void **state)
{
	struct fx *f = *state;
	volatile long *swaps =
	    mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct race_count c = {0};
	struct resolve_verdict v;
	double t0 = now_s();
	struct stat st;
	pid_t pid;
	int fd;

	assert_true(swaps != MAP_FAILED);
	fx_write(f->tmpfd, "root/victim", "victim\n");
	*swaps = 0;
	pid = start_swapper(f, "root/victim", "root/hlink", swaps);
	for (int i = 0; i < g_rounds; i++) {
		int rc = resolve_open(&f->roots, "/data/victim", O_WRONLY | O_TRUNC, 0, &fd, &v);

		if (rc == 0) {
			assert_int_equal(fstat(fd, &st), 0);
			assert_int_equal(st.st_nlink, 1);
			assert_false(same_obj(&st, &f->outside));
			close(fd);
		}
		count(&c, rc, &v);
	}
	c.swaps = stop_swapper(pid, swaps);
	report("/data", "open(W|TRUNC) hardlink", &c, now_s() - t0);
	assert_true(c.ok > 0);
	assert_true(c.refused > 0);
	assert_int_equal(c.other, 0);
	assert_true(fx_outside_unchanged(f));
	munmap((void *)(uintptr_t)swaps, sizeof(long));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table_data),
	    cmocka_unit_test(table_within),
	    cmocka_unit_test(table_ro_rights_nomount),
	    cmocka_unit_test(table_scratch),
	    cmocka_unit_test_setup_teardown(table_chardev, setup, teardown),
	    cmocka_unit_test_setup_teardown(table_bindmount, setup, teardown),
	    cmocka_unit_test_setup_teardown(fifo_never_blocks, setup, teardown),
	    cmocka_unit_test_setup_teardown(setgid_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(setid_file_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(long_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(content_and_truncation, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_arguments, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_path_syscalls, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_openat2_no_fallback, setup, teardown),
	    cmocka_unit_test_setup_teardown(race_dir_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(race_fifo_swap, setup, teardown),
	    cmocka_unit_test_setup_teardown(race_hardlink_trunc, setup, teardown),
	};

	char base[48] = "/tmp/uhs-resolve-ns-XXXXXX";
	bool tmpfs = false;
	int rc;

	umask(022);
	if (getenv("UHS_RACE_ROUNDS") != NULL && atoi(getenv("UHS_RACE_ROUNDS")) > 0) {
		g_rounds = atoi(getenv("UHS_RACE_ROUNDS"));
	}
	/* A private mount namespace: the fixture's bind mounts never reach the host, and the
	 * fixtures live on a tmpfs that vanishes with the process (rmdir on the host's ext4 with
	 * online discard costs ~0.6 ms, which the mkdir race would pay 20000 times). */
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		g_private_ns = true;
		if (mkdtemp(base) != NULL) {
			tmpfs = mount("uhs-resolve", base, "tmpfs", MS_NOSUID, "mode=0700") == 0;
			if (tmpfs) {
				snprintf(g_base, sizeof g_base, "%s", base);
			} else {
				rmdir(base);
			}
		}
	}
	printf("# fixtures under %s (%s)\n", g_base,
	       tmpfs	      ? "private tmpfs"
	       : g_private_ns ? "private mount ns"
			      : "shared mount ns");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (tmpfs) {
		umount2(base, MNT_DETACH);
		rmdir(base);
	}
	return rc;
}
