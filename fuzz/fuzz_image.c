/* SPDX-License-Identifier: MIT */
/* fuzz_image.c - the Hermit image reader (image/archive.c, names.c, hermit_toml.c, with
 * libarchive's tar reader, zlib and toml++ under it) and the image blob writer and checker
 * (image/blob.c, blob_load.c), and the gzip reader of --hermit-image-mode internal
 * (image/gunzip.c, hi_gunzip).
 *
 * Input: the whole input, in a guarded buffer of exactly its size, goes both to hi_parse (as
 * an image, with small caps so that bombs are cheap: 64 entries, 1 MiB per file, 1 MiB in
 * all) and to hi_blob_load (as a blob from a compromised parser process).  Seeds: gzip'd
 * tars (fuzz/corpus/image/seed-*.hermit) and their blobs (seed-*.blob), written by
 * fuzz-gen-image-seeds.
 *
 * Oracles: a refusal is one non-empty line without control characters and leaves the image
 * empty.  An accepted image keeps every promise of hermit_image.h (names pass hi_name_check,
 * strictly sorted, every parent a directory entry, sizes within the caps and adding up,
 * hermit.toml and the kernel are files, the kernel passes the ELF check, environment entries
 * are NAME=VALUE); its blob, written into a guarded buffer of exactly hi_blob_size bytes,
 * passes hi_blob_load, describes the same image, and writes back to the same bytes.  A blob
 * that hi_blob_load accepts is canonical: writing the loaded image gives the input again.
 * hi_gunzip (cap 3 MiB, over what hi_parse inflates under its caps): a refusal is one line and
 * leaves nothing; a result is at most the cap; an image hi_parse accepted always inflates (the same
 * single member).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hermit_blob.h"
#include "hermit_image.h"

#define MAX_INPUT (4U << 20)

static const struct hi_limits g_lim = {64, 1U << 20, 1U << 20};
static struct garena g_in, g_blob;
static bool g_ready;

static void one_line(const char *s, const char *what)
{
	size_t n = strnlen(s, 1024);

	if (n == 0 || n == 1024) {
		FUZZ_BUG("%s: empty or unterminated message", what);
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			FUZZ_BUG("%s: control byte in message: %s", what, s);
		}
	}
}

static void check_list(const char **l, size_t n, bool env)
{
	for (size_t i = 0; i < n; i++) {
		if (l[i] == NULL || strlen(l[i]) > HI_ARG_MAX ||
		    (env && (l[i][0] == '=' || strchr(l[i], '=') == NULL))) {
			FUZZ_BUG("bad argument %zu", i);
		}
	}
}

static void check_image(const struct hermit_image *img, const struct hi_limits *lim)
{
	uint64_t total = 0;
	char why[200];

	if (img->n_entries < 2 || (lim != NULL && img->n_entries > lim->max_entries)) {
		FUZZ_BUG("%zu entries", img->n_entries);
	}
	for (size_t i = 0; i < img->n_entries; i++) {
		const struct hi_entry *e = &img->entries[i];
		const char *slash = memrchr(e->name, '/', e->name_len);

		if (strlen(e->name) != e->name_len ||
		    hi_name_check(e->name, e->name_len, why, sizeof why) != 0) {
			FUZZ_BUG("entry %zu has a bad name: %s", i, why);
		}
		if (i > 0 && strcmp(img->entries[i - 1].name, e->name) >= 0) {
			FUZZ_BUG("entries %zu and %zu out of order", i - 1, i);
		}
		if (slash != NULL) {
			char parent[HI_NAME_MAX + 1];
			long p;

			memcpy(parent, e->name, (size_t)(slash - e->name));
			parent[slash - e->name] = '\0';
			p = hi_find(img, parent);
			if (p < 0 || (size_t)p >= i || img->entries[p].type != HI_DIR) {
				FUZZ_BUG("entry %zu has no parent directory entry", i);
			}
		}
		if ((e->type == HI_DIR && (e->size != 0 || e->data != NULL)) ||
		    (e->type == HI_FILE &&
		     (e->data == NULL || (lim != NULL && e->size > lim->max_entry_size))) ||
		    (e->type != HI_DIR && e->type != HI_FILE) || e->mode > 0777) {
			FUZZ_BUG("entry %zu: bad type, size or mode", i);
		}
		total += e->size;
	}
	if (total != img->total_size || (lim != NULL && total > lim->max_total_size)) {
		FUZZ_BUG("sizes do not add up");
	}
	if (img->config_entry >= img->n_entries || img->cfg.kernel >= img->n_entries ||
	    strcmp(img->entries[img->config_entry].name, HI_CONFIG_NAME) != 0 ||
	    img->entries[img->cfg.kernel].type != HI_FILE ||
	    hi_check_elf(img->entries[img->cfg.kernel].data, img->entries[img->cfg.kernel].size,
			 why, sizeof why) != 0) {
		FUZZ_BUG("hermit.toml or kernel entry wrong");
	}
	check_list(img->cfg.kernel_args, img->cfg.n_kernel_args, false);
	check_list(img->cfg.app_args, img->cfg.n_app_args, false);
	check_list(img->cfg.env_vars, img->cfg.n_env_vars, true);
}

static void same(const struct hermit_image *a, const struct hermit_image *b)
{
	if (a->n_entries != b->n_entries || a->cfg.kernel != b->cfg.kernel ||
	    a->config_entry != b->config_entry || a->cfg.memory_set != b->cfg.memory_set ||
	    a->cfg.memory != b->cfg.memory || a->cfg.cpus != b->cfg.cpus ||
	    a->cfg.n_kernel_args != b->cfg.n_kernel_args ||
	    a->cfg.n_app_args != b->cfg.n_app_args || a->cfg.n_env_vars != b->cfg.n_env_vars ||
	    a->total_size != b->total_size) {
		FUZZ_BUG("the blob describes another image");
	}
	for (size_t i = 0; i < a->n_entries; i++) {
		const struct hi_entry *x = &a->entries[i], *y = &b->entries[i];

		if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) != 0 ||
		    x->type != y->type || x->mode != y->mode || x->size != y->size ||
		    (x->size > 0 && memcmp(x->data, y->data, (size_t)x->size) != 0)) {
			FUZZ_BUG("entry %zu differs in the blob", i);
		}
	}
	for (size_t i = 0; i < a->cfg.n_env_vars; i++) {
		if (strcmp(a->cfg.env_vars[i], b->cfg.env_vars[i]) != 0) {
			FUZZ_BUG("env var %zu differs in the blob", i);
		}
	}
	for (size_t i = 0; i < a->cfg.n_app_args; i++) {
		if (strcmp(a->cfg.app_args[i], b->cfg.app_args[i]) != 0) {
			FUZZ_BUG("app arg %zu differs in the blob", i);
		}
	}
	for (size_t i = 0; i < a->cfg.n_kernel_args; i++) {
		if (strcmp(a->cfg.kernel_args[i], b->cfg.kernel_args[i]) != 0) {
			FUZZ_BUG("kernel arg %zu differs in the blob", i);
		}
	}
}

/* The image's blob must load back into the same image and write back to the same bytes. */
static void round_trip(const struct hermit_image *img)
{
	size_t n = hi_blob_size(img);
	uint8_t *b, *again;
	struct hermit_image back;
	char err[1024];

	if (n == 0 || n > MAX_INPUT * 2) {
		FUZZ_BUG("blob size %zu", n);
	}
	b = garena_place(&g_blob, n);
	if (hi_blob_write(img, b, n) != n) {
		FUZZ_BUG("hi_blob_write failed");
	}
	if (hi_blob_load(b, n, &back, err, sizeof err) != 0) {
		FUZZ_BUG("the checker refuses the writer's blob: %s", err);
	}
	same(img, &back);
	again = malloc(n);
	if (again == NULL || hi_blob_write(&back, again, n) != n || memcmp(again, b, n) != 0) {
		FUZZ_BUG("the blob does not write back to the same bytes");
	}
	free(again);
	hi_free(&back);
	garena_check(&g_blob, "hi_blob_write");
}

static void as_blob(const uint8_t *in, size_t size)
{
	struct hermit_image img;
	char err[1024];
	uint8_t *again;

	if (hi_blob_load(in, size, &img, err, sizeof err) != 0) {
		one_line(err, "hi_blob_load");
		if (img.entries != NULL || img.n_entries != 0) {
			FUZZ_BUG("a refused blob left tables behind");
		}
		return;
	}
	check_image(&img, NULL);
	again = malloc(size);
	if (again == NULL || hi_blob_write(&img, again, size) != size ||
	    memcmp(again, in, size) != 0) {
		FUZZ_BUG("an accepted blob is not canonical");
	}
	free(again);
	hi_free(&img);
}

static void as_gzip(const uint8_t *in, size_t size, bool accepted)
{
	uint8_t *out = (uint8_t *)1;
	size_t n = 1;
	char err[1024];

	if (hi_gunzip(in, size, 2U << 20, &out, &n, err, sizeof err) != 0) {
		one_line(err, "hi_gunzip");
		if (out != NULL || n != 0) {
			FUZZ_BUG("a refused gzip stream left output behind");
		}
		if (accepted) {
			FUZZ_BUG("hi_parse accepted an image hi_gunzip refuses: %s", err);
		}
		return;
	}
	if (n > (3U << 20)) {
		FUZZ_BUG("hi_gunzip gave %zu bytes, over its cap", n);
	}
	if (n > 0) {
		out[n - 1] ^= 1; /* the whole buffer is writable memory */
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool accepted = false;

	struct hermit_image img;
	char err[1024];
	uint8_t *in;

	if (size > MAX_INPUT) {
		return 0;
	}
	if (!g_ready) {
		garena_init(&g_in, MAX_INPUT);
		garena_init(&g_blob, MAX_INPUT * 2);
		g_ready = true;
	}
	in = garena_place(&g_in, size > 0 ? size : 1);
	memcpy(in, data, size);
	if (hi_parse(in, size, &g_lim, &img, err, sizeof err) == 0) {
		check_image(&img, &g_lim);
		round_trip(&img);
		hi_free(&img);
		accepted = true;
	} else {
		one_line(err, "hi_parse");
		if (img.entries != NULL || img.n_entries != 0) {
			FUZZ_BUG("a refused image left entries behind");
		}
	}
	as_blob(in, size);
	as_gzip(in, size, accepted);
	garena_check(&g_in, "hi_parse");
	return 0;
}
