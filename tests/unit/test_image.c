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

/* An image of hermit.toml text and a kernel at bin/kernel. */
static void toml_refused(const char *toml, const char *msg)
{
	const struct fx_entry e[] = {{"hermit.toml", 0, toml, strlen(toml), NULL},
				     {"bin/kernel", 0, fx_elf, sizeof fx_elf, NULL}};

	refused(e, 2, NULL, msg);
}

static void test_hermit_toml(void **state)
{
	const struct fx_entry none[] = {{"bin/kernel", 0, fx_elf, sizeof fx_elf, NULL}};
	const struct fx_entry dir[] = {{"hermit.toml", AE_IFDIR, NULL, 0, NULL}};
	static const char in[] = "[input]\nkernel_args = []\napp_args = []\n";
	char t[512];

	(void)state;
	refused(none, 1, NULL, "no hermit.toml in the image");
	refused(dir, 1, NULL, "hermit.toml is a directory");
	toml_refused("version = 1\n",
		     "hermit.toml:1:11: version: expected a string, got an integer");
	toml_refused("kernel = 'k'\n", "hermit.toml: missing key \"version\"");
	toml_refused("version = '2'\n", "hermit.toml:1:11: unsupported version \"2\" (only \"1\")");
	toml_refused("version = '1'\nkernel = 'bin/kernel'\n",
		     "hermit.toml: missing key \"input\"");
	toml_refused("version = '1'\nkernel = 'bin/kernel'\n[input]\nkernel_args = []\n",
		     "hermit.toml:3:1: missing key \"app_args\" in [input]");
	snprintf(t, sizeof t, "version = '1'\nkernel = 'bin/kernel'\nextra = 1\n%s", in);
	toml_refused(t, "hermit.toml:3:1: unknown key \"extra\"");
	snprintf(t, sizeof t, "version = '1'\nkernel = 'bin/kernel'\n%sfoo = 2\n", in);
	toml_refused(t, "hermit.toml:6:1: unknown key \"foo\" in [input]");
	snprintf(t, sizeof t,
		 "version = '1'\nkernel = 'bin/kernel'\n%s[requirements]\nmemory = 64\n", in);
	toml_refused(t, "hermit.toml:7:10: memory: expected a string, got an integer");
	snprintf(t, sizeof t, "version = '1'\nkernel = 'bin/kernel'\n%s[requirements]\ncpus = -1\n",
		 in);
	toml_refused(t, "hermit.toml:7:8: cpus: expected an integer 0-4294967295");
	snprintf(t, sizeof t, "version = '1'\nkernel = 'bin/kernel'\n%senv_vars = ['=x']\n", in);
	toml_refused(t, "hermit.toml:6:13: env_vars: \"=x\" has an empty name");
	snprintf(t, sizeof t, "version = '1'\nkernel = 'bin/kernel'\n%sapp_args = [1]\n", in);
	toml_refused(t, "hermit.toml:6:12: Error while parsing key-value pair: cannot redefine "
			"existing array 'app_args'");
	toml_refused(
	    "version = '1'\nkernel = \n",
	    "hermit.toml:2:10: Error while parsing key-value pair: expected value, saw '\\n'");
}

static void test_kernel(void **state)
{
	unsigned char elf32[64], arm[64];
	static const char cfg[] = "version = '1'\nkernel = '/bin/kernel'\n[input]\nkernel_args = "
				  "[]\napp_args = []\n";
	const struct fx_entry missing[] = {{"hermit.toml", 0, cfg, sizeof cfg - 1, NULL}};
	const struct fx_entry dir[] = {{"hermit.toml", 0, cfg, sizeof cfg - 1, NULL},
				       {"bin/kernel/", AE_IFDIR, NULL, 0, NULL}};
	const struct fx_entry text[] = {{"hermit.toml", 0, cfg, sizeof cfg - 1, NULL},
					{"bin/kernel", 0, "#!/bin/sh\n", 10, NULL}};
	const struct fx_entry e32[] = {{"hermit.toml", 0, cfg, sizeof cfg - 1, NULL},
				       {"bin/kernel", 0, elf32, 64, NULL}};
	const struct fx_entry earm[] = {{"hermit.toml", 0, cfg, sizeof cfg - 1, NULL},
					{"bin/kernel", 0, arm, 64, NULL}};

	(void)state;
	memcpy(elf32, fx_elf, 64);
	elf32[4] = 1;
	memcpy(arm, fx_elf, 64);
	arm[18] = 183; /* EM_AARCH64 */
	refused(missing, 1, NULL, "kernel \"/bin/kernel\" named in hermit.toml: not in the image");
	refused(dir, 2, NULL, "kernel \"/bin/kernel\" named in hermit.toml: a directory");
	refused(text, 2, NULL, "kernel \"/bin/kernel\": not an ELF file");
	refused(e32, 2, NULL, "kernel \"/bin/kernel\": not a 64-bit ELF file");
	refused(earm, 2, NULL, "kernel \"/bin/kernel\": not a little-endian x86-64 ELF file");
	toml_refused("version = '1'\nkernel = '../bin/kernel'\n[input]\nkernel_args = []\napp_args "
		     "= []\n",
		     "hermit.toml: kernel \"../bin/kernel\": \"..\" in the name");
	toml_refused("version = '1'\nkernel = '/'\n[input]\nkernel_args = []\napp_args = []\n",
		     "hermit.toml: kernel \"/\": names the image root");
}

static unsigned char *blob_of(const struct hermit_image *img, size_t *len)
{
	unsigned char *b;

	*len = hi_blob_size(img);
	assert_true(*len > 0);
	b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(hi_blob_write(img, b, *len), *len);
	return b;
}

static void same_image(const struct hermit_image *a, const struct hermit_image *b)
{
	assert_int_equal(a->n_entries, b->n_entries);
	for (size_t i = 0; i < a->n_entries; i++) {
		assert_string_equal(a->entries[i].name, b->entries[i].name);
		assert_int_equal(a->entries[i].type, b->entries[i].type);
		assert_int_equal(a->entries[i].mode, b->entries[i].mode);
		assert_int_equal(a->entries[i].size, b->entries[i].size);
		if (a->entries[i].size > 0) {
			assert_memory_equal(a->entries[i].data, b->entries[i].data,
					    a->entries[i].size);
		}
	}
	assert_int_equal(a->cfg.kernel, b->cfg.kernel);
	assert_int_equal(a->config_entry, b->config_entry);
	assert_int_equal(a->cfg.n_env_vars, b->cfg.n_env_vars);
	assert_string_equal(a->cfg.env_vars[0], b->cfg.env_vars[0]);
	assert_int_equal(a->cfg.n_app_args, b->cfg.n_app_args);
	assert_string_equal(a->cfg.app_args[1], b->cfg.app_args[1]);
	assert_int_equal(a->cfg.memory, b->cfg.memory);
	assert_int_equal(a->cfg.cpus, b->cfg.cpus);
}

/* The blob b (len bytes) with one change must be refused with msg. */
static void blob_refused(const unsigned char *b, size_t len, size_t off, const void *val, size_t n,
			 const char *msg)
{
	unsigned char *c = malloc(len);
	struct hermit_image img;

	memcpy(c, b, len);
	memcpy(c + off, val, n);
	assert_int_equal(hi_blob_load(c, len, &img, err, sizeof err), -1);
	assert_string_equal(err, msg);
	assert_null(img.entries);
	free(c);
}

static void test_blob(void **state)
{
	const struct fx_entry e[] = {BASE, {"d/f", 0, "abc", 3, NULL}};
	struct hermit_image img, back;
	size_t len, len2, ent0 = sizeof(struct hi_blob_header);
	unsigned char *b, *b2;
	struct hi_blob_header h;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	assert_int_equal(parse_entries(e, 3, NULL, &img), 0);
	b = blob_of(&img, &len);
	assert_int_equal(hi_blob_load(b, len, &back, err, sizeof err), 0);
	assert_true(back.borrowed);
	same_image(&img, &back);
	b2 = blob_of(&back, &len2); /* canonical: the same bytes again */
	assert_int_equal(len, len2);
	assert_memory_equal(b, b2, len);
	memcpy(&h, b, sizeof h);
	hi_free(&back);

	assert_int_equal(hi_blob_load(b, len - 1, &back, err, sizeof err), -1);
	assert_string_equal(err, "image blob: inconsistent header");
	assert_int_equal(hi_blob_load(b, 10, &back, err, sizeof err), -1);
	assert_string_equal(err, "image blob: shorter than its header");
	blob_refused(b, len, 0, "X", 1, "image blob: wrong magic, version or header size");
	u32 = 7; /* unknown flag */
	blob_refused(b, len, offsetof(struct hi_blob_header, flags), &u32, 4,
		     "image blob: inconsistent header");
	u64 = h.strings_size + 1;
	blob_refused(b, len, offsetof(struct hi_blob_header, strings_size), &u64, 8,
		     "image blob: areas hold bytes no entry uses");
	u64 = h.data_off + 8;
	blob_refused(b, len, offsetof(struct hi_blob_header, data_off), &u64, 8,
		     "image blob: areas do not tile the blob");
	u32 = 3; /* a device type */
	blob_refused(b, len, ent0 + offsetof(struct hi_blob_entry, type), &u32, 4,
		     "image blob: entry 0: bad type, mode or size");
	u64 = 1; /* name offset of entry 0 moved */
	blob_refused(b, len, ent0 + offsetof(struct hi_blob_entry, name_off), &u64, 8,
		     "image blob: entry name: bad string reference");
	blob_refused(b, len, h.strings_off, "\x01", 1,
		     "image blob: entry 0: a control character in the name");
	blob_refused(b, len, h.strings_off + 1, "", 1,
		     "image blob: entry name: bad string reference");
	u64 = 1; /* data of entry 0 (a directory) */
	blob_refused(b, len, ent0 + offsetof(struct hi_blob_entry, size), &u64, 8,
		     "image blob: entry 0: bad type, mode or size");
	u32 = 0; /* kernel index -> "bin", a directory */
	blob_refused(b, len, offsetof(struct hi_blob_header, kernel_entry), &u32, 4,
		     "image blob: kernel or hermit.toml is not the right file");
	blob_refused(b, len, h.data_off,
		     "\x7f"
		     "ELF\x01",
		     5, /* bin/kernel comes first */
		     "image blob: kernel: not a 64-bit ELF file");
	blob_refused(b, len, h.strings_off, "c", 1,
		     "image blob: entry 1: not sorted (or a duplicate)");
	hi_free(&back);
	hi_free(&img);
	free(b);
	free(b2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),	cmocka_unit_test(test_detect_format),
	    cmocka_unit_test(test_names),	cmocka_unit_test(test_types),
	    cmocka_unit_test(test_caps),	cmocka_unit_test(test_streams),
	    cmocka_unit_test(test_hermit_toml), cmocka_unit_test(test_kernel),
	    cmocka_unit_test(test_blob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
