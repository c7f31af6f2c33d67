/* SPDX-License-Identifier: MIT */
/* assist_snapshot.c - guest RAM as the assist sees it, and the snapshot of the guest's page
 * tables (every table frame reachable from CR3, copied) that the shadow tables and every
 * translation here are built from.  The tables are hostile: the snapshot is bounded
 * (MAX_PT_FRAMES), every frame must lie in RAM, translations go through the shared walker
 * (common/include/pagewalk.h), which refuses non-canonical addresses. */
#include <string.h>

#include "assist_internal.h"
#include "pagewalk.h"

static unsigned fh_slot(uint64_t pa)
{
	return (unsigned)(((pa >> 12) * 0x9e3779b97f4a7c15ull) >> 51) & (FRAME_HASH - 1);
}

int frame_find(const struct worker *w, uint64_t pa)
{
	for (unsigned s = fh_slot(pa), n = 0; n < FRAME_HASH; s = (s + 1) & (FRAME_HASH - 1), n++) {
		uint32_t v = w->fhash[s];
		if (v == 0) {
			return -1;
		}
		if (w->frame_pa[v - 1] == pa) {
			return (int)v - 1;
		}
	}
	return -1;
}

static uint64_t *ptbit_word(const struct worker *w, uint64_t pa, uint64_t *mask)
{
	uint64_t pg = (pa - w->ram->start) >> 12;

	*mask = 1ull << (pg % 64);
	return &w->ptbits[pg / 64];
}

static int frame_add(struct worker *w, uint64_t pa, unsigned level)
{
	uint64_t mask;
	unsigned s = fh_slot(pa), i;

	if (w->nframes >= MAX_PT_FRAMES) {
		return -1;
	}
	while (w->fhash[s] != 0) {
		s = (s + 1) & (FRAME_HASH - 1);
	}
	i = w->nframes++;
	w->frame_pa[i] = pa;
	w->frame_level[i] = (uint8_t)level;
	w->fhash[s] = i + 1;
	*ptbit_word(w, pa, &mask) |= mask;
	memcpy(w->copies + (uint64_t)i * PAGE, ram_host(w->ram, pa), PAGE);
	return (int)i;
}

static void frames_clear(struct worker *w)
{
	uint64_t mask;

	for (unsigned i = 0; i < w->nframes; i++) {
		*ptbit_word(w, w->frame_pa[i], &mask) &= ~mask;
	}
	memset(w->fhash, 0, FRAME_HASH * sizeof *w->fhash);
	w->nframes = 0;
}

bool is_frame(const struct worker *w, uint64_t pa)
{
	uint64_t mask;

	return (*ptbit_word(w, pa, &mask) & mask) != 0;
}

bool frames_in(const struct worker *w, uint64_t pa, uint64_t len)
{
	for (uint64_t o = 0; o < len; o += PAGE) {
		if (is_frame(w, pa + o)) {
			return true;
		}
	}
	return false;
}

bool is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (level <= 3 && (e & PTE_PS));
}

const uint64_t *frame_copy(const struct worker *w, int idx)
{
	return (const uint64_t *)(const void *)(w->copies + (uint64_t)idx * PAGE);
}

/* Snapshots every table frame reachable from `root` (breadth first, each frame once, the
 * recursive slot included only as the root itself). */
int collect_frames(struct worker *w, uint64_t root)
{
	frames_clear(w);
	if (!ram_has(w->ram, root, PAGE) || frame_add(w, root, 4) < 0) {
		return -1;
	}
	for (unsigned k = 0; k < w->nframes; k++) {
		unsigned level = w->frame_level[k];
		const uint64_t *t = frame_copy(w, (int)k);
		for (unsigned i = 0; level > 1 && i < 512; i++) {
			uint64_t e = t[i], c = e & PTE_ADDR;
			if (!(e & PTE_P) || (level == 4 && (e & PTE_PS)) || is_leaf(e, level) ||
			    !ram_has(w->ram, c, PAGE) || frame_find(w, c) >= 0) {
				continue;
			}
			if (frame_add(w, c, level - 1) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

/* Whether the guest's tables differ from the snapshot in anything but accessed/dirty bits
 * (which KVM sets all the time).  Copies are refreshed as a side effect. */
bool frames_changed(struct worker *w)
{
	for (unsigned k = 0; k < w->nframes; k++) {
		uint64_t *c = (uint64_t *)(void *)(w->copies + (uint64_t)k * PAGE);
		const uint64_t *live = (const uint64_t *)(void *)ram_host(w->ram, w->frame_pa[k]);
		if (memcmp(c, live, PAGE) == 0) {
			continue;
		}
		for (unsigned i = 0; i < 512; i++) {
			uint64_t v = __atomic_load_n(&live[i], __ATOMIC_RELAXED);
			if ((v ^ c[i]) & ~(PTE_A | PTE_D)) {
				return true;
			}
			c[i] = v;
		}
	}
	return false;
}

/* The shared walker's entry reader: entries of snapshotted frames only. */
static bool snap_entry(const void *ctx, uint64_t pa, uint64_t *e)
{
	const struct worker *w = ctx;
	int f = frame_find(w, pa & PTE_ADDR);

	if (f < 0) {
		return false;
	}
	*e = frame_copy(w, f)[(pa & (PAGE - 1)) / 8];
	return true;
}

int gwalk(const struct worker *w, uint64_t va, uint64_t *pa, uint64_t *eff)
{
	struct pw_leaf leaf;
	enum pw_status st;

	if (!w->valid) {
		return -1;
	}
	if ((st = pw_walk(w->root, va, snap_entry, w, &leaf)) != PW_OK) {
		return st == PW_NONCANONICAL ? -2 : -1;
	}
	*pa = leaf.pa;
	*eff = PTE_P | (leaf.writable ? PTE_W : 0) | (leaf.nx ? PTE_NX : 0);
	return 0;
}

int read_virt(const struct worker *w, uint64_t va, void *dst, size_t len)
{
	uint8_t *d = dst;

	while (len > 0) {
		uint64_t pa, eff, n = PAGE - (va & (PAGE - 1));
		int rc;
		if (n > len) {
			n = len;
		}
		if ((rc = gwalk(w, va, &pa, &eff)) != 0) {
			return rc == -2 ? -3 : -1;
		}
		if (!ram_has(w->ram, pa, n)) {
			return -2;
		}
		memcpy(d, ram_host(w->ram, pa), n);
		d += n, va += n, len -= n;
	}
	return 0;
}

/* Every page of [va, va + len) mapped, RAM, and (for a store) writable, no page-table frame
 * and no translated code. */
bool virt_area_ok(const struct worker *w, uint64_t va, size_t len, bool store)
{
	for (uint64_t p = va & ~(PAGE - 1); p < va + len; p += PAGE) {
		uint64_t pa, eff;
		if (gwalk(w, p, &pa, &eff) != 0 || !ram_has(w->ram, pa & ~(PAGE - 1), PAGE)) {
			return false;
		}
		if (store && ((!(eff & PTE_W) && !w->wp_off) || is_frame(w, pa & ~(PAGE - 1)) ||
			      code_bit(w, pa))) {
			return false;
		}
	}
	return true;
}

void write_virt(const struct worker *w, uint64_t va, const void *src, size_t len)
{
	const uint8_t *s = src;

	while (len > 0) { /* virt_area_ok() checked every page */
		uint64_t pa = 0, eff, n = PAGE - (va & (PAGE - 1));
		n = n < len ? n : len;
		if (gwalk(w, va, &pa, &eff) == 0 && ram_has(w->ram, pa, n)) {
			memcpy(ram_host(w->ram, pa), s, n);
		}
		s += n, va += n, len -= n;
	}
}
