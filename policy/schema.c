/* SPDX-License-Identifier: MIT */
/* schema.c - the JSON policy format (docs/policy.md): mounts, limits, version, scratch, and
 * policy_load_buffer. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

/* ---- mounts ---- */

/* The directory relative host paths are relative to: the caller's (absolute) base
 * directory, or the directory of an absolute file name.  NULL with errno otherwise. */
static char *base_dir(const struct ctx *c)
{
	const char *slash = strrchr(c->file, '/');
	char dir[HOST_PATH_MAX];
	size_t dlen;

	if (c->dir != NULL) {
		if (c->dir[0] != '/') {
			errno = EINVAL;
			return NULL;
		}
		return pol_host_join(NULL, c->dir);
	}
	if (c->file[0] != '/') {
		errno = EINVAL; /* a relative name needs a base directory */
		return NULL;
	}
	dlen = (size_t)(slash - c->file);
	if (dlen >= sizeof dir) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(dir, c->file, dlen);
	dir[dlen] = '\0';
	return pol_host_join(NULL, dlen > 0 ? dir : "/");
}

static int parse_host(struct ctx *c, const char *host, const struct member *m, char **out)
{
	char q[MSG_MAX / 2];

	if (host[0] == '\0') {
		return pol_fail(c, m->l, false, "%s: must not be empty", m->name);
	}
	if (host[0] != '/' && c->basedir == NULL) {
		c->basedir = base_dir(c);
		if (c->basedir == NULL) {
			return pol_fail(c, m->l, false, "%s: cannot find the policy %s: %s",
					m->name,
					c->dir != NULL ? "base directory" : "file's directory",
					strerror(errno));
		}
	}
	*out = pol_host_join(host[0] == '/' ? NULL : c->basedir, host);
	if (*out == NULL) {
		return pol_fail(c, m->l, false, "%s: \"%s\": %s", m->name,
				pol_esc(q, sizeof q, host, true), strerror(errno));
	}
	return 0;
}

static int parse_guest(struct ctx *c, const char *guest, const struct member *m, char **out)
{
	char q[MSG_MAX / 2], norm[POL_PATH_MAX];
	int rc;

	pol_esc(q, sizeof q, guest, true);
	if (guest[0] == '\0') {
		return pol_fail(c, m->l, false, "%s: must not be empty", m->name);
	}
	if (guest[0] != '/') {
		return pol_fail(c, m->l, false, "%s: must be an absolute path, got \"%s\"", m->name,
				q);
	}
	rc = path_normalize(guest, norm, sizeof norm);
	if (rc == -EACCES) {
		return pol_fail(c, m->l, false, "%s: \"%s\" leaves /", m->name, q);
	}
	if (rc != 0) {
		return pol_fail(c, m->l, false, "%s: \"%s\" is too long (at most %d bytes)",
				m->name, q, POL_PATH_MAX - 1);
	}
	*out = strdup(norm);
	if (*out == NULL) {
		return pol_fail(c, m->l, false, "%s: out of memory", m->name);
	}
	return 0;
}

static int parse_access(struct ctx *c, json_t *obj, struct loc l, const char *prefix,
			struct pol_mount *pm)
{
	const char *s;
	struct member m;
	char q[MSG_MAX / 2];

	if (pol_get_string(c, obj, l, prefix, "access", true, &s, &m) != 0) {
		return -1;
	}
	if (strcmp(s, "ro") != 0 && strcmp(s, "rw") != 0) {
		return pol_fail(c, m.l, false, "%s: expected \"ro\" or \"rw\", got \"%s\"", m.name,
				pol_esc(q, sizeof q, s, true));
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
		if (pol_get_bool(c, obj, l, prefix, keys[k], vals[k]) != 0) {
			return -1;
		}
		if (*vals[k] && !pm->writable) {
			m = pol_get_member(obj, l, prefix, keys[k]);
			return pol_fail(c, m.l, false, "%s: true needs \"access\": \"rw\"", m.name);
		}
	}
	if (pol_get_bool(c, obj, l, prefix, "hardlinks", &pm->hardlinks) != 0 ||
	    pol_get_string(c, obj, l, prefix, "symlinks", false, &s, &m) != 0) {
		return -1;
	}
	if (s != NULL && strcmp(s, "deny") != 0 && strcmp(s, "within") != 0) {
		return pol_fail(c, m.l, false, "%s: expected \"deny\" or \"within\", got \"%s\"",
				m.name, pol_esc(q, sizeof q, s, true));
	}
	pm->symlinks =
	    s != NULL && strcmp(s, "within") == 0 ? POL_SYMLINKS_WITHIN : POL_SYMLINKS_DENY;
	return 0;
}

/* Where the value at l starts, as ":LINE:COLUMN". */
static void loc_suffix(const struct ctx *c, struct loc l, char *buf, size_t cap)
{
	struct scan s = {.s = c->text, .n = c->len, .line = 1};

	for (int j = 0; j < l.n && pol_sc_enter(&s, l.step[j], false); j++) {
	}
	pol_sc_ws(&s);
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
		return pol_fail(c, l, false, "%s: expected object, got %s", prefix,
				pol_type_name(obj));
	}
	if (pol_check_keys(c, obj, l, what, known,
			   "host, guest, access, create, delete, mkdir, symlinks, hardlinks") !=
		0 ||
	    pol_get_string(c, obj, l, prefix, "host", true, &host, &m) != 0 ||
	    parse_host(c, host, &m, &pm->host) != 0 ||
	    pol_get_string(c, obj, l, prefix, "guest", true, &guest, &m) != 0 ||
	    parse_guest(c, guest, &m, &pm->guest) != 0 ||
	    parse_access(c, obj, l, prefix, pm) != 0 || parse_rights(c, obj, l, prefix, pm) != 0) {
		return -1;
	}
	loc_suffix(c, l, suffix, sizeof suffix);
	pol_set_origin(pm->origin, sizeof pm->origin, c->file, suffix);
	return 0;
}

static int parse_mounts(struct ctx *c, json_t *root, struct pol_mount **out, size_t *n, size_t have)
{
	struct member m = pol_get_member(root, (struct loc){0}, "", "mounts");
	struct pol_mount *ms;
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (m.v == NULL) {
		return 0;
	}
	if (!json_is_array(m.v)) {
		return pol_fail(c, m.l, false, "mounts: expected array, got %s",
				pol_type_name(m.v));
	}
	cnt = json_array_size(m.v);
	if (cnt > POL_MAX_MOUNTS || have + cnt > POL_MAX_MOUNTS) {
		return pol_fail(c, m.l, false, "mounts: too many mounts (%zu, at most %d)",
				have + cnt, POL_MAX_MOUNTS);
	}
	if (cnt == 0) {
		return 0;
	}
	ms = calloc(cnt, sizeof *ms);
	if (ms == NULL) {
		return pol_fail(c, m.l, false, "mounts: out of memory");
	}
	for (size_t i = 0; i < cnt; i++) {
		if (parse_mount(c, json_array_get(m.v, i), pol_loc_child(m.l, (int)i), i, &ms[i]) !=
		    0) {
			for (size_t j = 0; j <= i; j++) {
				pol_mount_free(&ms[j]);
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
			return pol_fail(c, m->l, false,
					"%s: must not be negative, got %" JSON_INTEGER_FORMAT,
					m->name, v);
		}
		*out = (uint64_t)v;
		return 0;
	}
	if (!json_is_string(m->v)) {
		return pol_fail(
		    c, m->l, false,
		    "%s: expected a non-negative integer or a size string like \"512M\", "
		    "got %s",
		    m->name, pol_type_name(m->v));
	}
	rc = parse_size(json_string_value(m->v), out);
	pol_esc(q, sizeof q, json_string_value(m->v), true);
	if (rc == -ERANGE) {
		return pol_fail(c, m->l, false, "%s: \"%s\" is too large", m->name, q);
	}
	if (rc != 0) {
		return pol_fail(
		    c, m->l, false,
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
	struct member m = pol_get_member(root, (struct loc){0}, "", "limits"), mo, mw;

	if (m.v == NULL) {
		return 0;
	}
	if (!json_is_object(m.v)) {
		return pol_fail(c, m.l, false, "limits: expected object, got %s",
				pol_type_name(m.v));
	}
	if (pol_check_keys(c, m.v, m.l, "in limits", known, "open_files, write_bytes") != 0) {
		return -1;
	}
	mo = pol_get_member(m.v, m.l, "limits", "open_files");
	if (mo.v != NULL) {
		json_int_t v;

		if (pol_want_type(c, &mo, JSON_INTEGER, "integer") != 0) {
			return -1;
		}
		v = json_integer_value(mo.v);
		if (v < 1 || v > POL_MAX_OPEN_FILES) {
			return pol_fail(c, mo.l, false,
					"limits.open_files: %" JSON_INTEGER_FORMAT
					" is out of range 1..%d",
					v, POL_MAX_OPEN_FILES);
		}
		st->has_open_files = true;
		st->open_files = (uint32_t)v;
	}
	mw = pol_get_member(m.v, m.l, "limits", "write_bytes");
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
	struct member m = pol_get_member(root, top, "", "version");

	if (!json_is_object(root)) {
		return pol_fail(c, top, false, "expected an object at the top level, got %s",
				pol_type_name(root));
	}
	if (m.v == NULL) {
		return pol_fail(c, top, false, "missing required key \"version\"");
	}
	if (!json_is_integer(m.v)) {
		return pol_fail(c, m.l, false, "version: expected integer 1, got %s",
				pol_type_name(m.v));
	}
	if (json_integer_value(m.v) != 1) {
		return pol_fail(c, m.l, false,
				"version: unsupported version %" JSON_INTEGER_FORMAT
				" (expected 1)",
				json_integer_value(m.v));
	}
	if (pol_check_keys(c, root, top, "at top level", known,
			   "version, mounts, limits, scratch") != 0) {
		return -1;
	}
	if (parse_limits(c, root, st) != 0 ||
	    pol_get_bool(c, root, top, "", "scratch", &st->scratch) != 0) {
		return -1;
	}
	st->has_scratch = json_object_get(root, "scratch") != NULL;
	return 0;
}

/* ---- loading ---- */

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
		pol_seterr(err, errlen, "no policy, no name or no text");
		return -1;
	}
	if (len > POL_FILE_MAX) {
		pol_seterr(err, errlen, "%s: larger than %u bytes", name, POL_FILE_MAX);
		return -1;
	}
	root = json_loadb(len > 0 ? buf : "", len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		char q[MSG_MAX / 2];

		/* jansson's column is that of the last character of the offending token, 0 at
		 * the very start of a line; its text quotes input bytes, so is escaped. */
		pol_seterr(err, errlen, "%s:%d:%d: invalid JSON: %s", name, je.line,
			   je.column > 0 ? je.column : 1,
			   pol_esc_n(q, sizeof q, je.text, strlen(je.text), QUOTE_MAX, 0));
		return -1;
	}
	if (parse_top(&c, root, &st) == 0 && parse_mounts(&c, root, &ms, &n, p->nmounts) == 0) {
		src = strdup(name);
		if (src == NULL || pol_mounts_append(p, ms, n) != 0) {
			pol_seterr(err, errlen, "%s: out of memory", name);
			for (size_t i = 0; i < n; i++) {
				pol_mount_free(&ms[i]);
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
