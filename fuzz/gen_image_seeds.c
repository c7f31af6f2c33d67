/* SPDX-License-Identifier: MIT */
/* gen_image_seeds.c - writes the seeds of the 'image' fuzz target: a few valid Hermit images
 * (gzip'd tar, built with libarchive's write API like the unit tests' fixtures) and the blob
 * of each.
 *
 *   fuzz-gen-image-seeds DIR     (writes DIR/seed-*.hermit and DIR/seed-*.blob)
 *
 * Trusted tool; the seeds are checked in as fuzz/corpus/image/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_image.h"
#include "image_fixture.h"

static int put(const char *dir, const char *name, const void *d, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(d, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int seed(const char *dir, const char *name, const struct fx_entry *e, size_t n)
{
	size_t len, bl;
	unsigned char *g = fx_image(e, n, &len), *b;
	struct hermit_image img;
	char err[512], fn[128];
	int rc;

	if (g == NULL || hi_parse(g, len, NULL, &img, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", name, g == NULL ? "fixture failed" : err);
		return -1;
	}
	bl = hi_blob_size(&img);
	b = malloc(bl);
	snprintf(fn, sizeof fn, "seed-%s.hermit", name);
	rc = put(dir, fn, g, len);
	snprintf(fn, sizeof fn, "seed-%s.blob", name);
	rc |= b == NULL || hi_blob_write(&img, b, bl) != bl ? -1 : put(dir, fn, b, bl);
	hi_free(&img);
	free(b);
	free(g);
	return rc;
}

int main(int argc, char **argv)
{
	static const char minimal[] = "version = \"1\"\nkernel = \"k\"\n[input]\nkernel_args = "
				      "[]\napp_args = []\n";
	const struct fx_entry full[] = {
	    {"./", AE_IFDIR, NULL, 0, NULL},
	    {"./hermit.toml", 0, fx_toml, sizeof fx_toml - 1, NULL},
	    {"./bin/", AE_IFDIR, NULL, 0, NULL},
	    {"./bin/kernel", 0, fx_elf, sizeof fx_elf, NULL},
	    {"./data/a/b.txt", 0, "hello\n", 6, NULL},
	    {"./data/empty", 0, NULL, 0, NULL},
	};
	const struct fx_entry small[] = {
	    {"hermit.toml", 0, minimal, sizeof minimal - 1, NULL},
	    {"k", 0, fx_elf, sizeof fx_elf, NULL},
	};

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-gen-image-seeds DIR\n");
		return 2;
	}
	return seed(argv[1], "full", full, 6) != 0 || seed(argv[1], "small", small, 2) != 0;
}
