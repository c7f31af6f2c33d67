/* SPDX-License-Identifier: MIT */
/* listing.h - directory listings for the VMM (listing.c): a sealed memfd instead of a
 * directory fd. */
#ifndef UHS_LISTING_H
#define UHS_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meta.h"

/* How entries are named to the guest: d_ino = meta_ino(key, host_dev, the entry's inode). */
struct listing_ids {
	const struct meta_key *key;
	uint64_t host_dev; /* the directory's st_dev (its entries are on its file system) */
};

/* Reads the whole listing of `dirfd` (a directory opened for reading beneath a mount root)
 * into a new memfd in the format of broker_proto.h, inode numbers as `ids` says, sealed against
 * writes, growth, shrinking and new seals.  Returns 0 with the memfd (O_CLOEXEC, offset at its end)
 * in *out, or -errno: -ENOMEM if the listing would exceed `cap` bytes (the broker: BRK_LISTING_MAX,
 * never more). */
int listing_build(int dirfd, const struct listing_ids *ids, uint64_t cap, int *out);

/* One entry of a listing that does not come from a directory fd (a Hermit image's). */
struct listing_item {
	uint64_t ino; /* the host-side number meta_ino hashes with ids->host_dev */
	uint8_t type; /* DT_REG, DT_DIR */
	const char *name;
	size_t len;
};
/* Fills *it with the next entry and returns true, or returns false at the end. */
typedef bool (*listing_next_fn)(void *ctx, struct listing_item *it);

/* The same listing memfd from the entries next() gives. */
int listing_build_from(listing_next_fn next, void *ctx, const struct listing_ids *ids, uint64_t cap,
		       int *out);

#endif
