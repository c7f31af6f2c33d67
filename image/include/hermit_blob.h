/* SPDX-License-Identifier: MIT */
/* hermit_blob.h - the layout of a validated Hermit image as one contiguous blob, written by
 * hi_blob_write and checked by hi_blob_load (hermit_image.h).  Native byte order (the blob
 * never leaves the host); every field is read with memcpy, so the blob needs no alignment.
 *
 *   offset 0            struct hi_blob_header
 *   header_size         struct hi_blob_entry[n_entries]       sorted by name, strictly
 *   + 40 * n_entries    struct hi_blob_str[n_kernel_args + n_app_args + n_env_vars]
 *   strings_off         strings: every entry name, then every argument, kernel args, app
 *                       args, env vars, in table order, each followed by one NUL; the
 *                       references tile this area exactly, in order
 *   strings_off + strings_size .. data_off: zero padding to a multiple of 8
 *   data_off            file contents, in entry order, tiling data_size exactly
 *   data_off + data_size == blob_size
 *
 * A reader refuses anything else: one canonical blob per image, so bounds, overlaps and
 * order are all checked by comparing each offset with the running position.
 */
#ifndef UHS_HERMIT_BLOB_H
#define UHS_HERMIT_BLOB_H

#include <stddef.h>
#include <stdint.h>

#define HI_BLOB_MAGIC	"UHSHIMG\0"
#define HI_BLOB_VERSION 1
#define HI_BLOB_MEMORY	0x1U /* flags: [requirements] memory is set */

struct hi_blob_header {
	char magic[8]; /* HI_BLOB_MAGIC */
	uint32_t version; /* HI_BLOB_VERSION */
	uint32_t header_size; /* sizeof(struct hi_blob_header) */
	uint64_t blob_size; /* bytes of the whole blob */
	uint32_t n_entries;
	uint32_t kernel_entry; /* index of the kernel */
	uint32_t config_entry; /* index of hermit.toml */
	uint32_t n_kernel_args;
	uint32_t n_app_args;
	uint32_t n_env_vars;
	uint32_t cpus; /* [requirements] cpus */
	uint32_t flags; /* HI_BLOB_MEMORY */
	uint64_t memory; /* [requirements] memory in bytes; 0 unless HI_BLOB_MEMORY */
	uint64_t total_size; /* sum of the files' sizes == data_size */
	uint64_t strings_off;
	uint64_t strings_size;
	uint64_t data_off;
	uint64_t data_size;
};

struct hi_blob_entry {
	uint32_t type; /* enum hi_type */
	uint32_t mode; /* & 0777 */
	uint32_t name_len; /* bytes, without the NUL */
	uint32_t reserved; /* 0 */
	uint64_t name_off; /* from strings_off */
	uint64_t data_off; /* from data_off; a directory: the running position, size 0 */
	uint64_t size;
};

struct hi_blob_str {
	uint64_t off; /* from strings_off */
	uint64_t len; /* bytes, without the NUL */
};

_Static_assert(sizeof(struct hi_blob_header) == 104, "blob header layout");
_Static_assert(offsetof(struct hi_blob_header, blob_size) == 16, "blob header layout");
_Static_assert(offsetof(struct hi_blob_header, memory) == 56, "blob header layout");
_Static_assert(offsetof(struct hi_blob_header, data_size) == 96, "blob header layout");
_Static_assert(sizeof(struct hi_blob_entry) == 40, "blob entry layout");
_Static_assert(offsetof(struct hi_blob_entry, name_off) == 16, "blob entry layout");
_Static_assert(offsetof(struct hi_blob_entry, size) == 32, "blob entry layout");
_Static_assert(sizeof(struct hi_blob_str) == 16, "blob string layout");

#endif
