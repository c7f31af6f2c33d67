/* SPDX-License-Identifier: MIT */
/* common.c - what both halves of image/ need: freeing an image and its hermit.toml lists,
 * the kernel's ELF header check and format detection.  Pure (allocation only), and without
 * libarchive, zlib or toml++: the blob checker (uhsimage_blob, linked by the file broker) is
 * this, names.c and blob_load.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hermit_image.h"

static void free_const(const void *p)
{
	free((void *)(uintptr_t)p);
}

static void free_list(const char **l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((void *)(uintptr_t)l[i]);
	}
	free((void *)(uintptr_t)l);
}

void hi_config_free(struct hi_config *cfg)
{
	free_list(cfg->kernel_args, cfg->n_kernel_args);
	free_list(cfg->app_args, cfg->n_app_args);
	free_list(cfg->env_vars, cfg->n_env_vars);
	memset(cfg, 0, sizeof *cfg);
}

void hi_free(struct hermit_image *img)
{
	if (!img->borrowed) {
		for (size_t i = 0; i < img->n_entries; i++) {
			free_const(img->entries[i].name);
			free_const(img->entries[i].data);
		}
		hi_config_free(&img->cfg);
	} else {
		free_const(img->cfg.kernel_args);
		free_const(img->cfg.app_args);
		free_const(img->cfg.env_vars);
	}
	free(img->entries);
	memset(img, 0, sizeof *img);
}

int hi_check_elf(const uint8_t *d, uint64_t size, char *err, size_t errlen)
{
	if (size < 64 || memcmp(d,
				"\x7f"
				"ELF",
				4) != 0) {
		snprintf(err, errlen, "not an ELF file");
		return -1;
	}
	if (d[4] != 2) {
		snprintf(err, errlen, "not a 64-bit ELF file");
		return -1;
	}
	if (d[5] != 1 || (d[18] | d[19] << 8) != 62) {
		snprintf(err, errlen, "not a little-endian x86-64 ELF file");
		return -1;
	}
	return 0;
}

enum hi_format hi_detect_format(const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (len < 4) {
		return HI_FORMAT_UNKNOWN;
	}
	if (memcmp(b,
		   "\x7f"
		   "ELF",
		   4) == 0) {
		return HI_FORMAT_ELF;
	}
	if (b[0] == 0x1f && b[1] == 0x8b && b[2] == 0x08) {
		return HI_FORMAT_GZIP;
	}
	return HI_FORMAT_UNKNOWN;
}
