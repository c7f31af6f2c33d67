/* SPDX-License-Identifier: MIT */
/* test_file_map.c - single-file mappings in the resolver (broker/file_map.c): the guest reaches
 * exactly the mapped file at exactly its guest path; writes need rw; nothing is created,
 * removed or listed; a file renamed or a symlink swapped into its place on the host is
 * refused, and what it points to is never touched. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "resolve.h"

static char g_guest0[] = "/g.txt", g_guest1[] = "/etc/ro.txt", g_guestx[] = "/x";
static char g_nowhere[] = "/nonexistent/x";

struct fm {
	char tmp[64], path[2][128];
	struct pol_mount mounts[2];
	struct policy pol;
	int dirfds[2], filefds[2];
	char *paths[2];
	struct resolve_roots roots;
};

static void put(const char *dir, const char *name, const char *s)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static char *slurp(int fd)
{
	static char buf[256];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* T/dir/file.txt "mapped" (mount 0, rw at /g.txt), T/dir/sib "sibling", T/outside "secret",
 * T/dir/ro.txt "ro" (mount 1, ro at /etc/ro.txt). */
static int setup(void **state)
{
	struct fm *f = calloc(1, sizeof *f);
	char dir[96];

	snprintf(f->tmp, sizeof f->tmp, "/tmp/uhs-fm-XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(dir, sizeof dir, "%s/dir", f->tmp);
	assert_int_equal(mkdir(dir, 0755), 0);
	put(dir, "file.txt", "mapped");
	put(dir, "sib", "sibling");
	put(dir, "ro.txt", "ro");
	put(f->tmp, "outside", "secret");
	snprintf(f->path[0], sizeof f->path[0], "%s/file.txt", dir);
	snprintf(f->path[1], sizeof f->path[1], "%s/ro.txt", dir);
	f->mounts[0] = (struct pol_mount){
	    .host = f->path[0], .guest = g_guest0, .writable = true, .file = true};
	f->mounts[1] = (struct pol_mount){.host = f->path[1], .guest = g_guest1, .file = true};
	f->pol = (struct policy){.mounts = f->mounts, .nmounts = 2, .max_open_files = 16};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    file_map_open_root(&f->mounts[i], &f->dirfds[i], &f->filefds[i], &f->paths[i]),
		    0);
	}
	f->roots = (struct resolve_roots){.pol = &f->pol,
					  .dirfds = f->dirfds,
					  .scratch_fd = -1,
					  .filefds = f->filefds,
					  .filepaths = f->paths};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fm *f = *state;
	char cmd[128];

	for (int i = 0; i < 2; i++) {
		close(f->dirfds[i]);
		close(f->filefds[i]);
		free(f->paths[i]);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->tmp);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int open_err(struct fm *f, const char *path, int flags, const char *reason)
{
	struct resolve_verdict v;
	int fd = -1, rc = resolve_open(&f->roots, path, flags, 0644, &fd, &v);

	assert_int_equal(fd, -1);
	if (reason != NULL) {
		assert_string_equal(v.reason, reason);
	}
	return rc;
}

static void exact_file(void **state)
{
	struct fm *f = *state;
	struct resolve_verdict v;
	struct stat st;
	int fd;

	assert_int_equal(resolve_open(&f->roots, "/g.txt", O_RDONLY, 0, &fd, &v), 0);
	assert_string_equal(slurp(fd), "mapped");
	close(fd);
	/* Hermit 0.6.x sends paths relative to its /root */
	assert_int_equal(resolve_open(&f->roots, "g.txt", O_RDWR | O_TRUNC | O_CREAT, 0, &fd, &v),
			 0);
	assert_int_equal(write(fd, "new", 3), 3);
	close(fd);
	assert_int_equal(resolve_stat(&f->roots, "/g.txt", true, &st, &v), 0);
	assert_int_equal(st.st_size, 3);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(open_err(f, "/g.txt", O_RDONLY | O_DIRECTORY, NULL), -ENOTDIR);
	assert_int_equal(open_err(f, "/g.txt", O_WRONLY | O_CREAT | O_EXCL, NULL), -EEXIST);
	assert_int_equal(open_err(f, "/g.txt/x", O_RDONLY, "below a file mapping"), -ENOTDIR);
	assert_int_equal(open_err(f, "/sib", O_RDONLY, "no mount"), -EACCES);
	assert_int_equal(open_err(f, "/", O_RDONLY | O_DIRECTORY, "no mount"), -EACCES);
	assert_int_equal(resolve_unlink(&f->roots, "/g.txt", &v), -EBUSY);
	assert_int_equal(resolve_mkdir(&f->roots, "/g.txt", 0755, &v), -EEXIST);
	assert_int_equal(resolve_mkdir(&f->roots, "/g.txt/d", 0755, &v), -ENOTDIR);
	/* read-only */
	assert_int_equal(resolve_open(&f->roots, "/etc/ro.txt", O_RDONLY, 0, &fd, &v), 0);
	close(fd);
	assert_int_equal(open_err(f, "/etc/ro.txt", O_WRONLY, "read-only mount"), -EROFS);
	assert_int_equal(open_err(f, "/etc/ro.txt", O_RDONLY | O_TRUNC, NULL), -EROFS);
}

/* A host user renames another file over the mapped name, or swaps in a symlink: refused,
 * and neither the newcomer nor what the symlink points to is opened or changed. */
static void replaced_on_host(void **state)
{
	struct fm *f = *state;
	char sib[160], out[160];
	int fd;

	snprintf(sib, sizeof sib, "%s/dir/sib", f->tmp);
	snprintf(out, sizeof out, "%s/outside", f->tmp);
	assert_int_equal(rename(sib, f->path[0]), 0);
	assert_int_equal(
	    open_err(f, "/g.txt", O_RDWR | O_TRUNC, "file mapping replaced on the host"), -EACCES);
	assert_int_equal(unlink(f->path[0]), 0);
	assert_int_equal(symlink(out, f->path[0]), 0);
	assert_int_equal(
	    open_err(f, "/g.txt", O_RDWR | O_TRUNC, "file mapping replaced on the host"), -EACCES);
	fd = open(out, O_RDONLY | O_CLOEXEC);
	assert_string_equal(slurp(fd), "secret");
	close(fd);
	assert_int_equal(unlink(f->path[0]), 0);
	assert_int_equal(open_err(f, "/g.txt", O_RDONLY, "file mapping replaced on the host"),
			 -EACCES);
}

static void open_root_errors(void **state)
{
	struct fm *f = *state;
	char fifo[160], link[160];
	struct pol_mount m = {.guest = g_guestx, .file = true};
	int d, fd;
	char *p;

	snprintf(fifo, sizeof fifo, "%s/fifo", f->tmp);
	snprintf(link, sizeof link, "%s/link", f->tmp);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	m.host = fifo;
	assert_int_equal(file_map_open_root(&m, &d, &fd, &p), -EINVAL);
	close(d), close(fd), free(p);
	m.host = g_nowhere;
	assert_int_equal(file_map_open_root(&m, &d, &fd, &p), -ENOENT);
	free(p);
	/* the operator may name a symlink: it is resolved once, at start */
	assert_int_equal(symlink(f->path[1], link), 0);
	m.host = link;
	assert_int_equal(file_map_open_root(&m, &d, &fd, &p), 0);
	assert_string_equal(p, f->path[1]);
	close(d), close(fd), free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(exact_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(replaced_on_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_root_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
