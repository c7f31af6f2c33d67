/* SPDX-License-Identifier: MIT */
/* gunzip.c - the decompressed tar of a Hermit image, for --hermit-image-mode internal (the
 * guest gets the tar itself, as uhyve gives it).  Pure: zlib and allocation only.  Trusts
 * nothing: one gzip member, inflated into at most `cap` bytes, nothing after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hermit_image.h"

#define STEP (1U << 20)

static int grow(uint8_t **out, size_t *have, size_t want, uint64_t cap)
{
	size_t n = want > cap ? (size_t)cap : want;
	uint8_t *p = realloc(*out, n > 0 ? n : 1);

	if (p == NULL) {
		return -1;
	}
	*out = p;
	*have = n;
	return 0;
}

static int inflate_all(z_stream *z, uint64_t cap, uint8_t **out, size_t *outlen, char *err,
		       size_t errlen)
{
	size_t have = 0;
	int rc = Z_OK;

	while (rc != Z_STREAM_END) {
		if (z->total_out == have) {
			if (have >= cap) {
				snprintf(err, errlen,
					 "the uncompressed image is larger than %llu bytes",
					 (unsigned long long)cap);
				return -1;
			}
			if (grow(out, &have, have + STEP, cap) != 0) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
		z->next_out = *out + z->total_out;
		z->avail_out = (uInt)(have - z->total_out);
		rc = inflate(z, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			snprintf(err, errlen, "%s gzip stream",
				 rc == Z_BUF_ERROR ? "truncated" : "corrupt");
			return -1;
		}
	}
	*outlen = z->total_out;
	return 0;
}

int hi_gunzip(const void *buf, size_t len, uint64_t cap, uint8_t **out, size_t *outlen, char *err,
	      size_t errlen)
{
	z_stream z;
	int rc;

	*out = NULL;
	*outlen = 0;
	memset(&z, 0, sizeof z);
	if (len > UINT32_MAX || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		snprintf(err, errlen, "cannot inflate the image");
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)buf;
	z.avail_in = (uInt)len;
	rc = inflate_all(&z, cap, out, outlen, err, errlen);
	if (rc == 0 && z.avail_in != 0) {
		snprintf(err, errlen, "%u bytes after the end of the gzip stream", z.avail_in);
		rc = -1;
	}
	inflateEnd(&z);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*outlen = 0;
	}
	return rc;
}
