/* SPDX-License-Identifier: MIT */
/* test_gmem_iov.c - guest-virtual ranges as host iovecs (vmm/gmem.c gmem_gva_iov and the
 * range accessors) built one walk per physically contiguous run, and the walker's step to the
 * next entry of a table (common/pagewalk.c pw_step): page boundaries, non-contiguous pages,
 * overflowing and wrapping ranges, unmapped pages, and ranges that straddle the end of RAM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gmem.h"
#include "pagewalk.h"

#define RAM_START 0x100000ull
#define RAM_SIZE  (4ull << 20)
#define RAM_END	  (RAM_START + RAM_SIZE)
#define PML4	  RAM_START
#define PDPT	  (RAM_START + 0x1000)
#define PD	  (RAM_START + 0x2000)
#define PT0	  (RAM_START + 0x3000) /* VA 0x400000 .. 0x5fffff (PD[2]) */
#define PT1	  (RAM_START + 0x4000) /* VA 0x600000 .. 0x7fffff (PD[3]) */
#define DATA	  (RAM_START + 0x10000)
#define VA0	  0x400000ull

static void put(struct gmem *m, uint64_t pa, uint64_t e)
{
	assert_int_equal(gmem_copy_to(m, gpa(pa), &e, sizeof e), 0);
}

static int setup(void **state)
{
	struct gmem *m = calloc(1, sizeof *m);
	void *arena = calloc(1, RAM_SIZE);

	assert_non_null(m);
	assert_non_null(arena);
	gmem_init_arena(m, arena, RAM_START, RAM_SIZE);
	put(m, PML4, PDPT | 3);
	put(m, PDPT, PD | 3);
	put(m, PD + 2 * 8, PT0 | 3);
	put(m, PD + 3 * 8, PT1 | 3);
	*state = m;
	return 0;
}

static int teardown(void **state)
{
	struct gmem *m = *state;

	free(m->base);
	free(m);
	return 0;
}

/* Maps the 4 KiB page at va (VA0 .. 0x7fffff) to pa with the entry's flag bits. */
static void map(struct gmem *m, uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t page = (va - VA0) >> 12;

	put(m, (page < 512 ? PT0 : PT1) + (page % 512) * 8, pa | flags);
}

static void *host(const struct gmem *m, uint64_t pa)
{
	return gmem_ptr(m, gpa(pa), 1);
}

/* A range over a page boundary between physically contiguous pages is one iovec, whatever
 * its offsets. */
static void page_boundaries(void **state)
{
	struct gmem *m = *state;
	struct iovec iov[4];
	struct gva_fault f;
	uint64_t done;
	int n;

	map(m, VA0, DATA, 3);
	map(m, VA0 + 0x1000, DATA + 0x1000, 3);
	map(m, VA0 + 0x2000, DATA + 0x2000, 3);
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 0xff0), 0x20, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_int_equal(done, 0x20);
	assert_ptr_equal(iov[0].iov_base, host(m, DATA + 0xff0));
	assert_int_equal(iov[0].iov_len, 0x20);
	/* ending exactly on a page boundary, and covering three pages from an odd offset */
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 0x10), 0xff0, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_int_equal(iov[0].iov_len, 0xff0);
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 1), 0x2ffe, iov, 1, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_int_equal(done, 0x2ffe);
	assert_ptr_equal(iov[0].iov_base, host(m, DATA + 1));
	/* one byte, and nothing */
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 0x1fff), 1, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].iov_base, host(m, DATA + 0x1fff));
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0), 0, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 0);
	assert_int_equal(done, 0);
}

/* Contiguous across two page tables (PT0's last entry, PT1's first): the step stops at the
 * table's end, the next walk continues, and the pieces still merge. */
static void across_tables(void **state)
{
	struct gmem *m = *state;
	struct iovec iov[4];
	struct gva_fault f;
	uint64_t done;
	int n;

	map(m, 0x5ff000, DATA + 0x5000, 3);
	map(m, 0x600000, DATA + 0x6000, 3);
	assert_int_equal(gmem_gva_iov(m, PML4, gva(0x5ff800), 0x1000, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].iov_base, host(m, DATA + 0x5800));
	assert_int_equal(iov[0].iov_len, 0x1000);
}

/* Pages mapped out of physical order: one iovec per run, in virtual order, and at most `max`
 * of them per call with *done saying where to go on. */
static void non_contiguous(void **state)
{
	struct gmem *m = *state;
	struct iovec iov[4];
	struct gva_fault f;
	uint64_t done;
	int n;

	map(m, VA0, DATA + 0x3000, 3); /* run 1 */
	map(m, VA0 + 0x1000, DATA, 3); /* run 2: three pages */
	map(m, VA0 + 0x2000, DATA + 0x1000, 3);
	map(m, VA0 + 0x3000, DATA + 0x2000, 3);
	map(m, VA0 + 0x4000, DATA + 0x8000, 3); /* run 3 */
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 0x800), 0x4000, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 3);
	assert_int_equal(done, 0x4000);
	assert_ptr_equal(iov[0].iov_base, host(m, DATA + 0x3800));
	assert_int_equal(iov[0].iov_len, 0x800);
	assert_ptr_equal(iov[1].iov_base, host(m, DATA));
	assert_int_equal(iov[1].iov_len, 0x3000);
	assert_ptr_equal(iov[2].iov_base, host(m, DATA + 0x8000));
	assert_int_equal(iov[2].iov_len, 0x800);
	/* two iovecs at most: the first two runs, then the rest from va + done */
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 0x800), 0x4000, iov, 2, &n, &done, &f), 0);
	assert_int_equal(n, 2);
	assert_int_equal(done, 0x3800);
	assert_int_equal(
	    gmem_gva_iov(m, PML4, gva(VA0 + 0x800 + done), 0x4000 - done, iov, 2, &n, &done, &f),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(done, 0x800);
	assert_ptr_equal(iov[0].iov_base, host(m, DATA + 0x8000));
}

/* Different R/W or XD bits end a step (pw_step), not the range: the walk takes over and the
 * host-adjacent pieces merge. */
static void flags_differ(void **state)
{
	struct gmem *m = *state;
	struct iovec iov[4];
	struct gva_fault f;
	uint64_t done;
	int n;

	map(m, VA0, DATA, 3);
	map(m, VA0 + 0x1000, DATA + 0x1000, 1); /* read-only */
	map(m, VA0 + 0x2000, DATA + 0x2000, PW_PTE_NX | 3);
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0), 0x3000, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_int_equal(iov[0].iov_len, 0x3000);
}

/* A page that is not present ends the range with its address; nothing is returned. */
static void unmapped_page(void **state)
{
	struct gmem *m = *state;
	struct iovec iov[4];
	struct gva_fault f;
	uint64_t done;
	int n;

	map(m, VA0, DATA, 3);
	map(m, VA0 + 0x1000, DATA + 0x1000, 3);
	map(m, VA0 + 0x2000, DATA + 0x2000, 2); /* P clear */
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 0x800), 0x3000, iov, 4, &n, &done, &f),
			 -EFAULT);
	assert_int_equal(n, 0);
	assert_int_equal(f.why, GVA_UNMAPPED);
	assert_int_equal(f.va, VA0 + 0x2000);
	assert_int_equal(done, 0x1800);
	/* a huge length stops at the first unmapped page, never wraps */
	assert_int_equal(gmem_gva_check(m, PML4, gva(VA0), UINT64_MAX, &f), -EFAULT);
	assert_int_equal(f.why, GVA_UNMAPPED);
	assert_int_equal(f.va, VA0 + 0x2000);
	/* the page before a mapped run */
	assert_int_equal(gmem_gva_check(m, PML4, gva(VA0 - 1), 2, &f), -EFAULT);
	assert_int_equal(f.va, VA0 - 1);
}

/* The last page of the address space (the last entry of every table): the step must not go
 * past it, and a range running over the top wraps to 0, which is refused as unmapped. */
static void top_of_address_space(void **state)
{
	struct gmem *m = *state;
	uint64_t pdpt2 = RAM_START + 0x5000, pd2 = RAM_START + 0x6000, pt2 = RAM_START + 0x7000;
	struct iovec iov[4];
	struct gva_fault f;
	uint64_t done;
	int n;

	put(m, PML4 + 511 * 8, pdpt2 | 3);
	put(m, pdpt2 + 511 * 8, pd2 | 3);
	put(m, pd2 + 511 * 8, pt2 | 3);
	put(m, pt2 + 511 * 8, DATA | 3);
	put(m, pt2 + 512 * 8, (DATA + 0x1000) | 3); /* what a step past the table would read */
	map(m, VA0, DATA + 0x1000, 3); /* VA 0x400000 would follow physically */
	assert_int_equal(
	    gmem_gva_iov(m, PML4, gva(0xfffffffffffff000ull), 0x1000, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].iov_base, host(m, DATA));
	assert_int_equal(
	    gmem_gva_iov(m, PML4, gva(0xfffffffffffff800ull), 0x1000, iov, 4, &n, &done, &f),
	    -EFAULT);
	assert_int_equal(f.why, GVA_UNMAPPED);
	assert_int_equal(f.va, 0);
	assert_int_equal(done, 0x800);
	assert_int_equal(gmem_gva_check(m, PML4, gva(0xffffffffffffffffull), UINT64_MAX, &f),
			 -EFAULT);
	assert_int_equal(f.va, 0);
}

/* Physically contiguous pages that run past the end of RAM: the fault names the first page
 * outside RAM and its address; a copy writes exactly the part inside RAM; a range that ends
 * at RAM's last byte is fine. */
static void straddles_ram_end(void **state)
{
	struct gmem *m = *state;
	uint8_t src[0x1000];
	struct iovec iov[4];
	struct gva_fault f;
	uint64_t done;
	int n;

	memset(src, 0x5a, sizeof src);
	map(m, VA0, DATA, 3);
	map(m, VA0 + 0x1000, RAM_END - 0x1000, 3); /* not contiguous with the page before */
	map(m, VA0 + 0x2000, RAM_END, 3); /* contiguous with it, outside RAM */
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 0x1800), 0x800, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].iov_base, host(m, RAM_END - 0x800));
	assert_int_equal(gmem_gva_iov(m, PML4, gva(VA0 + 0x1800), 0x801, iov, 4, &n, &done, &f),
			 -EFAULT);
	assert_int_equal(n, 0);
	assert_int_equal(f.why, GVA_OUTSIDE_RAM);
	assert_int_equal(f.va, VA0 + 0x2000);
	assert_int_equal(f.pa, RAM_END);
	assert_int_equal(done, 0x800);
	/* the same from the first page: its run ends where the next page is discontiguous */
	assert_int_equal(gmem_gva_check(m, PML4, gva(VA0), 0x3000, &f), -EFAULT);
	assert_int_equal(f.va, VA0 + 0x2000);
	/* a write over the end: the bytes inside RAM, then the fault */
	assert_int_equal(gmem_gva_copy_to(m, PML4, gva(VA0 + 0x1c00), src, 0x800, &f), -EFAULT);
	assert_int_equal(f.va, VA0 + 0x2000);
	assert_memory_equal(host(m, RAM_END - 0x400), src, 0x400);
	/* and a guest-physical range over the end is refused whole */
	assert_null(gmem_ptr(m, gpa(RAM_END - 0x400), 0x800));
	assert_null(gmem_ptr(m, gpa(RAM_END - 0x400), UINT64_MAX));
	assert_false(gmem_range_ok(m, gpa(UINT64_MAX - 0x10), 0x20));
}

/* ---- pw_step alone, over a table in a plain array ---- */

static uint64_t table[512];

static bool read_table(const void *ctx, uint64_t pa, uint64_t *e)
{
	(void)ctx;
	if (pa < 0x1000 || pa >= 0x2000 || (pa & 7)) {
		return false;
	}
	*e = table[(pa - 0x1000) / 8];
	return true;
}

static struct pw_leaf leaf_at(unsigned level, unsigned index)
{
	uint64_t size = 1ull << (12 + 9 * (level - 1));

	return (struct pw_leaf){.pa = table[index] & PW_PTE_ADDR & ~(size - 1),
				.contig = size,
				.level = level,
				.writable = true,
				.entry = 0x1000 + index * 8,
				.entry_val = table[index]};
}

static void step_2mib(void **state)
{
	struct pw_leaf l;

	(void)state;
	memset(table, 0, sizeof table);
	table[0] = 0x40000000ull | 0x83;
	table[1] = 0x40200000ull | 0x83; /* contiguous */
	table[2] = 0x80000000ull | 0x83; /* not contiguous: still a step */
	table[3] = 0x12345000ull | 0x03; /* a table, not a 2 MiB page */
	table[511] = 0x40000000ull | 0x83;
	l = leaf_at(2, 0);
	assert_true(pw_step(read_table, NULL, &l));
	assert_true(l.pa == 0x40200000ull && l.contig == 0x200000 && l.entry == 0x1008);
	assert_true(pw_step(read_table, NULL, &l));
	assert_true(l.pa == 0x80000000ull);
	assert_false(pw_step(read_table, NULL, &l)); /* PS clear */
	assert_true(l.entry == 0x1010);
	l = leaf_at(2, 511);
	assert_false(pw_step(read_table, NULL, &l)); /* the table's end */
	/* bits 20:13 of a 2 MiB entry are not address (PAT and reserved) */
	table[1] |= 0x1000;
	l = leaf_at(2, 0);
	assert_true(pw_step(read_table, NULL, &l));
	assert_true(l.pa == 0x40200000ull);
}

static void step_4kib(void **state)
{
	struct pw_leaf l;

	(void)state;
	memset(table, 0, sizeof table);
	table[0] = 0x5000 | 3;
	table[1] = 0x6000 | 1; /* R/W differs */
	table[2] = 0x7000 | 3;
	table[3] = 0x8000 | 3 | PW_PTE_NX; /* XD differs */
	table[4] = 0x9000 | 2; /* not present */
	table[5] = 0xa000 | 3 | PW_PTE_PS; /* PAT in a PTE: still a 4 KiB page */
	table[6] = 0xfffffffff000ull | 3;
	l = leaf_at(1, 0);
	assert_false(pw_step(read_table, NULL, &l));
	assert_true(l.entry == 0x1000 && l.pa == 0x5000); /* unchanged */
	l = leaf_at(1, 2);
	assert_false(pw_step(read_table, NULL, &l));
	l = leaf_at(1, 3);
	assert_false(pw_step(read_table, NULL, &l));
	table[4] |= 1;
	table[4] |= PW_PTE_NX;
	assert_true(pw_step(read_table, NULL, &l));
	assert_true(l.pa == 0x9000 && l.contig == 0x1000);
	table[5] |= PW_PTE_NX;
	assert_true(pw_step(read_table, NULL, &l));
	assert_true(l.pa == 0xa000);
	table[6] |= PW_PTE_NX;
	assert_true(pw_step(read_table, NULL, &l));
	assert_true(l.pa == 0xfffffffff000ull);
	/* an entry the reader refuses */
	l = leaf_at(1, 0);
	l.entry = 0x0ff8;
	assert_false(pw_step(read_table, NULL, &l));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(page_boundaries, setup, teardown),
	    cmocka_unit_test_setup_teardown(across_tables, setup, teardown),
	    cmocka_unit_test_setup_teardown(non_contiguous, setup, teardown),
	    cmocka_unit_test_setup_teardown(flags_differ, setup, teardown),
	    cmocka_unit_test_setup_teardown(unmapped_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(top_of_address_space, setup, teardown),
	    cmocka_unit_test_setup_teardown(straddles_ram_end, setup, teardown),
	    cmocka_unit_test(step_2mib),
	    cmocka_unit_test(step_4kib),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
