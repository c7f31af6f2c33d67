/* SPDX-License-Identifier: MIT */
/* fs_dirlist.c - guest getdents on a directory listing: the sealed memfd the broker sends for
 * an opened directory (broker_proto.h), in place of a directory fd the VMM never holds.
 *
 * Threat: the memfd and its bytes come from the broker, checked as untrusted input anyway:
 * it must be a regular file (never a directory), carry all four seals (so nobody can change
 * it after the check), be at most BRK_LISTING_MAX bytes, and consist of well-formed records
 * only (brk_dirent_check: length bounds, NUL-terminated name, canonical encoding).  At
 * getdents time the offset is the guest's (it may lseek anywhere), so every record is checked
 * again before a byte of it reaches guest memory, and whole records are copied through a
 * host buffer: guest memory, which other vCPUs may change, is never parsed. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker_proto.h"
#include "fs_dirlist.h"

#define DIRLIST_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

_Static_assert(DIRLIST_BOUNCE >= BRK_DIRENT_MAX, "a record must fit the bounce buffer");

/* Whole well-formed records at the start of b (n bytes read at offset pos). */
static size_t whole_records(const unsigned char *b, size_t n, uint64_t pos)
{
	size_t used = 0, r;

	while ((r = brk_dirent_check(b + used, n - used, pos + used)) > 0) {
		used += r;
	}
	return used;
}

static ssize_t read_at(int fd, uint64_t pos, void *buf, size_t len)
{
	ssize_t n;

	if (lseek(fd, (off_t)pos, SEEK_SET) < 0) {
		return -errno;
	}
	do {
		n = read(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int seals_and_size(int fd, uint64_t *size, const char **why)
{
	struct stat st;
	int seals;

	/* fstat(2) itself: glibc's fstat() is newfstatat, which the VMM may not make */
	if (syscall(SYS_fstat, fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = "a directory open came without a listing memfd";
		return -EPROTO;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & DIRLIST_SEALS) != DIRLIST_SEALS) {
		*why = "a directory listing is not sealed";
		return -EPROTO;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > BRK_LISTING_MAX) {
		*why = "a directory listing is too large";
		return -EPROTO;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

int dirlist_check(int fd, uint64_t *size, unsigned char *bounce, const char **why)
{
	uint64_t pos = 0;
	int rc = seals_and_size(fd, size, why);

	while (rc == 0 && pos < *size) {
		size_t want = *size - pos < DIRLIST_BOUNCE ? (size_t)(*size - pos) : DIRLIST_BOUNCE;
		ssize_t n = read_at(fd, pos, bounce, want);
		size_t used;

		if (n <= 0) {
			*why = "cannot read a directory listing";
			return -EPROTO;
		}
		used = whole_records(bounce, (size_t)n, pos);
		if (used == 0) {
			*why = "a directory listing holds a malformed record";
			return -EPROTO;
		}
		pos += used;
	}
	if (rc == 0 && lseek(fd, 0, SEEK_SET) < 0) {
		*why = "cannot rewind a directory listing";
		rc = -EPROTO;
	}
	return rc;
}

ssize_t dirlist_read(int fd, void *buf, size_t len, unsigned char *bounce)
{
	off_t pos = lseek(fd, 0, SEEK_CUR);
	ssize_t n;
	size_t used;

	if (pos < 0) {
		return -errno;
	}
	n = read(fd, bounce, len < DIRLIST_BOUNCE ? len : DIRLIST_BOUNCE);
	if (n <= 0) {
		return n < 0 ? -errno : 0; /* 0: the end of the listing */
	}
	used = whole_records(bounce, (size_t)n, (uint64_t)pos);
	/* Nothing fits (the buffer is smaller than the next record), or the guest's offset is
	 * not at a record: EINVAL, as getdents64 says for a buffer too small.  The offset stays. */
	if (lseek(fd, pos + (off_t)used, SEEK_SET) < 0) {
		return -errno;
	}
	if (used == 0) {
		return -EINVAL;
	}
	memcpy(buf, bounce, used);
	return (ssize_t)used;
}
