/* SPDX-License-Identifier: MIT */
/* image_int.h - internal to image/: the growing entry table the archive reader fills and the
 * name helpers it shares with the blob checker.  Not part of the library's interface.
 */
#ifndef UHS_IMAGE_INT_H
#define UHS_IMAGE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "hermit_image.h"

struct hi_table {
	struct hi_entry *e; /* names and data malloc'd */
	size_t n, cap;
};

/* Normalises an archive's entry name into out (outcap >= HI_NAME_MAX + 1): "./" and "."
 * components and repeated or trailing '/' dropped; ".." refused; a leading '/' refused unless
 * allow_absolute (hermit.toml's kernel path is relative to the image root either way).  An
 * empty result (the root, "./") is returned as "".  Then hi_name_check.  0 or -1 + reason. */
int hi_normalise(const char *raw, bool allow_absolute, char *out, size_t outcap, char *err,
		 size_t errlen);

/* Binary search in sorted entries. */
long hi_find_in(const struct hi_entry *e, size_t n, const char *name, size_t len);

/* Appends *e (names.c; the table grows).  0 or -1 (out of memory). */
int hi_table_add(struct hi_table *t, const struct hi_entry *e);
/* Adds a directory name[0..len) (copied). */
int hi_table_add_dir(struct hi_table *t, const char *name, size_t len, uint32_t max_entries,
		     char *err, size_t errlen);

/* Sorts, refuses duplicates, adds missing parents, refuses files with entries below them. */
int hi_table_finish(struct hi_table *t, uint32_t max_entries, char *err, size_t errlen);

#endif
