/* SPDX-License-Identifier: MIT */
/* broker_proto.h - the VMM <-> broker wire protocol over a SOCK_SEQPACKET socketpair, and how
 * the launcher starts the broker program.
 *
 * Fixed-size, versioned messages.  The VMM sends one request and waits for its reply
 * (strictly alternating, so seq must echo).  A reply to OPEN with err == 0 carries exactly
 * one fd in SCM_RIGHTS and the opened object's metadata; every other reply carries none.
 * The fd of a regular file is the file itself.  The VMM never receives a directory fd: for
 * a directory the broker reads the whole listing at open time and passes a sealed memfd
 * (F_SEAL_WRITE|GROW|SHRINK|SEAL) holding it as linux_dirent64 records (the listing format
 * below), at most BRK_LISTING_MAX bytes (a larger directory: ENOMEM).
 *
 * Threat: the broker treats every request as coming from a compromised VMM: it accepts only
 * messages of the exact size, known version and op, a NUL inside the path bounds, flags
 * from the op's allowlist and mode bits within 0777.  The VMM treats replies as untrusted
 * input too (a confused broker must not make the VMM misbehave): exact size, version, op
 * and seq echo, errno in range, fd presence consistent with op and err.
 */
#ifndef UHS_BROKER_PROTO_H
#define UHS_BROKER_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 2: OPEN replies carry metadata, directories come as listings; 3: entries created. */
#define BRK_VERSION 3

/* The broker program (uhyve-sec-broker) is exec'd by the launcher with
 *   fd 3  its end of the socketpair,
 *   fd 4  the audit log (with --audit-fd; otherwise stderr is the log),
 *   fd 5  the validated policy, packed (policy_pack) into a sealed memfd,
 * argv "uhyve-sec-broker [--audit-all] [--audit-fd] [--no-confine] --tmpdir DIR", an empty
 * environment, its own process group and SIGTERM as its parent-death signal. */
#define BRK_FD_SOCK   3
#define BRK_FD_AUDIT  4
#define BRK_FD_POLICY 5
#define BRK_FD_IMAGE  6 /* with --image: a Hermit image's sealed blob (image/), served at / */
#define BRK_PATH_MAX  4096

enum brk_op {
	BRK_OP_OPEN = 1,
	BRK_OP_UNLINK = 2,
	BRK_OP_MKDIR = 3,
	BRK_OP_STAT = 4,
	BRK_OP_LSTAT = 5,
	BRK_OP_READY = 6, /* broker -> VMM only: the roots are open, serving starts */
	BRK_OP_MAX
};

/* Guest open flags the broker accepts (Hermit values equal Linux's). */
#define BRK_OPEN_FLAGS (03 | 0100 | 0200 | 01000 | 02000 | 0200000)

struct brk_hdr {
	uint16_t version; /* BRK_VERSION */
	uint16_t op; /* enum brk_op */
	uint32_t seq; /* chosen by the VMM, echoed in the reply */
};

/* MKDIR modes must include owner read, write and search (0700). */
#define BRK_MKDIR_MODE_MIN 0700

/* The most entries one OPEN may create: the file and, in scratch, its missing parents (a
 * path of BRK_PATH_MAX bytes has at most 2048 components). */
#define BRK_NEW_MAX 2048

struct brk_req {
	struct brk_hdr h;
	int32_t flags; /* OPEN: guest open flags; otherwise 0 */
	uint16_t mode; /* OPEN with O_CREAT: bits <= 0777; MKDIR: the same with 0700 set; else 0 */
	/* Files and directories the broker may create for this request (the VMM's write budget
	 * pays 4 KiB for each): OPEN with O_CREAT 1..BRK_NEW_MAX, MKDIR 1, otherwise 0. */
	uint16_t new_max;
	char path[BRK_PATH_MAX]; /* guest path, NUL-terminated, rest zero */
};

/* Device numbers the guest sees (broker/meta.c): a mount's index + 1, BRK_DEV_SCRATCH for
 * the scratch directory, BRK_DEV_IMAGE for a Hermit image's files (broker/image_fs.c).
 * Inode numbers are a keyed hash; uid, gid and rdev are always 0. */
#define BRK_DEV_SCRATCH 65u
#define BRK_DEV_IMAGE	66u

struct brk_stat { /* the fields of struct stat the guest ABI carries */
	uint64_t dev, ino, nlink;
	uint32_t mode, uid, gid, pad_;
	uint64_t rdev;
	int64_t size, blksize, blocks;
	int64_t atime_sec, mtime_sec, ctime_sec;
	int32_t atime_nsec, mtime_nsec, ctime_nsec, pad2_;
};

struct brk_reply {
	struct brk_hdr h;
	int32_t err; /* 0, or a positive errno */
	uint16_t has_fd; /* 1 iff an fd travels with this reply */
	uint16_t created; /* OPEN, MKDIR: entries made (<= the request's new_max; also on errors) */
	/* STAT/LSTAT with err == 0: the object's metadata; OPEN with err == 0: the opened
	 * object's (a regular file or a directory, as it was at open); otherwise zero.  Always
	 * the guest's view: dev 1..BRK_DEV_IMAGE, a synthetic ino, uid = gid = rdev = 0. */
	struct brk_stat st;
};

_Static_assert(sizeof(struct brk_hdr) == 8, "wire layout");
_Static_assert(sizeof(struct brk_req) == 16 + BRK_PATH_MAX, "wire layout");
_Static_assert(sizeof(struct brk_stat) == 112, "wire layout");
_Static_assert(sizeof(struct brk_reply) == 128, "wire layout");

/* ---- directory listings (the memfd of a directory OPEN) ----
 * A sequence of records, each BRK_DIRENT_HDR bytes of header, a name and zero padding:
 *   u64 d_ino; u64 d_off (the offset of the next record in the listing); u16 d_reclen;
 *   u8 d_type; char name[] (1..255 bytes, no '/', NUL-terminated); zero bytes up to d_reclen
 * with d_reclen = BRK_DIRENT_LEN(strlen(name)), a multiple of 8.  One encoding per listing:
 * the VMM rejects anything else (brk_dirent_check). */
#define BRK_LISTING_MAX		(16u << 20)
#define BRK_DIRENT_HDR		19u
#define BRK_DIRENT_NAME_MAX	255u
#define BRK_DIRENT_LEN(namelen) ((BRK_DIRENT_HDR + (namelen) + 1u + 7u) & ~7u)
#define BRK_DIRENT_MAX		BRK_DIRENT_LEN(BRK_DIRENT_NAME_MAX)

/* Writes the record of `name` (namelen bytes, no NUL inside) at p, which must have
 * BRK_DIRENT_LEN(namelen) bytes; `off` is the record's own offset in the listing.  Returns
 * the record length, or 0 if the name is empty, too long or holds '/' or NUL. */
size_t brk_dirent_put(void *p, uint64_t off, uint64_t ino, uint8_t type, const char *name,
		      size_t namelen) __attribute__((warn_unused_result));

/* Checks the record at p (avail bytes readable there), which sits at offset `off` of the
 * listing.  Returns its length, or 0 if it is not one well-formed record within avail. */
size_t brk_dirent_check(const void *p, size_t avail, uint64_t off)
    __attribute__((warn_unused_result));

/* Builds a request, new_max as many entries as the op may create (BRK_NEW_MAX for OPEN with
 * O_CREAT, 1 for MKDIR, else 0; the VMM lowers it to what its budget pays for).  Returns 0,
 * -ENAMETOOLONG (path does not fit) or -EINVAL (mode above 0xffff). */
int brk_req_build(struct brk_req *r, enum brk_op op, uint32_t seq, int32_t flags, uint32_t mode,
		  const char *path) __attribute__((warn_unused_result));

/* Validates a received request of n bytes (broker side).  Returns 0, or -EPROTO with a
 * static reason in *why. */
int brk_req_check(const void *buf, size_t n, const char **why) __attribute__((warn_unused_result));

/* Validates a received reply (VMM side) against the request it answers and the number of
 * fds that arrived with it.  Returns 0, or -EPROTO with a static reason in *why. */
int brk_reply_check(const void *buf, size_t n, const struct brk_req *req, int nfds,
		    const char **why) __attribute__((warn_unused_result));

/* Sends one message with an optional fd (-1: none).  Returns 0 or -errno. */
int brk_send(int sock, const void *msg, size_t len, int fd) __attribute__((warn_unused_result));

/* Receives one message into buf (cap bytes) with MSG_CMSG_CLOEXEC.  Returns the message
 * length, 0 at EOF (peer gone), or -errno; -EMSGSIZE if the message or its control data
 * was truncated.  *fd receives a passed fd or -1; *nfds how many fds arrived (any beyond
 * the first are closed at once). */
ssize_t brk_recv(int sock, void *buf, size_t cap, int *fd, int *nfds)
    __attribute__((warn_unused_result));

#endif
