/* SPDX-License-Identifier: MIT */
/* test_fs_budget.c - the write budget's arithmetic (vmm/fs_budget.c, issue 16 item 4): a
 * write is charged its bytes plus the hole it would create, cut to what is left, ENOSPC when
 * not a byte fits; O_APPEND creates no hole; entries cost FS_ENTRY_COST each; no budget
 * means no limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fs_budget.h"

static void unlimited(void **state)
{
	struct fs_budget b;
	uint64_t charged = 1;

	(void)state;
	fs_budget_init(&b, 0);
	assert_false(fs_budget_on(&b));
	assert_int_equal(fs_budget_write(&b, 1ull << 40, 0, false, 1, &charged), 1);
	assert_int_equal(charged, 0);
	assert_int_equal(fs_budget_entries(&b, 2048), 2048);
}

static void bytes_and_cut(void **state)
{
	struct fs_budget b;
	uint64_t charged;

	(void)state;
	fs_budget_init(&b, 10000);
	assert_int_equal(fs_budget_write(&b, 0, 0, false, 4096, &charged), 4096);
	assert_int_equal(charged, 4096);
	assert_int_equal(fs_budget_write(&b, 4096, 4096, false, 8000, &charged), 5904); /* cut */
	assert_int_equal(fs_budget_write(&b, 10000, 10000, false, 1, &charged), 0); /* ENOSPC */
	assert_int_equal(charged, 0);
	fs_budget_refund(&b, 904); /* 904 of them were not written */
	assert_int_equal(fs_budget_write(&b, 0, 10000, false, 1000, &charged), 904);
	assert_int_equal(fs_budget_write(&b, 0, 0, false, 0, &charged), 0);
}

static void holes(void **state)
{
	struct fs_budget b;
	uint64_t charged;

	(void)state;
	fs_budget_init(&b, 65536);
	/* a far seek: the hole alone exceeds the budget */
	assert_int_equal(fs_budget_write(&b, 1ull << 40, 0, false, 1, &charged), 0);
	assert_int_equal(fs_budget_write(&b, UINT64_MAX, 0, false, UINT64_MAX, &charged), 0);
	/* a hole that leaves room for 10 bytes */
	assert_int_equal(fs_budget_write(&b, 65526, 0, false, 16, &charged), 10);
	assert_int_equal(charged, 65536);
	fs_budget_refund(&b, 65536);
	/* a hole exactly the budget: not a byte fits */
	assert_int_equal(fs_budget_write(&b, 65536, 0, false, 1, &charged), 0);
	/* writing inside the file: no hole */
	assert_int_equal(fs_budget_write(&b, 100, 5000, false, 10, &charged), 10);
	assert_int_equal(charged, 10);
}

static void append_has_no_hole(void **state)
{
	struct fs_budget b;
	uint64_t charged;

	(void)state;
	fs_budget_init(&b, 100);
	assert_int_equal(fs_budget_write(&b, 1ull << 40, 0, true, 50, &charged), 50);
	assert_int_equal(charged, 50);
}

static void entries(void **state)
{
	struct fs_budget b;
	uint64_t charged;

	(void)state;
	fs_budget_init(&b, 3 * FS_ENTRY_COST + 100);
	assert_int_equal(fs_budget_entries(&b, 2), 2);
	assert_int_equal(fs_budget_entries(&b, 5), 1); /* as many as fit */
	assert_int_equal(fs_budget_entries(&b, 1), 0);
	assert_int_equal(fs_budget_write(&b, 0, 0, false, 1000, &charged), 100);
	fs_budget_refund(&b, 2 * FS_ENTRY_COST); /* two the broker did not create */
	assert_int_equal(fs_budget_entries(&b, 3), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unlimited), cmocka_unit_test(bytes_and_cut),
	    cmocka_unit_test(holes),	 cmocka_unit_test(append_has_no_hole),
	    cmocka_unit_test(entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
