/* SPDX-License-Identifier: MIT */
/* broker_proto.c - build, validate, send and receive VMM <-> broker messages. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "broker_proto.h"

/* Guest flags use the Linux x86-64 values (Hermit == Linux); the host constants we test
 * them with, and that the broker later hands to openat2 unchanged, must agree, or the
 * allowlist would admit different bits than the ones acted on (on arm64 0200000 is
 * O_DIRECT, not O_DIRECTORY).  Fail the build rather than translate silently. */
_Static_assert(O_ACCMODE == 03, "guest O_ACCMODE");
_Static_assert(O_CREAT == 0100, "guest O_CREAT");
_Static_assert(BRK_OPEN_FLAGS == (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY),
	       "guest open flags must equal the host's");

#define BRK_MAX_ERRNO 4095 /* the Linux -errno range */
#define BRK_MODE_MAX  0777u

/* fds we accept in one message before the control data is truncated.  Only one is ever
 * legitimate; room for a few more (plus an SCM_CREDENTIALS, if SO_PASSCRED were ever set)
 * lets us see, count and close them rather than have the kernel report a bare MSG_CTRUNC. */
#define BRK_RECV_FDS 4
#define BRK_CTL_SIZE (CMSG_SPACE(BRK_RECV_FDS * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)))

static int reject(const char **why, const char *reason)
{
	if (why != NULL) {
		*why = reason;
	}
	return -EPROTO;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		if (b[i] != 0) {
			return false;
		}
	}
	return true;
}

int brk_req_build(struct brk_req *r, enum brk_op op, uint32_t seq, int32_t flags, uint32_t mode,
		  const char *path)
{
	size_t len;

	/* Zero everything first: no stack garbage travels to the broker, and the path's tail
	 * is zero as the canonical encoding requires. */
	memset(r, 0, sizeof *r);
	len = strnlen(path, BRK_PATH_MAX);
	if (len >= BRK_PATH_MAX) {
		return -ENAMETOOLONG;
	}
	if (mode > UINT16_MAX) {
		return -EINVAL;
	}
	r->h.version = BRK_VERSION;
	r->h.op = (uint16_t)op;
	r->h.seq = seq;
	r->flags = flags;
	r->mode = (uint16_t)mode;
	r->new_max = op == BRK_OP_MKDIR				   ? 1
		     : op == BRK_OP_OPEN && (flags & O_CREAT) != 0 ? BRK_NEW_MAX
								   : 0;
	memcpy(r->path, path, len + 1);
	return 0;
}

/* The path must be NUL-terminated within its array, non-empty, and zero after the NUL (one
 * encoding per path, so nothing can be smuggled in the tail). */
static int check_path(const struct brk_req *r, const char **why)
{
	const char *nul = memchr(r->path, 0, sizeof r->path);
	size_t len;

	if (nul == NULL) {
		return reject(why, "path not NUL-terminated");
	}
	len = (size_t)(nul - r->path);
	if (!all_zero(nul, sizeof r->path - len)) {
		return reject(why, "bytes after NUL");
	}
	if (len == 0) {
		return reject(why, "empty path");
	}
	return 0;
}

/* Per-op argument allowlists.  Flags are compared as unsigned so a negative value fails the
 * mask instead of relying on sign extension. */
static int check_args(const struct brk_req *r, const char **why)
{
	uint32_t flags = (uint32_t)r->flags;

	switch ((enum brk_op)r->h.op) {
	case BRK_OP_OPEN:
		if ((flags & ~(uint32_t)BRK_OPEN_FLAGS) != 0) {
			return reject(why, "flags not allowed");
		}
		if ((flags & O_ACCMODE) == O_ACCMODE) {
			return reject(why, "bad access mode");
		}
		if (r->mode > BRK_MODE_MAX || (r->mode != 0 && (flags & O_CREAT) == 0)) {
			return reject(why, "bad mode");
		}
		if ((flags & O_CREAT) ? r->new_max == 0 || r->new_max > BRK_NEW_MAX
				      : r->new_max != 0) {
			return reject(why, "bad new_max");
		}
		return 0;
	case BRK_OP_MKDIR:
		if (flags != 0) {
			return reject(why, "flags not allowed");
		}
		/* A directory its owner cannot read, write and search would block its own
		 * removal (the scratch directory at exit, the operator's clean-up). */
		if (r->mode > BRK_MODE_MAX ||
		    (r->mode & BRK_MKDIR_MODE_MIN) != BRK_MKDIR_MODE_MIN) {
			return reject(why, "bad mode");
		}
		if (r->new_max != 1) {
			return reject(why, "bad new_max");
		}
		return 0;
	case BRK_OP_UNLINK:
	case BRK_OP_STAT:
	case BRK_OP_LSTAT:
		if (flags != 0 || r->mode != 0 || r->new_max != 0) {
			return reject(why, "flags, mode or new_max must be 0");
		}
		return 0;
	case BRK_OP_READY:
	case BRK_OP_MAX:
	default:
		return reject(why, "unknown op");
	}
}

/* Threat: buf comes straight off the socket from a VMM that may be compromised.  Nothing is
 * read before the size is known to be exact; fields are read from an aligned copy (buf may
 * be unaligned); READY is broker -> VMM only, so the VMM may never send it. */
int brk_req_check(const void *buf, size_t n, const char **why)
{
	struct brk_req r;
	int rc;

	if (n != sizeof r) {
		return reject(why, "bad size");
	}
	memcpy(&r, buf, sizeof r);
	if (r.h.version != BRK_VERSION) {
		return reject(why, "bad version");
	}
	switch ((enum brk_op)r.h.op) {
	case BRK_OP_OPEN:
	case BRK_OP_UNLINK:
	case BRK_OP_MKDIR:
	case BRK_OP_STAT:
	case BRK_OP_LSTAT:
		break;
	case BRK_OP_READY:
	case BRK_OP_MAX:
	default:
		return reject(why, "unknown op");
	}
	rc = check_path(&r, why);
	if (rc == 0) {
		rc = check_args(&r, why);
	}
	return rc;
}

/* The stat payload of a successful STAT/LSTAT/OPEN: the guest's view (a mount's dev, uid,
 * gid and rdev 0, zero padding; for OPEN a regular file or a directory); all zero otherwise. */
static int check_stat(const struct brk_reply *p, const char **why)
{
	bool is_stat = p->h.op == BRK_OP_STAT || p->h.op == BRK_OP_LSTAT;
	bool is_open = p->h.op == BRK_OP_OPEN;

	if ((is_stat || is_open) && p->err == 0) {
		if (p->st.pad_ != 0 || p->st.pad2_ != 0) {
			return reject(why, "stat padding not zero");
		}
		if (is_open && !S_ISREG(p->st.mode) && !S_ISDIR(p->st.mode)) {
			return reject(why, "open of neither a regular file nor a directory");
		}
		/* Host identities never reach the VMM (broker/meta.c). */
		if (p->st.dev == 0 || p->st.dev > BRK_DEV_IMAGE) {
			return reject(why, "stat dev is not a mount's");
		}
		if (p->st.uid != 0 || p->st.gid != 0 || p->st.rdev != 0) {
			return reject(why, "stat uid, gid or rdev not zero");
		}
		return 0;
	}
	if (!all_zero(&p->st, sizeof p->st)) {
		return reject(why, "stat not zero");
	}
	return 0;
}

/* Threat: a confused or hostile broker must not steer the VMM.  The reply must answer
 * exactly the request in flight (op and seq), carry a plausible errno, and an fd exactly
 * when an OPEN succeeded -- and that fd must really have arrived. */
int brk_reply_check(const void *buf, size_t n, const struct brk_req *req, int nfds,
		    const char **why)
{
	struct brk_reply p;
	uint32_t want_fd;

	if (n != sizeof p) {
		return reject(why, "bad size");
	}
	memcpy(&p, buf, sizeof p);
	if (p.h.version != BRK_VERSION) {
		return reject(why, "bad version");
	}
	if (p.h.op != req->h.op) {
		return reject(why, "op mismatch");
	}
	if (p.h.op == 0 || p.h.op >= BRK_OP_MAX) {
		return reject(why, "unknown op");
	}
	if (p.h.seq != req->h.seq) {
		return reject(why, "seq mismatch");
	}
	if (p.err < 0 || p.err > BRK_MAX_ERRNO) {
		return reject(why, "errno out of range");
	}
	if (p.has_fd > 1) {
		return reject(why, "bad has_fd");
	}
	want_fd = p.h.op == BRK_OP_OPEN && p.err == 0;
	if (p.has_fd != want_fd) {
		return reject(why, "has_fd inconsistent with op and err");
	}
	if (nfds != (int)p.has_fd) {
		return reject(why, "fd count mismatch");
	}
	/* new_max is 0 for every op but OPEN with O_CREAT and MKDIR */
	if (p.created > req->new_max) {
		return reject(why, "created more than new_max");
	}
	return check_stat(&p, why);
}

int brk_send(int sock, const void *msg, size_t len, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	/* sendmsg does not write through iov_base; the uintptr_t round trip drops the const
	 * without a cast-qual warning. */
	struct iovec iov = {.iov_base = (void *)(uintptr_t)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (fd < -1) {
		return -EBADF;
	}
	memset(&ctl, 0, sizeof ctl);
	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof ctl.buf;
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	/* MSG_NOSIGNAL: a vanished peer is -EPIPE, not a SIGPIPE that kills us. */
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return -errno;
	}
	/* SOCK_SEQPACKET sends the whole record or fails; anything else is not our socket. */
	return (size_t)n == len ? 0 : -EIO;
}

/* Collects the fds of every SCM_RIGHTS message: keeps the first, closes the rest at once.
 * Returns false if any other kind of control message is present. */
static bool take_fds(struct msghdr *mh, int *first, int *count)
{
	const char *end = (const char *)mh->msg_control + mh->msg_controllen;
	bool ok = true;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			ok = false;
			continue;
		}
		/* The kernel wrote these headers, but never trust a length we index with. */
		if (c->cmsg_len < CMSG_LEN(0) || c->cmsg_len > (size_t)(end - (const char *)c)) {
			ok = false;
			break;
		}
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
			if (*first < 0) {
				*first = f;
			} else {
				close(f);
			}
			(*count)++;
		}
	}
	return ok;
}

/* Every exit path leaves no received fd open except the one handed back in *fd.  A
 * zero-length record carrying fds or control data is not EOF but a protocol error. */
ssize_t brk_recv(int sock, void *buf, size_t cap, int *fd, int *nfds)
{
	union {
		struct cmsghdr align;
		char buf[BRK_CTL_SIZE];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = cap};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int first = -1, count = 0;
	ssize_t n;
	bool clean;

	*fd = -1;
	*nfds = 0;
	memset(&ctl, 0, sizeof ctl);
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof ctl.buf;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return -errno;
	}
	clean = take_fds(&mh, &first, &count);
	*nfds = count;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		n = -EMSGSIZE;
	} else if (!clean || (n == 0 && mh.msg_controllen != 0)) {
		n = -EPROTO;
	}
	if (n <= 0) {
		if (first >= 0) {
			close(first);
		}
		return n;
	}
	*fd = first;
	return n;
}
