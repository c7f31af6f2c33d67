/* SPDX-License-Identifier: MIT */
/* json_access.c - typed access to the members of a jansson tree, and the positions of values in
 * the policy text for "FILE:LINE:COLUMN" messages. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

/* ---- locating values in the policy text ----
 *
 * jansson reports positions only for syntax errors.  For semantic errors we find the
 * offending value again in the (already validated) text: a path of member/element indexes
 * is followed with a minimal scanner.  Object members are numbered in document order, which
 * is jansson's iteration order (insertion order since 2.8; duplicates are rejected).
 * Columns count characters like jansson does (UTF-8 continuation bytes do not count). */

struct loc pol_loc_child(struct loc l, int idx)
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

void pol_sc_ws(struct scan *c)
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

/* A number, true, false or null: up to the next delimiter. */
static void sc_scalar(struct scan *c)
{
	while (c->i < c->n && strchr(",]} \t\r\n", c->s[c->i]) == NULL) {
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
				sc_scalar(c);
				return;
			}
			break;
		}
		sc_adv(c);
	} while (depth > 0);
}

/* Moves c from a container to member/element idx (its key if want_key). */
bool pol_sc_enter(struct scan *c, int idx, bool want_key)
{
	bool obj;

	pol_sc_ws(c);
	if (!sc_at(c, '{') && !sc_at(c, '[')) {
		return false;
	}
	obj = sc_at(c, '{');
	sc_adv(c);
	for (int k = 0;; k++) {
		pol_sc_ws(c);
		if (c->i >= c->n || sc_at(c, '}') || sc_at(c, ']')) {
			return false;
		}
		if (obj) {
			if (k == idx && want_key) {
				return true;
			}
			sc_string(c);
			pol_sc_ws(c);
			if (!sc_at(c, ':')) {
				return false;
			}
			sc_adv(c);
			pol_sc_ws(c);
		}
		if (k == idx) {
			return true;
		}
		sc_value(c);
		pol_sc_ws(c);
		if (!sc_at(c, ',')) {
			return false;
		}
		sc_adv(c);
	}
}

/* ---- the parse context ---- */

int pol_fail(struct ctx *c, struct loc l, bool want_key, const char *fmt, ...)
{
	struct scan s = {.s = c->text, .n = c->len, .line = 1};
	char msg[MSG_MAX];
	va_list ap;

	for (int j = 0; j < l.n; j++) {
		if (!pol_sc_enter(&s, l.step[j], want_key && j == l.n - 1)) {
			break;
		}
	}
	if (!want_key) {
		pol_sc_ws(&s);
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pol_seterr(c->err, c->errlen, "%s:%u:%u: %s", c->file, s.line, s.col + 1, msg);
	return -1;
}

const char *pol_type_name(const json_t *v)
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
int pol_check_keys(struct ctx *c, json_t *obj, struct loc l, const char *what,
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
			return pol_fail(c, pol_loc_child(l, k), true,
					"unknown key \"%s\" %s (known keys: %s)",
					pol_esc(q, sizeof q, key, true), what, names);
		}
		k++;
	}
	return 0;
}

struct member pol_get_member(json_t *obj, struct loc l, const char *prefix, const char *key)
{
	struct member m = {.v = json_object_get(obj, key), .l = l};

	if (m.v != NULL) {
		m.l = pol_loc_child(l, member_index(obj, key));
	}
	snprintf(m.name, sizeof m.name, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", key);
	return m;
}

int pol_want_type(struct ctx *c, const struct member *m, json_type t, const char *tname)
{
	if (json_typeof(m->v) != t && !(t == JSON_TRUE && json_typeof(m->v) == JSON_FALSE)) {
		return pol_fail(c, m->l, false, "%s: expected %s, got %s", m->name, tname,
				pol_type_name(m->v));
	}
	return 0;
}

/* An optional boolean: *out is left alone if absent. */
int pol_get_bool(struct ctx *c, json_t *obj, struct loc l, const char *prefix, const char *key,
		 bool *out)
{
	struct member m = pol_get_member(obj, l, prefix, key);

	if (m.v == NULL) {
		return 0;
	}
	if (pol_want_type(c, &m, JSON_TRUE, "boolean") != 0) {
		return -1;
	}
	*out = json_is_true(m.v);
	return 0;
}

/* A string member; required ones must be present.  *out = NULL if absent.  JSON strings
 * cannot hold a NUL here (jansson refuses \u0000 without JSON_ALLOW_NUL). */
int pol_get_string(struct ctx *c, json_t *obj, struct loc l, const char *prefix, const char *key,
		   bool required, const char **out, struct member *mo)
{
	struct member m = pol_get_member(obj, l, prefix, key);

	*out = NULL;
	*mo = m;
	if (m.v == NULL) {
		if (required) {
			return pol_fail(c, l, false, "%s: missing required key \"%s\"",
					prefix[0] != '\0' ? prefix : "policy", key);
		}
		return 0;
	}
	if (pol_want_type(c, &m, JSON_STRING, "string") != 0) {
		return -1;
	}
	*out = json_string_value(m.v);
	if (strlen(*out) != json_string_length(m.v)) {
		return pol_fail(c, m.l, false, "%s: contains a NUL character", m.name);
	}
	return 0;
}
