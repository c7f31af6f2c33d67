/* SPDX-License-Identifier: MIT */
/* pagewalk.h - the one x86-64 page walk of uhyve-sec: 4 levels, 4 KiB, 2 MiB and 1 GiB pages,
 * over a caller's bounds-checked reader of table entries.  Used by the VMM (vmm/gmem.c, over
 * guest RAM through its checked accessor) and by the assist process (over its snapshot of the
 * guest's tables); fuzzed against an independent reference (fuzz/fuzz_pagewalk.c).
 *
 * Trusts nothing: the tables are the guest's.  Pure: no global state, no allocation, no system
 * call.  A fixed depth of four levels, so recursive or self-referencing tables terminate.  As
 * the processor does, it refuses a non-canonical address (bits 63:48 not all equal to bit 47)
 * before reading any table, and a PML4 entry with the page-size bit (reserved there).
 */
#ifndef UHS_PAGEWALK_H
#define UHS_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

#define PW_PTE_P    0x1ull
#define PW_PTE_W    0x2ull
#define PW_PTE_PS   0x80ull
#define PW_PTE_NX   (1ull << 63)
#define PW_PTE_ADDR 0x000ffffffffff000ull

enum pw_status {
	PW_OK = 0,
	PW_NONCANONICAL, /* va is not canonical (the processor raises #GP, not #PF) */
	PW_NOT_MAPPED, /* an entry is not present, reserved, or its table cannot be read */
};

struct pw_leaf {
	uint64_t pa; /* physical address of va */
	uint64_t contig; /* bytes from va to the end of its page (1 to 1 GiB) */
	unsigned level; /* of the leaf: 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB) */
	bool writable; /* R/W set at every level */
	bool nx; /* XD set at some level */
	uint64_t entry; /* physical address of the leaf's own table entry (pw_step) */
	uint64_t entry_val; /* and its value, as read */
};

/* Reads the 8-byte table entry at physical address `pa` (8-byte aligned, inside the table at
 * pa & PW_PTE_ADDR).  Returns false if it is not readable (outside RAM, not a known table). */
typedef bool (*pw_read_fn)(const void *ctx, uint64_t pa, uint64_t *entry);

/* Whether va is canonical for 4-level paging (48-bit linear addresses). */
static inline bool pw_canonical(uint64_t va)
{
	int64_t high = (int64_t)va >> 47;

	return high == 0 || high == -1;
}

/* Translates `va` through the tables rooted at `cr3` (its low 12 bits and bits 52-63 are not
 * address).  Fills *out only with PW_OK. */
enum pw_status pw_walk(uint64_t cr3, uint64_t va, pw_read_fn read, const void *ctx,
		       struct pw_leaf *out);

/* Steps a leaf from pw_walk (or from pw_step) to the next entry of the same table, which maps
 * the virtual page right after the leaf's page: reads that entry once through `read` and, if
 * it is present, a leaf of the same size, and has the same R/W and XD bits as the leaf's entry
 * (so the same writable/nx outcome as a full walk, every entry above being the same one),
 * makes *leaf describe that page from its start (contig: the whole page) and returns true.
 * Returns false, *leaf unchanged, at the table's last entry or for any other entry: the caller
 * then walks that page with pw_walk.  Never crosses a table, so the page stays canonical. */
bool pw_step(pw_read_fn read, const void *ctx, struct pw_leaf *leaf);

#endif
