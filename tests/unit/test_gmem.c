/* SPDX-License-Identifier: MIT */
/* test_gmem.c - the checked guest-memory accessor and the guest page-table walker. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gmem.h"

#define RAM_START 0x100000ull
#define RAM_SIZE  (4ull << 20)

static int setup(void **state)
{
	struct gmem *m = calloc(1, sizeof *m);
	void *arena = calloc(1, RAM_SIZE);

	assert_non_null(m);
	assert_non_null(arena);
	gmem_init_arena(m, arena, RAM_START, RAM_SIZE);
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

static void range_checks(void **state)
{
	struct gmem *m = *state;

	assert_true(gmem_range_ok(m, gpa(RAM_START), RAM_SIZE));
	assert_true(gmem_range_ok(m, gpa(RAM_START + RAM_SIZE), 0));
	assert_false(gmem_range_ok(m, gpa(RAM_START - 1), 1));
	assert_false(gmem_range_ok(m, gpa(RAM_START), RAM_SIZE + 1));
	assert_false(gmem_range_ok(m, gpa(RAM_START + RAM_SIZE), 1));
	assert_false(gmem_range_ok(m, gpa(RAM_START + 8), UINT64_MAX)); /* wraps */
	assert_false(gmem_range_ok(m, gpa(UINT64_MAX), 2));
	assert_false(gmem_range_ok(m, gpa(0), 16));
	assert_null(gmem_ptr(m, gpa(RAM_START + RAM_SIZE - 4), 8));
	assert_non_null(gmem_ptr(m, gpa(RAM_START + RAM_SIZE - 8), 8));
}

static void copies(void **state)
{
	struct gmem *m = *state;
	uint64_t v = 0x1122334455667788ull, r = 0;

	assert_int_equal(gmem_copy_to(m, gpa(RAM_START + 16), &v, 8), 0);
	assert_int_equal(gmem_copy_from(m, &r, gpa(RAM_START + 16), 8), 0);
	assert_true(r == v);
	assert_int_equal(gmem_copy_to(m, gpa(RAM_START + RAM_SIZE - 7), &v, 8), -EFAULT);
	assert_int_equal(gmem_copy_from(m, &r, gpa(RAM_START - 8), 8), -EFAULT);
}

static void strings(void **state)
{
	struct gmem *m = *state;
	char buf[16];
	uint8_t *end = gmem_ptr(m, gpa(RAM_START + RAM_SIZE - 4), 4);

	assert_int_equal(gmem_copy_to(m, gpa(RAM_START + 64), "hello", 6), 0);
	assert_int_equal(gmem_strcpy_from(m, buf, sizeof buf, gpa(RAM_START + 64)), 5);
	assert_string_equal(buf, "hello");
	/* no NUL within the capacity: a semantic error */
	memset(gmem_ptr(m, gpa(RAM_START + 128), 64), 'a', 64);
	assert_int_equal(gmem_strcpy_from(m, buf, sizeof buf, gpa(RAM_START + 128)), -ENAMETOOLONG);
	/* runs into the end of RAM before a NUL: a fault */
	memset(end, 'b', 4);
	assert_int_equal(gmem_strcpy_from(m, buf, sizeof buf, gpa(RAM_START + RAM_SIZE - 4)),
			 -EFAULT);
	assert_int_equal(gmem_strcpy_from(m, buf, sizeof buf, gpa(RAM_START + RAM_SIZE)), -EFAULT);
	assert_int_equal(gmem_strcpy_from(m, buf, 0, gpa(RAM_START + 64)), -EFAULT);
}

/* Builds PML4 at +0, PDPT +0x1000, PD +0x2000, PT +0x3000 inside RAM. */
static uint64_t build_tables(struct gmem *m)
{
	uint64_t b = RAM_START, e;

	e = (b + 0x1000) | 3; /* PML4[0] -> PDPT */
	assert_int_equal(gmem_copy_to(m, gpa(b), &e, 8), 0);
	e = (b + 0x2000) | 3; /* PDPT[0] -> PD */
	assert_int_equal(gmem_copy_to(m, gpa(b + 0x1000), &e, 8), 0);
	e = 0x200000 | 0x83; /* PD[1]: 2 MiB page VA 0x200000 -> PA 0x200000 */
	assert_int_equal(gmem_copy_to(m, gpa(b + 0x2000 + 8), &e, 8), 0);
	e = (b + 0x3000) | 3; /* PD[2] -> PT: VA 0x400000.. */
	assert_int_equal(gmem_copy_to(m, gpa(b + 0x2000 + 16), &e, 8), 0);
	e = (RAM_START + 0x5000) | 3; /* PT[0]: VA 0x400000 -> PA RAM+0x5000 */
	assert_int_equal(gmem_copy_to(m, gpa(b + 0x3000), &e, 8), 0);
	e = 0x7fff0000000ull | 3; /* PT[1]: maps outside RAM (walk succeeds, use must not) */
	assert_int_equal(gmem_copy_to(m, gpa(b + 0x3008), &e, 8), 0);
	e = (RAM_START + 0x10) | 3; /* PD[3] -> a "table" at a misaligned RAM address */
	assert_int_equal(gmem_copy_to(m, gpa(b + 0x2000 + 24), &e, 8), 0);
	e = 0xfff0000000ull | 3; /* PML4[1] -> PDPT outside RAM */
	assert_int_equal(gmem_copy_to(m, gpa(b + 8), &e, 8), 0);
	return b;
}

static void page_walk(void **state)
{
	struct gmem *m = *state;
	uint64_t cr3 = build_tables(m), contig;
	gpa_t pa;

	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x200123), &pa, &contig), 0);
	assert_true(pa.raw == 0x200123);
	assert_true(contig == 0x200000 - 0x123);
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x400010), &pa, &contig), 0);
	assert_true(pa.raw == RAM_START + 0x5010);
	assert_true(contig == 0x1000 - 0x10);
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x401000), &pa, NULL), 0);
	assert_true(pa.raw == 0x7fff0000000ull);
	/* not present at each level */
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x0), &pa, NULL), -EFAULT); /* PD[0] */
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x402000), &pa, NULL), -EFAULT); /* PT[2] */
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(1ull << 30), &pa, NULL), -EFAULT);
	/* table outside RAM */
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(1ull << 39), &pa, NULL), -EFAULT);
	assert_int_equal(gmem_gva_to_gpa(m, 0xdead000000ull, gva(0x200000), &pa, NULL), -EFAULT);
	/* cr3 low bits are flags, not address */
	assert_int_equal(gmem_gva_to_gpa(m, cr3 | 0x18, gva(0x200000), &pa, NULL), 0);
}

static void huge_1g_page(void **state)
{
	struct gmem *m = *state;
	uint64_t b = RAM_START, e;
	gpa_t pa;

	e = (b + 0x1000) | 3;
	assert_int_equal(gmem_copy_to(m, gpa(b), &e, 8), 0);
	e = (3ull << 30) | 0x83; /* PDPT[0]: 1 GiB page at 3 GiB */
	assert_int_equal(gmem_copy_to(m, gpa(b + 0x1000), &e, 8), 0);
	assert_int_equal(gmem_gva_to_gpa(m, b, gva(0x12345678), &pa, NULL), 0);
	assert_true(pa.raw == (3ull << 30) + 0x12345678);
}

/* Bits 63:48 must equal bit 47, as on the processor (which raises #GP, not #PF): before the
 * shared walker they were ignored, so 0x8000... | va aliased va. */
static void non_canonical(void **state)
{
	struct gmem *m = *state;
	uint64_t cr3 = build_tables(m);
	gpa_t pa;

	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x200123), &pa, NULL), 0);
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x8000000000200123ull), &pa, NULL), -EINVAL);
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x0001000000200123ull), &pa, NULL), -EINVAL);
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x0000800000000000ull), &pa, NULL), -EINVAL);
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0xffff7fffffffffffull), &pa, NULL), -EINVAL);
	/* the highest canonical addresses are walked (and not mapped here) */
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0x00007fffffffffffull), &pa, NULL), -EFAULT);
	assert_int_equal(gmem_gva_to_gpa(m, cr3, gva(0xffff800000000000ull), &pa, NULL), -EFAULT);
}

/* PS is reserved in a PML4 entry: the processor faults; so does the walker. */
static void pml4_page_size_bit(void **state)
{
	struct gmem *m = *state;
	uint64_t b = RAM_START, e = 0x83;
	gpa_t pa;

	assert_int_equal(gmem_copy_to(m, gpa(b), &e, 8), 0);
	assert_int_equal(gmem_gva_to_gpa(m, b, gva(0x1000), &pa, NULL), -EFAULT);
}

/* Maps the last page of the lower half (0x7ffffffff000) to RAM + 0x6000, with tables at
 * RAM + 0x7000.. (PML4[255] -> PDPT[511] -> PD[511] -> PT[511]). */
static void map_top_of_lower_half(struct gmem *m, uint64_t cr3)
{
	uint64_t e;

	e = (RAM_START + 0x7000) | 3;
	assert_int_equal(gmem_copy_to(m, gpa(cr3 + 255 * 8), &e, 8), 0);
	e = (RAM_START + 0x8000) | 3;
	assert_int_equal(gmem_copy_to(m, gpa(RAM_START + 0x7000 + 511 * 8), &e, 8), 0);
	e = (RAM_START + 0x9000) | 3;
	assert_int_equal(gmem_copy_to(m, gpa(RAM_START + 0x8000 + 511 * 8), &e, 8), 0);
	e = (RAM_START + 0x6000) | 3;
	assert_int_equal(gmem_copy_to(m, gpa(RAM_START + 0x9000 + 511 * 8), &e, 8), 0);
}

/* The range accessors: pieces in order, every failure reported with its address and kind. */
static void gva_ranges(void **state)
{
	struct gmem *m = *state;
	uint64_t cr3 = build_tables(m), done;
	uint8_t buf[0x2000], back[0x2000];
	struct iovec iov[4];
	struct gva_fault f;
	int n;

	for (size_t i = 0; i < sizeof buf; i++) {
		buf[i] = (uint8_t)(i * 7);
	}
	/* inside the identity 2 MiB page: one piece */
	assert_int_equal(gmem_gva_copy_to(m, cr3, gva(0x200ff8), buf, 0x20, &f), 0);
	assert_int_equal(gmem_gva_copy_from(m, cr3, back, gva(0x200ff8), 0x20, &f), 0);
	assert_memory_equal(back, buf, 0x20);
	assert_int_equal(gmem_gva_iov(m, cr3, gva(0x200ff8), 0x20, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_int_equal(done, 0x20);
	assert_ptr_equal(iov[0].iov_base, gmem_ptr(m, gpa(0x200ff8), 0x20));
	/* from the 2 MiB page into the 4 KiB page at 0x400000: two pieces, or one per round */
	assert_int_equal(gmem_gva_iov(m, cr3, gva(0x3ffff0), 0x20, iov, 4, &n, &done, &f), 0);
	assert_int_equal(n, 2);
	assert_int_equal(iov[0].iov_len, 0x10);
	assert_ptr_equal(iov[1].iov_base, gmem_ptr(m, gpa(RAM_START + 0x5000), 0x10));
	assert_int_equal(gmem_gva_iov(m, cr3, gva(0x3ffff0), 0x20, iov, 1, &n, &done, &f), 0);
	assert_int_equal(n, 1);
	assert_int_equal(done, 0x10);
	/* the next page maps outside RAM; the one after is not present */
	assert_int_equal(gmem_gva_check(m, cr3, gva(0x400ff0), 0x20, &f), -EFAULT);
	assert_int_equal(f.why, GVA_OUTSIDE_RAM);
	assert_int_equal(f.va, 0x401000);
	assert_int_equal(f.pa, 0x7fff0000000ull);
	assert_int_equal(gmem_gva_copy_from(m, cr3, back, gva(0x402000), 1, &f), -EFAULT);
	assert_int_equal(f.why, GVA_UNMAPPED);
	assert_int_equal(f.va, 0x402000);
	assert_int_equal(gmem_gva_iov(m, cr3, gva(0x400ff0), 0x20, iov, 4, &n, &done, &f), -EFAULT);
	assert_int_equal(n, 0);
	/* a non-canonical start, and a range running off the lower half's end */
	assert_int_equal(gmem_gva_copy_to(m, cr3, gva(0x8000000000200ff8ull), buf, 8, &f), -EFAULT);
	assert_int_equal(f.why, GVA_NONCANONICAL);
	assert_int_equal(f.va, 0x8000000000200ff8ull);
	map_top_of_lower_half(m, cr3);
	assert_int_equal(gmem_gva_check(m, cr3, gva(0x7ffffffffff0ull), 0x10, &f), 0);
	assert_int_equal(gmem_gva_check(m, cr3, gva(0x7ffffffffff0ull), 0x11, &f), -EFAULT);
	assert_int_equal(f.why, GVA_NONCANONICAL);
	assert_int_equal(f.va, 0x800000000000ull);
	/* wrapping around the top of the address space: not mapped */
	assert_int_equal(gmem_gva_check(m, cr3, gva(0xfffffffffffffff0ull), 0x20, &f), -EFAULT);
	assert_int_equal(f.why, GVA_UNMAPPED);
	/* an empty range is always fine */
	assert_int_equal(gmem_gva_check(m, cr3, gva(0x8000000000000000ull), 0, &f), 0);
}

/* Self-referencing tables must terminate: the walk has a fixed depth of four. */
static void recursive_tables_terminate(void **state)
{
	struct gmem *m = *state;
	uint64_t b = RAM_START, e = b | 3;
	gpa_t pa;

	for (int i = 0; i < 512; i++) {
		assert_int_equal(gmem_copy_to(m, gpa(b + (uint64_t)i * 8), &e, 8), 0);
	}
	assert_int_equal(gmem_gva_to_gpa(m, b, gva(0xfffffffffffff000ull), &pa, NULL), 0);
	assert_true(pa.raw == b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(range_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(copies, setup, teardown),
	    cmocka_unit_test_setup_teardown(strings, setup, teardown),
	    cmocka_unit_test_setup_teardown(page_walk, setup, teardown),
	    cmocka_unit_test_setup_teardown(huge_1g_page, setup, teardown),
	    cmocka_unit_test_setup_teardown(recursive_tables_terminate, setup, teardown),
	    cmocka_unit_test_setup_teardown(non_canonical, setup, teardown),
	    cmocka_unit_test_setup_teardown(pml4_page_size_bit, setup, teardown),
	    cmocka_unit_test_setup_teardown(gva_ranges, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
