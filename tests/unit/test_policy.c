/* SPDX-License-Identifier: MIT */
/* test_policy.c - policy file parser, --mount specs, validation and printing.
 *
 * Runs in tests/unit (meson's workdir) and moves to tests/policy, where the golden cases
 * live: every pass-NAME.json must load and validate, and print exactly pass-NAME.ok; every
 * fail-NAME.json must fail (in policy_load_file or policy_validate) with exactly the message
 * in fail-NAME.err.  The absolute path of the repository is replaced by "<repo>" before
 * comparing.  POLICY_GOLDEN_UPDATE=1 rewrites the expected files from the actual output
 * (review the diff before committing it).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "launcher.h" /* policy_load_file: the launcher reads policy files */
#include "policy.h"

static const char *test_cwd(void)
{
	static char cwd[PATH_MAX];

	return getcwd(cwd, sizeof cwd);
}

#define MIN_FAIL_CASES 25
#define MIN_PASS_CASES 6
#define SUFFIX	       "/tests/policy"

static char repo[PATH_MAX]; /* absolute repository root */
static char policydir[PATH_MAX]; /* repo + "/tests/policy" */

/* ---- helpers ---- */

/* Replaces every occurrence of repo in s with "<repo>"; returns a malloc'd string. */
static char *redact(const char *s)
{
	size_t rl = strlen(repo), cap = strlen(s) + 1, o = 0;
	char *r = malloc(cap);

	assert_non_null(r);
	while (*s != '\0') {
		if (rl > 0 && strncmp(s, repo, rl) == 0) {
			memcpy(r + o, "<repo>", 6); /* "<repo>" is never longer than repo */
			o += 6;
			s += rl;
		} else {
			r[o++] = *s++;
		}
	}
	r[o] = '\0';
	return r;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0;

	if (f == NULL) {
		return NULL;
	}
	buf = malloc(1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void write_all(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(s, f);
	assert_int_equal(fclose(f), 0);
}

/* policy_print into a malloc'd string. */
static char *print_str(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	policy_print(p, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Loads file (may be NULL), adds the --mount specs, validates.  Returns the result and the
 * first error (redacted, malloc'd) or the printed policy. */
static int build(const char *file, const char *const *specs, char **out)
{
	struct policy p;
	char err[600] = "";
	int rc = 0;

	policy_init(&p);
	if (file != NULL) {
		rc = policy_load_file(&p, file, err, sizeof err);
	}
	for (int i = 0; rc == 0 && specs != NULL && specs[i] != NULL; i++) {
		rc = policy_add_cli_mount(&p, specs[i], i + 1, test_cwd(), err, sizeof err);
	}
	if (rc == 0) {
		rc = policy_validate(&p, stat, err, sizeof err);
	}
	if (rc == 0) {
		char *s = print_str(&p);

		*out = redact(s);
		free(s);
	} else {
		*out = redact(err);
	}
	policy_free(&p);
	return rc;
}

#define assert_build(file, specs, want_rc, want)                                                   \
	do {                                                                                       \
		char *out_;                                                                        \
		int rc_ = build(file, specs, &out_);                                               \
		if (strcmp(out_, want) != 0) {                                                     \
			print_error("got:\n%s\nwant:\n%s\n", out_, want);                          \
		}                                                                                  \
		assert_string_equal(out_, want);                                                   \
		assert_int_equal(rc_, want_rc);                                                    \
		free(out_);                                                                        \
	} while (0)

/* ---- golden files ---- */

static void golden_case(void **state)
{
	const char *json = *state;
	bool pass = strncmp(json, "pass-", 5) == 0;
	char expfile[NAME_MAX + 8], *out, *want;
	size_t n = strlen(json) - 5; /* without ".json" */
	int rc;

	snprintf(expfile, sizeof expfile, "%.*s%s", (int)n, json, pass ? ".ok" : ".err");
	rc = build(json, NULL, &out);
	if (!pass) { /* error messages are one line; the file ends with a newline */
		char *nl = realloc(out, strlen(out) + 2);

		assert_non_null(nl);
		out = strcat(nl, "\n");
	}
	if (getenv("POLICY_GOLDEN_UPDATE") != NULL) {
		write_all(expfile, out);
	}
	want = read_all(expfile);
	if (want == NULL) {
		print_error("%s: missing %s; output was:\n%s", json, expfile, out);
		fail();
	}
	if (strcmp(out, want) != 0) {
		print_error("%s: got:\n%swant:\n%s", json, out, want);
	}
	assert_string_equal(out, want);
	assert_int_equal(rc, pass ? 0 : -1);
	free(out);
	free(want);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted list of pass-*.json and fail-*.json in the current directory. */
static char **golden_list(size_t *n, size_t *npass, size_t *nfail)
{
	DIR *d = opendir(".");
	struct dirent *e;
	char **names = NULL;

	*n = *npass = *nfail = 0;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		bool pass = strncmp(e->d_name, "pass-", 5) == 0;
		bool failc = strncmp(e->d_name, "fail-", 5) == 0;

		if ((!pass && !failc) || len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) {
			continue;
		}
		names = realloc(names, (*n + 1) * sizeof *names);
		assert_non_null(names);
		names[(*n)++] = strdup(e->d_name);
		*npass += pass;
		*nfail += failc;
	}
	closedir(d);
	qsort(names, *n, sizeof *names, cmp_names);
	return names;
}

static void golden_counts(void **state)
{
	size_t *counts = *state;

	assert_true(counts[0] >= MIN_PASS_CASES);
	assert_true(counts[1] >= MIN_FAIL_CASES);
}

/* ---- tests in code ---- */

static void defaults(void **state)
{
	struct policy p;

	(void)state;
	memset(&p, 0xa5, sizeof p);
	policy_init(&p);
	assert_null(p.mounts);
	assert_int_equal(p.nmounts, 0);
	assert_int_equal(p.max_open_files, POL_DEFAULT_OPEN_FILES);
	assert_int_equal(p.max_write_bytes, 0);
	assert_false(p.scratch);
	assert_null(p.source);
	assert_int_equal(policy_validate(&p, stat, NULL, 0), 0);
	policy_free(&p);
	policy_free(&p); /* idempotent */
	policy_free(NULL);
	policy_init(NULL);
	assert_build(NULL, NULL, 0,
		     "limit open_files=128\nlimit write_bytes=unlimited\nscratch=off\n");
}

static void load_sets_source_and_fields(void **state)
{
	struct policy p;
	char err[200];

	(void)state;
	policy_init(&p);
	assert_int_equal(policy_load_file(&p, "pass-limits.json", err, sizeof err), 0);
	assert_string_equal(p.source, "pass-limits.json");
	assert_int_equal(p.max_open_files, 1);
	assert_true(p.max_write_bytes == 1ull << 30);
	assert_true(p.scratch);
	assert_int_equal(p.nmounts, 0);
	policy_free(&p);

	policy_init(&p);
	assert_int_equal(policy_load_file(&p, "pass-ro-options.json", err, sizeof err), 0);
	assert_int_equal(p.nmounts, 1);
	assert_string_equal(p.mounts[0].guest, "/ro");
	assert_false(p.mounts[0].writable);
	assert_false(p.mounts[0].create || p.mounts[0].remove || p.mounts[0].mkdir);
	assert_true(p.mounts[0].hardlinks);
	assert_int_equal(p.mounts[0].symlinks, POL_SYMLINKS_WITHIN);
	assert_string_equal(p.mounts[0].origin, "pass-ro-options.json:4:5");
	assert_true(p.mounts[0].host[0] == '/');
	policy_free(&p);
}

/* A failed load leaves the policy as it was (mounts, limits, scratch, source). */
static void failed_load_changes_nothing(void **state)
{
	struct policy p;
	char err[200];

	(void)state;
	policy_init(&p);
	assert_int_equal(policy_add_cli_mount(&p, "dirs/data:/cli", 1, test_cwd(), err, sizeof err),
			 0);
	assert_int_equal(policy_load_file(&p, "fail-access-rx.json", err, sizeof err), -1);
	assert_int_equal(policy_load_file(&p, "fail-write-bytes-unit.json", err, sizeof err), -1);
	assert_int_equal(policy_load_file(&p, "fail-scratch-yes.json", err, sizeof err), -1);
	assert_int_equal(p.nmounts, 1);
	assert_int_equal(p.max_open_files, POL_DEFAULT_OPEN_FILES);
	assert_int_equal(p.max_write_bytes, 0);
	assert_false(p.scratch);
	assert_null(p.source);
	policy_free(&p);
}

/* Relative host paths are relative to the policy file's directory, not to the cwd. */
static void host_relative_to_file(void **state)
{
	char *a, *b, *c;

	(void)state;
	assert_int_equal(build("pass-basic.json", NULL, &a), 0);
	assert_int_equal(chdir("../unit"), 0);
	assert_int_equal(build("../policy/pass-basic.json", NULL, &b), 0);
	assert_int_equal(build("./../policy/../policy/pass-basic.json", NULL, &c), 0);
	assert_int_equal(chdir(policydir), 0);
	assert_string_equal(strchr(a, '\n'), strchr(b, '\n')); /* all but the origin */
	assert_string_equal(strchr(a, '\n'), strchr(c, '\n'));
	assert_string_equal(a, "mount /data -> <repo>/tests/policy/dirs/data (rw, create, delete, "
			       "mkdir, symlinks=deny, hardlinks=deny) [from pass-basic.json:4:5]\n"
			       "limit open_files=128\nlimit write_bytes=unlimited\nscratch=off\n");
	free(a);
	free(b);
	free(c);
	{
		char abs[PATH_MAX + 64], *d;
		const char *want =
		    "mount /data -> <repo>/tests/policy/dirs/data (rw, create, delete, "
		    "mkdir, symlinks=deny, hardlinks=deny) [from ";

		snprintf(abs, sizeof abs, "%s/pass-basic.json", policydir);
		assert_int_equal(build(abs, NULL, &d), 0);
		assert_memory_equal(d, want, strlen(want));
		assert_non_null(strstr(d, "/pass-basic.json:4:5]\n"));
		free(d);
	}
}

static void load_file_errors(void **state)
{
	(void)state;
	assert_build("no-such-file.json", NULL, -1,
		     "no-such-file.json: cannot open: No such file or directory");
	assert_build("dirs", NULL, -1, "dirs: not a regular file");
	assert_build("", NULL, -1, ": cannot open: No such file or directory");
}

/* Errors never overflow err, and a NULL or empty err buffer is accepted. */
static void small_error_buffers(void **state)
{
	struct policy p;
	char err[8];

	(void)state;
	policy_init(&p);
	memset(err, 'x', sizeof err);
	assert_int_equal(policy_load_file(&p, "fail-access-rx.json", err, 5), -1);
	assert_string_equal(err, "fail");
	assert_int_equal(err[5], 'x');
	assert_int_equal(policy_load_file(&p, "fail-access-rx.json", NULL, 0), -1);
	assert_int_equal(policy_load_file(&p, "fail-access-rx.json", err, 0), -1);
	assert_int_equal(policy_add_cli_mount(&p, "x", 1, test_cwd(), NULL, 0), -1);
	assert_int_equal(policy_add_cli_mount(&p, "dirs/nope:/f", 1, test_cwd(), NULL, 0), 0);
	assert_int_equal(policy_validate(&p, stat, NULL, 0), -1);
	assert_int_equal(policy_validate(&p, stat, err, 1), -1);
	assert_string_equal(err, "");
	assert_int_equal(policy_load_file(NULL, "pass-basic.json", err, sizeof err), -1);
	assert_int_equal(policy_load_file(&p, NULL, err, sizeof err), -1);
	assert_int_equal(policy_add_cli_mount(NULL, "a:/b", 1, test_cwd(), err, sizeof err), -1);
	assert_int_equal(policy_add_cli_mount(&p, NULL, 1, test_cwd(), err, sizeof err), -1);
	assert_int_equal(policy_validate(NULL, stat, err, sizeof err), -1);
	policy_free(&p);
}

static void cli_good(void **state)
{
	static const char *const specs[] = {"dirs/data:/data",
					    "dirs/ro:/ro:ro",
					    "./dirs/sub/:/data/sub/:rw",
					    "/:/:ro",
					    "dirs/data:/again/./x/..//",
					    "dirs/../dirs/data:/weird name \xff\xfe:ro",
					    NULL};
	struct policy p;
	char err[200];

	(void)state;
	assert_build(
	    NULL, specs, 0,
	    "mount / -> / (ro, symlinks=deny, hardlinks=deny) [from --mount #4]\n"
	    "mount /again -> <repo>/tests/policy/dirs/data (rw, create, delete, mkdir, "
	    "symlinks=deny, hardlinks=deny) [from --mount #5]\n"
	    "mount /data -> <repo>/tests/policy/dirs/data (rw, create, delete, mkdir, "
	    "symlinks=deny, hardlinks=deny) [from --mount #1]\n"
	    "mount /data/sub -> <repo>/tests/policy/dirs/sub (rw, create, delete, mkdir, "
	    "symlinks=deny, hardlinks=deny) [from --mount #3]\n"
	    "mount /ro -> <repo>/tests/policy/dirs/ro (ro, symlinks=deny, hardlinks=deny) [from "
	    "--mount #2]\n"
	    "mount /weird name \xff\xfe -> <repo>/tests/policy/dirs/data (ro, symlinks=deny, "
	    "hardlinks=deny) [from --mount #6]\n"
	    "limit open_files=128\nlimit write_bytes=unlimited\nscratch=off\n");

	policy_init(&p);
	assert_int_equal(policy_add_cli_mount(&p, "dirs/ro:/x:ro", 7, test_cwd(), err, sizeof err),
			 0);
	assert_int_equal(p.nmounts, 1);
	assert_false(p.mounts[0].writable || p.mounts[0].create || p.mounts[0].remove ||
		     p.mounts[0].mkdir || p.mounts[0].hardlinks);
	assert_int_equal(p.mounts[0].symlinks, POL_SYMLINKS_DENY);
	assert_string_equal(p.mounts[0].origin, "--mount #7");
	assert_int_equal(policy_add_cli_mount(&p, "dirs/ro:/y", 8, test_cwd(), err, sizeof err), 0);
	assert_true(p.mounts[1].writable && p.mounts[1].create && p.mounts[1].remove &&
		    p.mounts[1].mkdir && !p.mounts[1].hardlinks);
	/* uhyve's relative GUEST ("file.txt:guest_file.txt") is relative to / */
	assert_int_equal(
	    policy_add_cli_mount(&p, "dirs/ro:rel/./d", 9, test_cwd(), err, sizeof err), 0);
	assert_string_equal(p.mounts[2].guest, "/rel/d");
	/* a regular file: a single-file mapping, without create, delete or mkdir */
	assert_int_equal(
	    policy_add_cli_mount(&p, "dirs/file.txt:f.txt", 10, test_cwd(), err, sizeof err), 0);
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), 0);
	assert_true(p.mounts[3].file && p.mounts[3].writable);
	assert_false(p.mounts[3].create || p.mounts[3].remove || p.mounts[3].mkdir);
	assert_false(p.mounts[0].file || p.mounts[1].file || p.mounts[2].file);
	policy_free(&p);
}

static void cli_bad(void **state)
{
	static const struct {
		const char *spec, *err;
	} cases[] = {
	    {"dirs/data", "--mount #1: \"dirs/data\": expected HOST:GUEST[:ro|:rw]"},
	    {"", "--mount #1: \"\": expected HOST:GUEST[:ro|:rw]"},
	    {":/data", "--mount #1: \":/data\": empty HOST (expected HOST:GUEST[:ro|:rw])"},
	    {":", "--mount #1: \":\": empty HOST (expected HOST:GUEST[:ro|:rw])"},
	    {"dirs/data:",
	     "--mount #1: \"dirs/data:\": empty GUEST (expected HOST:GUEST[:ro|:rw])"},
	    {"dirs/data::ro",
	     "--mount #1: \"dirs/data::ro\": empty GUEST (expected HOST:GUEST[:ro|:rw])"},
	    {"dirs/data:/data:ro:x",
	     "--mount #1: \"dirs/data:/data:ro:x\": too many ':' (expected HOST:GUEST[:ro|:rw])"},
	    {"c:/x:/data:ro",
	     "--mount #1: \"c:/x:/data:ro\": too many ':' (expected HOST:GUEST[:ro|:rw])"},
	    {"dirs/data:/data:rx",
	     "--mount #1: \"dirs/data:/data:rx\": mode must be \"ro\" or \"rw\", got \"rx\""},
	    {"dirs/data:/data:RO",
	     "--mount #1: \"dirs/data:/data:RO\": mode must be \"ro\" or \"rw\", got \"RO\""},
	    {"dirs/data:/data:",
	     "--mount #1: \"dirs/data:/data:\": mode must be \"ro\" or \"rw\", got \"\""},
	    {"dirs/data:/..", "--mount #1: \"dirs/data:/..\": GUEST leaves /"},
	    {"dirs/data:/a/../..:ro", "--mount #1: \"dirs/data:/a/../..:ro\": GUEST leaves /"},
	    {"dirs/nope:/data",
	     "mount /data (--mount #1): host path <repo>/tests/policy/dirs/nope: No such file "
	     "or directory"},
	    {"dirs/file.txt:/",
	     "mount / (--mount #1): the file <repo>/tests/policy/dirs/file.txt cannot be mounted "
	     "at /"},
	    {"/dev/null:/null",
	     "mount /null (--mount #1): host path /dev/null is neither a directory nor a regular "
	     "file"},
	    {"dirs/data\n:/da\"ta", "mount /da\"ta (--mount #1): host path "
				    "<repo>/tests/policy/dirs/data\\x0a: No such "
				    "file or directory"},
	    {"dirs/data:/x\x1b[2J:q",
	     "--mount #1: \"dirs/data:/x\\x1b[2J:q\": mode must be \"ro\" or \"rw\", got \"q\""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *specs[] = {cases[i].spec, NULL};

		assert_build(NULL, specs, -1, cases[i].err);
	}
}

static void cli_long_paths(void **state)
{
	char spec[POL_PATH_MAX + 64], want[POL_PATH_MAX + 200];
	const char *specs[] = {spec, NULL};

	(void)state;
	/* GUEST of 4095 bytes fits, 4096 does not. */
	snprintf(spec, sizeof spec, "dirs/data:/%04094d", 0);
	snprintf(want, sizeof want, "mount /%04094d -> <repo>", 0);
	{
		char *out;

		assert_int_equal(build(NULL, specs, &out), 0);
		assert_memory_equal(out, want, strlen(want));
		free(out);
	}
	snprintf(spec, sizeof spec, "dirs/data:/%04095d", 0);
	snprintf(want, sizeof want, "--mount #1: \"%.200s...\": GUEST is too long", spec);
	assert_build(NULL, specs, -1, want);
	/* HOST longer than PATH_MAX */
	memset(spec, 'h', POL_PATH_MAX);
	strcpy(spec + POL_PATH_MAX, ":/x");
	snprintf(want, sizeof want, "--mount #1: \"%.200s...\": HOST: File name too long", spec);
	assert_build(NULL, specs, -1, want);
}

static void cli_too_many(void **state)
{
	struct policy p;
	char err[200], spec[64];

	(void)state;
	policy_init(&p);
	for (int i = 1; i <= POL_MAX_MOUNTS; i++) {
		snprintf(spec, sizeof spec, "dirs/data:/m%d:ro", i);
		assert_int_equal(policy_add_cli_mount(&p, spec, i, test_cwd(), err, sizeof err), 0);
	}
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), 0);
	assert_int_equal(
	    policy_add_cli_mount(&p, "dirs/data:/extra", 65, test_cwd(), err, sizeof err), -1);
	assert_string_equal(err, "--mount #65: \"dirs/data:/extra\": too many mounts (at most 64)");
	assert_int_equal(p.nmounts, POL_MAX_MOUNTS);
	/* A file cannot push the total over the limit either. */
	assert_int_equal(policy_load_file(&p, "pass-basic.json", err, sizeof err), -1);
	assert_string_equal(err, "pass-basic.json:3:13: mounts: too many mounts (65, at most 64)");
	policy_free(&p);
}

/* File mounts come first, then --mount; a guest path in both is an error naming both. */
static void file_and_cli(void **state)
{
	static const char *const ok[] = {"dirs/ro:/extra:ro", NULL};
	static const char *const dup[] = {"dirs/ro:/extra:ro", "dirs/ro:/data/.:ro", NULL};
	static const char *const dup2[] = {"dirs/ro:/x", "dirs/data:/x/", NULL};
	struct policy p;
	char err[200];

	(void)state;
	assert_build("pass-basic.json", ok, 0,
		     "mount /data -> <repo>/tests/policy/dirs/data (rw, create, delete, mkdir, "
		     "symlinks=deny, hardlinks=deny) [from pass-basic.json:4:5]\n"
		     "mount /extra -> <repo>/tests/policy/dirs/ro (ro, symlinks=deny, "
		     "hardlinks=deny) [from --mount #1]\n"
		     "limit open_files=128\nlimit write_bytes=unlimited\nscratch=off\n");
	assert_build("pass-basic.json", dup, -1,
		     "mount /data (--mount #2): guest path already mounted by pass-basic.json:4:5");
	assert_build(NULL, dup2, -1,
		     "mount /x (--mount #2): guest path already mounted by --mount #1");

	policy_init(&p);
	assert_int_equal(policy_load_file(&p, "pass-basic.json", err, sizeof err), 0);
	assert_int_equal(policy_add_cli_mount(&p, "dirs/ro:/ro:ro", 1, test_cwd(), err, sizeof err),
			 0);
	assert_int_equal(policy_load_file(&p, "pass-limits.json", err, sizeof err), 0);
	assert_int_equal(p.nmounts, 2);
	assert_string_equal(p.mounts[0].origin, "pass-basic.json:4:5");
	assert_string_equal(p.mounts[1].origin, "--mount #1");
	assert_string_equal(p.source, "pass-limits.json"); /* the last file loaded */
	policy_free(&p);
}

/* policy_validate on structures built by hand (not through the parsers). */
static void validate_struct(void **state)
{
	char host[PATH_MAX + 32], guest[16] = "/g", err[300], want[PATH_MAX + 200];
	struct pol_mount m = {.host = host, .guest = guest, .origin = "test"};
	struct policy p = {.mounts = &m, .nmounts = 1, .max_open_files = 1};

	(void)state;
	snprintf(host, sizeof host, "%s/dirs/ro", policydir);
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), 0);
	m.create = true;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "mount /g (test): create needs rw");
	m.create = false;
	m.remove = true;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "mount /g (test): delete needs rw");
	m.remove = false;
	m.mkdir = true;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "mount /g (test): mkdir needs rw");
	m.writable = true;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), 0);
	m.symlinks = (enum pol_symlinks)7;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "mount /g (test): invalid symlinks setting");
	m.symlinks = POL_SYMLINKS_WITHIN;
	strcpy(guest, "/g/");
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "mount /g/ (test): guest path is not normalised");
	strcpy(guest, "g");
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	strcpy(guest, "/g");
	strcpy(host, "dirs/ro");
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "mount /g (test): host path dirs/ro is not absolute");
	snprintf(host, sizeof host, "%s/dirs/ro", policydir);
	p.max_open_files = 0;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "limit open_files=0 is out of range 1..65536");
	p.max_open_files = POL_MAX_OPEN_FILES + 1;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	p.max_open_files = POL_MAX_OPEN_FILES;
	p.nmounts = POL_MAX_MOUNTS + 1;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "too many mounts (65, at most 64)");
	p.nmounts = 1;
	m.host = NULL;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	assert_string_equal(err, "mount (test): no guest or host path");
	m.host = host;
	/* An origin that fills the whole array (no NUL) is still printed safely. */
	memset(m.origin, 'o', sizeof m.origin);
	m.create = true;
	m.writable = false;
	assert_int_equal(policy_validate(&p, stat, err, sizeof err), -1);
	snprintf(want, sizeof want, "mount /g (%.*s): create needs rw", (int)sizeof m.origin,
		 m.origin);
	assert_string_equal(err, want);
}

static void print_format(void **state)
{
	char host[] = "/h\\x\x01", guest[] = "/g\ny", a[] = "/a", origin[] = "o";
	struct pol_mount m[3] = {
	    {.host = host, .guest = guest, .writable = true, .mkdir = true},
	    {.host = host, .guest = guest, .hardlinks = true, .symlinks = POL_SYMLINKS_WITHIN},
	    {.host = host, .guest = a, .writable = true, .create = true},
	};
	struct policy p = {.mounts = m, .nmounts = 3, .max_open_files = 7, .scratch = true};
	static const struct {
		uint64_t v;
		const char *s;
	} wb[] = {
	    {0, "unlimited"},
	    {1, "1"},
	    {1023, "1023"},
	    {1024, "1024 (1K)"},
	    {1536, "1536"},
	    {3ull << 20, "3145728 (3M)"},
	    {1ull << 30, "1073741824 (1G)"},
	    {5ull << 40, "5497558138880 (5T)"},
	    {1ull << 50, "1125899906842624 (1024T)"},
	    {UINT64_MAX, "18446744073709551615"},
	};
	char *s;

	(void)state;
	memcpy(m[0].origin, origin, sizeof origin);
	memcpy(m[1].origin, "p", 2);
	memcpy(m[2].origin, "q", 2);
	s = print_str(&p);
	assert_string_equal(s,
			    "mount /a -> /h\\\\x\\x01 (rw, create, symlinks=deny, hardlinks=deny) "
			    "[from q]\n"
			    "mount /g\\x0ay -> /h\\\\x\\x01 (rw, mkdir, symlinks=deny, "
			    "hardlinks=deny) [from o]\n"
			    "mount /g\\x0ay -> /h\\\\x\\x01 (ro, symlinks=within, "
			    "hardlinks=allow) [from p]\n"
			    "limit open_files=7\nlimit write_bytes=unlimited\nscratch=on\n");
	free(s);
	p.nmounts = 0;
	for (size_t i = 0; i < sizeof wb / sizeof wb[0]; i++) {
		char want[200];

		p.max_write_bytes = wb[i].v;
		snprintf(want, sizeof want,
			 "limit open_files=7\nlimit write_bytes=%s\nscratch=on\n", wb[i].s);
		s = print_str(&p);
		assert_string_equal(s, want);
		free(s);
	}
	policy_print(NULL, stdout);
	policy_print(&p, NULL);
}

/* Long file names are cut at the front in origins, keeping the line and column. */
static void long_file_name_origin(void **state)
{
	char path[400];
	struct policy p;
	char err[1200];
	size_t len;

	(void)state;
	len = (size_t)snprintf(path, sizeof path, "%s", "./");
	while (len + 2 < 300) {
		len += (size_t)snprintf(path + len, sizeof path - len, "./");
	}
	snprintf(path + len, sizeof path - len, "pass-basic.json");
	policy_init(&p);
	assert_int_equal(policy_load_file(&p, path, err, sizeof err), 0);
	assert_int_equal(strlen(p.mounts[0].origin), sizeof p.mounts[0].origin - 1);
	assert_memory_equal(p.mounts[0].origin, "...", 3);
	assert_string_equal(p.mounts[0].origin + strlen(p.mounts[0].origin) - 20,
			    "/pass-basic.json:4:5");
	policy_free(&p);
}

/* Inputs that stress the parser: deep nesting, big files, odd bytes.  Must not crash. */
static void hostile_files(void **state)
{
	static const char *const texts[] = {
	    "{\"version\":1,\"mounts\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}",
	    "{\"version\":1,\"limits\":{\"open_files\":{\"a\":[1,2,{\"b\":\"}\"}]}}}",
	    "{\"version\":1,\"mounts\":[{\"host\":\"\\\"}\\\\\",\"guest\":\"/\\\"x\",\"access\":"
	    "\"rw\",\"create\":{}}]}",
	    "{\"version\":1,\"mounts\":[{\"host\":\"x\",\"guest\":\"/\\ud83d\\ude00\","
	    "\"access\":\"r\\u00e9\"}]}",
	    "{\"version\":1}\n\n\n   x",
	    "\"version\"",
	    "null",
	    "{\"version\":1,\"x\":\"\\u0000\"}",
	};
	char name[] = "/tmp/test_policy_XXXXXX";
	char err[600];

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0] + 2; i++) {
		int fd = mkstemp(name);
		FILE *f = fdopen(fd, "w");
		struct policy p;

		assert_non_null(f);
		if (i < sizeof texts / sizeof texts[0]) {
			fputs(texts[i], f);
		} else if (i == sizeof texts / sizeof texts[0]) { /* 3000 levels */
			for (int k = 0; k < 3000; k++) {
				fputc('[', f);
			}
		} else { /* over 1 MiB */
			fputs("{\"version\":1,\"mounts\":[", f);
			for (int k = 0; k < 300000; k++) {
				fputs("{}, ", f);
			}
			fputs("{}]}", f);
		}
		fclose(f);
		policy_init(&p);
		assert_int_equal(policy_load_file(&p, name, err, sizeof err), -1);
		print_message("# %s\n", strchr(err, ':'));
		policy_free(&p);
		unlink(name);
		strcpy(name, "/tmp/test_policy_XXXXXX");
	}
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(load_sets_source_and_fields),
	    cmocka_unit_test(failed_load_changes_nothing),
	    cmocka_unit_test(host_relative_to_file),
	    cmocka_unit_test(load_file_errors),
	    cmocka_unit_test(small_error_buffers),
	    cmocka_unit_test(cli_good),
	    cmocka_unit_test(cli_bad),
	    cmocka_unit_test(cli_long_paths),
	    cmocka_unit_test(cli_too_many),
	    cmocka_unit_test(file_and_cli),
	    cmocka_unit_test(validate_struct),
	    cmocka_unit_test(print_format),
	    cmocka_unit_test(long_file_name_origin),
	    cmocka_unit_test(hostile_files),
	};
	size_t nfixed = sizeof fixed / sizeof fixed[0], n, counts[2];
	struct CMUnitTest *tests;
	char **names;
	int rc;

	if (chdir("../policy") != 0 || getcwd(policydir, sizeof policydir) == NULL) {
		fprintf(stderr, "test_policy: run me in tests/unit: %s\n", strerror(errno));
		return 1;
	}
	snprintf(repo, sizeof repo, "%s", policydir);
	if (strlen(repo) < strlen(SUFFIX) ||
	    strcmp(repo + strlen(repo) - strlen(SUFFIX), SUFFIX) != 0) {
		fprintf(stderr, "test_policy: unexpected directory %s\n", repo);
		return 1;
	}
	repo[strlen(repo) - strlen(SUFFIX)] = '\0';
	names = golden_list(&n, &counts[0], &counts[1]);
	tests = calloc(nfixed + n + 1, sizeof *tests);
	if (tests == NULL) {
		return 1;
	}
	memcpy(tests, fixed, sizeof fixed);
	for (size_t i = 0; i < n; i++) {
		tests[nfixed + i] = (struct CMUnitTest){
		    .name = names[i], .test_func = golden_case, .initial_state = names[i]};
	}
	tests[nfixed + n] = (struct CMUnitTest){
	    .name = "golden_counts", .test_func = golden_counts, .initial_state = counts};
	rc = _cmocka_run_group_tests("policy", tests, nfixed + n + 1, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
	}
	free(names);
	free(tests);
	return rc;
}
