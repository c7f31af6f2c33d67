/* SPDX-License-Identifier: MIT */
/* blob.c - a validated Hermit image as one flat blob (hermit_blob.h) and the strict reader
 * of such a blob.  The writer trusts its struct hermit_image (hi_parse made it); the reader
 * trusts nothing: the blob may come from a compromised parser process.  Every field is
 * copied out with memcpy, every size is checked with overflow-safe arithmetic against the
 * running position, and everything hi_parse guarantees is checked again.  Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_blob.h"
#include "hermit_image.h"
#include "image_int.h"

#define HDR sizeof(struct hi_blob_header)
#define ENT sizeof(struct hi_blob_entry)
#define STR sizeof(struct hi_blob_str)

static size_t n_strings(const struct hi_config *c)
{
	return c->n_kernel_args + c->n_app_args + c->n_env_vars;
}

static const char *string_at(const struct hi_config *c, size_t i)
{
	if (i < c->n_kernel_args) {
		return c->kernel_args[i];
	}
	i -= c->n_kernel_args;
	return i < c->n_app_args ? c->app_args[i] : c->env_vars[i - c->n_app_args];
}

struct layout {
	uint64_t strings_off, strings_size, data_off, data_size, size;
};

static int plan(const struct hermit_image *img, struct layout *l)
{
	uint64_t s = 0, d = 0, t;

	for (size_t i = 0; i < img->n_entries; i++) {
		if (__builtin_add_overflow(s, img->entries[i].name_len + 1, &s) ||
		    __builtin_add_overflow(d, img->entries[i].size, &d)) {
			return -1;
		}
	}
	for (size_t i = 0; i < n_strings(&img->cfg); i++) {
		if (__builtin_add_overflow(s, strlen(string_at(&img->cfg, i)) + 1, &s)) {
			return -1;
		}
	}
	if (img->n_entries > UINT32_MAX || n_strings(&img->cfg) > UINT32_MAX ||
	    __builtin_mul_overflow((uint64_t)img->n_entries, ENT, &t) ||
	    __builtin_add_overflow(t, HDR + n_strings(&img->cfg) * STR, &l->strings_off) ||
	    __builtin_add_overflow(l->strings_off, s + 7, &t) ||
	    __builtin_add_overflow(t & ~7ULL, d, &l->size) || l->size > SIZE_MAX) {
		return -1;
	}
	l->strings_size = s;
	l->data_off = t & ~7ULL;
	l->data_size = d;
	return 0;
}

size_t hi_blob_size(const struct hermit_image *img)
{
	struct layout l;

	return plan(img, &l) == 0 ? (size_t)l.size : 0;
}

static void put_header(const struct hermit_image *img, const struct layout *l, uint8_t *dst)
{
	struct hi_blob_header h = {
	    .version = HI_BLOB_VERSION,
	    .header_size = HDR,
	    .blob_size = l->size,
	    .n_entries = (uint32_t)img->n_entries,
	    .kernel_entry = (uint32_t)img->cfg.kernel,
	    .config_entry = (uint32_t)img->config_entry,
	    .n_kernel_args = (uint32_t)img->cfg.n_kernel_args,
	    .n_app_args = (uint32_t)img->cfg.n_app_args,
	    .n_env_vars = (uint32_t)img->cfg.n_env_vars,
	    .cpus = img->cfg.cpus,
	    .flags = img->cfg.memory_set ? HI_BLOB_MEMORY : 0,
	    .memory = img->cfg.memory_set ? img->cfg.memory : 0,
	    .total_size = l->data_size,
	    .strings_off = l->strings_off,
	    .strings_size = l->strings_size,
	    .data_off = l->data_off,
	    .data_size = l->data_size,
	};

	memcpy(h.magic, HI_BLOB_MAGIC, sizeof h.magic);
	memcpy(dst, &h, sizeof h);
}

size_t hi_blob_write(const struct hermit_image *img, void *dst, size_t cap)
{
	uint8_t *b = dst;
	struct layout l;
	uint64_t s = 0, d = 0;
	size_t o = HDR;

	if (plan(img, &l) != 0 || l.size > cap) {
		return 0;
	}
	memset(b, 0, (size_t)l.size);
	put_header(img, &l, b);
	for (size_t i = 0; i < img->n_entries; i++, o += ENT) {
		const struct hi_entry *e = &img->entries[i];
		struct hi_blob_entry be = {e->type, e->mode, (uint32_t)e->name_len, 0, s,
					   d,	    e->size};

		memcpy(b + o, &be, sizeof be);
		memcpy(b + l.strings_off + s, e->name, e->name_len);
		s += e->name_len + 1;
		if (e->size > 0) {
			memcpy(b + l.data_off + d, e->data, (size_t)e->size);
		}
		d += e->size;
	}
	for (size_t i = 0; i < n_strings(&img->cfg); i++, o += STR) {
		const char *str = string_at(&img->cfg, i);
		struct hi_blob_str bs = {s, strlen(str)};

		memcpy(b + o, &bs, sizeof bs);
		memcpy(b + l.strings_off + s, str, bs.len);
		s += bs.len + 1;
	}
	return (size_t)l.size;
}
