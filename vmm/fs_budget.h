/* SPDX-License-Identifier: MIT */
/* fs_budget.h - the guest's write budget (policy limits.write_bytes), fs_budget.c. */
#ifndef UHS_FS_BUDGET_H
#define UHS_FS_BUDGET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* What one file or directory the guest creates costs. */
#define FS_ENTRY_COST 4096u

struct fs_budget {
	uint64_t max; /* 0: unlimited */
	uint64_t used;
	pthread_mutex_t mu; /* used */
	/* Held from measuring a write (offset, size) to the end of the write, and around every
	 * lseek and O_TRUNC open, while a budget is set: nothing moves an offset or a size in
	 * between, so a hole cannot appear uncharged. */
	pthread_mutex_t io_mu;
};

void fs_budget_init(struct fs_budget *b, uint64_t max);
bool fs_budget_on(const struct fs_budget *b);

/* Reserves up to `want` entries at FS_ENTRY_COST each; returns how many (0: not even one
 * fits; `want` when there is no budget). */
unsigned fs_budget_entries(struct fs_budget *b, unsigned want);

/* A write of `want` bytes at offset pos of a file of `size` bytes (append: at its end, no
 * hole): reserves the hole it would create plus its bytes, cutting the bytes to what is left.
 * Returns the bytes that may be written (0: ENOSPC) and in *charged what was reserved. */
uint64_t fs_budget_write(struct fs_budget *b, uint64_t pos, uint64_t size, bool append,
			 uint64_t want, uint64_t *charged);

/* Gives back n reserved bytes that were not spent. */
void fs_budget_refund(struct fs_budget *b, uint64_t n);

#endif
