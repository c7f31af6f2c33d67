/* SPDX-License-Identifier: MIT */
/* test_assist_state.c - the assist process's pieces that need no VM: the KVM <-> Unicorn state
 * transfer (general-purpose registers, flags, XMM, MXCSR, the x87 stack and its tags), what
 * Unicorn then computes from that state, the instruction screening (stop list), the exact
 * POPCNT/TZCNT/LZCNT, and the page-table snapshot and shadow tables.
 *
 * Linked with the assist's files other than its process (assist_main.c); what it uses is
 * declared in assist/assist_internal.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assist_internal.h"

#define CODE 0x1000ull

/* Unicorn without paging, a 64 KiB region at 0 for code and data. */
struct fixture {
	uc_engine *uc;
	uint8_t *mem;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->mem = calloc(1, 0x10000);
	assert_non_null(f->mem);
	assert_int_equal(uc_open(UC_ARCH_X86, UC_MODE_64, &f->uc), UC_ERR_OK);
	assert_int_equal(uc_ctl_set_cpu_model(f->uc, UC_CPU_X86_EPYC_ROME), UC_ERR_OK);
	assert_int_equal(uc_mem_map_ptr(f->uc, 0, 0x10000, UC_PROT_ALL, f->mem), UC_ERR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uc_close(f->uc);
	free(f->mem);
	free(f);
	return 0;
}

static void run(struct fixture *f, const uint8_t *code, size_t len)
{
	memcpy(f->mem + CODE, code, len);
	assert_int_equal(uc_emu_start(f->uc, CODE, CODE + len, 0, 0), UC_ERR_OK);
}

static struct fxarea *fx(struct kvm_xsave *x)
{
	return (struct fxarea *)(void *)x->region;
}

/* An 80-bit extended value: mantissa with the explicit integer bit, biased exponent. */
static void ext80(uint8_t *dst, uint64_t mant, uint16_t sexp)
{
	memcpy(dst, &mant, 8);
	memcpy(dst + 8, &sexp, 2);
}

static void sample_state(struct kvm_regs *r, struct kvm_sregs *s, struct kvm_xsave *x)
{
	memset(r, 0, sizeof *r);
	memset(s, 0, sizeof *s);
	memset(x, 0, sizeof *x);
	for (unsigned i = 0; i < 16; i++) {
		*gpr_field(r, i) = 0x1111111111111111ull * (i + 1);
	}
	r->rflags = 0x2 | 0x1 | 0x40 | 0x800; /* CF ZF OF */
	s->fs.base = 0x7000;
	s->gs.base = 0x8000;
	fx(x)->fcw = 0x037f;
	fx(x)->fsw = 5 << 11; /* TOP = 5: ST(0) is physical register 5 */
	fx(x)->ftw = 0xe0; /* physical 5, 6, 7 in use */
	fx(x)->mxcsr = 0x1f80;
	fx(x)->mxcsr_mask = 0xffff;
	ext80(fx(x)->st[0], 0x8000000000000000ull, 0x3fff); /* ST(0) = 1.0 */
	ext80(fx(x)->st[1], 0xc000000000000000ull, 0x4000); /* ST(1) = 3.0 */
	ext80(fx(x)->st[2], 0xa000000000000000ull, 0xc001); /* ST(2) = -5.0 */
	for (unsigned i = 0; i < 16; i++) {
		for (unsigned j = 0; j < 16; j++) {
			fx(x)->xmm[i][j] = (uint8_t)(16 * i + j);
		}
	}
}

/* Loading and reading back without running anything changes nothing. */
static void roundtrip_is_identity(void **state)
{
	struct fixture *f = *state;
	struct kvm_regs r, r2;
	struct kvm_sregs s;
	static struct kvm_xsave x, x2;
	uint32_t dirty = 7;
	uint64_t v;

	sample_state(&r, &s, &x);
	assert_int_equal(assist_state_to_uc(f->uc, &r, &s, &x), 0);
	r2 = r;
	x2 = x;
	assert_int_equal(assist_state_from_uc(f->uc, &r2, &x2, &dirty), 0);
	assert_int_equal(dirty, 0);
	assert_memory_equal(x2.region, x.region, 512);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(*gpr_field(&r2, i), *gpr_field(&r, i));
	}
	assert_int_equal(r2.rflags & RF_ARITH, r.rflags & RF_ARITH);
	assert_int_equal(uc_reg_read(f->uc, UC_X86_REG_FS_BASE, &v), UC_ERR_OK);
	assert_int_equal(v, 0x7000);
	assert_int_equal(uc_reg_read(f->uc, UC_X86_REG_GS_BASE, &v), UC_ERR_OK);
	assert_int_equal(v, 0x8000);
}

/* The x87 stack as Unicorn sees it: ST(i) relative to TOP, tags per physical register. */
static void x87_stack_and_tags(void **state)
{
	/* fadd st(0), st(1); fld1; faddp */
	static const uint8_t code[] = {0xd8, 0xc1, 0xd9, 0xe8, 0xde, 0xc1};
	struct fixture *f = *state;
	struct kvm_regs r;
	struct kvm_sregs s;
	static struct kvm_xsave x, out;
	uint8_t five[10], six[10];
	uint32_t dirty = 0;

	sample_state(&r, &s, &x);
	assert_int_equal(assist_state_to_uc(f->uc, &r, &s, &x), 0);
	run(f, code, sizeof code);
	out = x;
	assert_int_equal(assist_state_from_uc(f->uc, &r, &out, &dirty), 0);
	assert_true(dirty);
	/* ST(0) = 1 + 3 = 4, then 4 + 1 = 5: same depth, TOP still 5, same registers in use */
	ext80(five, 0xa000000000000000ull, 0x4001);
	ext80(six, 0xc000000000000000ull, 0x4000);
	assert_memory_equal(fx(&out)->st[0], five, 10);
	assert_memory_equal(fx(&out)->st[1], six, 10);
	assert_int_equal((fx(&out)->fsw >> 11) & 7, 5);
	assert_int_equal(fx(&out)->ftw, 0xe0);
	assert_int_equal(*(uint64_t *)(void *)((uint8_t *)out.region + 512) & 3, 1); /* x87 only */
}

/* fld1 pushes: TOP 5 -> 4, physical register 4 becomes valid. */
static void x87_push_marks_tag(void **state)
{
	static const uint8_t code[] = {0xd9, 0xe8}; /* fld1 */
	struct fixture *f = *state;
	struct kvm_regs r;
	struct kvm_sregs s;
	static struct kvm_xsave x, out;
	uint8_t one[10];
	uint32_t dirty = 0;

	sample_state(&r, &s, &x);
	assert_int_equal(assist_state_to_uc(f->uc, &r, &s, &x), 0);
	run(f, code, sizeof code);
	out = x;
	assert_int_equal(assist_state_from_uc(f->uc, &r, &out, &dirty), 0);
	ext80(one, 0x8000000000000000ull, 0x3fff);
	assert_int_equal((fx(&out)->fsw >> 11) & 7, 4);
	assert_int_equal(fx(&out)->ftw, 0xf0);
	assert_memory_equal(fx(&out)->st[0], one, 10);
	assert_memory_equal(fx(&out)->st[1], fx(&x)->st[0], 10); /* the old ST(0) is ST(1) now */
}

/* SSE arithmetic on the loaded XMM registers; only the SSE component turns dirty. */
static void xmm_arithmetic(void **state)
{
	/* paddd xmm0, xmm1; pxor xmm15, xmm15 */
	static const uint8_t code[] = {0x66, 0x0f, 0xfe, 0xc1, 0x66, 0x45, 0x0f, 0xef, 0xff};
	struct fixture *f = *state;
	struct kvm_regs r;
	struct kvm_sregs s;
	static struct kvm_xsave x, out;
	uint32_t dirty = 0, a, b, c;
	uint8_t zero[16] = {0};

	sample_state(&r, &s, &x);
	assert_int_equal(assist_state_to_uc(f->uc, &r, &s, &x), 0);
	run(f, code, sizeof code);
	out = x;
	assert_int_equal(assist_state_from_uc(f->uc, &r, &out, &dirty), 0);
	assert_true(dirty);
	for (unsigned i = 0; i < 4; i++) {
		memcpy(&a, fx(&x)->xmm[0] + 4 * i, 4);
		memcpy(&b, fx(&x)->xmm[1] + 4 * i, 4);
		memcpy(&c, fx(&out)->xmm[0] + 4 * i, 4);
		assert_int_equal(c, a + b);
	}
	assert_memory_equal(fx(&out)->xmm[15], zero, 16);
	assert_memory_equal(fx(&out)->xmm[1], fx(&x)->xmm[1], 16);
	assert_int_equal(*(uint64_t *)(void *)((uint8_t *)out.region + 512) & 3, 2); /* SSE only */
}

/* MXCSR travels both ways: its rounding control steers cvtsd2si, ldmxcsr changes it. */
static void mxcsr_rounding(void **state)
{
	/* cvtsd2si rax, xmm2; mov ecx, 0x1f80; push rcx; ldmxcsr [rsp]; pop rcx */
	static const uint8_t code[] = {0xf2, 0x48, 0x0f, 0x2d, 0xc2, 0xb9, 0x80, 0x1f,
				       0x00, 0x00, 0x51, 0x0f, 0xae, 0x14, 0x24, 0x59};
	struct fixture *f = *state;
	struct kvm_regs r;
	struct kvm_sregs s;
	static struct kvm_xsave x, out;
	uint32_t dirty = 0;
	double v = 2.5;

	sample_state(&r, &s, &x);
	memcpy(fx(&x)->xmm[2], &v, sizeof v);
	fx(&x)->mxcsr = 0x1f80 | (2u << 13); /* round up */
	r.rsp = 0x8000;
	assert_int_equal(assist_state_to_uc(f->uc, &r, &s, &x), 0);
	run(f, code, sizeof code);
	out = x;
	assert_int_equal(assist_state_from_uc(f->uc, &r, &out, &dirty), 0);
	assert_int_equal(r.rax, 3);
	assert_int_equal(fx(&out)->mxcsr, 0x1f80);
}

/* Arithmetic flags computed by Unicorn come back in RFLAGS. */
static void flags(void **state)
{
	/* xor eax, eax (ZF PF); stc; mov rbx, -1; add rbx, 1 (ZF CF) */
	static const uint8_t code[] = {0x31, 0xc0, 0xf9, 0x48, 0xc7, 0xc3, 0xff,
				       0xff, 0xff, 0xff, 0x48, 0x83, 0xc3, 0x01};
	struct fixture *f = *state;
	struct kvm_regs r;
	struct kvm_sregs s;
	static struct kvm_xsave x, out;
	uint32_t dirty = 0;

	sample_state(&r, &s, &x);
	r.rflags = 0x202;
	assert_int_equal(assist_state_to_uc(f->uc, &r, &s, &x), 0);
	run(f, code, sizeof code);
	out = x;
	assert_int_equal(assist_state_from_uc(f->uc, &r, &out, &dirty), 0);
	assert_int_equal(r.rflags & RF_ARITH, RF_ZF | RF_CF | 0x4 /* PF */ | 0x10 /* AF */);
	assert_int_equal(r.rflags & 0x200, 0x200); /* IF as loaded */
	assert_int_equal(dirty, 0);
}

static void ftw_conversions(void **state)
{
	(void)state;
	assert_int_equal(ftw_full(0x00), 0xffff);
	assert_int_equal(ftw_full(0xff), 0x0000);
	assert_int_equal(ftw_full(0x81), 0x3ffc);
	assert_int_equal(ftw_abridged(0x3ffc), 0x81);
	assert_int_equal(ftw_abridged(0x5555), 0xff); /* zero/valid/special all count as in use */
	for (unsigned a = 0; a < 256; a++) {
		assert_int_equal(ftw_abridged(ftw_full((uint8_t)a)), a);
	}
}

static struct verdict classify_bytes(const uint8_t *b, size_t n)
{
	static struct worker w;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

	assert_true(ZYAN_SUCCESS(
	    ZydisDecoderInit(&w.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)));
	assert_true(decode(&w, b, n, &in, ops));
	return classify(&in, ops);
}

#define CLASSIFY(...)                                                                              \
	({                                                                                         \
		static const uint8_t b_[] = {__VA_ARGS__};                                         \
		classify_bytes(b_, sizeof b_);                                                     \
	})

/* The stop list (hermit-abi.md g.3 rule 5, plus what only KVM may do). */
static void stop_list(void **state)
{
	struct verdict v;

	(void)state;
	v = CLASSIFY(0x0f, 0x58, 0xc1); /* addps: runs */
	assert_int_equal(v.action, A_RUN);
	assert_true(v.fpu);
	assert_int_equal(CLASSIFY(0xf3, 0x0f, 0x1e, 0xfa).action, A_RUN); /* endbr64 */
	assert_int_equal(CLASSIFY(0xf3, 0x48, 0xa4).action, A_RUN); /* rep movsb */
	v = CLASSIFY(0xf0, 0x48, 0x0f, 0xc1, 0x07); /* lock xadd */
	assert_int_equal(v.action, A_KVM);
	assert_int_equal(v.cls, ASSIST_C_LOCK);
	assert_int_equal(CLASSIFY(0x48, 0x87, 0x07).cls, ASSIST_C_LOCK); /* xchg with memory */
	assert_int_equal(CLASSIFY(0x48, 0x87, 0xc3).action, A_RUN); /* xchg registers */
	v = CLASSIFY(0x0f, 0x01, 0xd0); /* xgetbv */
	assert_int_equal(v.action, A_VMM);
	assert_int_equal(v.op, ASSIST_OP_XGETBV);
	assert_false(v.fpu);
	assert_int_equal(CLASSIFY(0x0f, 0xae, 0x27).op, ASSIST_OP_XSAVE); /* xsave [rdi] */
	assert_int_equal(CLASSIFY(0x0f, 0xae, 0x37).op, ASSIST_OP_XSAVE); /* xsaveopt */
	assert_int_equal(CLASSIFY(0x0f, 0xc7, 0x27).op, ASSIST_OP_XSAVEC); /* xsavec */
	assert_int_equal(CLASSIFY(0x0f, 0xae, 0x2f).op, ASSIST_OP_XRSTOR); /* xrstor */
	assert_int_equal(CLASSIFY(0x0f, 0x01, 0xf9).op, ASSIST_OP_RDTSCP); /* rdtscp */
	assert_int_equal(CLASSIFY(0xf3, 0x48, 0x0f, 0xb8, 0xc1).action, A_SELF); /* popcnt */
	assert_int_equal(CLASSIFY(0xf3, 0x48, 0x0f, 0xbc, 0xc1).action, A_SELF); /* tzcnt */
	assert_int_equal(CLASSIFY(0xf3, 0x48, 0x0f, 0xbd, 0xc1).action, A_SELF); /* lzcnt */
	assert_int_equal(CLASSIFY(0x0f, 0x31).cls, ASSIST_C_TIME); /* rdtsc */
	assert_int_equal(CLASSIFY(0xec).cls, ASSIST_C_IO); /* in al, dx */
	assert_int_equal(CLASSIFY(0xf3, 0x6e).cls, ASSIST_C_IO); /* rep outsb */
	assert_int_equal(CLASSIFY(0x0f, 0x30).cls, ASSIST_C_SYSTEM); /* wrmsr */
	assert_int_equal(CLASSIFY(0x0f, 0x22, 0xd8).cls, ASSIST_C_SYSTEM); /* mov cr3 */
	assert_int_equal(CLASSIFY(0x8e, 0xd8).cls, ASSIST_C_SYSTEM); /* mov ds */
	assert_int_equal(CLASSIFY(0x8c, 0xd8).cls, ASSIST_C_SYSTEM); /* mov eax, ds */
	assert_int_equal(CLASSIFY(0x0f, 0x01, 0x17).cls, ASSIST_C_SYSTEM); /* lgdt */
	assert_int_equal(CLASSIFY(0xfa).cls, ASSIST_C_IFLAG); /* cli */
	assert_int_equal(CLASSIFY(0x9d).cls, ASSIST_C_IFLAG); /* popf */
	assert_int_equal(CLASSIFY(0x48, 0xcf).cls, ASSIST_C_IFLAG); /* iretq */
	assert_int_equal(CLASSIFY(0xf4).cls, ASSIST_C_HLT); /* hlt */
	assert_int_equal(CLASSIFY(0xf3, 0x90).cls, ASSIST_C_HLT); /* pause */
	assert_int_equal(CLASSIFY(0x0f, 0xa2).cls, ASSIST_C_CPUID); /* cpuid */
	assert_int_equal(CLASSIFY(0xcd, 0x80).cls, ASSIST_C_FAR); /* int 0x80 */
	assert_int_equal(CLASSIFY(0x0f, 0x05).cls, ASSIST_C_FAR); /* syscall */
	assert_int_equal(CLASSIFY(0xff, 0x2f).cls, ASSIST_C_FAR); /* jmp far [rdi] */
	assert_int_equal(CLASSIFY(0x48, 0x0f, 0xc7, 0xf0).cls, ASSIST_C_RANDOM); /* rdrand */
	assert_int_equal(CLASSIFY(0xf3, 0x48, 0x0f, 0xae, 0xc0).cls, ASSIST_C_FSGSBASE);
	v = CLASSIFY(0xc5, 0xf8, 0x58, 0xc1); /* vaddps */
	assert_int_equal(v.action, A_UNSUP);
	assert_int_equal(v.cls, ASSIST_C_VEX);
}

static void bitcounts(void **state)
{
	uint64_t fl;

	(void)state;
	assert_int_equal(bitcount_value(ZYDIS_MNEMONIC_POPCNT, 0xf0f000001234567full, 64, &fl), 24);
	assert_int_equal(fl, 0);
	assert_int_equal(bitcount_value(ZYDIS_MNEMONIC_POPCNT, 0, 64, &fl), 0);
	assert_int_equal(fl, RF_ZF);
	assert_int_equal(bitcount_value(ZYDIS_MNEMONIC_TZCNT, 0x100, 32, &fl), 8);
	assert_int_equal(fl, 0);
	assert_int_equal(bitcount_value(ZYDIS_MNEMONIC_TZCNT, 0, 32, &fl), 32); /* BSF would not */
	assert_int_equal(fl, RF_CF);
	assert_int_equal(bitcount_value(ZYDIS_MNEMONIC_TZCNT, 1, 16, &fl), 0);
	assert_int_equal(fl, RF_ZF);
	assert_int_equal(bitcount_value(ZYDIS_MNEMONIC_LZCNT, 0x100, 64, &fl), 55); /* BSR: 8 */
	assert_int_equal(bitcount_value(ZYDIS_MNEMONIC_LZCNT, 0x100, 16, &fl), 7);
	assert_int_equal(bitcount_value(ZYDIS_MNEMONIC_LZCNT, 0, 64, &fl), 64);
	assert_int_equal(fl, RF_CF);
}

/* The probe of Unicorn's TZCNT/LZCNT (run by init_uc's warm-up): its code stays within its
 * bound, and a single result or flag off makes it fail. */
static void bitcount_probe(void **state)
{
	uint8_t code[BITCOUNT_PROBE_CODE], data[BITCOUNT_PROBE_CASES * 16];
	size_t n = bitcount_probe_code(code, 0x20000);

	(void)state;
	assert_true(n <= sizeof code);
	assert_int_equal(code[n - 1], 0xf4);
	/* what an exact CPU stores: case 0 is TZCNT of zero, 16 bits (RAX's rest kept) */
	for (unsigned i = 0; i < BITCOUNT_PROBE_CASES; i++) {
		ZydisMnemonic m = i < 12 ? ZYDIS_MNEMONIC_TZCNT : ZYDIS_MNEMONIC_LZCNT;
		unsigned bits = 16u << ((i / 4) % 3);
		uint64_t srcs[4] = {0, 1, 1ull << (bits - 1), 0xffffffff00010000ull}, fl;
		uint64_t src = srcs[i % 4] & (bits == 64 ? ~0ull : (1ull << bits) - 1);
		uint64_t rax = bitcount_value(m, src, bits, &fl);
		if (bits == 16) {
			rax |= 0x5a5a5a5a5a5a0000ull;
		}
		fl |= 2;
		memcpy(data + 16 * i, &rax, 8);
		memcpy(data + 16 * i + 8, &fl, 8);
	}
	assert_true(bitcount_probe_check(data));
	data[0] ^= 1; /* TZCNT of zero, 16 bits: 16 -> 17 */
	assert_false(bitcount_probe_check(data));
	data[0] ^= 1;
	data[16 * 5 + 8] ^= RF_CF; /* TZCNT of one, 32 bits: CF set */
	assert_false(bitcount_probe_check(data));
	data[16 * 5 + 8] ^= RF_CF;
	/* TZCNT of zero, 32 bits, as BSF: RAX kept (zero-extended), not 32 */
	memcpy(data + 16 * 4, &(uint64_t){0x5a5a5a5aull}, 8);
	assert_false(bitcount_probe_check(data));
}

/* ---- the page-table snapshot and the shadow tables, on a fake guest RAM ---- */

#define RAM0  0x200000ull
#define RAMSZ (8ull << 20)
#define PML4  (RAM0 + 0x1000)
#define PDPT  (RAM0 + 0x2000)
#define PD    (RAM0 + 0x3000)
#define PT    (RAM0 + 0x4000)
#define DATA  (RAM0 + 0x100000)
#define ALIAS 0x500000000000ull

static struct ram test_ram;

static uint64_t *ram_u64(uint64_t pa)
{
	return (uint64_t *)(void *)ram_host(&test_ram, pa);
}

/* Identity 2 MiB pages over RAM, the page-table frames themselves in the first 2 MiB (so it
 * is mapped with 4 KiB pages), one page aliased at ALIAS, the recursive slot 511. */
static void build_tables(void)
{
	uint64_t *pml4 = ram_u64(PML4), *pdpt = ram_u64(PDPT), *pd = ram_u64(PD), *pt = ram_u64(PT);
	uint64_t *apdpt = ram_u64(RAM0 + 0x5000), *apd = ram_u64(RAM0 + 0x6000);
	uint64_t *apt = ram_u64(RAM0 + 0x7000);

	memset(test_ram.base, 0, 0x8000);
	pml4[0] = PDPT | PTE_P | PTE_W;
	pml4[511] = PML4 | PTE_P | PTE_W;
	pdpt[0] = PD | PTE_P | PTE_W;
	pd[1] = PT | PTE_P | PTE_W; /* 0x200000-0x400000 in 4 KiB pages */
	for (unsigned i = 0; i < 512; i++) {
		pt[i] = (RAM0 + i * PAGE) | PTE_P | PTE_W;
	}
	for (unsigned i = 2; i < 4; i++) {
		pd[i] = (i * (2ull << 20)) | PTE_P | PTE_W | PTE_PS;
	}
	pd[4] = (4 * (2ull << 20)) | PTE_P | PTE_PS; /* read-only 2 MiB page */
	pd[5] = (5 * (2ull << 20)) | PTE_P | PTE_W | PTE_PS; /* beyond RAM: not for bursts */
	pml4[(ALIAS >> 39) & 511] = (RAM0 + 0x5000) | PTE_P | PTE_W;
	apdpt[0] = (RAM0 + 0x6000) | PTE_P | PTE_W;
	apd[0] = (RAM0 + 0x7000) | PTE_P | PTE_W;
	apt[0] = DATA | PTE_P | PTE_W;
}

static int shadow_setup(void **state)
{
	struct worker *w = calloc(1, sizeof *w);

	assert_non_null(w);
	test_ram = (struct ram){.base = calloc(1, RAMSZ), .start = RAM0, .size = RAMSZ};
	assert_non_null(test_ram.base);
	w->ram = &test_ram;
	assert_int_equal(alloc_worker(w), 0);
	assert_int_equal(init_uc(w), 0);
	*state = w;
	return 0;
}

static int shadow_teardown(void **state)
{
	struct worker *w = *state;

	release_worker(w);
	free(test_ram.base);
	free(w);
	return 0;
}

static uint64_t shadow_entry(struct worker *w, uint64_t va, unsigned *level)
{
	uint64_t *t = w->pool[w->active];

	for (unsigned l = 4; l >= 1; l--) {
		uint64_t e = t[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_P) || l == 1 || (l == 2 && (e & PTE_PS))) {
			*level = l;
			return e;
		}
		t = w->pool[w->active] + (((e & PTE_ADDR) - pool_pa(w->active, 0)) >> 3);
	}
	return 0;
}

static void shadow_tables(void **state)
{
	struct worker *w = *state;
	struct kvm_sregs s = {.cr3 = PML4, .cr0 = CR0_PG | CR0_WP, .efer = EFER_NXE};
	unsigned level;
	uint64_t e, pa, eff;

	build_tables();
	assert_int_equal(shadow_sync(w, &s), 0);
	assert_int_equal(w->nframes, 7); /* PML4, PDPT, PD, PT and the alias chain's three */
	assert_true(is_frame(w, PML4) && is_frame(w, PT) && !is_frame(w, DATA));
	/* a page-table frame: present, read-only; a plain 4 KiB page: writable; each entry
	 * holds the guest-physical address (Unicorn's memory map is guest-physical) */
	e = shadow_entry(w, PT, &level);
	assert_true((e & PTE_P) && !(e & PTE_W) && level == 1);
	assert_int_equal(e & PTE_ADDR, PT);
	e = shadow_entry(w, RAM0 + 0x9000, &level);
	assert_true((e & PTE_P) && (e & PTE_W) && level == 1);
	/* identity 2 MiB pages stay 2 MiB; the read-only one stays read-only */
	e = shadow_entry(w, 0x600000, &level);
	assert_true((e & PTE_P) && (e & PTE_W) && level == 2);
	e = shadow_entry(w, 0x800000, &level);
	assert_true((e & PTE_P) && !(e & PTE_W) && level == 2);
	/* the alias is present at its virtual address; beyond RAM and the recursive slot are not */
	e = shadow_entry(w, ALIAS, &level);
	assert_true((e & PTE_P) && (e & PTE_W));
	assert_false(shadow_entry(w, 0xa00000, &level) & PTE_P);
	assert_false(shadow_entry(w, 0xfffffffffffff000ull, &level) & PTE_P);
	assert_int_equal(gwalk(w, ALIAS + 8, &pa, &eff), 0);
	assert_int_equal(pa, DATA + 8);
	assert_int_equal(eff & (PTE_W | PTE_NX), PTE_W);
	/* the shared walker (common/pagewalk.c): a non-canonical alias is no address at all */
	assert_int_equal(gwalk(w, 0x8000000000000000ull | (ALIAS + 8), &pa, &eff), -2);
	assert_int_equal(gwalk(w, 0x8000ull << 32, &pa, &eff), -2);
	assert_int_equal(gwalk(w, 0x800000, &pa, &eff), 0); /* the read-only 2 MiB page */
	assert_int_equal(eff & PTE_W, 0);
	/* accessed/dirty bits do not count as a change; a new mapping does */
	*ram_u64(PT) |= PTE_A | PTE_D;
	assert_false(frames_changed(w));
	ram_u64(RAM0 + 0x7000)[1] = (DATA + PAGE) | PTE_P | PTE_W;
	assert_true(frames_changed(w));
	assert_int_equal(shadow_sync(w, &s), 0);
	e = shadow_entry(w, ALIAS + PAGE, &level);
	assert_true(e & PTE_P);
	assert_int_equal(e & PTE_ADDR, DATA + PAGE);
	assert_true(shadow_pa(w, ALIAS + PAGE + 12, &pa));
	assert_int_equal(pa, DATA + PAGE + 12);
}

/* A burst through the shadow: reads through the alias, writes a page-table frame. */
static void shadow_burst(void **state)
{
	/* mov rax, [rbx]; add rax, 1; mov [rcx], rax (rcx: a page-table frame) */
	static const uint8_t code[] = {0x48, 0x8b, 0x03, 0x48, 0x83, 0xc0, 0x01, 0x48, 0x89, 0x01};
	struct worker *w = *state;

	build_tables();
	memcpy(ram_host(&test_ram, RAM0 + 0x9000), code, sizeof code);
	*ram_u64(DATA) = 41;
	w->valid = false;
	w->in = (struct assist_req){.magic = ASSIST_PROTO_MAGIC, .max_insns = 1000};
	w->in.regs = (struct kvm_regs){.rip = RAM0 + 0x9000, .rbx = ALIAS, .rcx = PT, .rflags = 2};
	w->in.sregs = (struct kvm_sregs){
	    .cr3 = PML4, .cr0 = CR0_PG | CR0_WP, .cr4 = CR4_PAE, .efer = EFER_LMA | EFER_NXE};
	w->in.sregs.cs.l = 1;
	fx(&w->in.xsave)->fcw = 0x37f;
	fx(&w->in.xsave)->mxcsr = 0x1f80;
	burst(w);
	/* stops before the page-table write, with RAX = 42 and RIP on the store */
	assert_int_equal(w->out.stop, ASSIST_STOP_PAGE);
	assert_int_equal(w->out.insn.ea, PT);
	assert_int_equal(w->out.regs.rax, 42);
	assert_int_equal(w->out.regs.rip, RAM0 + 0x9000 + 7);
	assert_int_equal(*ram_u64(PT), RAM0 | PTE_P | PTE_W); /* untouched */
}

/* A request at RAM0 + 0x9000 with the given code, as KVM would send it after a rejection. */
static void burst_code(struct worker *w, const uint8_t *code, size_t len, uint64_t cr0,
		       uint32_t flags)
{
	build_tables();
	memcpy(ram_host(&test_ram, RAM0 + 0x9000), code, len);
	w->valid = false;
	w->in = (struct assist_req){.magic = ASSIST_PROTO_MAGIC, .flags = flags, .max_insns = 1000};
	w->in.regs = (struct kvm_regs){.rip = RAM0 + 0x9000, .rsp = RAM0 + 0x20000, .rflags = 2};
	w->in.sregs = (struct kvm_sregs){
	    .cr3 = PML4, .cr0 = cr0, .cr4 = CR4_PAE, .efer = EFER_LMA | EFER_NXE};
	w->in.sregs.cs.l = 1;
	fx(&w->in.xsave)->fcw = 0x37f;
	fx(&w->in.xsave)->mxcsr = 0x1f80;
	burst(w);
}

/* Where bursts stop, and what they complete themselves. */
static void burst_stops(void **state)
{
	/* inc rax; popcnt rbx, rcx; cpuid */
	static const uint8_t cpuid[] = {0x48, 0xff, 0xc0, 0xf3, 0x48, 0x0f, 0xb8, 0xd9, 0x0f, 0xa2};
	/* inc rax; xgetbv */
	static const uint8_t xgetbv[] = {0x48, 0xff, 0xc0, 0x0f, 0x01, 0xd0};
	/* fld1 */
	static const uint8_t fld1[] = {0xd9, 0xe8};
	/* lock inc qword [rsp] */
	static const uint8_t lock[] = {0xf0, 0x48, 0xff, 0x04, 0x24};
	struct worker *w = *state;

	w->in.regs.rcx = 0;
	burst_code(w, cpuid, sizeof cpuid, CR0_PG | CR0_WP, ASSIST_F_FIRST_FAILED);
	assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
	assert_int_equal(w->out.insn.cls, ASSIST_C_CPUID);
	assert_int_equal(w->out.regs.rip, RAM0 + 0x9000 + 8);
	assert_int_equal(w->out.regs.rax, 1);
	assert_int_equal(w->out.counts.completed, 1); /* the POPCNT, in C */
	assert_int_equal(w->out.regs.rflags & RF_ZF, RF_ZF); /* popcnt(0) */

	burst_code(w, xgetbv, sizeof xgetbv, CR0_PG | CR0_WP, 0);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_XGETBV);
	assert_int_equal(w->out.insn.len, 3);
	assert_int_equal(w->out.regs.rip, RAM0 + 0x9000 + 3);

	burst_code(w, fld1, sizeof fld1, CR0_PG | CR0_WP | CR0_TS, ASSIST_F_FIRST_FAILED);
	assert_int_equal(w->out.stop, ASSIST_STOP_NM);
	assert_int_equal(w->out.regs.rip, RAM0 + 0x9000);

	/* KVM rejected an instruction only KVM may run: nobody can */
	burst_code(w, lock, sizeof lock, CR0_PG | CR0_WP, ASSIST_F_FIRST_FAILED);
	assert_int_equal(w->out.stop, ASSIST_STOP_UNSUPPORTED);
	assert_int_equal(w->out.insn.cls, ASSIST_C_LOCK);
	/* after progress it is simply KVM's turn */
	burst_code(w, lock, sizeof lock, CR0_PG | CR0_WP, 0);
	assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
}

int main(void)
{
	const struct CMUnitTest state_tests[] = {
	    cmocka_unit_test_setup_teardown(roundtrip_is_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(x87_stack_and_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(x87_push_marks_tag, setup, teardown),
	    cmocka_unit_test_setup_teardown(xmm_arithmetic, setup, teardown),
	    cmocka_unit_test_setup_teardown(mxcsr_rounding, setup, teardown),
	    cmocka_unit_test_setup_teardown(flags, setup, teardown),
	    cmocka_unit_test(ftw_conversions),
	    cmocka_unit_test(stop_list),
	    cmocka_unit_test(bitcounts),
	    cmocka_unit_test(bitcount_probe),
	    cmocka_unit_test_setup_teardown(shadow_tables, shadow_setup, shadow_teardown),
	    cmocka_unit_test_setup_teardown(shadow_burst, shadow_setup, shadow_teardown),
	    cmocka_unit_test_setup_teardown(burst_stops, shadow_setup, shadow_teardown),
	};

	return cmocka_run_group_tests(state_tests, NULL, NULL);
}
