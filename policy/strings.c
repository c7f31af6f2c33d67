/* SPDX-License-Identifier: MIT */
/* strings.c - messages and escaping for the policy library, and lexical host-path joining. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

void pol_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Copies at most `max` bytes of s[0..len) into buf for display: control bytes become \xNN;
 * with ESC_BACKSLASH '\\' becomes "\\\\", with ESC_QUOTE '"' becomes "\\\"".  Truncation
 * is marked "...". */
const char *pol_esc_n(char *buf, size_t cap, const char *s, size_t len, size_t max, int how)
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
const char *pol_esc(char *buf, size_t cap, const char *s, bool quote)
{
	return pol_esc_n(buf, cap, s != NULL ? s : "(null)", s != NULL ? strlen(s) : 6, QUOTE_MAX,
			 ESC_BACKSLASH | (quote ? ESC_QUOTE : 0));
}

/* Writes s to f with the escaping of esc_n, without truncation. */
void pol_fput_esc(FILE *f, const char *s)
{
	char buf[8];

	for (; s != NULL && *s != '\0'; s++) {
		fputs(pol_esc_n(buf, sizeof buf, s, 1, 1, ESC_BACKSLASH), f);
	}
}

/* ---- host paths ---- */

/* Joins base (absolute, or NULL) and path (taken as is if absolute) and cleans the result
 * lexically: empty and "." components are dropped, ".." removes the previous component
 * ("/.." is "/"), no trailing '/'.  Symlinks are deliberately not resolved: the broker
 * opens the directory itself.  Returns a malloc'd string or NULL with errno set
 * (ENAMETOOLONG, ENOMEM). */
char *pol_host_join(const char *base, const char *path)
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
