/* SPDX-License-Identifier: MIT */
/* assist_proto.c - the VMM's check of every reply from the instruction-assist process
 * (assist_proto.h).  The assist runs guest-chosen bytes through a JIT and is the least trusted
 * process: a reply is hostile input until this function has accepted it.  Pure: reads only
 * the `n` bytes it is given. */
#include <stddef.h>
#include <string.h>

#include "assist_proto.h"

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
	return NULL;
}

const char *assist_reply_check(const void *buf, size_t n)
{
	uint32_t h[4]; /* magic, stop, fpu_dirty, pad */
	struct assist_insn in;

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
	if (h[3] != 0) {
		return "reserved field not zero";
	}
	return insn_check(h[1], &in);
}
