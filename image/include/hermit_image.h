/* SPDX-License-Identifier: MIT */
/* hermit_image.h - Hermit images (".hermit": a gzip'd tar holding hermit.toml, the kernel and
 * the application's files), validated into an in-memory table, and a flat blob of that table
 * for handing it to another process (a sealed memfd).
 *
 * What it trusts: nothing.  The archive comes from an image author; the blob may come from a
 * compromised parser process.  What it may touch: nothing.  Every function here is pure (no
 * file system, no global state, no system calls beyond memory allocation); libarchive reads
 * the tar from memory, zlib inflates the gzip stream, toml++ reads hermit.toml.  Every
 * refusal is one line; image/README.md and docs/threat-model.md (3.10) list them.
 */
#ifndef UHS_HERMIT_IMAGE_H
#define UHS_HERMIT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HI_NAME_MAX	 1024 /* bytes of a normalised entry name */
#define HI_COMPONENT_MAX 255 /* bytes of one name component (NAME_MAX) */
#define HI_CONFIG_MAX	 (64U << 10) /* bytes of hermit.toml */
#define HI_ARG_MAX	 4096 /* bytes of one argument or environment entry */
#define HI_CONFIG_NAME	 "hermit.toml"

/* Default caps (struct hi_limits); a zero field in a caller's limits means its default. */
#define HI_DEFAULT_MAX_ENTRIES	  4096 /* entries, directories created for parents included */
#define HI_DEFAULT_MAX_ENTRY_SIZE (256ULL << 20) /* bytes of one file */
#define HI_DEFAULT_MAX_TOTAL_SIZE (1ULL << 30) /* bytes of all files together */

struct hi_limits {
	uint32_t max_entries;
	uint64_t max_entry_size;
	uint64_t max_total_size;
	/* The decompressed tar stream may exceed max_total_size only by its headers: at most
	 * max_total_size + 8 KiB per allowed entry + 1 MiB is inflated, then it is refused. */
};

enum hi_format { HI_FORMAT_UNKNOWN = 0, HI_FORMAT_ELF, HI_FORMAT_GZIP };

/* hermit-entry's detect_format: fewer than 4 bytes: unknown; "\x7fELF": ELF; 1f 8b 08
 * (gzip, deflate): a Hermit image; anything else unknown. */
enum hi_format hi_detect_format(const void *buf, size_t len);

enum hi_type { HI_DIR = 1, HI_FILE = 2 };

struct hi_entry {
	const char *name; /* normalised: relative, no "." or ".." or empty components, no
			     leading or trailing '/', valid UTF-8 without control characters */
	size_t name_len;
	enum hi_type type;
	uint32_t mode; /* permission bits (& 0777) from the archive */
	const uint8_t *data; /* HI_FILE: size bytes; HI_DIR: NULL */
	uint64_t size;
};

/* hermit.toml, version "1" */
struct hi_config {
	size_t kernel; /* index of the kernel's entry (its name is the normalised path) */
	const char **kernel_args; /* [input] kernel_args */
	size_t n_kernel_args;
	const char **app_args; /* [input] app_args */
	size_t n_app_args;
	const char **env_vars; /* [input] env_vars: "NAME=VALUE" (uhyve drops the others) */
	size_t n_env_vars;
	bool memory_set; /* [requirements] memory */
	uint64_t memory; /* bytes */
	uint32_t cpus; /* [requirements] cpus; 0 = none */
};

struct hermit_image {
	struct hi_entry
	    *entries; /* sorted by name (byte order); every parent directory of
			 an entry is itself an entry (created if the archive had none) */
	size_t n_entries;
	size_t config_entry; /* index of hermit.toml */
	struct hi_config cfg;
	uint64_t total_size; /* bytes of all files */
	bool borrowed; /* names, data and strings point into a blob (hi_blob_load) */
};

/* Reads a Hermit image: len bytes at buf, gzip'd tar.  lim NULL: the defaults.  On success
 * img owns its memory (hi_free).  Refused, each with a one-line message in err: anything not
 * gzip, a corrupt, truncated or multi-member gzip stream or bytes after it, a corrupt tar,
 * non-zero data after its end, entry names that are absolute, hold "..", are empty, not UTF-8,
 * hold control characters or are too long, symbolic links, hard links, devices, FIFOs,
 * sockets, sparse files, duplicate names (after normalisation), a file that is also a
 * directory, more than the caps, no hermit.toml, bad TOML ("hermit.toml:LINE:COLUMN: ..."),
 * a missing kernel or one that is not a 64-bit little-endian x86-64 ELF file.
 * Returns 0 or -1 (img empty). */
int hi_parse(const void *buf, size_t len, const struct hi_limits *lim, struct hermit_image *img,
	     char *err, size_t errlen);

void hi_free(struct hermit_image *img);

/* Index of the entry named name (normalised), or -1. */
long hi_find(const struct hermit_image *img, const char *name);

/* Checks one entry name (n bytes, as it appears in a validated table).  0 or -1 + reason. */
int hi_name_check(const char *name, size_t n, char *err, size_t errlen);

/* ---- hermit.toml alone (image/hermit_toml.c) ---- */

/* Parses hermit.toml text into cfg (kernel as a normalised name in *kernel, malloc'd; the
 * lists malloc'd; cfg->kernel unset).  Returns 0, or -1 with "hermit.toml:LINE:COLUMN: ..."
 * in err. */
int hi_config_parse(const char *buf, size_t len, struct hi_config *cfg, char **kernel, char *err,
		    size_t errlen);
void hi_config_free(struct hi_config *cfg);

/* The kernel check: at least an ELF header, "\x7fELF", ELFCLASS64, ELFDATA2LSB, EM_X86_64.
 * Returns 0, or -1 with the reason. */
int hi_check_elf(const uint8_t *data, uint64_t size, char *err, size_t errlen);

/* ---- the decompressed tar (image/gunzip.c), for --hermit-image-mode internal ---- */

/* Inflates the gzip stream of len bytes at buf (one member, nothing after it) into a
 * malloc'd buffer of at most cap bytes.  Returns 0 with *out and *outlen, or -1 with a reason
 * (truncated, corrupt, trailing bytes, over cap, out of memory). */
int hi_gunzip(const void *buf, size_t len, uint64_t cap, uint8_t **out, size_t *outlen, char *err,
	      size_t errlen);

/* ---- the flat blob (image/blob.c; layout in image/blob.h) ---- */

/* Bytes hi_blob_write needs for img, or 0 if that would overflow. */
size_t hi_blob_size(const struct hermit_image *img);

/* Writes img's blob into dst (cap bytes, at least hi_blob_size(img)).  Deterministic: the
 * same image always gives the same bytes.  Returns the size written or 0. */
size_t hi_blob_write(const struct hermit_image *img, void *dst, size_t cap);

/* Checks an untrusted blob (len bytes at blob, which must not change while it is checked
 * and used: a sealed memfd or a private copy) and fills img with tables that point into it
 * (img->borrowed; hi_free frees only the tables).  Everything hi_parse guarantees is checked
 * again: layout, bounds, no overlaps, NUL termination, counts, names, order, parents, kernel.
 * Returns 0, or -1 with the first violation in err. */
int hi_blob_load(const void *blob, size_t len, struct hermit_image *img, char *err, size_t errlen);

#endif
