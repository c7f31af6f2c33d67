/* SPDX-License-Identifier: MIT */
/* policy_internal.h - internals of the policy library shared by its files: messages and
 * escaping (strings.c), mount bookkeeping (policy.c), locating JSON values and typed member
 * access (json_access.c).  Pure: no system calls anywhere in policy/. */
#ifndef UHS_POLICY_INTERNAL_H
#define UHS_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "policy.h"

#define POL_FILE_MAX  (1u << 20) /* policy texts larger than 1 MiB are refused */
#define HOST_PATH_MAX 4096 /* host paths, including the NUL (Linux PATH_MAX) */
#define CLI_SYNTAX    "HOST:GUEST[:ro|:rw]"
#define QUOTE_MAX     200 /* bytes of a quoted value shown in a message */
#define MSG_MAX	      512

/* ---- strings.c ---- */
/* snprintf into err (if err and errlen). */
void pol_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum { ESC_BACKSLASH = 1, ESC_QUOTE = 2 };
/* Copies at most `max` bytes of s[0..len) into buf for display: control bytes become \xNN;
 * with ESC_BACKSLASH '\\' becomes "\\\\", with ESC_QUOTE '"' becomes "\\\"".  Truncation
 * is marked "...". */
const char *pol_esc_n(char *buf, size_t cap, const char *s, size_t len, size_t max, int how);
/* A value for a message: quoted values escape '"' too. */
const char *pol_esc(char *buf, size_t cap, const char *s, bool quote);
/* Writes s to f with the escaping of pol_esc_n, without truncation. */
void pol_fput_esc(FILE *f, const char *s);
/* Joins base (absolute, or NULL) and path (taken as is if absolute) and cleans the result
 * lexically.  Returns a malloc'd string or NULL with errno (ENAMETOOLONG, ENOMEM). */
char *pol_host_join(const char *base, const char *path);

/* ---- policy.c ---- */
void pol_mount_free(struct pol_mount *m);
/* Moves n mounts to the end of p->mounts.  On failure the caller still owns them. */
int pol_mounts_append(struct policy *p, const struct pol_mount *m, size_t n);
/* Sets origin to file + suffix; if that does not fit, the start of file is cut ("..."). */
void pol_set_origin(char *o, size_t cap, const char *file, const char *suffix);

/* ---- json_access.c: locating values in the policy text ---- */
struct loc {
	int step[4];
	int n;
};
struct scan {
	const char *s;
	size_t n, i;
	unsigned line, col;
};
struct ctx {
	const char *file; /* as given, for messages and origins */
	const char *text;
	size_t len;
	const char *dir; /* the caller's base directory (absolute), or NULL: that of file */
	char *basedir; /* lazily: dir (or file's directory) cleaned */
	char *err;
	size_t errlen;
};
/* A member of obj: where it is and how to name it ("mounts[1].access"). */
struct member {
	json_t *v; /* NULL if absent */
	struct loc l;
	char name[64];
};

struct loc pol_loc_child(struct loc l, int idx);
void pol_sc_ws(struct scan *c);
/* Moves c from a container to member/element idx (its key if want_key). */
bool pol_sc_enter(struct scan *c, int idx, bool want_key);
/* Sets "FILE:LINE:COLUMN: message" for the value at l (its key if want_key); returns -1. */
int pol_fail(struct ctx *c, struct loc l, bool want_key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
const char *pol_type_name(const json_t *v);
/* Rejects keys of obj (at l, named what) that are not in the NULL-terminated list known,
 * whose display form is names. */
int pol_check_keys(struct ctx *c, json_t *obj, struct loc l, const char *what,
		   const char *const *known, const char *names);
struct member pol_get_member(json_t *obj, struct loc l, const char *prefix, const char *key);
int pol_want_type(struct ctx *c, const struct member *m, json_type t, const char *tname);
/* An optional boolean: *out is left alone if absent. */
int pol_get_bool(struct ctx *c, json_t *obj, struct loc l, const char *prefix, const char *key,
		 bool *out);
/* A string member; required ones must be present.  *out = NULL if absent. */
int pol_get_string(struct ctx *c, json_t *obj, struct loc l, const char *prefix, const char *key,
		   bool required, const char **out, struct member *mo);

#endif
