/* SPDX-License-Identifier: MIT */
/* assist_complete.c - instructions the assist completes itself, exactly (POPCNT, which
 * Unicorn 2.0.1 lacks; TZCNT and LZCNT where the probe below finds Unicorn running them as
 * BSF/BSR), and the effective address of a memory operand (also what the VMM is told for
 * the XSAVE family).  Guest memory is read only through the snapshot walk (read_virt). */
#include <string.h>

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

/* The low `bits` bits (16, 32 or 64). */
static uint64_t width_mask(unsigned bits)
{
	return bits == 64 ? ~0ull : (1ull << bits) - 1;
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

/* The probe's cases, in order: TZCNT and LZCNT, 16/32/64 bits, of zero, one, the top bit and
 * a value whose low 16 bits are clear (masked to zero for 16 bits). */
static void probe_case(unsigned i, ZydisMnemonic *m, unsigned *bits, uint64_t *src)
{
	static const unsigned widths[3] = {16, 32, 64};
	unsigned w = widths[(i / 4) % 3];
	const uint64_t srcs[4] = {0, 1, 1ull << (w - 1), 0xffffffff00010000ull};

	*m = i < 12 ? ZYDIS_MNEMONIC_TZCNT : ZYDIS_MNEMONIC_LZCNT;
	*bits = w;
	*src = srcs[i % 4];
}

#define PROBE_RAX 0x5a5a5a5a5a5a5a5aull /* RAX before each case: 16-bit results keep the rest */

static uint8_t *put_bytes(uint8_t *p, const void *b, size_t n)
{
	memcpy(p, b, n);
	return p + n;
}

/* mov [disp32], r64 (48 89 /r with SIB 25: no base, no index) */
static uint8_t *put_store(uint8_t *p, uint8_t reg, uint64_t va)
{
	uint32_t d = (uint32_t)va;
	const uint8_t op[4] = {0x48, 0x89, (uint8_t)(0x04 | reg << 3), 0x25};

	p = put_bytes(p, op, sizeof op);
	return put_bytes(p, &d, sizeof d);
}

size_t bitcount_probe_code(uint8_t *code, uint64_t data_va)
{
	uint8_t *p = code;

	for (unsigned i = 0; i < BITCOUNT_PROBE_CASES; i++) {
		ZydisMnemonic m;
		unsigned bits;
		uint64_t src, rax = PROBE_RAX;
		/* mov rdx, 0x8d7; push rdx; popfq: every arithmetic flag set before the case */
		static const uint8_t flags_on[9] = {0x48, 0xc7, 0xc2, 0xd7, 0x08,
						    0x00, 0x00, 0x52, 0x9d};
		uint8_t op;
		probe_case(i, &m, &bits, &src);
		op = m == ZYDIS_MNEMONIC_TZCNT ? 0xbc : 0xbd;
		p = put_bytes(p, (const uint8_t[]){0x48, 0xb8}, 2); /* mov rax, imm64 */
		p = put_bytes(p, &rax, 8);
		p = put_bytes(p, (const uint8_t[]){0x48, 0xbb}, 2); /* mov rbx, imm64 */
		p = put_bytes(p, &src, 8);
		p = put_bytes(p, flags_on, sizeof flags_on);
		if (bits == 16) {
			p = put_bytes(p, (const uint8_t[]){0x66, 0xf3, 0x0f, op, 0xc3},
				      5); /* ax, bx */
		} else if (bits == 32) {
			p = put_bytes(p, (const uint8_t[]){0xf3, 0x0f, op, 0xc3}, 4);
		} else {
			p = put_bytes(p, (const uint8_t[]){0xf3, 0x48, 0x0f, op, 0xc3}, 5);
		}
		p = put_bytes(p, (const uint8_t[]){0x9c, 0x5a}, 2); /* pushfq; pop rdx */
		p = put_store(p, 0, data_va + 16 * i); /* rax */
		p = put_store(p, 2, data_va + 16 * i + 8); /* rdx: the flags */
	}
	*p++ = 0xf4; /* hlt */
	return (size_t)(p - code);
}

bool bitcount_probe_check(const uint8_t *data)
{
	for (unsigned i = 0; i < BITCOUNT_PROBE_CASES; i++) {
		ZydisMnemonic m;
		unsigned bits;
		uint64_t src, fl, res, rax, rfl;
		probe_case(i, &m, &bits, &src);
		src &= width_mask(bits);
		res = bitcount_value(m, src, bits, &fl);
		if (bits == 16) {
			res |= PROBE_RAX & ~0xffffull;
		}
		memcpy(&rax, data + 16 * i, 8);
		memcpy(&rfl, data + 16 * i + 8, 8);
		if (rax != res || (rfl & RF_ARITH) != fl) {
			return false;
		}
	}
	return true;
}

/* POPCNT (Unicorn 2.0.1 has none), and TZCNT/LZCNT where the probe failed: done here,
 * exactly. */
int bitcount(struct worker *w, const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
	     uint64_t rip)
{
	unsigned bits = in->operand_width;
	uint64_t src = 0, dst, fl, rfl, res, mask = width_mask(bits);
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
