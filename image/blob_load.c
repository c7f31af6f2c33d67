/* SPDX-License-Identifier: MIT */
/* blob_load.c - hi_blob_load: the strict reader of an image blob (hermit_blob.h).  Trusts
 * nothing in the blob (it may come from a compromised parser process) except that it does
 * not change while it is read (a sealed memfd or a private copy).  Every field is copied out
 * with memcpy; every offset must equal the running position, so bounds, overlaps, order and
 * NUL termination are one comparison each.  Pure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_blob.h"
#include "hermit_image.h"
#include "image_int.h"

struct chk {
	const uint8_t *b;
	size_t len;
	struct hi_blob_header h;
	uint64_t s_pos, d_pos; /* running positions in the string and data areas */
	char *err;
	size_t errlen;
};

static int bad(struct chk *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct chk *c, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "image blob: %s", msg);
	return -1;
}

static int check_header(struct chk *c)
{
	const struct hi_blob_header *h = &c->h;
	uint64_t t, nstr, end;

	if (c->len < sizeof *h) {
		return bad(c, "shorter than its header");
	}
	memcpy(&c->h, c->b, sizeof c->h);
	if (memcmp(h->magic, HI_BLOB_MAGIC, sizeof h->magic) != 0 ||
	    h->version != HI_BLOB_VERSION || h->header_size != sizeof *h) {
		return bad(c, "wrong magic, version or header size");
	}
	nstr = (uint64_t)h->n_kernel_args + h->n_app_args + h->n_env_vars;
	if (h->blob_size != c->len || (h->flags & ~HI_BLOB_MEMORY) != 0 ||
	    ((h->flags & HI_BLOB_MEMORY) == 0 && h->memory != 0) || h->n_entries < 2) {
		return bad(c, "inconsistent header");
	}
	t = sizeof *h + (uint64_t)h->n_entries * sizeof(struct hi_blob_entry) +
	    nstr * sizeof(struct hi_blob_str); /* < 2^32 * 40 + 2^34 * 16: no overflow */
	if (h->strings_off != t || __builtin_add_overflow(t, h->strings_size, &end) ||
	    end > c->len || h->data_off != ((end + 7) & ~7ULL) ||
	    __builtin_add_overflow(h->data_off, h->data_size, &t) || t != c->len ||
	    h->total_size != h->data_size) {
		return bad(c, "areas do not tile the blob");
	}
	for (uint64_t i = end; i < h->data_off; i++) {
		if (c->b[i] != 0) {
			return bad(c, "non-zero padding");
		}
	}
	return 0;
}

/* A string of len bytes at the running position of the string area, NUL-terminated. */
static const char *take_string(struct chk *c, uint64_t off, uint64_t len, const char *what)
{
	const char *s;

	/* off == s_pos <= strings_size, so the pointer below stays inside the blob */
	if (off != c->s_pos || len >= c->h.strings_size - off) {
		bad(c, "%s: bad string reference", what);
		return NULL;
	}
	s = (const char *)c->b + c->h.strings_off + off;
	if (s[len] != '\0' || memchr(s, '\0', (size_t)len) != NULL) {
		bad(c, "%s: bad string reference", what);
		return NULL;
	}
	c->s_pos += len + 1;
	return s;
}

static int check_entry(struct chk *c, struct hermit_image *img, size_t i)
{
	struct hi_blob_entry be;
	struct hi_entry *e = &img->entries[i];
	char why[200];
	const char *slash;

	memcpy(&be, c->b + sizeof c->h + i * sizeof be, sizeof be);
	if ((be.type != HI_DIR && be.type != HI_FILE) || (be.mode & ~0777U) != 0 ||
	    be.reserved != 0 || (be.type == HI_DIR && be.size != 0)) {
		return bad(c, "entry %zu: bad type, mode or size", i);
	}
	e->name = take_string(c, be.name_off, be.name_len, "entry name");
	if (e->name == NULL) {
		return -1;
	}
	e->name_len = be.name_len;
	e->type = (enum hi_type)be.type;
	e->mode = be.mode;
	e->size = be.size;
	if (hi_name_check(e->name, e->name_len, why, sizeof why) != 0) {
		return bad(c, "entry %zu: %s", i, why);
	}
	if (be.data_off != c->d_pos || be.size > c->h.data_size - c->d_pos) {
		return bad(c, "entry %zu: data out of place", i);
	}
	e->data = be.type == HI_FILE ? c->b + c->h.data_off + be.data_off : NULL;
	c->d_pos += be.size;
	if (i > 0 && strcmp(img->entries[i - 1].name, e->name) >= 0) {
		return bad(c, "entry %zu: not sorted (or a duplicate)", i);
	}
	slash = strrchr(e->name, '/');
	if (slash != NULL) {
		long p = hi_find_in(img->entries, i, e->name, (size_t)(slash - e->name));

		if (p < 0 || img->entries[p].type != HI_DIR) {
			return bad(c, "entry %zu: its parent is not a directory entry", i);
		}
	}
	return 0;
}

static int check_strings(struct chk *c, const char **list, size_t n, size_t first, bool env)
{
	for (size_t i = 0; i < n; i++) {
		struct hi_blob_str bs;

		memcpy(&bs,
		       c->b + sizeof c->h + c->h.n_entries * sizeof(struct hi_blob_entry) +
			   (first + i) * sizeof bs,
		       sizeof bs);
		list[i] = take_string(c, bs.off, bs.len, "argument");
		if (list[i] == NULL) {
			return -1;
		}
		if (bs.len > HI_ARG_MAX ||
		    (env && (list[i][0] == '=' || strchr(list[i], '=') == NULL))) {
			return bad(c, "argument %zu: too long or not NAME=VALUE", first + i);
		}
	}
	return 0;
}

static int check_refs(struct chk *c, struct hermit_image *img)
{
	const struct hi_entry *k, *cf;
	char why[200];

	if (c->s_pos != c->h.strings_size || c->d_pos != c->h.data_size) {
		return bad(c, "areas hold bytes no entry uses");
	}
	if (c->h.kernel_entry >= img->n_entries || c->h.config_entry >= img->n_entries) {
		return bad(c, "kernel or hermit.toml index out of range");
	}
	k = &img->entries[c->h.kernel_entry];
	cf = &img->entries[c->h.config_entry];
	if (cf->type != HI_FILE || strcmp(cf->name, HI_CONFIG_NAME) != 0 || k->type != HI_FILE) {
		return bad(c, "kernel or hermit.toml is not the right file");
	}
	if (hi_check_elf(k->data, k->size, why, sizeof why) != 0) {
		return bad(c, "kernel: %s", why);
	}
	img->cfg.kernel = c->h.kernel_entry;
	img->config_entry = c->h.config_entry;
	img->cfg.cpus = c->h.cpus;
	img->cfg.memory_set = (c->h.flags & HI_BLOB_MEMORY) != 0;
	img->cfg.memory = c->h.memory;
	img->total_size = c->h.total_size;
	return 0;
}

static int load(struct chk *c, struct hermit_image *img)
{
	const struct hi_blob_header *h = &c->h;
	struct hi_config *cfg = &img->cfg;

	img->entries = calloc(h->n_entries, sizeof *img->entries);
	cfg->kernel_args = calloc(h->n_kernel_args + 1, sizeof *cfg->kernel_args);
	cfg->app_args = calloc(h->n_app_args + 1, sizeof *cfg->app_args);
	cfg->env_vars = calloc(h->n_env_vars + 1, sizeof *cfg->env_vars);
	if (img->entries == NULL || cfg->kernel_args == NULL || cfg->app_args == NULL ||
	    cfg->env_vars == NULL) {
		return bad(c, "out of memory");
	}
	for (size_t i = 0; i < h->n_entries; i++) {
		img->n_entries = i + 1;
		if (check_entry(c, img, i) != 0) {
			return -1;
		}
	}
	cfg->n_kernel_args = h->n_kernel_args;
	cfg->n_app_args = h->n_app_args;
	cfg->n_env_vars = h->n_env_vars;
	if (check_strings(c, cfg->kernel_args, h->n_kernel_args, 0, false) != 0 ||
	    check_strings(c, cfg->app_args, h->n_app_args, h->n_kernel_args, false) != 0 ||
	    check_strings(c, cfg->env_vars, h->n_env_vars, h->n_kernel_args + h->n_app_args,
			  true) != 0) {
		return -1;
	}
	return check_refs(c, img);
}

int hi_blob_load(const void *blob, size_t len, struct hermit_image *img, char *err, size_t errlen)
{
	struct chk c = {.b = blob, .len = len, .err = err, .errlen = errlen};
	int rc;

	memset(img, 0, sizeof *img);
	img->borrowed = true;
	rc = check_header(&c);
	if (rc == 0) {
		rc = load(&c, img);
	}
	if (rc != 0) {
		hi_free(img);
	}
	return rc;
}
