/* SPDX-License-Identifier: MIT */
/* smc (v1): self-modifying code as x86 defines it, for JIT mode (docs/assist.md), where the
 * guest's code runs in Unicorn and a store to a page of translated code must drop that
 * translation (assist/assist_ucfix.c keeps Unicorn's invalidation for such pages only).
 * Three cases, each counted:
 *   ahead  a function whose first instruction stores into the immediate of its second
 *          (`mov byte [rip+1], N; mov eax, 1; ret`): it must return N, the new byte, even
 *          though both instructions are in one translated block; every other call copies
 *          it to a new place first (code run for the first time), and N changes from
 *          outside before each call (a store into a block before it runs again);
 *   fresh  a page written as data first (its stores were fast), then given code, run,
 *          patched and run again: the patch must be seen;
 *   data   stores to the rest of a code page, in a hot loop, while its code keeps running.
 * Prints "smc ahead 200 fresh 8 data 20000\n" (the number of correct results) and exits 0;
 * a wrong result prints "smc: CASE ..." and exits 1. */
#include "rt.h"

#define PAGE  4096u
#define AHEAD 200u
#define FRESH 8u
#define DATA  20000u

static uint8_t text[(FRESH + 1) * PAGE] __attribute__((aligned(PAGE)));

/* mov byte [rip+1], imm8; mov eax, imm32; ret */
static const uint8_t ahead_code[] = {0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00,
				     0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3};
#define AHEAD_IMM8 6u /* the byte the first instruction stores */

/* mov eax, imm32; ret */
static const uint8_t ret_code[] = {0xb8, 0x00, 0x00, 0x00, 0x00, 0xc3};

typedef unsigned (*fn_t)(void);

static void put(volatile uint8_t *dst, const uint8_t *src, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		dst[i] = src[i];
	}
}

static fn_t fn_at(volatile uint8_t *p)
{
	__asm__ volatile("" : : : "memory");
	return (fn_t)(uintptr_t)p;
}

static unsigned run_ahead(volatile uint8_t *p)
{
	unsigned ok = 0;

	for (unsigned n = 0; n < AHEAD; n++) {
		uint8_t want = (uint8_t)(n * 7u + 3u);
		volatile uint8_t *f = p + (n % 2 == 0 ? (n / 2) * 16u % (PAGE - 16u) : 0);
		unsigned got;
		if (n % 2 == 0) {
			put(f, ahead_code,
			    sizeof ahead_code); /* new code, run for the first time */
		}
		f[AHEAD_IMM8] = want; /* from outside: the block must be translated again */
		got = fn_at(f)();
		if (got != want) {
			rt_printf("smc: ahead call %u returned %u, want %u\n", n, got, want);
			return ok;
		}
		ok++;
	}
	return ok;
}

static unsigned run_fresh(volatile uint8_t *p, unsigned k)
{
	unsigned got;

	for (unsigned i = 0; i < PAGE; i++) {
		p[i] = (uint8_t)(i + k); /* data first: these stores may bypass the code checks */
	}
	put(p + 64, ret_code, sizeof ret_code);
	p[65] = (uint8_t)(0x40u + k);
	if ((got = fn_at(p + 64)()) != 0x40u + k) {
		rt_printf("smc: fresh page %u returned %#x before the patch\n", k, got);
		return 0;
	}
	p[65] = (uint8_t)(0x80u + k); /* now a code page: this store must be seen */
	if ((got = fn_at(p + 64)()) != 0x80u + k) {
		rt_printf("smc: fresh page %u returned %#x after the patch, want %#x\n", k, got,
			  0x80u + k);
		return 0;
	}
	return 1;
}

static unsigned run_data(volatile uint8_t *p)
{
	unsigned ok = 0;

	put(p + 1024, ret_code, sizeof ret_code);
	p[1025] = 0x5a;
	for (unsigned n = 0; n < DATA; n++) {
		p[2048 + (n % 1024)] = (uint8_t)n; /* not the code's bytes */
		if (fn_at(p + 1024)() != 0x5a) {
			rt_printf("smc: data round %u: the code changed\n", n);
			return ok;
		}
		ok++;
	}
	return ok;
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	unsigned ahead, fresh = 0, data;

	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	ahead = run_ahead(text);
	for (unsigned k = 1; k <= FRESH; k++) {
		fresh += run_fresh(text + k * PAGE, k);
	}
	data = run_data(text);
	rt_printf("smc ahead %u fresh %u data %u\n", ahead, fresh, data);
	return ahead == AHEAD && fresh == FRESH && data == DATA ? 0 : 1;
}
