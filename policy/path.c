/* SPDX-License-Identifier: MIT */
/* path.c - lexical normalisation of guest paths and longest-prefix matching against mounts.
 *
 * Threat: `in` comes straight from the guest (through the VMM, which may be compromised):
 * arbitrary bytes up to a NUL, of any length.  Nothing here allocates, makes a system call
 * or reads past the NUL.  This is only the first, lexical filter; the resolver (resolve.c)
 * still lets the kernel resolve the remainder with openat2(RESOLVE_BENEATH|...).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "policy.h"

/* Finds the component that ends just before in[end] (end is an index into `in`, scanning
 * right to left).  Skips '/' separators first.  Returns false if there is none; otherwise
 * *start and *len describe the component and *end is moved to its start. */
static bool prev_component(const char *in, size_t *end, size_t *start, size_t *len)
{
	size_t e = *end, s;

	while (e > 0 && in[e - 1] == '/') {
		e--;
	}
	if (e == 0) {
		return false;
	}
	s = e;
	while (s > 0 && in[s - 1] != '/') {
		s--;
	}
	*start = s;
	*len = e - s;
	*end = s;
	return true;
}

static bool is_dot(const char *c, size_t len)
{
	return len == 1 && c[0] == '.';
}

static bool is_dotdot(const char *c, size_t len)
{
	return len == 2 && c[0] == '.' && c[1] == '.';
}

/* Why right to left: a component survives iff fewer ".." follow it than are needed to
 * cancel it, so scanning from the end with a counter of pending ".." decides every
 * component without storing any of them.  The result is exact even when an intermediate
 * prefix would not fit in `out` ("/<5000 bytes>/.." is "/").  A ".." still pending at the
 * start would have left '/' in a left-to-right walk: the path escapes. */
int path_normalize(const char *in, char *out, size_t cap)
{
	size_t end, start, len, skip = 0, total = 0, pos;

	if (out != NULL && cap > 0) {
		out[0] = '\0';
	}
	if (in == NULL) {
		in = "";
	}
	/* Pass 1: length of the result and escape check. */
	end = strlen(in);
	while (prev_component(in, &end, &start, &len)) {
		if (is_dot(in + start, len)) {
			continue;
		}
		if (is_dotdot(in + start, len)) {
			skip++;
		} else if (skip > 0) {
			skip--;
		} else {
			total += 1 + len; /* "/" + name */
		}
	}
	if (skip > 0) {
		return -EACCES;
	}
	if (total == 0) {
		total = 1; /* "/" */
	}
	if (out == NULL || total >= cap) {
		return -ENAMETOOLONG;
	}
	/* Pass 2: the same walk, writing the surviving components from the end of `out`. */
	out[total] = '\0';
	out[0] = '/';
	pos = total;
	end = strlen(in);
	while (prev_component(in, &end, &start, &len)) {
		if (is_dot(in + start, len)) {
			continue;
		}
		if (is_dotdot(in + start, len)) {
			skip++;
		} else if (skip > 0) {
			skip--;
		} else {
			pos -= len;
			memcpy(out + pos, in + start, len);
			out[--pos] = '/';
		}
	}
	return 0;
}

int policy_match(const struct policy *p, const char *norm, const char **rest)
{
	int best = -1;
	size_t best_len = 0;

	if (rest != NULL) {
		*rest = NULL;
	}
	if (p == NULL || norm == NULL || norm[0] != '/') {
		return -1;
	}
	for (size_t i = 0; i < p->nmounts && i <= (size_t)INT_MAX; i++) {
		const char *g = p->mounts[i].guest;
		size_t glen;

		if (g == NULL || g[0] != '/') {
			continue;
		}
		/* The root mount "/" is the empty prefix: it matches every absolute path. */
		glen = strcmp(g, "/") == 0 ? 0 : strlen(g);
		if (strncmp(norm, g, glen) != 0 || (norm[glen] != '\0' && norm[glen] != '/')) {
			continue;
		}
		if (best < 0 || glen > best_len) {
			best = (int)i;
			best_len = glen;
		}
	}
	if (best >= 0 && rest != NULL) {
		*rest = norm + best_len + (norm[best_len] == '/' ? 1 : 0);
	}
	return best;
}
