/* SPDX-License-Identifier: MIT */
/* test_resolve_created.c - what the resolver creates, counted exactly (broker/resolve.c,
 * issue 16 item 4): resolve_open_counted and resolve_mkdir report in v->created the files and
 * directories they made, never more than new_max, so the VMM's write budget pays for
 * exactly those.  Uses the fixture of test_resolve.c (resolve_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "resolve_fixture.h"

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

/* Opens, closes, returns rc; *created what the verdict counted. */
static int open_count(const struct resolve_roots *r, const char *path, int flags, unsigned max,
		      unsigned *created)
{
	struct resolve_verdict v;
	int fd = -1, rc = resolve_open_counted(r, path, flags, 0644, max, &fd, &v);

	*created = v.created;
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

static bool exists(const struct fx *f, const char *rel)
{
	struct stat st;

	return fstatat(f->tmpfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void open_counts_files(void **state)
{
	struct fx *f = *state;
	unsigned c;

	assert_int_equal(open_count(&f->roots, "/data/new", O_WRONLY | O_CREAT, 1, &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(open_count(&f->roots, "/data/new", O_WRONLY | O_CREAT, 1, &c), 0);
	assert_int_equal(c, 0); /* it exists now */
	assert_int_equal(open_count(&f->roots, "/data/file", O_RDWR | O_CREAT | O_TRUNC, 1, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(open_count(&f->roots, "/data/excl", O_WRONLY | O_CREAT | O_EXCL, 1, &c),
			 0);
	assert_int_equal(c, 1);
	assert_int_equal(open_count(&f->roots, "/data/excl", O_WRONLY | O_CREAT | O_EXCL, 1, &c),
			 -EEXIST);
	assert_int_equal(c, 0);
	assert_int_equal(open_count(&f->roots, "/data/file", O_RDONLY, 0, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(open_count(&f->roots, "/data/nodir/x", O_WRONLY | O_CREAT, 5, &c),
			 -ENOENT);
	assert_int_equal(c, 0); /* outside scratch, parents are never made */
}

/* With symlinks=within, O_CREAT through a dangling link inside the mount creates the target:
 * counted, though O_EXCL found the link. */
static void open_counts_through_a_link(void **state)
{
	struct fx *f = *state;
	unsigned c;

	fx_symlink(f->tmpfd, "made", "root/tomake");
	assert_int_equal(open_count(&f->roots, "/w/tomake", O_WRONLY | O_CREAT, 1, &c), 0);
	assert_int_equal(c, 1);
	assert_true(exists(f, "root/made"));
}

static void scratch_parents_counted_and_capped(void **state)
{
	struct fx *f = *state;
	unsigned c;

	assert_int_equal(open_count(&f->sroots, "/a/b/c/f", O_WRONLY | O_CREAT, 4, &c), 0);
	assert_int_equal(c, 4); /* a, b, c and f */
	assert_int_equal(open_count(&f->sroots, "/a/b/c/g", O_WRONLY | O_CREAT, 4, &c), 0);
	assert_int_equal(c, 1); /* the parents exist */
	/* three parents and the file need 4: with 2, one parent is made, then ENOSPC */
	assert_int_equal(open_count(&f->sroots, "/p/q/r/f", O_WRONLY | O_CREAT, 2, &c), -ENOSPC);
	assert_int_equal(c, 1);
	assert_true(exists(f, "scratch/p"));
	assert_false(exists(f, "scratch/p/q"));
	/* parents all there but no entry left for the file: ENOSPC, nothing made */
	assert_int_equal(open_count(&f->sroots, "/a/b/c/h", O_WRONLY | O_CREAT, 1, &c), 0);
	assert_int_equal(c, 1);
	assert_int_equal(open_count(&f->sroots, "/x/y", O_WRONLY | O_CREAT, 1, &c), -ENOSPC);
	assert_int_equal(c, 0);
	assert_false(exists(f, "scratch/x"));
}

static void mkdir_counts(void **state)
{
	struct fx *f = *state;
	struct resolve_verdict v;

	assert_int_equal(resolve_mkdir(&f->roots, "/data/d", 0755, &v), 0);
	assert_int_equal(v.created, 1);
	assert_int_equal(resolve_mkdir(&f->roots, "/data/d", 0755, &v), -EEXIST);
	assert_int_equal(v.created, 0);
	assert_int_equal(resolve_mkdir(&f->roots, "/ro/d", 0755, &v), -EROFS);
	assert_int_equal(v.created, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(open_counts_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_counts_through_a_link, setup, teardown),
	    cmocka_unit_test_setup_teardown(scratch_parents_counted_and_capped, setup, teardown),
	    cmocka_unit_test_setup_teardown(mkdir_counts, setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
