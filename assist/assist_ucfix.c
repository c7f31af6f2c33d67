/* SPDX-License-Identifier: MIT */
/* assist_ucfix.c - three defects of Unicorn 2.0.1 (hermit-abi.md g.3, defects 1 and 4, and
 * the slow stores below), the cost of its block-hook call, its single-CPU translation (5) and
 * the place of its code buffer (6), corrected at link time.  The assist links Unicorn
 * statically, with
 *   -Wl,--wrap=tlb_set_page_with_attrs_x86_64 -Wl,--wrap=memory_mapping
 *   -Wl,--wrap=get_page_addr_code_x86_64 (and tb_invalidate_phys_page_fast_x86_64,
 *   g_hash_table_lookup, tb_gen_code_x86_64, tcg_func_start_x86_64,
 *   cpu_loop_exit_atomic_x86_64, mmap64: below)
 * so that Unicorn's calls of these internal functions from another of its objects come
 * here (assist/meson.build).  No instruction is emulated or decoded here.
 *
 *  1. Unicorn's x86 MMU walks the page tables (ours: the shadow, assist_shadow.c) for
 *     permissions and faults, then enters the *virtual* address as the physical one into its
 *     TLB ("paddr = vaddr" in target/i386/excp_helper.c handle_mmu_fault).  The wrapper of
 *     tlb_set_page_with_attrs puts the guest-physical address back, from the same shadow entry
 *     Unicorn has just walked.  Guest RAM is then mapped into Unicorn once, at its
 *     guest-physical address, and a change of the guest's tables changes only the shadow.
 *  2. Before an access, Unicorn looks for a memory region at the *virtual* address
 *     (memory_mapping, cputlb.c load_helper/store_helper) and stops imprecisely where it finds
 *     none or where the region's permissions forbid the access.  With the first correction the
 *     virtual address has no meaning there: the wrapper answers with guest RAM's region (all
 *     permissions) for the worker's instance, so the shadow walk alone decides, precisely
 *     (#PF before the instruction).
 *  3. Unicorn 2.0.1 stubs out QEMU's dirty-memory bitmap (cpu_physical_memory_is_clean is
 *     always true), so every writable TLB entry keeps TLB_NOTDIRTY and *every* guest store
 *     takes the slow path: notdirty_write, which allocates and frees a page collection (a
 *     GLib tree) to look for translated code to invalidate (Unicorn fixed it in 2.0.2,
 *     d0103576; Debian 12 ships 2.0.1).  About a fifth of rusty_demo's time in the assist went
 *     there.  The correction keeps QEMU's rule, "a page with translated code stays
 *     write-protected for the TLB", with a bitmap of its own: every page Unicorn translates
 *     code from passes through get_page_addr_code (tb_gen_code, for both pages of a block,
 *     and the lookups of cpu-exec.c), whose wrapper marks it, once for good (`codebits`), and
 *     flushes Unicorn's TLB when a page is new, before any of that code is translated.  The
 *     TLB wrapper clears TLB_NOTDIRTY (Unicorn's tlb_set_dirty) on entries of unmarked RAM
 *     pages only, so a store to a code page still invalidates the blocks it changes, as in
 *     QEMU, and a store elsewhere goes straight to RAM.
 * All act only while a worker's main instance runs (ucfix_enter/leave, per thread); the ALU
 * instance of locked instructions (no paging) and set-up get Unicorn's own behaviour.  The
 * wrapper also learns the instance's CPU, so that a change of the guest's tables flushes
 * Unicorn's TLB with its own tlb_flush instead of mapping and unmapping a dummy region (which
 * rebuilds Unicorn's whole memory map).
 * Not a defect: a guest store to a page of translated code (self-modifying code, which passes
 * through tb_invalidate_phys_page_fast) also starts a new epoch of the worker, so the blocks
 * are screened again (a stop-list instruction written there stops the burst), however many
 * bursts the epoch spans (ASSIST_F_SAME_RAM). */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "assist_internal.h"

/* Unicorn's own functions, by their (static) link-time names: MemTxAttrs is a 32-bit bitfield
 * struct passed in a register, CPUState and MemoryRegion are opaque here. */
void __real_tlb_set_page_with_attrs_x86_64(void *cpu, uint64_t vaddr, uint64_t paddr,
					   uint32_t attrs, int prot, int mmu_idx, uint64_t size);
void __wrap_tlb_set_page_with_attrs_x86_64(void *cpu, uint64_t vaddr, uint64_t paddr,
					   uint32_t attrs, int prot, int mmu_idx, uint64_t size);
void *__real_memory_mapping(void *uc, uint64_t address);
void *__wrap_memory_mapping(void *uc, uint64_t address);
uint64_t __real_get_page_addr_code_x86_64(void *env, uint64_t addr);
uint64_t __wrap_get_page_addr_code_x86_64(void *env, uint64_t addr);
void __real_tb_invalidate_phys_page_fast_x86_64(void *uc, void *pages, uint64_t start, int len,
						uintptr_t retaddr);
void __wrap_tb_invalidate_phys_page_fast_x86_64(void *uc, void *pages, uint64_t start, int len,
						uintptr_t retaddr);
void tlb_flush_x86_64(void *cpu); /* exported by Unicorn: its TLB of one CPU */
void tlb_set_dirty_x86_64(void *cpu, uint64_t vaddr); /* drops TLB_NOTDIRTY of one page */

#define QEMU_PAGE_WRITE 0x2 /* QEMU's PAGE_WRITE in `prot` */

static __thread struct worker *cur;
static int calls; /* the wrapper ran at least once (the link-time correction is in) */

void __wrap_tlb_set_page_with_attrs_x86_64(void *cpu, uint64_t vaddr, uint64_t paddr,
					   uint32_t attrs, int prot, int mmu_idx, uint64_t size)
{
	uint64_t pa;

	bool fixed = false;

	__atomic_store_n(&calls, 1, __ATOMIC_RELAXED);
	if (cur != NULL) {
		cur->uc_cpu = cpu;
		if (shadow_pa(cur, vaddr, &pa)) {
			paddr = pa & ~(PAGE - 1);
			fixed = true;
		}
	}
	__real_tlb_set_page_with_attrs_x86_64(cpu, vaddr, paddr, attrs, prot, mmu_idx, size);
	if (fixed && (prot & QEMU_PAGE_WRITE) && ram_has(cur->ram, paddr, PAGE) &&
	    !code_bit(cur, paddr)) {
		tlb_set_dirty_x86_64(cpu, vaddr); /* no translated code there: fast stores */
	}
}

/* Every page Unicorn translates code from (or looks a translated block up on) is asked for
 * here first: mark it, and when it is new, flush the TLB entries that let stores bypass
 * Unicorn's invalidation (they were made while the page held no code). */
uint64_t __wrap_get_page_addr_code_x86_64(void *env, uint64_t addr)
{
	uint64_t r = __real_get_page_addr_code_x86_64(env, addr), pa;

	if (cur != NULL && shadow_pa(cur, addr, &pa) && ram_has(cur->ram, pa & ~(PAGE - 1), PAGE) &&
	    code_mark(cur, pa) && cur->uc_cpu != NULL) {
		tlb_flush_x86_64(cur->uc_cpu);
	}
	return r;
}

void *__wrap_memory_mapping(void *uc, uint64_t address)
{
	if (cur != NULL && uc == (void *)cur->uc && cur->ram_mr != NULL) {
		return cur->ram_mr;
	}
	return __real_memory_mapping(uc, address);
}

void __wrap_tb_invalidate_phys_page_fast_x86_64(void *uc, void *pages, uint64_t start, int len,
						uintptr_t retaddr)
{
	if (cur != NULL && uc == (void *)cur->uc) {
		cur->epoch++; /* self-modifying code: screen the blocks again */
	}
	__real_tb_invalidate_phys_page_fast_x86_64(uc, pages, start, len, retaddr);
}

/* Unicorn 2.0.1 compiles a hook type with a single hook (ours: the block hook, on_block) as a
 * direct call, whose helper description it creates with flags 0 (uc_add_inline_hook): at the
 * start of every translated block TCG then stores all guest registers it holds in host
 * registers back to the CPU state before the call and loads them again after it.  on_block
 * writes no guest register and reads only IF, which lives in the CPU state's eflags itself
 * (never in a TCG global); it never leaves by longjmp.  So its call is marked
 * TCG_CALL_NO_READ_GLOBALS (which implies no writes): tcg_gen_callN looks the description up
 * with glib's g_hash_table_lookup, whose wrapper sets the flag on that (heap) description. */
#define TCG_CALL_NO_READ_GLOBALS 0x0001u
struct tcg_helper_info { /* TCGHelperInfo, qemu/tcg/tcg.c */
	void *func;
	const char *name;
	unsigned flags, sizemask;
};

void *__real_g_hash_table_lookup(void *table, const void *key);
void *__wrap_g_hash_table_lookup(void *table, const void *key);
static int light; /* the flag was set at least once */

void *__wrap_g_hash_table_lookup(void *table, const void *key)
{
	struct tcg_helper_info *info = __real_g_hash_table_lookup(table, key);

	if (key == (const void *)on_block && info != NULL && info->func == key) {
		info->flags |= TCG_CALL_NO_READ_GLOBALS;
		__atomic_store_n(&light, 1, __ATOMIC_RELAXED);
	}
	return info;
}

bool ucfix_light_block_call(void)
{
	return __atomic_load_n(&light, __ATOMIC_RELAXED) != 0;
}

/* 5. Unicorn 2.0.1 translates as for one CPU only (curr_cflags() is 0): TCG then compiles a
 *    locked instruction as a plain load, operation and store, which another vCPU's store can
 *    slip between.  QEMU's answer for several CPUs is CF_PARALLEL, under which TCG compiles
 *    it as a call of its atomic helper, the host's locked instruction on the operand in guest
 *    RAM (or, where it cannot, cpu_loop_exit_atomic: below).  With several vCPUs, every block
 *    a worker's main instance translates gets CF_PARALLEL in the translation context
 *    (TCGContext.tb_cflags), and not in the block's own cflags, which key Unicorn's lookups
 *    (its lookups ask for cflags 0).  TCGContext is Unicorn's internal structure: the offset
 *    is checked before it is used.  The wrapper of tb_gen_code adds a bit QEMU 5.0 leaves
 *    unused (CF_MARK, outside the lookups' mask) to the cflags it copies there, and the
 *    wrapper of tcg_func_start, which tb_gen_code calls right after that copy, sets
 *    CF_PARALLEL only where it finds that very value (CF_MARK included; 22 bits that must
 *    match, so no field of another layout passes for it).  Anywhere else the check fails,
 *    nothing is written, and locked instructions stay the host twins of assist_atomic.c
 *    (ucfix_parallel).  Not marked:
 *    CF_PARALLEL in the block's cflags, which the translator reads for CMPXCHG8B/16B alone;
 *    those stay host twins. */
#define CF_PARALLEL	  0x00080000u /* QEMU 5.0, include/exec/exec-all.h */
#define CF_NOCACHE	  0x00010000u /* tb_gen_code may add it */
#define CF_CLUSTER_MASK	  0xff000000u /* tb_gen_code sets the CPU's cluster there */
#define CF_MARK		  0x00100000u /* unused by QEMU 5.0's cflags, outside CF_HASH_MASK */
#define TCG_CTX_TB_CFLAGS 100 /* offsetof(TCGContext, tb_cflags), include/tcg/tcg.h */

void *__real_tb_gen_code_x86_64(void *cpu, uint64_t pc, uint64_t cs_base, uint32_t flags,
				int cflags);
void *__wrap_tb_gen_code_x86_64(void *cpu, uint64_t pc, uint64_t cs_base, uint32_t flags,
				int cflags);
void __real_tcg_func_start_x86_64(void *s);
void __wrap_tcg_func_start_x86_64(void *s);
__attribute__((noreturn)) void __real_cpu_loop_exit_atomic_x86_64(void *cpu, uintptr_t pc);
__attribute__((noreturn)) void __wrap_cpu_loop_exit_atomic_x86_64(void *cpu, uintptr_t pc);

static int parallel; /* 1: CF_PARALLEL was found and set; -1: the check failed */
static __thread bool marking;
static __thread uint32_t marked; /* the cflags passed to tb_gen_code, CF_MARK included */

void *__wrap_tb_gen_code_x86_64(void *cpu, uint64_t pc, uint64_t cs_base, uint32_t flags,
				int cflags)
{
	void *tb;

	marking = cur != NULL && cur->smp;
	marked = (uint32_t)cflags | CF_MARK;
	tb = __real_tb_gen_code_x86_64(cpu, pc, cs_base, flags, marking ? (int)marked : cflags);
	marking = false;
	return tb;
}

void __wrap_tcg_func_start_x86_64(void *s)
{
	uint32_t *f = (uint32_t *)(void *)((char *)s + TCG_CTX_TB_CFLAGS);

	__real_tcg_func_start_x86_64(s);
	if (!marking) {
		return;
	}
	/* the very value tb_gen_code copied there (but the bits it may change itself, and
	 * CF_PARALLEL: a block whose code overflowed comes here again without a new copy): 22
	 * bits that must match, so that no other field of another layout is taken for it */
	if ((*f & ~(CF_CLUSTER_MASK | CF_NOCACHE | CF_PARALLEL)) ==
		(marked & ~(CF_CLUSTER_MASK | CF_NOCACHE | CF_PARALLEL)) &&
	    __atomic_load_n(&parallel, __ATOMIC_RELAXED) >= 0) {
		*f |= CF_PARALLEL;
		__atomic_store_n(&parallel, 1, __ATOMIC_RELAXED);
		return;
	}
	/* not Unicorn's layout: this block's locked instructions are not atomic.  Before the
	 * first block nothing was run as atomic (ucfix_parallel was false); after it, a block
	 * already screened under the other rule may hold one: the burst fails */
	if (__atomic_exchange_n(&parallel, -1, __ATOMIC_RELAXED) > 0 && cur != NULL) {
		cur->bad_access = true;
	}
}

/* An atomic access Unicorn cannot make with one host instruction (misaligned, or not on RAM):
 * QEMU stops all CPUs and runs the instruction alone, which Unicorn does not do (it would run
 * the same block again, for ever).  The burst stops before it, for KVM. */
void __wrap_cpu_loop_exit_atomic_x86_64(void *cpu, uintptr_t pc)
{
	if (cur != NULL) {
		atomic_unsupported(cur);
	}
	__real_cpu_loop_exit_atomic_x86_64(cpu, pc);
}

bool ucfix_parallel(void)
{
	return __atomic_load_n(&parallel, __ATOMIC_RELAXED) > 0;
}

void ucfix_enter(struct worker *w)
{
	if (w->ram_mr == NULL) {
		w->ram_mr = __real_memory_mapping(w->uc, w->ram->start);
	}
	cur = w;
}

void ucfix_leave(void)
{
	cur = NULL;
}

bool ucfix_active(void)
{
	return __atomic_load_n(&calls, __ATOMIC_RELAXED) != 0;
}

bool ucfix_flush(struct worker *w)
{
	if (w->uc_cpu == NULL) {
		return false; /* not run yet: the caller maps a dummy page instead */
	}
	tlb_flush_x86_64(w->uc_cpu);
	return true;
}

/* 6. TCG calls a helper (on_block, the floating-point helpers of SSE code, its TB lookup) with
 *    a direct CALL only where the helper lies within 2 GiB of the call site
 *    (tcg/i386/tcg-target.inc.c, tcg_out_branch); from a code buffer mmap puts anywhere, far
 *    from this program's text, every call is an indirect CALL through a constant in the
 *    buffer.  While a worker's main instance is created (ucfix_code_near), the wrapper of
 *    mmap64 (Unicorn's only way to its 1 GiB RWX buffer, translate-all.c
 *    alloc_code_gen_buffer) maps the first such buffer right below this program's image,
 *    wholly within 2 GiB of it, and the second above the heap (whose start the kernel
 *    randomizes up to 1 GiB past the image), 256 MiB past its current end, so that the
 *    buffer's first 256 MiB are within reach: TCG fills a buffer from its start (the prologue
 *    first), rusty_demo's code takes about 10 MiB, and a call from farther on is indirect as
 *    before (TCG checks each).  With MAP_FIXED_NOREPLACE; where that fails (something is
 *    there: ASan's shadow, say) or for any other buffer, mmap chooses, as before.  The place
 *    follows the randomized image and heap, so it is as random as they are.  A loop of ADDSD
 *    and a counting block hook in Unicorn, measured outside the assist: 15.2-16.6 -> 13.2-13.5
 *    ns a turn. */
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);

extern char __executable_start[], _end[]; /* the image, from the linker */

#define NEAR_SPAN  (2ull << 30) /* a rel32 CALL's reach */
#define NEAR_GAP   (16ull << 20) /* between the image and a buffer below it */
#define NEAR_HEAP  (256ull << 20) /* left to the brk heap above its current end */
#define NEAR_USED  (256ull << 20) /* of a buffer above, what must be within reach */
#define NEAR_ALIGN (2ull << 20)

static __thread bool near_wanted;
static unsigned near_next; /* buffers placed or tried: 0 below, 1 above */
static unsigned near_placed;

void ucfix_code_near(bool on)
{
	near_wanted = on;
}

unsigned ucfix_code_near_count(void)
{
	return __atomic_load_n(&near_placed, __ATOMIC_RELAXED);
}

/* The start of the k-th near buffer of `len` bytes, or 0. */
static uint64_t near_start(unsigned k, uint64_t len)
{
	uint64_t lo = (uint64_t)(uintptr_t)__executable_start, hi = (uint64_t)(uintptr_t)_end;
	uint64_t a;

	if (k == 0) {
		if (lo < len + NEAR_GAP + NEAR_ALIGN) {
			return 0;
		}
		a = (lo - len - NEAR_GAP) & ~(NEAR_ALIGN - 1);
		return hi - a < NEAR_SPAN - NEAR_GAP ? a : 0;
	}
	if (k == 1) {
		uint64_t brk_end = (uint64_t)(uintptr_t)sbrk(0);
		if (brk_end == (uint64_t)-1 || brk_end < hi) {
			brk_end = hi;
		}
		a = (brk_end + NEAR_HEAP + NEAR_ALIGN - 1) & ~(NEAR_ALIGN - 1);
		return a + NEAR_USED - lo < NEAR_SPAN - NEAR_GAP ? a : 0;
	}
	return 0;
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (near_wanted && addr == NULL && prot == (PROT_READ | PROT_WRITE | PROT_EXEC) &&
	    (flags & MAP_ANONYMOUS) && !(flags & MAP_FIXED) && len >= (64u << 20)) {
		unsigned k = __atomic_fetch_add(&near_next, 1, __ATOMIC_RELAXED);
		uint64_t a = near_start(k, len);
		if (a != 0) {
			int e = errno;
			void *p = __real_mmap64((void *)(uintptr_t)a, len, prot,
						flags | MAP_FIXED_NOREPLACE, fd, off);
			if (p == (void *)(uintptr_t)a) {
				__atomic_fetch_add(&near_placed, 1, __ATOMIC_RELAXED);
				return p;
			}
			if (p != MAP_FAILED) { /* a kernel that took the flag for a hint */
				munmap(p, len);
			}
			errno = e;
		}
	}
	return __real_mmap64(addr, len, prot, flags, fd, off);
}
