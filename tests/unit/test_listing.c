/* SPDX-License-Identifier: MIT */
/* test_listing.c - directory listings instead of directory fds (issue 16, item 8): the record
 * format (common/brk_dirent.c), the broker building a sealed memfd (broker/listing.c) and the
 * VMM checking and reading it (vmm/fs_dirlist.c).  Every test runs inside an fd-leak check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker_proto.h"
#include "fs_dirlist.h"
#include "listing.h"

#define ALL_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

static unsigned char bounce[DIRLIST_BOUNCE];
static const struct meta_key key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
static char tmpl[] = "/tmp/uhs-listing-XXXXXX";
static const char *dir; /* a directory with ".", "..", "a", "bb", "sub" and a 255-byte name */
static char longname[256];

/* ---- fixture and fd-leak check ---- */

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

static void touch(const char *name)
{
	char p[512];
	int fd;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static int group_setup(void **state)
{
	char p[512];

	(void)state;
	dir = mkdtemp(tmpl);
	if (dir == NULL) {
		return -1;
	}
	memset(longname, 'n', 255);
	touch("a");
	touch("bb");
	touch(longname);
	snprintf(p, sizeof p, "%s/sub", dir);
	return mkdir(p, 0755);
}

static int group_teardown(void **state)
{
	char p[512];
	const char *names[] = {"a", "bb", longname, "sub"};

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		(i == 3 ? rmdir : unlink)(p);
	}
	return rmdir(dir);
}

static int open_dir(void)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

/* A memfd holding n bytes of b, with `seals` added. */
static int memfd_with(const void *b, size_t n, int seals)
{
	int fd = memfd_create("test-listing", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	if (seals != 0) {
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	}
	return fd;
}

static struct listing_ids ids_of(int d)
{
	struct stat st;

	assert_int_equal(fstat(d, &st), 0);
	return (struct listing_ids){.key = &key, .host_dev = st.st_dev};
}

static int built_listing(void)
{
	int d = open_dir(), fd;
	struct listing_ids ids = ids_of(d);

	assert_int_equal(listing_build(d, &ids, BRK_LISTING_MAX, &fd), 0);
	close(d);
	return fd;
}

/* ---- the record format ---- */

static void dirent_roundtrip(void **state)
{
	unsigned char b[BRK_DIRENT_MAX + 8];
	char name[256];

	(void)state;
	memset(name, 'x', sizeof name);
	for (size_t len = 1; len <= 255; len++) {
		size_t n;
		memset(b, 0xaa, sizeof b);
		n = brk_dirent_put(b, 4096, 77, DT_REG, name, len);
		assert_int_equal(n, BRK_DIRENT_LEN(len));
		assert_int_equal(n % 8, 0);
		assert_int_equal(brk_dirent_check(b, n, 4096), n);
		assert_int_equal(brk_dirent_check(b, n - 1, 4096), 0); /* must fit avail */
		assert_int_equal(brk_dirent_check(b, n, 4088), 0); /* d_off names the next record */
		assert_int_equal(b[n - 1], 0); /* padding zeroed */
	}
}

static void dirent_put_rejects(void **state)
{
	unsigned char b[BRK_DIRENT_MAX + 64];
	char name[300];

	(void)state;
	memset(name, 'x', sizeof name);
	assert_int_equal(brk_dirent_put(b, 0, 1, DT_REG, name, 0), 0);
	assert_int_equal(brk_dirent_put(b, 0, 1, DT_REG, name, 256), 0);
	assert_int_equal(brk_dirent_put(b, 0, 1, DT_REG, "a/b", 3), 0);
	assert_int_equal(brk_dirent_put(b, 0, 1, DT_REG, "a\0b", 3), 0);
}

/* One rule per row: a valid record of "abc" at offset 0, changed in one place. */
static void dirent_check_rejects(void **state)
{
	static const struct {
		size_t at, len; /* bytes to overwrite */
		uint64_t value;
		const char *rule;
	} rows[] = {
	    {16, 2, 0, "d_reclen 0"},
	    {16, 2, 16, "d_reclen below the shortest record"},
	    {16, 2, 20, "d_reclen not a multiple of 8"},
	    {16, 2, 288, "d_reclen above the longest record"},
	    {16, 2, 32, "d_reclen beyond the bytes available"},
	    {8, 8, 0, "d_off not the next record"},
	    {8, 8, 23, "d_off not the next record"},
	    {19, 1, 0, "empty name"},
	    {20, 1, '/', "'/' in the name"},
	    {23, 1, 'x', "padding not zero"},
	    {23, 1, 1, "padding not zero"},
	};
	unsigned char good[24], b[24];

	(void)state;
	assert_int_equal(brk_dirent_put(good, 0, 5, DT_DIR, "abc", 3), 24);
	assert_int_equal(brk_dirent_check(good, sizeof good, 0), 24);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		memcpy(b, good, sizeof b);
		memcpy(b + rows[i].at, &rows[i].value, rows[i].len);
		print_message("# %s\n", rows[i].rule);
		assert_int_equal(brk_dirent_check(b, sizeof b, 0), 0);
	}
	/* No NUL within the record: the name runs to its end. */
	memset(b, 'z', sizeof b);
	memcpy(b, good, 19);
	assert_int_equal(brk_dirent_check(b, sizeof b, 0), 0);
	assert_int_equal(brk_dirent_check(good, 23, 0), 0);
}

/* A 32-byte record for a 3-byte name is valid in size but not canonical. */
static void dirent_check_canonical(void **state)
{
	unsigned char b[32];
	uint16_t reclen = 32;
	uint64_t next = 32;

	(void)state;
	assert_int_equal(brk_dirent_put(b, 0, 5, DT_DIR, "abc", 3), 24);
	memset(b + 24, 0, 8);
	memcpy(b + 16, &reclen, 2);
	memcpy(b + 8, &next, 8);
	assert_int_equal(brk_dirent_check(b, sizeof b, 0), 0);
}

/* ---- the broker's listing ---- */

static void listing_is_sealed_and_complete(void **state)
{
	unsigned char buf[4096];
	int fd = built_listing(), seen = 0;
	struct stat st, host;
	ssize_t n;

	(void)state;
	assert_int_equal(fcntl(fd, F_GET_SEALS) & ALL_SEALS, ALL_SEALS);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(write(fd, "x", 1), -1); /* sealed: nobody can change it */
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 0), -1);
	n = pread(fd, buf, sizeof buf, 0);
	assert_int_equal(n, st.st_size);
	assert_int_equal(lstat(dir, &host), 0);
	for (size_t off = 0, r; off < (size_t)n; off += r) {
		const char *name = (const char *)buf + off + BRK_DIRENT_HDR;
		uint64_t ino;
		r = brk_dirent_check(buf + off, (size_t)n - off, off);
		assert_true(r > 0);
		memcpy(&ino, buf + off, sizeof ino);
		if (strcmp(name, ".") == 0) { /* the synthetic number of the directory itself */
			assert_true(ino == meta_ino(&key, host.st_dev, host.st_ino));
			assert_true(ino != host.st_ino);
		}
		seen |= strcmp(name, ".") == 0	      ? 1
			: strcmp(name, "..") == 0     ? 2
			: strcmp(name, "a") == 0      ? 4
			: strcmp(name, "bb") == 0     ? 8
			: strcmp(name, "sub") == 0    ? (buf[off + 18] == DT_DIR ? 16 : 0)
			: strcmp(name, longname) == 0 ? 32
						      : 64;
	}
	assert_int_equal(seen, 63);
	close(fd);
}

static void listing_cap_is_enomem(void **state)
{
	int d = open_dir(), fd = 7;
	struct listing_ids ids = ids_of(d);

	(void)state;
	assert_int_equal(listing_build(d, &ids, 48, &fd),
			 -ENOMEM); /* two records fit, six do not */
	assert_int_equal(fd, -1);
	assert_int_equal(lseek(d, 0, SEEK_SET), 0);
	assert_int_equal(listing_build(d, &ids, 1000, &fd), 0);
	close(fd);
	close(d);
}

static void listing_of_a_file_fails(void **state)
{
	char p[512];
	struct listing_ids ids = {.key = &key, .host_dev = 1};
	int f, fd = 7;

	(void)state;
	snprintf(p, sizeof p, "%s/a", dir);
	f = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(f >= 0);
	assert_int_equal(listing_build(f, &ids, BRK_LISTING_MAX, &fd), -ENOTDIR);
	assert_int_equal(fd, -1);
	close(f);
}

/* ---- the VMM's checks ---- */

static void vmm_accepts_a_listing(void **state)
{
	const char *why = NULL;
	uint64_t size = 0;
	int fd = built_listing();
	struct stat st;

	(void)state;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(dirlist_check(fd, &size, bounce, &why), 0);
	assert_int_equal(size, st.st_size);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	close(fd);
}

static void expect_rejected(int fd, const char *reason)
{
	const char *why = NULL;
	uint64_t size;

	assert_int_equal(dirlist_check(fd, &size, bounce, &why), -EPROTO);
	assert_non_null(why);
	assert_string_equal(why, reason);
	close(fd);
}

static void vmm_rejects_bad_listings(void **state)
{
	unsigned char rec[24], bad[24];
	char p[512];
	int f;

	(void)state;
	assert_int_equal(brk_dirent_put(rec, 0, 1, DT_REG, "abc", 3), 24);
	memcpy(bad, rec, sizeof bad);
	bad[23] = 1;
	expect_rejected(open_dir(), "a directory open came without a listing memfd");
	expect_rejected(memfd_with(rec, sizeof rec, 0), "a directory listing is not sealed");
	expect_rejected(memfd_with(rec, sizeof rec, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK),
			"a directory listing is not sealed");
	expect_rejected(memfd_with(bad, sizeof bad, ALL_SEALS),
			"a directory listing holds a malformed record");
	expect_rejected(memfd_with(rec, sizeof rec - 1, ALL_SEALS),
			"a directory listing holds a malformed record");
	f = memfd_with(rec, sizeof rec, 0);
	assert_int_equal(ftruncate(f, BRK_LISTING_MAX + 8), 0);
	assert_int_equal(fcntl(f, F_ADD_SEALS, ALL_SEALS), 0);
	expect_rejected(f, "a directory listing is too large");
	snprintf(p, sizeof p, "%s/a", dir); /* a plain file has no seals */
	f = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(f >= 0);
	expect_rejected(f, "a directory listing is not sealed");
}

static void vmm_reads_whole_records(void **state)
{
	unsigned char buf[4096];
	const char *why;
	uint64_t size;
	int fd = built_listing();
	ssize_t n, total = 0;

	(void)state;
	assert_int_equal(dirlist_check(fd, &size, bounce, &why), 0);
	assert_int_equal(dirlist_read(fd, buf, 23, bounce), -EINVAL); /* no record fits */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0); /* and the offset stays */
	while ((n = dirlist_read(fd, buf, 300, bounce)) > 0) {
		assert_int_equal(brk_dirent_check(buf, (size_t)n, (uint64_t)total) > 0, 1);
		total += n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(total, (ssize_t)size);
	assert_int_equal(lseek(fd, 8, SEEK_SET), 8); /* not at a record */
	assert_int_equal(dirlist_read(fd, buf, sizeof buf, bounce), -EINVAL);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0); /* rewind */
	assert_int_equal(dirlist_read(fd, buf, sizeof buf, bounce), (ssize_t)size);
	assert_int_equal(lseek(fd, (off_t)size + 100, SEEK_SET), (off_t)size + 100);
	assert_int_equal(dirlist_read(fd, buf, sizeof buf, bounce), 0);
	close(fd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fd_setup, fd_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(dirent_roundtrip),
	    T(dirent_put_rejects),
	    T(dirent_check_rejects),
	    T(dirent_check_canonical),
	    T(listing_is_sealed_and_complete),
	    T(listing_cap_is_enomem),
	    T(listing_of_a_file_fails),
	    T(vmm_accepts_a_listing),
	    T(vmm_rejects_bad_listings),
	    T(vmm_reads_whole_records),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
