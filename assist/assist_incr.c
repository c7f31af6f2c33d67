/* SPDX-License-Identifier: MIT */
/* assist_incr.c - following a change of the guest's page tables without a rebuild.
 *
 * Hermit maps and unmaps pages one at a time (its heap, its boot-time identity map), each
 * followed by an INVLPG.  A rebuild walks every table (assist_shadow.c); most changes touch
 * only leaf entries (a page mapped, unmapped, or its rights changed), and those can be
 * followed where they are: the rebuild's walk records where it met each table frame (its
 * "visits": a frame may be met more than once, through the recursive slot at a lower level),
 * and a changed entry is re-emitted at each of those places, exactly as the walk would have
 * emitted it.  Anything else (an entry that points to a table, before or after; a frame the
 * walk did not record; too many changes; a shadow pool near its end) needs a rebuild.  The
 * guest's tables are hostile: everything is bounded (MAX_VISITS, MAX_LEAF_CHANGES) and falls
 * back to the bounded rebuild. */
#include <string.h>

#include "assist_internal.h"

struct change {
	int frame;
	unsigned idx;
	uint64_t val;
};

void visits_reset(struct worker *w)
{
	for (unsigned k = 0; k < w->nframes; k++) {
		w->visit_head[k] = -1;
	}
	w->nvisits = 0;
	w->visits_ok = true;
}

void visit_add(struct worker *w, int frame, unsigned level, uint64_t base, bool wr)
{
	struct visit *v;

	if (w->nvisits >= MAX_VISITS || frame < 0 || (unsigned)frame >= w->nframes) {
		w->visits_ok = false;
		return;
	}
	v = &w->visits[w->nvisits];
	*v = (struct visit){.base = base,
			    .next = w->visit_head[frame],
			    .frame = (uint16_t)frame,
			    .level = (uint8_t)level,
			    .wr = wr};
	w->visit_head[frame] = (int32_t)w->nvisits++;
}

/* An entry that points to a table when read at `level` (level 4 never maps a page). */
static bool table_at(uint64_t e, unsigned level)
{
	return (e & PTE_P) && (level == 4 || !is_leaf(e, level));
}

/* Whether entry `i` of frame `f` may change from `old` to `new` in place, in every view. */
static bool leaf_only(const struct worker *w, int f, uint64_t old, uint64_t new)
{
	if (table_at(old, w->frame_level[f]) || table_at(new, w->frame_level[f])) {
		return false;
	}
	for (int32_t v = w->visit_head[f]; v >= 0; v = w->visits[v].next) {
		unsigned lv = w->visits[v].level;
		if (table_at(old, lv) || table_at(new, lv)) {
			return false;
		}
	}
	return true;
}

/* Clears what the shadow maps for one entry's range, then maps the new entry there. */
static void reemit(struct worker *w, const struct visit *v, unsigned i, uint64_t e)
{
	unsigned shift = 12 + 9 * (v->level - 1), p = w->active;
	uint64_t va = v->base | ((uint64_t)i << shift), size = 1ull << shift, *slot;

	if (v->level == 4 && (va & (1ull << 47))) {
		va |= 0xffff000000000000ull;
	}
	if ((slot = shadow_slot(w, p, va, v->level, false)) != NULL) {
		*slot = 0; /* a lower shadow table it pointed to is left (until the next rebuild) */
	}
	if (e & PTE_P) {
		emit_leaf(w, p, va, e & PTE_ADDR & ~(size - 1), size,
			  (v->wr && (e & PTE_W)) || w->wp_off);
	}
}

/* The changed entries of the snapshot, A/D-only changes absorbed: their number, or -1 if one
 * of them needs a rebuild. */
static int collect_changes(struct worker *w, struct change *ch)
{
	int n = 0;

	for (unsigned k = 0; k < w->nframes; k++) {
		uint64_t *c = (uint64_t *)(void *)(w->copies + (uint64_t)k * PAGE);
		const uint64_t *live = (const uint64_t *)(void *)ram_host(w->ram, w->frame_pa[k]);
		if (memcmp(c, live, PAGE) == 0) {
			continue;
		}
		for (unsigned i = 0; i < 512; i++) {
			uint64_t v = __atomic_load_n(&live[i], __ATOMIC_RELAXED);
			if (((v ^ c[i]) & ~(PTE_A | PTE_D)) == 0) {
				c[i] = v;
				continue;
			}
			if (n >= (int)MAX_LEAF_CHANGES || !leaf_only(w, (int)k, c[i], v)) {
				return -1;
			}
			ch[n++] = (struct change){.frame = (int)k, .idx = i, .val = v};
		}
	}
	return n;
}

int follow_leaf_changes(struct worker *w)
{
	static __thread struct change ch[MAX_LEAF_CHANGES];
	int n;

	if (!w->visits_ok || w->used[w->active] + 64 >= SHADOW_FRAMES) {
		return frames_changed(w) ? -1 : 0;
	}
	if ((n = collect_changes(w, ch)) <= 0) {
		return n;
	}
	for (int j = 0; j < n; j++) {
		uint64_t *copy = (uint64_t *)(void *)(w->copies + (uint64_t)ch[j].frame * PAGE);
		copy[ch[j].idx] = ch[j].val;
		for (int32_t v = w->visit_head[ch[j].frame]; v >= 0; v = w->visits[v].next) {
			reemit(w, &w->visits[v], ch[j].idx, ch[j].val);
		}
	}
	flush_tlb(w);
	w->gen++; /* cached code pages (assist_hooks.c) */
	w->epoch++; /* the blocks are checked again (hot blocks included) */
	w->out.counts.rebuilds++;
	return 0;
}
