/* SPDX-License-Identifier: MIT */
/* fuzz_policy.c - the policy file parser and validator, and --mount specs (policy/policy.c).
 *
 * Input: if it holds a NUL byte, the bytes before it are a --mount spec and the bytes after
 * it the policy text; otherwise the whole input is the policy text and its first line (at
 * most 8 KiB) the --mount spec.  The text goes to policy_load_buffer in a buffer of exactly
 * its size (no NUL after it: ASan sees any read past the end), with the base directory a
 * private directory D that holds dirs/data, dirs/ro, dirs/sub and dirs/file.txt, so the
 * relative host paths of tests/policy/pass-*.json (and of --mount specs: D is their current
 * directory too) resolve and validation gets past its stat().  The file name used in messages and
 * origins is chosen by the input size % 3: "policy.json", D/policy.json, or a 150-byte name
 * (origins then get cut, set_origin). Per input: policy_load_buffer, policy_validate, policy_print;
 * then policy_add_cli_mount, policy_validate, policy_print; policy_free.  (policy_load_file is
 * read_file() plus policy_load_buffer; its own part is covered by the unit tests.)
 *
 * Oracles (plus LeakSanitizer in the libFuzzer build): a failed load or add leaves the
 * policy unchanged and says why; an accepted mount is well formed (absolute host path,
 * normalised guest path, rights only with rw); policy_validate refuses exactly when a
 * separately written reference finds a duplicate guest path or a host path that is not an
 * existing directory (the only things the parser cannot know); no message and no line of the
 * listing contains a raw control character (terminal injection), and the listing has one
 * line per mount plus three.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "policy.h"

#define SPEC_MAX 8192

static char g_dir[256], g_file[300], g_long[160];
static bool g_ready;

static void cleanup(void)
{
	if (g_dir[0] != '\0') {
		fuzz_rmtree(g_dir);
	}
}

static void setup(void)
{
	static const char *const dirs[] = {"dirs", "dirs/data", "dirs/ro", "dirs/sub"};
	char p[320];
	int fd;

	fuzz_tmpdir("policy", g_dir, sizeof g_dir);
	atexit(cleanup);
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", g_dir, dirs[i]);
		if (mkdir(p, 0755) != 0) {
			FUZZ_SETUP_FAIL("mkdir");
		}
	}
	snprintf(p, sizeof p, "%s/dirs/file.txt", g_dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "not a directory\n", 16) != 16 || close(fd) != 0) {
		FUZZ_SETUP_FAIL("file.txt");
	}
	snprintf(g_file, sizeof g_file, "%s/policy.json", g_dir);
	memset(g_long, 'n', 150);
	memcpy(g_long, "/etc/uhyve-sec/", 15);
	memcpy(g_long + 150 - 5, ".json", 6);
	g_ready = true;
}

static void no_controls(const char *s, size_t n, bool allow_nl, const char *what)
{
	for (size_t i = 0; i < n && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && !(allow_nl && c == '\n')) || c == 0x7f) {
			FUZZ_BUG("%s contains control byte 0x%02x at %zu: %.*s", what, c, i,
				 (int)(n < 300 ? n : 300), s);
		}
	}
}

static void check_err(const char *err, size_t cap, const char *what)
{
	if (strnlen(err, cap) == 0) {
		FUZZ_BUG("%s failed without a message", what);
	}
	no_controls(err, cap, false, what);
}

static void check_mounts(const struct policy *p)
{
	char norm[POL_PATH_MAX];

	if (p->nmounts > POL_MAX_MOUNTS || (p->nmounts > 0 && p->mounts == NULL)) {
		FUZZ_BUG("%zu mounts", p->nmounts);
	}
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct pol_mount *m = &p->mounts[i];

		if (m->host == NULL || m->host[0] != '/' || m->guest == NULL ||
		    path_normalize(m->guest, norm, sizeof norm) != 0 ||
		    strcmp(norm, m->guest) != 0 || strnlen(m->origin, sizeof m->origin) == 0 ||
		    strnlen(m->origin, sizeof m->origin) == sizeof m->origin) {
			FUZZ_BUG("mount %zu is malformed", i);
		}
		if (!m->writable && (m->create || m->remove || m->mkdir)) {
			FUZZ_BUG("mount %zu has write rights without rw", i);
		}
	}
}

/* policy_validate must refuse exactly when the parser could not know better: a guest path
 * mounted twice, or a host path that is neither an existing directory nor a regular file, or
 * a regular file at "/" (everything else it checks is checked by check_mounts on what the
 * parser produced).  An accepted regular file is a file mapping without create, remove or
 * mkdir rights. */
static bool host_bad(const struct pol_mount *m)
{
	struct stat st;

	if (stat(m->host, &st) != 0) {
		return true;
	}
	return S_ISREG(st.st_mode) ? strcmp(m->guest, "/") == 0 : !S_ISDIR(st.st_mode);
}

static void check_files(const struct policy *p)
{
	for (size_t j = 0; j < p->nmounts; j++) {
		const struct pol_mount *m = &p->mounts[j];
		struct stat st;

		if (stat(m->host, &st) != 0 || m->file != S_ISREG(st.st_mode) ||
		    (m->file && (m->create || m->remove || m->mkdir))) {
			FUZZ_BUG("mount %zu: file=%d, host mode 0%o, rights %d%d%d", j, m->file,
				 (unsigned)st.st_mode, m->create, m->remove, m->mkdir);
		}
	}
}

static void validate(struct policy *p)
{
	char err[1024] = "";
	bool bad = false;
	int rc;

	for (size_t j = 0; j < p->nmounts && !bad; j++) {
		bad = host_bad(&p->mounts[j]);
		for (size_t i = 0; i < j && !bad; i++) {
			bad = strcmp(p->mounts[i].guest, p->mounts[j].guest) == 0;
		}
	}
	rc = policy_validate(p, stat, err, sizeof err);
	if (rc != 0) {
		check_err(err, sizeof err, "policy_validate");
	}
	if ((rc != 0) != bad) {
		FUZZ_BUG("policy_validate %s, but the reference says %s: %s",
			 rc != 0 ? "refuses" : "accepts", bad ? "bad" : "good", err);
	}
	if (rc == 0) {
		check_files(p);
	}
}

static void print(const struct policy *p)
{
	char *buf = NULL;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL) {
		FUZZ_SETUP_FAIL("open_memstream");
	}
	policy_print(p, f);
	if (fclose(f) != 0) {
		FUZZ_SETUP_FAIL("fclose");
	}
	no_controls(buf, len, true, "policy_print");
	for (size_t i = 0; i < len; i++) {
		lines += buf[i] == '\n';
	}
	if (lines != p->nmounts + 3 || strlen(buf) != len) {
		FUZZ_BUG("policy_print: %zu lines for %zu mounts", lines, p->nmounts);
	}
	free(buf);
}

static void load(struct policy *p, const uint8_t *text, size_t len, const char *name)
{
	char err[1024] = "";
	size_t before = p->nmounts;
	/* Exactly len bytes, so that ASan sees a read past the end (the text has no NUL). */
	char *buf = malloc(len > 0 ? len : 1);

	if (buf == NULL) {
		FUZZ_SETUP_FAIL("malloc");
	}
	if (len > 0) {
		memcpy(buf, text, len);
	}
	if (policy_load_buffer(p, name, buf, len, g_dir, err, sizeof err) != 0) {
		check_err(err, sizeof err, "policy_load_buffer");
		if (p->nmounts != before || p->source != NULL ||
		    p->max_open_files != POL_DEFAULT_OPEN_FILES || p->max_write_bytes != 0 ||
		    p->scratch) {
			FUZZ_BUG("failed policy_load_buffer changed the policy");
		}
	} else if (p->source == NULL || strcmp(p->source, name) != 0) {
		FUZZ_BUG("policy_load_buffer: source is not the name");
	}
	free(buf);
	check_mounts(p);
}

static void add_cli(struct policy *p, const char *spec, int index)
{
	char err[1024] = "";
	size_t before = p->nmounts;

	if (policy_add_cli_mount(p, spec, index, g_dir, err, sizeof err) != 0) {
		check_err(err, sizeof err, "policy_add_cli_mount");
		if (p->nmounts != before) {
			FUZZ_BUG("failed policy_add_cli_mount changed the policy");
		}
	} else if (p->nmounts != before + 1) {
		FUZZ_BUG("policy_add_cli_mount added %zu mounts", p->nmounts - before);
	}
	check_mounts(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char spec[SPEC_MAX + 1];
	const uint8_t *nul = size > 0 ? memchr(data, 0, size) : NULL;
	const uint8_t *file = data;
	size_t flen = size, slen;
	const char *const names[3] = {"policy.json", g_file, g_long};
	struct policy p;

	if (!g_ready) {
		setup();
	}
	if (nul != NULL) {
		slen = (size_t)(nul - data);
		file = nul + 1;
		flen = size - slen - 1;
	} else {
		const uint8_t *nl = size > 0 ? memchr(data, '\n', size) : NULL;
		slen = nl != NULL ? (size_t)(nl - data) : size;
	}
	slen = slen < SPEC_MAX ? slen : SPEC_MAX;
	if (slen > 0) {
		memcpy(spec, data, slen);
	}
	spec[slen] = '\0';

	policy_init(&p);
	load(&p, file, flen, names[size % 3]);
	validate(&p);
	print(&p);
	add_cli(&p, spec, 1 + (int)(size % 64));
	validate(&p);
	print(&p);
	policy_free(&p);
	return 0;
}
