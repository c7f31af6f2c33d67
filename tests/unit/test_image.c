/* SPDX-License-Identifier: MIT */
/* test_image.c - Hermit image reader (image/): a valid image, every hostile archive case with
 * its exact one-line error, hermit.toml errors, format detection, and the blob: round trip
 * and the strict checker against damaged blobs.  Fixtures are built at run time in memory
 * (image_fixture.h); nothing touches the file system.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hermit_blob.h"
#include "hermit_image.h"
#include "image_fixture.h"

#define BASE                                                                                       \
	{"hermit.toml", 0, fx_toml, sizeof fx_toml - 1, NULL},                                     \
	{                                                                                          \
		"bin/kernel", 0, fx_elf, sizeof fx_elf, NULL                                       \
	}

static char err[1024];

/* Parses an image made of entries; returns the hi_parse result. */
static int parse_entries(const struct fx_entry *e, size_t n, const struct hi_limits *lim,
			 struct hermit_image *img)
{
	size_t len;
	unsigned char *g = fx_image(e, n, &len);
	int rc;

	assert_non_null(g);
	err[0] = '\0';
	rc = hi_parse(g, len, lim, img, err, sizeof err);
	free(g);
	return rc;
}

/* The image must be refused with exactly msg. */
static void refused(const struct fx_entry *e, size_t n, const struct hi_limits *lim,
		    const char *msg)
{
	struct hermit_image img;

	assert_int_equal(parse_entries(e, n, lim, &img), -1);
	assert_string_equal(err, msg);
	assert_null(img.entries);
	assert_int_equal(img.n_entries, 0);
}

static void refused_bytes(const unsigned char *b, size_t n, const char *msg)
{
	struct hermit_image img;

	err[0] = '\0';
	assert_int_equal(hi_parse(b, n, NULL, &img, err, sizeof err), -1);
	assert_string_equal(err, msg);
}

static void test_valid(void **state)
{
	static const char big[] = "0123456789";
	const struct fx_entry e[] = {
	    BASE,
	    {"./data/./x.txt", 0, big, 10, NULL},
	    {"data//sub/", AE_IFDIR, NULL, 0, NULL},
	    {"./", AE_IFDIR, NULL, 0, NULL},
	};
	static const char *const names[] = {"bin",	"bin/kernel", "data",
					    "data/sub", "data/x.txt", "hermit.toml"};
	struct hermit_image img;

	(void)state;
	assert_int_equal(parse_entries(e, 5, NULL, &img), 0);
	assert_int_equal(img.n_entries, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(img.entries[i].name, names[i]);
		assert_int_equal(img.entries[i].name_len, strlen(names[i]));
	}
	assert_int_equal(img.entries[0].type, HI_DIR); /* created: the archive had no "bin" */
	assert_int_equal(img.entries[3].type, HI_DIR);
	assert_int_equal(img.entries[4].type, HI_FILE);
	assert_int_equal(img.entries[4].size, 10);
	assert_memory_equal(img.entries[4].data, big, 10);
	assert_int_equal(img.entries[4].mode, 0644);
	assert_int_equal(img.cfg.kernel, 1);
	assert_int_equal(img.config_entry, 5);
	assert_int_equal(img.total_size, sizeof fx_toml - 1 + sizeof fx_elf + 10);
	assert_int_equal(img.cfg.n_kernel_args, 2);
	assert_string_equal(img.cfg.kernel_args[1], "2000");
	assert_int_equal(img.cfg.n_app_args, 2);
	assert_string_equal(img.cfg.app_args[0], "hello");
	assert_int_equal(img.cfg.n_env_vars, 2); /* "host" dropped, as uhyve does */
	assert_string_equal(img.cfg.env_vars[1], "B=x=y");
	assert_true(img.cfg.memory_set);
	assert_int_equal(img.cfg.memory, 64 << 20);
	assert_int_equal(img.cfg.cpus, 2);
	assert_int_equal(hi_find(&img, "data/sub"), 3);
	assert_int_equal(hi_find(&img, "data/su"), -1);
	hi_free(&img);
}

static void test_detect_format(void **state)
{
	(void)state;
	assert_int_equal(hi_detect_format("\x7f"
					  "ELF",
					  4),
			 HI_FORMAT_ELF);
	assert_int_equal(hi_detect_format("\x7f"
					  "EL",
					  3),
			 HI_FORMAT_UNKNOWN);
	assert_int_equal(hi_detect_format("\x1f\x8b\x08\x00", 4), HI_FORMAT_GZIP);
	assert_int_equal(hi_detect_format("\x1f\x8b\x07\x00", 4), HI_FORMAT_UNKNOWN);
	assert_int_equal(hi_detect_format("\x1f\x8b\x08", 3), HI_FORMAT_UNKNOWN);
	assert_int_equal(hi_detect_format("PK\x03\x04", 4), HI_FORMAT_UNKNOWN);
}

static void test_names(void **state)
{
	const struct fx_entry dotdot[] = {BASE, {"a/../../etc/passwd", 0, "x", 1, NULL}};
	const struct fx_entry abs[] = {BASE, {"/etc/passwd", 0, "x", 1, NULL}};
	const struct fx_entry dup[] = {
	    BASE, {"a.txt", 0, "x", 1, NULL}, {"./a.txt", 0, "y", 1, NULL}};
	const struct fx_entry dupdir[] = {
	    BASE, {"d", AE_IFDIR, NULL, 0, NULL}, {"d/", AE_IFDIR, NULL, 0, NULL}};
	const struct fx_entry below[] = {BASE, {"f", 0, "x", 1, NULL}, {"f/g", 0, "y", 1, NULL}};
	const struct fx_entry ctl[] = {BASE, {"a\033[2Jb", 0, "x", 1, NULL}};
	const struct fx_entry utf[] = {BASE, {"a\xff.txt", 0, "x", 1, NULL}};
	const struct fx_entry root[] = {BASE, {".", 0, "x", 1, NULL}};
	char longname[1100];
	struct fx_entry lng[] = {BASE, {longname, 0, "x", 1, NULL}};

	(void)state;
	refused(dotdot, 3, NULL, "entry \"a/../../etc/passwd\": \"..\" in the name");
	refused(abs, 3, NULL, "entry \"/etc/passwd\": absolute entry name");
	refused(dup, 4, NULL, "duplicate entry \"a.txt\"");
	refused(dupdir, 4, NULL, "duplicate entry \"d\"");
	refused(below, 4, NULL, "entry \"f/g\" lies below the file \"f\"");
	refused(ctl, 3, NULL, "entry \"a\\x1b[2Jb\": a control character in the name");
	refused(utf, 3, NULL, "entry \"a\xff.txt\": not valid UTF-8");
	refused(root, 3, NULL, "entry \".\": a file named like the root");
	memset(longname, 'a', 1030);
	longname[1030] = '\0';
	for (int i = 100; i < 1030; i += 100) {
		longname[i] = '/';
	}
	assert_int_equal(parse_entries(lng, 3, NULL, &(struct hermit_image){0}), -1);
	assert_non_null(strstr(err, "\": name longer than 1024 bytes"));
}

static void test_types(void **state)
{
	const struct fx_entry sym[] = {BASE, {"l", AE_IFLNK, NULL, 0, "/etc/passwd"}};
	const struct fx_entry hard[] = {BASE, {"h", 0, NULL, 0, "hermit.toml"}};
	const struct fx_entry chr[] = {BASE, {"dev/null", AE_IFCHR, NULL, 0, NULL}};
	const struct fx_entry blk[] = {BASE, {"sda", AE_IFBLK, NULL, 0, NULL}};
	const struct fx_entry fifo[] = {BASE, {"p", AE_IFIFO, NULL, 0, NULL}};

	(void)state;
	refused(sym, 3, NULL,
		"entry \"l\": a symbolic link (only regular files and directories are allowed)");
	refused(hard, 3, NULL,
		"entry \"h\": a hard link (only regular files and directories are allowed)");
	refused(chr, 3, NULL,
		"entry \"dev/null\": a character device (only regular files and directories are "
		"allowed)");
	refused(blk, 3, NULL,
		"entry \"sda\": a block device (only regular files and directories are allowed)");
	refused(fifo, 3, NULL,
		"entry \"p\": a FIFO (only regular files and directories are allowed)");
}

static void test_caps(void **state)
{
	static char zeros[300000];
	const struct fx_entry e[] = {
	    BASE, {"big", 0, zeros, 200, NULL}, {"b2", 0, zeros, 200, NULL}};
	const struct fx_entry bomb[] = {BASE, {"zeros", 0, zeros, sizeof zeros, NULL}};
	struct hi_limits per = {.max_entry_size = 199};
	struct hi_limits total = {.max_total_size = sizeof fx_toml + sizeof fx_elf + 300};
	struct hi_limits count = {.max_entries = 3};
	struct hi_limits dirs = {.max_entries = 4};
	const struct fx_entry deep[] = {BASE, {"a/b/c/d", 0, "x", 1, NULL}};
	char want[100];

	(void)state;
	refused(e, 4, &per, "entry \"big\": 200 bytes, more than the limit of 199 per file");
	snprintf(want, sizeof want, "the files hold more than %llu bytes together",
		 (unsigned long long)total.max_total_size);
	refused(e, 4, &total, want);
	refused(e, 4, &count, "more than 3 entries");
	refused(deep, 3, &dirs, "more than 4 entries (directories included)");
	refused(bomb, 3, &(struct hi_limits){.max_total_size = 100000},
		"the files hold more than 100000 bytes together");
}

/* Damage to the gzip layer and to what lies around the tar. */
static void test_streams(void **state)
{
	const struct fx_entry e[] = {BASE};
	size_t tl, gl, n;
	unsigned char *t = fx_tar(e, 2, &tl), *g, *b, *zeros;
	char want[100];

	(void)state;
	assert_non_null(t);
	g = fx_gzip(t, tl, &gl);
	b = malloc(gl * 2 + 64);
	memcpy(b, g, gl);
	refused_bytes(b, gl - 6, "truncated gzip stream");
	refused_bytes(b, gl / 2, "truncated gzip stream");
	memcpy(b + gl, "GARBAGE", 7);
	refused_bytes(b, gl + 7, "7 bytes after the end of the gzip stream");
	memcpy(b + gl, g, gl); /* a second gzip member */
	snprintf(want, sizeof want, "%zu bytes after the end of the gzip stream", gl);
	refused_bytes(b, gl * 2, want);
	memcpy(b, g, gl);
	b[gl - 4] ^= 1; /* the length in the trailer */
	refused_bytes(b, gl, "corrupt gzip stream: incorrect length check");
	b[gl - 4] ^= 1;
	b[gl - 8] ^= 1; /* the CRC */
	refused_bytes(b, gl, "corrupt gzip stream: incorrect data check");
	refused_bytes((const unsigned char *)"\x7f"
					     "ELF....",
		      8, "not a Hermit image (no gzip header)");
	free(g);
	free(b);

	/* non-zero data after the tar's end, inside the gzip stream */
	b = malloc(tl + 3);
	memcpy(b, t, tl);
	memcpy(b + tl, "xyz", 3);
	g = fx_gzip(b, tl + 3, &gl);
	refused_bytes(g, gl, "data after the end of the tar archive");
	free(g);
	free(b);

	/* zeros after the end: fine up to the cap on the inflated stream, then a bomb */
	n = 4u << 20;
	zeros = calloc(1, tl + n);
	memcpy(zeros, t, tl);
	g = fx_gzip(zeros, tl + 4096, &gl);
	{
		struct hermit_image img;

		assert_int_equal(hi_parse(g, gl, NULL, &img, err, sizeof err), 0);
		hi_free(&img);
	}
	free(g);
	g = fx_gzip(zeros, tl + n, &gl);
	{
		struct hermit_image img;
		struct hi_limits l = {.max_total_size = 1000, .max_entries = 4};

		assert_int_equal(hi_parse(g, gl, &l, &img, err, sizeof err), -1);
		assert_string_equal(
		    err, "the uncompressed archive is larger than 1082344 bytes (a bomb?)");
	}
	free(g);
	free(zeros);

	/* a tar cut short inside a header and inside a file's data */
	g = fx_gzip(t, 1024 + 100, &gl);
	refused_bytes(g, gl, "corrupt tar archive: Truncated tar archive");
	free(g);
	g = fx_gzip(t, 512 + 50, &gl);
	refused_bytes(g, gl, "entry \"hermit.toml\": corrupt tar archive: Truncated tar archive");
	free(g);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid), cmocka_unit_test(test_detect_format),
	    cmocka_unit_test(test_names), cmocka_unit_test(test_types),
	    cmocka_unit_test(test_caps),  cmocka_unit_test(test_streams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
