/* SPDX-License-Identifier: MIT */
/* assist_worker.c - one worker per vCPU: its tables and buffers, and its Unicorn instance with
 * hooks, the JIT buffer warmed up (so no later burst needs a system call the filter forbids)
 * and the Zydis decoder.  Runs before confinement, before any guest byte is seen. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "assist_internal.h"

void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int alloc_worker(struct worker *w)
{
	size_t bits = (size_t)((w->ram->size / PAGE + 63) / 64) * sizeof(uint64_t);

	w->frame_pa = calloc(MAX_PT_FRAMES, sizeof *w->frame_pa);
	w->frame_level = calloc(MAX_PT_FRAMES, 1);
	w->fhash = calloc(FRAME_HASH, sizeof *w->fhash);
	w->ptbits = calloc(1, bits);
	w->codebits = calloc(1, bits);
	w->exits = calloc(MAX_EXITS, sizeof *w->exits);
	w->blocks = map_anon(BLOCKS * sizeof(struct block));
	w->copies = map_anon((size_t)MAX_PT_FRAMES * PAGE);
	w->pool[0] = map_anon(2 * POOL_BYTES);
	w->visits = map_anon(MAX_VISITS * sizeof *w->visits);
	w->visit_head = map_anon(MAX_PT_FRAMES * sizeof *w->visit_head);
	w->flush_host = map_anon(PAGE);
	if (!w->frame_pa || !w->frame_level || !w->fhash || !w->ptbits || !w->codebits ||
	    !w->exits || !w->blocks || !w->copies || !w->pool[0] || !w->flush_host || !w->visits ||
	    !w->visit_head) {
		return -1;
	}
	w->pool[1] = w->pool[0] + POOL_BYTES / sizeof(uint64_t);
	w->used[0] = w->used[1] = 1;
	w->gen = 1;
	return 0;
}

void release_worker(struct worker *w)
{
	if (w->uc != NULL) {
		uc_context_free(w->pristine);
		uc_close(w->uc);
	}
	free(w->frame_pa);
	free(w->frame_level);
	free(w->fhash);
	free(w->ptbits);
	free(w->codebits);
	free(w->exits);
	munmap(w->blocks, BLOCKS * sizeof(struct block));
	munmap(w->copies, (size_t)MAX_PT_FRAMES * PAGE);
	munmap(w->pool[0], 2 * POOL_BYTES);
	munmap(w->visits, MAX_VISITS * sizeof *w->visits);
	munmap(w->visit_head, MAX_PT_FRAMES * sizeof *w->visit_head);
	munmap(w->flush_host, PAGE);
}

/* Translating and running code creates everything the JIT needs (its 1 GiB RWX buffer is
 * mapped at the first use, hermit-abi.md g.3), so no later burst needs a syscall the filter
 * does not allow.  The code run is the bitcount probe (assist_complete.c): where this Unicorn
 * gives TZCNT and LZCNT the results and flags bitcount() would, JIT mode lets it run them
 * (jit_verdict) instead of stopping at each (rusty_demo: about 20,000 a run). */
static int warm_up(struct worker *w)
{
	const uint64_t a = 0x10000, data = a + 0xc00; /* nothing is mapped yet; unmapped below */
	uint64_t rsp = a + PAGE;
	uint8_t *page = map_anon(PAGE);
	size_t n;
	uc_err e;

	_Static_assert(BITCOUNT_PROBE_CODE <= 0xc00 && BITCOUNT_PROBE_CASES * 16 + 64 <= 0x400,
		       "the probe's code, results and stack share one page");
	if (page == NULL) {
		return -1;
	}
	n = bitcount_probe_code(page, data);
	if (uc_mem_map_ptr(w->uc, a, PAGE, UC_PROT_ALL, page) != UC_ERR_OK) {
		munmap(page, PAGE);
		return -1;
	}
	e = uc_reg_write(w->uc, UC_X86_REG_RSP, &rsp);
	if (e == UC_ERR_OK) {
		e = uc_emu_start(w->uc, a, a + n - 1, 0, 0); /* up to the HLT */
	}
	w->bitcounts_native = e == UC_ERR_OK && bitcount_probe_check(page + (data - a));
	uc_mem_unmap(w->uc, a, PAGE);
	munmap(page, PAGE);
	return e == UC_ERR_OK ? 0 : -1;
}

int init_uc(struct worker *w)
{
	uint64_t cr0 = UC_CR0, cr4 = CR4_PAE | 0x600, cr3 = 0;
	uc_hook hb, hi, hu;

	xsave_geom_read(&w->geom);
	ucfix_code_near(true); /* the code buffer, mapped by the first use, near the helpers */
	if (uc_open(UC_ARCH_X86, UC_MODE_64, &w->uc) != UC_ERR_OK ||
	    uc_ctl_set_cpu_model(w->uc, UC_CPU_X86_EPYC_ROME) != UC_ERR_OK ||
	    uc_mem_map_ptr(w->uc, SHADOW_BASE, 2 * POOL_BYTES, UC_PROT_READ | UC_PROT_WRITE,
			   w->pool[0]) != UC_ERR_OK ||
	    warm_up(w) != 0 || !ucfix_active() || map_physical(w) != 0) {
		ucfix_code_near(false);
		return -1; /* also without the link-time corrections (assist_ucfix.c) */
	}
	ucfix_code_near(false);
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
