/* SPDX-License-Identifier: MIT */
/* byte_size.c - uhyve's size syntax (byte_size.h has the grammar).  Pure; the text is
 * untrusted: every arithmetic step is bounded (96-bit mantissa, 192-bit product).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "byte_size.h"
#include "uhs_toml.h"

#define MANT_MAX_HI 0xffffffffULL /* mantissa < 2^96: high 32 bits of a 128-bit value */
#define MAX_SCALE   28

struct num {
	unsigned __int128 mant; /* digits so far, < 2^96 */
	unsigned scale; /* digits after the point that are in mant */
	bool sticky; /* a non-zero digit was dropped (beyond 96 bits): round up */
};

/* Length of the Unicode White_Space character (Rust's char::is_whitespace) that starts at
 * s[0..n), or 0. */
static size_t ws_at(const unsigned char *s, size_t n)
{
	if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0d) || s[0] == 0x20)) {
		return 1;
	}
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) {
		return 2;
	}
	if (n < 3) {
		return 0;
	}
	if ((s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) ||
	    (s[0] == 0xe2 && s[1] == 0x80 &&
	     ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf)) ||
	    (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) ||
	    (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)) {
		return 3;
	}
	return 0;
}

/* Length of a white-space character that ends at s[n), or 0. */
static size_t ws_before(const unsigned char *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++) {
		if (ws_at(s + n - k, k) == k) {
			return k;
		}
	}
	return 0;
}

static void trim(const char **s, size_t *n)
{
	const unsigned char *u = (const unsigned char *)*s;
	size_t k;

	while ((k = ws_at(u, *n)) > 0) {
		u += k;
		*n -= k;
	}
	while ((k = ws_before(u, *n)) > 0) {
		*n -= k;
	}
	*s = (const char *)u;
}

static bool push_digit(struct num *v, unsigned d)
{
	unsigned __int128 m = v->mant * 10 + d;

	if ((uint64_t)(m >> 64) > MANT_MAX_HI) {
		return false;
	}
	v->mant = m;
	return true;
}

/* Reads DIGITS [. DIGITS] [spaces]; *i is left at the unit.  Returns NULL or a reason. */
static const char *read_number(const char *s, size_t n, size_t *i, struct num *v)
{
	size_t j = 0;

	if (n == 0) {
		return "no number";
	}
	while (j < n && s[j] >= '0' && s[j] <= '9') {
		if (!push_digit(v, (unsigned)(s[j++] - '0'))) {
			return "too many digits";
		}
	}
	if (j == 0) {
		return "it must start with a digit";
	}
	if (j < n && s[j] == '.') {
		if (++j >= n || s[j] < '0' || s[j] > '9') {
			return "a '.' must be followed by a digit";
		}
		unsigned fd = 0;
		bool full = false;

		for (; j < n && s[j] >= '0' && s[j] <= '9'; j++) {
			unsigned d = (unsigned)(s[j] - '0');

			if (++fd > MAX_SCALE) {
				return "more than 28 digits after the point";
			}
			if (!full && push_digit(v, d)) {
				v->scale++;
			} else {
				full = true;
				v->sticky |= d != 0;
			}
		}
	}
	while (j < n && s[j] == ' ') {
		j++;
	}
	*i = j;
	return NULL;
}

static bool is_bit_suffix(const char *s, size_t n)
{
	/* "it" or "its", any case (byte-unit's read_b after the 'b') */
	return (n == 2 || n == 3) && (s[0] | 0x20) == 'i' && (s[1] | 0x20) == 't' &&
	       (n == 2 || (s[2] | 0x20) == 's');
}

/* Parses the unit u[0..n): *bits_per = bits per unit (8 for a byte).  Returns NULL or a
 * reason.  Mirrors byte-unit's read_xib with ignore_case = false, prefer_byte = true; with
 * `binary` every prefix means its power of 1024 ("M" = "Mi"). */
static const char *read_unit(const char *u, size_t n, bool binary, unsigned __int128 *bits_per)
{
	static const char prefixes[] = "KMGTPE";
	const char *p;
	unsigned k;
	bool bin = binary, byte = true;

	*bits_per = 8;
	if (n == 0) {
		return NULL;
	}
	if ((u[0] | 0x20) == 'b') {
		*bits_per = u[0] == 'B' && n == 1 ? 8 : 1;
		return n == 1 || is_bit_suffix(u + 1, n - 1) ? NULL : "unknown unit";
	}
	p = u[0] >= 'a' && u[0] <= 'z' ? strchr(prefixes, u[0] - 'a' + 'A')
				       : strchr(prefixes, u[0]);
	if (p == NULL || u[0] == '\0') {
		return "unknown unit";
	}
	k = (unsigned)(p - prefixes) + 1;
	u++;
	n--;
	if (n > 0 && (u[0] | 0x20) == 'i') {
		bin = true;
		u++;
		n--;
	}
	if (n > 0) {
		if ((u[0] | 0x20) != 'b' || (n > 1 && !is_bit_suffix(u + 1, n - 1))) {
			return "unknown unit";
		}
		byte = u[0] == 'B' && n == 1;
	}
	*bits_per = 1;
	for (unsigned i = 0; i < k; i++) {
		*bits_per *= bin ? 1024 : 1000;
	}
	if (byte) {
		*bits_per *= 8;
	}
	return NULL;
}

/* 192-bit unsigned arithmetic, least significant limb first. */
struct u192 {
	uint64_t w[3];
};

static void mul_small(struct u192 *x, uint64_t m)
{
	unsigned __int128 carry = 0;

	for (int i = 0; i < 3; i++) {
		unsigned __int128 t = (unsigned __int128)x->w[i] * m + carry;

		x->w[i] = (uint64_t)t;
		carry = t >> 64;
	}
}

/* x /= d; returns true if the remainder is non-zero. */
static bool div_small(struct u192 *x, uint64_t d)
{
	unsigned __int128 rem = 0;

	for (int i = 2; i >= 0; i--) {
		unsigned __int128 cur = (rem << 64) | x->w[i];

		x->w[i] = (uint64_t)(cur / d);
		rem = cur % d;
	}
	return rem != 0;
}

/* ceil(v * bits_per / 8) as bytes; false if it does not fit in 64 bits. */
static bool scale_value(const struct num *v, unsigned __int128 bits_per, uint64_t *out)
{
	struct u192 x = {{(uint64_t)v->mant, (uint64_t)(v->mant >> 64), 0}};
	bool round = v->sticky;
	unsigned s = v->scale;

	/* bits_per <= 8 * 1024^6 = 2^63: one limb */
	mul_small(&x, (uint64_t)bits_per);
	round |= div_small(&x, 8);
	for (; s >= 19; s -= 19) {
		round |= div_small(&x, 10000000000000000000ULL);
	}
	if (s > 0) {
		uint64_t p = 1;

		while (s-- > 0) {
			p *= 10;
		}
		round |= div_small(&x, p);
	}
	if (x.w[1] != 0 || x.w[2] != 0 || (round && x.w[0] == UINT64_MAX)) {
		return false;
	}
	*out = x.w[0] + (round ? 1 : 0);
	return true;
}

static int parse_size(const char *s, size_t n, bool binary, uint64_t *bytes, char *err,
		      size_t errlen)
{
	struct num v = {0, 0, false};
	unsigned __int128 bits_per;
	const char *why;
	size_t i = 0;
	char q[100];

	trim(&s, &n);
	why = read_number(s, n, &i, &v);
	if (why == NULL) {
		why = read_unit(s + i, n - i, binary, &bits_per);
	}
	if (why == NULL && !scale_value(&v, bits_per, bytes)) {
		why = "more than 2^64-1 bytes";
	}
	if (why == NULL) {
		return 0;
	}
	uhs_toml_escape(q, sizeof q, s, n, 40);
	if (strcmp(why, "unknown unit") == 0) {
		snprintf(err, errlen,
			 "invalid size \"%s\": unknown unit (B, K, KB, KiB, M, MB, MiB, G, GB, "
			 "GiB, T, P, E; lower-case b and bit mean bits)",
			 q);
	} else {
		snprintf(err, errlen, "invalid size \"%s\": %s", q, why);
	}
	return -1;
}

int uhs_parse_size(const char *s, size_t n, uint64_t *bytes, char *err, size_t errlen)
{
	return parse_size(s, n, false, bytes, err, errlen);
}

int uhs_parse_size_binary(const char *s, size_t n, uint64_t *bytes, char *err, size_t errlen)
{
	return parse_size(s, n, true, bytes, err, errlen);
}

static void human(char *dst, size_t cap, uint64_t b)
{
	if (b % (1ULL << 30) == 0 && b > 0) {
		snprintf(dst, cap, "%llu GiB", (unsigned long long)(b >> 30));
	} else if (b % (1ULL << 20) == 0 && b > 0) {
		snprintf(dst, cap, "%llu MiB", (unsigned long long)(b >> 20));
	} else {
		snprintf(dst, cap, "%llu bytes", (unsigned long long)b);
	}
}

int uhs_check_memory_size(uint64_t bytes, char *err, size_t errlen)
{
	char h[48];

	human(h, sizeof h, bytes);
	if (bytes < UHS_MEMORY_MIN) {
		snprintf(err, errlen, "not enough guest memory: must be at least 16 MiB (is %s)",
			 h);
		return -1;
	}
	if (bytes % UHS_MEMORY_ALIGN != 0) {
		snprintf(err, errlen, "guest memory must be a multiple of 2 MiB (is %s)", h);
		return -1;
	}
	return 0;
}
