/* SPDX-License-Identifier: MIT */
/* fuzz_dirlist.c - the VMM's directory listings (vmm/fs_dirlist.c: dirlist_check and
 * dirlist_read, over common/brk_dirent.c): the memfd a broker sends for an opened directory.
 *
 * Input (little-endian): u8 flags (bit 0: leave F_SEAL_SEAL off, so the memfd must be
 * refused); u16 len1, u16 len2 (guest getdents buffer sizes, 0 means 1); u32 seek (a guest
 * lseek); the rest is the listing (at most 64 KiB), written into a memfd that is sealed.
 *
 * Oracles: dirlist_check accepts exactly when the seals are all there and a separately
 * written reference parse finds the bytes tiled by well-formed canonical records, and gives
 * a reason whenever it refuses.  On an accepted listing, reading it with len1-byte buffers
 * (each at the end of a guarded arena) returns whole records only, the listing's own bytes,
 * never more than the buffer, and the whole listing exactly once.  Whatever the listing and
 * offset (checked or not), a read returns either -EINVAL, 0 at or past the end, or bytes that
 * are whole records per the reference, starting at the offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "broker_proto.h"
#include "fs_dirlist.h"
#include "fuzz.h"

#define LIST_MAX 65536

static unsigned char bounce[DIRLIST_BOUNCE];

/* The reference: the length of a well-formed record at b[0..avail) at offset off, or 0. */
static size_t ref_record(const uint8_t *b, size_t avail, uint64_t off)
{
	uint16_t reclen;
	uint64_t next;
	size_t len = 0;

	if (avail < 24) {
		return 0;
	}
	memcpy(&reclen, b + 16, 2);
	memcpy(&next, b + 8, 8);
	if (reclen < 24 || reclen > 280 || (reclen & 7) != 0 || reclen > avail ||
	    next != off + reclen) {
		return 0;
	}
	while (19 + len < reclen && b[19 + len] != 0) {
		if (b[19 + len] == '/') {
			return 0;
		}
		len++;
	}
	if (19 + len == reclen || len == 0 || len > 255 || ((19 + len + 1 + 7) & ~7u) != reclen) {
		return 0;
	}
	for (size_t i = 19 + len; i < reclen; i++) {
		if (b[i] != 0) {
			return 0;
		}
	}
	return reclen;
}

static bool ref_listing(const uint8_t *b, size_t n)
{
	size_t off = 0, r;

	while (off < n && (r = ref_record(b + off, n - off, off)) > 0) {
		off += r;
	}
	return off == n;
}

/* One read at the fd's offset `pos` into a guarded len-byte buffer, checked. */
static ssize_t read_checked(int fd, const uint8_t *list, size_t n, uint64_t pos, size_t len)
{
	static struct garena arena;
	static bool ready;
	uint8_t *buf;
	ssize_t got;
	size_t off = 0;

	if (!ready) {
		garena_init(&arena, LIST_MAX);
		ready = true;
	}
	buf = garena_place(&arena, len);
	got = dirlist_read(fd, buf, len, bounce);
	garena_check(&arena, "dirlist_read");
	if (got == -EINVAL || got == 0) {
		if (got == 0 && pos < n && ref_record(list + pos, n - pos, pos) > 0 &&
		    ref_record(list + pos, n - pos, pos) <= len) {
			FUZZ_BUG("dirlist_read ended a listing at %llu before a record that fits",
				 (unsigned long long)pos);
		}
		return got;
	}
	if (got < 0 || (size_t)got > len || pos >= n || (size_t)got > n - pos ||
	    memcmp(buf, list + pos, (size_t)got) != 0) {
		FUZZ_BUG("dirlist_read returned %zd bytes at %llu that are not the listing's", got,
			 (unsigned long long)pos);
	}
	while (off < (size_t)got) {
		size_t r = ref_record(list + pos + off, (size_t)got - off, pos + off);
		if (r == 0) {
			FUZZ_BUG("dirlist_read returned a malformed record at %llu",
				 (unsigned long long)(pos + off));
		}
		off += r;
	}
	return got;
}

static int sealed_memfd(const uint8_t *b, size_t n, bool all_seals)
{
	int fd = memfd_create("fuzz-dirlist", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int seals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | (all_seals ? F_SEAL_SEAL : 0);

	if (fd < 0 || (n > 0 && write(fd, b, n) != (ssize_t)n) ||
	    fcntl(fd, F_ADD_SEALS, seals) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		FUZZ_SETUP_FAIL("memfd");
	}
	return fd;
}

static void read_all(int fd, const uint8_t *list, size_t n, size_t len)
{
	uint64_t pos = 0;
	ssize_t got;

	while ((got = read_checked(fd, list, n, pos, len)) > 0) {
		pos += (uint64_t)got;
	}
	if (got == 0 && pos != n) {
		FUZZ_BUG("dirlist_read ended after %llu of %zu bytes", (unsigned long long)pos, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};
	uint8_t flags = fin_u8(&in);
	size_t len1 = fin_u16(&in), len2 = fin_u16(&in);
	uint32_t seek = fin_u32(&in);
	size_t n = in.n > LIST_MAX ? LIST_MAX : in.n;
	bool all_seals = (flags & 1) == 0, want;
	const char *why = NULL;
	uint64_t got_size = 0;
	int fd, rc;

	len1 = len1 == 0 ? 1 : len1;
	len2 = len2 == 0 ? 1 : len2;
	fd = sealed_memfd(in.p, n, all_seals);
	rc = dirlist_check(fd, &got_size, bounce, &why);
	want = all_seals && ref_listing(in.p, n);
	if (rc != 0 && (rc != -EPROTO || why == NULL || why[0] == '\0')) {
		FUZZ_BUG("dirlist_check returned %d without a reason", rc);
	}
	if (want != (rc == 0)) {
		FUZZ_BUG("dirlist_check says %s (%s), reference says %s", rc == 0 ? "ok" : "bad",
			 rc == 0 ? "-" : why, want ? "ok" : "bad");
	}
	if (rc == 0) {
		if (got_size != n || lseek(fd, 0, SEEK_CUR) != 0) {
			FUZZ_BUG("dirlist_check: size %llu of %zu, or not rewound",
				 (unsigned long long)got_size, n);
		}
		read_all(fd, in.p, n, len1);
	}
	/* A guest may lseek anywhere, checked listing or not. */
	if (lseek(fd, (off_t)seek % (LIST_MAX + 512), SEEK_SET) < 0) {
		FUZZ_SETUP_FAIL("lseek");
	}
	(void)read_checked(fd, in.p, n, (uint64_t)seek % (LIST_MAX + 512), len2);
	close(fd);
	return 0;
}
