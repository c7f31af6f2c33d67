/* SPDX-License-Identifier: MIT */
/* listing.c - what the VMM gets for an opened directory: never the directory fd, but a sealed
 * memfd holding the whole listing, read here at open time (a snapshot).
 *
 * Threat: a directory fd in the VMM would let a compromised VMM that escaped or lacks its
 * seccomp filter (sanitizer builds, --sandbox=off) openat(dirfd, "../x") beyond the mount.
 * A memfd names nothing on the host.  Its content is what getdents64 said about a directory
 * the broker opened beneath a mount root, re-encoded record by record (brk_dirent_put: no
 * kernel padding bytes travel; d_ino the synthetic inode number of meta.c), capped at
 * BRK_LISTING_MAX, and sealed against any change before it is passed.  Trusts the kernel's records
 * only after bounds checks. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker_proto.h"
#include "listing.h"

#define LISTING_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

/* The broker serves one request at a time: static buffers, no allocation. */
static unsigned char in_buf[32768]; /* getdents64 output */
static unsigned char out_buf[65536]; /* records not yet written to the memfd */

struct listing_out {
	int fd;
	const struct listing_ids *ids;
	uint64_t cap; /* at most this many bytes */
	size_t fill; /* bytes in out_buf */
	uint64_t total; /* bytes of the listing so far */
};

static int flush_out(struct listing_out *o)
{
	size_t done = 0;

	while (done < o->fill) {
		ssize_t n = write(o->fd, out_buf + done, o->fill - done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EIO;
		}
		done += (size_t)n;
	}
	o->fill = 0;
	return 0;
}

static int put_entry(struct listing_out *o, uint64_t ino, uint8_t type, const char *name,
		     size_t len)
{
	size_t need = BRK_DIRENT_LEN(len), n;
	int rc;

	if (o->total + need > o->cap) {
		return -ENOMEM;
	}
	if (o->fill + need > sizeof out_buf && (rc = flush_out(o)) < 0) {
		return rc;
	}
	n = brk_dirent_put(out_buf + o->fill, o->total,
			   meta_ino(o->ids->key, o->ids->host_dev, ino), type, name, len);
	if (n == 0) {
		return -EIO; /* a name the kernel cannot have given (empty, too long, '/') */
	}
	o->fill += n;
	o->total += n;
	return 0;
}

/* One getdents64 batch of n bytes: linux_dirent64 records, bounds-checked. */
static int put_batch(struct listing_out *o, size_t n)
{
	size_t off = 0;

	while (off < n) {
		const unsigned char *r = in_buf + off;
		uint64_t ino;
		uint16_t reclen;
		int rc;

		if (n - off < BRK_DIRENT_HDR + 1) {
			return -EIO;
		}
		memcpy(&ino, r, sizeof ino);
		memcpy(&reclen, r + 16, sizeof reclen);
		if (reclen < BRK_DIRENT_HDR + 1 || reclen > n - off) {
			return -EIO;
		}
		rc = put_entry(o, ino, r[18], (const char *)r + BRK_DIRENT_HDR,
			       strnlen((const char *)r + BRK_DIRENT_HDR, reclen - BRK_DIRENT_HDR));
		if (rc < 0) {
			return rc;
		}
		off += reclen;
	}
	return 0;
}

static int fill_listing(int dirfd, const struct listing_ids *ids, uint64_t cap, int memfd)
{
	struct listing_out o = {.fd = memfd, .ids = ids, .cap = cap, .fill = 0, .total = 0};

	for (;;) {
		long n = syscall(SYS_getdents64, dirfd, in_buf, sizeof in_buf);
		int rc;

		if (n < 0) {
			return -errno;
		}
		if (n == 0) {
			return flush_out(&o);
		}
		if ((rc = put_batch(&o, (size_t)n)) < 0) {
			return rc;
		}
	}
}

static int fill_from(listing_next_fn next, void *ctx, const struct listing_ids *ids, uint64_t cap,
		     int memfd)
{
	struct listing_out o = {.fd = memfd, .ids = ids, .cap = cap, .fill = 0, .total = 0};
	struct listing_item it;
	int rc;

	while (next(ctx, &it)) {
		if ((rc = put_entry(&o, it.ino, it.type, it.name, it.len)) < 0) {
			return rc;
		}
	}
	return flush_out(&o);
}

/* The memfd for either source, sealed.  dirfd < 0: from next(ctx). */
static int build(int dirfd, listing_next_fn next, void *ctx, const struct listing_ids *ids,
		 uint64_t cap, int *out)
{
	int memfd = memfd_create("uhyve-sec-dir", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int rc;

	*out = -1;
	if (memfd < 0) {
		return -errno;
	}
	cap = cap > BRK_LISTING_MAX ? BRK_LISTING_MAX : cap;
	rc = dirfd >= 0 ? fill_listing(dirfd, ids, cap, memfd)
			: fill_from(next, ctx, ids, cap, memfd);
	if (rc == 0 && fcntl(memfd, F_ADD_SEALS, LISTING_SEALS) < 0) {
		rc = -errno;
	}
	if (rc < 0) {
		close(memfd);
		return rc;
	}
	*out = memfd;
	return 0;
}

int listing_build(int dirfd, const struct listing_ids *ids, uint64_t cap, int *out)
{
	return build(dirfd, NULL, NULL, ids, cap, out);
}

int listing_build_from(listing_next_fn next, void *ctx, const struct listing_ids *ids, uint64_t cap,
		       int *out)
{
	return build(-1, next, ctx, ids, cap, out);
}
