/* SPDX-License-Identifier: MIT */
/* libs_link.c - config/ and image/ linked the way uhyve-sec is linked (a static PIE by
 * default): builds an image in memory, reads it, writes and re-reads its blob, and parses a
 * uhyve.toml.  Prints one line and exits 0 only if every step worked.  Trusted test code.
 * It writes its tar by hand: libarchive's write API would pull every writer (xar needs
 * libxml2 and ICU) into a static link that uhyve-sec, which only reads tar, never needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_size.h"
#include "hermit_image.h"
#include "image_fixture.h"

/* One ustar member: header and data padded to 512 bytes, at out (zeroed by the caller). */
static size_t ustar(unsigned char *out, const char *name, const void *data, size_t len)
{
	unsigned sum = 0;

	snprintf((char *)out, 100, "%s", name);
	snprintf((char *)out + 100, 8, "%07o", 0644);
	snprintf((char *)out + 108, 8, "%07o", 0);
	snprintf((char *)out + 116, 8, "%07o", 0);
	snprintf((char *)out + 124, 12, "%011zo", len);
	snprintf((char *)out + 136, 12, "%011o", 0);
	out[156] = '0';
	memcpy(out + 257,
	       "ustar\0"
	       "00",
	       8);
	memset(out + 148, ' ', 8);
	for (int i = 0; i < 512; i++) {
		sum += out[i];
	}
	snprintf((char *)out + 148, 8, "%06o", sum);
	memcpy(out + 512, data, len);
	return 512 + (len + 511) / 512 * 512;
}
#include "uhyve_toml.h"

int main(void)
{
	static unsigned char tar[8192];
	size_t tl = 0;
	static const char toml[] = "[memory]\nmemory_size = \"4 GiB\"\n";
	struct hermit_image img, back;
	struct uhyve_config cfg;
	char err[512];
	size_t len, bl;
	unsigned char *g, *blob;

	tl += ustar(tar + tl, "hermit.toml", fx_toml, sizeof fx_toml - 1);
	tl += ustar(tar + tl, "bin/kernel", fx_elf, sizeof fx_elf);
	g = fx_gzip(tar, tl + 1024, &len);

	if (g == NULL || hi_parse(g, len, NULL, &img, err, sizeof err) != 0) {
		printf("libs-link: image: %s\n", g == NULL ? "fixture failed" : err);
		return 1;
	}
	bl = hi_blob_size(&img);
	blob = malloc(bl);
	if (blob == NULL || hi_blob_write(&img, blob, bl) != bl ||
	    hi_blob_load(blob, bl, &back, err, sizeof err) != 0 || back.n_entries != 3) {
		printf("libs-link: blob: %s\n", err);
		return 1;
	}
	if (uhc_parse("uhyve.toml", toml, sizeof toml - 1, &cfg, err, sizeof err) != 0 ||
	    cfg.memory_size != 4ULL << 30) {
		printf("libs-link: toml: %s\n", err);
		return 1;
	}
	printf("libs-link: ok (%zu entries, blob %zu bytes)\n", img.n_entries, bl);
	uhc_free(&cfg);
	hi_free(&back);
	hi_free(&img);
	free(blob);
	free(g);
	return 0;
}
