/* SPDX-License-Identifier: MIT */
/* fs_budget.c - the guest's write budget: what it makes the host spend, counted in the VMM.
 *
 * A write costs its bytes plus the hole it would create beyond the file's current size (a
 * sparse file is charged as if it were written: the host's file size is what quotas, copies
 * and backups see); every file or directory the broker creates for the guest costs
 * FS_ENTRY_COST.  A write that does not fit is cut to what is left (a short write), one that
 * cannot write a byte fails with ENOSPC; an entry that does not fit is not created (ENOSPC).
 * Nothing is refunded for truncation or unlink: the budget bounds what the guest may spend
 * in a run, not what it holds at the end.
 *
 * Threat: binds the guest only; a compromised VMM holds the fds and is not bound by it
 * (threat-model.md 3.5).  All arithmetic is overflow-safe (offsets and sizes come from the
 * kernel, the lengths from the guest). */
#include "fs_budget.h"

void fs_budget_init(struct fs_budget *b, uint64_t max)
{
	b->max = max;
	b->used = 0;
	pthread_mutex_init(&b->mu, NULL);
	pthread_mutex_init(&b->io_mu, NULL);
}

bool fs_budget_on(const struct fs_budget *b)
{
	return b->max != 0;
}

unsigned fs_budget_entries(struct fs_budget *b, unsigned want)
{
	uint64_t left;
	unsigned got;

	if (!fs_budget_on(b)) {
		return want;
	}
	pthread_mutex_lock(&b->mu);
	left = (b->max - b->used) / FS_ENTRY_COST;
	got = left < want ? (unsigned)left : want;
	b->used += (uint64_t)got * FS_ENTRY_COST;
	pthread_mutex_unlock(&b->mu);
	return got;
}

uint64_t fs_budget_write(struct fs_budget *b, uint64_t pos, uint64_t size, bool append,
			 uint64_t want, uint64_t *charged)
{
	uint64_t hole = !append && pos > size ? pos - size : 0, left, got = 0;

	*charged = 0;
	if (!fs_budget_on(b)) {
		return want;
	}
	pthread_mutex_lock(&b->mu);
	left = b->max - b->used;
	if (want > 0 && hole < left) {
		got = left - hole < want ? left - hole : want;
		*charged = hole + got;
		b->used += *charged;
	}
	pthread_mutex_unlock(&b->mu);
	return got;
}

void fs_budget_refund(struct fs_budget *b, uint64_t n)
{
	if (fs_budget_on(b) && n > 0) {
		pthread_mutex_lock(&b->mu);
		b->used -= n <= b->used ? n : b->used;
		pthread_mutex_unlock(&b->mu);
	}
}
