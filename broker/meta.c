/* SPDX-License-Identifier: MIT */
/* meta.c - the metadata the guest sees of host objects (stat, fstat, getdents): the host's
 * size, mode, link count, block size, blocks and times, but never its identities.
 *
 *   st_dev = the mount's index + 1 (BRK_DEV_SCRATCH for the scratch directory);
 *   st_ino = d_ino = SipHash-2-4 of (host st_dev, host st_ino) under a 128-bit key drawn
 *            from getrandom(2) when the broker starts; never 0;
 *   st_uid = st_gid = st_rdev = 0.
 *
 * So within a run the same object always has the same number (hard links and "same file"
 * checks work, stat, fstat and getdents agree), while host inode numbers, device numbers
 * and owners never reach the VMM.  The key stays in the broker: a compromised VMM sees only
 * hashes, and without the key cannot tell which host inode one stands for (SipHash is a
 * PRF); a new run has a new key, so numbers cannot be compared across runs either. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "meta.h"
#include "policy.h"

_Static_assert(BRK_DEV_SCRATCH == POL_MAX_MOUNTS + 1, "device numbers of mounts and scratch");

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL(v[2], 32);
}

static void sip_word(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

/* SipHash-2-4 of the 16-byte message (a, b), little-endian words. */
uint64_t meta_siphash(const struct meta_key *k, uint64_t a, uint64_t b)
{
	uint64_t v[4] = {k->k0 ^ 0x736f6d6570736575ull, k->k1 ^ 0x646f72616e646f6dull,
			 k->k0 ^ 0x6c7967656e657261ull, k->k1 ^ 0x7465646279746573ull};

	sip_word(v, a);
	sip_word(v, b);
	sip_word(v, (uint64_t)16 << 56); /* the length byte, no tail */
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++) {
		sip_round(v);
	}
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

int meta_key_init(struct meta_key *k)
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof b) {
		ssize_t n = getrandom(b + got, sizeof b - got, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EIO;
		}
		got += (size_t)n;
	}
	memcpy(&k->k0, b, 8);
	memcpy(&k->k1, b + 8, 8);
	return 0;
}

uint64_t meta_ino(const struct meta_key *k, uint64_t host_dev, uint64_t host_ino)
{
	uint64_t h = meta_siphash(k, host_dev, host_ino);

	return h != 0 ? h : 1; /* d_ino 0 marks a deleted entry to some readers */
}

uint64_t meta_dev(int mount)
{
	return mount >= 0 && mount < POL_MAX_MOUNTS ? (uint64_t)mount + 1 : BRK_DEV_SCRATCH;
}

void meta_stat(const struct meta_key *k, int mount, const struct stat *st, struct brk_stat *o)
{
	memset(o, 0, sizeof *o);
	o->dev = meta_dev(mount);
	o->ino = meta_ino(k, st->st_dev, st->st_ino);
	o->nlink = st->st_nlink;
	o->mode = st->st_mode;
	o->size = st->st_size;
	o->blksize = st->st_blksize;
	o->blocks = st->st_blocks;
	o->atime_sec = st->st_atim.tv_sec;
	o->atime_nsec = (int32_t)st->st_atim.tv_nsec;
	o->mtime_sec = st->st_mtim.tv_sec;
	o->mtime_nsec = (int32_t)st->st_mtim.tv_nsec;
	o->ctime_sec = st->st_ctim.tv_sec;
	o->ctime_nsec = (int32_t)st->st_ctim.tv_nsec;
}
