/* SPDX-License-Identifier: MIT */
/* fs_dirlist.h - getdents on the directory listings the broker sends (fs_dirlist.c). */
#ifndef UHS_FS_DIRLIST_H
#define UHS_FS_DIRLIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Size of the host buffer every listing read goes through (the most one getdents returns). */
#define DIRLIST_BOUNCE 32768

/* Checks a listing memfd received with a directory OPEN: a regular file with all four seals,
 * at most BRK_LISTING_MAX bytes, and only well-formed records.  Returns 0 with its size and
 * the offset at 0, or -EPROTO with a static reason in *why.  bounce: DIRLIST_BOUNCE bytes. */
int dirlist_check(int fd, uint64_t *size, unsigned char *bounce, const char **why);

/* getdents on a checked listing: the whole records from the fd's offset that fit in len
 * bytes, copied to buf; the offset moves past them.  Returns the bytes, 0 at the end, or
 * -EINVAL if no record fits or the offset is not at a record. */
ssize_t dirlist_read(int fd, void *buf, size_t len, unsigned char *bounce);

#endif
