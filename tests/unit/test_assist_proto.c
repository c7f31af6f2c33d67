/* SPDX-License-Identifier: MIT */
/* test_assist_proto.c - the VMM's check of assist replies (common/assist_proto.c): one case per
 * rule of assist_reply_check, each with the reason it gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assist_proto.h"

static struct assist_resp r;

static void honest(void)
{
	memset(&r, 0, sizeof r);
	r.magic = ASSIST_PROTO_MAGIC;
	r.stop = ASSIST_STOP_VMM;
	r.insn.op = ASSIST_OP_XSAVE;
	r.insn.cls = ASSIST_C_XSAVE;
	r.insn.len = 3;
	r.insn.bytes_len = 3;
}

static void check(const char *want)
{
	const char *why = assist_reply_check(&r, r.fpu_dirty ? sizeof r : ASSIST_RESP_SHORT);

	if (want == NULL) {
		assert_null(why);
	} else {
		assert_non_null(why);
		assert_string_equal(why, want);
	}
}

static void sizes(void **state)
{
	(void)state;
	honest();
	check(NULL);
	assert_null(assist_reply_check(&r, ASSIST_RESP_SHORT));
	assert_string_equal(assist_reply_check(&r, ASSIST_RESP_SHORT - 1), "wrong message size");
	assert_string_equal(assist_reply_check(&r, 0), "wrong message size");
	assert_string_equal(assist_reply_check(&r, sizeof r + 1), "wrong message size");
	/* the long form only with fpu_dirty = 1, the short one only with 0 */
	assert_string_equal(assist_reply_check(&r, sizeof r),
			    "x87/SSE state flag does not match the message size");
	r.fpu_dirty = 1;
	check(NULL);
	assert_string_equal(assist_reply_check(&r, ASSIST_RESP_SHORT),
			    "x87/SSE state flag does not match the message size");
	r.fpu_dirty = 2;
	assert_string_equal(assist_reply_check(&r, sizeof r),
			    "x87/SSE state flag does not match the message size");
}

static void header(void **state)
{
	(void)state;
	honest();
	r.magic ^= 1;
	check("bad magic");
	honest();
	r.stop = ASSIST_STOP_COUNT;
	check("unknown stop reason");
	/* batched port writes (JIT mode): at most ASSIST_PIO_BATCH, each 1, 2 or 4 bytes, pad 0 */
	honest();
	r.npio = ASSIST_PIO_BATCH;
	for (unsigned i = 0; i < ASSIST_PIO_BATCH; i++) {
		r.pio[i] = (struct assist_pio){.port = 0x3f8, .size = 1, .value = 'x'};
	}
	check(NULL);
	r.npio = ASSIST_PIO_BATCH + 1;
	check("too many batched port writes");
	r.npio = 2;
	r.pio[1].size = 3;
	check("a batched port write with a bad size");
	r.pio[1].size = 4;
	r.pio[1].pad = 1;
	check("a batched port write with a bad size");
	r.npio = 1; /* only the entries counted are looked at */
	check(NULL);
}

static void instruction(void **state)
{
	(void)state;
	honest();
	r.insn.op = ASSIST_OP_COUNT;
	check("unknown VMM operation");
	honest();
	r.insn.cls = ASSIST_C_COUNT;
	check("unknown instruction class");
	honest();
	r.insn.len = 16;
	check("instruction length out of range");
	honest();
	r.insn.len = 15;
	check(NULL);
	r.insn.bytes_len = 17;
	check("instruction length out of range");
	honest();
	r.insn.write = 2;
	check("write flag not 0 or 1");
	honest();
	r.insn.op = ASSIST_OP_NONE;
	check("VMM stop without an operation or an instruction length");
	honest();
	r.insn.len = 0;
	check("VMM stop without an operation or an instruction length");
	/* other stops need no operation; a fault needs an architectural vector */
	honest();
	r.stop = ASSIST_STOP_CAP;
	r.insn.op = ASSIST_OP_NONE;
	r.insn.len = 0;
	check(NULL);
	r.stop = ASSIST_STOP_FAULT;
	r.insn.vector = 31;
	check(NULL);
	r.insn.vector = 32;
	check("exception vector out of range");
	r.stop = ASSIST_STOP_PAGE;
	check(NULL); /* the vector means nothing there */
	r.stop = ASSIST_STOP_IRQ;
	check(NULL);
	honest();
	r.insn.flags = ASSIST_I_ALL;
	check(NULL);
	r.insn.flags = ASSIST_I_ALL + 1;
	check("unknown instruction flags");
}

/* JIT mode's port I/O operation: AL, AX or EAX, in or out. */
static void port_io(void **state)
{
	(void)state;
	honest();
	r.insn.op = ASSIST_OP_PIO;
	r.insn.cls = ASSIST_C_IO;
	r.insn.len = 2;
	r.insn.port = 0x3f8;
	for (unsigned size = 0; size <= 8; size++) {
		r.insn.io_size = (uint8_t)size;
		check(size == 1 || size == 2 || size == 4
			  ? NULL
			  : "port I/O with a bad size or direction");
	}
	r.insn.io_size = 4;
	r.insn.io_out = 1;
	check(NULL);
	r.insn.io_out = 2;
	check("port I/O with a bad size or direction");
	honest();
	r.insn.op = ASSIST_OP_HLT;
	r.insn.len = 1;
	check(NULL);
}

/* System state a JIT-mode burst changed: known flags only, the pad zero, canonical bases (a
 * base not flagged is not looked at; which CR0 bits changed is the VMM's check; any TSC
 * deadline is one the guest could write). */
static void system_state(void **state)
{
	(void)state;
	honest();
	r.sys.flags = ASSIST_SYS_ALL;
	r.sys.cr0 = ~0ull;
	r.sys.fs_base = 0x00007fffffffffffull;
	r.sys.gs_base = 0xffff800000000000ull;
	r.sys.tsc_deadline = ~0ull;
	r.sys.lvtt = 0x4007b;
	r.sys.icr = 0xffffffff000cc8ffull; /* every bit but the reserved and delivery-mode ones */
	check(NULL);
	r.sys.icr = 0x40 | 0x1000; /* bit 12: reserved in x2APIC mode */
	check("an ICR value the burst may not complete");
	r.sys.icr = 0x40 | 0x500; /* INIT */
	check("an ICR value the burst may not complete");
	r.sys.icr = 0x0f; /* a vector below 16 */
	check("an ICR value the burst may not complete");
	r.sys.flags = ASSIST_SYS_CR0;
	r.sys.lvtt = 0;
	r.sys.icr = 0x40; /* a value without its flag */
	check("an ICR value the burst may not complete");
	r.sys.icr = 0;
	r.sys.flags = 256;
	check("unknown system state flags");
	r.sys.flags = ASSIST_SYS_ALL | 1u << 31;
	check("unknown system state flags");
	r.sys.flags = ASSIST_SYS_CR0;
	r.sys.lvtt = 1; /* a value without its flag */
	check("unknown system state flags");
	r.sys.lvtt = 0;
	r.sys.flags = ASSIST_SYS_LVTT_RESET; /* a reset without the value */
	check("unknown system state flags");
	r.sys.flags = ASSIST_SYS_LVTT | ASSIST_SYS_LVTT_RESET;
	r.sys.lvtt = ASSIST_LVTT_MASKED; /* Hermit's "no timer" */
	check(NULL);
	r.sys.lvtt = ASSIST_LVTT_DEADLINE | 0x7b; /* Hermit's TSC-deadline timer, vector 123 */
	check(NULL);
	r.sys.lvtt = ASSIST_LVTT_MODE; /* the reserved timer mode 3 */
	check("an LVT timer value the burst may not complete");
	r.sys.lvtt = 0x1000; /* the delivery-status bit (read-only) */
	check("an LVT timer value the burst may not complete");
	r.sys.lvtt = 0x80000; /* bit 19, reserved */
	check("an LVT timer value the burst may not complete");
	r.sys.flags = ASSIST_SYS_CR0;
	r.sys.lvtt = 0;
	r.sys.fs_base = 0x0000800000000000ull;
	r.sys.gs_base = 0x1ull << 63;
	check(NULL);
	r.sys.flags = ASSIST_SYS_FS_BASE;
	check("a segment base that is not canonical");
	r.sys.flags = ASSIST_SYS_GS_BASE;
	check("a segment base that is not canonical");
	r.sys.gs_base = 0xffffffffffffffffull;
	check(NULL);
}

/* The VMM's check against its request: CR0 may change in TS alone, and only when flagged; the
 * LVT timer only where the request said the LAPIC is in x2APIC mode. */
static void system_cr0(void **state)
{
	const uint64_t cr0 = 0x80050033ull; /* PG WP NE ET MP PE */
	struct assist_sys s = {.flags = ASSIST_SYS_CR0, .cr0 = cr0 | ASSIST_CR0_TS};

	(void)state;
	assert_null(assist_sys_check(&s, cr0, ASSIST_F_JIT));
	s.cr0 = cr0;
	assert_null(assist_sys_check(&s, cr0 | ASSIST_CR0_TS, ASSIST_F_JIT));
	s.cr0 = cr0 & ~0x80000000ull; /* paging off */
	assert_string_equal(assist_sys_check(&s, cr0, ASSIST_F_JIT), "a CR0 change beyond CR0.TS");
	s.cr0 = cr0 | ASSIST_CR0_TS | 0x2ull << 32; /* a reserved bit */
	assert_string_equal(assist_sys_check(&s, cr0, ASSIST_F_JIT), "a CR0 change beyond CR0.TS");
	s.flags = ASSIST_SYS_FS_BASE; /* CR0 not flagged: not looked at */
	assert_null(assist_sys_check(&s, cr0, ASSIST_F_JIT));
	s.flags = ASSIST_SYS_LVTT;
	s.lvtt = ASSIST_LVTT_MASKED;
	assert_string_equal(assist_sys_check(&s, cr0, ASSIST_F_JIT),
			    "an x2APIC write the request did not allow");
	s.flags = ASSIST_SYS_EOI;
	assert_string_equal(assist_sys_check(&s, cr0, ASSIST_F_JIT),
			    "an x2APIC write the request did not allow");
	s.flags = ASSIST_SYS_ICR;
	assert_string_equal(assist_sys_check(&s, cr0, ASSIST_F_JIT),
			    "an x2APIC write the request did not allow");
	assert_null(assist_sys_check(&s, cr0, ASSIST_F_JIT | ASSIST_F_X2APIC));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sizes),	    cmocka_unit_test(header),
	    cmocka_unit_test(instruction),  cmocka_unit_test(port_io),
	    cmocka_unit_test(system_state), cmocka_unit_test(system_cr0),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
