/* SPDX-License-Identifier: MIT */
/* assist_complete.c - instructions the assist completes itself, exactly (POPCNT, TZCNT,
 * LZCNT: Unicorn lacks or mis-executes them), and the effective address of a memory operand
 * (also what the VMM is told for the XSAVE family).  Guest memory is read only through the
 * snapshot walk (read_virt). */
#include "assist_internal.h"

/* encoding order (Zydis RAX..R15) -> Unicorn register ids */
static const int enc_ids[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
				UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
				UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
				UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

int gpr_uc_id(unsigned i)
{
	return enc_ids[i & 15];
}

static int gpr_index(ZydisRegister r)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);

	return big >= ZYDIS_REGISTER_RAX && big <= ZYDIS_REGISTER_R15
		   ? (int)(big - ZYDIS_REGISTER_RAX)
		   : -1;
}

static int read_gpr(struct worker *w, ZydisRegister r, uint64_t *v)
{
	int i = gpr_index(r);

	if (i < 0 || uc_reg_read(w->uc, enc_ids[i], v) != UC_ERR_OK) {
		return -1;
	}
	return 0;
}

/* Linear address of a memory operand (64-bit mode: only FS and GS have a base). */
int effective_address(struct worker *w, const ZydisDecodedInstruction *in,
		      const ZydisDecodedOperand *op, uint64_t rip, uint64_t *ea)
{
	uint64_t a = (uint64_t)op->mem.disp.value, v;

	if (op->mem.base == ZYDIS_REGISTER_RIP || op->mem.base == ZYDIS_REGISTER_EIP) {
		a += rip + in->length;
	} else if (op->mem.base != ZYDIS_REGISTER_NONE) {
		if (read_gpr(w, op->mem.base, &v) != 0) {
			return -1;
		}
		a += v;
	}
	if (op->mem.index != ZYDIS_REGISTER_NONE) {
		if (read_gpr(w, op->mem.index, &v) != 0) {
			return -1;
		}
		a += v * op->mem.scale;
	}
	if (in->address_width == 32) {
		a &= 0xffffffffull;
	}
	if (op->mem.segment == ZYDIS_REGISTER_FS) {
		a += w->in.sregs.fs.base;
	} else if (op->mem.segment == ZYDIS_REGISTER_GS) {
		a += w->in.sregs.gs.base;
	}
	*ea = a;
	return 0;
}

void set_fault(struct worker *w, uint32_t vector, uint64_t ea, bool write)
{
	w->out.stop = ASSIST_STOP_FAULT;
	w->out.insn.vector = vector;
	w->out.insn.ea = ea;
	w->out.insn.write = write;
}

uint64_t bitcount_value(ZydisMnemonic m, uint64_t src, unsigned bits, uint64_t *flags)
{
	uint64_t res;

	*flags = 0;
	if (m == ZYDIS_MNEMONIC_POPCNT) {
		res = (uint64_t)__builtin_popcountll(src);
		*flags = src == 0 ? RF_ZF : 0;
		return res;
	}
	if (src == 0) {
		res = bits;
	} else if (m == ZYDIS_MNEMONIC_TZCNT) {
		res = (uint64_t)__builtin_ctzll(src);
	} else {
		res = (uint64_t)__builtin_clzll(src) - (64 - bits);
	}
	*flags = (src == 0 ? RF_CF : 0) | (res == 0 ? RF_ZF : 0);
	return res;
}

/* POPCNT/TZCNT/LZCNT: invalid or silently BSF/BSR in Unicorn, so done here, exactly. */
int bitcount(struct worker *w, const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
	     uint64_t rip)
{
	unsigned bits = in->operand_width;
	uint64_t src = 0, dst, fl, rfl, res, mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	int di = gpr_index(ops[0].reg.value);

	if (di < 0 || (bits != 16 && bits != 32 && bits != 64)) {
		return -1;
	}
	if (ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
		if (read_gpr(w, ops[1].reg.value, &src) != 0) {
			return -1;
		}
	} else {
		uint64_t ea;
		int rc;
		if (effective_address(w, in, &ops[1], rip, &ea) != 0) {
			return -1;
		}
		if ((rc = read_virt(w, ea, &src, bits / 8)) != 0) {
			if (rc == -1) {
				set_fault(w, 14, ea, false);
			} else if (rc == -3) {
				set_fault(w, 13, 0, false); /* non-canonical: #GP(0) */
			}
			return -1;
		}
	}
	src &= mask;
	res = bitcount_value(in->mnemonic, src, bits, &fl);
	if (uc_reg_read(w->uc, enc_ids[di], &dst) != UC_ERR_OK ||
	    uc_reg_read(w->uc, UC_X86_REG_RFLAGS, &rfl) != UC_ERR_OK) {
		return -1;
	}
	dst = bits == 16 ? (dst & ~0xffffull) | res : res; /* 32-bit results zero-extend */
	rfl = (rfl & ~RF_ARITH) | fl;
	if (uc_reg_write(w->uc, enc_ids[di], &dst) != UC_ERR_OK ||
	    uc_reg_write(w->uc, UC_X86_REG_RFLAGS, &rfl) != UC_ERR_OK) {
		return -1;
	}
	return 0;
}
