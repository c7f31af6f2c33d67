/* SPDX-License-Identifier: MIT */
/* uhs_toml.h - a small C interface over toml++ (config/toml.cpp): parse a TOML document held
 * in memory into a tree of plain C nodes.
 *
 * Trusts nothing in the bytes (operator files and image authors' hermit.toml both come
 * through here).  Pure: no I/O, no global state; toml++ runs with exceptions for parse
 * errors disabled, and every other C++ exception (std::bad_alloc) is caught at the boundary.
 * Every error is one line "NAME:LINE:COLUMN: message" with control characters escaped.
 */
#ifndef UHS_TOML_H
#define UHS_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum uhs_toml_type {
	UHS_TOML_TABLE = 1,
	UHS_TOML_ARRAY,
	UHS_TOML_STRING,
	UHS_TOML_INTEGER,
	UHS_TOML_FLOAT,
	UHS_TOML_BOOL,
	UHS_TOML_DATE,
	UHS_TOML_TIME,
	UHS_TOML_DATETIME,
};

struct uhs_toml_pos {
	uint32_t line; /* 1-based; 0 = unknown */
	uint32_t column; /* 1-based, in characters as toml++ counts them */
};

struct uhs_toml_node {
	enum uhs_toml_type type;
	struct uhs_toml_pos pos; /* where the value starts (a table: its header or first key) */
	const char *key; /* member of a table: its key (NUL-terminated); array element: NULL */
	size_t key_len; /* bytes; a key may hold a NUL byte ("\u0000"), then strlen != key_len */
	struct uhs_toml_pos key_pos; /* member of a table: where its key is written */
	const char *str; /* UHS_TOML_STRING: the value, NUL-terminated */
	size_t str_len; /* bytes; may differ from strlen(str) if the string holds "\u0000" */
	int64_t integer; /* UHS_TOML_INTEGER */
	double real; /* UHS_TOML_FLOAT */
	bool boolean; /* UHS_TOML_BOOL */
	struct uhs_toml_node *items; /* table members in source order, or array elements */
	size_t nitems;
};

struct uhs_toml_doc {
	struct uhs_toml_node root; /* a UHS_TOML_TABLE */
};

/* Parses len bytes at buf (UTF-8 TOML 1.0; no NUL needed after it) into doc.  name is the
 * file name used in messages.  Returns 0, or -1 with "NAME:LINE:COLUMN: message" in err (and
 * doc empty; uhs_toml_free on it is harmless). */
int uhs_toml_parse(const char *name, const char *buf, size_t len, struct uhs_toml_doc *doc,
		   char *err, size_t errlen);

void uhs_toml_free(struct uhs_toml_doc *doc);

/* Member key of table t, or NULL. */
const struct uhs_toml_node *uhs_toml_get(const struct uhs_toml_node *t, const char *key);

/* "a table", "an array", "a string", "an integer", "a float", "a boolean", "a date",
 * "a time", "a date-time". */
const char *uhs_toml_type_name(enum uhs_toml_type t);

/* Writes s (n bytes) to dst (cap bytes, always NUL-terminated) with every byte below 0x20,
 * 0x7f, '\\' and '"' escaped (\n, \t, \\, \", \xHH) and cut with "..." after max source
 * bytes: safe to print in a one-line message.  Returns dst. */
char *uhs_toml_escape(char *dst, size_t cap, const char *s, size_t n, size_t max);

#ifdef __cplusplus
}
#endif

#endif
