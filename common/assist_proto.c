/* SPDX-License-Identifier: MIT */
/* assist_proto.c - the VMM's check of every reply from the instruction-assist process
 * (assist_proto.h).  The assist runs guest-chosen bytes through a JIT and is the least trusted
 * process: a reply is hostile input until this function has accepted it.  Pure: reads only
 * the `n` bytes it is given. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "assist_proto.h"
#include "pagewalk.h"

/* Fields of the fixed part that depend on the stop reason. */
static const char *insn_check(uint32_t stop, const struct assist_insn *in)
{
	if (in->op >= ASSIST_OP_COUNT) {
		return "unknown VMM operation";
	}
	if (in->cls >= ASSIST_C_COUNT) {
		return "unknown instruction class";
	}
	if (in->len > ASSIST_INSN_MAX || in->bytes_len > sizeof in->bytes) {
		return "instruction length out of range";
	}
	if (in->write > 1) {
		return "write flag not 0 or 1";
	}
	if (stop == ASSIST_STOP_VMM && (in->op == ASSIST_OP_NONE || in->len == 0)) {
		return "VMM stop without an operation or an instruction length";
	}
	if (stop == ASSIST_STOP_FAULT && in->vector >= 32) {
		return "exception vector out of range";
	}
	if (in->flags & ~ASSIST_I_ALL) {
		return "unknown instruction flags";
	}
	if (in->op == ASSIST_OP_PIO &&
	    ((in->io_size != 1 && in->io_size != 2 && in->io_size != 4) || in->io_out > 1)) {
		return "port I/O with a bad size or direction";
	}
	return NULL;
}

static const char *pio_check(const void *buf, uint32_t npio)
{
	struct assist_pio p;

	if (npio > ASSIST_PIO_BATCH) {
		return "too many batched port writes";
	}
	for (uint32_t i = 0; i < npio; i++) {
		memcpy(&p, (const uint8_t *)buf + offsetof(struct assist_resp, pio) + i * sizeof p,
		       sizeof p);
		if ((p.size != 1 && p.size != 2 && p.size != 4) || p.pad != 0) {
			return "a batched port write with a bad size";
		}
	}
	return NULL;
}

static const char *sys_check(const void *buf)
{
	struct assist_sys s;

	memcpy(&s, (const uint8_t *)buf + offsetof(struct assist_resp, sys), sizeof s);
	if ((s.flags & ~ASSIST_SYS_ALL) != 0 ||
	    (!(s.flags & ASSIST_SYS_LVTT) && ((s.flags & ASSIST_SYS_LVTT_RESET) || s.lvtt != 0))) {
		return "unknown system state flags";
	}
	if ((s.flags & ASSIST_SYS_LVTT) && !assist_lvtt_ok(s.lvtt)) {
		return "an LVT timer value the burst may not complete";
	}
	if ((s.flags & ASSIST_SYS_ICR) ? !assist_icr_ok(s.icr) : s.icr != 0) {
		return "an ICR value the burst may not complete";
	}
	if (((s.flags & ASSIST_SYS_FS_BASE) && !pw_canonical(s.fs_base)) ||
	    ((s.flags & ASSIST_SYS_GS_BASE) && !pw_canonical(s.gs_base))) {
		return "a segment base that is not canonical";
	}
	return NULL;
}

bool assist_lvtt_ok(uint64_t v)
{
	return (v & ~(uint64_t)ASSIST_LVTT_BITS) == 0 && (v & ASSIST_LVTT_MODE) != ASSIST_LVTT_MODE;
}

/* x2APIC ICR: vector 7:0, delivery mode 10:8, destination mode 11, level 14, trigger mode 15,
 * shorthand 19:18, destination 63:32; bits 12, 13, 16, 17 and 31:20 reserved (SDM 11.12.9). */
#define ICR_RESERVED 0xfff33000ull
#define ICR_DELIVERY 0x700ull

bool assist_icr_ok(uint64_t v)
{
	return (v & (ICR_RESERVED | ICR_DELIVERY)) == 0 && (v & 0xffu) >= 16;
}

const char *assist_sys_check(const struct assist_sys *s, uint64_t req_cr0, uint32_t req_flags)
{
	if ((s->flags & ASSIST_SYS_CR0) && ((s->cr0 ^ req_cr0) & ~ASSIST_CR0_TS) != 0) {
		return "a CR0 change beyond CR0.TS";
	}
	if ((s->flags & (ASSIST_SYS_LVTT | ASSIST_SYS_EOI | ASSIST_SYS_ICR)) &&
	    !(req_flags & ASSIST_F_X2APIC)) {
		return "an x2APIC write the request did not allow";
	}
	return NULL;
}

const char *assist_reply_check(const void *buf, size_t n)
{
	uint32_t h[4]; /* magic, stop, fpu_dirty, npio */
	struct assist_insn in;
	const char *why;

	if (n != ASSIST_RESP_SHORT && n != sizeof(struct assist_resp)) {
		return "wrong message size";
	}
	memcpy(h, buf, sizeof h);
	memcpy(&in, (const uint8_t *)buf + offsetof(struct assist_resp, insn), sizeof in);
	if (h[0] != ASSIST_PROTO_MAGIC) {
		return "bad magic";
	}
	if (h[1] >= ASSIST_STOP_COUNT) {
		return "unknown stop reason";
	}
	if (h[2] > 1 || (h[2] == 1) != (n == sizeof(struct assist_resp))) {
		return "x87/SSE state flag does not match the message size";
	}
	if ((why = pio_check(buf, h[3])) != NULL || (why = sys_check(buf)) != NULL) {
		return why;
	}
	return insn_check(h[1], &in);
}
