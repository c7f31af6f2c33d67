/* SPDX-License-Identifier: MIT */
/* fs_broker.c - the guest's files as seen from the VMM: a per-VM guest fd table and the
 * client side of the broker protocol.
 *
 * Everything that names a path (open, unlink, mkdir, stat, lstat) is a request to the
 * broker, which alone touches the host file system and answers with an errno or an fd.
 * Data operations (read, write, lseek, fstat, getdents, close) run here on fds the broker
 * handed over: regular files, and for directories a sealed memfd holding the listing
 * (fs_dirlist.c), never a directory fd.  The guest only ever sees small table indexes
 * (3, 4, ...), never a host fd number.
 *
 * Threat: replies are checked as strictly as requests (brk_reply_check); any protocol
 * error, EOF or unexpected fd marks the broker lost, and every later call returns FS_LOST
 * so the VM ends with ST_BROKER.  Limits (open files, bytes written) are enforced here for
 * the guest; they bind a compromised VMM only through the process limits of issue 4.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker_proto.h"
#include "fs_budget.h"
#include "fs_dirlist.h"
#include "vmm_internal.h"

#define GUEST_FD_BASE 3

/* Directory listings the guest may hold open at once (each at most BRK_LISTING_MAX): a guest
 * that opens a huge directory again and again gets ENOMEM, not gigabytes of memfds. */
#define FS_LISTINGS_MAX (64ull << 20)

struct fd_slot {
	int host; /* -1 free, -2 reserved while opening */
	unsigned busy; /* operations in flight on this fd */
	bool closing; /* closed by the guest while busy: close when the last one ends */
	bool dir; /* host is a directory listing (memfd), not a file */
	bool append; /* opened O_APPEND: writes create no hole */
	uint64_t listing; /* dir: bytes of its listing */
	struct brk_stat st; /* from the OPEN reply: what fstat of a directory answers */
};

struct fs_broker {
	int sock;
	pthread_mutex_t sock_mu; /* one request in flight at a time */
	uint32_t seq;
	bool lost;
	bool stopping; /* the VM is shutting down: losing the broker is expected */
	const char *lost_reason;
	pthread_mutex_t tab_mu;
	pthread_mutex_t dir_mu; /* listing reads: the bounce buffer and the offsets */
	unsigned char *bounce; /* DIRLIST_BOUNCE bytes */
	struct fd_slot *slots;
	unsigned max_open;
	uint64_t listings; /* bytes of the listings open (tab_mu) */
	struct fs_budget budget; /* limits.write_bytes: bytes, holes, entries (fs_budget.c) */
};

struct fs_broker *fs_broker_new(int sock, unsigned max_open, uint64_t max_write)
{
	struct fs_broker *b = calloc(1, sizeof *b);

	if (b == NULL || (b->slots = calloc(max_open, sizeof *b->slots)) == NULL ||
	    (b->bounce = malloc(DIRLIST_BOUNCE)) == NULL) {
		if (b != NULL) {
			free(b->slots);
		}
		free(b);
		return NULL;
	}
	for (unsigned i = 0; i < max_open; i++) {
		b->slots[i].host = -1;
	}
	b->sock = sock;
	b->max_open = max_open;
	fs_budget_init(&b->budget, max_write);
	pthread_mutex_init(&b->sock_mu, NULL);
	pthread_mutex_init(&b->tab_mu, NULL);
	pthread_mutex_init(&b->dir_mu, NULL);
	return b;
}

void fs_broker_free(struct fs_broker *b)
{
	if (b == NULL) {
		return;
	}
	for (unsigned i = 0; i < b->max_open; i++) {
		if (b->slots[i].host >= 0) {
			close(b->slots[i].host);
		}
	}
	if (b->sock >= 0) {
		close(b->sock);
	}
	free(b->slots);
	free(b->bounce);
	free(b);
}

const char *fs_broker_lost_reason(const struct fs_broker *b)
{
	return b->lost ? b->lost_reason : NULL;
}

static void mark_lost(struct fs_broker *b, const char *why)
{
	if (!b->lost) {
		b->lost = true;
		b->lost_reason = why;
		if (!__atomic_load_n(&b->stopping, __ATOMIC_ACQUIRE)) {
			uhs_msg("file broker lost: %s", why);
		}
	}
}

/* One request/reply exchange; new_max < 0: what the op may create without a budget.
 * Returns 0 with the reply (and *fd for OPEN), or FS_LOST. */
static int exchange(struct fs_broker *b, enum brk_op op, int32_t flags, uint32_t mode, int new_max,
		    const char *path, struct brk_reply *rep, int *fd)
{
	struct brk_req req;
	const char *why = NULL;
	int rfd = -1, nfds = 0, rc = 0;
	ssize_t n;

	*fd = -1;
	pthread_mutex_lock(&b->sock_mu);
	if (b->lost) {
		rc = FS_LOST;
		goto out;
	}
	if (brk_req_build(&req, op, ++b->seq, flags, mode, path) != 0) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	if (new_max >= 0) {
		req.new_max = (uint16_t)new_max;
	}
	if (brk_send(b->sock, &req, sizeof req, -1) != 0) {
		why = "cannot send a request";
	} else if ((n = brk_recv(b->sock, rep, sizeof *rep, &rfd, &nfds)) <= 0) {
		why = n == 0 ? "the broker closed the connection" : "cannot receive a reply";
	} else if (brk_reply_check(rep, (size_t)n, &req, nfds, &why) == 0) {
		*fd = rfd;
		rfd = -1;
	}
	if (why != NULL) {
		mark_lost(b, why);
		rc = FS_LOST;
	}
	if (rfd >= 0) {
		close(rfd);
	}
out:
	pthread_mutex_unlock(&b->sock_mu);
	return rc;
}

/* ---- guest fd table ---- */

/* Under tab_mu: closes the slot's fd and frees it. */
static void slot_free(struct fs_broker *b, struct fd_slot *s)
{
	close(s->host);
	b->listings -= s->listing;
	*s = (struct fd_slot){.host = -1};
}

static struct fd_slot *slot_get(struct fs_broker *b, int gfd)
{
	struct fd_slot *s = NULL;

	pthread_mutex_lock(&b->tab_mu);
	if (gfd >= GUEST_FD_BASE && (unsigned)(gfd - GUEST_FD_BASE) < b->max_open) {
		s = &b->slots[gfd - GUEST_FD_BASE];
		if (s->host < 0 || s->closing) {
			s = NULL;
		} else {
			s->busy++;
		}
	}
	pthread_mutex_unlock(&b->tab_mu);
	return s;
}

static void slot_release(struct fs_broker *b, struct fd_slot *s)
{
	pthread_mutex_lock(&b->tab_mu);
	if (--s->busy == 0 && s->closing) {
		slot_free(b, s);
	}
	pthread_mutex_unlock(&b->tab_mu);
}

/* The fd of a successful OPEN, before the guest may use it: a regular file, or for a
 * directory a sealed listing memfd of well-formed records.  Anything else (a directory fd
 * above all) means the broker is confused: returns a reason, and the broker is lost. */
static const char *check_received(struct fs_broker *b, int fd, const struct brk_stat *st,
				  uint64_t *size)
{
	const char *why = NULL;
	struct stat hs;

	/* fstat(2) itself: glibc's fstat() is newfstatat, a path syscall the VMM may not make */
	if (syscall(SYS_fstat, fd, &hs) < 0 || !S_ISREG(hs.st_mode)) {
		return "an open passed an fd that is not a regular file";
	}
	if (S_ISDIR(st->mode)) {
		pthread_mutex_lock(&b->dir_mu);
		if (dirlist_check(fd, size, b->bounce, &why) != 0 && why == NULL) {
			why = "a bad directory listing";
		}
		pthread_mutex_unlock(&b->dir_mu);
	}
	return why;
}

/* Entries an O_CREAT open may create: the file and, in scratch, each missing parent. */
static unsigned entries_wanted(const char *path)
{
	unsigned n = 1;

	for (const char *p = path; *p != '\0' && n < BRK_NEW_MAX; p++) {
		n += *p == '/';
	}
	return n;
}

/* The OPEN exchange under the write budget: O_CREAT only with entries reserved (else it is
 * dropped: an existing file opens, a missing one is ENOSPC, O_EXCL on an existing one
 * EEXIST), refunded for what the broker did not create; O_TRUNC with io_mu held. */
static int open_budgeted(struct fs_broker *b, const char *path, int flags, uint32_t mode,
			 struct brk_reply *rep, int *fd)
{
	bool on = fs_budget_on(&b->budget), lock = on && (flags & UH_O_TRUNC);
	unsigned got = 0;
	int rc, stripped = 0; /* 1: O_CREAT dropped, 2: O_CREAT|O_EXCL dropped */

	if (on && (flags & UH_O_CREAT) &&
	    (got = fs_budget_entries(&b->budget, entries_wanted(path))) == 0) {
		stripped = (flags & UH_O_EXCL) ? 2 : 1;
		flags &= ~(UH_O_CREAT | UH_O_EXCL);
	}
	if (lock) {
		pthread_mutex_lock(&b->budget.io_mu);
	}
	rc = exchange(b, BRK_OP_OPEN, flags, (flags & UH_O_CREAT) ? mode & 0777 : 0,
		      on && (flags & UH_O_CREAT) ? (int)got : -1, path, rep, fd);
	if (lock) {
		pthread_mutex_unlock(&b->budget.io_mu);
	}
	if (rc != 0) {
		return rc;
	}
	fs_budget_refund(&b->budget, (uint64_t)(got - (rep->created < got ? rep->created : got)) *
					 FS_ENTRY_COST);
	if (stripped && rep->err == ENOENT) {
		rep->err = ENOSPC; /* it would have to be created: the budget cannot pay */
	} else if (stripped == 2 && rep->err == 0) {
		close(*fd); /* O_EXCL: it exists */
		*fd = -1;
		rep->err = EEXIST;
	}
	return 0;
}

static int fsb_open(void *ctx, const char *path, int flags, uint32_t mode)
{
	struct fs_broker *b = ctx;
	struct brk_reply rep;
	uint64_t size = 0;
	const char *why;
	unsigned i;
	int fd, rc;

	pthread_mutex_lock(&b->tab_mu);
	for (i = 0; i < b->max_open && b->slots[i].host != -1; i++) {
	}
	if (i == b->max_open) {
		pthread_mutex_unlock(&b->tab_mu);
		return -EMFILE; /* the per-VM limit, without bothering the broker */
	}
	b->slots[i].host = -2;
	pthread_mutex_unlock(&b->tab_mu);

	rc = open_budgeted(b, path, flags, mode, &rep, &fd);
	if (rc == 0 && rep.err == 0 && (why = check_received(b, fd, &rep.st, &size)) != NULL) {
		close(fd);
		pthread_mutex_lock(&b->sock_mu);
		mark_lost(b, why);
		pthread_mutex_unlock(&b->sock_mu);
		rc = FS_LOST;
	}
	pthread_mutex_lock(&b->tab_mu);
	if (rc == 0 && rep.err == 0 && S_ISDIR(rep.st.mode) &&
	    size > FS_LISTINGS_MAX - b->listings) {
		close(fd);
		rep.err = ENOMEM; /* enough listings held: close some first */
	}
	if (rc == 0 && rep.err == 0) {
		b->slots[i] = (struct fd_slot){.host = fd,
					       .dir = S_ISDIR(rep.st.mode),
					       .append = (flags & UH_O_APPEND) != 0,
					       .listing = S_ISDIR(rep.st.mode) ? size : 0,
					       .st = rep.st};
		b->listings += b->slots[i].listing;
		rc = GUEST_FD_BASE + (int)i;
	} else {
		b->slots[i].host = -1;
		rc = rc != 0 ? rc : -rep.err;
	}
	pthread_mutex_unlock(&b->tab_mu);
	return rc;
}

static int fsb_close(void *ctx, int gfd)
{
	struct fs_broker *b = ctx;
	struct fd_slot *s;
	int rc = -EBADF;

	pthread_mutex_lock(&b->tab_mu);
	if (gfd >= GUEST_FD_BASE && (unsigned)(gfd - GUEST_FD_BASE) < b->max_open) {
		s = &b->slots[gfd - GUEST_FD_BASE];
		if (s->host >= 0 && !s->closing) {
			if (s->busy > 0) {
				s->closing = true;
			} else {
				slot_free(b, s);
			}
			rc = 0;
		}
	}
	pthread_mutex_unlock(&b->tab_mu);
	return rc;
}

/* read(2)/write(2) per piece rather than readv/writev: two syscalls fewer in the VMM's
 * seccomp allowlist; pieces are physically contiguous runs, usually one.  A short transfer
 * ends the call, as readv would. */
static ssize_t io_pieces(int fd, const struct iovec *iov, int iovcnt, bool write_)
{
	ssize_t total = 0;

	for (int i = 0; i < iovcnt; i++) {
		ssize_t n = write_ ? write(fd, iov[i].iov_base, iov[i].iov_len)
				   : read(fd, iov[i].iov_base, iov[i].iov_len);
		if (n < 0) {
			return total > 0 ? total : -errno;
		}
		total += n;
		if ((size_t)n < iov[i].iov_len) {
			break;
		}
	}
	return total;
}

static ssize_t fsb_readv(void *ctx, int gfd, const struct iovec *iov, int iovcnt)
{
	struct fs_broker *b = ctx;
	struct fd_slot *s = slot_get(b, gfd);
	ssize_t n;

	if (s == NULL) {
		return -EBADF;
	}
	n = s->dir ? -EISDIR : io_pieces(s->host, iov, iovcnt, false);
	slot_release(b, s);
	return n;
}

/* Where a write would land, for the hole it may create (O_APPEND: none).  Returns 0 or
 * -errno. */
static int write_position(const struct fd_slot *s, uint64_t *pos, uint64_t *size)
{
	struct stat st;
	off_t cur;

	*pos = 0;
	*size = 0;
	if (s->append) {
		return 0;
	}
	cur = lseek(s->host, 0, SEEK_CUR);
	/* fstat(2) itself: glibc's fstat() is newfstatat, a path syscall the VMM may not make */
	if (cur < 0 || syscall(SYS_fstat, s->host, &st) < 0) {
		return -errno;
	}
	*pos = (uint64_t)cur;
	*size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/* Writes at most `allowed` bytes of iov (iovcnt <= HC_IOV_MAX pieces). */
static ssize_t write_cut(int fd, const struct iovec *iov, int iovcnt, uint64_t allowed)
{
	struct iovec cut[256];
	int n = 0;

	for (uint64_t left = allowed; n < iovcnt && n < 256 && left > 0; n++) {
		cut[n] = iov[n];
		if (cut[n].iov_len > left) {
			cut[n].iov_len = left;
		}
		left -= cut[n].iov_len;
	}
	return n > 0 ? io_pieces(fd, cut, n, true) : 0;
}

/* A write under the budget: measured, charged (bytes + hole), cut to what is left, written
 * and refunded for what was not written, all under io_mu (fs_budget.h). */
static ssize_t write_budgeted(struct fs_broker *b, const struct fd_slot *s, const struct iovec *iov,
			      int iovcnt, uint64_t want)
{
	uint64_t pos, size, charged = 0, got = 0;
	ssize_t w;
	int rc;

	pthread_mutex_lock(&b->budget.io_mu);
	rc = write_position(s, &pos, &size);
	if (rc == 0) {
		got = fs_budget_write(&b->budget, pos, size, s->append, want, &charged);
	}
	if (rc != 0 || got == 0) {
		w = rc != 0 ? rc : -ENOSPC; /* the policy's write_bytes limit is used up */
	} else {
		w = write_cut(s->host, iov, iovcnt, got);
		fs_budget_refund(&b->budget, w <= 0 ? charged : got - (uint64_t)w);
	}
	pthread_mutex_unlock(&b->budget.io_mu);
	return w;
}

static ssize_t fsb_writev(void *ctx, int gfd, const struct iovec *iov, int iovcnt)
{
	struct fs_broker *b = ctx;
	struct fd_slot *s = slot_get(b, gfd);
	uint64_t want = 0;
	ssize_t w;

	if (s == NULL) {
		return -EBADF;
	}
	for (int i = 0; i < iovcnt; i++) {
		want += iov[i].iov_len;
	}
	if (s->dir) {
		w = -EBADF; /* a directory is never open for writing */
	} else if (want == 0) {
		w = 0;
	} else if (!fs_budget_on(&b->budget)) {
		w = io_pieces(s->host, iov, iovcnt, true);
	} else {
		w = write_budgeted(b, s, iov, iovcnt, want);
	}
	slot_release(b, s);
	return w;
}

static int64_t fsb_lseek(void *ctx, int gfd, int64_t off, int whence)
{
	struct fs_broker *b = ctx;
	struct fd_slot *s = slot_get(b, gfd);
	pthread_mutex_t *mu;
	off_t r;

	if (s == NULL) {
		return -EBADF;
	}
	/* never in the middle of a listing read, or of a budgeted write's measurement */
	mu = s->dir ? &b->dir_mu : fs_budget_on(&b->budget) ? &b->budget.io_mu : NULL;
	if (mu != NULL) {
		pthread_mutex_lock(mu);
	}
	r = lseek(s->host, off, whence);
	if (mu != NULL) {
		pthread_mutex_unlock(mu);
	}
	slot_release(b, s);
	return r < 0 ? -errno : r;
}

static void attr_from_stat(struct uh_v2_file_attr *a, const struct stat *st)
{
	memset(a, 0, sizeof *a);
	a->nlink = st->st_nlink; /* dev, ino: the caller's; uid, gid, rdev: 0 */
	a->mode = st->st_mode;
	a->size = st->st_size;
	a->blksize = st->st_blksize;
	a->blocks = st->st_blocks;
	a->atim.sec = st->st_atim.tv_sec;
	a->atim.nsec = (int32_t)st->st_atim.tv_nsec;
	a->mtim.sec = st->st_mtim.tv_sec;
	a->mtim.nsec = (int32_t)st->st_mtim.tv_nsec;
	a->ctim.sec = st->st_ctim.tv_sec;
	a->ctim.nsec = (int32_t)st->st_ctim.tv_nsec;
}

static void attr_from_brk(struct uh_v2_file_attr *a, const struct brk_stat *st)
{
	memset(a, 0, sizeof *a);
	a->dev = st->dev;
	a->ino = st->ino;
	a->nlink = st->nlink;
	a->mode = st->mode;
	a->uid = st->uid;
	a->gid = st->gid;
	a->rdev = st->rdev;
	a->size = st->size;
	a->blksize = st->blksize;
	a->blocks = st->blocks;
	a->atim.sec = st->atime_sec;
	a->atim.nsec = st->atime_nsec;
	a->mtim.sec = st->mtime_sec;
	a->mtim.nsec = st->mtime_nsec;
	a->ctim.sec = st->ctime_sec;
	a->ctim.nsec = st->ctime_nsec;
}

static int fsb_fstat(void *ctx, int gfd, struct uh_v2_file_attr *out)
{
	struct fs_broker *b = ctx;
	struct fd_slot *s = slot_get(b, gfd);
	struct stat st;
	int rc;

	if (s == NULL) {
		return -EBADF;
	}
	if (s->dir) { /* the directory as it was at open, like its listing */
		attr_from_brk(out, &s->st);
		slot_release(b, s);
		return 0;
	}
	/* fstat(2) itself: glibc's fstat() is newfstatat, a path syscall the VMM may not make */
	rc = syscall(SYS_fstat, s->host, &st) < 0 ? -errno : 0;
	if (rc == 0) { /* the host's sizes and times; the broker's identities (meta.c) */
		attr_from_stat(out, &st);
		out->dev = s->st.dev;
		out->ino = s->st.ino;
	}
	slot_release(b, s);
	return rc;
}

static ssize_t fsb_getdents(void *ctx, int gfd, void *buf, size_t len)
{
	struct fs_broker *b = ctx;
	struct fd_slot *s = slot_get(b, gfd);
	ssize_t n = -ENOTDIR;

	if (s == NULL) {
		return -EBADF;
	}
	/* The ABI's record layout is linux_dirent64's, the listing's too. */
	if (s->dir) {
		pthread_mutex_lock(&b->dir_mu);
		n = dirlist_read(s->host, buf, len, b->bounce);
		pthread_mutex_unlock(&b->dir_mu);
	}
	slot_release(b, s);
	return n;
}

static int path_op(void *ctx, enum brk_op op, const char *path, uint32_t mode,
		   struct uh_v2_file_attr *out)
{
	struct fs_broker *b = ctx;
	struct brk_reply rep;
	int fd, rc;

	/* a new directory costs an entry of the write budget, refunded if none was made */
	if (op == BRK_OP_MKDIR && fs_budget_entries(&b->budget, 1) == 0) {
		return -ENOSPC;
	}
	rc = exchange(b, op, 0, mode, -1, path, &rep, &fd);
	if (rc != 0) {
		return rc;
	}
	if (op == BRK_OP_MKDIR && rep.created == 0) {
		fs_budget_refund(&b->budget, FS_ENTRY_COST);
	}
	if (rep.err == 0 && out != NULL) {
		attr_from_brk(out, &rep.st);
	}
	return -rep.err;
}

static int fsb_unlink(void *ctx, const char *path)
{
	return path_op(ctx, BRK_OP_UNLINK, path, 0, NULL);
}

static int fsb_mkdir(void *ctx, const char *path, uint32_t mode)
{
	return path_op(ctx, BRK_OP_MKDIR, path, mode & 0777, NULL);
}

static int fsb_stat(void *ctx, const char *path, bool nofollow, struct uh_v2_file_attr *out)
{
	return path_op(ctx, nofollow ? BRK_OP_LSTAT : BRK_OP_STAT, path, 0, out);
}

static void fsb_stop(void *ctx)
{
	struct fs_broker *b = ctx;

	/* Wakes a vCPU blocked in recvmsg on a hung broker; its call then fails. */
	__atomic_store_n(&b->stopping, true, __ATOMIC_RELEASE);
	shutdown(b->sock, SHUT_RDWR);
}

const struct fs_ops fs_broker_ops = {
    .open = fsb_open,
    .close = fsb_close,
    .readv = fsb_readv,
    .writev = fsb_writev,
    .lseek = fsb_lseek,
    .unlink = fsb_unlink,
    .mkdir = fsb_mkdir,
    .stat = fsb_stat,
    .fstat = fsb_fstat,
    .getdents = fsb_getdents,
    .stop = fsb_stop,
};
