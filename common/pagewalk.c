/* SPDX-License-Identifier: MIT */
/* pagewalk.c - the x86-64 4-level page walk (pagewalk.h).  Pure: every entry comes through the
 * caller's checked reader; nothing here touches memory it was not handed. */
#include "pagewalk.h"

static bool is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || ((level == 2 || level == 3) && (e & PW_PTE_PS));
}

enum pw_status pw_walk(uint64_t cr3, uint64_t va, pw_read_fn read, const void *ctx,
		       struct pw_leaf *out)
{
	uint64_t table = cr3 & PW_PTE_ADDR;
	bool writable = true, nx = false;

	if (!pw_canonical(va)) {
		return PW_NONCANONICAL;
	}
	for (unsigned level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t e;

		if (!read(ctx, table + ((va >> shift) & 511) * 8, &e) || !(e & PW_PTE_P) ||
		    (level == 4 && (e & PW_PTE_PS))) {
			return PW_NOT_MAPPED;
		}
		writable = writable && (e & PW_PTE_W);
		nx = nx || (e & PW_PTE_NX);
		if (is_leaf(e, level)) {
			uint64_t size = 1ull << shift, off = va & (size - 1);
			*out = (struct pw_leaf){.pa = (e & PW_PTE_ADDR & ~(size - 1)) | off,
						.contig = size - off,
						.level = level,
						.writable = writable,
						.nx = nx,
						.entry = table + ((va >> shift) & 511) * 8,
						.entry_val = e};
			return PW_OK;
		}
		table = e & PW_PTE_ADDR;
	}
	return PW_NOT_MAPPED; /* not reached: level 1 is always a leaf */
}

bool pw_step(pw_read_fn read, const void *ctx, struct pw_leaf *leaf)
{
	uint64_t size = 1ull << (12 + 9 * (leaf->level - 1)), e;

	if ((leaf->entry & 0xfff) == 0xff8 || !read(ctx, leaf->entry + 8, &e) || !(e & PW_PTE_P) ||
	    !is_leaf(e, leaf->level) || ((e ^ leaf->entry_val) & (PW_PTE_W | PW_PTE_NX)) != 0) {
		return false;
	}
	leaf->pa = e & PW_PTE_ADDR & ~(size - 1);
	leaf->contig = size;
	leaf->entry += 8;
	leaf->entry_val = e;
	return true;
}
