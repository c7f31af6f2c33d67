/* SPDX-License-Identifier: MIT */
/* test_broker_rules.c - the rules issue 16 added to the VMM <-> broker protocol
 * (common/broker_proto.c), one test per rule, each between fd-leak checks:
 *   item 8: a successful OPEN describes a regular file or a directory;
 *   item 6: every stat payload is the guest's view (dev 1..BRK_DEV_IMAGE, uid, gid and
 *           rdev 0);
 *   item 4: a request says how many entries the broker may create (new_max), a reply how
 *           many it did (created <= new_max);
 * and a round trip of each new reply through brk_send/brk_recv with its fd.
 * (test_broker_proto.c holds the rules from before.) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker_proto.h"

/* ---- fd-leak check ---- */

static int open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		n += e->d_name[0] != '.';
	}
	closedir(d);
	return n - 1;
}

static int fds_before;

static int fd_setup(void **state)
{
	(void)state;
	fds_before = open_fd_count();
	return 0;
}

static int fd_teardown(void **state)
{
	(void)state;
	if (open_fd_count() != fds_before) {
		print_error("fd leak: %d before the test, %d after\n", fds_before, open_fd_count());
		return -1;
	}
	return 0;
}

/* ---- helpers ---- */

static void req_of(struct brk_req *r, enum brk_op op, int32_t flags, uint32_t mode)
{
	const char *why = NULL;

	assert_int_equal(brk_req_build(r, op, 9, flags, mode, "/data/x"), 0);
	assert_int_equal(brk_req_check(r, sizeof *r, &why), 0);
}

/* The reply a correct broker sends: for a success with metadata, a regular file of mount 0. */
static void reply_of(struct brk_reply *p, const struct brk_req *req, int32_t err)
{
	memset(p, 0, sizeof *p);
	p->h = (struct brk_hdr){.version = BRK_VERSION, .op = req->h.op, .seq = req->h.seq};
	p->err = err;
	p->has_fd = req->h.op == BRK_OP_OPEN && err == 0;
	if (err == 0 &&
	    (req->h.op == BRK_OP_OPEN || req->h.op == BRK_OP_STAT || req->h.op == BRK_OP_LSTAT)) {
		p->st = (struct brk_stat){.dev = 1,
					  .ino = 0x9e3779b97f4a7c15ull,
					  .nlink = 1,
					  .mode = S_IFREG | 0644,
					  .size = 5,
					  .blksize = 4096};
	}
}

static void accepts(const struct brk_reply *p, const struct brk_req *req)
{
	const char *why = NULL;
	int rc = brk_reply_check(p, sizeof *p, req, (int)p->has_fd, &why);

	if (rc != 0) {
		print_error("rejected: %s\n", why);
	}
	assert_int_equal(rc, 0);
}

static void rejects(const struct brk_reply *p, const struct brk_req *req, const char *reason)
{
	const char *why = NULL;

	assert_int_equal(brk_reply_check(p, sizeof *p, req, (int)p->has_fd, &why), -EPROTO);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

/* ---- item 8: what an OPEN may describe ---- */

static void open_describes_file_or_dir(void **state)
{
	static const uint32_t bad[] = {
	    0, S_IFLNK | 0777, S_IFIFO | 0644, S_IFSOCK | 0755, S_IFCHR | 0666, S_IFBLK | 0660};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	req_of(&req, BRK_OP_OPEN, O_RDONLY, 0);
	reply_of(&p, &req, 0);
	accepts(&p, &req);
	p.st.mode = S_IFDIR | 0755;
	accepts(&p, &req);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p.st.mode = bad[i];
		rejects(&p, &req, "open of neither a regular file nor a directory");
	}
	/* A stat may describe anything (lstat of a symlink, a FIFO). */
	req_of(&req, BRK_OP_LSTAT, 0, 0);
	reply_of(&p, &req, 0);
	p.st.mode = S_IFLNK | 0777;
	accepts(&p, &req);
}

/* ---- item 6: no host identities ---- */

static void stat_dev_is_a_mounts(void **state)
{
	const enum brk_op ops[] = {BRK_OP_OPEN, BRK_OP_STAT, BRK_OP_LSTAT};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		req_of(&req, ops[i], 0, 0);
		reply_of(&p, &req, 0);
		p.st.dev = BRK_DEV_SCRATCH;
		accepts(&p, &req);
		p.st.dev = 0;
		rejects(&p, &req, "stat dev is not a mount's");
		p.st.dev = BRK_DEV_IMAGE;
		accepts(&p, &req);
		p.st.dev = BRK_DEV_IMAGE + 1;
		rejects(&p, &req, "stat dev is not a mount's");
		p.st.dev = 0x801; /* a host device number (8:1) */
		rejects(&p, &req, "stat dev is not a mount's");
	}
}

static void stat_owner_and_rdev_zero(void **state)
{
	const enum brk_op ops[] = {BRK_OP_OPEN, BRK_OP_STAT, BRK_OP_LSTAT};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		req_of(&req, ops[i], 0, 0);
		reply_of(&p, &req, 0);
		p.st.uid = 1000;
		rejects(&p, &req, "stat uid, gid or rdev not zero");
		reply_of(&p, &req, 0);
		p.st.gid = 1;
		rejects(&p, &req, "stat uid, gid or rdev not zero");
		reply_of(&p, &req, 0);
		p.st.rdev = 0x103;
		rejects(&p, &req, "stat uid, gid or rdev not zero");
	}
}

/* ---- item 4: entries ---- */

static void req_rejects(const struct brk_req *r, const char *reason)
{
	const char *why = NULL;

	assert_int_equal(brk_req_check(r, sizeof *r, &why), -EPROTO);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void req_accepts(const struct brk_req *r)
{
	const char *why = NULL;

	assert_int_equal(brk_req_check(r, sizeof *r, &why), 0);
}

static void build_sets_new_max(void **state)
{
	struct brk_req r;

	(void)state;
	req_of(&r, BRK_OP_OPEN, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(r.new_max, BRK_NEW_MAX);
	req_of(&r, BRK_OP_OPEN, O_RDONLY, 0);
	assert_int_equal(r.new_max, 0);
	req_of(&r, BRK_OP_MKDIR, 0, 0755);
	assert_int_equal(r.new_max, 1);
	req_of(&r, BRK_OP_STAT, 0, 0);
	assert_int_equal(r.new_max, 0);
	assert_int_equal(brk_req_build(&r, BRK_OP_OPEN, 1, O_CREAT, 0x10000, "/x"), -EINVAL);
}

static void open_creat_new_max_range(void **state)
{
	struct brk_req r;

	(void)state;
	req_of(&r, BRK_OP_OPEN, O_WRONLY | O_CREAT, 0644);
	r.new_max = 1;
	req_accepts(&r);
	r.new_max = 0;
	req_rejects(&r, "bad new_max"); /* the VMM drops O_CREAT instead */
	r.new_max = BRK_NEW_MAX + 1;
	req_rejects(&r, "bad new_max");
	r.new_max = UINT16_MAX;
	req_rejects(&r, "bad new_max");
}

static void open_without_creat_new_max_zero(void **state)
{
	struct brk_req r;

	(void)state;
	req_of(&r, BRK_OP_OPEN, O_RDWR | O_TRUNC, 0);
	r.new_max = 1;
	req_rejects(&r, "bad new_max");
}

static void mkdir_new_max_one(void **state)
{
	struct brk_req r;

	(void)state;
	req_of(&r, BRK_OP_MKDIR, 0, 0700);
	r.new_max = 0;
	req_rejects(&r, "bad new_max");
	r.new_max = 2;
	req_rejects(&r, "bad new_max");
}

static void other_ops_new_max_zero(void **state)
{
	const enum brk_op ops[] = {BRK_OP_UNLINK, BRK_OP_STAT, BRK_OP_LSTAT};
	struct brk_req r;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		req_of(&r, ops[i], 0, 0);
		r.new_max = 1;
		req_rejects(&r, "flags, mode or new_max must be 0");
	}
}

static void created_at_most_new_max(void **state)
{
	const enum brk_op none[] = {BRK_OP_UNLINK, BRK_OP_STAT, BRK_OP_LSTAT};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	req_of(&req, BRK_OP_OPEN, O_WRONLY | O_CREAT, 0644);
	req.new_max = 3;
	reply_of(&p, &req, 0);
	p.created = 3; /* a scratch file and two parents */
	accepts(&p, &req);
	p.created = 4;
	rejects(&p, &req, "created more than new_max");
	reply_of(&p, &req, EACCES); /* parents made, then the open failed */
	p.created = 2;
	accepts(&p, &req);
	req_of(&req, BRK_OP_OPEN, O_RDONLY, 0);
	reply_of(&p, &req, 0);
	p.created = 1;
	rejects(&p, &req, "created more than new_max");
	req_of(&req, BRK_OP_MKDIR, 0, 0755);
	reply_of(&p, &req, 0);
	p.created = 1;
	accepts(&p, &req);
	p.created = 2;
	rejects(&p, &req, "created more than new_max");
	for (size_t i = 0; i < 3; i++) {
		req_of(&req, none[i], 0, 0);
		reply_of(&p, &req, 0);
		p.created = 1;
		rejects(&p, &req, "created more than new_max");
	}
}

static void has_fd_is_0_or_1(void **state)
{
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	req_of(&req, BRK_OP_OPEN, O_RDONLY, 0);
	reply_of(&p, &req, 0);
	p.has_fd = 2;
	rejects(&p, &req, "bad has_fd");
	p.has_fd = 0x101;
	rejects(&p, &req, "bad has_fd");
}

/* ---- the new replies on the wire, with their fds ---- */

static void listing_reply_round_trip(void **state)
{
	struct brk_reply p, got;
	struct brk_req req;
	const char *why = NULL;
	int sv[2], fd, in = -1, nfds = -1;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	fd = memfd_create("listing", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	req_of(&req, BRK_OP_OPEN, O_RDONLY | O_DIRECTORY, 0);
	reply_of(&p, &req, 0);
	p.st.mode = S_IFDIR | 0755;
	assert_int_equal(brk_send(sv[0], &p, sizeof p, fd), 0);
	close(fd);
	assert_int_equal(brk_recv(sv[1], &got, sizeof got, &in, &nfds), (ssize_t)sizeof got);
	assert_int_equal(nfds, 1);
	assert_true(in >= 0);
	assert_int_equal(brk_reply_check(&got, sizeof got, &req, nfds, &why), 0);
	close(in);
	close(sv[0]);
	close(sv[1]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fd_setup, fd_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(open_describes_file_or_dir), T(stat_dev_is_a_mounts),
	    T(stat_owner_and_rdev_zero),   T(build_sets_new_max),
	    T(open_creat_new_max_range),   T(open_without_creat_new_max_zero),
	    T(mkdir_new_max_one),	   T(other_ops_new_max_zero),
	    T(created_at_most_new_max),	   T(has_fd_is_0_or_1),
	    T(listing_reply_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
