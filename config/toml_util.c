/* SPDX-License-Identifier: MIT */
/* toml_util.c - the C half of uhs_toml.h: member lookup, type names and escaping of hostile
 * text for one-line messages.  Pure; trusts nothing in the strings it escapes.
 */
#include <stdio.h>
#include <string.h>

#include "uhs_toml.h"

const struct uhs_toml_node *uhs_toml_get(const struct uhs_toml_node *t, const char *key)
{
	size_t n = strlen(key);

	if (t == NULL || t->type != UHS_TOML_TABLE) {
		return NULL;
	}
	for (size_t i = 0; i < t->nitems; i++) {
		if (t->items[i].key_len == n && memcmp(t->items[i].key, key, n) == 0) {
			return &t->items[i];
		}
	}
	return NULL;
}

const char *uhs_toml_type_name(enum uhs_toml_type t)
{
	switch (t) {
	case UHS_TOML_TABLE:
		return "a table";
	case UHS_TOML_ARRAY:
		return "an array";
	case UHS_TOML_STRING:
		return "a string";
	case UHS_TOML_INTEGER:
		return "an integer";
	case UHS_TOML_FLOAT:
		return "a float";
	case UHS_TOML_BOOL:
		return "a boolean";
	case UHS_TOML_DATE:
		return "a date";
	case UHS_TOML_TIME:
		return "a time";
	case UHS_TOML_DATETIME:
		return "a date-time";
	default:
		return "a value";
	}
}

/* Appends the escaped form of c to dst at *o if it fits in cap - 1 - reserve. */
static int put_escaped(char *dst, size_t cap, size_t *o, unsigned char c, size_t reserve)
{
	char tmp[5];
	size_t n;

	if (c == '\n') {
		memcpy(tmp, "\\n", 3);
	} else if (c == '\t') {
		memcpy(tmp, "\\t", 3);
	} else if (c == '\\' || c == '"') {
		tmp[0] = '\\';
		tmp[1] = (char)c;
		tmp[2] = '\0';
	} else if (c < 0x20 || c == 0x7f) {
		snprintf(tmp, sizeof tmp, "\\x%02x", c);
	} else {
		tmp[0] = (char)c;
		tmp[1] = '\0';
	}
	n = strlen(tmp);
	if (*o + n + reserve + 1 > cap) {
		return -1;
	}
	memcpy(dst + *o, tmp, n);
	*o += n;
	return 0;
}

char *uhs_toml_escape(char *dst, size_t cap, const char *s, size_t n, size_t max)
{
	size_t o = 0, i;

	if (cap == 0) {
		return dst;
	}
	for (i = 0; i < n && i < max; i++) {
		if (put_escaped(dst, cap, &o, (unsigned char)s[i], 3) != 0) {
			break;
		}
	}
	if (i < n && o + 4 <= cap) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}
