/* SPDX-License-Identifier: MIT */
/* assist_hooks.c - what runs inside Unicorn: the block hook (screens each translated block
 * once, counts instructions for the cap, places stop points), the stop-point code hooks and
 * the interrupt hook.  The hot path of a burst (once per translated block run), kept in one
 * file with the code-page cache it uses. */
#include <string.h>

#include "assist_internal.h"

/* Host address of the code page holding `va` (NULL: not fetchable), cached per rebuild. */
static const uint8_t *code_page(struct worker *w, uint64_t va, bool *nx)
{
	struct xtlb *e = &w->xt[(va >> 12) & (XTLB - 1)];
	uint64_t pa, eff;

	if (e->gen == w->gen && e->vpage == va >> 12) {
		*nx = e->nx;
		return e->host;
	}
	if (gwalk(w, va, &pa, &eff) != 0 || !ram_has(w->ram, pa & ~(PAGE - 1), PAGE)) {
		return NULL;
	}
	*e = (struct xtlb){.vpage = va >> 12,
			   .gen = w->gen,
			   .host = ram_host(w->ram, pa & ~(PAGE - 1)),
			   .nx = w->nxe && (eff & PTE_NX)};
	*nx = e->nx;
	return e->host;
}

/* A code hook bounded to one address ends the burst right before that instruction (Unicorn
 * checks for a stop request after a code hook).  Not Unicorn's "exits": it invalidates the
 * translated blocks of every exit at each uc_emu_start, so their cost grows with their
 * number, every burst.  A code hook costs only where it is: translated blocks outside all
 * hooks' ranges carry no call. */
static void on_stop_insn(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque);

static unsigned exit_pos(const struct worker *w, uint64_t a)
{
	unsigned lo = 0, hi = w->nexits;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (w->exits[mid].addr < a) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

/* The stop point at `a`, or NULL. */
static struct stop_point *exit_find(const struct worker *w, uint64_t a)
{
	unsigned i = exit_pos(w, a);

	return i < w->nexits && w->exits[i].addr == a ? &w->exits[i] : NULL;
}

void exits_clear(struct worker *w)
{
	for (unsigned i = 0; i < w->nexits; i++) {
		uc_hook_del(w->uc, w->exits[i].hook); /* drops the blocks it was compiled into */
	}
	w->nexits = 0;
}

/* Drops the stop point at index i: its hook, and the blocks it was compiled into. */
static void exit_drop(struct worker *w, unsigned i)
{
	uint64_t a = w->exits[i].addr;

	uc_hook_del(w->uc, w->exits[i].hook);
	memmove(&w->exits[i], &w->exits[i + 1], (w->nexits - i - 1) * sizeof *w->exits);
	w->nexits--;
	uc_ctl_remove_cache(w->uc, a, a + 1);
}

static void exit_add(struct worker *w, uint64_t a, bool fpu)
{
	unsigned i;
	uc_hook h;

	if (w->nexits >= MAX_EXITS) { /* the least recently used goes (MAX_EXITS) */
		unsigned old = 0;
		for (i = 1; i < w->nexits; i++) {
			old = w->exits[i].used < w->exits[old].used ? i : old;
		}
		exit_drop(w, old);
	}
	if (uc_hook_add(w->uc, &h, UC_HOOK_CODE, (void *)on_stop_insn, w, a, a) != UC_ERR_OK) {
		return; /* the block runs again without it: no progress, and the burst ends */
	}
	i = exit_pos(w, a);
	memmove(&w->exits[i + 1], &w->exits[i], (w->nexits - i) * sizeof *w->exits);
	w->exits[i] = (struct stop_point){.addr = a, .hook = h, .used = ++w->stops, .fpu = fpu};
	w->nexits++;
	uc_ctl_remove_cache(w->uc, a, a + 1); /* blocks compiled before the hook existed */
}

/* A stop point whose instruction is no longer on the stop list (the code changed), about to
 * run: dropped, unless it is an FPU stop point and CR0.TS is clear (the run passes it). */
void exit_remove(struct worker *w, uint64_t a)
{
	unsigned i = exit_pos(w, a);

	if (i < w->nexits && w->exits[i].addr == a && (!w->exits[i].fpu || w->ts)) {
		exit_drop(w, i);
	}
}

static void stop(struct worker *w, enum why why)
{
	if (w->why == W_NONE) {
		w->why = why;
	}
	uc_emu_stop(w->uc);
}

void atomic_unsupported(struct worker *w)
{
	stop(w, W_ATOMIC);
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h = (h ^ p[i]) * 0x100000001b3ull;
	}
	return h;
}

/* The bytes of [addr, addr + size): in place, or copied when they straddle two pages. */
static const uint8_t *block_bytes(struct worker *w, uint64_t addr, uint32_t size)
{
	uint64_t off = addr & (PAGE - 1);
	bool nx = false, nx2 = false;
	const uint8_t *p = code_page(w, addr, &nx), *q;

	if (p == NULL || nx || size == 0 || size > BLOCK_MAX) {
		return NULL;
	}
	if (off + size <= PAGE) {
		return p + off;
	}
	if ((q = code_page(w, (addr | (PAGE - 1)) + 1, &nx2)) == NULL || nx2 ||
	    off + size > 2 * PAGE) {
		return NULL;
	}
	memcpy(w->scratch, p + off, PAGE - off);
	memcpy(w->scratch + (PAGE - off), q, size - (PAGE - off));
	return w->scratch;
}

static bool block_same(const struct block *b, const uint8_t *code)
{
	if (b->size <= BLOCK_INLINE) {
		return memcmp(b->bytes, code, b->size) == 0;
	}
	return memcmp(b->bytes, code, BLOCK_INLINE) == 0 &&
	       hash_bytes(code + BLOCK_INLINE, b->size - BLOCK_INLINE) == b->hash;
}

static void block_decode(struct worker *w, struct block *b, uint64_t addr, const uint8_t *code,
			 uint32_t size)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

	b->addr = addr;
	b->size = size;
	b->ninsn = 0;
	b->stop = -1;
	b->fpu = -1;
	b->ends_sti = false;
	b->pause = false;
	memcpy(b->bytes, code, size < BLOCK_INLINE ? size : BLOCK_INLINE);
	b->hash = size > BLOCK_INLINE ? hash_bytes(code + BLOCK_INLINE, size - BLOCK_INLINE) : 0;
	for (uint32_t off = 0; off < size; off += in.length) {
		struct verdict v;
		if (!decode(w, code + off, size - off, &in, ops)) {
			b->stop = (int16_t)off;
			return;
		}
		v = classify(&in, ops);
		if (w->jit) {
			v = jit_verdict(w, v, &in, ops);
		}
		if (v.action != A_RUN) {
			b->stop = (int16_t)off;
			return;
		}
		if (v.fpu && b->fpu < 0) {
			b->fpu = (int16_t)off;
		}
		b->ninsn++;
		b->ends_sti = in.mnemonic == ZYDIS_MNEMONIC_STI;
		b->pause |= in.mnemonic == ZYDIS_MNEMONIC_PAUSE;
	}
}

/* Whether the guest's bytes under `b` may have changed since Unicorn translated them, and so
 * whether this burst has checked them yet.  Once per burst is enough: only this instance runs
 * them meanwhile (its own stores to code pages Unicorn follows itself: assist_ucfix.c), and
 * a write by anything else (the VMM, KVM, another vCPU, a device) is ordered before the burst,
 * or is cross-modifying code, which x86 makes visible only after a serializing instruction,
 * and every serializing instruction ends a burst.  A page-table change (gen) checks again. */
static bool block_checked(const struct worker *w, const struct block *b, uint64_t addr,
			  uint32_t size)
{
	return b->seen == w->epoch && b->seen_gen == w->gen && b->addr == addr && b->size == size;
}

/* The block's first run in this burst: its bytes checked (and decoded, if new or changed).
 * False when the burst stops here.  Kept out of on_block, whose common path is then a leaf
 * without a stack frame worth protecting (perf: a fifth of on_block was its prologue,
 * epilogue and stack-protector check). */
static __attribute__((noinline)) bool block_refresh(struct worker *w, struct block *b,
						    uint64_t addr, uint32_t size)
{
	const uint8_t *code = block_bytes(w, addr, size);

	if (code == NULL) {
		stop(w, W_NX); /* not fetchable as guest code: let KVM fault */
		return false;
	}
	if (b->addr != addr || b->size != size || !block_same(b, code)) {
		bool changed = b->addr == addr && b->size == size;
		block_decode(w, b, addr, code, size);
		if (changed) {
			/* the code changed outside this Unicorn instance (another vCPU, KVM, a file
			 * read): Unicorn would run its old translation; drop it, start again */
			b->seen = w->epoch;
			b->seen_gen = w->gen;
			uc_ctl_remove_cache(w->uc, addr, addr + size);
			stop(w, W_RESTART);
			return false;
		}
	}
	b->seen = w->epoch;
	b->seen_gen = w->gen;
	return true;
}

/* Whether the stop-list instruction at `a` has its stop point: one placed for CR0.TS alone
 * becomes an unconditional one (the code there changed). */
static bool stop_placed(struct worker *w, uint64_t a)
{
	struct stop_point *p = exit_find(w, a);

	if (p != NULL) {
		p->fpu = false;
	}
	return p != NULL;
}

static void on_block_slow(struct worker *w, struct hot_block *h, uint64_t addr, uint32_t size);

/* The entry of the block (addr, size), or the one it replaces: the least recently checked of
 * its set.  Four ways, not one: a direct-mapped table put pairs of rusty_demo's Laplace blocks
 * in one slot, and each block was decoded again at every turn of the loop (27,161 decodes of
 * 7,295 blocks in a run; about 1,000 each for 14 of them). */
static struct block *block_entry(struct worker *w, uint64_t addr, uint32_t size)
{
	struct block *set =
	    &w->blocks[(((addr * 0x9e3779b97f4a7c15ull) >> 52) & (BLOCKS / BLOCK_WAYS - 1)) *
		       BLOCK_WAYS];
	struct block *old = &set[0];

	for (unsigned i = 0; i < BLOCK_WAYS; i++) {
		if (set[i].addr == addr && set[i].size == size) {
			return &set[i];
		}
		old = set[i].seen < old->seen ? &set[i] : old;
	}
	return old;
}

/* Runs at the start of every translated block, before any of its instructions: a hot block
 * below the limit only counts (a leaf without a stack frame: perf put a quarter of on_block's
 * samples on the prologue and epilogue the slow path needs).  It never stops the run: every
 * stop comes from on_block_slow, which also keeps the limit at the count while an STI shadow
 * is being tracked, so that the blocks around it take the slow path. */
void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
	struct worker *w = opaque;
	struct hot_block *h = &w->hot[hot_slot(addr)];

	(void)uc;
	if (__builtin_expect(h->addr == addr && h->epoch == w->epoch && h->size == size &&
				 w->insns + h->ninsn <= w->limit,
			     1)) {
		w->insns += h->ninsn;
		return;
	}
	on_block_slow(w, h, addr, size);
}

void hot_drop_fpu(struct worker *w)
{
	for (unsigned i = 0; i < HOT_BLOCKS; i++) {
		if (w->hot[i].fpu) {
			w->hot[i] = (struct hot_block){0};
		}
	}
}

/* While an STI shadow is tracked (sti_next), the next block takes the slow path too: it is the
 * shadow's, or the first after it, which ends the tracking. */
static void shadow_track(struct worker *w)
{
	if (w->sti_next != 0) {
		w->limit = w->insns;
	}
}

static __attribute__((noinline)) void on_block_slow(struct worker *w, struct hot_block *h,
						    uint64_t addr, uint32_t size)
{
	struct block *b;

	w->block_rip = addr; /* a stop from here leaves Unicorn's RIP stale (see run_once) */
	if (h->addr == addr && h->epoch == w->epoch && h->size == size) {
		/* as below, for a block that needs nothing else */
		if (w->sti_next != 0 && addr != w->sti_next) {
			w->sti_next = 0;
		}
		if (w->insns > 0 && w->insns + h->ninsn > w->limit &&
		    at_limit(w, h->ninsn, addr == w->sti_next)) {
			return;
		}
		w->insns += h->ninsn;
		shadow_track(w);
		return;
	}
	b = block_entry(w, addr, size);
	if (!block_checked(w, b, addr, size) && !block_refresh(w, b, addr, size)) {
		return;
	}
	/* the block right after an STI (Unicorn ends a block there) is in its interrupt shadow,
	 * however often its hook runs (Unicorn may run a block's hook again) */
	if (w->sti_next != 0 && addr != w->sti_next) {
		w->sti_next = 0;
	}
	if (b->pause && w->jit && w->insns > 0 && spin_round(w)) {
		return;
	}
	if (w->insns > 0 && w->insns + b->ninsn > w->limit &&
	    at_limit(w, b->ninsn, addr == w->sti_next)) {
		return; /* the cap, or an interrupt is due */
	}
	if (b->stop >= 0 && !stop_placed(w, addr + (uint64_t)b->stop)) {
		/* first time here: make the instruction an exit and retranslate the block */
		exit_add(w, addr + (uint64_t)b->stop, false);
		stop(w, W_RESTART);
		return;
	}
	if (w->ts && b->fpu >= 0 && b->fpu != b->stop && !exit_find(w, addr + (uint64_t)b->fpu)) {
		/* CR0.TS (JIT mode): Unicorn 2.0.1 never raises #NM, so the burst stops before
		 * the block's first x87/SSE instruction and screen() reports #NM there */
		exit_add(w, addr + (uint64_t)b->fpu, true);
		stop(w, W_RESTART);
		return;
	}
	w->insns += b->ninsn;
	if (b->ends_sti) {
		w->sti_next = addr + size;
	} else if (b->stop < 0 && !b->pause && (b->fpu < 0 || !w->ts)) {
		/* CR0.TS turning on drops the entries with x87/SSE code (hot_drop_fpu) */
		*h = (struct hot_block){.addr = addr,
					.epoch = w->epoch,
					.size = size,
					.ninsn = b->ninsn,
					.fpu = b->fpu >= 0};
	}
	shadow_track(w);
}

static void on_stop_insn(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
	struct worker *w = opaque;
	struct stop_point *p = exit_find(w, addr);

	(void)uc, (void)size;
	if (p != NULL) {
		p->used = ++w->stops;
		/* CR0.TS clear: an FPU stop point lets the run go on (dropping it would cost two
		 * translations of its block at each lazy FPU switch: after the #NM handler's IRET
		 * and at the next switch), unless it sits in a loop */
		if (p->fpu && !w->ts) {
			if (++p->passes < FPU_PASSES) {
				return;
			}
			p->fpu = false; /* in a loop: screen() drops it (exit_remove) */
		}
		p->passes = 0;
	}
	stop(w, W_STOP);
}

void on_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
	struct worker *w = opaque;

	w->vector = intno;
	if (intno == 14) {
		uc_reg_read(uc, UC_X86_REG_CR2, &w->cr2);
	}
	w->tainted = true;
	stop(w, W_FAULT);
}
