/* SPDX-License-Identifier: MIT */
/* meta.h - synthetic identities for what the guest sees of host objects (meta.c). */
#ifndef UHS_META_H
#define UHS_META_H

#include <stdint.h>
#include <sys/stat.h>

#include "broker_proto.h"

/* The per-run key of the inode hash: drawn by the broker, never sent anywhere. */
struct meta_key {
	uint64_t k0, k1;
};

/* Draws a fresh key from getrandom(2) (before confinement).  Returns 0 or -errno. */
int meta_key_init(struct meta_key *k) __attribute__((warn_unused_result));

/* SipHash-2-4 of the 16 bytes a, b (little-endian) under k. */
uint64_t meta_siphash(const struct meta_key *k, uint64_t a, uint64_t b);

/* The inode number the guest sees for a host object: never 0, the same for the same
 * (dev, ino) within a run. */
uint64_t meta_ino(const struct meta_key *k, uint64_t host_dev, uint64_t host_ino);

/* The device number the guest sees: mount index + 1, or BRK_DEV_SCRATCH (mount < 0). */
uint64_t meta_dev(int mount);

/* The guest's view of st (an object of mount `mount`, -1 for scratch): the host's size,
 * mode, link count, block size, blocks and times; synthetic dev and ino; uid, gid and rdev 0. */
void meta_stat(const struct meta_key *k, int mount, const struct stat *st, struct brk_stat *o);

#endif
