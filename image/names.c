/* SPDX-License-Identifier: MIT */
/* names.c - entry names of a Hermit image: normalisation of the names an archive carries,
 * the check every name of a validated table passes (also applied to blobs), and the table
 * itself: sorted, no duplicates, every parent a directory (created where the archive had
 * none), no file that is also a directory.  Pure; names are hostile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_image.h"
#include "image_int.h"
#include "uhs_toml.h"

/* Length of the valid UTF-8 sequence at s[0..n) (no overlongs, surrogates or > U+10FFFF),
 * or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t k;
	unsigned lo = 0x80, hi = 0xbf;

	if (c < 0x80) {
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < k || s[1] < lo || s[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < k; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf) {
			return 0;
		}
	}
	return k;
}

/* Characters: valid UTF-8, no control characters (C0, DEL). */
static const char *check_chars(const char *name, size_t n)
{
	const unsigned char *s = (const unsigned char *)name;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(s + i, n - i);

		if (k == 0) {
			return "not valid UTF-8";
		}
		if (k == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
			return "a control character in the name";
		}
		i += k;
	}
	return NULL;
}

int hi_name_check(const char *name, size_t n, char *err, size_t errlen)
{
	const char *why = NULL;
	size_t comp = 0;

	if (n == 0) {
		why = "empty name";
	} else if (n > HI_NAME_MAX) {
		why = "name longer than 1024 bytes";
	} else if (memchr(name, '\0', n) != NULL) {
		why = "a NUL byte in the name";
	} else {
		why = check_chars(name, n);
	}
	for (size_t i = 0; why == NULL && i <= n; i++) {
		if (i < n && name[i] != '/') {
			comp++;
			continue;
		}
		if (comp == 0) {
			why = "an empty component, or a leading or trailing '/'";
		} else if (comp > HI_COMPONENT_MAX) {
			why = "a component longer than 255 bytes";
		} else if ((comp == 1 && name[i - 1] == '.') ||
			   (comp == 2 && name[i - 1] == '.' && name[i - 2] == '.')) {
			why = "a \".\" or \"..\" component";
		}
		comp = 0;
	}
	if (why == NULL) {
		return 0;
	}
	snprintf(err, errlen, "%s", why);
	return -1;
}

int hi_normalise(const char *raw, bool allow_absolute, char *out, size_t outcap, char *err,
		 size_t errlen)
{
	size_t n = strlen(raw), o = 0;

	if (raw[0] == '/' && !allow_absolute) {
		snprintf(err, errlen, "absolute entry name");
		return -1;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && raw[j] != '/') {
			j++;
		}
		if (j - i == 2 && raw[i] == '.' && raw[i + 1] == '.') {
			snprintf(err, errlen, "\"..\" in the name");
			return -1;
		}
		if (j > i && !(j - i == 1 && raw[i] == '.')) {
			if (o + (o > 0) + (j - i) >= outcap) {
				snprintf(err, errlen, "name longer than %d bytes", HI_NAME_MAX);
				return -1;
			}
			if (o > 0) {
				out[o++] = '/';
			}
			memcpy(out + o, raw + i, j - i);
			o += j - i;
		}
		i = j + 1;
	}
	out[o] = '\0';
	return o == 0 ? 0 : hi_name_check(out, o, err, errlen);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct hi_entry *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	return c != 0 ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

long hi_find_in(const struct hi_entry *e, size_t n, const char *name, size_t len)
{
	struct hi_entry key = {.name = name, .name_len = len};
	const struct hi_entry *f = bsearch(&key, e, n, sizeof *e, cmp_entry);

	return f == NULL ? -1 : (long)(f - e);
}

long hi_find(const struct hermit_image *img, const char *name)
{
	return hi_find_in(img->entries, img->n_entries, name, strlen(name));
}

static void quote_name(char *q, size_t cap, const char *s, size_t n)
{
	uhs_toml_escape(q, cap, s, n, 120);
}

int hi_table_add(struct hi_table *t, const struct hi_entry *e)
{
	if (t->n == t->cap) {
		size_t cap = t->cap == 0 ? 64 : t->cap * 2;
		struct hi_entry *ne = realloc(t->e, cap * sizeof *ne);

		if (ne == NULL) {
			return -1;
		}
		t->e = ne;
		t->cap = cap;
	}
	t->e[t->n++] = *e;
	return 0;
}

int hi_table_add_dir(struct hi_table *t, const char *name, size_t len, uint32_t max_entries,
		     char *err, size_t errlen)
{
	struct hi_entry e = {.type = HI_DIR, .mode = 0755, .name_len = len};
	char *n;

	if (t->n >= max_entries) {
		snprintf(err, errlen, "more than %u entries (directories included)", max_entries);
		return -1;
	}
	n = malloc(len + 1);
	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(n, name, len);
	n[len] = '\0';
	e.name = n;
	if (hi_table_add(t, &e) != 0) {
		free(n);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Directory entries for the parents the archive did not list (t sorted, no duplicates);
 * fails on a file that has entries below it. */
static int add_parents(struct hi_table *t, uint32_t max_entries, char *err, size_t errlen)
{
	size_t n = t->n;
	char q[400], p[400];

	for (size_t i = 0; i < n; i++) {
		const struct hi_entry *e = &t->e[i];

		for (size_t k = 0; k < e->name_len; k++) {
			long f;

			if (e->name[k] != '/') {
				continue;
			}
			/* names below one parent are contiguous in sorted order: the previous
			 * entry shows whether this parent was handled already */
			if (i > 0 && t->e[i - 1].name_len > k &&
			    memcmp(t->e[i - 1].name, e->name, k + 1) == 0) {
				continue;
			}
			f = hi_find_in(t->e, n, e->name, k);
			if (f >= 0 && t->e[f].type == HI_FILE) {
				quote_name(q, sizeof q, e->name, e->name_len);
				quote_name(p, sizeof p, e->name, k);
				snprintf(err, errlen, "entry \"%s\" lies below the file \"%s\"", q,
					 p);
				return -1;
			}
			if (f < 0 &&
			    hi_table_add_dir(t, e->name, k, max_entries, err, errlen) != 0) {
				return -1;
			}
			e = &t->e[i]; /* the table may have moved */
		}
	}
	return 0;
}

int hi_table_finish(struct hi_table *t, uint32_t max_entries, char *err, size_t errlen)
{
	char q[400];

	qsort(t->e, t->n, sizeof *t->e, cmp_entry);
	for (size_t i = 1; i < t->n; i++) {
		if (cmp_entry(&t->e[i - 1], &t->e[i]) == 0) {
			quote_name(q, sizeof q, t->e[i].name, t->e[i].name_len);
			snprintf(err, errlen, "duplicate entry \"%s\"", q);
			return -1;
		}
	}
	if (add_parents(t, max_entries, err, errlen) != 0) {
		return -1;
	}
	qsort(t->e, t->n, sizeof *t->e, cmp_entry);
	return 0;
}
