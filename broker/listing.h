/* SPDX-License-Identifier: MIT */
/* listing.h - directory listings for the VMM (listing.c): a sealed memfd instead of a
 * directory fd. */
#ifndef UHS_LISTING_H
#define UHS_LISTING_H

#include <stdint.h>

/* Reads the whole listing of `dirfd` (a directory opened for reading beneath a mount root)
 * into a new memfd in the format of broker_proto.h, sealed against writes, growth, shrinking
 * and new seals.  Returns 0 with the memfd (O_CLOEXEC, offset at its end) in *out, or -errno:
 * -ENOMEM if the listing would exceed `cap` bytes (the broker: BRK_LISTING_MAX, never more). */
int listing_build(int dirfd, uint64_t cap, int *out);

#endif
