/* SPDX-License-Identifier: MIT */
/* test_meta.c - the identities the guest sees of host objects (broker/meta.c, issue 16 item
 * 6): SipHash-2-4 against its reference vector, inode numbers stable per key and never the
 * host's, device numbers per mount, and a stat with the host's sizes and times but no host
 * owner, device or inode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "meta.h"

/* The reference implementation's key 00 01 .. 0f. */
static const struct meta_key ref_key = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

static void siphash_vector(void **state)
{
	(void)state;
	/* SipHash-2-4 of the 16 bytes 00 01 .. 0f under the key 00 01 .. 0f (the reference
	 * vectors of Aumasson and Bernstein, vector 16) */
	assert_true(meta_siphash(&ref_key, 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull) ==
		    0x3f2acc7f57c29bdbull);
}

static void ino_per_key(void **state)
{
	struct meta_key other = ref_key, fresh;

	(void)state;
	other.k1 ^= 1;
	assert_true(meta_ino(&ref_key, 2049, 1234) == meta_ino(&ref_key, 2049, 1234));
	assert_true(meta_ino(&ref_key, 2049, 1234) != meta_ino(&ref_key, 2049, 1235));
	assert_true(meta_ino(&ref_key, 2049, 1234) != meta_ino(&ref_key, 2050, 1234));
	assert_true(meta_ino(&ref_key, 2049, 1234) != meta_ino(&other, 2049, 1234));
	assert_true(meta_ino(&ref_key, 2049, 1234) != 1234);
	assert_int_equal(meta_key_init(&fresh), 0);
	assert_true(fresh.k0 != 0 || fresh.k1 != 0);
	assert_true(meta_ino(&fresh, 0, 0) != 0);
}

static void devs(void **state)
{
	(void)state;
	assert_int_equal(meta_dev(0), 1);
	assert_int_equal(meta_dev(63), 64);
	assert_int_equal(meta_dev(-1), BRK_DEV_SCRATCH);
	assert_int_equal(BRK_DEV_SCRATCH, 65);
}

static void stat_view(void **state)
{
	struct stat st;
	struct brk_stat o;

	(void)state;
	memset(&st, 0, sizeof st);
	st.st_dev = 2049;
	st.st_ino = 77;
	st.st_mode = S_IFREG | 0640;
	st.st_nlink = 2;
	st.st_uid = 1000;
	st.st_gid = 1001;
	st.st_rdev = 0x0103;
	st.st_size = 12345;
	st.st_blksize = 4096;
	st.st_blocks = 24;
	st.st_atim = (struct timespec){.tv_sec = 10, .tv_nsec = 11};
	st.st_mtim = (struct timespec){.tv_sec = 20, .tv_nsec = 21};
	st.st_ctim = (struct timespec){.tv_sec = 30, .tv_nsec = 31};
	memset(&o, 0xff, sizeof o);
	meta_stat(&ref_key, 2, &st, &o);
	assert_int_equal(o.dev, 3);
	assert_true(o.ino == meta_ino(&ref_key, 2049, 77));
	assert_int_equal(o.uid, 0);
	assert_int_equal(o.gid, 0);
	assert_int_equal(o.rdev, 0);
	assert_int_equal(o.pad_, 0);
	assert_int_equal(o.pad2_, 0);
	assert_int_equal(o.mode, S_IFREG | 0640);
	assert_int_equal(o.nlink, 2);
	assert_int_equal(o.size, 12345);
	assert_int_equal(o.blksize, 4096);
	assert_int_equal(o.blocks, 24);
	assert_true(o.atime_sec == 10 && o.atime_nsec == 11 && o.mtime_sec == 20 &&
		    o.mtime_nsec == 21 && o.ctime_sec == 30 && o.ctime_nsec == 31);
	meta_stat(&ref_key, -1, &st, &o);
	assert_int_equal(o.dev, BRK_DEV_SCRATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(siphash_vector),
	    cmocka_unit_test(ino_per_key),
	    cmocka_unit_test(devs),
	    cmocka_unit_test(stat_view),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
