/* SPDX-License-Identifier: MIT */
/* assist_shadow.c - the page tables Unicorn runs on.  Built from the snapshot of the guest's
 * (assist_snapshot.c) into one of two pools: a page is present only if a burst may touch it
 * (backed by RAM or one of the zero ranges, read-only if it is a page-table frame or zeros),
 * with the guest-physical address of its frame; every other access is a precise #PF.
 * Unicorn's memory map is guest-physical and never changes (map_physical): Unicorn 2.0.1
 * would use the virtual address as the physical one, assist_ucfix.c corrects that.  The
 * guest's tables are hostile: a rebuild is bounded (WALK_BUDGET entries, SHADOW_FRAMES
 * frames). */
#include <string.h>

#include "assist_internal.h"

uint64_t pool_pa(unsigned p, unsigned f)
{
	return SHADOW_BASE + p * POOL_BYTES + (uint64_t)f * PAGE;
}

static void shadow_reset(struct worker *w, unsigned p)
{
	memset(w->pool[p], 0, w->used[p] * PAGE);
	w->used[p] = 1; /* frame 0 is the root */
}

uint64_t *shadow_slot(struct worker *w, unsigned p, uint64_t va, unsigned level, bool alloc)
{
	uint64_t *t = w->pool[p];

	for (unsigned l = 4; l > level; l--) {
		uint64_t *e = &t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(*e & PTE_P)) {
			if (!alloc || w->used[p] >= SHADOW_FRAMES) {
				return NULL;
			}
			*e = pool_pa(p, w->used[p]++) | PTE_P | PTE_W | PTE_A;
		} else if (*e & PTE_PS) {
			return NULL;
		}
		t = w->pool[p] + (((*e & PTE_ADDR) - pool_pa(p, 0)) >> 3);
	}
	return &t[(va >> (12 + 9 * (level - 1))) & 511];
}

/* Maps a 4 KiB (level 1) or 2 MiB (level 2) page at `va` onto guest-physical `pa`: Unicorn's
 * memory map is guest-physical (RAM once, at its address: assist_ucfix.c corrects Unicorn's
 * physical address from this entry). */
static void shadow_set(struct worker *w, unsigned p, uint64_t va, uint64_t pa, unsigned level,
		       bool wr)
{
	uint64_t *e = shadow_slot(w, p, va, level, true);

	if (e != NULL) {
		*e = (pa & PTE_ADDR) | PTE_P | PTE_A | PTE_D | (wr ? PTE_W : 0) |
		     (level == 2 ? PTE_PS : 0);
	}
}

/* A page can live at `va` if that range is canonical. */
static bool va_usable(uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1;

	return last < (1ull << 47) || va >= 0xffff800000000000ull;
}

static void emit_4k(struct worker *w, unsigned p, uint64_t va, uint64_t pa, bool wr)
{
	bool zero = zero_page(w->ram, pa);

	if ((!ram_has(w->ram, pa, PAGE) && !zero) || !va_usable(va, PAGE)) {
		return; /* MMIO or unbacked: KVM's business */
	}
	/* page-table frames are read-only in exits mode, so that page-table writes happen in
	 * KVM, whose shadow MMU tracks them; in JIT mode (only where KVM emulates CPL-0 code,
	 * walking the guest's tables in software) the burst writes them, and follows the
	 * change at the INVLPG or CR3 load that must come before a mapping goes away */
	shadow_set(w, p, va, pa, 1, wr && !zero && (w->jit || !is_frame(w, pa)));
}

static void emit_2m(struct worker *w, unsigned p, uint64_t va, uint64_t pa, bool wr)
{
	const uint64_t len = 2ull << 20;

	if ((pa >= w->ram->start + w->ram->size || pa + len <= w->ram->start) &&
	    !(w->ram->zero != NULL && pa < w->ram->zero_end && pa + len > w->ram->zero_start)) {
		return;
	}
	if (ram_has(w->ram, pa, len) && (w->jit || !frames_in(w, pa, len)) && va_usable(va, len)) {
		shadow_set(w, p, va, pa, 2, wr);
		return;
	}
	for (uint64_t o = 0; o < len; o += PAGE) {
		emit_4k(w, p, va + o, pa + o, wr);
	}
}

void emit_leaf(struct worker *w, unsigned p, uint64_t va, uint64_t pa, uint64_t size, bool wr)
{
	if (size == PAGE) {
		emit_4k(w, p, va, pa, wr);
		return;
	}
	for (uint64_t o = 0; o < size; o += 2ull << 20) {
		emit_2m(w, p, va + o, pa + o, wr);
	}
}

static void walk_table(struct worker *w, unsigned p, int f, unsigned level, uint64_t base, bool wr)
{
	const uint64_t *t = frame_copy(w, f);
	unsigned shift = 12 + 9 * (level - 1);

	visit_add(w, f, level, base, wr);
	for (unsigned i = 0; i < 512 && w->budget > 0; i++, w->budget--) {
		uint64_t e = t[i], va = base | ((uint64_t)i << shift);
		bool w2 = wr && (e & PTE_W);
		int c;
		if (!(e & PTE_P) || (level == 4 && (e & PTE_PS))) {
			continue;
		}
		if (level == 4 && (va & (1ull << 47))) {
			va |= 0xffff000000000000ull;
		}
		if (is_leaf(e, level)) {
			uint64_t size = 1ull << shift;
			emit_leaf(w, p, va, e & PTE_ADDR & ~(size - 1), size, w2 || w->wp_off);
		} else if ((e & PTE_ADDR) != w->root || w->jit) {
			/* JIT mode follows the recursive slot too: the guest reads its tables
			 * there (read-only, like every table frame); exits mode leaves that to
			 * KVM.  Each call is one level down: no loop. */
			if ((c = frame_find(w, e & PTE_ADDR)) >= 0) {
				walk_table(w, p, c, level - 1, va, w2);
			}
		}
	}
}

void flush_tlb(struct worker *w)
{
	if (ucfix_flush(w)) {
		return;
	}
	/* mapping a region flushes Unicorn's whole TLB (memory_map_ptr -> tlb_flush) */
	if (uc_mem_map_ptr(w->uc, FLUSH_PAGE, PAGE, UC_PROT_READ, w->flush_host) == UC_ERR_OK) {
		uc_mem_unmap(w->uc, FLUSH_PAGE, PAGE);
	}
}

/* A safety net: with assist_ucfix.c every address has a region for Unicorn's checks, so this
 * is never called; if it were, Unicorn would stop imprecisely and the burst is void. */
bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
		 void *opaque)
{
	struct worker *w = opaque;

	(void)uc, (void)type, (void)addr, (void)size, (void)value;
	w->bad_access = true;
	return false;
}

/* Unicorn's memory map, once: guest RAM at its guest-physical address, and the ranges that read
 * as zeros where RAM does not cover them (read-only host memory; the shadow maps them
 * read-only, and Unicorn's own permission check is disarmed, assist_ucfix.c). */
int map_physical(struct worker *w)
{
	const struct ram *m = w->ram;
	uint64_t s, n;

	if (uc_mem_map_ptr(w->uc, m->start, m->size, UC_PROT_ALL, m->base) != UC_ERR_OK) {
		return -1;
	}
	for (unsigned i = 0; m->zero != NULL && i < ASSIST_ZERO_RANGES; i++) {
		assist_zero_range(i, &s, &n);
		for (uint64_t o = 0; o < n; o += PAGE) {
			if (!ram_has(m, s + o, PAGE) &&
			    uc_mem_map_ptr(w->uc, s + o, PAGE, UC_PROT_ALL,
					   (void *)(uintptr_t)page_host(m, s + o)) != UC_ERR_OK) {
				return -1;
			}
		}
	}
	return 0;
}

static int rebuild(struct worker *w, uint64_t root)
{
	unsigned p = w->active ^ 1;
	uint64_t cr3 = pool_pa(p, 0);

	w->root = root;
	w->valid = false;
	if (collect_frames(w, root) != 0) {
		return -1;
	}
	w->valid = true;
	shadow_reset(w, p);
	visits_reset(w);
	w->budget = WALK_BUDGET;
	walk_table(w, p, 0, 4, 0, true);
	w->visits_ok = w->visits_ok && w->budget > 0;
	uc_reg_write(w->uc, UC_X86_REG_CR3, &cr3);
	flush_tlb(w);
	w->active = p;
	w->gen++;
	w->epoch++; /* the blocks are checked again (hot blocks included) */
	w->out.counts.rebuilds++;
	return 0;
}

/* Brings the shadow up to date with the guest's tables before a burst. */
int shadow_sync(struct worker *w, const struct kvm_sregs *s)
{
	uint64_t root = s->cr3 & PTE_ADDR;
	bool wp_off = !(s->cr0 & CR0_WP), nxe = (s->efer & EFER_NXE) != 0;

	if (w->valid && root == w->root && wp_off == w->wp_off && nxe == w->nxe &&
	    follow_leaf_changes(w) == 0) {
		return 0;
	}
	w->wp_off = wp_off;
	w->nxe = nxe;
	return rebuild(w, root);
}

/* The guest-physical address the active shadow maps `va` to (for assist_ucfix.c). */
bool shadow_pa(const struct worker *w, uint64_t va, uint64_t *pa)
{
	const uint64_t *t = w->pool[w->active];
	unsigned p = w->active;

	for (unsigned l = 4; l >= 1; l--) {
		uint64_t e = t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_P)) {
			return false;
		}
		if (l == 1 || (l == 2 && (e & PTE_PS))) {
			uint64_t mask = (1ull << (12 + 9 * (l - 1))) - 1;
			*pa = ((e & PTE_ADDR) & ~mask) | (va & mask);
			return true;
		}
		t = w->pool[p] + (((e & PTE_ADDR) - pool_pa(p, 0)) >> 3);
	}
	return false;
}
