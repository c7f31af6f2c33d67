/* SPDX-License-Identifier: MIT */
/* fuzz_resolve.c - guest path resolution against a hostile fixture tree (broker/resolve.c and
 * policy/path.c): resolve_open, resolve_unlink, resolve_mkdir, resolve_stat.
 *
 * The fixture is built once per process in a private directory T (fuzz_tmpdir):
 *   T/outside ("secret outside\n")   T/outdir/inner           -- outside every mount
 *   T/root/  file sub/ sub/x deep/a/b/c/f up -> ..  etc -> T/outdir  abs_in -> T/root/file
 *            proc -> /proc/self/fd/<fd of T/outdir> (a magic link)  dangling -> nonexistent
 *            dangling_out -> ../created_outside  a -> b  b -> a  inlink -> file  subl -> sub
 *            fifo  sock  null (char 1,3, when mknod works)  hlink (hardlink of T/outside)
 *            sgid/ (02775)  "sp ace"
 *   T/ro/    file sub/ lnk -> file        T/hl/ f1 f2 (hardlinks)
 *   T/scratch/ sl -> T/outdir  h1 h2 (hardlinks)
 * Mounts: /data = T/root (rw, create, delete, mkdir, symlinks deny), /ro = T/ro (ro),
 * /w = T/root (rw, symlinks=within), /hl = T/hl (rw, hardlinks allowed, no create/delete/
 * mkdir), /nc = T/root (rw, no create/delete/mkdir); scratch = T/scratch when chosen.
 * Every escape route in the tree leads into T/outdir or T, never to real host files.
 *
 * Input: up to 8 operations, each
 *   u8 op     bits 0-2: 0 open, 1 unlink, 2 mkdir, 3 stat, 4 lstat, 5-7 open;
 *             bit 3: resolve with the scratch directory behind unmapped paths
 *   u8 fl     open flags: bits 0-1 access mode, 2 O_CREAT, 3 O_EXCL, 4 O_TRUNC, 5 O_APPEND,
 *             6 O_DIRECTORY, 7: also set bit (next byte % 32) (any other flag)
 *   [u8 bit]  only with fl bit 7
 *   u16 mode  (bits 12-15: opens run as resolve_open_counted with new_max = that nibble - 1;
 *             0: resolve_open, no limit)
 *   path      bytes up to a NUL or the end of the input
 *
 * Oracles (escape = abort): every fd handed out must have its /proc/self/fd target inside
 * its mount's root, be a regular file or directory, not be T/outside, be read-only on a
 * read-only mount, be O_CLOEXEC and blocking, and be a hardlinked file only where the mount
 * allows; stat must never describe T, T/outdir, T/outdir/inner or "/"; errors are -errno
 * with a reason, failed opens return fd -1; no fd leaks; and after every input a snapshot of
 * everything outside the writable mounts (T/outside and T/outdir/inner content, size and
 * mtime, the listings of T and T/outdir, the whole read-only mount, and the listing of T/hl,
 * whose mount may write but not create, delete or mkdir) must be unchanged; an open never
 * reports more entries created than its new_max, a mkdir at most one.
 * An input whose operations may have changed the tree gets a fresh fixture afterwards, so
 * runs stay independent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include "fuzz.h"
#include "resolve.h"

enum { M_DATA, M_RO, M_WITHIN, M_HL, M_NC, NMOUNTS };

#define MAX_OPS	 8
#define SNAP_MAX 8192

struct ident {
	dev_t dev;
	ino_t ino;
};

static char g_t[PATH_MAX]; /* T, canonical */

static struct {
	char root[NMOUNTS][PATH_MAX + 16], scratch[PATH_MAX + 16]; /* for the escape oracle */
	int tfd, outdirfd, dirfds[NMOUNTS], scratchfd;
	struct pol_mount mounts[NMOUNTS];
	struct policy pol;
	struct resolve_roots roots, sroots;
	struct ident outside, forbidden[4];
	int nforbidden;
	int free_fd; /* lowest free fd after setup: a leak moves it */
	char snap[SNAP_MAX];
	bool built;
} F;

/* ---- building ---- */

static void fx_write(const char *name, const char *content)
{
	int fd = openat(F.tfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t len = strlen(content);

	if (fd < 0 || write(fd, content, len) != (ssize_t)len || close(fd) != 0) {
		FUZZ_SETUP_FAIL("fixture write");
	}
}

static void fx_mkdir(const char *name)
{
	if (mkdirat(F.tfd, name, 0755) != 0) {
		FUZZ_SETUP_FAIL("fixture mkdir");
	}
}

static void fx_symlink(const char *target, const char *name)
{
	if (symlinkat(target, F.tfd, name) != 0) {
		FUZZ_SETUP_FAIL("fixture symlink");
	}
}

static void fx_link(const char *from, const char *to)
{
	if (linkat(F.tfd, from, F.tfd, to, 0) != 0) {
		FUZZ_SETUP_FAIL("fixture link");
	}
}

static int fx_dirfd(const char *name)
{
	int fd = openat(F.tfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		FUZZ_SETUP_FAIL("fixture open dir");
	}
	return fd;
}

static void fx_special(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s;

	if (mkfifoat(F.tfd, "root/fifo", 0666) != 0) {
		FUZZ_SETUP_FAIL("mkfifo");
	}
	if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/root/sock", g_t) <
	    sizeof sa.sun_path) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0 || bind(s, (const struct sockaddr *)&sa, sizeof sa) != 0) {
			FUZZ_SETUP_FAIL("bind");
		}
		close(s);
	}
	/* Needs CAP_MKNOD; without it the tree simply has no device node. */
	(void)mknodat(F.tfd, "root/null", S_IFCHR | 0666, makedev(1, 3));
}

static void fx_tree(void)
{
	char p[PATH_MAX + 32];

	fx_write("outside", "secret outside\n");
	fx_mkdir("outdir");
	fx_write("outdir/inner", "inner\n");
	fx_mkdir("root");
	fx_mkdir("ro");
	fx_mkdir("hl");
	fx_mkdir("scratch");
	fx_write("root/file", "hello\n");
	fx_mkdir("root/sub");
	fx_write("root/sub/x", "x\n");
	fx_mkdir("root/deep");
	fx_mkdir("root/deep/a");
	fx_mkdir("root/deep/a/b");
	fx_mkdir("root/deep/a/b/c");
	fx_write("root/deep/a/b/c/f", "deep\n");
	fx_symlink("..", "root/up");
	snprintf(p, sizeof p, "%s/outdir", g_t);
	fx_symlink(p, "root/etc");
	fx_symlink(p, "scratch/sl");
	snprintf(p, sizeof p, "%s/root/file", g_t);
	fx_symlink(p, "root/abs_in");
	F.outdirfd = openat(F.tfd, "outdir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (F.outdirfd < 0) {
		FUZZ_SETUP_FAIL("open outdir");
	}
	snprintf(p, sizeof p, "/proc/self/fd/%d", F.outdirfd);
	fx_symlink(p, "root/proc");
	fx_symlink("nonexistent", "root/dangling");
	fx_symlink("../created_outside", "root/dangling_out");
	fx_symlink("b", "root/a");
	fx_symlink("a", "root/b");
	fx_symlink("file", "root/inlink");
	fx_symlink("sub", "root/subl");
	fx_special();
	fx_link("outside", "root/hlink");
	fx_mkdir("root/sgid");
	if (fchmodat(F.tfd, "root/sgid", 02775, 0) != 0) {
		FUZZ_SETUP_FAIL("chmod sgid");
	}
	fx_write("root/sp ace", "space\n");
	fx_write("ro/file", "ro data\n");
	fx_mkdir("ro/sub");
	fx_symlink("file", "ro/lnk");
	fx_write("hl/f1", "hl\n");
	fx_link("hl/f1", "hl/f2");
	fx_write("scratch/h1", "h\n");
	fx_link("scratch/h1", "scratch/h2");
}

static void fx_mount(int i, const char *guest, const char *dir, bool rw)
{
	struct pol_mount *m = &F.mounts[i];

	*m = (struct pol_mount){.host = g_t, .guest = (char *)(uintptr_t)guest, .writable = rw};
	snprintf(m->origin, sizeof m->origin, "fuzz mount %d", i);
	snprintf(F.root[i], sizeof F.root[i], "%s/%s", g_t, dir);
	F.dirfds[i] = fx_dirfd(dir);
}

static struct ident ident_of(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0) {
		FUZZ_SETUP_FAIL("fixture stat");
	}
	return (struct ident){st.st_dev, st.st_ino};
}

static void snapshot(char *buf, size_t cap);

static void fx_build(void)
{
	int probe;

	F.tfd = open(g_t, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (F.tfd < 0) {
		FUZZ_SETUP_FAIL("open T");
	}
	fx_tree();
	fx_mount(M_DATA, "/data", "root", true);
	F.mounts[M_DATA].create = F.mounts[M_DATA].remove = F.mounts[M_DATA].mkdir = true;
	fx_mount(M_RO, "/ro", "ro", false);
	fx_mount(M_WITHIN, "/w", "root", true);
	F.mounts[M_WITHIN].create = F.mounts[M_WITHIN].remove = true;
	F.mounts[M_WITHIN].mkdir = true;
	F.mounts[M_WITHIN].symlinks = POL_SYMLINKS_WITHIN;
	fx_mount(M_HL, "/hl", "hl", true);
	F.mounts[M_HL].hardlinks = true;
	fx_mount(M_NC, "/nc", "root", true);
	F.scratchfd = fx_dirfd("scratch");
	snprintf(F.scratch, sizeof F.scratch, "%s/scratch", g_t);

	F.pol = (struct policy){
	    .mounts = F.mounts, .nmounts = NMOUNTS, .max_open_files = POL_DEFAULT_OPEN_FILES};
	F.roots = (struct resolve_roots){.pol = &F.pol, .dirfds = F.dirfds, .scratch_fd = -1};
	F.sroots = F.roots;
	F.sroots.scratch_fd = F.scratchfd;

	F.outside = ident_of(F.tfd, "outside");
	F.forbidden[0] = ident_of(F.tfd, "");
	F.forbidden[1] = ident_of(F.tfd, "outdir");
	F.forbidden[2] = ident_of(F.tfd, "outdir/inner");
	F.forbidden[3] = ident_of(AT_FDCWD, "/");
	F.nforbidden = 4;
	snapshot(F.snap, sizeof F.snap);
	probe = fcntl(F.tfd, F_DUPFD_CLOEXEC, 0);
	if (probe < 0) {
		FUZZ_SETUP_FAIL("F_DUPFD");
	}
	close(probe);
	F.free_fd = probe;
	F.built = true;
}

static void fx_teardown(void)
{
	for (int i = 0; i < NMOUNTS; i++) {
		close(F.dirfds[i]);
	}
	close(F.scratchfd);
	close(F.outdirfd);
	close(F.tfd);
	fuzz_rmtree(g_t);
	F.built = false;
}

static void fx_cleanup(void)
{
	if (F.built) {
		fx_teardown();
	}
}

static void fx_rebuild(void)
{
	fx_teardown();
	if (mkdir(g_t, 0700) != 0) {
		FUZZ_SETUP_FAIL("mkdir T");
	}
	fx_build();
}

static void fx_first(void)
{
	char tmp[PATH_MAX];

	fuzz_tmpdir("resolve", tmp, sizeof tmp);
	if (realpath(tmp, g_t) == NULL) {
		FUZZ_SETUP_FAIL("realpath");
	}
	atexit(fx_cleanup);
	fx_build();
}

/* ---- the snapshot of everything that must never change ---- */

static void snap_file(char *buf, size_t cap, int dirfd, const char *name)
{
	char content[64] = "";
	size_t len = strlen(buf);
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ssize_t got = fd >= 0 ? read(fd, content, sizeof content - 1) : -1;

	content[got > 0 ? got : 0] = '\0';
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(buf + len, cap - len, "%s: <%d>\n", name, errno);
	} else {
		snprintf(buf + len, cap - len, "%s: %lld %lld.%09ld %o [%s]\n", name,
			 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 (unsigned)st.st_mode, content);
	}
	if (fd >= 0) {
		close(fd);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void snap_dir(char *buf, size_t cap, const char *name)
{
	static char names[64][NAME_MAX + 1];
	const char *sorted[64];
	size_t n = 0, len = strlen(buf);
	int fd = openat(F.tfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		snprintf(buf + len, cap - len, "%s/: <%d>\n", name, errno);
		if (fd >= 0) {
			close(fd);
		}
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (n == 64) {
			snprintf(buf + len, cap - len, "%s/: <too many>\n", name);
			closedir(d);
			return;
		}
		snprintf(names[n], sizeof names[n], "%s", de->d_name);
		sorted[n] = names[n];
		n++;
	}
	closedir(d);
	qsort(sorted, n, sizeof sorted[0], cmp_names);
	len += (size_t)snprintf(buf + len, cap - len, "%s/:", name);
	for (size_t i = 0; i < n && len < cap; i++) {
		len += (size_t)snprintf(buf + len, cap - len, " [%s]", sorted[i]);
	}
	if (len < cap) {
		snprintf(buf + len, cap - len, "\n");
	}
}

static void snapshot(char *buf, size_t cap)
{
	char target[64] = "";
	ssize_t n;

	buf[0] = '\0';
	snap_file(buf, cap, F.tfd, "outside");
	snap_file(buf, cap, F.tfd, "outdir/inner");
	snap_dir(buf, cap, ".");
	snap_dir(buf, cap, "outdir");
	snap_dir(buf, cap, "ro");
	snap_dir(buf, cap, "ro/sub");
	snap_dir(buf, cap, "hl"); /* writable, but no create, delete or mkdir right */
	snap_file(buf, cap, F.tfd, "ro/file");
	n = readlinkat(F.tfd, "ro/lnk", target, sizeof target - 1);
	target[n > 0 ? n : 0] = '\0';
	snprintf(buf + strlen(buf), cap - strlen(buf), "ro/lnk -> %s\n", target);
}

static void check_outside(void)
{
	static char now[SNAP_MAX];

	snapshot(now, sizeof now);
	if (strcmp(now, F.snap) != 0) {
		fprintf(stderr, "--- before\n%s--- after\n%s", F.snap, now);
		FUZZ_BUG("something outside the writable mounts changed");
	}
}

/* ---- oracles on results ---- */

static bool same(const struct stat *st, struct ident id)
{
	return st->st_dev == id.dev && st->st_ino == id.ino;
}

static bool beneath(const char *path, const char *root)
{
	size_t n = strlen(root);

	return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static void check_fd(int fd, const struct resolve_verdict *v, const char *guest)
{
	const char *root = v->mount >= 0 && v->mount < NMOUNTS ? F.root[v->mount] : F.scratch;
	bool ro = v->mount == M_RO;
	bool hardlinks = v->mount >= 0 && v->mount < NMOUNTS && F.mounts[v->mount].hardlinks;
	char link[64], target[PATH_MAX + 1];
	struct stat st;
	ssize_t n;
	int fl, fdfl;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof target - 1);
	if (n < 0) {
		FUZZ_SETUP_FAIL("readlink /proc/self/fd");
	}
	target[n] = '\0';
	if (!beneath(target, root)) {
		FUZZ_BUG("ESCAPE: open(\"%s\") gave fd -> %s, outside the mount root %s", guest,
			 target, root);
	}
	if (fstat(fd, &st) != 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    (fdfl = fcntl(fd, F_GETFD)) < 0) {
		FUZZ_SETUP_FAIL("fstat/fcntl");
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		FUZZ_BUG("open(\"%s\") gave a special file (mode 0%o)", guest,
			 (unsigned)st.st_mode);
	}
	if (same(&st, F.outside)) {
		FUZZ_BUG("ESCAPE: open(\"%s\") gave T/outside (through a hardlink)", guest);
	}
	if (S_ISREG(st.st_mode) && st.st_nlink > 1 && !hardlinks) {
		FUZZ_BUG("open(\"%s\") gave a hardlinked file on a mount without hardlinks", guest);
	}
	if (ro && (fl & O_ACCMODE) != O_RDONLY) {
		FUZZ_BUG("open(\"%s\") gave a writable fd on the read-only mount", guest);
	}
	if (!(fdfl & FD_CLOEXEC) || (fl & O_NONBLOCK)) {
		FUZZ_BUG("open(\"%s\") gave an fd without O_CLOEXEC or still O_NONBLOCK", guest);
	}
}

static void check_stat(const struct stat *st, const char *guest)
{
	for (int i = 0; i < F.nforbidden; i++) {
		if (same(st, F.forbidden[i])) {
			FUZZ_BUG("ESCAPE: stat(\"%s\") describes an object outside (#%d)", guest,
				 i);
		}
	}
}

static void check_rc(int rc, const struct resolve_verdict *v, const char *what)
{
	if (rc > 0 || rc < -4095 || (rc < 0 && v->reason == NULL)) {
		FUZZ_BUG("%s returned %d, reason %s", what, rc, v->reason ? v->reason : "(none)");
	}
}

/* ---- operations ---- */

struct op {
	uint8_t kind;
	bool scratch;
	int flags;
	uint32_t mode;
	char path[POL_PATH_MAX + 64];
};

static int guest_flags(struct fin *in)
{
	static const int bits[] = {O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY};
	uint8_t fl = fin_u8(in);
	int flags = fl & 3;

	for (int i = 0; i < 5; i++) {
		if (fl & (4 << i)) {
			flags |= bits[i];
		}
	}
	if (fl & 0x80) {
		flags |= (int)(1u << (fin_u8(in) % 32));
	}
	return flags;
}

static bool read_op(struct fin *in, struct op *o)
{
	uint8_t b;
	size_t n = 0;

	if (in->n == 0) {
		return false;
	}
	b = fin_u8(in);
	o->kind = b & 7;
	o->scratch = b & 8;
	o->flags = guest_flags(in);
	o->mode = fin_u16(in);
	while (in->n > 0 && in->p[0] != 0 && n < sizeof o->path - 1) {
		o->path[n++] = (char)in->p[0];
		in->p++;
		in->n--;
	}
	if (in->n > 0 && in->p[0] == 0) {
		in->p++;
		in->n--;
	}
	o->path[n] = '\0';
	return true;
}

/* Runs one operation; returns true if it may have changed the tree. */
static bool run_op(const struct op *o)
{
	const struct resolve_roots *r = o->scratch ? &F.sroots : &F.roots;
	struct resolve_verdict v = {0};
	struct stat st;
	unsigned max;
	int rc, fd = -2;

	switch (o->kind) {
	case 1:
		rc = resolve_unlink(r, o->path, &v);
		check_rc(rc, &v, "unlink");
		return rc == 0 || (v.reason != NULL && strcmp(v.reason, RESOLVE_REASON_HOST) == 0);
	case 2:
		rc = resolve_mkdir(r, o->path, o->mode, &v);
		check_rc(rc, &v, "mkdir");
		if (v.created > 1 || (rc == 0 && v.created != 1)) {
			FUZZ_BUG("mkdir reports %u entries created (rc %d)", v.created, rc);
		}
		return rc == 0 || (v.reason != NULL && strcmp(v.reason, RESOLVE_REASON_HOST) == 0);
	case 3:
	case 4:
		rc = resolve_stat(r, o->path, o->kind == 4, &st, &v);
		check_rc(rc, &v, "stat");
		if (rc == 0) {
			check_stat(&st, o->path);
		}
		return false;
	default:
		max = (o->mode >> 12) == 0 ? RESOLVE_NEW_ANY : (unsigned)(o->mode >> 12) - 1;
		rc = max == RESOLVE_NEW_ANY
			 ? resolve_open(r, o->path, o->flags, o->mode, &fd, &v)
			 : resolve_open_counted(r, o->path, o->flags, o->mode, max, &fd, &v);
		check_rc(rc, &v, "open");
		if (v.created > max || (v.created > 0 && !(o->flags & O_CREAT))) {
			FUZZ_BUG("open reports %u entries created, new_max %u", v.created, max);
		}
		if (rc == 0) {
			check_fd(fd, &v, o->path);
			close(fd);
		} else if (fd != -1) {
			FUZZ_BUG("failed open left fd %d", fd);
		}
		/* Denials happen before anything is created or truncated (scratch parents made
		 * before an ENOSPC are counted). */
		return v.created > 0 || ((o->flags & (O_ACCMODE | O_CREAT | O_TRUNC)) != 0 &&
					 (rc == 0 || strcmp(v.reason, RESOLVE_REASON_HOST) == 0));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct op o;
	struct fin in = {data, size};
	bool dirty = false;
	int probe;

	if (!F.built) {
		fx_first();
	}
	for (int i = 0; i < MAX_OPS && read_op(&in, &o); i++) {
		dirty |= run_op(&o);
	}
	probe = fcntl(F.tfd, F_DUPFD_CLOEXEC, 0);
	if (probe < 0) {
		FUZZ_SETUP_FAIL("F_DUPFD");
	}
	close(probe);
	if (probe != F.free_fd) {
		FUZZ_BUG("fd leak: lowest free fd %d, was %d", probe, F.free_fd);
	}
	check_outside();
	if (dirty) {
		fx_rebuild();
	}
	return 0;
}
