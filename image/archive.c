/* SPDX-License-Identifier: MIT */
/* archive.c - reads a Hermit image (gzip'd tar) from memory into a validated table.
 *
 * Trusts nothing: the bytes come from an image author.  Pure: no file system, no system
 * calls beyond memory allocation.  zlib inflates the gzip stream itself (one member, checked
 * CRC and length, nothing after it, a cap on the inflated size), because libarchive's gzip
 * filter accepts bytes after the stream, concatenated members and some truncated streams
 * without a word; libarchive reads only the tar format (no filters, no other formats) from
 * what zlib gives it.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hermit_image.h"
#include "image_int.h"
#include "uhs_toml.h"

static void free_const(const void *p)
{
	free((void *)(uintptr_t)p);
}

#define CHUNK (64U << 10)

struct gz {
	z_stream z;
	bool ended; /* Z_STREAM_END seen */
	uint64_t out_total, out_cap;
	unsigned char buf[CHUNK];
	size_t last_len; /* bytes of buf handed out by the last read */
	uint64_t last_start; /* stream offset of buf[0] */
	char err[200]; /* first error, reported instead of libarchive's */
};

static la_ssize_t gz_read(struct archive *a, void *ctx, const void **out)
{
	struct gz *g = ctx;
	int rc;

	(void)a;
	*out = g->buf;
	g->last_start = g->out_total;
	g->last_len = 0;
	if (g->ended || g->err[0] != '\0') {
		return g->err[0] != '\0' ? ARCHIVE_FATAL : 0;
	}
	g->z.next_out = g->buf;
	g->z.avail_out = CHUNK;
	rc = inflate(&g->z, Z_NO_FLUSH);
	if (rc == Z_STREAM_END) {
		g->ended = true;
	} else if (rc == Z_BUF_ERROR || (rc == Z_OK && g->z.avail_in == 0 && g->z.avail_out > 0)) {
		snprintf(g->err, sizeof g->err, "truncated gzip stream");
	} else if (rc != Z_OK) {
		snprintf(g->err, sizeof g->err, "corrupt gzip stream: %s",
			 g->z.msg != NULL ? g->z.msg : "inflate failed");
	}
	g->last_len = CHUNK - g->z.avail_out;
	g->out_total += g->last_len;
	if (g->err[0] == '\0' && g->out_total > g->out_cap) {
		snprintf(g->err, sizeof g->err,
			 "the uncompressed archive is larger than %llu bytes (a bomb?)",
			 (unsigned long long)g->out_cap);
	}
	if (g->err[0] != '\0') {
		return ARCHIVE_FATAL; /* fail_archive reports g->err */
	}
	return (la_ssize_t)g->last_len;
}

struct reader {
	struct archive *a;
	struct gz *g;
	const struct hi_limits *lim;
	struct hi_table t;
	uint64_t total;
	char *err;
	size_t errlen;
};

/* libarchive's or the gzip reader's reason; name: the entry's raw name or NULL.  Both are
 * escaped (libarchive may quote hostile bytes). */
static int fail_archive(struct reader *r, const char *name)
{
	const char *m = archive_error_string(r->a);
	char q[300], why[300];

	if (r->g->err[0] != '\0') {
		snprintf(r->err, r->errlen, "%s", r->g->err);
		return -1;
	}
	uhs_toml_escape(why, sizeof why, m != NULL ? m : "no reason given",
			strlen(m != NULL ? m : "no reason given"), 200);
	if (name == NULL) {
		snprintf(r->err, r->errlen, "corrupt tar archive: %s", why);
	} else {
		uhs_toml_escape(q, sizeof q, name, strlen(name), 120);
		snprintf(r->err, r->errlen, "entry \"%s\": corrupt tar archive: %s", q, why);
	}
	return -1;
}

static const char *type_name(struct archive_entry *e)
{
	if (archive_entry_hardlink(e) != NULL) {
		return "a hard link";
	}
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return archive_entry_sparse_count(e) > 0 ? "a sparse file" : NULL;
	case AE_IFDIR:
		return NULL;
	case AE_IFLNK:
		return "a symbolic link";
	case AE_IFCHR:
		return "a character device";
	case AE_IFBLK:
		return "a block device";
	case AE_IFIFO:
		return "a FIFO";
	case AE_IFSOCK:
		return "a socket";
	default:
		return "of an unknown type";
	}
}

static int entry_fail(struct reader *r, const char *raw, const char *why)
{
	char q[400];

	uhs_toml_escape(q, sizeof q, raw, strlen(raw), 120);
	snprintf(r->err, r->errlen, "entry \"%s\": %s", q, why);
	return -1;
}

/* Reads the entry's data: exactly size bytes. */
static int read_data(struct reader *r, const char *raw, uint64_t size, uint8_t **out)
{
	uint64_t got = 0;

	*out = malloc(size > 0 ? (size_t)size : 1);
	if (*out == NULL) {
		snprintf(r->err, r->errlen, "out of memory");
		return -1;
	}
	while (got < size) {
		la_ssize_t n = archive_read_data(r->a, *out + got, (size_t)(size - got));

		if (n < 0) {
			return fail_archive(r, raw);
		}
		if (n == 0) {
			return entry_fail(r, raw, "the archive ends inside its data");
		}
		got += (uint64_t)n;
	}
	return 0;
}

static int check_size(struct reader *r, const char *raw, la_int64_t size)
{
	char why[160];

	if (size < 0) {
		return entry_fail(r, raw, "negative size");
	}
	if ((uint64_t)size > r->lim->max_entry_size) {
		snprintf(why, sizeof why, "%llu bytes, more than the limit of %llu per file",
			 (unsigned long long)size, (unsigned long long)r->lim->max_entry_size);
		return entry_fail(r, raw, why);
	}
	if ((uint64_t)size > r->lim->max_total_size - r->total) {
		snprintf(r->err, r->errlen, "the files hold more than %llu bytes together",
			 (unsigned long long)r->lim->max_total_size);
		return -1;
	}
	return 0;
}

static int one_entry(struct reader *r, struct archive_entry *ae)
{
	const char *raw = archive_entry_pathname(ae), *bad;
	struct hi_entry e = {0};
	char name[HI_NAME_MAX + 1], why[200];
	uint8_t *data = NULL;

	if (raw == NULL) {
		snprintf(r->err, r->errlen, "an entry without a name");
		return -1;
	}
	if ((bad = type_name(ae)) != NULL) {
		snprintf(why, sizeof why, "%s (only regular files and directories are allowed)",
			 bad);
		return entry_fail(r, raw, why);
	}
	if (hi_normalise(raw, false, name, sizeof name, why, sizeof why) != 0) {
		return entry_fail(r, raw, why);
	}
	e.type = archive_entry_filetype(ae) == AE_IFDIR ? HI_DIR : HI_FILE;
	e.mode = (uint32_t)archive_entry_perm(ae) & 0777;
	if (name[0] == '\0') {
		return e.type == HI_DIR ? 0 : entry_fail(r, raw, "a file named like the root");
	}
	if (r->t.n >= r->lim->max_entries) {
		snprintf(r->err, r->errlen, "more than %u entries", r->lim->max_entries);
		return -1;
	}
	if (e.type == HI_FILE) {
		if (check_size(r, raw, archive_entry_size(ae)) != 0 ||
		    read_data(r, raw, (uint64_t)archive_entry_size(ae), &data) != 0) {
			free(data);
			return -1;
		}
		e.size = (uint64_t)archive_entry_size(ae);
		e.data = data;
		r->total += e.size;
	} else if (archive_entry_size(ae) != 0) {
		return entry_fail(r, raw, "a directory with data");
	}
	e.name_len = strlen(name);
	e.name = strdup(name);
	if (e.name == NULL || hi_table_add(&r->t, &e) != 0) {
		free_const(e.name);
		free(data);
		snprintf(r->err, r->errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* After the tar's end: what libarchive did not consume of the last chunk and everything
 * still in the gzip stream must be zero (tar pads with zero blocks), and the gzip stream
 * must end exactly at the end of the input. */
static int check_tail(struct reader *r)
{
	struct gz *g = r->g;
	la_int64_t used = archive_filter_bytes(r->a, 0);

	if (used >= 0 && (uint64_t)used >= g->last_start &&
	    (uint64_t)used < g->last_start + g->last_len) {
		for (size_t i = (size_t)((uint64_t)used - g->last_start); i < g->last_len; i++) {
			if (g->buf[i] != 0) {
				snprintf(r->err, r->errlen,
					 "data after the end of the tar archive");
				return -1;
			}
		}
	}
	while (!g->ended) {
		if (gz_read(r->a, g, &(const void *){NULL}) < 0) {
			snprintf(r->err, r->errlen, "%s", g->err);
			return -1;
		}
		for (size_t i = 0; i < g->last_len; i++) {
			if (g->buf[i] != 0) {
				snprintf(r->err, r->errlen,
					 "data after the end of the tar archive");
				return -1;
			}
		}
	}
	if (g->z.avail_in != 0) {
		snprintf(r->err, r->errlen, "%u bytes after the end of the gzip stream",
			 (unsigned)g->z.avail_in);
		return -1;
	}
	return 0;
}

static int read_all(struct reader *r)
{
	struct archive_entry *ae;
	int rc;

	for (;;) {
		rc = archive_read_next_header(r->a, &ae);
		if (rc == ARCHIVE_EOF) {
			break;
		}
		if (rc != ARCHIVE_OK) { /* a warning is refused too */
			return fail_archive(r, NULL);
		}
		if (one_entry(r, ae) != 0) {
			return -1;
		}
	}
	if (r->g->err[0] != '\0') {
		return fail_archive(r, NULL);
	}
	return check_tail(r);
}

static void table_free(struct hi_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free_const(t->e[i].name);
		free_const(t->e[i].data);
	}
	free(t->e);
	memset(t, 0, sizeof *t);
}

static int open_reader(struct reader *r, const void *buf, size_t len)
{
	struct gz *g = r->g;
	uint64_t cap = r->lim->max_total_size + (uint64_t)r->lim->max_entries * 8192 + (1U << 20);

	g->out_cap = cap < r->lim->max_total_size ? UINT64_MAX : cap;
	g->z.next_in = (Bytef *)(uintptr_t)buf;
	g->z.avail_in = (uInt)len;
	if (len > UINT32_MAX) {
		snprintf(r->err, r->errlen, "the image is larger than 4 GiB");
		return -1;
	}
	if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
		snprintf(r->err, r->errlen, "out of memory");
		return -1;
	}
	r->a = archive_read_new();
	if (r->a == NULL || archive_read_support_format_tar(r->a) != ARCHIVE_OK ||
	    archive_read_open(r->a, g, NULL, gz_read, NULL) != ARCHIVE_OK) {
		return r->a == NULL ? (snprintf(r->err, r->errlen, "out of memory"), -1)
				    : fail_archive(r, NULL);
	}
	return 0;
}

static void limits(const struct hi_limits *in, struct hi_limits *out)
{
	out->max_entries =
	    in != NULL && in->max_entries != 0 ? in->max_entries : HI_DEFAULT_MAX_ENTRIES;
	out->max_entry_size =
	    in != NULL && in->max_entry_size != 0 ? in->max_entry_size : HI_DEFAULT_MAX_ENTRY_SIZE;
	out->max_total_size =
	    in != NULL && in->max_total_size != 0 ? in->max_total_size : HI_DEFAULT_MAX_TOTAL_SIZE;
}

/* hermit.toml and the kernel it names. */
static int finish(struct hermit_image *img, char *err, size_t errlen)
{
	char *kpath = NULL, kname[HI_NAME_MAX + 1], why[200], q[300];
	long c = hi_find(img, HI_CONFIG_NAME), k;
	const struct hi_entry *ke;
	int rc;

	if (c < 0 || img->entries[c].type != HI_FILE) {
		snprintf(err, errlen,
			 c < 0 ? "no hermit.toml in the image" : "hermit.toml is a directory");
		return -1;
	}
	img->config_entry = (size_t)c;
	if (hi_config_parse((const char *)img->entries[c].data, (size_t)img->entries[c].size,
			    &img->cfg, &kpath, err, errlen) != 0) {
		return -1;
	}
	uhs_toml_escape(q, sizeof q, kpath, strlen(kpath), 120);
	rc = hi_normalise(kpath, true, kname, sizeof kname, why, sizeof why);
	if (rc != 0 || kname[0] == '\0') {
		snprintf(err, errlen, "hermit.toml: kernel \"%s\": %s", q,
			 rc != 0 ? why : "names the image root");
		free(kpath);
		return -1;
	}
	free(kpath);
	k = hi_find(img, kname);
	ke = k >= 0 ? &img->entries[k] : NULL;
	if (ke == NULL || ke->type != HI_FILE) {
		snprintf(err, errlen, "kernel \"%s\" named in hermit.toml: %s", q,
			 ke == NULL ? "not in the image" : "a directory");
		return -1;
	}
	if (hi_check_elf(ke->data, ke->size, why, sizeof why) != 0) {
		snprintf(err, errlen, "kernel \"%s\": %s", q, why);
		return -1;
	}
	img->cfg.kernel = (size_t)k;
	return 0;
}

int hi_parse(const void *buf, size_t len, const struct hi_limits *lim, struct hermit_image *img,
	     char *err, size_t errlen)
{
	struct hi_limits l;
	struct reader r = {.lim = &l, .err = err, .errlen = errlen};
	int rc;

	memset(img, 0, sizeof *img);
	limits(lim, &l);
	if (hi_detect_format(buf, len) != HI_FORMAT_GZIP) {
		snprintf(err, errlen, "not a Hermit image (no gzip header)");
		return -1;
	}
	r.g = calloc(1, sizeof *r.g);
	if (r.g == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = open_reader(&r, buf, len);
	if (rc == 0) {
		rc = read_all(&r);
	}
	archive_read_free(r.a);
	inflateEnd(&r.g->z);
	free(r.g);
	if (rc == 0) {
		rc = hi_table_finish(&r.t, l.max_entries, err, errlen);
	}
	img->entries = r.t.e;
	img->n_entries = r.t.n;
	img->total_size = r.total;
	if (rc == 0) {
		rc = finish(img, err, errlen);
	}
	if (rc != 0) {
		table_free(&r.t);
		hi_config_free(&img->cfg);
		memset(img, 0, sizeof *img);
	}
	return rc;
}
