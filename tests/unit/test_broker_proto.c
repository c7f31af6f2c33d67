/* SPDX-License-Identifier: MIT */
/* test_broker_proto.c - the VMM <-> broker wire protocol: build, validate, send, receive. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker_proto.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fd-leak check: every test runs between these two ---- */

static int open_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n - 1; /* the directory's own fd */
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
	int now = open_fd_count();

	(void)state;
	if (now != fds_before) {
		print_error("fd leak: %d open before the test, %d after\n", fds_before, now);
		return -1;
	}
	return 0;
}

/* ---- helpers ---- */

#define REQ_REJECTS(r, reason)                                                                     \
	do {                                                                                       \
		const char *why_ = NULL;                                                           \
		assert_int_equal(brk_req_check((r), sizeof *(r), &why_), -EPROTO);                 \
		assert_non_null(why_);                                                             \
		assert_string_equal(why_, (reason));                                               \
	} while (0)

#define REQ_ACCEPTS(r)                                                                             \
	do {                                                                                       \
		const char *why_ = NULL;                                                           \
		assert_int_equal(brk_req_check((r), sizeof *(r), &why_), 0);                       \
	} while (0)

#define REPLY_REJECTS(p, req, nfds, reason)                                                        \
	do {                                                                                       \
		const char *why_ = NULL;                                                           \
		assert_int_equal(brk_reply_check((p), sizeof *(p), (req), (nfds), &why_),          \
				 -EPROTO);                                                         \
		assert_non_null(why_);                                                             \
		assert_string_equal(why_, (reason));                                               \
	} while (0)

#define REPLY_ACCEPTS(p, req, nfds)                                                                \
	do {                                                                                       \
		const char *why_ = NULL;                                                           \
		assert_int_equal(brk_reply_check((p), sizeof *(p), (req), (nfds), &why_), 0);      \
	} while (0)

/* A valid request for op, with every other field as the op requires. */
static void valid_req(struct brk_req *r, enum brk_op op)
{
	int32_t flags = op == BRK_OP_OPEN ? (O_RDWR | O_CREAT) : 0;
	uint32_t mode = op == BRK_OP_OPEN ? 0644 : op == BRK_OP_MKDIR ? 0755 : 0;

	assert_int_equal(brk_req_build(r, op, 7, flags, mode, "/data/file"), 0);
	REQ_ACCEPTS(r);
}

/* The reply a correct broker sends to req. */
static void valid_reply(struct brk_reply *p, const struct brk_req *req, int32_t err)
{
	memset(p, 0, sizeof *p);
	p->h = (struct brk_hdr){.version = BRK_VERSION, .op = req->h.op, .seq = req->h.seq};
	p->err = err;
	p->has_fd = req->h.op == BRK_OP_OPEN && err == 0;
	if (err == 0 && (req->h.op == BRK_OP_OPEN || req->h.op == BRK_OP_STAT ||
			 req->h.op == BRK_OP_LSTAT)) { /* the guest's view of the object */
		p->st.mode = S_IFREG | 0644;
		p->st.dev = 1;
		p->st.ino = 42;
		p->st.nlink = 1;
	}
}

static void sockpair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static int a_file(void)
{
	int fd = memfd_create("brk-test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void assert_same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	assert_true(sa.st_dev == sb.st_dev);
	assert_true(sa.st_ino == sb.st_ino);
}

/* sendmsg with any number of fds in one SCM_RIGHTS message, bypassing brk_send. */
static void send_raw_fds(int sock, const void *msg, size_t len, const int *fds, size_t n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(32 * sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	assert_true(n > 0 && n <= 32);
	memset(&ctl, 0, sizeof ctl);
	mh.msg_control = ctl.buf;
	mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* ---- brk_req_build ---- */

static void build_roundtrip_every_op(void **state)
{
	static const struct {
		enum brk_op op;
		int32_t flags;
		uint32_t mode;
		const char *path;
	} cases[] = {
	    {BRK_OP_OPEN, O_RDONLY, 0, "/etc/hostname"},
	    {BRK_OP_OPEN, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, 0600, "/tmp/x"},
	    {BRK_OP_OPEN, O_RDWR | O_APPEND | O_DIRECTORY, 0, "a"},
	    {BRK_OP_UNLINK, 0, 0, "/tmp/x"},
	    {BRK_OP_MKDIR, 0, 0755, "/tmp/d"},
	    {BRK_OP_STAT, 0, 0, "/"},
	    {BRK_OP_LSTAT, 0, 0, "/tmp/link"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct brk_req r;
		size_t len = strlen(cases[i].path);

		assert_int_equal(brk_req_build(&r, cases[i].op, (uint32_t)i + 100, cases[i].flags,
					       cases[i].mode, cases[i].path),
				 0);
		assert_int_equal(r.h.version, BRK_VERSION);
		assert_int_equal(r.h.op, cases[i].op);
		assert_int_equal(r.h.seq, i + 100);
		assert_int_equal(r.flags, cases[i].flags);
		assert_int_equal(r.mode, cases[i].mode);
		assert_string_equal(r.path, cases[i].path);
		for (size_t j = len; j < BRK_PATH_MAX; j++) {
			assert_int_equal(r.path[j], 0);
		}
		REQ_ACCEPTS(&r);
	}
}

static void build_zeroes_everything(void **state)
{
	struct brk_req r, want;

	(void)state;
	memset(&r, 0xa5, sizeof r);
	assert_int_equal(brk_req_build(&r, BRK_OP_STAT, 1, 0, 0, "x"), 0);
	memset(&want, 0, sizeof want);
	want.h.version = BRK_VERSION;
	want.h.op = BRK_OP_STAT;
	want.h.seq = 1;
	want.path[0] = 'x';
	assert_memory_equal(&r, &want, sizeof r);
}

static void build_path_lengths(void **state)
{
	static char path[BRK_PATH_MAX + 64];
	struct brk_req r;

	(void)state;
	memset(path, 'a', BRK_PATH_MAX - 1);
	path[BRK_PATH_MAX - 1] = '\0'; /* strlen 4095: the longest that fits */
	assert_int_equal(brk_req_build(&r, BRK_OP_STAT, 1, 0, 0, path), 0);
	assert_int_equal(r.path[BRK_PATH_MAX - 2], 'a');
	assert_int_equal(r.path[BRK_PATH_MAX - 1], '\0');
	REQ_ACCEPTS(&r);

	memset(path, 'a', BRK_PATH_MAX);
	path[BRK_PATH_MAX] = '\0'; /* strlen 4096 */
	assert_int_equal(brk_req_build(&r, BRK_OP_STAT, 1, 0, 0, path), -ENAMETOOLONG);
	memset(path, 'a', sizeof path - 1);
	path[sizeof path - 1] = '\0';
	assert_int_equal(brk_req_build(&r, BRK_OP_STAT, 1, 0, 0, path), -ENAMETOOLONG);
}

/* The builder is not the gatekeeper: the receiver is. */
static void build_does_not_validate(void **state)
{
	struct brk_req r;

	(void)state;
	assert_int_equal(brk_req_build(&r, BRK_OP_OPEN, 1, O_PATH, 0, "/x"), 0);
	REQ_REJECTS(&r, "flags not allowed");
	assert_int_equal(brk_req_build(&r, BRK_OP_READY, 1, 0, 0, "/x"), 0);
	REQ_REJECTS(&r, "unknown op");
	assert_int_equal(brk_req_build(&r, BRK_OP_STAT, 1, 0, 0, ""), 0);
	REQ_REJECTS(&r, "empty path");
}

/* ---- brk_req_check ---- */

static void req_bad_size(void **state)
{
	static unsigned char buf[2 * sizeof(struct brk_req)];
	const size_t sizes[] = {0,
				1,
				sizeof(struct brk_hdr),
				sizeof(struct brk_req) - 1,
				sizeof(struct brk_req) + 1,
				2 * sizeof(struct brk_req),
				SIZE_MAX / 2,
				SIZE_MAX};
	struct brk_req r;

	(void)state;
	valid_req(&r, BRK_OP_STAT);
	memcpy(buf, &r, sizeof r);
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		const char *why = NULL;

		assert_int_equal(brk_req_check(buf, sizes[i], &why), -EPROTO);
		assert_string_equal(why, "bad size");
	}
	assert_int_equal(brk_req_check(buf, 0, NULL), -EPROTO); /* why is optional */
}

static void req_unaligned(void **state)
{
	static unsigned char raw[sizeof(struct brk_req) + 8];
	const char *why = NULL;
	struct brk_req r;

	(void)state;
	valid_req(&r, BRK_OP_OPEN);
	for (size_t off = 1; off < 8; off++) {
		memcpy(raw + off, &r, sizeof r);
		assert_int_equal(brk_req_check(raw + off, sizeof r, &why), 0);
	}
	r.mode = 01000;
	memcpy(raw + 3, &r, sizeof r);
	assert_int_equal(brk_req_check(raw + 3, sizeof r, &why), -EPROTO);
	assert_string_equal(why, "bad mode");
}

static void req_bad_version(void **state)
{
	const uint16_t versions[] = {0, BRK_VERSION + 1, 0x0100, 0xffff};
	struct brk_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(versions); i++) {
		valid_req(&r, BRK_OP_OPEN);
		r.h.version = versions[i];
		REQ_REJECTS(&r, "bad version");
	}
}

static void req_unknown_op(void **state)
{
	const uint16_t ops[] = {0, BRK_OP_READY, BRK_OP_MAX, BRK_OP_MAX + 1, 0x100, 0xffff};
	struct brk_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
		valid_req(&r, BRK_OP_STAT);
		r.h.op = ops[i];
		REQ_REJECTS(&r, "unknown op");
	}
}

static void req_any_seq(void **state)
{
	const uint32_t seqs[] = {0, 1, 0x7fffffff, UINT32_MAX};
	struct brk_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(seqs); i++) {
		valid_req(&r, BRK_OP_UNLINK);
		r.h.seq = seqs[i];
		REQ_ACCEPTS(&r);
	}
}

static void req_path_not_terminated(void **state)
{
	struct brk_req r;

	(void)state;
	valid_req(&r, BRK_OP_STAT);
	memset(r.path, 'a', sizeof r.path);
	REQ_REJECTS(&r, "path not NUL-terminated");
	memset(r.path, 0xff, sizeof r.path);
	REQ_REJECTS(&r, "path not NUL-terminated");
}

static void req_bytes_after_nul(void **state)
{
	const size_t where[] = {2, 3, 100, BRK_PATH_MAX - 1};
	struct brk_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(where); i++) {
		assert_int_equal(brk_req_build(&r, BRK_OP_STAT, 1, 0, 0, "a"), 0);
		r.path[where[i]] = 'b';
		REQ_REJECTS(&r, "bytes after NUL");
		r.path[where[i]] = (char)0x80;
		REQ_REJECTS(&r, "bytes after NUL");
	}
	/* An empty path with a hidden tail is still a non-canonical encoding. */
	assert_int_equal(brk_req_build(&r, BRK_OP_STAT, 1, 0, 0, ""), 0);
	r.path[1] = '/';
	REQ_REJECTS(&r, "bytes after NUL");
}

static void req_empty_path(void **state)
{
	const enum brk_op ops[] = {BRK_OP_OPEN, BRK_OP_UNLINK, BRK_OP_MKDIR, BRK_OP_STAT,
				   BRK_OP_LSTAT};
	struct brk_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
		valid_req(&r, ops[i]);
		memset(r.path, 0, sizeof r.path);
		REQ_REJECTS(&r, "empty path");
	}
}

static void req_longest_path(void **state)
{
	struct brk_req r;

	(void)state;
	valid_req(&r, BRK_OP_LSTAT);
	memset(r.path, 'p', sizeof r.path - 1);
	r.path[sizeof r.path - 1] = '\0';
	REQ_ACCEPTS(&r);
}

static void req_open_flags_allowed(void **state)
{
	const int32_t ok[] = {O_RDONLY,
			      O_WRONLY,
			      O_RDWR,
			      O_RDONLY | O_DIRECTORY,
			      O_WRONLY | O_APPEND,
			      O_WRONLY | O_TRUNC,
			      O_RDWR | O_CREAT | O_EXCL,
			      BRK_OPEN_FLAGS & ~03,
			      (BRK_OPEN_FLAGS & ~03) | O_RDWR};
	struct brk_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		valid_req(&r, BRK_OP_OPEN);
		r.flags = ok[i];
		r.mode = 0;
		r.new_max = (ok[i] & O_CREAT) ? 1 : 0; /* test_broker_rules.c has its rules */
		REQ_ACCEPTS(&r);
	}
}

/* Every single bit outside the allowlist, on its own and next to allowed ones (this covers
 * O_PATH, O_TMPFILE, O_NOFOLLOW, O_CLOEXEC, O_NOCTTY, O_DIRECT, O_SYNC, O_NONBLOCK, and
 * the sign bit). */
static void req_open_flags_not_allowed(void **state)
{
	struct brk_req r;
	int tested = 0;

	(void)state;
	for (int bit = 0; bit < 32; bit++) {
		uint32_t f = 1u << bit;

		if ((f & BRK_OPEN_FLAGS) != 0) {
			continue;
		}
		valid_req(&r, BRK_OP_OPEN);
		r.flags = (int32_t)f;
		r.mode = 0;
		REQ_REJECTS(&r, "flags not allowed");
		r.flags = (int32_t)(f | O_RDWR | O_CREAT);
		r.mode = 0644;
		REQ_REJECTS(&r, "flags not allowed");
		tested++;
	}
	assert_int_equal(tested, 32 - 7); /* BRK_OPEN_FLAGS has 7 bits */
	valid_req(&r, BRK_OP_OPEN);
	r.flags = -1;
	REQ_REJECTS(&r, "flags not allowed");
	r.flags = O_PATH;
	REQ_REJECTS(&r, "flags not allowed");
	r.flags = O_TMPFILE | O_RDWR;
	REQ_REJECTS(&r, "flags not allowed");
}

static void req_open_bad_access_mode(void **state)
{
	struct brk_req r;

	(void)state;
	valid_req(&r, BRK_OP_OPEN);
	r.flags = O_ACCMODE;
	r.mode = 0;
	REQ_REJECTS(&r, "bad access mode");
	r.flags = O_ACCMODE | O_CREAT;
	r.mode = 0600;
	REQ_REJECTS(&r, "bad access mode");
}

static void req_open_mode(void **state)
{
	const uint32_t bad_with_creat[] = {01000, 02000, 04000, 04755, 0x8000, UINT16_MAX};
	const uint32_t bad_without_creat[] = {1, 0644, 0777, 01000};
	struct brk_req r;

	(void)state;
	valid_req(&r, BRK_OP_OPEN);
	r.flags = O_WRONLY | O_CREAT;
	r.mode = 0777;
	REQ_ACCEPTS(&r);
	r.mode = 0;
	REQ_ACCEPTS(&r);
	for (size_t i = 0; i < ARRAY_LEN(bad_with_creat); i++) {
		r.mode = bad_with_creat[i];
		REQ_REJECTS(&r, "bad mode");
	}
	r.flags = O_RDWR | O_TRUNC;
	for (size_t i = 0; i < ARRAY_LEN(bad_without_creat); i++) {
		r.mode = bad_without_creat[i];
		REQ_REJECTS(&r, "bad mode");
	}
}

static void req_mkdir(void **state)
{
	const int32_t bad_flags[] = {1, O_CREAT, O_DIRECTORY, INT32_MIN, -1};
	/* 0, 0644, 0500: a directory its owner could not empty or remove (issue 16 item 7) */
	const uint32_t bad_modes[] = {0, 0644, 0500, 0077, 01000, 01777, 04755, UINT32_MAX};
	struct brk_req r;

	(void)state;
	valid_req(&r, BRK_OP_MKDIR);
	r.mode = 0700;
	REQ_ACCEPTS(&r);
	r.mode = 0777;
	REQ_ACCEPTS(&r);
	for (size_t i = 0; i < ARRAY_LEN(bad_flags); i++) {
		r.flags = bad_flags[i];
		REQ_REJECTS(&r, "flags not allowed");
	}
	r.flags = 0;
	for (size_t i = 0; i < ARRAY_LEN(bad_modes); i++) {
		r.mode = bad_modes[i];
		REQ_REJECTS(&r, "bad mode");
	}
}

static void req_flags_mode_must_be_zero(void **state)
{
	const enum brk_op ops[] = {BRK_OP_UNLINK, BRK_OP_STAT, BRK_OP_LSTAT};
	const struct {
		int32_t flags;
		uint32_t mode;
	} bad[] = {{1, 0}, {0, 1}, {O_CREAT, 0644}, {0, 0777}, {-1, 0}, {0, UINT32_MAX}};
	struct brk_req r;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
		for (size_t j = 0; j < ARRAY_LEN(bad); j++) {
			valid_req(&r, ops[i]);
			r.flags = bad[j].flags;
			r.mode = bad[j].mode;
			REQ_REJECTS(&r, "flags, mode or new_max must be 0");
		}
	}
}

/* ---- brk_reply_check ---- */

static void reply_valid(void **state)
{
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_OPEN);
	valid_reply(&p, &req, 0);
	assert_int_equal(p.has_fd, 1);
	REPLY_ACCEPTS(&p, &req, 1);
	valid_reply(&p, &req, ENOENT);
	REPLY_ACCEPTS(&p, &req, 0);
	valid_reply(&p, &req, 4095);
	REPLY_ACCEPTS(&p, &req, 0);

	for (enum brk_op op = BRK_OP_STAT; op <= BRK_OP_LSTAT; op++) {
		valid_req(&req, op);
		valid_reply(&p, &req, 0);
		memset(&p.st, 0xff, sizeof p.st); /* anything goes in a successful stat... */
		p.st.pad_ = 0; /* ...except the padding and host identities */
		p.st.pad2_ = 0;
		p.st.dev = BRK_DEV_SCRATCH;
		p.st.uid = p.st.gid = 0;
		p.st.rdev = 0;
		REPLY_ACCEPTS(&p, &req, 0);
		valid_reply(&p, &req, EACCES);
		REPLY_ACCEPTS(&p, &req, 0);
	}
	valid_req(&req, BRK_OP_UNLINK);
	valid_reply(&p, &req, 0);
	REPLY_ACCEPTS(&p, &req, 0);
	valid_req(&req, BRK_OP_MKDIR);
	valid_reply(&p, &req, EEXIST);
	REPLY_ACCEPTS(&p, &req, 0);

	/* The startup message: the caller passes a READY "request" with seq 0. */
	memset(&req, 0, sizeof req);
	req.h = (struct brk_hdr){.version = BRK_VERSION, .op = BRK_OP_READY, .seq = 0};
	valid_reply(&p, &req, 0);
	REPLY_ACCEPTS(&p, &req, 0);
}

static void reply_bad_size(void **state)
{
	static unsigned char buf[2 * sizeof(struct brk_reply)];
	const size_t sizes[] = {0,
				1,
				sizeof(struct brk_hdr),
				sizeof(struct brk_reply) - 1,
				sizeof(struct brk_reply) + 1,
				sizeof(struct brk_req),
				SIZE_MAX};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_UNLINK);
	valid_reply(&p, &req, 0);
	memcpy(buf, &p, sizeof p);
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		const char *why = NULL;

		assert_int_equal(brk_reply_check(buf, sizes[i], &req, 0, &why), -EPROTO);
		assert_string_equal(why, "bad size");
	}
}

static void reply_unaligned(void **state)
{
	static unsigned char raw[sizeof(struct brk_reply) + 8];
	const char *why = NULL;
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_STAT);
	valid_reply(&p, &req, 0);
	p.st.size = 12345;
	for (size_t off = 1; off < 8; off++) {
		memcpy(raw + off, &p, sizeof p);
		assert_int_equal(brk_reply_check(raw + off, sizeof p, &req, 0, &why), 0);
	}
}

static void reply_bad_version(void **state)
{
	const uint16_t versions[] = {0, BRK_VERSION + 1, 0xffff};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_OPEN);
	for (size_t i = 0; i < ARRAY_LEN(versions); i++) {
		valid_reply(&p, &req, 0);
		p.h.version = versions[i];
		REPLY_REJECTS(&p, &req, 1, "bad version");
	}
}

static void reply_op_mismatch(void **state)
{
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_OPEN);
	for (uint16_t op = 0; op <= BRK_OP_MAX; op++) {
		if (op == BRK_OP_OPEN) {
			continue;
		}
		valid_reply(&p, &req, ENOENT);
		p.h.op = op;
		REPLY_REJECTS(&p, &req, 0, "op mismatch");
	}
	/* A READY where an answer is due, and an answer where READY is due. */
	valid_req(&req, BRK_OP_STAT);
	valid_reply(&p, &req, 0);
	p.h.op = BRK_OP_READY;
	REPLY_REJECTS(&p, &req, 0, "op mismatch");
	memset(&req, 0, sizeof req);
	req.h = (struct brk_hdr){.version = BRK_VERSION, .op = BRK_OP_READY, .seq = 0};
	valid_reply(&p, &req, 0);
	p.h.op = BRK_OP_STAT;
	REPLY_REJECTS(&p, &req, 0, "op mismatch");
}

/* Matching garbage is still garbage (guards against a caller passing a bad request). */
static void reply_unknown_op(void **state)
{
	const uint16_t ops[] = {0, BRK_OP_MAX, 0xffff};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
		valid_req(&req, BRK_OP_STAT);
		req.h.op = ops[i];
		valid_reply(&p, &req, 0);
		REPLY_REJECTS(&p, &req, 0, "unknown op");
	}
}

static void reply_seq_mismatch(void **state)
{
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_MKDIR);
	valid_reply(&p, &req, 0);
	p.h.seq = req.h.seq + 1;
	REPLY_REJECTS(&p, &req, 0, "seq mismatch");
	p.h.seq = req.h.seq - 1;
	REPLY_REJECTS(&p, &req, 0, "seq mismatch");
	p.h.seq = req.h.seq ^ 0x80000000u;
	REPLY_REJECTS(&p, &req, 0, "seq mismatch");

	memset(&req, 0, sizeof req);
	req.h = (struct brk_hdr){.version = BRK_VERSION, .op = BRK_OP_READY, .seq = 0};
	valid_reply(&p, &req, 0);
	p.h.seq = 1;
	REPLY_REJECTS(&p, &req, 0, "seq mismatch");
}

static void reply_errno_range(void **state)
{
	const int32_t bad[] = {-1, -ENOENT, 4096, 0x10000, INT32_MIN, INT32_MAX};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_UNLINK);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		valid_reply(&p, &req, 0);
		p.err = bad[i];
		REPLY_REJECTS(&p, &req, 0, "errno out of range");
	}
}

static void reply_bad_has_fd(void **state)
{
	const uint32_t bad[] = {2, 0x100, UINT32_MAX};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_OPEN);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		valid_reply(&p, &req, 0);
		p.has_fd = bad[i];
		REPLY_REJECTS(&p, &req, 1, "bad has_fd");
	}
}

static void reply_has_fd_inconsistent(void **state)
{
	const enum brk_op no_fd_ops[] = {BRK_OP_UNLINK, BRK_OP_MKDIR, BRK_OP_STAT, BRK_OP_LSTAT};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_OPEN);
	valid_reply(&p, &req, 0);
	p.has_fd = 0; /* a successful OPEN without an fd */
	REPLY_REJECTS(&p, &req, 0, "has_fd inconsistent with op and err");
	valid_reply(&p, &req, EACCES);
	p.has_fd = 1; /* a failed OPEN with one */
	REPLY_REJECTS(&p, &req, 1, "has_fd inconsistent with op and err");
	for (size_t i = 0; i < ARRAY_LEN(no_fd_ops); i++) {
		valid_req(&req, no_fd_ops[i]);
		valid_reply(&p, &req, 0);
		p.has_fd = 1;
		REPLY_REJECTS(&p, &req, 1, "has_fd inconsistent with op and err");
	}
	memset(&req, 0, sizeof req);
	req.h = (struct brk_hdr){.version = BRK_VERSION, .op = BRK_OP_READY, .seq = 0};
	valid_reply(&p, &req, 0);
	p.has_fd = 1;
	REPLY_REJECTS(&p, &req, 1, "has_fd inconsistent with op and err");
}

/* has_fd must be backed by what really arrived. */
static void reply_fd_count(void **state)
{
	const int bad_open_ok[] = {0, 2, 3, -1, INT32_MAX};
	const int bad_no_fd[] = {1, 2, -1};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	valid_req(&req, BRK_OP_OPEN);
	valid_reply(&p, &req, 0);
	for (size_t i = 0; i < ARRAY_LEN(bad_open_ok); i++) {
		REPLY_REJECTS(&p, &req, bad_open_ok[i], "fd count mismatch");
	}
	valid_reply(&p, &req, ENOENT);
	for (size_t i = 0; i < ARRAY_LEN(bad_no_fd); i++) {
		REPLY_REJECTS(&p, &req, bad_no_fd[i], "fd count mismatch");
	}
	valid_req(&req, BRK_OP_STAT);
	valid_reply(&p, &req, 0);
	REPLY_REJECTS(&p, &req, 1, "fd count mismatch");
}

/* Every byte of st must be zero unless this is a successful STAT/LSTAT. */
static void reply_stat_not_zero(void **state)
{
	const struct {
		enum brk_op op;
		int32_t err;
		int nfds;
	} cases[] = {
	    {BRK_OP_OPEN, ENOENT, 0}, {BRK_OP_UNLINK, 0, 0},	{BRK_OP_MKDIR, 0, 0},
	    {BRK_OP_STAT, ENOENT, 0}, {BRK_OP_LSTAT, ELOOP, 0}, {BRK_OP_READY, 0, 0},
	};
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		if (cases[i].op == BRK_OP_READY) {
			memset(&req, 0, sizeof req);
			req.h = (struct brk_hdr){.version = BRK_VERSION, .op = BRK_OP_READY};
		} else {
			valid_req(&req, cases[i].op);
		}
		for (size_t b = 0; b < sizeof p.st; b++) {
			valid_reply(&p, &req, cases[i].err);
			REPLY_ACCEPTS(&p, &req, cases[i].nfds);
			((unsigned char *)&p.st)[b] = 1;
			REPLY_REJECTS(&p, &req, cases[i].nfds, "stat not zero");
		}
	}
}

static void reply_stat_padding(void **state)
{
	struct brk_req req;
	struct brk_reply p;

	(void)state;
	for (enum brk_op op = BRK_OP_STAT; op <= BRK_OP_LSTAT; op++) {
		valid_req(&req, op);
		valid_reply(&p, &req, 0);
		p.st.pad_ = 1;
		REPLY_REJECTS(&p, &req, 0, "stat padding not zero");
		valid_reply(&p, &req, 0);
		p.st.pad2_ = INT32_MIN;
		REPLY_REJECTS(&p, &req, 0, "stat padding not zero");
	}
}

/* ---- brk_send / brk_recv over a real socketpair ---- */

static void sr_no_fd(void **state)
{
	struct brk_req out, in;
	int sv[2], fd = 123, nfds = 123;

	(void)state;
	sockpair(sv);
	valid_req(&out, BRK_OP_MKDIR);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, -1), 0);
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), (ssize_t)sizeof in);
	assert_int_equal(fd, -1);
	assert_int_equal(nfds, 0);
	assert_memory_equal(&in, &out, sizeof in);
	close(sv[0]);
	close(sv[1]);
}

static void sr_one_fd(void **state)
{
	struct brk_req req;
	struct brk_reply out, in;
	int sv[2], file = a_file(), fd = -1, nfds = -1;

	(void)state;
	sockpair(sv);
	valid_req(&req, BRK_OP_OPEN);
	valid_reply(&out, &req, 0);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, file), 0);
	assert_true(fcntl(file, F_GETFD) >= 0); /* brk_send does not consume the fd */
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), (ssize_t)sizeof in);
	assert_int_equal(nfds, 1);
	assert_true(fd >= 0);
	assert_int_not_equal(fd, file);
	assert_same_file(fd, file);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	assert_memory_equal(&in, &out, sizeof in);
	REPLY_ACCEPTS(&in, &req, nfds);
	close(fd);
	close(file);
	close(sv[0]);
	close(sv[1]);
}

static void sr_three_fds(void **state)
{
	struct brk_reply out, in;
	int sv[2], files[3], fd = -1, nfds = 0, before;

	(void)state;
	sockpair(sv);
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		files[i] = a_file();
	}
	memset(&out, 0, sizeof out);
	send_raw_fds(sv[0], &out, sizeof out, files, ARRAY_LEN(files));
	before = open_fd_count();
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), (ssize_t)sizeof in);
	assert_int_equal(nfds, 3);
	assert_true(fd >= 0);
	assert_same_file(fd, files[0]);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	assert_int_equal(open_fd_count(), before + 1); /* the two extras are already closed */
	close(fd);
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		close(files[i]);
	}
	close(sv[0]);
	close(sv[1]);
}

/* More fds than the control buffer holds: MSG_CTRUNC; the ones that did land are closed. */
static void sr_too_many_fds(void **state)
{
	struct brk_reply out, in;
	int sv[2], files[24], fd = 5, nfds = 0, before;

	(void)state;
	sockpair(sv);
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		files[i] = a_file();
	}
	memset(&out, 0, sizeof out);
	send_raw_fds(sv[0], &out, sizeof out, files, ARRAY_LEN(files));
	before = open_fd_count();
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), -EMSGSIZE);
	assert_int_equal(fd, -1);
	assert_int_equal(open_fd_count(), before);
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		close(files[i]);
	}
	close(sv[0]);
	close(sv[1]);
}

/* A record larger than cap is cut (MSG_TRUNC): -EMSGSIZE, its fd closed, the record gone. */
static void sr_message_too_big(void **state)
{
	struct brk_req big, next;
	struct brk_reply small;
	int sv[2], file = a_file(), fd = 5, nfds = 0, before;

	(void)state;
	sockpair(sv);
	valid_req(&big, BRK_OP_OPEN);
	assert_int_equal(brk_send(sv[0], &big, sizeof big, file), 0);
	assert_int_equal(brk_send(sv[0], &big, sizeof big - 1, -1), 0);
	before = open_fd_count();
	assert_int_equal(brk_recv(sv[1], &small, sizeof small, &fd, &nfds), -EMSGSIZE);
	assert_int_equal(fd, -1);
	assert_int_equal(open_fd_count(), before);
	/* SOCK_SEQPACKET dropped the rest: the next receive sees the next record whole. */
	assert_int_equal(brk_recv(sv[1], &next, sizeof next, &fd, &nfds), (ssize_t)sizeof next - 1);
	assert_int_equal(fd, -1);
	assert_int_equal(nfds, 0);
	close(file);
	close(sv[0]);
	close(sv[1]);
}

static void sr_eof(void **state)
{
	struct brk_reply in;
	int sv[2], fd = 5, nfds = 5;

	(void)state;
	sockpair(sv);
	close(sv[0]);
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(nfds, 0);
	close(sv[1]);
}

/* SO_PASSCRED makes the kernel attach SCM_CREDENTIALS to every record: foreign control data
 * is a protocol error, and an fd that came along is closed. */
static void sr_foreign_cmsg(void **state)
{
	struct brk_reply out, in;
	int sv[2], on = 1, file = a_file(), fd = 5, nfds = 0, before;

	(void)state;
	sockpair(sv);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
	memset(&out, 0, sizeof out);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, -1), 0);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, file), 0);
	before = open_fd_count();
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), -EPROTO);
	assert_int_equal(fd, -1);
	assert_int_equal(nfds, 0);
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), -EPROTO);
	assert_int_equal(fd, -1);
	assert_int_equal(nfds, 1);
	assert_int_equal(open_fd_count(), before);
	close(file);
	close(sv[0]);
	close(sv[1]);
}

/* An empty record reads as 0 like EOF; if it carries an fd it is a protocol error. */
static void sr_empty_record(void **state)
{
	char in[16];
	int sv[2], file = a_file(), fd = 5, nfds = 0, before;

	(void)state;
	sockpair(sv);
	assert_int_equal(brk_send(sv[0], "", 0, file), 0);
	assert_int_equal(brk_send(sv[0], "", 0, -1), 0);
	before = open_fd_count();
	assert_int_equal(brk_recv(sv[1], in, sizeof in, &fd, &nfds), -EPROTO);
	assert_int_equal(fd, -1);
	assert_int_equal(open_fd_count(), before);
	assert_int_equal(brk_recv(sv[1], in, sizeof in, &fd, &nfds), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(nfds, 0);
	close(file);
	close(sv[0]);
	close(sv[1]);
}

static void send_errors(void **state)
{
	struct brk_reply out;
	int sv[2], p[2], file = a_file(), dead;

	(void)state;
	memset(&out, 0, sizeof out);
	sockpair(sv);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, -2), -EBADF);
	dead = a_file();
	close(dead);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, dead), -EBADF);
	close(sv[1]);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, -1), -EPIPE);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, file), -EPIPE);
	close(sv[0]);
	/* A SOCK_SEQPACKET peer's death never raises SIGPIPE on Linux, a stream's does: only
	 * there can we see that MSG_NOSIGNAL is passed (without it the program would die). */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(brk_send(sv[0], &out, sizeof out, -1), -EPIPE);
	close(sv[0]);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(brk_send(p[1], &out, sizeof out, -1), -ENOTSOCK);
	close(p[0]);
	close(p[1]);
	close(file);
}

static void recv_errors(void **state)
{
	struct brk_reply in;
	int sv[2], p[2], fd = 5, nfds = 5;

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(brk_recv(p[0], &in, sizeof in, &fd, &nfds), -ENOTSOCK);
	assert_int_equal(fd, -1);
	assert_int_equal(nfds, 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
			 0);
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), -EAGAIN);
	assert_int_equal(fd, -1);
	close(sv[0]);
	close(sv[1]);
}

static volatile sig_atomic_t got_signal;

static void on_usr1(int sig)
{
	(void)sig;
	got_signal = 1;
}

/* A signal (handler without SA_RESTART) lands while brk_recv blocks: it must retry. */
static void recv_retries_eintr(void **state)
{
	struct sigaction sa = {.sa_handler = on_usr1}, old;
	struct brk_req out, in;
	int sv[2], fd = 5, nfds = 5, st;
	pid_t parent = getpid(), child;

	(void)state;
	sockpair(sv);
	valid_req(&out, BRK_OP_STAT);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	got_signal = 0;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		const struct timespec t = {.tv_nsec = 100 * 1000 * 1000};

		nanosleep(&t, NULL);
		kill(parent, SIGUSR1);
		nanosleep(&t, NULL);
		_exit(brk_send(sv[0], &out, sizeof out, -1) == 0 ? 0 : 1);
	}
	assert_int_equal(brk_recv(sv[1], &in, sizeof in, &fd, &nfds), (ssize_t)sizeof in);
	assert_int_equal(got_signal, 1);
	assert_int_equal(fd, -1);
	assert_memory_equal(&in, &out, sizeof in);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
	close(sv[0]);
	close(sv[1]);
}

/* The same for a brk_send that blocks on a full socket: the child interrupts it, then makes
 * room. */
static void send_retries_eintr(void **state)
{
	struct sigaction sa = {.sa_handler = on_usr1}, old;
	struct brk_reply out;
	int sv[2], st, queued = 0;
	pid_t parent = getpid(), child;

	(void)state;
	sockpair(sv);
	memset(&out, 0, sizeof out);
	while (send(sv[0], &out, sizeof out, MSG_DONTWAIT) == (ssize_t)sizeof out) {
		queued++;
	}
	assert_true(errno == EAGAIN && queued > 0);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	got_signal = 0;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		const struct timespec t = {.tv_nsec = 100 * 1000 * 1000};

		nanosleep(&t, NULL);
		kill(parent, SIGUSR1);
		nanosleep(&t, NULL);
		/* Drain it all: a blocked AF_UNIX sender is only woken once the queued
		 * bytes fall well below the send buffer size. */
		for (int i = 0; i < queued; i++) {
			if (recv(sv[1], &out, sizeof out, 0) != (ssize_t)sizeof out) {
				_exit(1);
			}
		}
		_exit(0);
	}
	assert_int_equal(brk_send(sv[0], &out, sizeof out, -1), 0);
	assert_int_equal(got_signal, 1);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
	close(sv[0]);
	close(sv[1]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fd_setup, fd_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(build_roundtrip_every_op),
	    T(build_zeroes_everything),
	    T(build_path_lengths),
	    T(build_does_not_validate),
	    T(req_bad_size),
	    T(req_unaligned),
	    T(req_bad_version),
	    T(req_unknown_op),
	    T(req_any_seq),
	    T(req_path_not_terminated),
	    T(req_bytes_after_nul),
	    T(req_empty_path),
	    T(req_longest_path),
	    T(req_open_flags_allowed),
	    T(req_open_flags_not_allowed),
	    T(req_open_bad_access_mode),
	    T(req_open_mode),
	    T(req_mkdir),
	    T(req_flags_mode_must_be_zero),
	    T(reply_valid),
	    T(reply_bad_size),
	    T(reply_unaligned),
	    T(reply_bad_version),
	    T(reply_op_mismatch),
	    T(reply_unknown_op),
	    T(reply_seq_mismatch),
	    T(reply_errno_range),
	    T(reply_bad_has_fd),
	    T(reply_has_fd_inconsistent),
	    T(reply_fd_count),
	    T(reply_stat_not_zero),
	    T(reply_stat_padding),
	    T(sr_no_fd),
	    T(sr_one_fd),
	    T(sr_three_fds),
	    T(sr_too_many_fds),
	    T(sr_message_too_big),
	    T(sr_eof),
	    T(sr_foreign_cmsg),
	    T(sr_empty_record),
	    T(send_errors),
	    T(recv_errors),
	    T(recv_retries_eintr),
	    T(send_retries_eintr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
