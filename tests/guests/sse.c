/* SPDX-License-Identifier: MIT */
/* sse (v1) and sse-v2: a guest that uses what KVM's instruction emulator rejects on kvm_pvm
 * hosts (hermit-abi.md g): SSE arithmetic, x87, MMX, XGETBV, XSAVE/XSAVEOPT/XSAVEC/XRSTOR,
 * RDTSCP, POPCNT/TZCNT, #NM through CR0.TS, faults raised by SSE instructions, #GP of XSAVE and
 * XRSTOR at a non-canonical address, pages mapped at a virtual address other than their
 * physical one, and two vCPUs doing locked increments on shared counters while assisted work
 * runs.  Every check compares with a known result and
 * prints one line; vCPU 0 prints everything:
 *
 *   sse: <n> vCPUs
 *   PASS <check>             (or FAIL <check>: <details>)
 *   ...
 *   sse: <passed> passed, <failed> failed
 *
 * Exit code 0 when every check passed, 1 otherwise.  On a host with hardware virtualization
 * the same output is expected (the assist is never engaged there).
 *
 * Only the functions between the "SSE" pragmas are compiled with SSE (the runtime and the
 * setup code stay general-purpose-register code: SSE instructions fault until CR4.OSFXSR is
 * set); x87 and MMX are used through inline assembly.  Floating-point expectations are bit
 * patterns of the same functions run natively on the host:
 *
 *   gcc -O2 -DSSE_HOST_REFERENCE tests/guests/sse.c -o /tmp/sse-ref && /tmp/sse-ref
 */
#ifdef SSE_HOST_REFERENCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#else
#include "rt.h"
#endif

#define GRID	   16
#define LAPLACE_IT 100
#define SUM_N	   200000

/* ======================= SSE code (also built natively for the reference) ============= */
#pragma GCC push_options
#pragma GCC target("sse2,sse3,ssse3,sse4.1,sse4.2,fxsr")

typedef float v4sf __attribute__((vector_size(16)));
typedef int v4si __attribute__((vector_size(16)));
typedef unsigned char v16u8 __attribute__((vector_size(16)));

static uint64_t dbits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof b);
	return b;
}

/* A scalar loop: SUM_N divisions and additions, rounded in this order. */
__attribute__((noinline)) static uint64_t sum_inverse_squares(int n)
{
	double s = 0.0;

	for (int k = 1; k <= n; k++) {
		s += 1.0 / ((double)k * (double)k);
	}
	return dbits(s);
}

/* Jacobi iterations of a 2-D Laplace problem (rusty_demo's last section, in miniature). */
__attribute__((noinline)) static uint64_t laplace(void)
{
	static double a[GRID][GRID], b[GRID][GRID];
	double sum = 0.0;

	for (int i = 0; i < GRID; i++) {
		for (int j = 0; j < GRID; j++) {
			a[i][j] = (i == 0) ? 1.0 : 0.0;
			b[i][j] = a[i][j];
		}
	}
	for (int it = 0; it < LAPLACE_IT; it++) {
		for (int i = 1; i < GRID - 1; i++) {
			for (int j = 1; j < GRID - 1; j++) {
				b[i][j] =
				    0.25 * (a[i - 1][j] + a[i + 1][j] + a[i][j - 1] + a[i][j + 1]);
			}
		}
		for (int i = 1; i < GRID - 1; i++) {
			for (int j = 1; j < GRID - 1; j++) {
				a[i][j] = b[i][j];
			}
		}
	}
	for (int i = 0; i < GRID; i++) {
		for (int j = 0; j < GRID; j++) {
			sum += a[i][j] * (double)(i + 2 * j + 1);
		}
	}
	return dbits(sum);
}

__attribute__((noinline)) static uint64_t sqrt2(void)
{
	volatile double two = 2.0;
	double r;

	__asm__("sqrtsd %1, %0" : "=x"(r) : "x"(two));
	return dbits(r);
}

/* x87 in extended precision, stored as double. */
__attribute__((noinline)) static uint64_t x87_poly(void)
{
	volatile double x = 1.1, out;

	__asm__ volatile("fninit\n\t"
			 "fldl %1\n\t" /* x */
			 "fld %%st(0)\n\t" /* x x */
			 "fmul %%st(1), %%st\n\t" /* x*x x */
			 "faddp\n\t" /* x*x+x */
			 "fsqrt\n\t"
			 "fldpi\n\t"
			 "fmulp\n\t"
			 "fstpl %0"
			 : "=m"(out)
			 : "m"(x));
	return dbits(out);
}

/* cvtsd2si of v under each MXCSR rounding mode, packed one byte per mode (two's complement).
 * v travels as its bit pattern: callers outside this section cannot pass doubles. */
__attribute__((noinline)) static uint32_t rounding(uint64_t vbits)
{
	uint32_t old, packed = 0;
	double v;

	memcpy(&v, &vbits, sizeof v);
	__asm__ volatile("stmxcsr %0" : "=m"(old));
	for (uint32_t rc = 0; rc < 4; rc++) {
		uint32_t m = (old & ~0x6000u) | (rc << 13);
		long r;
		__asm__ volatile("ldmxcsr %1\n\tcvtsd2si %2, %0" : "=r"(r) : "m"(m), "x"(v));
		packed |= ((uint32_t)r & 0xff) << (8 * rc);
	}
	__asm__ volatile("ldmxcsr %0" : : "m"(old));
	return packed;
}

/* ucomisd flags (ZF PF CF) for a < b, a == b, a > b and unordered, one nibble each. */
__attribute__((noinline)) static uint32_t compare_flags(void)
{
	volatile double v[4][2] = {{1.0, 2.0}, {3.0, 3.0}, {5.0, -1.0}, {0.0, 0.0}};
	uint32_t out = 0;

	v[3][0] = v[3][0] / v[3][1]; /* NaN: unordered */
	for (int i = 0; i < 4; i++) {
		uint64_t fl;
		__asm__ volatile("ucomisd %2, %1\n\tpushfq\n\tpopq %0"
				 : "=r"(fl)
				 : "x"(v[i][0]), "x"(v[i][1])
				 : "cc");
		out |= (uint32_t)(((fl >> 6) & 1) << 2 | ((fl >> 2) & 1) << 1 | (fl & 1))
		       << (4 * i);
	}
	return out;
}

/* Packed integer and float arithmetic against the same computed one element at a time. */
__attribute__((noinline)) static int vectors(void)
{
	volatile v4si a = {3, -7, 100000, 12345}, b = {11, 13, -40000, 54321};
	volatile v4sf f = {1.5f, -2.0f, 1024.0f, 0.25f}, g = {2.0f, 4.0f, -3.0f, 8.0f};
	volatile v16u8 bytes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	v16u8 rev = {15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, shuf;
	v4si c = a * b + a; /* pmulld, paddd */
	v4sf h = (f + g) * g; /* addps, mulps */
	int bad = 0;

	__asm__("pshufb %1, %0" : "=x"(shuf) : "x"(rev), "0"(bytes));
	for (int i = 0; i < 4; i++) {
		int32_t ai = a[i], bi = b[i];
		bad |= c[i] != (int32_t)((uint32_t)ai * (uint32_t)bi + (uint32_t)ai);
		bad |= h[i] != (f[i] + g[i]) * g[i];
	}
	for (int i = 0; i < 16; i++) {
		bad |= shuf[i] != 15 - i;
	}
	return bad;
}

#pragma GCC pop_options

#ifdef SSE_HOST_REFERENCE
int main(void)
{
	printf("#define REF_SUM	  0x%016llxull\n", (unsigned long long)sum_inverse_squares(SUM_N));
	printf("#define REF_LAPLACE 0x%016llxull\n", (unsigned long long)laplace());
	printf("#define REF_SQRT2   0x%016llxull\n", (unsigned long long)sqrt2());
	printf("#define REF_X87	  0x%016llxull\n", (unsigned long long)x87_poly());
	printf("#define REF_ROUND_P 0x%08xu\n", rounding(0x4004000000000000ull));
	printf("#define REF_ROUND_N 0x%08xu\n", rounding(0xc004000000000000ull));
	printf("#define REF_UCOMI   0x%08xu\n", compare_flags());
	printf("vectors bad = %d\n", vectors());
	return 0;
}
#else

/* ======================= guest: setup (general-purpose registers only) ================ */

#define CR0_MP	       (1ull << 1)
#define CR0_EM	       (1ull << 2)
#define CR0_TS	       (1ull << 3)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE    (1ull << 18)
#define PTE_P	       1ull
#define PTE_W	       2ull
#define PTE_PS	       0x80ull
#define PTE_ADDR       0x000ffffffffff000ull
#define MSR_TSC_AUX    0xc0000103u
#define SMP_ITER       2000
#define ALIAS_OUTSIDE  0x500000000000ull /* PML4 slot 160: nothing is mapped there */
#define UNMAPPED_VA    0x700000000000ull

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, err, rip, cs, rflags, rsp, ss;
};

struct gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsv;
} __attribute__((packed));

static struct gate idt[20] __attribute__((aligned(16)));
static uint64_t g_xcr0;
static int g_xsaveopt, g_xsavec, g_rdtscp;
static int passed, failed;
static volatile uint64_t nm_hits;
static volatile struct {
	uint64_t vector, skip, hits, cr2, err;
} expect = {.vector = ~0ull};

void sse_trap(struct trap_frame *f);
extern const char sse_isr0[], sse_isr1[], sse_isr2[], sse_isr3[], sse_isr4[], sse_isr5[],
    sse_isr6[], sse_isr7[], sse_isr8[], sse_isr9[], sse_isr10[], sse_isr11[], sse_isr12[],
    sse_isr13[], sse_isr14[], sse_isr15[], sse_isr16[], sse_isr17[], sse_isr18[], sse_isr19[];

/* One stub per vector: push a dummy error code where the CPU pushes none, the vector, all
 * general-purpose registers (176 bytes: RSP stays 16-byte aligned for the call), then
 * sse_trap(frame); iretq after dropping vector and error code. */
__asm__(".text\n"
	".macro SSE_ISR v, err\n"
	"sse_isr\\v:\n"
	".if \\err == 0\n"
	"pushq $0\n"
	".endif\n"
	"pushq $\\v\n"
	"jmp sse_isr_common\n"
	".endm\n"
	"SSE_ISR 0,0\nSSE_ISR 1,0\nSSE_ISR 2,0\nSSE_ISR 3,0\nSSE_ISR 4,0\nSSE_ISR 5,0\n"
	"SSE_ISR 6,0\nSSE_ISR 7,0\nSSE_ISR 8,1\nSSE_ISR 9,0\nSSE_ISR 10,1\nSSE_ISR 11,1\n"
	"SSE_ISR 12,1\nSSE_ISR 13,1\nSSE_ISR 14,1\nSSE_ISR 15,0\nSSE_ISR 16,0\nSSE_ISR 17,1\n"
	"SSE_ISR 18,0\nSSE_ISR 19,0\n"
	"sse_isr_common:\n"
	"pushq %rax\npushq %rbx\npushq %rcx\npushq %rdx\npushq %rsi\npushq %rdi\npushq %rbp\n"
	"pushq %r8\npushq %r9\npushq %r10\npushq %r11\npushq %r12\npushq %r13\npushq %r14\n"
	"pushq %r15\n"
	"movq %rsp, %rdi\n"
	"cld\n"
	"call sse_trap\n"
	"popq %r15\npopq %r14\npopq %r13\npopq %r12\npopq %r11\npopq %r10\npopq %r9\n"
	"popq %r8\npopq %rbp\npopq %rdi\npopq %rsi\npopq %rdx\npopq %rcx\npopq %rbx\n"
	"popq %rax\n"
	"addq $16, %rsp\n"
	"iretq\n");

/* #NM: the lazy-FPU protocol (clear CR0.TS, retry).  An expected fault: note it and skip
 * the faulting instruction.  Anything else ends the run. */
void sse_trap(struct trap_frame *f)
{
	if (f->vector == 7) {
		__asm__ volatile("clts");
		__atomic_fetch_add(&nm_hits, 1, __ATOMIC_SEQ_CST);
		return;
	}
	if (f->vector == expect.vector) {
		uint64_t cr2;
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		expect.hits++;
		expect.cr2 = cr2;
		expect.err = f->err;
		f->rip += expect.skip;
		return;
	}
	rt_printf("FAIL unexpected exception %lu at rip 0x%lx, error code 0x%lx\n",
		  (unsigned long)f->vector, (unsigned long)f->rip, (unsigned long)f->err);
	rt_exit(1);
}

static void set_gate(unsigned v, const char *handler, uint16_t cs)
{
	uint64_t a = (uint64_t)(uintptr_t)handler;

	idt[v] = (struct gate){.off0 = (uint16_t)a,
			       .sel = cs,
			       .type = 0x8e, /* present, DPL 0, 64-bit interrupt gate */
			       .off1 = (uint16_t)(a >> 16),
			       .off2 = (uint32_t)(a >> 32)};
}

static void load_idt(void)
{
	static const char *const isr[20] = {sse_isr0,  sse_isr1,  sse_isr2,  sse_isr3,	sse_isr4,
					    sse_isr5,  sse_isr6,  sse_isr7,  sse_isr8,	sse_isr9,
					    sse_isr10, sse_isr11, sse_isr12, sse_isr13, sse_isr14,
					    sse_isr15, sse_isr16, sse_isr17, sse_isr18, sse_isr19};
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (unsigned v = 0; v < 20; v++) {
		set_gate(v, isr[v], cs);
	}
	__asm__ volatile("lidt %0" : : "m"(d));
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static void write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t xgetbv(uint32_t idx)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
	return ((uint64_t)hi << 32) | lo;
}

/* CR0.MP, no EM/TS; CR4.OSFXSR, OSXMMEXCPT, OSXSAVE; XCR0 = x87 | SSE (| AVX). */
static int enable_sse(unsigned cpu)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[3] & (1u << 25)) || !(r[3] & (1u << 26)) || !(r[2] & (1u << 26))) {
		return -1;
	}
	write_cr0((rt_read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP);
	write_cr4(rt_read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE);
	cpuid(0xd, 0, r);
	g_xcr0 = 3 | (r[0] & 4);
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)g_xcr0), "d"(0));
	cpuid(0xd, 1, r);
	g_xsaveopt = r[0] & 1;
	g_xsavec = (r[0] >> 1) & 1;
	cpuid(0x80000001, 0, r);
	g_rdtscp = (r[3] >> 27) & 1;
	if (g_rdtscp) {
		wrmsr(MSR_TSC_AUX, 0x100 + cpu);
	}
	load_idt();
	return 0;
}

static void check(int ok, const char *name)
{
	if (ok) {
		passed++;
		rt_printf("PASS %s\n", name);
	} else {
		failed++;
		rt_printf("FAIL %s\n", name);
	}
}

/* ======================= guest: checks that need SSE registers ======================== */
#pragma GCC push_options
#pragma GCC target("sse2,sse3,ssse3,sse4.1,sse4.2,fxsr,xsave,xsaveopt,xsavec")

#define XMM_CLOBBERS                                                                               \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",   \
	    "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

/* The state a context switch saves: 16 XMM registers, MXCSR, two x87 values. */
struct fpstate {
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	uint16_t fsw;
	double st0, st1;
};

static void fp_load(const struct fpstate *s)
{
	__asm__ volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t"
			 "movdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
			 "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"
			 "movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\t"
			 "movdqu 128(%0), %%xmm8\n\tmovdqu 144(%0), %%xmm9\n\t"
			 "movdqu 160(%0), %%xmm10\n\tmovdqu 176(%0), %%xmm11\n\t"
			 "movdqu 192(%0), %%xmm12\n\tmovdqu 208(%0), %%xmm13\n\t"
			 "movdqu 224(%0), %%xmm14\n\tmovdqu 240(%0), %%xmm15\n\t"
			 "ldmxcsr %1\n\t"
			 "fninit\n\t"
			 "fldl %3\n\t"
			 "fldl %2"
			 :
			 : "r"(s->xmm), "m"(s->mxcsr), "m"(s->st0), "m"(s->st1)
			 : XMM_CLOBBERS, "memory");
}

/* Reads the live state back (and pops the two x87 values). */
static void fp_dump(struct fpstate *s)
{
	__asm__ volatile("movdqu %%xmm0, 0(%4)\n\tmovdqu %%xmm1, 16(%4)\n\t"
			 "movdqu %%xmm2, 32(%4)\n\tmovdqu %%xmm3, 48(%4)\n\t"
			 "movdqu %%xmm4, 64(%4)\n\tmovdqu %%xmm5, 80(%4)\n\t"
			 "movdqu %%xmm6, 96(%4)\n\tmovdqu %%xmm7, 112(%4)\n\t"
			 "movdqu %%xmm8, 128(%4)\n\tmovdqu %%xmm9, 144(%4)\n\t"
			 "movdqu %%xmm10, 160(%4)\n\tmovdqu %%xmm11, 176(%4)\n\t"
			 "movdqu %%xmm12, 192(%4)\n\tmovdqu %%xmm13, 208(%4)\n\t"
			 "movdqu %%xmm14, 224(%4)\n\tmovdqu %%xmm15, 240(%4)\n\t"
			 "stmxcsr %0\n\t"
			 "fnstsw %1\n\t"
			 "fstpl %2\n\t"
			 "fstpl %3"
			 : "=m"(s->mxcsr), "=m"(s->fsw), "=m"(s->st0), "=m"(s->st1)
			 : "r"(s->xmm)
			 : "memory");
}

static void pattern(struct fpstate *s, uint8_t seed, uint32_t mxcsr, double a, double b)
{
	for (int i = 0; i < 16; i++) {
		for (int j = 0; j < 16; j++) {
			s->xmm[i][j] = (uint8_t)(seed + 16 * i + j);
		}
	}
	s->mxcsr = mxcsr;
	s->fsw = 0x3000; /* TOP = 6 after two loads */
	s->st0 = a;
	s->st1 = b;
}

static int same_state(const struct fpstate *a, const struct fpstate *b)
{
	return memcmp(a->xmm, b->xmm, sizeof a->xmm) == 0 && a->mxcsr == b->mxcsr &&
	       (a->fsw & 0x3800) == (b->fsw & 0x3800) && dbits(a->st0) == dbits(b->st0) &&
	       dbits(a->st1) == dbits(b->st1);
}

static uint8_t area1[4096] __attribute__((aligned(64)));
static uint8_t area2[4096] __attribute__((aligned(64)));
static uint8_t area3[4096] __attribute__((aligned(64)));

static void xsave_all(uint8_t *area)
{
	__asm__ volatile("xsave (%0)" : : "r"(area), "a"(~0u), "d"(~0u) : "memory");
}

static void xsaveopt_all(uint8_t *area)
{
	__asm__ volatile("xsaveopt (%0)" : : "r"(area), "a"(~0u), "d"(~0u) : "memory");
}

static void xsavec_all(uint8_t *area)
{
	__asm__ volatile("xsavec (%0)" : : "r"(area), "a"(~0u), "d"(~0u) : "memory");
}

static void xrstor_all(const uint8_t *area)
{
	__asm__ volatile("xrstor (%0)" : : "r"(area), "a"(~0u), "d"(~0u) : XMM_CLOBBERS, "memory");
}

static uint64_t header(const uint8_t *area, unsigned word)
{
	uint64_t v;

	memcpy(&v, area + 512 + 8 * word, sizeof v);
	return v;
}

/* Two "tasks" with different FPU state, switched with XSAVE/XRSTOR as Hermit does. */
static void check_context_switch(void)
{
	static struct fpstate a, b, got;
	int ok;

	pattern(&a, 0x11, 0x3f80 /* round down */, 1.5, -2.25);
	pattern(&b, 0x80, 0x1f80, 3.0, 7.0);
	fp_load(&a);
	xsave_all(area1);
	fp_load(&b);
	if (g_xsaveopt) {
		xsaveopt_all(area2);
	} else {
		xsave_all(area2);
	}
	xrstor_all(area1);
	fp_dump(&got);
	ok = same_state(&got, &a) && (header(area1, 0) & 3) == 3;
	xrstor_all(area2);
	fp_dump(&got);
	ok = ok && same_state(&got, &b);
	check(ok, "xsave/xsaveopt/xrstor context switch");
	if (g_xsavec) {
		fp_load(&a);
		xsavec_all(area3);
		fp_load(&b);
		xrstor_all(area3);
		fp_dump(&got);
		check(same_state(&got, &a) && (header(area3, 1) >> 63) == 1,
		      "xsavec/xrstor (compacted)");
	} else {
		check(1, "xsavec/xrstor (compacted)");
	}
	/* XSTATE_BV without SSE: XRSTOR puts the XMM registers in their initial state */
	memcpy(area3, area1, sizeof area3);
	uint64_t bv = header(area3, 0) & ~2ull;
	memcpy(area3 + 512, &bv, sizeof bv);
	fp_load(&b);
	xrstor_all(area3);
	fp_dump(&got);
	static const uint8_t zero[256];
	check(memcmp(got.xmm, zero, sizeof zero) == 0 && got.mxcsr == a.mxcsr &&
		  dbits(got.st0) == dbits(a.st0),
	      "xrstor of an initial SSE state");
}

/* CR0.TS set (a lazy FPU switch): the next x87/SSE instruction raises #NM, the handler clears
 * TS and the instruction runs.  KVM's emulator raises that #NM itself for the SSE opcodes it
 * knows (and even for POPCNT); FLD1 it rejects, so that #NM comes from the assist. */
static void check_nm(void)
{
	uint64_t before = nm_hits;
	double one = 0.0;

	write_cr0(rt_read_cr0() | CR0_TS);
	__asm__ volatile("fld1\n\tfstpl %0" : "=m"(one));
	check(nm_hits == before + 1 && dbits(one) == 0x3ff0000000000000ull &&
		  !(rt_read_cr0() & CR0_TS),
	      "#NM when CR0.TS is set");
}

/* An SSE instruction KVM cannot emulate, reading an unmapped page: the guest gets the #PF. */
static void check_pf(void)
{
	uint64_t va = UNMAPPED_VA;

	expect.vector = 14;
	expect.skip = 4; /* addpd (%rax), %xmm0 = 66 0f 58 00 */
	expect.hits = 0;
	__asm__ volatile(".byte 0x66, 0x0f, 0x58, 0x00" : : "a"(va) : "xmm0", "memory");
	expect.vector = ~0ull;
	check(expect.hits == 1 && expect.cr2 == va && expect.err == 0,
	      "#PF raised by an SSE memory operand");
}

/* XSAVE and XRSTOR at a non-canonical address (bit 63 set on a mapped, aligned area): #GP(0),
 * as on the processor, and the area it would alias stays untouched. */
static void check_noncanonical(void)
{
	static uint8_t before[sizeof area1];
	uint64_t alias = 0x8000000000000000ull | (uint64_t)(uintptr_t)area1;
	uint64_t e1, e2;

	memcpy(before, area1, sizeof before);
	expect.vector = 13;
	expect.skip = 3; /* xsave (%rdi) = 0f ae 27, xrstor (%rdi) = 0f ae 2f */
	expect.hits = 0;
	expect.err = ~0ull;
	__asm__ volatile(".byte 0x0f, 0xae, 0x27" : : "D"(alias), "a"(~0u), "d"(~0u) : "memory");
	e1 = expect.err;
	expect.err = ~0ull;
	__asm__ volatile(".byte 0x0f, 0xae, 0x2f"
			 :
			 : "D"(alias), "a"(~0u), "d"(~0u)
			 : XMM_CLOBBERS, "memory");
	e2 = expect.err;
	expect.vector = ~0ull;
	check(expect.hits == 2 && e1 == 0 && e2 == 0 && memcmp(before, area1, sizeof before) == 0,
	      "#GP from xsave/xrstor at a non-canonical address");
}

static double alias_src[512] __attribute__((aligned(4096)));
static uint64_t alias_tables[4][512] __attribute__((aligned(4096)));

static void alias_fill(void)
{
	for (int i = 0; i < 512; i++) {
		alias_src[i] = (double)i * 0.5 + 1.0 / (double)(i + 3);
	}
}

/* Sum through one address, write through another, read back through the first. */
static int alias_roundtrip(const double *via, volatile double *write_via)
{
	double s1 = 0.0, s2 = 0.0;

	for (int i = 0; i < 512; i++) {
		s1 += alias_src[i];
		s2 += via[i];
	}
	write_via[7] = s2;
	return dbits(s1) == dbits(s2) && dbits(alias_src[7]) == dbits(s2);
}

#pragma GCC pop_options

/* ======================= guest: the rest (general-purpose registers) ================== */

/* Bit patterns from the host (see the top of this file). */
#define REF_SUM	    0x3ffa51a1242681c5ull
#define REF_LAPLACE 0x4091f8c66cff9e23ull
#define REF_SQRT2   0x3ff6a09e667f3bcdull
#define REF_X87	    0x401319671fa94cd5ull
#define REF_ROUND_P 0x02030202u /* 2.5: nearest 2, down 2, up 3, toward zero 2 */
#define REF_ROUND_N 0xfefefdfeu /* -2.5: -2, -3, -2, -2 */
#define REF_UCOMI   0x00007041u /* ZF PF CF for <, ==, >, unordered */

static volatile uint64_t smp_counter, smp_xadd;
static volatile uint32_t smp_arrived, smp_done;
static uint64_t smp_result[RT_MAX_CPUS];

#pragma GCC push_options
#pragma GCC target("sse2")
/* Floating-point work between locked increments: every iteration leaves KVM for the assist
 * and comes back for the locked instruction. */
__attribute__((noinline)) static uint64_t smp_work(void)
{
	volatile double x = 1.0;

	for (int i = 0; i < SMP_ITER; i++) {
		x = x * 1.0000001 + 0.5;
		x = x / 1.5;
		__asm__ volatile("lock incq %0" : "+m"(smp_counter));
		__atomic_fetch_add(&smp_xadd, (uint64_t)i, __ATOMIC_SEQ_CST);
	}
	return dbits(x);
}
#pragma GCC pop_options

static void smp_phase(unsigned cpu, unsigned n)
{
	__atomic_fetch_add(&smp_arrived, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&smp_arrived, __ATOMIC_ACQUIRE) < n) {
		rt_pause();
	}
	smp_result[cpu] = smp_work();
	__atomic_fetch_add(&smp_done, 1, __ATOMIC_SEQ_CST);
}

static int smp_ok(unsigned n)
{
	int ok;

	while (__atomic_load_n(&smp_done, __ATOMIC_ACQUIRE) < n) {
		rt_pause();
	}
	ok = smp_counter == (uint64_t)n * SMP_ITER &&
	     smp_xadd == (uint64_t)n * (SMP_ITER * (SMP_ITER - 1ull) / 2);
	for (unsigned i = 1; i < n; i++) {
		ok = ok && smp_result[i] == smp_result[0];
	}
	return ok;
}

static uint64_t rdtscp(uint32_t *aux)
{
	uint32_t lo, hi, c;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(c));
	*aux = c;
	return ((uint64_t)hi << 32) | lo;
}

/* KVM's CPUID may not offer RDTSCP (then TSC_AUX is not writable) while the processor runs
 * it anyway (kvm_pvm): either way the TSC must advance and TSC_AUX read back unchanged. */
static void check_rdtscp(void)
{
	uint32_t a1 = 0, a2 = 1;
	uint64_t t1, t2;

	t1 = rdtscp(&a1);
	for (volatile int i = 0; i < 1000; i++) {
	}
	t2 = rdtscp(&a2);
	check(t2 > t1 && a1 == a2 && (!g_rdtscp || a1 == 0x100), "rdtscp");
}

static void check_bitcount(void)
{
	uint64_t r1, r2, r3, r4;
	uint8_t z1, z2;

	__asm__ volatile("popcnt %2, %0\n\tsetz %1"
			 : "=r"(r1), "=q"(z1)
			 : "r"(0xf0f000001234567full)
			 : "cc");
	__asm__ volatile("popcnt %2, %0\n\tsetz %1" : "=r"(r2), "=q"(z2) : "r"(0ull) : "cc");
	/* TZCNT only of non-zero values: where KVM runs it, it behaves as BSF (docs/assist.md) */
	__asm__ volatile("tzcnt %1, %0" : "=r"(r3) : "r"(0x100ull) : "cc");
	__asm__ volatile("tzcnt %1, %0" : "=r"(r4) : "r"(1ull << 40) : "cc");
	check(r1 == 24 && !z1 && r2 == 0 && z2, "popcnt");
	check(r3 == 8 && r4 == 40, "tzcnt");
}

static void check_x87_tags(void)
{
	struct {
		uint16_t fcw, r0, fsw, r1, ftw, r2;
		uint32_t fip, fdp_etc[3];
	} env;
	uint64_t a = 0x0001000200030004ull, b = 0x7fff00010001fffeull, sum;
	uint16_t ftw_after_emms;

	__asm__ volatile("fninit\n\tfld1\n\tfldpi\n\tfnstenv %0\n\tfninit" : "=m"(env));
	check(((env.fsw >> 11) & 7) == 6 && env.ftw == 0x0fff, "x87 stack and tags");
	__asm__ volatile("movq %1, %%mm0\n\t"
			 "movq %2, %%mm1\n\t"
			 "paddw %%mm1, %%mm0\n\t"
			 "movq %%mm0, %0\n\t"
			 "emms"
			 : "=m"(sum)
			 : "m"(a), "m"(b));
	__asm__ volatile("fnstenv %0\n\tfninit" : "=m"(env));
	ftw_after_emms = env.ftw;
	check(sum == 0x8000000300040002ull && ftw_after_emms == 0xffff, "mmx and emms");
}

/* Page tables of our own: ALIAS_OUTSIDE (nothing else there) and the first page of the last
 * 2 MiB of RAM (whose guest-physical address is a different page: like Hermit's stacks). */
static uint64_t *tbl(uint64_t e)
{
	return (uint64_t *)(uintptr_t)(e & PTE_ADDR);
}

static void reload_cr3(void)
{
	__asm__ volatile("mov %%cr3, %%rax\n\tmov %%rax, %%cr3" : : : "rax", "memory");
}

static void check_alias_outside(void)
{
	uint64_t *pml4 = tbl(rt_read_cr3()), slot = (ALIAS_OUTSIDE >> 39) & 511;

	alias_fill();
	if (pml4[slot] & PTE_P) {
		check(0, "alias outside RAM (slot in use)");
		return;
	}
	alias_tables[2][0] = rt_gpa(alias_src) | PTE_P | PTE_W;
	alias_tables[1][0] = rt_gpa(alias_tables[2]) | PTE_P | PTE_W;
	alias_tables[0][0] = rt_gpa(alias_tables[1]) | PTE_P | PTE_W;
	pml4[slot] = rt_gpa(alias_tables[0]) | PTE_P | PTE_W;
	reload_cr3();
	check(alias_roundtrip((const double *)(uintptr_t)ALIAS_OUTSIDE,
			      (volatile double *)(uintptr_t)ALIAS_OUTSIDE),
	      "page mapped outside RAM's guest-physical range");
	pml4[slot] = 0;
	reload_cr3();
}

/* The PDE of a present 2 MiB page at r, or NULL. */
static uint64_t *pde_2m(uint64_t r)
{
	uint64_t *pml4 = tbl(rt_read_cr3()), *pdpt, *pd;

	if (!(pml4[(r >> 39) & 511] & PTE_P)) {
		return NULL;
	}
	pdpt = tbl(pml4[(r >> 39) & 511]);
	if (!(pdpt[(r >> 30) & 511] & PTE_P) || (pdpt[(r >> 30) & 511] & PTE_PS)) {
		return NULL;
	}
	pd = tbl(pdpt[(r >> 30) & 511]);
	return (pd[(r >> 21) & 511] & PTE_P) && (pd[(r >> 21) & 511] & PTE_PS)
		   ? &pd[(r >> 21) & 511]
		   : NULL;
}

static void check_alias_inside(const struct uh_boot_info *bi)
{
	const uint64_t two_m = 2ull << 20;
	uint64_t r = (bi->kernel_image_end + 2 * two_m) & ~(two_m - 1), *pde = NULL, old;

	/* the first identity-mapped 2 MiB page of free RAM above the image (with ASLR, RAM may
	 * reach into a 1 GiB region the boot tables do not map) */
	for (; r + two_m <= bi->phys_addr_end && (pde = pde_2m(r)) == NULL; r += two_m) {
	}
	/* or, when ASLR put the image at the top of RAM, below it: above the first 4 MiB (boot
	 * tables, boot info, device tree) and a 2 MiB gap under the image */
	if (pde == NULL) {
		r = ((bi->phys_addr_start + 2 * two_m) + two_m - 1) & ~(two_m - 1);
		for (; r + 2 * two_m <= (bi->kernel_image_start & ~(two_m - 1)) &&
		       (pde = pde_2m(r)) == NULL;
		     r += two_m) {
		}
	}
	if (pde == NULL) {
		check(0, "page mapped inside RAM's guest-physical range (no free 2 MiB page)");
		return;
	}
	old = *pde;
	for (uint64_t j = 0; j < 512; j++) {
		alias_tables[3][j] = (r + j * 4096) | PTE_P | PTE_W;
	}
	alias_tables[3][0] = rt_gpa(alias_src) | PTE_P | PTE_W;
	*pde = rt_gpa(alias_tables[3]) | PTE_P | PTE_W;
	reload_cr3();
	check(alias_roundtrip((const double *)(uintptr_t)r, (volatile double *)(uintptr_t)r),
	      "page mapped inside RAM's guest-physical range");
	*pde = old;
	reload_cr3();
}

/* `sse spin`: one check that needs the assist, then "spinning" and a pause loop forever (for
 * tests that look at the running assist process). */
static RT_NORETURN void spin(void)
{
	check(sqrt2() == REF_SQRT2, "sqrtsd");
	rt_printf("spinning\n");
	for (;;) {
		rt_pause();
	}
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	unsigned n = (unsigned)bi->num_cpus;

	if (enable_sse(cpu) != 0) {
		if (cpu == 0) {
			rt_printf("FAIL this CPU offers no SSE2/XSAVE\n");
		}
		return 1;
	}
	if (cpu == 0 && rt_args_init() == 0 && rt_argc > 1 && rt_streq(rt_argv[1], "spin")) {
		spin();
	}
	smp_phase(cpu, n);
	if (cpu != 0) {
		return 0;
	}
	rt_printf("sse: %u vCPUs\n", n);
	check(xgetbv(0) == g_xcr0, "xgetbv");
	check(sum_inverse_squares(SUM_N) == REF_SUM, "scalar double loop");
	check(laplace() == REF_LAPLACE, "laplace iterations");
	check(sqrt2() == REF_SQRT2, "sqrtsd");
	check(x87_poly() == REF_X87, "x87 arithmetic");
	check_x87_tags();
	check(rounding(0x4004000000000000ull /* 2.5 */) == REF_ROUND_P &&
		  rounding(0xc004000000000000ull /* -2.5 */) == REF_ROUND_N,
	      "mxcsr rounding modes");
	check(compare_flags() == REF_UCOMI, "ucomisd flags");
	check(vectors() == 0, "packed integer and float vectors");
	check_bitcount();
	check_rdtscp();
	check_context_switch();
	check_nm();
	check_pf();
	check_noncanonical();
	check_alias_outside();
	check_alias_inside(bi);
	check(smp_ok(n), "locked counters and equal results on every vCPU");
	rt_printf("sse: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
#endif /* !SSE_HOST_REFERENCE */
