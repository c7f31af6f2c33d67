/* SPDX-License-Identifier: MIT */
/* assist_proc.c - uhyve-sec-assist: runs bursts of guest instructions in Unicorn for the VMM.
 * common/include/assist_proto.h has the process model and the protocol, docs/assist.md the design.
 *
 * How a burst stays exact despite Unicorn 2.0.1's defects (hermit-abi.md g.3):
 *  - Shadow page tables.  Unicorn never walks the guest's tables: its CR3 points at tables we
 *    build from a snapshot of the guest's, in which a page is present only if a burst may
 *    touch it: backed by guest RAM, and not a page-table frame (those are read-only: page-table
 *    writes must happen in KVM, whose shadow MMU tracks them).  Unicorn uses the virtual
 *    address as the physical one (defect 1), and it never walks guest tables, so its address
 *    space is purely virtual: every present page is mapped at its virtual address onto the host
 *    memory of its frame (identity pages are no special case, so Hermit's stacks, whose
 *    virtual addresses overlap guest-physical RAM, work too).  Unicorn 2.0.1 looks for a
 *    memory region at the virtual address *before* it walks the tables and stops imprecisely
 *    (RIP at the start of the block, the block partly executed: defect 4) where it finds none,
 *    so an unmapped-memory hook puts a 4 KiB placeholder there and lets the access go on to
 *    the walk.  Every access a burst must not make is then a precise #PF inside Unicorn, and
 *    the burst stops before the instruction.  Guest NX bits never reach Unicorn (so defect 3 cannot
 *    arise); the block hook refuses NX code pages instead.
 *  - The snapshot is compared with the guest's tables before every burst (accessed/dirty bits
 *    ignored).  On a change the shadow is rebuilt into the other of two pools and Unicorn's TLB
 *    is flushed by mapping a dummy page (defect 2: Unicorn's CR3 writes do not flush).
 *  - Screening per translated block: a block hook decodes each block once with Zydis (cached,
 *    compared with the current bytes every time the block runs), counts instructions for the
 *    cap, and puts a code hook bounded to the address of every instruction on the stop list,
 *    so a burst ends exactly before it (defect 5).  Per-block hooks, and code hooks only where
 *    a burst must stop, keep the cost at 1-2 ns per instruction.
 *  - Unicorn never delivers exceptions: the interrupt hook stops the burst, and the CPU
 *    context is restored from a pristine copy before the next burst (QEMU would otherwise turn
 *    the next #PF into a double fault: its nested-exception state is reset only by a delivery).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <Zydis/Zydis.h>
#include <unicorn/unicorn.h>

#include "assist_proto.h"
#include "assist_sandbox.h"
#ifdef ASSIST_PROC_TESTING
#include "assist_internal.h"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define ASSIST_SANITIZED 1 /* sanitizer runtimes need syscalls no allowlist should hold */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define ASSIST_SANITIZED 1
#endif
#endif
#ifndef ASSIST_SANITIZED
#define ASSIST_SANITIZED 0
#endif

#define PAGE	 4096ull
#define PTE_P	 0x1ull
#define PTE_W	 0x2ull
#define PTE_A	 0x20ull
#define PTE_D	 0x40ull
#define PTE_PS	 0x80ull
#define PTE_NX	 (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define CR0_TS	 0x8ull
#define CR0_PG	 0x80000000ull
#define CR0_WP	 0x10000ull
#define CR4_PAE	 0x20ull
#define CR4_LA57 0x1000ull
#define EFER_LMA 0x400ull
#define EFER_NXE 0x800ull
#define RF_CF	 0x1ull
#define RF_ZF	 0x40ull
#define RF_TF	 0x100ull
#define RF_ARITH 0x8d5ull

/* Unicorn's physical addresses have 40 bits, so its page tables (the shadow pools) must lie
 * below 1 TiB, in a range where guest pages are then left out of the shadow. */
#define SHADOW_BASE   0xf000000000ull
#define SHADOW_FRAMES 4096u
#define POOL_BYTES    ((uint64_t)SHADOW_FRAMES * PAGE)
#define FLUSH_PAGE    (SHADOW_BASE + 2 * POOL_BYTES)
#define RESERVED_END  (FLUSH_PAGE + PAGE)

#define MAX_PT_FRAMES 4096u /* guest page-table frames we snapshot */
#define FRAME_HASH    8192u /* open addressing, power of two, > 2 * MAX_PT_FRAMES */
#define MAX_VA_RUNS   8192u /* Unicorn mappings: runs of pages contiguous in VA and PA */
#define WALK_BUDGET   (4u << 20) /* table entries visited per rebuild (hostile tables) */
#define BLOCKS	      16384u
#define BLOCK_INLINE  64u
#define BLOCK_MAX     8192u
#define XTLB	      512u
#define MAX_EXITS     4096u
#define MAX_HOLES     4096u /* placeholder pages (addresses the guest touched unmapped) */
#define MAX_STARTS    256u /* uc_emu_start calls per burst */

enum action { A_RUN, A_KVM, A_VMM, A_SELF, A_UNSUP };
enum why { W_NONE, W_CAP, W_FAULT, W_RESTART, W_NX, W_STOP, W_ERROR };
enum screen { SCR_RUN, SCR_DONE, SCR_STOP };

struct verdict {
	uint8_t action, cls, op;
	bool fpu;
};

struct ram {
	uint8_t *base;
	uint64_t start, size;
};

struct va_run {
	uint64_t va, pa, len;
	uint32_t code; /* code was translated from it: drop those blocks before unmapping */
	uint32_t keep;
};

struct block {
	uint64_t addr;
	uint64_t hash; /* of the bytes past BLOCK_INLINE */
	uint32_t size;
	uint16_t ninsn; /* instructions before `stop` (all of them if none) */
	int16_t stop; /* offset of the first stop-list instruction, or -1 */
	uint8_t bytes[BLOCK_INLINE];
};

struct stop_point {
	uint64_t addr;
	uc_hook hook;
};

struct xtlb {
	uint64_t vpage, gen;
	uint8_t *host;
	bool nx;
};

struct worker {
	unsigned id;
	bool bad_access; /* a placeholder was read or written: a bug, the burst fails */
	int sock;
	pthread_t thread;
	const struct ram *ram;
	uc_engine *uc;
	uc_context *pristine;
	bool tainted; /* an exception was raised: restore the pristine context first */
	ZydisDecoder dec;
	/* snapshot of the guest's page tables */
	bool valid, wp_off, nxe;
	uint64_t root;
	uint64_t *frame_pa;
	uint8_t *frame_level;
	unsigned nframes;
	uint8_t *copies;
	uint32_t *fhash;
	uint64_t *ptbits; /* one bit per RAM page: is a page-table frame */
	/* shadow tables and Unicorn mappings */
	uint64_t *pool[2];
	unsigned used[2], active;
	struct va_run *runs, *next;
	unsigned nruns, nnext, budget;
	uint64_t *holes; /* sorted 4 KiB placeholder pages */
	unsigned nholes;
	uint64_t gen;
	struct xtlb xt[XTLB];
	void *flush_host;
	/* screening */
	struct block *blocks;
	struct stop_point *exits; /* sorted by address */
	unsigned nexits;
	uint8_t scratch[BLOCK_MAX + 16];
	/* the burst in progress */
	uint64_t cap, insns;
	uint64_t block_rip; /* address of the block the block hook last saw */
	enum why why;
	uint32_t vector;
	uint64_t cr2;
	uint32_t cpu; /* the host CPU this thread is pinned to, ~0u: none */
	struct assist_req in;
	struct assist_resp out;
};

static struct ram g_ram;

/* kvm_regs order -> Unicorn register ids */
static int gpr_ids[16] = {/* not const: uc_reg_*_batch take int * */
			  UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX,
			  UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RSP, UC_X86_REG_RBP,
			  UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
			  UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};
/* encoding order (Zydis RAX..R15) -> Unicorn register ids */
static const int enc_ids[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
				UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
				UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
				UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

/* ======================= state transfer: KVM layout <-> Unicorn ======================= */

/* The legacy region of the XSAVE area (FXSAVE layout, 64-bit format). */
struct fxarea {
	uint16_t fcw, fsw;
	uint8_t ftw, rsv0;
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];
	uint8_t xmm[16][16];
	uint8_t rsv1[96];
};
_Static_assert(sizeof(struct fxarea) == 512, "FXSAVE layout");

static __u64 *gpr_field(struct kvm_regs *r, unsigned i)
{
	__u64 *f[16] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rsp, &r->rbp,
			&r->r8,	 &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15};
	return f[i];
}

/* FXSAVE keeps one "not empty" bit per physical x87 register; Unicorn takes the full tag word
 * (2 bits each, 3 = empty) and only distinguishes empty from not empty. */
static uint16_t ftw_full(uint8_t abridged)
{
	uint16_t t = 0;

	for (unsigned i = 0; i < 8; i++) {
		t |= (uint16_t)(((abridged >> i) & 1) ? 0 : 3) << (2 * i);
	}
	return t;
}

static uint8_t ftw_abridged(uint16_t full)
{
	uint8_t a = 0;

	for (unsigned i = 0; i < 8; i++) {
		a |= (uint8_t)((((full >> (2 * i)) & 3) != 3) << i);
	}
	return a;
}

static int fpu_to_uc(uc_engine *uc, const struct fxarea *fx)
{
	uint16_t tag = ftw_full(fx->ftw);
	uc_err e = UC_ERR_OK;

	/* FPSW first: it carries TOP, and ST(i) is relative to TOP */
	e |= uc_reg_write(uc, UC_X86_REG_FPSW, &fx->fsw);
	e |= uc_reg_write(uc, UC_X86_REG_FPCW, &fx->fcw);
	e |= uc_reg_write(uc, UC_X86_REG_FPTAG, &tag);
	for (int i = 0; i < 8; i++) {
		e |= uc_reg_write(uc, UC_X86_REG_ST0 + i, fx->st[i]);
	}
	e |= uc_reg_write(uc, UC_X86_REG_FIP, &fx->fip);
	e |= uc_reg_write(uc, UC_X86_REG_FDP, &fx->fdp);
	e |= uc_reg_write(uc, UC_X86_REG_FOP, &fx->fop);
	e |= uc_reg_write(uc, UC_X86_REG_MXCSR, &fx->mxcsr);
	for (int i = 0; i < 16; i++) {
		e |= uc_reg_write(uc, UC_X86_REG_XMM0 + i, fx->xmm[i]);
	}
	return e == UC_ERR_OK ? 0 : -1;
}

static int fpu_from_uc(uc_engine *uc, struct fxarea *fx)
{
	uint16_t tag = 0;
	uc_err e = UC_ERR_OK;

	e |= uc_reg_read(uc, UC_X86_REG_FPSW, &fx->fsw);
	e |= uc_reg_read(uc, UC_X86_REG_FPCW, &fx->fcw);
	e |= uc_reg_read(uc, UC_X86_REG_FPTAG, &tag);
	fx->ftw = ftw_abridged(tag);
	for (int i = 0; i < 8; i++) {
		uint8_t st[16] = {0};
		e |= uc_reg_read(uc, UC_X86_REG_ST0 + i, st);
		memcpy(fx->st[i], st, 10); /* bytes 10-15 of each slot are reserved: kept */
	}
	e |= uc_reg_read(uc, UC_X86_REG_FIP, &fx->fip);
	e |= uc_reg_read(uc, UC_X86_REG_FDP, &fx->fdp);
	e |= uc_reg_read(uc, UC_X86_REG_FOP, &fx->fop);
	e |= uc_reg_read(uc, UC_X86_REG_MXCSR, &fx->mxcsr);
	for (int i = 0; i < 16; i++) {
		e |= uc_reg_read(uc, UC_X86_REG_XMM0 + i, fx->xmm[i]);
	}
	return e == UC_ERR_OK ? 0 : -1;
}

#ifndef ASSIST_PROC_TESTING
static
#endif
    int
    assist_state_to_uc(uc_engine *uc, const struct kvm_regs *r, const struct kvm_sregs *s,
		       const struct kvm_xsave *x)
{
	struct kvm_regs copy = *r;
	void *vals[16];
	struct fxarea fx;

	for (unsigned i = 0; i < 16; i++) {
		vals[i] = gpr_field(&copy, i);
	}
	memcpy(&fx, x->region, sizeof fx);
	if (uc_reg_write_batch(uc, gpr_ids, vals, 16) != UC_ERR_OK ||
	    uc_reg_write(uc, UC_X86_REG_RFLAGS, &r->rflags) != UC_ERR_OK ||
	    uc_reg_write(uc, UC_X86_REG_FS_BASE, &s->fs.base) != UC_ERR_OK ||
	    uc_reg_write(uc, UC_X86_REG_GS_BASE, &s->gs.base) != UC_ERR_OK) {
		return -1;
	}
	return fpu_to_uc(uc, &fx);
}

#ifndef ASSIST_PROC_TESTING
static
#endif
    int
    assist_state_from_uc(uc_engine *uc, struct kvm_regs *r, struct kvm_xsave *x, uint32_t *dirty)
{
	void *vals[16];
	struct fxarea old, fx;
	uint64_t bv;

	for (unsigned i = 0; i < 16; i++) {
		vals[i] = gpr_field(r, i);
	}
	memcpy(&old, x->region, sizeof old);
	fx = old;
	if (uc_reg_read_batch(uc, gpr_ids, vals, 16) != UC_ERR_OK ||
	    uc_reg_read(uc, UC_X86_REG_RIP, &r->rip) != UC_ERR_OK ||
	    uc_reg_read(uc, UC_X86_REG_RFLAGS, &r->rflags) != UC_ERR_OK ||
	    fpu_from_uc(uc, &fx) != 0) {
		return -1;
	}
	/* XSTATE_BV (bytes 512-519): a component written back must not read as "init" */
	memcpy(&bv, (const uint8_t *)x->region + 512, sizeof bv);
	bool x87 = fx.fcw != old.fcw || fx.fsw != old.fsw || fx.ftw != old.ftw ||
		   fx.fop != old.fop || fx.fip != old.fip || fx.fdp != old.fdp ||
		   memcmp(fx.st, old.st, sizeof fx.st) != 0;
	bool sse = fx.mxcsr != old.mxcsr || memcmp(fx.xmm, old.xmm, sizeof fx.xmm) != 0;
	bv |= (x87 ? 1u : 0u) | (sse ? 2u : 0u);
	memcpy(x->region, &fx, sizeof fx);
	memcpy((uint8_t *)x->region + 512, &bv, sizeof bv);
	*dirty = x87 || sse;
	return 0;
}

/* ======================= guest RAM and the page-table snapshot ======================= */

static bool ram_has(const struct ram *m, uint64_t pa, uint64_t len)
{
	return pa >= m->start && len <= m->size && pa - m->start <= m->size - len;
}

static uint8_t *ram_host(const struct ram *m, uint64_t pa)
{
	return m->base + (pa - m->start);
}

static unsigned fh_slot(uint64_t pa)
{
	return (unsigned)(((pa >> 12) * 0x9e3779b97f4a7c15ull) >> 51) & (FRAME_HASH - 1);
}

static int frame_find(const struct worker *w, uint64_t pa)
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

static bool is_frame(const struct worker *w, uint64_t pa)
{
	uint64_t mask;

	return (*ptbit_word(w, pa, &mask) & mask) != 0;
}

static bool frames_in(const struct worker *w, uint64_t pa, uint64_t len)
{
	for (uint64_t o = 0; o < len; o += PAGE) {
		if (is_frame(w, pa + o)) {
			return true;
		}
	}
	return false;
}

static bool is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (level <= 3 && (e & PTE_PS));
}

static const uint64_t *frame_copy(const struct worker *w, int idx)
{
	return (const uint64_t *)(const void *)(w->copies + (uint64_t)idx * PAGE);
}

/* Snapshots every table frame reachable from `root` (breadth first, each frame once, the
 * recursive slot included only as the root itself). */
static int collect_frames(struct worker *w, uint64_t root)
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
static bool frames_changed(struct worker *w)
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

/* Translates through the snapshot.  Returns 0 with the physical address and the effective
 * W/NX bits, or -1 if `va` is not mapped. */
static int gwalk(const struct worker *w, uint64_t va, uint64_t *pa, uint64_t *eff)
{
	uint64_t wr = PTE_W, nx = 0;
	int f = 0;
	int64_t sext = (int64_t)va >> 47;

	if (!w->valid || (sext != 0 && sext != -1)) {
		return -1;
	}
	for (unsigned level = 4; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t e = frame_copy(w, f)[(va >> shift) & 511];
		if (!(e & PTE_P) || (level == 4 && (e & PTE_PS))) {
			return -1;
		}
		wr &= e;
		nx |= e & PTE_NX;
		if (is_leaf(e, level)) {
			uint64_t size = 1ull << shift;
			*pa = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
			*eff = wr | nx | PTE_P;
			return 0;
		}
		if ((f = frame_find(w, e & PTE_ADDR)) < 0) {
			return -1;
		}
	}
	return -1;
}

/* ======================= shadow tables ======================= */

static uint64_t pool_pa(unsigned p, unsigned f)
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
static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
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
static int shadow_sync(struct worker *w, const struct kvm_sregs *s)
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
static void mark_code(struct worker *w, uint64_t va)
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
	mark_code(w, va);
	*e = (struct xtlb){.vpage = va >> 12,
			   .gen = w->gen,
			   .host = ram_host(w->ram, pa & ~(PAGE - 1)),
			   .nx = w->nxe && (eff & PTE_NX)};
	*nx = e->nx;
	return e->host;
}

/* Copies guest-virtual memory (reads only).  Returns 0, -1 (not mapped: a #PF), or -2 (not
 * RAM). */
static int read_virt(const struct worker *w, uint64_t va, void *dst, size_t len)
{
	uint8_t *d = dst;

	while (len > 0) {
		uint64_t pa, eff, n = PAGE - (va & (PAGE - 1));
		if (n > len) {
			n = len;
		}
		if (gwalk(w, va, &pa, &eff) != 0) {
			return -1;
		}
		if (!ram_has(w->ram, pa, n)) {
			return -2;
		}
		memcpy(d, ram_host(w->ram, pa), n);
		d += n, va += n, len -= n;
	}
	return 0;
}

/* ======================= instruction screening ======================= */

static bool has_mem(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM) {
			return true;
		}
	}
	return false;
}

static bool uses_fpu(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	if (in->mnemonic == ZYDIS_MNEMONIC_XGETBV || in->mnemonic == ZYDIS_MNEMONIC_XSETBV) {
		return false;
	}
	switch (in->meta.category) {
	case ZYDIS_CATEGORY_X87_ALU:
	case ZYDIS_CATEGORY_FCMOV:
	case ZYDIS_CATEGORY_MMX:
	case ZYDIS_CATEGORY_SSE:
	case ZYDIS_CATEGORY_AES:
	case ZYDIS_CATEGORY_PCLMULQDQ:
	case ZYDIS_CATEGORY_SHA:
	case ZYDIS_CATEGORY_XSAVE:
	case ZYDIS_CATEGORY_XSAVEOPT:
		return true;
	default:
		break;
	}
	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER) {
			continue;
		}
		ZydisRegisterClass c = ZydisRegisterGetClass(ops[i].reg.value);
		if (c == ZYDIS_REGCLASS_X87 || c == ZYDIS_REGCLASS_MMX || c == ZYDIS_REGCLASS_XMM) {
			return true;
		}
	}
	return in->mnemonic == ZYDIS_MNEMONIC_FXSAVE || in->mnemonic == ZYDIS_MNEMONIC_FXRSTOR ||
	       in->mnemonic == ZYDIS_MNEMONIC_FXSAVE64 ||
	       in->mnemonic == ZYDIS_MNEMONIC_FXRSTOR64 || in->mnemonic == ZYDIS_MNEMONIC_FWAIT;
}

static struct verdict v_(enum action a, enum assist_class c, enum assist_vmm_op op)
{
	return (struct verdict){.action = (uint8_t)a, .cls = (uint8_t)c, .op = (uint8_t)op};
}

/* The named part of the stop list (g.3 rule 5 and what only KVM can do right).  A flat table
 * written as a switch: long, but without logic. */
static struct verdict by_mnemonic(ZydisMnemonic m) // NOLINT(readability-function-size)
{
	switch (m) {
	case ZYDIS_MNEMONIC_XGETBV:
		return v_(A_VMM, ASSIST_C_XSAVE, ASSIST_OP_XGETBV);
	case ZYDIS_MNEMONIC_XSAVE:
	case ZYDIS_MNEMONIC_XSAVE64:
	case ZYDIS_MNEMONIC_XSAVEOPT:
	case ZYDIS_MNEMONIC_XSAVEOPT64:
		return v_(A_VMM, ASSIST_C_XSAVE, ASSIST_OP_XSAVE);
	case ZYDIS_MNEMONIC_XSAVEC:
	case ZYDIS_MNEMONIC_XSAVEC64:
		return v_(A_VMM, ASSIST_C_XSAVE, ASSIST_OP_XSAVEC);
	case ZYDIS_MNEMONIC_XRSTOR:
	case ZYDIS_MNEMONIC_XRSTOR64:
		return v_(A_VMM, ASSIST_C_XSAVE, ASSIST_OP_XRSTOR);
	case ZYDIS_MNEMONIC_RDTSCP:
		return v_(A_VMM, ASSIST_C_TIME, ASSIST_OP_RDTSCP);
	case ZYDIS_MNEMONIC_XSETBV:
	case ZYDIS_MNEMONIC_XSAVES:
	case ZYDIS_MNEMONIC_XSAVES64:
	case ZYDIS_MNEMONIC_XRSTORS:
	case ZYDIS_MNEMONIC_XRSTORS64:
		return v_(A_KVM, ASSIST_C_XSAVE, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_POPCNT:
	case ZYDIS_MNEMONIC_TZCNT:
	case ZYDIS_MNEMONIC_LZCNT:
		return v_(A_SELF, ASSIST_C_BITCOUNT, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_RDTSC:
	case ZYDIS_MNEMONIC_RDPID:
	case ZYDIS_MNEMONIC_RDPMC:
		return v_(A_KVM, ASSIST_C_TIME, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_CPUID:
		return v_(A_KVM, ASSIST_C_CPUID, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_HLT:
	case ZYDIS_MNEMONIC_PAUSE:
	case ZYDIS_MNEMONIC_MONITOR:
	case ZYDIS_MNEMONIC_MWAIT:
	case ZYDIS_MNEMONIC_MONITORX:
	case ZYDIS_MNEMONIC_MWAITX:
	case ZYDIS_MNEMONIC_UMONITOR:
	case ZYDIS_MNEMONIC_UMWAIT:
	case ZYDIS_MNEMONIC_TPAUSE:
		return v_(A_KVM, ASSIST_C_HLT, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_CLI:
	case ZYDIS_MNEMONIC_STI:
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFD:
	case ZYDIS_MNEMONIC_POPFQ:
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_IRETQ:
		return v_(A_KVM, ASSIST_C_IFLAG, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT1:
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO:
	case ZYDIS_MNEMONIC_SYSCALL:
	case ZYDIS_MNEMONIC_SYSRET:
	case ZYDIS_MNEMONIC_SYSENTER:
	case ZYDIS_MNEMONIC_SYSEXIT:
	case ZYDIS_MNEMONIC_UD0:
	case ZYDIS_MNEMONIC_UD1:
	case ZYDIS_MNEMONIC_UD2:
		return v_(A_KVM, ASSIST_C_FAR, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_RDRAND:
	case ZYDIS_MNEMONIC_RDSEED:
		return v_(A_KVM, ASSIST_C_RANDOM, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_RDFSBASE:
	case ZYDIS_MNEMONIC_RDGSBASE:
	case ZYDIS_MNEMONIC_WRFSBASE:
	case ZYDIS_MNEMONIC_WRGSBASE:
	case ZYDIS_MNEMONIC_SWAPGS:
		return v_(A_KVM, ASSIST_C_FSGSBASE, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_CLAC:
	case ZYDIS_MNEMONIC_STAC:
	case ZYDIS_MNEMONIC_LFS:
	case ZYDIS_MNEMONIC_LGS:
	case ZYDIS_MNEMONIC_LSS:
	case ZYDIS_MNEMONIC_LAR:
	case ZYDIS_MNEMONIC_LSL:
	case ZYDIS_MNEMONIC_VERR:
	case ZYDIS_MNEMONIC_VERW:
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
	case ZYDIS_MNEMONIC_SLDT:
	case ZYDIS_MNEMONIC_STR:
	case ZYDIS_MNEMONIC_SMSW:
		return v_(A_KVM, ASSIST_C_SYSTEM, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_XBEGIN:
	case ZYDIS_MNEMONIC_XEND:
	case ZYDIS_MNEMONIC_XABORT:
	case ZYDIS_MNEMONIC_XTEST:
	case ZYDIS_MNEMONIC_CLZERO:
		return v_(A_KVM, ASSIST_C_OTHER, ASSIST_OP_NONE);
	default:
		return v_(A_RUN, ASSIST_C_NONE, ASSIST_OP_NONE);
	}
}

static bool stop_category(ZydisInstructionCategory c)
{
	switch (c) {
	case ZYDIS_CATEGORY_SYSTEM:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_SEGOP:
	case ZYDIS_CATEGORY_VTX:
	case ZYDIS_CATEGORY_SGX:
	case ZYDIS_CATEGORY_UINTR:
	case ZYDIS_CATEGORY_PCONFIG:
	case ZYDIS_CATEGORY_HRESET:
	case ZYDIS_CATEGORY_PT:
	case ZYDIS_CATEGORY_SMAP:
	case ZYDIS_CATEGORY_ENQCMD:
	case ZYDIS_CATEGORY_MOVDIR:
	case ZYDIS_CATEGORY_SERIALIZE:
	case ZYDIS_CATEGORY_TSX_LDTRK:
	case ZYDIS_CATEGORY_WAITPKG:
	case ZYDIS_CATEGORY_RDPRU:
	case ZYDIS_CATEGORY_PKU:
	case ZYDIS_CATEGORY_KEYLOCKER:
	case ZYDIS_CATEGORY_KEYLOCKER_WIDE:
	case ZYDIS_CATEGORY_MPX:
	case ZYDIS_CATEGORY_PADLOCK:
		return true;
	default:
		return false;
	}
}

/* Registers whose state lives in KVM only (Unicorn's copies are not the guest's). */
static bool system_operand(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER) {
			continue;
		}
		switch (ZydisRegisterGetClass(ops[i].reg.value)) {
		case ZYDIS_REGCLASS_SEGMENT:
		case ZYDIS_REGCLASS_CONTROL:
		case ZYDIS_REGCLASS_DEBUG:
		case ZYDIS_REGCLASS_TABLE:
		case ZYDIS_REGCLASS_TEST:
		case ZYDIS_REGCLASS_BOUND:
		case ZYDIS_REGCLASS_MASK:
		case ZYDIS_REGCLASS_TMM:
		case ZYDIS_REGCLASS_YMM:
		case ZYDIS_REGCLASS_ZMM:
			return true;
		default:
			break;
		}
	}
	return false;
}

static struct verdict classify(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	struct verdict v = v_(A_RUN, ASSIST_C_NONE, ASSIST_OP_NONE);
	bool fpu = uses_fpu(in, ops);

	if (in->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) {
		v = v_(A_UNSUP, ASSIST_C_VEX, ASSIST_OP_NONE); /* AVX & co: invalid in Unicorn */
	} else if (in->mnemonic == ZYDIS_MNEMONIC_ENDBR64 ||
		   in->mnemonic == ZYDIS_MNEMONIC_ENDBR32) {
		v = v_(A_RUN, ASSIST_C_NONE, ASSIST_OP_NONE);
	} else if ((v = by_mnemonic(in->mnemonic)).action != A_RUN) {
		/* named */
	} else if ((in->attributes & ZYDIS_ATTRIB_HAS_LOCK) ||
		   (in->mnemonic == ZYDIS_MNEMONIC_XCHG && has_mem(in, ops))) {
		v = v_(A_KVM, ASSIST_C_LOCK, ASSIST_OP_NONE); /* atomic only in KVM */
	} else if (in->meta.category == ZYDIS_CATEGORY_IO ||
		   in->meta.category == ZYDIS_CATEGORY_IOSTRINGOP) {
		v = v_(A_KVM, ASSIST_C_IO, ASSIST_OP_NONE);
	} else if (in->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
		v = v_(A_KVM, ASSIST_C_FAR, ASSIST_OP_NONE);
	} else if ((in->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED) ||
		   stop_category(in->meta.category) || in->meta.category == ZYDIS_CATEGORY_CET ||
		   system_operand(in, ops)) {
		v = v_(A_KVM, ASSIST_C_SYSTEM, ASSIST_OP_NONE);
	} else if (in->meta.category == ZYDIS_CATEGORY_AMD3DNOW) {
		v = v_(A_UNSUP, ASSIST_C_VEX, ASSIST_OP_NONE);
	}
	v.fpu = fpu;
	return v;
}

static bool decode(struct worker *w, const uint8_t *code, size_t len, ZydisDecodedInstruction *in,
		   ZydisDecodedOperand *ops)
{
	return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&w->dec, code, len, in, ops));
}

/* ======================= stop points (stop-list instructions) ======================= */

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

static bool exit_has(const struct worker *w, uint64_t a)
{
	unsigned i = exit_pos(w, a);

	return i < w->nexits && w->exits[i].addr == a;
}

static void exits_clear(struct worker *w)
{
	for (unsigned i = 0; i < w->nexits; i++) {
		uc_hook_del(w->uc, w->exits[i].hook); /* drops the blocks it was compiled into */
	}
	w->nexits = 0;
}

static void exit_add(struct worker *w, uint64_t a)
{
	unsigned i;
	uc_hook h;

	if (w->nexits >= MAX_EXITS) {
		exits_clear(w);
	}
	if (uc_hook_add(w->uc, &h, UC_HOOK_CODE, (void *)on_stop_insn, w, a, a) != UC_ERR_OK) {
		return; /* the block runs again without it: no progress, and the burst ends */
	}
	i = exit_pos(w, a);
	memmove(&w->exits[i + 1], &w->exits[i], (w->nexits - i) * sizeof *w->exits);
	w->exits[i] = (struct stop_point){.addr = a, .hook = h};
	w->nexits++;
	uc_ctl_remove_cache(w->uc, a, a + 1); /* blocks compiled before the hook existed */
}

/* A stop point whose instruction is no longer on the stop list (the code changed). */
static void exit_remove(struct worker *w, uint64_t a)
{
	unsigned i = exit_pos(w, a);

	if (i >= w->nexits || w->exits[i].addr != a) {
		return;
	}
	uc_hook_del(w->uc, w->exits[i].hook);
	memmove(&w->exits[i], &w->exits[i + 1], (w->nexits - i - 1) * sizeof *w->exits);
	w->nexits--;
	uc_ctl_remove_cache(w->uc, a, a + 1);
}

/* ======================= hooks ======================= */

static void stop(struct worker *w, enum why why)
{
	if (w->why == W_NONE) {
		w->why = why;
	}
	uc_emu_stop(w->uc);
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
	memcpy(b->bytes, code, size < BLOCK_INLINE ? size : BLOCK_INLINE);
	b->hash = size > BLOCK_INLINE ? hash_bytes(code + BLOCK_INLINE, size - BLOCK_INLINE) : 0;
	for (uint32_t off = 0; off < size; off += in.length) {
		if (!decode(w, code + off, size - off, &in, ops) ||
		    classify(&in, ops).action != A_RUN) {
			b->stop = (int16_t)off;
			return;
		}
		b->ninsn++;
	}
}

/* Runs at the start of every translated block, before any of its instructions. */
static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
	struct worker *w = opaque;
	struct block *b = &w->blocks[((addr * 0x9e3779b97f4a7c15ull) >> 50) & (BLOCKS - 1)];
	const uint8_t *code = block_bytes(w, addr, size);

	(void)uc;
	w->block_rip = addr; /* a stop from here leaves Unicorn's RIP stale (see run_once) */
	if (code == NULL) {
		stop(w, W_NX); /* not fetchable as guest code: let KVM fault */
		return;
	}
	if (b->addr != addr || b->size != size || !block_same(b, code)) {
		block_decode(w, b, addr, code, size);
	}
	if (w->insns > 0 && w->insns + b->ninsn > w->cap) {
		stop(w, W_CAP);
	} else if (b->stop >= 0 && !exit_has(w, addr + (uint64_t)b->stop)) {
		/* first time here: make the instruction an exit and retranslate the block */
		exit_add(w, addr + (uint64_t)b->stop);
		stop(w, W_RESTART);
	} else {
		w->insns += b->ninsn;
	}
}

static void on_stop_insn(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
	(void)uc, (void)addr, (void)size;
	stop(opaque, W_STOP);
}

static void on_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
	struct worker *w = opaque;

	w->vector = intno;
	if (intno == 14) {
		uc_reg_read(uc, UC_X86_REG_CR2, &w->cr2);
	}
	w->tainted = true;
	stop(w, W_FAULT);
}

/* ======================= completing instructions here ======================= */

static int gpr_index(ZydisRegister r)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);

	return big >= ZYDIS_REGISTER_RAX && big <= ZYDIS_REGISTER_R15
		   ? (int)(big - ZYDIS_REGISTER_RAX)
		   : -1;
}

static int read_gpr(struct worker *w, ZydisRegister r, uint64_t *v)
{
	int i = gpr_index(r);

	if (i < 0 || uc_reg_read(w->uc, enc_ids[i], v) != UC_ERR_OK) {
		return -1;
	}
	return 0;
}

/* Linear address of a memory operand (64-bit mode: only FS and GS have a base). */
static int effective_address(struct worker *w, const ZydisDecodedInstruction *in,
			     const ZydisDecodedOperand *op, uint64_t rip, uint64_t *ea)
{
	uint64_t a = (uint64_t)op->mem.disp.value, v;

	if (op->mem.base == ZYDIS_REGISTER_RIP || op->mem.base == ZYDIS_REGISTER_EIP) {
		a += rip + in->length;
	} else if (op->mem.base != ZYDIS_REGISTER_NONE) {
		if (read_gpr(w, op->mem.base, &v) != 0) {
			return -1;
		}
		a += v;
	}
	if (op->mem.index != ZYDIS_REGISTER_NONE) {
		if (read_gpr(w, op->mem.index, &v) != 0) {
			return -1;
		}
		a += v * op->mem.scale;
	}
	if (in->address_width == 32) {
		a &= 0xffffffffull;
	}
	if (op->mem.segment == ZYDIS_REGISTER_FS) {
		a += w->in.sregs.fs.base;
	} else if (op->mem.segment == ZYDIS_REGISTER_GS) {
		a += w->in.sregs.gs.base;
	}
	*ea = a;
	return 0;
}

static void set_fault(struct worker *w, uint32_t vector, uint64_t ea, bool write)
{
	w->out.stop = ASSIST_STOP_FAULT;
	w->out.insn.vector = vector;
	w->out.insn.ea = ea;
	w->out.insn.write = write;
}

static uint64_t bitcount_value(ZydisMnemonic m, uint64_t src, unsigned bits, uint64_t *flags)
{
	uint64_t res;

	*flags = 0;
	if (m == ZYDIS_MNEMONIC_POPCNT) {
		res = (uint64_t)__builtin_popcountll(src);
		*flags = src == 0 ? RF_ZF : 0;
		return res;
	}
	if (src == 0) {
		res = bits;
	} else if (m == ZYDIS_MNEMONIC_TZCNT) {
		res = (uint64_t)__builtin_ctzll(src);
	} else {
		res = (uint64_t)__builtin_clzll(src) - (64 - bits);
	}
	*flags = (src == 0 ? RF_CF : 0) | (res == 0 ? RF_ZF : 0);
	return res;
}

/* POPCNT/TZCNT/LZCNT: invalid or silently BSF/BSR in Unicorn, so done here, exactly. */
static int bitcount(struct worker *w, const ZydisDecodedInstruction *in,
		    const ZydisDecodedOperand *ops, uint64_t rip)
{
	unsigned bits = in->operand_width;
	uint64_t src = 0, dst, fl, rfl, res, mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	int di = gpr_index(ops[0].reg.value);

	if (di < 0 || (bits != 16 && bits != 32 && bits != 64)) {
		return -1;
	}
	if (ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
		if (read_gpr(w, ops[1].reg.value, &src) != 0) {
			return -1;
		}
	} else {
		uint64_t ea;
		int rc;
		if (effective_address(w, in, &ops[1], rip, &ea) != 0) {
			return -1;
		}
		if ((rc = read_virt(w, ea, &src, bits / 8)) != 0) {
			if (rc == -1) {
				set_fault(w, 14, ea, false);
			}
			return -1;
		}
	}
	src &= mask;
	res = bitcount_value(in->mnemonic, src, bits, &fl);
	if (uc_reg_read(w->uc, enc_ids[di], &dst) != UC_ERR_OK ||
	    uc_reg_read(w->uc, UC_X86_REG_RFLAGS, &rfl) != UC_ERR_OK) {
		return -1;
	}
	dst = bits == 16 ? (dst & ~0xffffull) | res : res; /* 32-bit results zero-extend */
	rfl = (rfl & ~RF_ARITH) | fl;
	if (uc_reg_write(w->uc, enc_ids[di], &dst) != UC_ERR_OK ||
	    uc_reg_write(w->uc, UC_X86_REG_RFLAGS, &rfl) != UC_ERR_OK) {
		return -1;
	}
	return 0;
}

/* ======================= bursts ======================= */

static void set_stop(struct worker *w, enum assist_stop s, enum assist_class cls)
{
	w->out.stop = s;
	w->out.insn.cls = cls;
}

static bool mode_ok(const struct kvm_regs *r, const struct kvm_sregs *s)
{
	/* 64-bit mode, paging, CPL 0, 4-level tables, no single-stepping: Hermit's only mode */
	return (s->efer & EFER_LMA) && s->cs.l && (s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE) &&
	       !(s->cr4 & CR4_LA57) && s->cs.dpl == 0 && !(r->rflags & RF_TF);
}

static int fetch_insn(struct worker *w, uint64_t rip, uint8_t *buf, size_t *len)
{
	*len = 15;
	while (*len > 0 && read_virt(w, rip, buf, *len) != 0) {
		(*len)--; /* the tail may lie on an unmapped page */
	}
	return *len > 0 ? 0 : -1;
}

static enum screen screen_vmm(struct worker *w, const struct verdict *v,
			      const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
			      uint64_t rip)
{
	set_stop(w, ASSIST_STOP_VMM, (enum assist_class)v->cls);
	w->out.insn.op = v->op;
	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM &&
		    effective_address(w, in, &ops[i], rip, &w->out.insn.ea) != 0) {
			set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
		}
	}
	return SCR_STOP;
}

/* Decides what to do with the instruction at *rip: run a burst from it, complete it here
 * (and go on), or end the burst before it. */
static enum screen screen(struct worker *w, uint64_t *rip, bool first_failed)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct assist_insn *ii = &w->out.insn;
	bool ts = (w->in.sregs.cr0 & CR0_TS) != 0;
	struct verdict v;
	size_t n;

	if (fetch_insn(w, *rip, ii->bytes, &n) != 0) {
		set_stop(w, first_failed ? ASSIST_STOP_UNSUPPORTED : ASSIST_STOP_KVM,
			 ASSIST_C_OTHER);
		return SCR_STOP;
	}
	ii->bytes_len = (uint32_t)n;
	if (!decode(w, ii->bytes, n, &in, ops)) {
		set_stop(w, first_failed ? ASSIST_STOP_UNSUPPORTED : ASSIST_STOP_KVM,
			 ASSIST_C_OTHER);
		return SCR_STOP;
	}
	ii->len = in.length;
	v = classify(&in, ops);
	if (ts && v.fpu) {
		set_stop(w, ASSIST_STOP_NM, (enum assist_class)v.cls); /* lazy FPU switch */
		return SCR_STOP;
	}
	switch (v.action) {
	case A_RUN:
		exit_remove(w, *rip); /* a stale exit would stop the burst right here */
		if (!ts) {
			return SCR_RUN;
		}
		/* Unicorn does not model CR0.TS: no bursts while it is set */
		set_stop(w, first_failed ? ASSIST_STOP_UNSUPPORTED : ASSIST_STOP_KVM,
			 ASSIST_C_OTHER);
		return SCR_STOP;
	case A_SELF:
		if (bitcount(w, &in, ops, *rip) != 0) {
			if (w->out.stop != ASSIST_STOP_FAULT) {
				set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_BITCOUNT);
			}
			return SCR_STOP;
		}
		*rip += in.length;
		w->out.counts.completed++;
		return SCR_DONE;
	case A_VMM:
		return screen_vmm(w, &v, &in, ops, *rip);
	default:
		/* KVM rejected an instruction only KVM may run: nobody can */
		set_stop(w, first_failed ? ASSIST_STOP_UNSUPPORTED : ASSIST_STOP_KVM,
			 (enum assist_class)v.cls);
		return SCR_STOP;
	}
}

/* A fault raised inside a burst: the guest's own #PF (its mapping is missing), a page the
 * shadow leaves out (KVM must do that access), or another exception. */
static void classify_fault(struct worker *w, uint64_t rip)
{
	uint64_t pa, eff;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t n;
	bool write = false;

	if (fetch_insn(w, rip, w->out.insn.bytes, &n) == 0 &&
	    decode(w, w->out.insn.bytes, n, &in, ops)) {
		w->out.insn.bytes_len = (uint32_t)n;
		w->out.insn.len = in.length;
		for (unsigned i = 0; i < in.operand_count; i++) {
			write |= ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
				 (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE);
		}
	}
	if (w->vector != 14) {
		set_fault(w, w->vector, 0, false);
		return;
	}
	if (gwalk(w, w->cr2, &pa, &eff) != 0 || (write && !(eff & PTE_W) && !w->wp_off)) {
		set_fault(w, 14, w->cr2, write); /* the guest's own page fault */
		return;
	}
	set_stop(w, ASSIST_STOP_PAGE, ASSIST_C_NONE);
	w->out.insn.ea = w->cr2;
	w->out.insn.write = write;
}

static void load_context(struct worker *w)
{
	uint64_t cr3 = pool_pa(w->active, 0);

	if (w->tainted) {
		uc_context_restore(w->uc, w->pristine);
		uc_reg_write(w->uc, UC_X86_REG_CR3, &cr3);
		w->tainted = false;
	}
}

/* One uc_emu_start from rip; returns false when the burst is over. */
static bool run_once(struct worker *w, uint64_t *rip)
{
	uc_err e;

	w->why = W_NONE;
	e = uc_emu_start(w->uc, *rip, 0, 0, 0);
	w->out.counts.runs++;
	uc_reg_read(w->uc, UC_X86_REG_RIP, rip);
	if (w->why == W_CAP || w->why == W_RESTART || w->why == W_NX) {
		/* stopped by the block hook, before the block's first instruction: Unicorn syncs
		 * RIP only at code hooks and exceptions (and, without any code hook, on every
		 * early block exit), so after chained blocks its RIP is stale */
		*rip = w->block_rip;
	}
	switch (w->why) {
	case W_CAP:
		set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE);
		return false;
	case W_FAULT:
		classify_fault(w, *rip);
		return false;
	case W_NX:
		set_stop(w, ASSIST_STOP_PAGE, ASSIST_C_NONE);
		w->out.insn.ea = *rip;
		return false;
	case W_RESTART:
		return true;
	case W_STOP:
		return true; /* before a stop point: screen() decides */
	case W_NONE:
	default:
		break;
	}
	if (w->bad_access) {
		w->bad_access = false;
		w->tainted = true;
		set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
		return false;
	}
	if (e == UC_ERR_INSN_INVALID) {
		w->tainted = true;
		set_stop(w, ASSIST_STOP_KVM, ASSIST_C_OTHER); /* KVM may know it; if not: #UD */
		return false;
	}
	/* Unicorn stopped by itself (a HLT it ran, an unexpected error): not exact */
	w->tainted = true;
	set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
	(void)e;
	return false;
}

static uint64_t burst_loop(struct worker *w)
{
	uint64_t rip = w->in.regs.rip;
	bool screen_next = true;

	for (unsigned starts = 0; starts < MAX_STARTS; starts++) {
		/* KVM rejected the instruction at this RIP: whatever ran in between, if a burst
		 * stops here again, nobody else will run it (block counts cannot tell: they are
		 * taken when a block starts) */
		bool first = (w->in.flags & ASSIST_F_FIRST_FAILED) && rip == w->in.regs.rip &&
			     w->out.counts.completed == 0;
		if (screen_next) {
			enum screen s = screen(w, &rip, first);
			if (s == SCR_STOP) {
				break;
			}
			if (s == SCR_DONE) {
				continue;
			}
		}
		if (w->insns >= w->cap) {
			set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE);
			break;
		}
		if (!run_once(w, &rip)) {
			break;
		}
		screen_next = w->why != W_RESTART;
	}
	return rip;
}

static void burst(struct worker *w)
{
	struct assist_resp *o = &w->out;
	const struct assist_req *q = &w->in;
	uint64_t rip;

	memset(o, 0, ASSIST_RESP_SHORT);
	o->magic = ASSIST_PROTO_MAGIC;
	o->regs = q->regs;
	w->insns = 0;
	w->cap = q->max_insns;
	if (!mode_ok(&q->regs, &q->sregs)) {
		set_stop(w, ASSIST_STOP_UNSUPPORTED, ASSIST_C_OTHER);
		return;
	}
	if (shadow_sync(w, &q->sregs) != 0) {
		set_stop(w, ASSIST_STOP_UNSUPPORTED, ASSIST_C_OTHER); /* tables beyond our limits */
		return;
	}
	load_context(w);
	if (assist_state_to_uc(w->uc, &q->regs, &q->sregs, &q->xsave) != 0) {
		set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
		return;
	}
	o->stop = ASSIST_STOP_CAP;
	rip = burst_loop(w);
	o->counts.insns = w->insns;
	o->xsave = q->xsave;
	if (assist_state_from_uc(w->uc, &o->regs, &o->xsave, &o->fpu_dirty) != 0) {
		set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
		o->fpu_dirty = 0;
		o->regs = q->regs;
		return;
	}
	o->regs.rip = rip; /* Unicorn's RIP is stale after an instruction completed here */
}

/* ======================= process: setup, confinement, service ======================= */

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int alloc_worker(struct worker *w)
{
	size_t bits = (size_t)((g_ram.size / PAGE + 63) / 64) * sizeof(uint64_t);

	w->frame_pa = calloc(MAX_PT_FRAMES, sizeof *w->frame_pa);
	w->frame_level = calloc(MAX_PT_FRAMES, 1);
	w->fhash = calloc(FRAME_HASH, sizeof *w->fhash);
	w->ptbits = calloc(1, bits);
	w->runs = calloc(MAX_VA_RUNS, sizeof *w->runs);
	w->next = calloc(MAX_VA_RUNS, sizeof *w->next);
	w->holes = calloc(MAX_HOLES, sizeof *w->holes);
	w->exits = calloc(MAX_EXITS, sizeof *w->exits);
	w->blocks = map_anon(BLOCKS * sizeof(struct block));
	w->copies = map_anon((size_t)MAX_PT_FRAMES * PAGE);
	w->pool[0] = map_anon(2 * POOL_BYTES);
	w->flush_host = map_anon(PAGE);
	if (!w->frame_pa || !w->frame_level || !w->fhash || !w->ptbits || !w->runs || !w->next ||
	    !w->holes || !w->exits || !w->blocks || !w->copies || !w->pool[0] || !w->flush_host) {
		return -1;
	}
	w->pool[1] = w->pool[0] + POOL_BYTES / sizeof(uint64_t);
	w->used[0] = w->used[1] = 1;
	w->gen = 1;
	return 0;
}

/* Translating and running one instruction creates everything the JIT needs (its 1 GiB RWX
 * buffer is mapped at the first use, hermit-abi.md g.3), so no later burst needs a syscall
 * the filter does not allow. */
static int warm_up(struct worker *w)
{
	static const uint8_t code[2] = {0x90, 0xf4}; /* nop; hlt */
	const uint64_t a = 0x10000; /* nothing is mapped yet; unmapped again below */
	uint8_t *page = map_anon(PAGE);
	uc_err e;

	if (page == NULL) {
		return -1;
	}
	memcpy(page, code, sizeof code);
	if (uc_mem_map_ptr(w->uc, a, PAGE, UC_PROT_ALL, page) != UC_ERR_OK) {
		return -1;
	}
	e = uc_emu_start(w->uc, a, a + 1, 0, 0);
	uc_mem_unmap(w->uc, a, PAGE);
	munmap(page, PAGE);
	return e == UC_ERR_OK ? 0 : -1;
}

static int init_uc(struct worker *w)
{
	uint64_t cr0 = CR0_PG | CR0_WP | 0x33 /* PE MP ET NE */, cr4 = CR4_PAE | 0x600, cr3 = 0;
	uc_hook hb, hi, hu;

	if (uc_open(UC_ARCH_X86, UC_MODE_64, &w->uc) != UC_ERR_OK ||
	    uc_ctl_set_cpu_model(w->uc, UC_CPU_X86_EPYC_ROME) != UC_ERR_OK ||
	    uc_mem_map_ptr(w->uc, SHADOW_BASE, 2 * POOL_BYTES, UC_PROT_READ | UC_PROT_WRITE,
			   w->pool[0]) != UC_ERR_OK ||
	    warm_up(w) != 0) {
		return -1;
	}
	cr3 = pool_pa(0, 0);
	if (uc_reg_write(w->uc, UC_X86_REG_CR4, &cr4) != UC_ERR_OK ||
	    uc_reg_write(w->uc, UC_X86_REG_CR3, &cr3) != UC_ERR_OK ||
	    uc_reg_write(w->uc, UC_X86_REG_CR0, &cr0) != UC_ERR_OK ||
	    uc_hook_add(w->uc, &hb, UC_HOOK_BLOCK, (void *)on_block, w, 1, 0) != UC_ERR_OK ||
	    uc_hook_add(w->uc, &hi, UC_HOOK_INTR, (void *)on_intr, w, 1, 0) != UC_ERR_OK ||
	    uc_hook_add(w->uc, &hu, UC_HOOK_MEM_UNMAPPED, (void *)on_unmapped, w, 1, 0) !=
		UC_ERR_OK ||
	    uc_ctl_exits_enable(w->uc) != UC_ERR_OK ||
	    uc_context_alloc(w->uc, &w->pristine) != UC_ERR_OK ||
	    uc_context_save(w->uc, w->pristine) != UC_ERR_OK) {
		return -1;
	}
	return ZYAN_SUCCESS(
		   ZydisDecoderInit(&w->dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64))
		   ? 0
		   : -1;
}

#ifndef ASSIST_PROC_TESTING /* the process around the workers */

static pthread_barrier_t g_ready, g_go;
static unsigned g_ncpu;
static pid_t g_vmm; /* our parent */
static volatile int g_init_failed;

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", ASSIST_HELPER_NAME, what, strerror(errno));
	_exit(71);
}

/* The vCPU thread sleeps while its burst runs: on its CPU the two wake each other with a
 * context switch instead of an inter-processor interrupt (15 us instead of 40-90 per burst
 * here).  The request says where that thread is; a failure (a CPU we may not use) is
 * remembered and not retried. */
static void follow_cpu(struct worker *w, uint32_t cpu)
{
	cpu_set_t set;

	if (cpu == w->cpu || cpu >= CPU_SETSIZE) {
		return;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	w->cpu = cpu;
	sched_setaffinity(0, sizeof set, &set);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void serve(struct worker *w)
{
	for (;;) {
		ssize_t n = read(w->sock, &w->in, sizeof w->in);
		uint64_t t0;
		size_t len;
		if (n == 0) {
			_exit(0); /* the VMM is gone or done */
		}
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			_exit(0);
		}
		t0 = now_ns();
		if ((size_t)n == sizeof w->in) {
			follow_cpu(w, w->in.cpu);
		}
		if ((size_t)n != sizeof w->in || w->in.magic != ASSIST_PROTO_MAGIC) {
			memset(&w->out, 0, ASSIST_RESP_SHORT);
			w->out.magic = ASSIST_PROTO_MAGIC;
			w->out.stop = ASSIST_STOP_ERROR;
		} else {
			burst(w);
		}
		w->out.counts.ns = now_ns() - t0;
		len = w->out.fpu_dirty ? sizeof w->out : ASSIST_RESP_SHORT;
		if (write(w->sock, &w->out, len) != (ssize_t)len) {
			_exit(0);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (alloc_worker(w) != 0 || init_uc(w) != 0) {
		fprintf(stderr, "%s: vCPU %u: cannot set up the emulator\n", ASSIST_HELPER_NAME,
			w->id);
		g_init_failed = 1;
	}
	pthread_barrier_wait(&g_ready);
	pthread_barrier_wait(&g_go);
	serve(w);
	return NULL;
}

/* Before any thread exists: no privileges worth keeping. */
static void drop_privileges(void)
{
	if (getuid() == 0 || geteuid() == 0) {
		/* nobody: whatever the JIT might do is done without root */
		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0) {
			die("cannot drop root");
		}
	}
	/* changing credentials cleared the parent-death signal: set it again, then make sure
	 * the VMM did not die in between */
	if (getppid() != g_vmm) {
		_exit(0); /* the VMM ended before we were needed: nothing to report */
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != g_vmm ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		die("prctl");
	}
}

static void confine(unsigned n)
{
	char err[256];
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct rlimit none = {0, 0};

	/* no diagnostics once guest bytes run: stderr is the operator's terminal */
	if (null < 0 || dup2(null, 2) < 0 || close(null) != 0 ||
	    setrlimit(RLIMIT_NOFILE, &none) != 0 || setrlimit(RLIMIT_CORE, &none) != 0) {
		die("cannot detach from stderr");
	}
	if (!ASSIST_SANITIZED && assist_install_filter(n, err, sizeof err) != 0) {
		_exit(75);
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

static void map_ram(const char *start, const char *size)
{
	void *p;

	if (parse_u64(start, &g_ram.start) != 0 || parse_u64(size, &g_ram.size) != 0 ||
	    g_ram.size == 0 || g_ram.size % PAGE != 0 || g_ram.start % PAGE != 0 ||
	    g_ram.start + g_ram.size < g_ram.start) {
		errno = EINVAL;
		die("bad guest RAM arguments");
	}
	p = mmap(NULL, g_ram.size, PROT_READ | PROT_WRITE, MAP_SHARED, ASSIST_FD_MEM, 0);
	if (p == MAP_FAILED) {
		die("cannot map guest RAM");
	}
	g_ram.base = p;
	close(ASSIST_FD_MEM);
}

int main(int argc, char **argv)
{
	uint64_t n;
	struct worker *ws;

	g_vmm = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || g_vmm == 1) {
		return 71; /* the VMM died before we could watch it */
	}
	if (argc != 4 || parse_u64(argv[3], &n) != 0 || n == 0 || n > ASSIST_MAX_VCPUS) {
		fprintf(stderr, "usage: %s RAM_START RAM_SIZE NCPU (started by uhyve-sec)\n",
			ASSIST_HELPER_NAME);
		return 64;
	}
	g_ncpu = (unsigned)n;
	/* One malloc arena: glibc trims a thread arena by first reading
	 * /proc/sys/vm/overcommit_memory, a file the filter (rightly) does not allow. */
	mallopt(M_ARENA_MAX, 1);
	map_ram(argv[1], argv[2]);
	drop_privileges();
	ws = calloc(g_ncpu, sizeof *ws);
	if (ws == NULL || pthread_barrier_init(&g_ready, NULL, g_ncpu + 1) != 0 ||
	    pthread_barrier_init(&g_go, NULL, g_ncpu + 1) != 0) {
		die("out of memory");
	}
	for (unsigned i = 0; i < g_ncpu; i++) {
		ws[i] = (struct worker){
		    .id = i, .sock = ASSIST_FD_SOCK0 + (int)i, .ram = &g_ram, .cpu = ~0u};
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			die("cannot start a thread");
		}
	}
	pthread_barrier_wait(&g_ready);
	if (g_init_failed) {
		_exit(71);
	}
	confine(g_ncpu);
	pthread_barrier_wait(&g_go);
	pthread_join(ws[0].thread, NULL); /* never returns: a worker ends the process */
	_exit(0);
}
#endif
