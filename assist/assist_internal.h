/* SPDX-License-Identifier: MIT */
/* assist_internal.h - the internals of uhyve-sec-assist shared by its files (and linked by
 * tests/unit/test_assist_state.c).  Everything here runs on guest-chosen bytes, registers and
 * page tables: the least trusted code of uhyve-sec.  The files, by concern:
 *
 *   assist_state.c     KVM's register and XSAVE layout <-> Unicorn
 *   assist_snapshot.c  guest RAM, the snapshot of the guest's page tables, walks through it
 *   assist_shadow.c    the shadow page tables Unicorn runs on, its memory map, placeholders
 *   assist_screen.c    instruction screening: the stop list (Zydis)
 *   assist_hooks.c     stop points and the Unicorn hooks (block, stop point, interrupt)
 *   assist_complete.c  instructions completed here (POPCNT, TZCNT, LZCNT)
 *   assist_burst.c     one burst: screen, run, classify the stop, reply
 *   assist_jit.c       JIT mode: its stop list, interrupt checks, what it completes itself
 *   assist_atomic.c    locked instructions with several vCPUs: host atomics on guest RAM
 *   assist_worker.c    a worker's memory and its Unicorn instances
 *   assist_main.c      the process: arguments, RAM, privileges, confinement, serve loop
 *
 * assist_main.c's comment tells how bursts stay exact despite Unicorn 2.0.1's defects.
 */
#ifndef UHS_ASSIST_INTERNAL_H
#define UHS_ASSIST_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <Zydis/Zydis.h>
#include <unicorn/unicorn.h>

#include "assist_proto.h"
#include "xsave_area.h"

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
#define UC_CR0	 (CR0_PG | CR0_WP | 0x33ull) /* Unicorn's CR0: PG WP NE ET MP PE */
#define CR4_PAE	 0x20ull
#define CR4_LA57 0x1000ull
#define EFER_LMA 0x400ull
#define EFER_NXE 0x800ull
#define RF_CF	 0x1ull
#define RF_ZF	 0x40ull
#define RF_TF	 0x100ull
#define RF_RF	 0x10000ull
#define RF_NT	 0x4000ull
#define RF_VM	 0x20000ull
#define RF_ARITH 0x8d5ull

/* Unicorn's physical addresses have 40 bits, so its page tables (the shadow pools) must lie
 * below 1 TiB, in a range where guest pages are then left out of the shadow. */
#define SHADOW_BASE   0xf000000000ull
#define SHADOW_FRAMES 4096u
#define POOL_BYTES    ((uint64_t)SHADOW_FRAMES * PAGE)
#define FLUSH_PAGE    (SHADOW_BASE + 2 * POOL_BYTES)
#define RESERVED_END  (FLUSH_PAGE + PAGE)

#define MAX_PT_FRAMES	 4096u /* guest page-table frames we snapshot */
#define MAX_VISITS	 (4u * MAX_PT_FRAMES) /* frames met by a walk, recursive views included */
#define MAX_LEAF_CHANGES 1024u /* changed entries followed without a rebuild */
#define FRAME_HASH	 8192u /* open addressing, power of two, > 2 * MAX_PT_FRAMES */
#define WALK_BUDGET	 (4u << 20) /* table entries visited per rebuild (hostile tables) */
#define BLOCKS		 16384u
#define BLOCK_WAYS	 4u /* the block table is 4-way set associative (assist_hooks.c) */
#define BLOCK_INLINE	 64u
#define BLOCK_MAX	 8192u
#define XTLB		 512u
/* Stop points kept as Unicorn code hooks (assist_hooks.c).  Unicorn 2.0.1 walks its whole list
 * of code hooks for every instruction it translates and whenever a hooked one runs, so a long
 * list makes all new code slow (hello_world placed 355 stop points; a fifth of the assist's
 * time went to that walk).  When full, the least recently used goes; its block gets it back
 * when it runs again (measured against 4096, docs/assist.md "Stop points"). */
#define MAX_EXITS 64u
/* An FPU stop point (struct stop_point) that a run passed this often in a row with CR0.TS clear
 * is dropped: it sits in a loop, where each pass costs a walk of all the code hooks. */
#define FPU_PASSES	 64u
#define MSR_FS_BASE	 0xc0000100u
#define MSR_GS_BASE	 0xc0000101u
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_X2APIC_LVTT	 0x832u
#define MSR_X2APIC_EOI	 0x80bu
#define MSR_X2APIC_ICR	 0x830u
#define MAX_STARTS	 256u /* uc_emu_start calls per burst (exits mode) */
#define MAX_STARTS_JIT	 (1u << 20) /* JIT mode: the instruction cap ends a burst */
#define CHECK_EVERY	 1024u /* JIT mode: instructions between looks at the interrupt sources */
#define PAUSE_SPIN	 2048u /* JIT mode: PAUSE loop rounds in one burst before it yields */
#define RF_IF		 0x200ull

/* A_ATOMIC: a locked instruction with several vCPUs, completed with a host atomic. */
enum action { A_RUN, A_KVM, A_VMM, A_SELF, A_UNSUP, A_ATOMIC };
enum why { W_NONE, W_CAP, W_FAULT, W_RESTART, W_NX, W_STOP, W_ERROR, W_IRQ, W_PAUSE, W_ATOMIC };
enum screen { SCR_RUN, SCR_DONE, SCR_STOP };

struct verdict {
	uint8_t action, cls, op;
	bool fpu;
};

struct ram {
	uint8_t *base;
	uint64_t start, size;
	/* JIT mode: the ranges that read as zeros outside RAM (ASSIST_ZERO_RANGES), backed by
	 * read-only anonymous memory, [zero_start, zero_end) host-mapped at `zero` */
	const uint8_t *zero;
	uint64_t zero_start, zero_end;
};

struct block {
	/* what every run looks at (on_block) first, in one cache line */
	uint64_t addr;
	/* the burst (worker.epoch) and the view (worker.gen) it was checked in */
	uint64_t seen, seen_gen;
	uint32_t size;
	uint16_t ninsn; /* instructions before `stop` (all of them if none) */
	int16_t stop; /* offset of the first stop-list instruction, or -1 */
	int16_t fpu; /* offset of the first x87/SSE instruction before `stop`, or -1 */
	bool ends_sti; /* its last instruction is STI (Unicorn ends a block there) */
	bool pause; /* it holds a PAUSE: a spin loop (JIT mode counts its rounds) */
	uint64_t hash; /* of the bytes past BLOCK_INLINE */
	uint8_t bytes[BLOCK_INLINE];
} __attribute__((aligned(64)));

/* A block checked in this burst whose runs need nothing but counting (no stop point, no PAUSE,
 * no x87/SSE under CR0.TS, not ending with STI): on_block's fast path, a small table that stays
 * in the L1 cache, where the 2 MiB block table does not (perf: a fifth of on_block's samples on
 * the load of a block's `seen`). */
#define HOT_BLOCKS 256u
struct hot_block {
	uint64_t addr, epoch;
	uint32_t size, ninsn;
	uint64_t fpu; /* the block has x87/SSE code (hot only while CR0.TS is clear); and 32
		       * bytes: the index is a shift */
};
/* The slot of the block at `addr`: cheaper than a multiplicative hash on the hot path, and
 * blocks of one loop (within a few hundred bytes) land in different slots. */
static inline unsigned hot_slot(uint64_t addr)
{
	return (unsigned)(addr ^ (addr >> 8)) & (HOT_BLOCKS - 1);
}

struct visit {
	uint64_t base; /* virtual address of the frame's first entry in this view */
	int32_t next; /* the frame's next visit, -1 none */
	uint16_t frame;
	uint8_t level; /* the level the walk read the frame at (4 = PML4) */
	bool wr; /* the path to it allowed writes */
};

struct stop_point {
	uint64_t addr;
	uc_hook hook;
	uint64_t used; /* worker.stops when it last stopped a run (or was placed) */
	/* placed for CR0.TS alone (the block's first x87/SSE instruction, not on the stop list):
	 * while TS is clear the run goes on through it, FPU_PASSES times in a row at most */
	bool fpu;
	uint32_t passes;
};

struct xtlb {
	uint64_t vpage, gen;
	uint8_t *host;
	bool nx;
};

struct worker {
	struct xsave_geom geom; /* the processor's XSAVE layout (assist_xsave.c) */
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
	uint64_t *codebits; /* one bit per RAM page: Unicorn translated code from it (ucfix) */
	/* shadow tables */
	uint64_t *pool[2];
	unsigned used[2], active, budget;
	/* where the last rebuild's walk met each table frame (assist_incr.c): a change of leaf
	 * entries is followed there, without a rebuild */
	struct visit *visits;
	int32_t *visit_head; /* per snapshot frame: its first visit, -1 none */
	unsigned nvisits;
	bool visits_ok; /* every visit was recorded (else: rebuilds only) */
	uint64_t gen;
	void *ram_mr; /* Unicorn's region of guest RAM (assist_ucfix.c) */
	void *uc_cpu; /* Unicorn's CPU of the main instance, once it ran (assist_ucfix.c) */
	struct xtlb xt[XTLB];
	void *flush_host;
	/* screening */
	struct block *blocks;
	struct hot_block hot[HOT_BLOCKS];
	struct stop_point *exits; /* sorted by address */
	unsigned nexits;
	uint64_t stops; /* runs a stop point ended (its age clock) */
	uint8_t scratch[BLOCK_MAX + 16];
	/* the burst in progress */
	uint64_t epoch; /* bursts begun: a block's bytes are checked once per burst */
	uint64_t spin_backoff_until; /* assist_main.c: spin short until then (a busy host) */
	uint64_t cap, insns;
	bool one; /* ASSIST_F_ONE_INSN: exactly one instruction */
	bool counting; /* Unicorn's instruction counter is installed (assist_burst.c) */
	uint64_t block_rip; /* address of the block the block hook last saw */
	enum why why;
	uint32_t vector;
	uint64_t cr2;
	uint32_t cpu; /* the host CPU this thread is pinned to, ~0u: none */
	/* JIT mode (assist_jit.c) */
	bool jit; /* the block cache and the stop points follow JIT mode's rules */
	bool ts; /* CR0.TS is set (JIT mode): the block hook stops before x87/SSE code (#NM) */
	bool smp; /* more than one vCPU: locked instructions need host atomics */
	bool bitcounts_native; /* this Unicorn runs TZCNT/LZCNT as bitcount() does (probed) */
	bool irq_want; /* an interrupt is due: the burst ends at the next block where IF is 1 */
	bool line_end; /* several vCPUs: a batched '\n' was collected: the burst ends after it */
	bool resync; /* INVLPG ran: follow the guest's tables before going on */
	unsigned pauses; /* blocks with a PAUSE run in this burst (PAUSE_SPIN of them yield) */
	uint64_t sti_next; /* the address right after the last STI run (in its shadow), or 0 */
	bool jumped; /* an instruction completed here went to `jump` (IRETQ), not to the next */
	bool xs_dirty; /* XRSTOR (or state synced for XSAVE) changed the reply's XSAVE area */
	uint64_t jump;
	uint64_t limit; /* on_block looks at the cap and the interrupt sources past this count */
	const volatile uint32_t *doorbell; /* this vCPU's doorbell in the control page */
	const uint64_t *ram_writes; /* the VMM's count of its RAM writes there (NULL: unknown) */
	uint64_t ram_writes0; /* its value when the burst began */
	uint64_t
	    deadline0; /* the request's deadline: the timer KVM has armed (host TSC, 0: none) */
	uint32_t lvtt; /* with ASSIST_F_X2APIC: the LVT timer register as the burst left it */
	bool end_after; /* the instruction just completed ends the burst (an ICR write) */
	struct alu *alu; /* assist_atomic.c */
	struct assist_req in;
	struct assist_resp out;
};

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

static inline bool ram_has(const struct ram *m, uint64_t pa, uint64_t len)
{
	return pa >= m->start && len <= m->size && pa - m->start <= m->size - len;
}

static inline uint8_t *ram_host(const struct ram *m, uint64_t pa)
{
	return m->base + (pa - m->start);
}

/* Whether Unicorn ever translated code from the RAM page holding `pa` (assist_ucfix.c). */
static inline bool code_bit(const struct worker *w, uint64_t pa)
{
	uint64_t i = (pa - w->ram->start) / PAGE;

	return (w->codebits[i / 64] >> (i % 64)) & 1;
}

/* Marks the RAM page holding `pa` as one with translated code; true if it was not yet. */
static inline bool code_mark(struct worker *w, uint64_t pa)
{
	uint64_t i = (pa - w->ram->start) / PAGE, bit = 1ull << (i % 64);

	if (w->codebits[i / 64] & bit) {
		return false;
	}
	w->codebits[i / 64] |= bit;
	return true;
}

/* A page outside RAM that reads as zeros (and may not be written). */
static inline bool zero_page(const struct ram *m, uint64_t pa)
{
	uint64_t s, n;

	if (m->zero == NULL || ram_has(m, pa, PAGE)) {
		return false;
	}
	for (unsigned i = 0; i < ASSIST_ZERO_RANGES; i++) {
		assist_zero_range(i, &s, &n);
		if (pa >= s && pa - s < n) {
			return true;
		}
	}
	return false;
}

/* Host memory behind a page the shadow maps: RAM, or the zero pages. */
static inline const uint8_t *page_host(const struct ram *m, uint64_t pa)
{
	return ram_has(m, pa, 1) ? ram_host(m, pa) : m->zero + (pa - m->zero_start);
}

/* ---- assist_state.c ---- */
/* Loads general-purpose registers, RFLAGS, FS/GS base, x87 and SSE state into Unicorn. */
/* The x87/SSE state of an XSAVE area (its legacy region) into Unicorn. */
int assist_fpu_to_uc(uc_engine *uc, const struct kvm_xsave *x);
/* JIT mode: XSAVE/XSAVEOPT (op ASSIST_OP_XSAVE) or XRSTOR (ASSIST_OP_XRSTOR) of the standard
 * format, completed in the burst: 0 done, 1 the VMM's (as in exits mode), -1 failed. */
int xsave_complete(struct worker *w, const ZydisDecodedInstruction *in,
		   const ZydisDecodedOperand *ops, uint64_t rip, unsigned op);
int assist_state_to_uc(uc_engine *uc, const struct kvm_regs *r, const struct kvm_sregs *s,
		       const struct kvm_xsave *x);
/* Reads them back: `x` must hold the area that was loaded; bits 0 (x87) and 1 (SSE) of its
 * XSTATE_BV are set for the parts that changed, and *dirty tells whether anything did. */
int assist_state_from_uc(uc_engine *uc, struct kvm_regs *r, struct kvm_xsave *x, uint32_t *dirty);
/* kvm_regs field i, in kvm_regs order (RAX RBX RCX RDX RSI RDI RSP RBP R8-R15). */
__u64 *gpr_field(struct kvm_regs *r, unsigned i);
/* FXSAVE's abridged x87 tag byte <-> the full tag word Unicorn takes. */
uint16_t ftw_full(uint8_t abridged);
uint8_t ftw_abridged(uint16_t full);

/* ---- assist_snapshot.c ---- */
/* Snapshots every table frame reachable from `root`; -1 beyond MAX_PT_FRAMES. */
int collect_frames(struct worker *w, uint64_t root);
/* Whether the guest's tables differ from the snapshot in anything but accessed/dirty bits. */
bool frames_changed(struct worker *w);
int frame_find(const struct worker *w, uint64_t pa);
const uint64_t *frame_copy(const struct worker *w, int idx);
bool is_frame(const struct worker *w, uint64_t pa);
/* A leaf entry at `level` (4 = PML4): a 4 KiB entry, or a 2 MiB/1 GiB page. */
bool is_leaf(uint64_t e, unsigned level);
bool frames_in(const struct worker *w, uint64_t pa, uint64_t len);
/* Translates through the snapshot (the shared walker, common/include/pagewalk.h): 0 with the
 * physical address and the effective W/NX bits (PTE_W, PTE_NX), -1 if `va` is not mapped,
 * -2 if it is not canonical. */
int gwalk(const struct worker *w, uint64_t va, uint64_t *pa, uint64_t *eff);
/* Copies guest-virtual memory (reads only): 0, -1 (not mapped: #PF), -2 (not RAM), or -3
 * (not canonical: #GP). */
int read_virt(const struct worker *w, uint64_t va, void *dst, size_t len);
/* Every page of [va, va + len) mapped, RAM, and (for a store) writable, no page-table frame
 * and no translated code (a store there must drop that code: only Unicorn's own stores do). */
bool virt_area_ok(const struct worker *w, uint64_t va, size_t len, bool store);
/* Stores `len` bytes at `va`, where virt_area_ok(w, va, len, true) said yes. */
void write_virt(const struct worker *w, uint64_t va, const void *src, size_t len);

/* ---- assist_shadow.c ---- */
uint64_t pool_pa(unsigned p, unsigned f);
uint64_t *shadow_slot(struct worker *w, unsigned p, uint64_t va, unsigned level, bool alloc);
void emit_leaf(struct worker *w, unsigned p, uint64_t va, uint64_t pa, uint64_t size, bool wr);
void flush_tlb(struct worker *w);

/* ---- assist_incr.c ---- */
void visits_reset(struct worker *w);
void visit_add(struct worker *w, int frame, unsigned level, uint64_t base, bool wr);
/* Follows changes of leaf entries (a page mapped, unmapped, or its rights changed) in the
 * active shadow: 0 done (nothing changed, or followed), -1 a rebuild is needed. */
int follow_leaf_changes(struct worker *w);
/* Brings the shadow up to date with the guest's tables before a burst. */
int shadow_sync(struct worker *w, const struct kvm_sregs *s);
bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
		 void *opaque);
/* Guest RAM and the zero ranges into Unicorn's (guest-physical) memory map, once. */
int map_physical(struct worker *w);
/* The guest-physical address the active shadow maps `va` to. */
bool shadow_pa(const struct worker *w, uint64_t va, uint64_t *pa);

/* ---- assist_ucfix.c ---- */
/* While the worker's main instance runs (uc_emu_start), Unicorn's TLB gets the guest-physical
 * address of each page; NULL around everything else (the ALU, set-up). */
void ucfix_enter(struct worker *w);
void ucfix_leave(void);
/* Whether the link-time corrections are in (checked once at start-up). */
bool ucfix_active(void);
/* Flushes Unicorn's TLB of the main instance; false if it has not run yet. */
bool ucfix_flush(struct worker *w);
/* Whether a block translated so far calls on_block without saving and reloading the guest's
 * registers (TCG_CALL_NO_READ_GLOBALS, assist_ucfix.c). */
bool ucfix_light_block_call(void);
/* Whether locked instructions of several vCPUs run in Unicorn as host atomics (CF_PARALLEL,
 * assist_ucfix.c): not before the first block a worker with several vCPUs translated. */
bool ucfix_parallel(void);
/* While on (this thread), Unicorn's code buffer goes within 2 GiB of this program's text, for
 * direct calls of its helpers, where there is room (two buffers at most). */
void ucfix_code_near(bool on);
/* Code buffers placed so. */
unsigned ucfix_code_near_count(void);

/* ---- assist_screen.c ---- */
struct verdict classify(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops);
bool decode(struct worker *w, const uint8_t *code, size_t len, ZydisDecodedInstruction *in,
	    ZydisDecodedOperand *ops);

/* ---- assist_hooks.c ---- */
void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque);
/* Unicorn met an atomic access it cannot make (assist_ucfix.c): the run stops before it. */
void atomic_unsupported(struct worker *w);
void on_intr(uc_engine *uc, uint32_t intno, void *opaque);
/* A stop point whose instruction is no longer on the stop list (the code changed). */
void exit_remove(struct worker *w, uint64_t a);
void exits_clear(struct worker *w);
/* CR0.TS turned on: the hot blocks with x87/SSE code go (their first instruction must stop for
 * #NM); the others stay hot. */
void hot_drop_fpu(struct worker *w);

/* ---- assist_complete.c ---- */
/* The Unicorn id of general-purpose register i in encoding order (RAX RCX RDX RBX ...). */
int gpr_uc_id(unsigned i);
int effective_address(struct worker *w, const ZydisDecodedInstruction *in,
		      const ZydisDecodedOperand *op, uint64_t rip, uint64_t *ea);
void set_fault(struct worker *w, uint32_t vector, uint64_t ea, bool write);
uint64_t bitcount_value(ZydisMnemonic m, uint64_t src, unsigned bits, uint64_t *flags);
/* POPCNT/TZCNT/LZCNT at rip, exactly: 0, or -1 (a fault was set, or it failed). */
int bitcount(struct worker *w, const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
	     uint64_t rip);
/* The bitcount probe: BITCOUNT_PROBE_CASES runs of TZCNT and LZCNT, case i storing RAX and
 * RFLAGS (16 bytes) at data_va + 16 * i, in code of at most BITCOUNT_PROBE_CODE bytes. */
#define BITCOUNT_PROBE_CASES 24u
#define BITCOUNT_PROBE_CODE  (BITCOUNT_PROBE_CASES * 56u + 1u)
size_t bitcount_probe_code(uint8_t *code, uint64_t data_va);
/* Whether the probe's results (`data`, as the code stored them) are bitcount()'s own. */
bool bitcount_probe_check(const uint8_t *data);

/* ---- assist_jit.c ---- */
/* The verdict of JIT mode for an instruction classify() judged for exits mode. */
struct verdict jit_verdict(const struct worker *w, struct verdict v,
			   const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops);
/* What the VMM needs to know of an instruction about to be left to it (ASSIST_I_FPU,
 * ASSIST_I_BRANCH). */
uint32_t insn_flags(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops);
/* on_block found the instruction count past w->limit: true if it stopped the burst (cap or
 * interrupt), else w->limit is the next point to look. */
bool at_limit(struct worker *w, uint32_t ninsn, bool shadow);
/* on_block met a block with a PAUSE: true if the burst stops (the spin goes on too long). */
bool spin_round(struct worker *w);
/* Instructions completed in the assist in JIT mode (RDTSC, MFENCE, INVLPG, reads of control
 * and segment registers, RDMSR/WRMSR of the FS and GS bases, CLTS and MOV to CR0 changing
 * CR0.TS alone): 0, -1 (failed), or 1 (KVM's: another MSR or CR0 bit, a base that is not
 * canonical). */
int nm_deliver(struct worker *w, uint64_t *rip);
int jit_complete(struct worker *w, const ZydisDecodedInstruction *in,
		 const ZydisDecodedOperand *ops);
/* IN/OUT: fills the reply's port I/O operation; false if the operands are not understood. */
bool jit_pio(struct worker *w, const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops);
/* An OUT to a port the request batches: collected in the reply (false: a real stop). */
bool jit_pio_batch(struct worker *w);
/* IN or OUT on a port the request names as answered by nothing: completed (false: a stop). */
bool jit_pio_absent(struct worker *w);
/* The first request of JIT mode: the block cache and stop points follow the new rules. */
void jit_switch(struct worker *w);

/* ---- assist_atomic.c ---- */
/* Its second Unicorn instance (the ALU of locked instructions), before confinement. */
int alu_init(struct worker *w);
/* Closes the ALU instance (the unit tests; the process never needs to). */
void alu_fini(struct worker *w);
/* A locked instruction at rip, exactly and atomically: 0 done (registers updated, RIP not),
 * 1 not possible here (the VMM leaves it to KVM), -1 a fault was set or it failed. */
int atomic_complete(struct worker *w, const ZydisDecodedInstruction *in,
		    const ZydisDecodedOperand *ops, uint64_t rip);

/* ---- assist_burst.c ---- */
/* Runs the burst w->in asks for and fills w->out. */
void burst(struct worker *w);

/* ---- assist_worker.c ---- */
void *map_anon(size_t len);
/* The worker's tables and buffers (w->ram must be set). */
int alloc_worker(struct worker *w);
/* Releases what alloc_worker and init_uc made (the unit tests; the process never does). */
void release_worker(struct worker *w);
/* Its Unicorn instance, hooks, JIT buffer (warmed up) and decoder. */
int init_uc(struct worker *w);

#endif
