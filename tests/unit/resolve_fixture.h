/* SPDX-License-Identifier: MIT */
/* resolve_fixture.h - a hostile host directory tree for test_resolve.c, built at test time.
 *
 * Layout under a fresh mkdtemp directory T (everything outside T/root, T/ro, T/hl and T/scratch
 * is "outside" and is snapshotted; see fx_snapshot):
 *   T/outside                 "secret outside\n": must never be read or changed
 *   T/outdir/inner            bind-mounted onto T/root/bindmnt
 *   T/root/                   mounts /data (deny symlinks), /w (symlinks=within), /nc
 *     file  sub/  sub/x  up -> ..  etc -> /etc  proc -> /proc/self/root
 *     dangling -> nonexistent  dangling_out -> ../created_outside  a -> b  b -> a
 *     inlink -> file  subl -> sub  fifo  sock  null (char 1,3)  hlink (== T/outside)
 *     bindmnt/ (bind of T/outdir)  sgid/ (02775, group FX_SGID_GID)
 *     "nl\nname"  "sp ace"  "\xff\xfe"
 *   T/ro/   file  sub/  lnk -> file                      mount /ro (read-only)
 *   T/hl/   f1  f2 (hardlink of f1)                      mount /hl (hardlinks allowed)
 *   T/scratch/  sl -> /etc  h1  h2 (hardlink of h1)     scratch directory
 * The tests may use host paths freely; only resolve.c may not.
 */
#ifndef UHS_RESOLVE_FIXTURE_H
#define UHS_RESOLVE_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "resolve.h"

enum { M_DATA, M_RO, M_WITHIN, M_HL, M_NC, FX_NMOUNTS };

#define FX_SGID_GID 4242
#define FX_SNAP_MAX 16384

struct fx {
	char tmp[80];
	int tmpfd; /* O_RDONLY|O_DIRECTORY on T, for host-side checks */
	int dirfds[FX_NMOUNTS];
	int scratchfd;
	struct pol_mount mounts[FX_NMOUNTS];
	struct policy pol;
	struct resolve_roots roots; /* no scratch */
	struct resolve_roots sroots; /* with scratch */
	bool chardev, bind;
	struct stat outside; /* T/outside right after creation */
	char snap[FX_SNAP_MAX];
};

/* Set by main() when the test runs in its own mount namespace (bind mounts are private). */
static bool g_private_ns;
/* Where fixtures are made: /tmp, or a tmpfs private to the test's mount namespace. */
static char g_base[48] = "/tmp";

static void fx_die(const char *what, const char *name)
{
	fprintf(stderr, "fixture: %s %s: %s\n", what, name, strerror(errno));
	abort();
}

static void fx_write(int dirfd, const char *name, const char *content)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t len = strlen(content);

	if (fd < 0 || write(fd, content, len) != (ssize_t)len || close(fd) < 0) {
		fx_die("write", name);
	}
}

static void fx_mkdir(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0755) < 0) {
		fx_die("mkdir", name);
	}
}

static void fx_symlink(int dirfd, const char *target, const char *name)
{
	if (symlinkat(target, dirfd, name) < 0) {
		fx_die("symlink", name);
	}
}

static int fx_cmp_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Appends "<label>:" and the sorted names of directory `path` (relative to dirfd) to buf. */
static void fx_list(int dirfd, const char *path, const char *label, char *buf, size_t cap)
{
	static char names[256][256];
	size_t n = 0, len = strlen(buf);
	struct dirent *de;
	DIR *d;
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		snprintf(buf + len, cap - len, "%s: <%s>\n", label, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return;
	}
	while ((de = readdir(d)) != NULL && n < 256) {
		snprintf(names[n++], sizeof names[0], "%s", de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof names[0], fx_cmp_names);
	len += (size_t)snprintf(buf + len, cap - len, "%s:", label);
	for (size_t i = 0; i < n && len < cap; i++) {
		len += (size_t)snprintf(buf + len, cap - len, " [%s]", names[i]);
	}
	if (len < cap) {
		snprintf(buf + len, cap - len, "\n");
	}
}

/* Appends size, mtime, inode and content of a file (relative to dirfd) to buf. */
static void fx_file(int dirfd, const char *path, char *buf, size_t cap)
{
	char content[256] = "";
	size_t len = strlen(buf);
	struct stat st;
	ssize_t got = -1;
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		got = read(fd, content, sizeof content - 1);
		content[got > 0 ? got : 0] = '\0';
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(buf + len, cap - len, "%s: <%s>\n", path, strerror(errno));
	} else {
		snprintf(buf + len, cap - len,
			 "%s: size %lld mtime %lld.%09ld ino %llu mode %o [%s]\n", path,
			 (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 (unsigned long long)st.st_ino, (unsigned)st.st_mode, content);
	}
	if (fd >= 0) {
		close(fd);
	}
}

/* Everything the resolver must never change: T/outside, T's listing, T/outdir, the whole
 * read-only mount, "/" and /etc/passwd. */
static void fx_snapshot(const struct fx *f, char *buf, size_t cap)
{
	char target[64] = "";
	ssize_t n;

	buf[0] = '\0';
	fx_file(f->tmpfd, "outside", buf, cap);
	fx_list(f->tmpfd, ".", "T", buf, cap);
	fx_list(f->tmpfd, "outdir", "T/outdir", buf, cap);
	fx_file(f->tmpfd, "outdir/inner", buf, cap);
	fx_list(f->tmpfd, "ro", "T/ro", buf, cap);
	fx_list(f->tmpfd, "ro/sub", "T/ro/sub", buf, cap);
	fx_file(f->tmpfd, "ro/file", buf, cap);
	n = readlinkat(f->tmpfd, "ro/lnk", target, sizeof target - 1);
	target[n > 0 ? n : 0] = '\0';
	snprintf(buf + strlen(buf), cap - strlen(buf), "ro/lnk -> %s\n", target);
	fx_list(AT_FDCWD, "/", "/", buf, cap);
	fx_file(AT_FDCWD, "/etc/passwd", buf, cap);
}

/* Returns true if nothing outside changed since fx_create; prints the difference if not. */
static bool fx_outside_unchanged(const struct fx *f)
{
	static char now[FX_SNAP_MAX];

	fx_snapshot(f, now, sizeof now);
	if (strcmp(now, f->snap) == 0) {
		return true;
	}
	fprintf(stderr, "OUTSIDE CHANGED\n--- before\n%s--- after\n%s", f->snap, now);
	return false;
}

static int fx_open_dir(const struct fx *f, const char *name)
{
	int fd = openat(f->tmpfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		fx_die("open", name);
	}
	return fd;
}

static void fx_mount(struct fx *f, int i, const char *guest, int dirfd)
{
	struct pol_mount *m = &f->mounts[i];

	m->host = f->tmp; /* informational only: resolve.c uses the dirfds */
	m->guest = (char *)(uintptr_t)guest;
	f->dirfds[i] = dirfd;
	snprintf(m->origin, sizeof m->origin, "test mount %d", i);
}

static void fx_create(struct fx *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char src[128], dst[128];
	int s;

	memset(f, 0, sizeof *f);
	snprintf(f->tmp, sizeof f->tmp, "%s/uhs-resolve-XXXXXX", g_base);
	if (mkdtemp(f->tmp) == NULL) {
		fx_die("mkdtemp", f->tmp);
	}
	f->tmpfd = open(f->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->tmpfd < 0) {
		fx_die("open", f->tmp);
	}
	fx_write(f->tmpfd, "outside", "secret outside\n");
	fx_mkdir(f->tmpfd, "outdir");
	fx_write(f->tmpfd, "outdir/inner", "inner\n");
	fx_mkdir(f->tmpfd, "root");
	fx_mkdir(f->tmpfd, "ro");
	fx_mkdir(f->tmpfd, "hl");
	fx_mkdir(f->tmpfd, "scratch");

	fx_write(f->tmpfd, "root/file", "hello\n");
	fx_mkdir(f->tmpfd, "root/sub");
	fx_write(f->tmpfd, "root/sub/x", "x\n");
	fx_symlink(f->tmpfd, "..", "root/up");
	fx_symlink(f->tmpfd, "/etc", "root/etc");
	fx_symlink(f->tmpfd, "/proc/self/root", "root/proc");
	fx_symlink(f->tmpfd, "nonexistent", "root/dangling");
	fx_symlink(f->tmpfd, "../created_outside", "root/dangling_out");
	fx_symlink(f->tmpfd, "b", "root/a");
	fx_symlink(f->tmpfd, "a", "root/b");
	fx_symlink(f->tmpfd, "file", "root/inlink");
	fx_symlink(f->tmpfd, "sub", "root/subl");
	if (mkfifoat(f->tmpfd, "root/fifo", 0666) < 0) {
		fx_die("mkfifo", "root/fifo");
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/root/sock", f->tmp);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (const struct sockaddr *)&sa, sizeof sa) < 0) {
		fx_die("bind", sa.sun_path);
	}
	close(s);
	if (mknodat(f->tmpfd, "root/null", S_IFCHR | 0666, makedev(1, 3)) == 0) {
		f->chardev = true;
	} else if (errno != EPERM) {
		fx_die("mknod", "root/null");
	}
	if (linkat(f->tmpfd, "outside", f->tmpfd, "root/hlink", 0) < 0) {
		fx_die("link", "root/hlink");
	}
	fx_mkdir(f->tmpfd, "root/bindmnt");
	snprintf(src, sizeof src, "%s/outdir", f->tmp);
	snprintf(dst, sizeof dst, "%s/root/bindmnt", f->tmp);
	if (g_private_ns && mount(src, dst, NULL, MS_BIND, NULL) == 0) {
		f->bind = true;
	}
	fx_mkdir(f->tmpfd, "root/sgid");
	if (fchownat(f->tmpfd, "root/sgid", (uid_t)-1, FX_SGID_GID, 0) < 0 ||
	    fchmodat(f->tmpfd, "root/sgid", 02775, 0) < 0) {
		fx_die("chown/chmod", "root/sgid");
	}
	fx_write(f->tmpfd, "root/nl\nname", "newline\n");
	fx_write(f->tmpfd, "root/sp ace", "space\n");
	fx_write(f->tmpfd, "root/\xff\xfe", "not utf-8\n");

	fx_write(f->tmpfd, "ro/file", "ro data\n");
	fx_mkdir(f->tmpfd, "ro/sub");
	fx_symlink(f->tmpfd, "file", "ro/lnk");
	fx_symlink(f->tmpfd, "/etc", "scratch/sl");
	fx_write(f->tmpfd, "scratch/h1", "h\n");
	if (linkat(f->tmpfd, "scratch/h1", f->tmpfd, "scratch/h2", 0) < 0) {
		fx_die("link", "scratch/h2");
	}
	fx_write(f->tmpfd, "hl/f1", "hl\n");
	if (linkat(f->tmpfd, "hl/f1", f->tmpfd, "hl/f2", 0) < 0) {
		fx_die("link", "hl/f2");
	}

	fx_mount(f, M_DATA, "/data", fx_open_dir(f, "root"));
	f->mounts[M_DATA].writable = f->mounts[M_DATA].create = true;
	f->mounts[M_DATA].remove = f->mounts[M_DATA].mkdir = true;
	fx_mount(f, M_RO, "/ro", fx_open_dir(f, "ro"));
	fx_mount(f, M_WITHIN, "/w", fx_open_dir(f, "root"));
	f->mounts[M_WITHIN].writable = f->mounts[M_WITHIN].create = true;
	f->mounts[M_WITHIN].remove = f->mounts[M_WITHIN].mkdir = true;
	f->mounts[M_WITHIN].symlinks = POL_SYMLINKS_WITHIN;
	fx_mount(f, M_HL, "/hl", fx_open_dir(f, "hl"));
	f->mounts[M_HL].writable = f->mounts[M_HL].hardlinks = true;
	fx_mount(f, M_NC, "/nc", fx_open_dir(f, "root"));
	f->mounts[M_NC].writable = true;
	f->scratchfd = fx_open_dir(f, "scratch");

	f->pol.mounts = f->mounts;
	f->pol.nmounts = FX_NMOUNTS;
	f->pol.max_open_files = POL_DEFAULT_OPEN_FILES;
	f->roots = (struct resolve_roots){.pol = &f->pol, .dirfds = f->dirfds, .scratch_fd = -1};
	f->sroots = f->roots;
	f->sroots.scratch_fd = f->scratchfd;
	f->pol.scratch = false;

	if (fstatat(f->tmpfd, "outside", &f->outside, 0) < 0) {
		fx_die("stat", "outside");
	}
	fx_snapshot(f, f->snap, sizeof f->snap);
}

static int fx_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void fx_destroy(struct fx *f)
{
	char dst[128];

	if (f->bind) {
		snprintf(dst, sizeof dst, "%s/root/bindmnt", f->tmp);
		umount2(dst, MNT_DETACH);
	}
	for (int i = 0; i < FX_NMOUNTS; i++) {
		close(f->dirfds[i]);
	}
	close(f->scratchfd);
	close(f->tmpfd);
	/* FTW_PHYS: never follow the fixture's symlinks; FTW_MOUNT: never enter a mount. */
	nftw(f->tmp, fx_rm, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

#endif
