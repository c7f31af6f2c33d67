/* SPDX-License-Identifier: MIT */
/* fuzz_assist_reply.c - the VMM's check of a reply from the instruction-assist process
 * (common/assist_proto.c, assist_reply_check), the least trusted process of uhyve-sec.
 *
 * Input: u8 mode: mode % 3 = 0 a reply of ASSIST_RESP_SHORT bytes, 1 one of the full size,
 * 2 a size of u16 % (full size + 17) bytes (u16 follows); the rest is the reply's bytes
 * (zero-padded).  The reply is placed at the end of a guarded buffer of exactly its size, so
 * a read past the bytes received faults.
 *
 * Oracles: assist_reply_check agrees with a separately written reference of the rules in
 * assist_proto.h in both directions, gives a non-empty reason whenever it refuses, answers
 * the same for the same bytes, and never reads beyond the reply (guard page); an accepted
 * reply keeps every field the VMM later uses in range (the names of its stop reason, class
 * and operation are known, the instruction fits 15 bytes, its diagnostic bytes 16, only
 * known system state flags).
 */
#include <stddef.h>
#include <string.h>

#include "assist_proto.h"
#include "fuzz.h"

#define FULL  sizeof(struct assist_resp)
#define SHORT ASSIST_RESP_SHORT

/* The rules, from the header's comment, over a zero-padded copy of what arrived. */
static bool ref_valid(const uint8_t *b, size_t n)
{
	struct assist_resp r;

	if (n != SHORT && n != FULL) {
		return false;
	}
	memset(&r, 0, sizeof r);
	memcpy(&r, b, n);
	if (r.magic != ASSIST_PROTO_MAGIC || r.stop >= ASSIST_STOP_COUNT ||
	    r.npio > ASSIST_PIO_BATCH) {
		return false;
	}
	for (uint32_t i = 0; i < r.npio; i++) {
		if ((r.pio[i].size != 1 && r.pio[i].size != 2 && r.pio[i].size != 4) ||
		    r.pio[i].pad != 0) {
			return false;
		}
	}
	if (!(r.fpu_dirty == 0 && n == SHORT) && !(r.fpu_dirty == 1 && n == FULL)) {
		return false;
	}
	if (r.insn.op >= ASSIST_OP_COUNT || r.insn.cls >= ASSIST_C_COUNT || r.insn.len > 15 ||
	    r.insn.bytes_len > 16 || r.insn.write > 1) {
		return false;
	}
	if (r.stop == ASSIST_STOP_VMM && (r.insn.op == 0 || r.insn.len == 0)) {
		return false;
	}
	if ((r.insn.flags & ~(uint32_t)ASSIST_I_ALL) != 0 ||
	    (r.insn.op == ASSIST_OP_PIO &&
	     ((r.insn.io_size != 1 && r.insn.io_size != 2 && r.insn.io_size != 4) ||
	      r.insn.io_out > 1))) {
		return false;
	}
	if ((r.sys.flags & ~(uint32_t)(ASSIST_SYS_CR0 | ASSIST_SYS_FS_BASE | ASSIST_SYS_GS_BASE |
				       ASSIST_SYS_TSC_DEADLINE | ASSIST_SYS_LVTT |
				       ASSIST_SYS_LVTT_RESET | ASSIST_SYS_EOI | ASSIST_SYS_ICR)) !=
	    0) {
		return false;
	}
	/* an ICR value only with its flag: a fixed interrupt, vector 16 or more, no reserved bit
	 * (12, 13, 16, 17, 31..20) */
	if ((r.sys.flags & ASSIST_SYS_ICR)
		? ((r.sys.icr & 0xfff33700ull) != 0 || (r.sys.icr & 0xff) < 16)
		: r.sys.icr != 0) {
		return false;
	}
	/* an LVT timer value only with its flag, a reset only with a value; the value has bits
	 * only in the vector, the mask and the timer mode, and the mode is not 3 */
	if (!(r.sys.flags & ASSIST_SYS_LVTT) &&
	    ((r.sys.flags & ASSIST_SYS_LVTT_RESET) || r.sys.lvtt != 0)) {
		return false;
	}
	if ((r.sys.flags & ASSIST_SYS_LVTT) &&
	    ((r.sys.lvtt & ~0x700ffu) != 0 || ((r.sys.lvtt >> 17) & 3) == 3)) {
		return false;
	}
	/* a flagged base is canonical: bits 63..47 all equal */
	if (((r.sys.flags & ASSIST_SYS_FS_BASE) && (r.sys.fs_base >> 47) != 0 &&
	     (r.sys.fs_base >> 47) != 0x1ffff) ||
	    ((r.sys.flags & ASSIST_SYS_GS_BASE) && (r.sys.gs_base >> 47) != 0 &&
	     (r.sys.gs_base >> 47) != 0x1ffff)) {
		return false;
	}
	return r.stop != ASSIST_STOP_FAULT || r.insn.vector < 32;
}

/* What the VMM does with an accepted reply must stay in range. */
static void check_accepted(const uint8_t *b)
{
	struct assist_resp r;

	memcpy(&r, b, SHORT);
	if (strcmp(assist_stop_name(r.stop), "?") == 0 ||
	    strcmp(assist_class_name(r.insn.cls), "?") == 0 ||
	    strcmp(assist_op_name(r.insn.op), "?") == 0 || r.insn.len > 15 ||
	    r.insn.bytes_len > sizeof r.insn.bytes || (r.sys.flags & ~ASSIST_SYS_ALL) != 0) {
		FUZZ_BUG("accepted a reply with a field out of range (stop %u cls %u op %u len %u)",
			 r.stop, r.insn.cls, r.insn.op, r.insn.len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct garena g;
	static bool ready;
	struct fin in = {data, size};
	uint8_t mode;
	size_t n;
	uint8_t *msg;
	const char *why, *again;
	bool want;

	if (!ready) {
		garena_init(&g, FULL + 17);
		ready = true;
	}
	mode = fin_u8(&in) % 3;
	n = mode == 0 ? SHORT : mode == 1 ? FULL : fin_u16(&in) % (FULL + 17);
	msg = garena_place(&g, n > 0 ? n : 1);
	fin_bytes(&in, msg, n);
	why = assist_reply_check(msg, n);
	again = assist_reply_check(msg, n);
	want = ref_valid(msg, n);
	if ((why == NULL) != want) {
		FUZZ_BUG("assist_reply_check %s a reply of %zu bytes the reference %s (%s)",
			 why == NULL ? "accepted" : "refused", n, want ? "accepts" : "refuses",
			 why == NULL ? "-" : why);
	}
	if (why != NULL && why[0] == '\0') {
		FUZZ_BUG("assist_reply_check refused without a reason");
	}
	if ((why == NULL) != (again == NULL)) {
		FUZZ_BUG("assist_reply_check answered differently for the same bytes");
	}
	if (why == NULL) {
		check_accepted(msg);
	}
	garena_check(&g, "assist_reply_check");
	return 0;
}
