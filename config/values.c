/* SPDX-License-Identifier: MIT */
/* values.c - the value syntax uhyve.toml shares with uhyve's command line: integers as
 * Rust's FromStr reads them, CPU counts, affinity lists, image mode, file isolation, I/O
 * mode and environment entries.  Pure; every string is untrusted (messages quote it
 * escaped and cut).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uhs_toml.h"
#include "uhyve_toml.h"

static const char *quote(char *dst, size_t cap, const char *s)
{
	return uhs_toml_escape(dst, cap, s, strlen(s), 60);
}

int uhc_parse_uint(const char *s, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t v = 0;
	char q[80];

	if (*p == '+') {
		p++;
	}
	if (*p == '\0') {
		snprintf(err, errlen, "\"%s\" is not a number", quote(q, sizeof q, s));
		return -1;
	}
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "\"%s\" is not a number", quote(q, sizeof q, s));
			return -1;
		}
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v) ||
		    v > max) {
			snprintf(err, errlen, "\"%s\" is larger than %llu", quote(q, sizeof q, s),
				 (unsigned long long)max);
			return -1;
		}
	}
	*out = v;
	return 0;
}

int uhc_parse_cpu_count(const char *s, uint32_t *out, char *err, size_t errlen)
{
	uint64_t v;

	if (uhc_parse_uint(s, UINT32_MAX, &v, err, errlen) != 0) {
		return -1;
	}
	if (v == 0) {
		snprintf(err, errlen, "the CPU count must be at least 1");
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int aff_add(struct uhc_affinity *aff, uint64_t lo, uint64_t hi, char *err, size_t errlen)
{
	uint32_t *c;

	if (hi - lo + 1 > UHC_AFFINITY_MAX || aff->n + (hi - lo + 1) > UHC_AFFINITY_MAX) {
		snprintf(err, errlen, "more than %d CPUs in the affinity list", UHC_AFFINITY_MAX);
		return -1;
	}
	c = realloc(aff->cpus, (aff->n + (size_t)(hi - lo + 1)) * sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	aff->cpus = c;
	for (uint64_t i = lo; i <= hi; i++) {
		aff->cpus[aff->n++] = (uint32_t)i;
	}
	return 0;
}

/* One item "N" or "N-M" of item[0..n). */
static int aff_item(struct uhc_affinity *aff, const char *item, size_t n, char *err, size_t errlen)
{
	char a[32] = "", b[32] = "", why[200], q[80];
	const char *dash = memchr(item, '-', n);
	size_t la = dash != NULL ? (size_t)(dash - item) : n;
	uint64_t lo, hi;

	if (la >= sizeof a || (dash != NULL && n - la - 1 >= sizeof b)) {
		snprintf(err, errlen, "affinity item \"%s\" is too long",
			 uhs_toml_escape(q, sizeof q, item, n, 40));
		return -1;
	}
	memcpy(a, item, la);
	if (dash != NULL) {
		memcpy(b, dash + 1, n - la - 1);
	}
	if (uhc_parse_uint(a, UHC_CPU_ID_MAX, &lo, why, sizeof why) != 0 ||
	    (dash != NULL && uhc_parse_uint(b, UHC_CPU_ID_MAX, &hi, why, sizeof why) != 0)) {
		snprintf(err, errlen, "affinity item \"%s\": %s (CPU numbers are 0-%d)",
			 uhs_toml_escape(q, sizeof q, item, n, 40), why, UHC_CPU_ID_MAX);
		return -1;
	}
	if (dash == NULL) {
		hi = lo;
	}
	if (hi < lo) {
		snprintf(err, errlen, "affinity range \"%s\" is empty (write the lower CPU first)",
			 uhs_toml_escape(q, sizeof q, item, n, 40));
		return -1;
	}
	return aff_add(aff, lo, hi, err, errlen);
}

int uhc_parse_affinity(const char *s, struct uhc_affinity *aff, char *err, size_t errlen)
{
	const char *p = s;

	aff->cpus = NULL;
	aff->n = 0;
	for (;;) {
		size_t n = strcspn(p, ", ");

		if (aff_item(aff, p, n, err, errlen) != 0) {
			free(aff->cpus);
			aff->cpus = NULL;
			aff->n = 0;
			return -1;
		}
		if (p[n] == '\0') {
			return 0;
		}
		p += n + 1;
	}
}

/* Index of s in names[] compared in any ASCII case, or -1. */
static int pick(const char *s, const char *const names[], int count)
{
	for (int i = 0; i < count; i++) {
		if (strcasecmp(s, names[i]) == 0) {
			return i;
		}
	}
	return -1;
}

int uhc_parse_image_mode(const char *s, enum uhc_image_mode *out, char *err, size_t errlen)
{
	static const char *const names[] = {"external", "internal"};
	int i = pick(s, names, 2);
	char q[80];

	if (i < 0) {
		snprintf(err, errlen, "unknown Hermit image mode \"%s\" (external or internal)",
			 quote(q, sizeof q, s));
		return -1;
	}
	*out = (enum uhc_image_mode)i;
	return 0;
}

int uhc_parse_isolation(const char *s, enum uhc_isolation *out, char *err, size_t errlen)
{
	static const char *const names[] = {"none", "normal", "strict"};
	int i = pick(s, names, 3);
	char q[80];

	if (i < 0) {
		snprintf(err, errlen, "unknown file isolation \"%s\" (none, normal or strict)",
			 quote(q, sizeof q, s));
		return -1;
	}
	*out = (enum uhc_isolation)i;
	return 0;
}

int uhc_parse_io_mode(const char *s, struct uhc_io_mode *out, char *err, size_t errlen)
{
	static const char *const names[] = {"default", "host=direct", "host=sync",
					    "host=direct,sync", "host=sync,direct"};
	int i = pick(s, names, 5);
	char q[80];

	if (i < 0) {
		snprintf(err, errlen,
			 "unknown I/O mode \"%s\" (default, host=direct, host=sync or "
			 "host=direct,sync)",
			 quote(q, sizeof q, s));
		return -1;
	}
	out->direct = i == 1 || i >= 3;
	out->sync = i >= 2;
	return 0;
}

int uhc_check_env(const char *s, char *err, size_t errlen)
{
	const char *eq = strchr(s, '=');
	char q[80];

	if (strcmp(s, "host") == 0) {
		snprintf(
		    err, errlen,
		    "\"host\" (pass the host's whole environment to the guest) is accepted only "
		    "on the command line, as -e host");
		return -1;
	}
	if (eq == NULL || eq == s) {
		snprintf(err, errlen, "environment entry \"%s\" is not NAME=VALUE",
			 quote(q, sizeof q, s));
		return -1;
	}
	return 0;
}
