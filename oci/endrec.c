/* SPDX-License-Identifier: MIT */
/* endrec.c - read uhyve-sec's end record (README "--status-fd") and tell the engine.
 *
 * Trust: the record is written by the VMM process after it ran guest code, so a guest that
 * took over the VMM chooses it.  It can only choose what the log says about the run (its
 * exit status it could choose anyway): the parser accepts exactly one line of printable
 * ASCII in one of the three documented forms, anything else is reported as malformed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

static bool all_printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
			return false;
		}
	}
	return true;
}

/* A decimal 0..255 without sign or leading zeros; *end after it. */
static int status_word(const char *s, const char **end)
{
	int v = 0, n = 0;

	while (s[n] >= '0' && s[n] <= '9' && n < 4) {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0') || v > 255) {
		return -1;
	}
	*end = s + n;
	return v;
}

static void parse_error(const char *p, struct endrec *r)
{
	const char *end;
	int st = status_word(p, &end);
	size_t k = 0;

	if (st <= 0 || *end != ' ') {
		return;
	}
	for (p = end + 1; (p[k] >= 'a' && p[k] <= 'z') || p[k] == '-'; k++) {
	}
	if (k == 0 || k >= sizeof r->what || (p[k] != ' ' && p[k] != '\0')) {
		return;
	}
	memcpy(r->what, p, k);
	r->what[k] = '\0';
	snprintf(r->msg, sizeof r->msg, "%s", p[k] == ' ' ? p + k + 1 : "");
	r->status = st;
	r->kind = END_ERROR;
}

void endrec_parse(const char *buf, size_t len, struct endrec *r)
{
	static const char magic[] = "uhyve-sec-end 1 ";
	char line[1025];
	const char *p, *end;

	memset(r, 0, sizeof *r);
	if (len == 0) {
		r->kind = END_NONE;
		return;
	}
	r->kind = END_BAD;
	if (len >= sizeof line || buf[len - 1] != '\n' || !all_printable(buf, len - 1)) {
		return;
	}
	memcpy(line, buf, len - 1);
	line[len - 1] = '\0';
	if (strncmp(line, magic, sizeof magic - 1) != 0) {
		return;
	}
	p = line + sizeof magic - 1;
	if (strncmp(p, "guest ", 6) == 0) {
		int st = status_word(p + 6, &end);
		if (st >= 0 && *end == '\0') {
			r->kind = END_GUEST;
			r->status = st;
		}
	} else if (strcmp(p, "done 0") == 0) {
		r->kind = END_DONE;
	} else if (strncmp(p, "error ", 6) == 0) {
		parse_error(p + 6, r);
	}
}
