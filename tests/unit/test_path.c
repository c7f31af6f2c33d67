/* SPDX-License-Identifier: MIT */
/* test_path.c - lexical normalisation of guest paths and longest-prefix mount matching. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

/* want == NULL: the call must fail with err. */
static const struct {
	const char *in, *want;
	int err;
} norm_cases[] = {
    {"", "/", 0},
    {"/", "/", 0},
    {"//", "/", 0},
    {"///", "/", 0},
    {".", "/", 0},
    {"./", "/", 0},
    {"/.", "/", 0},
    {"/./././", "/", 0},
    {"a", "/a", 0},
    {"a/b", "/a/b", 0},
    {"./a", "/a", 0},
    {"/a", "/a", 0},
    {"/a/", "/a", 0},
    {"/a//", "/a", 0},
    {"//a//b//", "/a/b", 0},
    {"/a/./b", "/a/b", 0},
    {"/a/b/.", "/a/b", 0},
    {"/a/../b", "/b", 0},
    {"/a/b/..", "/a", 0},
    {"/a/b/../", "/a", 0},
    {"/a/b/../..", "/", 0},
    {"/a/b/../../c", "/c", 0},
    {"a/..", "/", 0},
    {"a/../", "/", 0},
    {"a/b/../../c/./d/..", "/c", 0},
    {"/a/./../b/./../c", "/c", 0},
    {"/..", NULL, -EACCES},
    {"/../", NULL, -EACCES},
    {"/../a", NULL, -EACCES},
    {"/a/../..", NULL, -EACCES},
    {"/a/../../b", NULL, -EACCES},
    {"..", NULL, -EACCES},
    {"../a", NULL, -EACCES},
    {"../x", NULL, -EACCES},
    {"./..", NULL, -EACCES},
    {"/a/b/../../..", NULL, -EACCES},
    {"a/../../a", NULL, -EACCES}, /* leaves '/' on the way, even if it would come back */
    {"/a/../b/../..", NULL, -EACCES},
    {"...", "/...", 0},
    {"/...", "/...", 0},
    {"/a/.../b", "/a/.../b", 0},
    {"/a/..b", "/a/..b", 0},
    {"/a/b..", "/a/b..", 0},
    {"/a/.b", "/a/.b", 0},
    {"/a/b.", "/a/b.", 0},
    {"/.../..", "/", 0},
    {"/.hidden/", "/.hidden", 0},
    {"/my file/with spaces ", "/my file/with spaces ", 0},
    {" / ", "/ / ", 0},
    {"/\xff\xfe", "/\xff\xfe", 0},
    {"\xff/../\xfe", "/\xfe", 0},
    {"/a\\b", "/a\\b", 0}, /* a backslash is an ordinary byte */
    {"/a\\..", "/a\\..", 0},
    {"/a\\b/..", "/", 0},
    {"/\xc3\xa9t\xc3\xa9", "/\xc3\xa9t\xc3\xa9", 0},
    {"/\t\n/x", "/\t\n/x", 0},
    {"/data/../data/./x//y/", "/data/x/y", 0},
};

static void normalize_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
		char out[POL_PATH_MAX];
		int rc;

		memset(out, 'x', sizeof out);
		rc = path_normalize(norm_cases[i].in, out, sizeof out);
		if (rc != norm_cases[i].err ||
		    (norm_cases[i].want != NULL && strcmp(out, norm_cases[i].want) != 0)) {
			print_error("case %zu \"%s\": rc %d out \"%s\"\n", i, norm_cases[i].in, rc,
				    rc == 0 ? out : "");
		}
		assert_int_equal(rc, norm_cases[i].err);
		if (norm_cases[i].want != NULL) {
			assert_string_equal(out, norm_cases[i].want);
		} else {
			assert_string_equal(out, ""); /* cleared on error */
		}
	}
	assert_true(sizeof norm_cases / sizeof norm_cases[0] >= 40);
}

/* Normalising a normalised path gives the same path. */
static void normalize_idempotent(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
		char again[POL_PATH_MAX];

		if (norm_cases[i].want != NULL) {
			assert_int_equal(path_normalize(norm_cases[i].want, again, sizeof again),
					 0);
			assert_string_equal(again, norm_cases[i].want);
		}
	}
}

/* Result length must be < cap: "/" + n bytes against cap 4096. */
static void normalize_lengths(void **state)
{
	static char in[3 * POL_PATH_MAX], out[POL_PATH_MAX], want[POL_PATH_MAX];

	(void)state;
	/* 4094-, 4095- and 4096-byte absolute paths */
	for (size_t len = 4094; len <= 4096; len++) {
		memset(in, 'a', len);
		in[0] = '/';
		in[len] = '\0';
		assert_int_equal(path_normalize(in, out, POL_PATH_MAX),
				 len < 4096 ? 0 : -ENAMETOOLONG);
		if (len < 4096) {
			assert_string_equal(out, in);
		} else {
			assert_string_equal(out, "");
		}
	}
	/* a relative path gains a '/': 4095 bytes become 4096 */
	memset(in, 'a', 4095);
	in[4095] = '\0';
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), -ENAMETOOLONG);
	in[4094] = '\0';
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), 0);
	assert_int_equal(strlen(out), 4095);
	/* trailing slashes and dots do not count */
	memset(in, 'a', 4095);
	in[0] = '/';
	strcpy(in + 4095, "///./.");
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), 0);
	assert_int_equal(strlen(out), 4095);
	/* only the result counts: a long component removed by ".." is fine */
	memset(in, 'b', 2 * POL_PATH_MAX);
	in[0] = '/';
	strcpy(in + 2 * POL_PATH_MAX, "/../c");
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), 0);
	assert_string_equal(out, "/c");
	/* escaping is reported before length */
	memset(in, 'b', 2 * POL_PATH_MAX);
	strcpy(in + 2 * POL_PATH_MAX, "/../..");
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), -EACCES);
	/* many components */
	for (size_t i = 0; i < 2047; i++) {
		memcpy(in + 2 * i, "/x", 2);
	}
	in[2 * 2047] = '\0';
	memcpy(want, in, 2 * 2047 + 1);
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), 0);
	assert_string_equal(out, want);
	strcpy(in + 2 * 2047, "/y"); /* 4096 bytes */
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), -ENAMETOOLONG);
	/* 2048 components then 2048 ".." leave exactly "/" */
	for (size_t i = 0; i < 2048; i++) {
		memcpy(in + 2 * i, "/x", 2);
	}
	for (size_t i = 0; i < 2048; i++) {
		memcpy(in + 4096 + 3 * i, "/..", 3);
	}
	in[4096 + 3 * 2048] = '\0';
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), 0);
	assert_string_equal(out, "/");
	strcpy(in + 4096 + 3 * 2048, "/..");
	assert_int_equal(path_normalize(in, out, POL_PATH_MAX), -EACCES);
}

static void normalize_small_caps(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(path_normalize("", out, 0), -ENAMETOOLONG);
	assert_int_equal(path_normalize("", out, 1), -ENAMETOOLONG);
	assert_string_equal(out, "");
	assert_int_equal(path_normalize("", out, 2), 0);
	assert_string_equal(out, "/");
	assert_int_equal(path_normalize("/abc", out, 4), -ENAMETOOLONG);
	memset(out, 'x', sizeof out);
	assert_int_equal(path_normalize("/abc", out, 5), 0);
	assert_string_equal(out, "/abc");
	assert_int_equal(out[5], 'x'); /* nothing written past the NUL */
	assert_int_equal(path_normalize("/a/b/c/d/..", out, 7), 0);
	assert_string_equal(out, "/a/b/c");
	assert_int_equal(path_normalize("/a", NULL, 0), -ENAMETOOLONG);
	assert_int_equal(path_normalize(NULL, out, sizeof out), 0); /* like "" */
	assert_string_equal(out, "/");
}

/* ---- matching ---- */

static struct pol_mount mk(const char *guest)
{
	return (struct pol_mount){.guest = (char *)(uintptr_t)guest,
				  .host = (char *)(uintptr_t) "/h"};
}

static void match_prefix(void **state)
{
	struct pol_mount m[] = {mk("/data"), mk("/data/sub"), mk("/ro"), mk("/a/b/c")};
	struct policy p = {.mounts = m, .nmounts = 4};
	static const struct {
		const char *path;
		int idx;
		const char *rest;
	} cases[] = {
	    {"/data", 0, ""},	     {"/data/x", 0, "x"},
	    {"/data/x/y", 0, "x/y"}, {"/data/sub", 1, ""}, /* the longest mount wins */
	    {"/data/sub/f", 1, "f"}, {"/data/sub2", 0, "sub2"},
	    {"/data/su", 0, "su"},   {"/database", -1, NULL}, /* not on a component boundary */
	    {"/dat", -1, NULL},	     {"/datax/y", -1, NULL},
	    {"/ro", 2, ""},	     {"/ro/..x", 2, "..x"},
	    {"/rox", -1, NULL},	     {"/r", -1, NULL},
	    {"/", -1, NULL},	     {"", -1, NULL},
	    {"data", -1, NULL}, /* not normalised: never matches */
	    {"/a/b", -1, NULL},	     {"/a/b/c", 3, ""},
	    {"/a/b/c/d", 3, "d"},    {"/a/b/cd", -1, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *rest = "unset";
		int idx = policy_match(&p, cases[i].path, &rest);

		if (idx != cases[i].idx) {
			print_error("case %zu \"%s\": %d\n", i, cases[i].path, idx);
		}
		assert_int_equal(idx, cases[i].idx);
		if (cases[i].rest == NULL) {
			assert_null(rest);
		} else {
			assert_string_equal(rest, cases[i].rest);
			/* rest points into the argument */
			assert_ptr_equal(rest, cases[i].path + strlen(cases[i].path) -
						   strlen(cases[i].rest));
		}
	}
}

static void match_root_mount(void **state)
{
	struct pol_mount m[] = {mk("/data"), mk("/"), mk("/data/sub")};
	struct policy p = {.mounts = m, .nmounts = 3};
	const char *rest;

	(void)state;
	assert_int_equal(policy_match(&p, "/", &rest), 1);
	assert_string_equal(rest, "");
	assert_int_equal(policy_match(&p, "/x", &rest), 1);
	assert_string_equal(rest, "x");
	assert_int_equal(policy_match(&p, "/database/x", &rest), 1);
	assert_string_equal(rest, "database/x");
	assert_int_equal(policy_match(&p, "/data", &rest), 0);
	assert_string_equal(rest, "");
	assert_int_equal(policy_match(&p, "/data/s", &rest), 0);
	assert_string_equal(rest, "s");
	assert_int_equal(policy_match(&p, "/data/sub/deep/er", &rest), 2);
	assert_string_equal(rest, "deep/er");
	assert_int_equal(policy_match(&p, "relative", &rest), -1);
	assert_null(rest);
}

static void match_edge_cases(void **state)
{
	struct pol_mount m[] = {mk("/x"), mk("/x"), {.guest = NULL}, mk("/\xff")};
	struct policy p = {.mounts = m, .nmounts = 4};
	struct policy empty = {0};
	const char *rest;

	(void)state;
	assert_int_equal(policy_match(&p, "/x/y", &rest), 0); /* first of equals */
	assert_int_equal(policy_match(&p, "/x/y", NULL), 0); /* rest is optional */
	assert_int_equal(policy_match(&p, "/\xff/\xfe", &rest), 3);
	assert_string_equal(rest, "\xfe");
	assert_int_equal(policy_match(&empty, "/x", &rest), -1);
	assert_null(rest);
	assert_int_equal(policy_match(NULL, "/x", &rest), -1);
	assert_int_equal(policy_match(&p, NULL, &rest), -1);
}

/* normalise then match, as the resolver does */
static void normalize_then_match(void **state)
{
	struct pol_mount m[] = {mk("/data"), mk("/root")};
	struct policy p = {.mounts = m, .nmounts = 2};
	char out[POL_PATH_MAX];
	const char *rest;

	(void)state;
	assert_int_equal(path_normalize("data//x/./y/../z", out, sizeof out), 0);
	assert_int_equal(policy_match(&p, out, &rest), 0);
	assert_string_equal(rest, "x/z");
	assert_int_equal(path_normalize("/data/../root/f", out, sizeof out), 0);
	assert_int_equal(policy_match(&p, out, &rest), 1);
	assert_string_equal(rest, "f");
	assert_int_equal(path_normalize("/data/../../etc/passwd", out, sizeof out), -EACCES);
	assert_int_equal(path_normalize("/data/../etc/passwd", out, sizeof out), 0);
	assert_int_equal(policy_match(&p, out, &rest), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(normalize_table),	 cmocka_unit_test(normalize_idempotent),
	    cmocka_unit_test(normalize_lengths), cmocka_unit_test(normalize_small_caps),
	    cmocka_unit_test(match_prefix),	 cmocka_unit_test(match_root_mount),
	    cmocka_unit_test(match_edge_cases),	 cmocka_unit_test(normalize_then_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
