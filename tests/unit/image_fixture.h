/* SPDX-License-Identifier: MIT */
/* image_fixture.h - builds Hermit image fixtures in memory for tests and fuzz seeds: a tar
 * written by libarchive's write API (pax-restricted, as GNU tar and bsdtar write it), then
 * gzip'd with zlib, so that a test can also damage either layer.  Trusted test code.
 */
#ifndef UHS_IMAGE_FIXTURE_H
#define UHS_IMAGE_FIXTURE_H

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct fx_entry {
	const char *name;
	unsigned type; /* AE_IFREG (0 means AE_IFREG), AE_IFDIR, AE_IFLNK, AE_IFCHR, ... */
	const void *data;
	size_t len;
	const char *link; /* AE_IFLNK: target; with AE_IFREG: a hard link to this name */
};

/* A minimal x86-64 ELF header: all the image checks look at. */
static const unsigned char fx_elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, [16] = 2, 0, 62, 0, 1};

static const char fx_toml[] = "version = \"1\"\n"
			      "kernel = \"/bin/kernel\"\n"
			      "[input]\n"
			      "kernel_args = [\"-freq\", \"2000\"]\n"
			      "app_args = [\"hello\", \"world\"]\n"
			      "env_vars = [\"A=1\", \"host\", \"B=x=y\"]\n"
			      "[requirements]\n"
			      "memory = \"64MiB\"\n"
			      "cpus = 2\n";

/* The uncompressed tar of n entries; *len its size.  NULL on failure. */
static inline unsigned char *fx_tar(const struct fx_entry *e, size_t n, size_t *len)
{
	size_t cap = 8u << 20, used = 0;
	unsigned char *buf = malloc(cap);
	struct archive *a = archive_write_new();
	int ok = buf != NULL && a != NULL && archive_write_set_format_pax_restricted(a) == 0 &&
		 archive_write_set_bytes_in_last_block(a, 1) == 0 &&
		 archive_write_open_memory(a, buf, cap, &used) == 0;

	for (size_t i = 0; ok && i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		unsigned t = e[i].type != 0 ? e[i].type : AE_IFREG;

		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, t);
		archive_entry_set_perm(ae, t == AE_IFDIR ? 0755 : 0644);
		archive_entry_set_size(ae, t == AE_IFREG && e[i].link == NULL ? (la_int64_t)e[i].len
									      : 0);
		if (t == AE_IFLNK) {
			archive_entry_set_symlink(ae, e[i].link);
		} else if (e[i].link != NULL) {
			archive_entry_set_hardlink(ae, e[i].link);
		}
		ok = archive_write_header(a, ae) >= ARCHIVE_WARN;
		if (ok && e[i].len > 0 && t == AE_IFREG && e[i].link == NULL) {
			ok = archive_write_data(a, e[i].data, e[i].len) == (la_ssize_t)e[i].len;
		}
		archive_entry_free(ae);
	}
	ok = ok && archive_write_close(a) == 0;
	archive_write_free(a);
	if (!ok) {
		free(buf);
		return NULL;
	}
	*len = used;
	return buf;
}

/* gzip (one member) of n bytes at d; *len its size. */
static inline unsigned char *fx_gzip(const unsigned char *d, size_t n, size_t *len)
{
	z_stream z = {0};
	size_t cap = n + n / 100 + 1024;
	unsigned char *out = malloc(cap);

	if (out == NULL ||
	    deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)d;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*len = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

/* tar + gzip of n entries. */
static inline unsigned char *fx_image(const struct fx_entry *e, size_t n, size_t *len)
{
	size_t tl;
	unsigned char *t = fx_tar(e, n, &tl), *g;

	if (t == NULL) {
		return NULL;
	}
	g = fx_gzip(t, tl, len);
	free(t);
	return g;
}

#endif
