/* SPDX-License-Identifier: MIT */
/* assist_shadow.c - the page tables Unicorn runs on.  Built from the snapshot of the guest's
 * (assist_snapshot.c) into one of two pools: a page is present only if a burst may touch it
 * (backed by RAM, read-only if it is a page-table frame), mapped at its virtual address onto
 * the host memory of its frame; Unicorn's memory map follows by difference, and 4 KiB
 * placeholders make every other access a precise #PF.  The guest's tables are hostile: a
 * rebuild is bounded (WALK_BUDGET entries, MAX_VA_RUNS runs, SHADOW_FRAMES frames). */
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

static uint64_t *shadow_slot(struct worker *w, unsigned p, uint64_t va, unsigned level, bool alloc)
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

/* Maps a 4 KiB (level 1) or 2 MiB (level 2) page.  The address field stays 0: Unicorn uses
 * the virtual address as the physical one anyway. */
static void shadow_set(struct worker *w, unsigned p, uint64_t va, unsigned level, bool wr)
{
	uint64_t *e = shadow_slot(w, p, va, level, true);

	if (e != NULL) {
		*e = PTE_P | PTE_A | PTE_D | (wr ? PTE_W : 0) | (level == 2 ? PTE_PS : 0);
	}
}

static void shadow_clear(struct worker *w, unsigned p, uint64_t va, uint64_t len)
{
	for (uint64_t o = 0; o < len; o += PAGE) {
		uint64_t *e = shadow_slot(w, p, va + o, 1, false);
		if (e != NULL) {
			*e = 0;
		} else if ((e = shadow_slot(w, p, va + o, 2, false)) != NULL) {
			*e = 0;
		}
	}
}

/* A page can live at `va` in Unicorn's address space if that range is canonical and clear
 * of our own pools. */
static bool va_usable(uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1;
	bool lo = last < (1ull << 47), hi = va >= 0xffff800000000000ull;

	return (lo || hi) && !(va < RESERVED_END && last >= SHADOW_BASE);
}

static bool run_add(struct worker *w, uint64_t va, uint64_t pa, uint64_t len)
{
	struct va_run *r = w->nnext > 0 ? &w->next[w->nnext - 1] : NULL;

	if (r != NULL && r->va + r->len == va && r->pa + r->len == pa) {
		r->len += len;
	} else if (w->nnext < MAX_VA_RUNS) {
		w->next[w->nnext++] = (struct va_run){.va = va, .pa = pa, .len = len};
	} else {
		return false;
	}
	return true;
}

static void emit_4k(struct worker *w, unsigned p, uint64_t va, uint64_t pa, bool wr)
{
	if (!ram_has(w->ram, pa, PAGE)) {
		return; /* MMIO or unbacked: KVM's business */
	}
	if (!va_usable(va, PAGE) || !run_add(w, va, pa, PAGE)) {
		return;
	}
	shadow_set(w, p, va, 1, wr && !is_frame(w, pa));
}

static void emit_2m(struct worker *w, unsigned p, uint64_t va, uint64_t pa, bool wr)
{
	const uint64_t len = 2ull << 20;

	if (pa >= w->ram->start + w->ram->size || pa + len <= w->ram->start) {
		return;
	}
	if (ram_has(w->ram, pa, len) && !frames_in(w, pa, len) && va_usable(va, len) &&
	    run_add(w, va, pa, len)) {
		shadow_set(w, p, va, 2, wr);
		return;
	}
	for (uint64_t o = 0; o < len; o += PAGE) {
		emit_4k(w, p, va + o, pa + o, wr);
	}
}

static void emit_leaf(struct worker *w, unsigned p, uint64_t va, uint64_t pa, uint64_t size,
		      bool wr)
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
		} else if ((e & PTE_ADDR) != w->root && (c = frame_find(w, e & PTE_ADDR)) >= 0) {
			/* the recursive slot is skipped: page-table access goes through KVM */
			walk_table(w, p, c, level - 1, va, w2);
		}
	}
}

static void flush_tlb(struct worker *w)
{
	/* mapping a region flushes Unicorn's whole TLB (memory_map_ptr -> tlb_flush) */
	if (uc_mem_map_ptr(w->uc, FLUSH_PAGE, PAGE, UC_PROT_READ, w->flush_host) == UC_ERR_OK) {
		uc_mem_unmap(w->uc, FLUSH_PAGE, PAGE);
	}
}

/* Placeholder callbacks: never called, since the shadow maps no placeholder page. */
static uint64_t hole_read(uc_engine *uc, uint64_t off, unsigned size, void *opaque)
{
	struct worker *w = opaque;

	(void)off, (void)size;
	w->bad_access = true;
	uc_emu_stop(uc);
	return 0;
}

static void hole_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t v, void *opaque)
{
	(void)v;
	hole_read(uc, off, size, opaque);
}

static unsigned hole_pos(const struct worker *w, uint64_t page)
{
	unsigned lo = 0, hi = w->nholes;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (w->holes[mid] < page) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

static void holes_clear(struct worker *w)
{
	for (unsigned i = 0; i < w->nholes; i++) {
		uc_mem_unmap(w->uc, w->holes[i], PAGE);
	}
	w->nholes = 0;
}

/* A 4 KiB placeholder region at `page` (the page has no region: the shadow does not map
 * it), executable so that fetches, too, reach the table walk. */
static bool hole_add(struct worker *w, uint64_t page)
{
	unsigned i;

	if (page >= SHADOW_BASE && page < RESERVED_END) {
		return false;
	}
	if (w->nholes >= MAX_HOLES) {
		holes_clear(w);
	}
	if (uc_mmio_map(w->uc, page, PAGE, hole_read, w, hole_write, w) != UC_ERR_OK ||
	    uc_mem_protect(w->uc, page, PAGE, UC_PROT_ALL) != UC_ERR_OK) {
		return false;
	}
	i = hole_pos(w, page);
	memmove(&w->holes[i + 1], &w->holes[i], (w->nholes - i) * sizeof *w->holes);
	w->holes[i] = page;
	w->nholes++;
	return true;
}

/* Placeholders inside [va, va + len) make room for a run. */
static void holes_remove(struct worker *w, uint64_t va, uint64_t len)
{
	unsigned i = hole_pos(w, va), j = i;

	while (j < w->nholes && w->holes[j] - va < len) {
		uc_mem_unmap(w->uc, w->holes[j], PAGE);
		j++;
	}
	memmove(&w->holes[i], &w->holes[j], (w->nholes - j) * sizeof *w->holes);
	w->nholes -= j - i;
}

/* Unicorn found no region at a virtual address: give it a placeholder and let the access go
 * on to the walk of the shadow tables, which raises the precise #PF. */
bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
		 void *opaque)
{
	struct worker *w = opaque;

	(void)uc, (void)type, (void)size, (void)value;
	if (!hole_add(w, addr & ~(PAGE - 1))) {
		w->bad_access = true; /* Unicorn stops imprecisely: the burst is void */
		return false;
	}
	return true;
}

/* Marks the entries of `old` that `next` repeats (both sorted by address). */
static void mark_kept(struct va_run *old, unsigned nold, struct va_run *next, unsigned nnext)
{
	unsigned i = 0, j = 0;

	while (i < nold && j < nnext) {
		struct va_run *o = &old[i], *n = &next[j];
		if (o->va == n->va && o->pa == n->pa && o->len == n->len) {
			o->keep = n->keep = 1;
			n->code = o->code;
			i++, j++;
		} else if (o->va <= n->va) {
			i++;
		} else {
			j++;
		}
	}
}

static void swap_lists(struct va_run **a, struct va_run **b, unsigned *na, unsigned *nb)
{
	struct va_run *t = *a;

	*a = *b;
	*b = t;
	*na = *nb;
	*nb = 0;
}

/* Makes Unicorn's address space match w->next: runs that did not change stay, the others
 * are unmapped (code translated from them is dropped first, while the old shadow still maps
 * them), the new ones are mapped in place of any placeholders.  A run that cannot be mapped
 * is left out of the shadow being built (pool p). */
static void sync_mappings(struct worker *w, unsigned p)
{
	mark_kept(w->runs, w->nruns, w->next, w->nnext);
	for (unsigned i = 0; i < w->nruns; i++) {
		struct va_run *o = &w->runs[i];
		if (!o->keep) {
			if (o->code) {
				uc_ctl_remove_cache(w->uc, o->va, o->va + o->len);
			}
			uc_mem_unmap(w->uc, o->va, o->len);
		}
		o->keep = 0;
	}
	for (unsigned j = 0; j < w->nnext; j++) {
		struct va_run *n = &w->next[j];
		if (n->keep) {
			n->keep = 0;
			continue;
		}
		holes_remove(w, n->va, n->len);
		if (uc_mem_map_ptr(w->uc, n->va, n->len, UC_PROT_ALL, ram_host(w->ram, n->pa)) !=
		    UC_ERR_OK) {
			shadow_clear(w, p, n->va, n->len);
			n->pa = ~0ull; /* never "kept": unmapped (harmlessly) next time */
		}
	}
	swap_lists(&w->runs, &w->next, &w->nruns, &w->nnext);
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
	w->nnext = 0;
	w->budget = WALK_BUDGET;
	walk_table(w, p, 0, 4, 0, true);
	sync_mappings(w, p);
	uc_reg_write(w->uc, UC_X86_REG_CR3, &cr3);
	flush_tlb(w);
	w->active = p;
	w->gen++;
	w->out.counts.rebuilds++;
	return 0;
}

/* Brings the shadow up to date with the guest's tables before a burst. */
int shadow_sync(struct worker *w, const struct kvm_sregs *s)
{
	uint64_t root = s->cr3 & PTE_ADDR;
	bool wp_off = !(s->cr0 & CR0_WP), nxe = (s->efer & EFER_NXE) != 0;

	if (w->valid && root == w->root && wp_off == w->wp_off && nxe == w->nxe &&
	    !frames_changed(w)) {
		return 0;
	}
	w->wp_off = wp_off;
	w->nxe = nxe;
	return rebuild(w, root);
}

/* The run holding `va` had code translated from it (binary search: runs are sorted). */
void mark_code(struct worker *w, uint64_t va)
{
	unsigned lo = 0, hi = w->nruns;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (w->runs[mid].va + w->runs[mid].len <= va) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo < w->nruns && va - w->runs[lo].va < w->runs[lo].len) {
		w->runs[lo].code = 1;
	}
}
