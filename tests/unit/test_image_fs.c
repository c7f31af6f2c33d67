/* SPDX-License-Identifier: MIT */
/* test_image_fs.c - the broker's view of a Hermit image (broker/image_fs.c): loading a
 * blob only from a sealed memfd, answers for files, directories, missing names and every
 * write, a mount's path never the image's, scratch for what the image lacks, and the
 * copies handed out being sealed read-only memfds with the entry's bytes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image_fixture.h"
#include "image_fs.h"

#define SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

static struct meta_key g_key = {1, 2};

/* A sealed memfd with the blob of a small image: hermit.toml, bin/kernel, data/a.txt. */
static int blob_fd(bool seal)
{
	static const struct fx_entry e[] = {{"hermit.toml", 0, fx_toml, sizeof fx_toml - 1, NULL},
					    {"bin/kernel", 0, fx_elf, sizeof fx_elf, NULL},
					    {"data/a.txt", 0, "alpha", 5, NULL}};
	struct hermit_image img;
	char err[256];
	size_t len, n;
	unsigned char *gz = fx_image(e, 3, &len), *b;
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_non_null(gz);
	assert_int_equal(hi_parse(gz, len, NULL, &img, err, sizeof err), 0);
	n = hi_blob_size(&img);
	b = malloc(n);
	assert_int_equal(hi_blob_write(&img, b, n), n);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	if (seal) {
		assert_int_equal(fcntl(fd, F_ADD_SEALS, SEALS), 0);
	}
	hi_free(&img);
	free(b);
	free(gz);
	return fd;
}

static void req_of(struct brk_req *r, enum brk_op op, const char *path, uint32_t flags)
{
	memset(r, 0, sizeof *r);
	r->h.op = (uint16_t)op;
	r->flags = flags;
	snprintf(r->path, sizeof r->path, "%s", path);
}

struct env {
	struct image_fs ifs;
	struct policy pol;
	struct image_req ir;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof *e);
	char err[256];

	policy_init(&e->pol);
	assert_int_equal(image_fs_load(blob_fd(true), &e->ifs, err, sizeof err), 0);
	e->ir = (struct image_req){&e->pol, &g_key, false};
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	image_fs_free(&e->ifs);
	policy_free(&e->pol);
	free(e);
	return 0;
}

/* Runs one request: true if the image answered; *rc and *fd as image_fs_handle gives them. */
static bool ask(struct env *e, enum brk_op op, const char *path, uint32_t flags, int *rc, int *fd,
		struct brk_stat *st)
{
	struct resolve_verdict v = {NULL, -1, 0};
	struct brk_req r;

	req_of(&r, op, path, flags);
	return image_fs_handle(&e->ifs, &e->ir, &r, rc, fd, st, &v);
}

static void load_needs_seals(void **state)
{
	struct image_fs ifs;
	char err[256];
	int fd = blob_fd(false);

	(void)state;
	assert_int_equal(image_fs_load(fd, &ifs, err, sizeof err), -1);
	assert_string_equal(err, "the image blob is not a sealed memfd");
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
}

static void load_refuses_forged_blob(void **state)
{
	struct image_fs ifs;
	char err[256];
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	(void)state;
	assert_int_equal(write(fd, "UHSHIMG\0garbage-garbage-garbage", 32), 32);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, SEALS), 0);
	assert_int_equal(image_fs_load(fd, &ifs, err, sizeof err), -1);
	assert_false(ifs.on);
}

static void open_file_copy(void **state)
{
	struct env *e = *state;
	struct brk_stat st;
	char buf[16] = "";
	int rc, fd;

	assert_true(ask(e, BRK_OP_OPEN, "/data/a.txt", 0, &rc, &fd, &st));
	assert_int_equal(rc, 0);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof buf, 0), 5);
	assert_string_equal(buf, "alpha");
	assert_int_equal(read(fd, buf, 2), 2); /* offset 0 */
	assert_int_equal(fcntl(fd, F_GET_SEALS), SEALS);
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(st.dev, BRK_DEV_IMAGE);
	assert_int_equal(st.size, 5);
	assert_true(S_ISREG(st.mode) && (st.mode & 0222) == 0);
	close(fd);
}

static void open_dir_listing(void **state)
{
	struct env *e = *state;
	struct brk_stat st;
	int rc, fd;

	assert_true(ask(e, BRK_OP_OPEN, "/", 0200000, &rc, &fd, &st));
	assert_int_equal(rc, 0);
	assert_true(S_ISDIR(st.mode));
	assert_int_equal(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE, F_SEAL_WRITE);
	close(fd);
	assert_true(ask(e, BRK_OP_OPEN, "/data/a.txt", 0200000, &rc, &fd, &st));
	assert_int_equal(rc, -ENOTDIR);
	assert_int_equal(fd, -1);
}

static void writes_refused(void **state)
{
	struct env *e = *state;
	struct brk_stat st;
	int rc, fd;

	assert_true(ask(e, BRK_OP_OPEN, "/data/a.txt", 1, &rc, &fd, &st));
	assert_int_equal(rc, -EROFS);
	assert_true(ask(e, BRK_OP_OPEN, "/data/a.txt", 0100 | 0200, &rc, &fd, &st));
	assert_int_equal(rc, -EEXIST);
	assert_true(ask(e, BRK_OP_OPEN, "/new", 0101, &rc, &fd, &st));
	assert_int_equal(rc, -EROFS);
	assert_true(ask(e, BRK_OP_OPEN, "/data", 2, &rc, &fd, &st));
	assert_int_equal(rc, -EISDIR);
	assert_true(ask(e, BRK_OP_UNLINK, "/bin/kernel", 0, &rc, &fd, &st));
	assert_int_equal(rc, -EROFS);
	assert_true(ask(e, BRK_OP_MKDIR, "/data", 0, &rc, &fd, &st));
	assert_int_equal(rc, -EEXIST);
	assert_true(ask(e, BRK_OP_MKDIR, "/d2", 0, &rc, &fd, &st));
	assert_int_equal(rc, -EROFS);
	assert_true(ask(e, BRK_OP_STAT, "/nope", 0, &rc, &fd, &st));
	assert_int_equal(rc, -ENOENT);
	assert_true(ask(e, BRK_OP_STAT, "/data/a.txt/x", 0, &rc, &fd, &st));
	assert_int_equal(rc, -ENOENT);
	assert_true(ask(e, BRK_OP_STAT, "data/../data/./a.txt", 0, &rc, &fd, &st));
	assert_int_equal(rc, 0);
	/* ".." above "/": not the image's; the resolver refuses it as an escape */
	assert_false(ask(e, BRK_OP_STAT, "../../data/a.txt", 0, &rc, &fd, &st));
}

static void mounts_and_scratch_first(void **state)
{
	struct env *e = *state;
	char err[256];
	int rc, fd;
	struct brk_stat st;

	assert_int_equal(policy_add_cli_mount(&e->pol, "/tmp:/data", 0, "/", err, sizeof err), 0);
	assert_false(ask(e, BRK_OP_STAT, "/data/a.txt", 0, &rc, &fd, &st));
	assert_true(ask(e, BRK_OP_STAT, "/bin/kernel", 0, &rc, &fd, &st));
	e->ir.scratch = true;
	assert_false(ask(e, BRK_OP_OPEN, "/new", 0101, &rc, &fd, &st));
	assert_true(ask(e, BRK_OP_OPEN, "/bin/kernel", 0100, &rc, &fd, &st));
	assert_int_equal(rc, 0); /* O_RDONLY|O_CREAT of an existing file opens it */
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(load_needs_seals),
	    cmocka_unit_test(load_refuses_forged_blob),
	    cmocka_unit_test_setup_teardown(open_file_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_dir_listing, setup, teardown),
	    cmocka_unit_test_setup_teardown(writes_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(mounts_and_scratch_first, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
