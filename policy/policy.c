/* SPDX-License-Identifier: MIT */
/* policy.c - the JSON policy file, --mount specs, validation and the --check-policy listing.
 *
 * Threat: the policy file and --mount specs come from the operator, who is trusted but may
 * make mistakes; the parser will also be fuzzed.  So every input is checked strictly
 * (unknown keys, wrong types and out-of-range values are errors), every error names the
 * place it was found, and every error path frees what it allocated.  A failed load leaves
 * the policy unchanged.  Format and messages: docs/policy.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "policy.h"

#define POL_FILE_MAX  (1u << 20) /* policy files larger than 1 MiB are refused */
#define HOST_PATH_MAX 4096 /* host paths, including the NUL (Linux PATH_MAX) */
#define CLI_SYNTAX    "HOST:GUEST[:ro|:rw]"
#define QUOTE_MAX     200 /* bytes of a quoted value shown in a message */
#define MSG_MAX	      512

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

enum { ESC_BACKSLASH = 1, ESC_QUOTE = 2 };

/* Copies at most `max` bytes of s[0..len) into buf for display: control bytes become \xNN;
 * with ESC_BACKSLASH '\\' becomes "\\\\", with ESC_QUOTE '"' becomes "\\\"".  Truncation
 * is marked "...". */
static const char *esc_n(char *buf, size_t cap, const char *s, size_t len, size_t max, int how)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < len && i < max && o + 5 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		} else if ((ch == '\\' && (how & ESC_BACKSLASH)) ||
			   (ch == '"' && (how & ESC_QUOTE))) {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else {
			buf[o++] = (char)ch;
		}
	}
	if (i < len && o + 4 <= cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* A value for a message: quoted values escape '"' too. */
static const char *esc(char *buf, size_t cap, const char *s, bool quote)
{
	return esc_n(buf, cap, s != NULL ? s : "(null)", s != NULL ? strlen(s) : 6, QUOTE_MAX,
		     ESC_BACKSLASH | (quote ? ESC_QUOTE : 0));
}

/* Writes s to f with the escaping of esc_n, without truncation. */
static void fput_esc(FILE *f, const char *s)
{
	char buf[8];

	for (; s != NULL && *s != '\0'; s++) {
		fputs(esc_n(buf, sizeof buf, s, 1, 1, ESC_BACKSLASH), f);
	}
}

/* ---- host paths ---- */

/* Joins base (absolute, or NULL) and path (taken as is if absolute) and cleans the result
 * lexically: empty and "." components are dropped, ".." removes the previous component
 * ("/.." is "/"), no trailing '/'.  Symlinks are deliberately not resolved: the broker
 * opens the directory itself.  Returns a malloc'd string or NULL with errno set
 * (ENAMETOOLONG, ENOMEM). */
static char *host_join(const char *base, const char *path)
{
	char in[2 * HOST_PATH_MAX + 2], out[2 * HOST_PATH_MAX + 2];
	size_t o = 0, blen = base != NULL ? strlen(base) : 0, plen = strlen(path);
	char *r;

	if (plen >= HOST_PATH_MAX || blen >= HOST_PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (path[0] == '/' || base == NULL) {
		blen = 0;
	}
	if (blen > 0) {
		memcpy(in, base, blen);
	}
	in[blen] = '/';
	memcpy(in + blen + 1, path, plen + 1);
	for (char *c = in, *e; *c != '\0'; c = e) {
		size_t len;

		while (*c == '/') {
			c++;
		}
		e = c + strcspn(c, "/");
		len = (size_t)(e - c);
		if (len == 0 || (len == 1 && c[0] == '.')) {
			continue;
		}
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 0 && out[--o] != '/') {
			}
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, c, len);
		o += len;
	}
	if (o == 0) {
		out[o++] = '/';
	}
	out[o] = '\0';
	if (o >= HOST_PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	r = strdup(out);
	if (r == NULL) {
		errno = ENOMEM;
	}
	return r;
}

/* A directory made absolute with the current directory and cleaned lexically.  Returns a
 * malloc'd string or NULL with errno. */
static char *abs_dir(const char *dir)
{
	char cwd[HOST_PATH_MAX];

	if (dir[0] == '/') {
		return host_join(NULL, dir);
	}
	if (getcwd(cwd, sizeof cwd) == NULL) {
		return NULL;
	}
	return host_join(cwd, dir);
}

/* The directory relative host paths of a policy file are relative to: its directory made
 * absolute with the current directory.  Returns a malloc'd string or NULL with errno. */
static char *file_dir(const char *file)
{
	const char *slash = strrchr(file, '/');
	char cwd[HOST_PATH_MAX], dir[HOST_PATH_MAX];
	size_t dlen;

	if (slash == file) {
		return strdup("/");
	}
	dlen = slash != NULL ? (size_t)(slash - file) : 0;
	if (dlen >= sizeof dir) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(dir, file, dlen);
	dir[dlen] = '\0';
	if (file[0] == '/') {
		return host_join(NULL, dir);
	}
	if (getcwd(cwd, sizeof cwd) == NULL) {
		return NULL;
	}
	return host_join(cwd, dir);
}

/* ---- init, free, append ---- */

void policy_init(struct policy *p)
{
	if (p == NULL) {
		return;
	}
	*p = (struct policy){.max_open_files = POL_DEFAULT_OPEN_FILES};
}

static void mount_free(struct pol_mount *m)
{
	free(m->host);
	free(m->guest);
	m->host = m->guest = NULL;
}

void policy_free(struct policy *p)
{
	if (p == NULL) {
		return;
	}
	for (size_t i = 0; p->mounts != NULL && i < p->nmounts; i++) {
		mount_free(&p->mounts[i]);
	}
	free(p->mounts);
	free(p->source);
	policy_init(p);
}

/* Moves n mounts to the end of p->mounts.  On failure the caller still owns them. */
static int mounts_append(struct policy *p, const struct pol_mount *m, size_t n)
{
	struct pol_mount *nm;

	if (n == 0) {
		return 0;
	}
	if (p->nmounts > SIZE_MAX / sizeof *nm - n) {
		return -1;
	}
	nm = realloc(p->mounts, (p->nmounts + n) * sizeof *nm);
	if (nm == NULL) {
		return -1;
	}
	memcpy(nm + p->nmounts, m, n * sizeof *nm);
	p->mounts = nm;
	p->nmounts += n;
	return 0;
}

/* Sets origin to file + suffix; if that does not fit, the start of file is cut ("..."). */
static void set_origin(char *o, size_t cap, const char *file, const char *suffix)
{
	size_t fl = strlen(file), sl = strlen(suffix);

	if (fl + sl < cap) {
		seterr(o, cap, "%s%s", file, suffix);
	} else if (sl + 4 < cap) {
		seterr(o, cap, "...%s%s", file + fl - (cap - 4 - sl), suffix);
	} else {
		seterr(o, cap, "%s", suffix);
	}
}

/* ---- locating values in the policy text ----
 *
 * jansson reports positions only for syntax errors.  For semantic errors we find the
 * offending value again in the (already validated) text: a path of member/element indexes
 * is followed with a minimal scanner.  Object members are numbered in document order, which
 * is jansson's iteration order (insertion order since 2.8; duplicates are rejected).
 * Columns count characters like jansson does (UTF-8 continuation bytes do not count). */

struct loc {
	int step[4];
	int n;
};

struct scan {
	const char *s;
	size_t n, i;
	unsigned line, col;
};

static struct loc loc_child(struct loc l, int idx)
{
	if (l.n < (int)(sizeof l.step / sizeof l.step[0])) {
		l.step[l.n++] = idx;
	}
	return l;
}

static void sc_adv(struct scan *c)
{
	unsigned char ch = (unsigned char)c->s[c->i++];

	if (ch == '\n') {
		c->line++;
		c->col = 0;
	} else if ((ch & 0xc0) != 0x80) {
		c->col++;
	}
}

static bool sc_at(const struct scan *c, char ch)
{
	return c->i < c->n && c->s[c->i] == ch;
}

static void sc_ws(struct scan *c)
{
	while (c->i < c->n && strchr(" \t\r\n", c->s[c->i]) != NULL && c->s[c->i] != '\0') {
		sc_adv(c);
	}
}

static void sc_string(struct scan *c)
{
	sc_adv(c); /* '"' */
	while (c->i < c->n && c->s[c->i] != '"') {
		if (c->s[c->i] == '\\' && c->i + 1 < c->n) {
			sc_adv(c);
		}
		sc_adv(c);
	}
	if (c->i < c->n) {
		sc_adv(c);
	}
}

static void sc_value(struct scan *c)
{
	size_t depth = 0;

	do {
		if (c->i >= c->n) {
			return;
		}
		switch (c->s[c->i]) {
		case '"':
			sc_string(c);
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		default:
			if (depth == 0) {
				while (c->i < c->n && strchr(",]} \t\r\n", c->s[c->i]) == NULL) {
					sc_adv(c);
				}
				return;
			}
			break;
		}
		sc_adv(c);
	} while (depth > 0);
}

/* Moves c from a container to member/element idx (its key if want_key). */
static bool sc_enter(struct scan *c, int idx, bool want_key)
{
	bool obj;

	sc_ws(c);
	if (!sc_at(c, '{') && !sc_at(c, '[')) {
		return false;
	}
	obj = sc_at(c, '{');
	sc_adv(c);
	for (int k = 0;; k++) {
		sc_ws(c);
		if (c->i >= c->n || sc_at(c, '}') || sc_at(c, ']')) {
			return false;
		}
		if (obj) {
			if (k == idx && want_key) {
				return true;
			}
			sc_string(c);
			sc_ws(c);
			if (!sc_at(c, ':')) {
				return false;
			}
			sc_adv(c);
			sc_ws(c);
		}
		if (k == idx) {
			return true;
		}
		sc_value(c);
		sc_ws(c);
		if (!sc_at(c, ',')) {
			return false;
		}
		sc_adv(c);
	}
}

/* ---- the parse context ---- */

struct ctx {
	const char *file; /* as given, for messages and origins */
	const char *text;
	size_t len;
	const char *dir; /* the caller's base directory, or NULL: that of file */
	char *basedir; /* lazily: dir (or file's directory) made absolute */
	char *err;
	size_t errlen;
};

/* Sets "FILE:LINE:COLUMN: message" for the value at l (its key if want_key); returns -1. */
static int fail(struct ctx *c, struct loc l, bool want_key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct ctx *c, struct loc l, bool want_key, const char *fmt, ...)
{
	struct scan s = {.s = c->text, .n = c->len, .line = 1};
	char msg[MSG_MAX];
	va_list ap;

	for (int j = 0; j < l.n; j++) {
		if (!sc_enter(&s, l.step[j], want_key && j == l.n - 1)) {
			break;
		}
	}
	if (!want_key) {
		sc_ws(&s);
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	seterr(c->err, c->errlen, "%s:%u:%u: %s", c->file, s.line, s.col + 1, msg);
	return -1;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	default:
		return "unknown";
	}
}

static int member_index(json_t *obj, const char *name)
{
	const char *key;
	json_t *v;
	int k = 0;

	json_object_foreach(obj, key, v)
	{
		if (strcmp(key, name) == 0) {
			return k;
		}
		k++;
	}
	return -1;
}

/* Rejects keys of obj (at l, named what) that are not in the NULL-terminated list known,
 * whose display form is names. */
static int check_keys(struct ctx *c, json_t *obj, struct loc l, const char *what,
		      const char *const *known, const char *names)
{
	const char *key;
	json_t *v;
	int k = 0;

	json_object_foreach(obj, key, v)
	{
		const char *const *n = known;
		char q[MSG_MAX / 2];

		while (*n != NULL && strcmp(*n, key) != 0) {
			n++;
		}
		if (*n == NULL) {
			return fail(c, loc_child(l, k), true,
				    "unknown key \"%s\" %s (known keys: %s)",
				    esc(q, sizeof q, key, true), what, names);
		}
		k++;
	}
	return 0;
}

/* A member of obj: where it is and how to name it ("mounts[1].access"). */
struct member {
	json_t *v; /* NULL if absent */
	struct loc l;
	char name[64];
};

static struct member get_member(json_t *obj, struct loc l, const char *prefix, const char *key)
{
	struct member m = {.v = json_object_get(obj, key), .l = l};

	if (m.v != NULL) {
		m.l = loc_child(l, member_index(obj, key));
	}
	snprintf(m.name, sizeof m.name, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key);
	return m;
}

static int want_type(struct ctx *c, const struct member *m, json_type t, const char *tname)
{
	if (json_typeof(m->v) != t && !(t == JSON_TRUE && json_typeof(m->v) == JSON_FALSE)) {
		return fail(c, m->l, false, "%s: expected %s, got %s", m->name, tname,
			    type_name(m->v));
	}
	return 0;
}

/* An optional boolean: *out is left alone if absent. */
static int get_bool(struct ctx *c, json_t *obj, struct loc l, const char *prefix, const char *key,
		    bool *out)
{
	struct member m = get_member(obj, l, prefix, key);

	if (m.v == NULL) {
		return 0;
	}
	if (want_type(c, &m, JSON_TRUE, "boolean") != 0) {
		return -1;
	}
	*out = json_is_true(m.v);
	return 0;
}

/* A string member; required ones must be present.  *out = NULL if absent.  JSON strings
 * cannot hold a NUL here (jansson refuses \u0000 without JSON_ALLOW_NUL). */
static int get_string(struct ctx *c, json_t *obj, struct loc l, const char *prefix, const char *key,
		      bool required, const char **out, struct member *mo)
{
	struct member m = get_member(obj, l, prefix, key);

	*out = NULL;
	*mo = m;
	if (m.v == NULL) {
		if (required) {
			return fail(c, l, false, "%s: missing required key \"%s\"",
				    prefix[0] != '\0' ? prefix : "policy", key);
		}
		return 0;
	}
	if (want_type(c, &m, JSON_STRING, "string") != 0) {
		return -1;
	}
	*out = json_string_value(m.v);
	if (strlen(*out) != json_string_length(m.v)) {
		return fail(c, m.l, false, "%s: contains a NUL character", m.name);
	}
	return 0;
}

/* ---- mounts ---- */

static int parse_host(struct ctx *c, const char *host, const struct member *m, char **out)
{
	char q[MSG_MAX / 2];

	if (host[0] == '\0') {
		return fail(c, m->l, false, "%s: must not be empty", m->name);
	}
	if (host[0] != '/' && c->basedir == NULL) {
		c->basedir = c->dir != NULL ? abs_dir(c->dir) : file_dir(c->file);
		if (c->basedir == NULL) {
			return fail(c, m->l, false, "%s: cannot find the policy %s: %s", m->name,
				    c->dir != NULL ? "base directory" : "file's directory",
				    strerror(errno));
		}
	}
	*out = host_join(host[0] == '/' ? NULL : c->basedir, host);
	if (*out == NULL) {
		return fail(c, m->l, false, "%s: \"%s\": %s", m->name, esc(q, sizeof q, host, true),
			    strerror(errno));
	}
	return 0;
}

static int parse_guest(struct ctx *c, const char *guest, const struct member *m, char **out)
{
	char q[MSG_MAX / 2], norm[POL_PATH_MAX];
	int rc;

	esc(q, sizeof q, guest, true);
	if (guest[0] == '\0') {
		return fail(c, m->l, false, "%s: must not be empty", m->name);
	}
	if (guest[0] != '/') {
		return fail(c, m->l, false, "%s: must be an absolute path, got \"%s\"", m->name, q);
	}
	rc = path_normalize(guest, norm, sizeof norm);
	if (rc == -EACCES) {
		return fail(c, m->l, false, "%s: \"%s\" leaves /", m->name, q);
	}
	if (rc != 0) {
		return fail(c, m->l, false, "%s: \"%s\" is too long (at most %d bytes)", m->name, q,
			    POL_PATH_MAX - 1);
	}
	*out = strdup(norm);
	if (*out == NULL) {
		return fail(c, m->l, false, "%s: out of memory", m->name);
	}
	return 0;
}

static int parse_access(struct ctx *c, json_t *obj, struct loc l, const char *prefix,
			struct pol_mount *pm)
{
	const char *s;
	struct member m;
	char q[MSG_MAX / 2];

	if (get_string(c, obj, l, prefix, "access", true, &s, &m) != 0) {
		return -1;
	}
	if (strcmp(s, "ro") != 0 && strcmp(s, "rw") != 0) {
		return fail(c, m.l, false, "%s: expected \"ro\" or \"rw\", got \"%s\"", m.name,
			    esc(q, sizeof q, s, true));
	}
	pm->writable = strcmp(s, "rw") == 0;
	pm->create = pm->remove = pm->mkdir = pm->writable;
	return 0;
}

/* create, delete, mkdir (default: as writable; true needs rw), symlinks, hardlinks. */
static int parse_rights(struct ctx *c, json_t *obj, struct loc l, const char *prefix,
			struct pol_mount *pm)
{
	static const char *const keys[] = {"create", "delete", "mkdir"};
	bool *vals[] = {&pm->create, &pm->remove, &pm->mkdir};
	const char *s;
	struct member m;
	char q[MSG_MAX / 2];

	for (size_t k = 0; k < 3; k++) {
		if (get_bool(c, obj, l, prefix, keys[k], vals[k]) != 0) {
			return -1;
		}
		if (*vals[k] && !pm->writable) {
			m = get_member(obj, l, prefix, keys[k]);
			return fail(c, m.l, false, "%s: true needs \"access\": \"rw\"", m.name);
		}
	}
	if (get_bool(c, obj, l, prefix, "hardlinks", &pm->hardlinks) != 0 ||
	    get_string(c, obj, l, prefix, "symlinks", false, &s, &m) != 0) {
		return -1;
	}
	if (s != NULL && strcmp(s, "deny") != 0 && strcmp(s, "within") != 0) {
		return fail(c, m.l, false, "%s: expected \"deny\" or \"within\", got \"%s\"",
			    m.name, esc(q, sizeof q, s, true));
	}
	pm->symlinks =
	    s != NULL && strcmp(s, "within") == 0 ? POL_SYMLINKS_WITHIN : POL_SYMLINKS_DENY;
	return 0;
}

/* Where the value at l starts, as ":LINE:COLUMN". */
static void loc_suffix(const struct ctx *c, struct loc l, char *buf, size_t cap)
{
	struct scan s = {.s = c->text, .n = c->len, .line = 1};

	for (int j = 0; j < l.n && sc_enter(&s, l.step[j], false); j++) {
	}
	sc_ws(&s);
	snprintf(buf, cap, ":%u:%u", s.line, s.col + 1);
}

static int parse_mount(struct ctx *c, json_t *obj, struct loc l, size_t i, struct pol_mount *pm)
{
	static const char *const known[] = {"host",  "guest",	 "access",    "create", "delete",
					    "mkdir", "symlinks", "hardlinks", NULL};
	char prefix[32], what[40], suffix[32];
	const char *host, *guest;
	struct member m;

	snprintf(prefix, sizeof prefix, "mounts[%zu]", i);
	snprintf(what, sizeof what, "in %s", prefix);
	if (!json_is_object(obj)) {
		return fail(c, l, false, "%s: expected object, got %s", prefix, type_name(obj));
	}
	if (check_keys(c, obj, l, what, known,
		       "host, guest, access, create, delete, mkdir, symlinks, hardlinks") != 0 ||
	    get_string(c, obj, l, prefix, "host", true, &host, &m) != 0 ||
	    parse_host(c, host, &m, &pm->host) != 0 ||
	    get_string(c, obj, l, prefix, "guest", true, &guest, &m) != 0 ||
	    parse_guest(c, guest, &m, &pm->guest) != 0 ||
	    parse_access(c, obj, l, prefix, pm) != 0 || parse_rights(c, obj, l, prefix, pm) != 0) {
		return -1;
	}
	loc_suffix(c, l, suffix, sizeof suffix);
	set_origin(pm->origin, sizeof pm->origin, c->file, suffix);
	return 0;
}

static int parse_mounts(struct ctx *c, json_t *root, struct pol_mount **out, size_t *n, size_t have)
{
	struct member m = get_member(root, (struct loc){0}, "", "mounts");
	struct pol_mount *ms;
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (m.v == NULL) {
		return 0;
	}
	if (!json_is_array(m.v)) {
		return fail(c, m.l, false, "mounts: expected array, got %s", type_name(m.v));
	}
	cnt = json_array_size(m.v);
	if (cnt > POL_MAX_MOUNTS || have + cnt > POL_MAX_MOUNTS) {
		return fail(c, m.l, false, "mounts: too many mounts (%zu, at most %d)", have + cnt,
			    POL_MAX_MOUNTS);
	}
	if (cnt == 0) {
		return 0;
	}
	ms = calloc(cnt, sizeof *ms);
	if (ms == NULL) {
		return fail(c, m.l, false, "mounts: out of memory");
	}
	for (size_t i = 0; i < cnt; i++) {
		if (parse_mount(c, json_array_get(m.v, i), loc_child(m.l, (int)i), i, &ms[i]) !=
		    0) {
			for (size_t j = 0; j <= i; j++) {
				mount_free(&ms[j]);
			}
			free(ms);
			return -1;
		}
	}
	*out = ms;
	*n = cnt;
	return 0;
}

/* ---- limits, version, scratch ---- */

/* "123", "512K", "1G", "2GiB", "3mb": decimal digits and an optional binary unit K, M, G or
 * T (either case), optionally followed by "B" or "iB" (the syntax of -m).  Returns 0,
 * -EINVAL (syntax) or -ERANGE (does not fit in 64 bits). */
static int parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT", lower[] = "kmgt";
	uint64_t v = 0;
	unsigned shift = 0;

	if (*s < '0' || *s > '9') {
		return -EINVAL;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) {
			return -ERANGE;
		}
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != '\0') {
		const char *u = strchr(units, *s), *l = strchr(lower, *s);

		if (u == NULL && l == NULL) {
			return -EINVAL;
		}
		shift = 10 * (unsigned)(u != NULL ? u - units + 1 : l - lower + 1);
		s++;
		if (strcmp(s, "") != 0 && strcmp(s, "B") != 0 && strcmp(s, "iB") != 0) {
			return -EINVAL;
		}
	}
	if (shift > 0 && v > (UINT64_MAX >> shift)) {
		return -ERANGE;
	}
	*out = v << shift;
	return 0;
}

static int parse_write_bytes(struct ctx *c, const struct member *m, uint64_t *out)
{
	char q[MSG_MAX / 2];
	int rc;

	if (json_is_integer(m->v)) {
		json_int_t v = json_integer_value(m->v);

		if (v < 0) {
			return fail(c, m->l, false,
				    "%s: must not be negative, got %" JSON_INTEGER_FORMAT, m->name,
				    v);
		}
		*out = (uint64_t)v;
		return 0;
	}
	if (!json_is_string(m->v)) {
		return fail(c, m->l, false,
			    "%s: expected a non-negative integer or a size string like \"512M\", "
			    "got %s",
			    m->name, type_name(m->v));
	}
	rc = parse_size(json_string_value(m->v), out);
	esc(q, sizeof q, json_string_value(m->v), true);
	if (rc == -ERANGE) {
		return fail(c, m->l, false, "%s: \"%s\" is too large", m->name, q);
	}
	if (rc != 0) {
		return fail(c, m->l, false,
			    "%s: invalid size \"%s\" (expected digits, then optionally K, M, G or "
			    "T, then optionally B or iB)",
			    m->name, q);
	}
	return 0;
}

struct settings {
	bool has_open_files, has_write_bytes, has_scratch;
	uint32_t open_files;
	uint64_t write_bytes;
	bool scratch;
};

static int parse_limits(struct ctx *c, json_t *root, struct settings *st)
{
	static const char *const known[] = {"open_files", "write_bytes", NULL};
	struct member m = get_member(root, (struct loc){0}, "", "limits"), mo, mw;

	if (m.v == NULL) {
		return 0;
	}
	if (!json_is_object(m.v)) {
		return fail(c, m.l, false, "limits: expected object, got %s", type_name(m.v));
	}
	if (check_keys(c, m.v, m.l, "in limits", known, "open_files, write_bytes") != 0) {
		return -1;
	}
	mo = get_member(m.v, m.l, "limits", "open_files");
	if (mo.v != NULL) {
		json_int_t v;

		if (want_type(c, &mo, JSON_INTEGER, "integer") != 0) {
			return -1;
		}
		v = json_integer_value(mo.v);
		if (v < 1 || v > POL_MAX_OPEN_FILES) {
			return fail(c, mo.l, false,
				    "limits.open_files: %" JSON_INTEGER_FORMAT
				    " is out of range 1..%d",
				    v, POL_MAX_OPEN_FILES);
		}
		st->has_open_files = true;
		st->open_files = (uint32_t)v;
	}
	mw = get_member(m.v, m.l, "limits", "write_bytes");
	if (mw.v != NULL) {
		if (parse_write_bytes(c, &mw, &st->write_bytes) != 0) {
			return -1;
		}
		st->has_write_bytes = true;
	}
	return 0;
}

static int parse_top(struct ctx *c, json_t *root, struct settings *st)
{
	static const char *const known[] = {"version", "mounts", "limits", "scratch", NULL};
	struct loc top = {0};
	struct member m = get_member(root, top, "", "version");

	if (!json_is_object(root)) {
		return fail(c, top, false, "expected an object at the top level, got %s",
			    type_name(root));
	}
	if (m.v == NULL) {
		return fail(c, top, false, "missing required key \"version\"");
	}
	if (!json_is_integer(m.v)) {
		return fail(c, m.l, false, "version: expected integer 1, got %s", type_name(m.v));
	}
	if (json_integer_value(m.v) != 1) {
		return fail(c, m.l, false,
			    "version: unsupported version %" JSON_INTEGER_FORMAT " (expected 1)",
			    json_integer_value(m.v));
	}
	if (check_keys(c, root, top, "at top level", known, "version, mounts, limits, scratch") !=
	    0) {
		return -1;
	}
	if (parse_limits(c, root, st) != 0 ||
	    get_bool(c, root, top, "", "scratch", &st->scratch) != 0) {
		return -1;
	}
	st->has_scratch = json_object_get(root, "scratch") != NULL;
	return 0;
}

/* ---- the file ---- */

/* Reads a regular file of at most POL_FILE_MAX bytes into a malloc'd, NUL-terminated
 * buffer. */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	size_t n = 0;
	char *b = NULL;

	*buf = NULL;
	if (fd < 0) {
		seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size > (off_t)POL_FILE_MAX) {
		seterr(err, errlen, "%s: larger than %u bytes", path, POL_FILE_MAX);
		goto fail;
	}
	b = malloc(POL_FILE_MAX + 2);
	if (b == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, POL_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			seterr(err, errlen, "%s: read error: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0) {
			break;
		}
		n += (size_t)r;
		if (n > POL_FILE_MAX) {
			seterr(err, errlen, "%s: larger than %u bytes", path, POL_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	close(fd);
	return -1;
}

static void apply(struct policy *p, const struct settings *st)
{
	if (st->has_open_files) {
		p->max_open_files = st->open_files;
	}
	if (st->has_write_bytes) {
		p->max_write_bytes = st->write_bytes;
	}
	if (st->has_scratch) {
		p->scratch = st->scratch;
	}
}

int policy_load_buffer(struct policy *p, const char *name, const char *buf, size_t len,
		       const char *basedir, char *err, size_t errlen)
{
	struct ctx c = {
	    .file = name, .text = buf, .len = len, .dir = basedir, .err = err, .errlen = errlen};
	struct settings st = {0};
	struct pol_mount *ms = NULL;
	size_t n = 0;
	char *src = NULL;
	json_t *root;
	json_error_t je;
	int rc = -1;

	if (p == NULL || name == NULL || (buf == NULL && len > 0)) {
		seterr(err, errlen, "no policy, no name or no text");
		return -1;
	}
	if (len > POL_FILE_MAX) {
		seterr(err, errlen, "%s: larger than %u bytes", name, POL_FILE_MAX);
		return -1;
	}
	root = json_loadb(len > 0 ? buf : "", len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		char q[MSG_MAX / 2];

		/* jansson's column is that of the last character of the offending token, 0 at
		 * the very start of a line; its text quotes input bytes, so is escaped. */
		seterr(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line,
		       je.column > 0 ? je.column : 1,
		       esc_n(q, sizeof q, je.text, strlen(je.text), QUOTE_MAX, 0));
		return -1;
	}
	if (parse_top(&c, root, &st) == 0 && parse_mounts(&c, root, &ms, &n, p->nmounts) == 0) {
		src = strdup(name);
		if (src == NULL || mounts_append(p, ms, n) != 0) {
			seterr(err, errlen, "%s: out of memory", name);
			for (size_t i = 0; i < n; i++) {
				mount_free(&ms[i]);
			}
			free(src);
		} else {
			apply(p, &st);
			free(p->source);
			p->source = src;
			rc = 0;
		}
		free(ms);
	}
	json_decref(root);
	free(c.basedir);
	return rc;
}

int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen)
{
	size_t len;
	char *buf;
	int rc;

	if (p == NULL || path == NULL) {
		seterr(err, errlen, "no policy or no file name");
		return -1;
	}
	if (read_file(path, &buf, &len, err, errlen) != 0) {
		return -1;
	}
	rc = policy_load_buffer(p, path, buf, len, NULL, err, errlen);
	free(buf);
	return rc;
}

/* ---- command-line mounts ---- */

/* Splits "HOST:GUEST[:MODE]" (q: the spec quoted for messages).  Returns 0 with the
 * pointers into spec (guest ends at *gend) or -1 with a message. */
static int cli_split(const char *spec, int index, const char *q, const char **gend,
		     const char **mode, char *err, size_t errlen)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	char qm[MSG_MAX / 2];

	if (c1 == NULL) {
		seterr(err, errlen, "--mount #%d: \"%s\": expected %s", index, q, CLI_SYNTAX);
		return -1;
	}
	if (c1 == spec || c1[1] == '\0' || c1 + 1 == c2) {
		seterr(err, errlen, "--mount #%d: \"%s\": empty %s (expected %s)", index, q,
		       c1 == spec ? "HOST" : "GUEST", CLI_SYNTAX);
		return -1;
	}
	if (c2 != NULL && strchr(c2 + 1, ':') != NULL) {
		seterr(err, errlen, "--mount #%d: \"%s\": too many ':' (expected %s)", index, q,
		       CLI_SYNTAX);
		return -1;
	}
	*mode = c2 != NULL ? c2 + 1 : "rw";
	if (strcmp(*mode, "ro") != 0 && strcmp(*mode, "rw") != 0) {
		seterr(err, errlen,
		       "--mount #%d: \"%s\": mode must be \"ro\" or \"rw\", got \"%s\"", index, q,
		       esc(qm, sizeof qm, *mode, true));
		return -1;
	}
	if (c1[1] != '/') {
		seterr(err, errlen, "--mount #%d: \"%s\": GUEST must be an absolute path", index,
		       q);
		return -1;
	}
	*gend = c2 != NULL ? c2 : c1 + strlen(c1);
	return 0;
}

/* Fills m->guest and m->host from spec; the caller frees them on failure. */
static int cli_paths(struct pol_mount *m, const char *spec, const char *gend, int index,
		     const char *q, char *err, size_t errlen)
{
	const char *c1 = strchr(spec, ':');
	char norm[POL_PATH_MAX], cwd[HOST_PATH_MAX], *s;
	int rc;

	s = strndup(c1 + 1, (size_t)(gend - c1 - 1));
	if (s == NULL) {
		seterr(err, errlen, "--mount #%d: out of memory", index);
		return -1;
	}
	rc = path_normalize(s, norm, sizeof norm);
	free(s);
	if (rc != 0) {
		seterr(err, errlen, "--mount #%d: \"%s\": GUEST %s", index, q,
		       rc == -EACCES ? "leaves /" : "is too long");
		return -1;
	}
	if (spec[0] != '/' && getcwd(cwd, sizeof cwd) == NULL) {
		seterr(err, errlen, "--mount #%d: cannot get the current directory: %s", index,
		       strerror(errno));
		return -1;
	}
	s = strndup(spec, (size_t)(c1 - spec));
	m->host = s != NULL ? host_join(spec[0] == '/' ? NULL : cwd, s) : NULL;
	if (m->host == NULL) {
		seterr(err, errlen, "--mount #%d: \"%s\": HOST: %s", index, q,
		       strerror(s != NULL ? errno : ENOMEM));
		free(s);
		return -1;
	}
	free(s);
	m->guest = strdup(norm);
	if (m->guest == NULL) {
		seterr(err, errlen, "--mount #%d: out of memory", index);
		return -1;
	}
	return 0;
}

int policy_add_cli_mount(struct policy *p, const char *spec, int index, char *err, size_t errlen)
{
	struct pol_mount m = {.symlinks = POL_SYMLINKS_DENY};
	const char *gend, *mode;
	char q[MSG_MAX / 2];

	if (p == NULL || spec == NULL) {
		seterr(err, errlen, "--mount #%d: no mount given", index);
		return -1;
	}
	esc(q, sizeof q, spec, true);
	if (p->nmounts >= POL_MAX_MOUNTS) {
		seterr(err, errlen, "--mount #%d: \"%s\": too many mounts (at most %d)", index, q,
		       POL_MAX_MOUNTS);
		return -1;
	}
	if (cli_split(spec, index, q, &gend, &mode, err, errlen) != 0) {
		return -1;
	}
	m.writable = m.create = m.remove = m.mkdir = strcmp(mode, "rw") == 0;
	snprintf(m.origin, sizeof m.origin, "--mount #%d", index);
	if (cli_paths(&m, spec, gend, index, q, err, errlen) != 0) {
		mount_free(&m);
		return -1;
	}
	if (mounts_append(p, &m, 1) != 0) {
		seterr(err, errlen, "--mount #%d: out of memory", index);
		mount_free(&m);
		return -1;
	}
	return 0;
}

/* ---- validation ---- */

static int origin_len(const struct pol_mount *m)
{
	return (int)strnlen(m->origin, sizeof m->origin);
}

/* Checks one mount on its own (not its host directory). */
static int validate_mount(const struct pol_mount *m, char *err, size_t errlen)
{
	char qg[MSG_MAX / 2], qh[MSG_MAX / 2], norm[POL_PATH_MAX];
	const char *right = m->create ? "create" : m->remove ? "delete" : "mkdir";

	if (m->guest == NULL || m->host == NULL) {
		seterr(err, errlen, "mount (%.*s): no guest or host path", origin_len(m),
		       m->origin);
		return -1;
	}
	esc(qg, sizeof qg, m->guest, false);
	if (m->guest[0] != '/' || path_normalize(m->guest, norm, sizeof norm) != 0 ||
	    strcmp(norm, m->guest) != 0) {
		seterr(err, errlen, "mount %s (%.*s): guest path is not normalised", qg,
		       origin_len(m), m->origin);
		return -1;
	}
	if (m->host[0] != '/') {
		seterr(err, errlen, "mount %s (%.*s): host path %s is not absolute", qg,
		       origin_len(m), m->origin, esc(qh, sizeof qh, m->host, false));
		return -1;
	}
	if (!m->writable && (m->create || m->remove || m->mkdir)) {
		seterr(err, errlen, "mount %s (%.*s): %s needs rw", qg, origin_len(m), m->origin,
		       right);
		return -1;
	}
	if (m->symlinks != POL_SYMLINKS_DENY && m->symlinks != POL_SYMLINKS_WITHIN) {
		seterr(err, errlen, "mount %s (%.*s): invalid symlinks setting", qg, origin_len(m),
		       m->origin);
		return -1;
	}
	return 0;
}

int policy_validate(const struct policy *p, char *err, size_t errlen)
{
	if (p == NULL || (p->nmounts > 0 && p->mounts == NULL)) {
		seterr(err, errlen, "no policy");
		return -1;
	}
	if (p->nmounts > POL_MAX_MOUNTS) {
		seterr(err, errlen, "too many mounts (%zu, at most %d)", p->nmounts,
		       POL_MAX_MOUNTS);
		return -1;
	}
	if (p->max_open_files < 1 || p->max_open_files > POL_MAX_OPEN_FILES) {
		seterr(err, errlen, "limit open_files=%" PRIu32 " is out of range 1..%d",
		       p->max_open_files, POL_MAX_OPEN_FILES);
		return -1;
	}
	for (size_t j = 0; j < p->nmounts; j++) {
		const struct pol_mount *m = &p->mounts[j];
		char qg[MSG_MAX / 2], qh[MSG_MAX / 2];
		struct stat st;

		if (validate_mount(m, err, errlen) != 0) {
			return -1;
		}
		esc(qg, sizeof qg, m->guest, false);
		for (size_t i = 0; i < j; i++) {
			if (strcmp(p->mounts[i].guest, m->guest) == 0) {
				seterr(err, errlen,
				       "mount %s (%.*s): guest path already mounted by %.*s", qg,
				       origin_len(m), m->origin, origin_len(&p->mounts[i]),
				       p->mounts[i].origin);
				return -1;
			}
		}
		esc(qh, sizeof qh, m->host, false);
		if (stat(m->host, &st) != 0) {
			seterr(err, errlen, "mount %s (%.*s): host directory %s: %s", qg,
			       origin_len(m), m->origin, qh, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			seterr(err, errlen, "mount %s (%.*s): host directory %s is not a directory",
			       qg, origin_len(m), m->origin, qh);
			return -1;
		}
	}
	return 0;
}

/* ---- printing ---- */

static void print_mount(const struct pol_mount *m, FILE *f)
{
	char origin[4 * sizeof m->origin + 4];

	fputs("mount ", f);
	fput_esc(f, m->guest);
	fputs(" -> ", f);
	fput_esc(f, m->host);
	fprintf(f, " (%s%s%s%s, symlinks=%s, hardlinks=%s) [from ", m->writable ? "rw" : "ro",
		m->create ? ", create" : "", m->remove ? ", delete" : "", m->mkdir ? ", mkdir" : "",
		m->symlinks == POL_SYMLINKS_WITHIN ? "within" : "deny",
		m->hardlinks ? "allow" : "deny");
	fputs(esc_n(origin, sizeof origin, m->origin, (size_t)origin_len(m), sizeof m->origin,
		    ESC_BACKSLASH),
	      f);
	fputs("]\n", f);
}

/* Mount a sorts before mount b: by guest path (bytewise), then by position. */
static bool before(const struct policy *p, size_t a, size_t b)
{
	const char *ga = p->mounts[a].guest != NULL ? p->mounts[a].guest : "";
	const char *gb = p->mounts[b].guest != NULL ? p->mounts[b].guest : "";
	int c = strcmp(ga, gb);

	return c < 0 || (c == 0 && a < b);
}

void policy_print(const struct policy *p, FILE *f)
{
	static const char units[] = "KMGT";
	size_t last = SIZE_MAX;

	if (p == NULL || f == NULL) {
		return;
	}
	/* Selection by (guest, index) without allocating: n is at most POL_MAX_MOUNTS. */
	for (size_t k = 0; p->mounts != NULL && k < p->nmounts; k++) {
		size_t next = SIZE_MAX;

		for (size_t i = 0; i < p->nmounts; i++) {
			if ((last == SIZE_MAX || before(p, last, i)) &&
			    (next == SIZE_MAX || before(p, i, next))) {
				next = i;
			}
		}
		print_mount(&p->mounts[next], f);
		last = next;
	}
	fprintf(f, "limit open_files=%" PRIu32 "\n", p->max_open_files);
	if (p->max_write_bytes == 0) {
		fputs("limit write_bytes=unlimited\n", f);
	} else {
		uint64_t v = p->max_write_bytes;
		int u = -1;

		while (u < 3 && v % 1024 == 0) {
			v /= 1024;
			u++;
		}
		fprintf(f, "limit write_bytes=%" PRIu64, p->max_write_bytes);
		if (u >= 0) {
			fprintf(f, " (%" PRIu64 "%c)", v, units[u]);
		}
		fputc('\n', f);
	}
	fprintf(f, "scratch=%s\n", p->scratch ? "on" : "off");
}
