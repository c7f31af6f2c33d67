/* SPDX-License-Identifier: MIT */
/* assist_atomic.c - locked instructions (LOCK prefix, XCHG with memory) in JIT mode with
 * several vCPUs, atomic against every other vCPU, in a burst or in KVM.
 *
 * Unicorn 2.0.1 runs them as plain loads and stores (hermit-abi.md g.3, rule 5), so a store of
 * another vCPU could fall between its read and its write.  Instead:
 *   - ADD, OR, ADC, SBB, AND, SUB, XOR, XADD, XCHG, CMPXCHG, INC, DEC, NEG, NOT and BTS, BTR,
 *     BTC with an immediate, of 1 to 8 bytes, run as their host twin (`native` below): the
 *     host processor executes the same instruction, LOCK kept, on the operand in guest RAM,
 *     with the guest's source value and arithmetic flags (a locked increment in a burst's
 *     loop: 0.9 us against 1.85 us through the ALU; where Unicorn differs from the processor,
 *     a 32-bit CMPXCHG that succeeds and LOCK NEG's flags, this is the processor's answer);
 *   - the rest (CMPXCHG8B, CMPXCHG16B, an AH..BH operand) as the processor does it, with a
 *     host compare-and-swap on guest RAM and Unicorn as the arithmetic unit:
 *   1. Zydis re-encodes the instruction with its memory operand moved to a fixed scratch
 *      address (base, index, segment and LOCK dropped): `lock cmpxchg [rdi+8], rsi` becomes
 *      `cmpxchg [0x20000], rsi`, followed by a HLT;
 *   2. the operand's current value is read from guest RAM into the scratch page of a second,
 *      tiny Unicorn instance (the ALU: no paging, two pages), the registers the instruction
 *      uses are copied in, and the ALU runs it: the new value, registers and flags are exactly
 *      what the processor computes from that old value;
 *   3. a host compare-and-swap of the operand, old value -> new value, commits it.  If another
 *      vCPU changed the operand in between, the swap fails and steps 2-3 run again.  A locked
 *      x86 instruction depends only on the operand's value, so the result is the one some
 *      order of the vCPUs' accesses would give, as on hardware.
 * Only naturally aligned operands of 1, 2, 4, 8 or 16 bytes in one RAM page the guest may write
 * and that is not a page-table frame; anything else (and BT* with a register bit offset, which
 * may address beyond the operand) is left to KVM.  No decoder or arithmetic of our own: Zydis
 * decodes and encodes, the host processor or Unicorn computes. */
#include <string.h>
#include <sys/mman.h>

#include "assist_internal.h"

#define ALU_CODE   0x10000ull
#define ALU_DATA   0x20000ull
#define ALU_SLOTS  128u /* cached encodings, 32 bytes each: one 4 KiB code page */
#define ALU_SLOT   32u
#define ALU_TRIES  1000u
#define ALU_GPR(i) (1u << (i))

struct alu {
	uc_engine *uc;
	uint8_t *code, *data; /* host memory behind ALU_CODE and ALU_DATA */
	uint8_t len[ALU_SLOTS]; /* encoded length in each slot (0: empty) */
};

/* encoding order (Zydis RAX..R15) -> Unicorn register ids */
static const int gpr_ids[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
				UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
				UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
				UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

int alu_init(struct worker *w)
{
	struct alu *a = map_anon(sizeof *a);
	uint8_t *pages = map_anon(2 * PAGE);

	if (a == NULL || pages == NULL || uc_open(UC_ARCH_X86, UC_MODE_64, &a->uc) != UC_ERR_OK ||
	    uc_ctl_set_cpu_model(a->uc, UC_CPU_X86_EPYC_ROME) != UC_ERR_OK) {
		return -1;
	}
	a->code = pages;
	a->data = pages + PAGE;
	a->code[0] = 0xf4; /* hlt: runs once below, so the JIT buffer exists before the filter */
	if (uc_mem_map_ptr(a->uc, ALU_CODE, PAGE, UC_PROT_ALL, a->code) != UC_ERR_OK ||
	    uc_mem_map_ptr(a->uc, ALU_DATA, PAGE, UC_PROT_READ | UC_PROT_WRITE, a->data) !=
		UC_ERR_OK ||
	    uc_emu_start(a->uc, ALU_CODE, 0, 0, 0) != UC_ERR_OK) {
		return -1;
	}
	w->alu = a;
	return 0;
}

void alu_fini(struct worker *w)
{
	if (w->alu != NULL) {
		uc_close(w->alu->uc);
		munmap(w->alu->code, 2 * PAGE);
		munmap(w->alu, sizeof *w->alu);
		w->alu = NULL;
	}
}

/* The general-purpose registers the instruction reads or writes (explicit and hidden). */
static uint32_t used_gprs(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < in->operand_count; i++) {
		ZydisRegister r;
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER) {
			continue;
		}
		r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[i].reg.value);
		if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15) {
			m |= ALU_GPR(r - ZYDIS_REGISTER_RAX);
		}
	}
	return m;
}

/* Re-encodes the instruction with its memory operand at ALU_DATA into a code slot; returns
 * the slot's guest address, or 0. */
static uint64_t alu_code(struct worker *w, const ZydisDecodedInstruction *in,
			 const ZydisDecodedOperand *ops, unsigned mem)
{
	struct alu *a = w->alu;
	ZydisEncoderRequest req;
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH + 1];
	ZyanUSize n = sizeof buf - 1;
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned slot;

	if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
		in, ops, in->operand_count_visible, &req)) ||
	    mem >= req.operand_count) {
		return 0;
	}
	req.prefixes &= ~(ZYDIS_ATTRIB_HAS_LOCK | ZYDIS_ATTRIB_HAS_SEGMENT);
	req.operands[mem].mem.base = ZYDIS_REGISTER_NONE;
	req.operands[mem].mem.index = ZYDIS_REGISTER_NONE;
	req.operands[mem].mem.scale = 0;
	req.operands[mem].mem.displacement = (ZyanI64)ALU_DATA;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, &n)) || n + 1 > ALU_SLOT) {
		return 0;
	}
	buf[n++] = 0xf4; /* hlt: the ALU stops right after the instruction */
	for (ZyanUSize i = 0; i < n; i++) {
		h = (h ^ buf[i]) * 0x100000001b3ull;
	}
	slot = (unsigned)(h >> 57) & (ALU_SLOTS - 1);
	if (a->len[slot] != n || memcmp(a->code + slot * ALU_SLOT, buf, n) != 0) {
		uint64_t va = ALU_CODE + slot * ALU_SLOT;
		memcpy(a->code + slot * ALU_SLOT, buf, n);
		a->len[slot] = (uint8_t)n;
		ucfix_leave();
		uc_ctl_remove_cache(a->uc, va, va + ALU_SLOT); /* its old translation */
		ucfix_enter(w);
	}
	return ALU_CODE + slot * ALU_SLOT;
}

/* Copies the registers in `m` (and RFLAGS) from one instance to the other. */
static int copy_regs(uc_engine *from, uc_engine *to, uint32_t m, bool arith_only)
{
	uint64_t v, fl;

	for (unsigned i = 0; i < 16; i++) {
		if ((m & ALU_GPR(i)) && (uc_reg_read(from, gpr_ids[i], &v) != UC_ERR_OK ||
					 uc_reg_write(to, gpr_ids[i], &v) != UC_ERR_OK)) {
			return -1;
		}
	}
	if (uc_reg_read(from, UC_X86_REG_EFLAGS, &v) != UC_ERR_OK) {
		return -1;
	}
	if (arith_only) { /* only the arithmetic flags come back from the ALU */
		if (uc_reg_read(to, UC_X86_REG_EFLAGS, &fl) != UC_ERR_OK) {
			return -1;
		}
		v = (fl & ~RF_ARITH) | (v & RF_ARITH);
	}
	return uc_reg_write(to, UC_X86_REG_EFLAGS, &v) == UC_ERR_OK ? 0 : -1;
}

/* Compare-and-swap of `size` bytes at p: old -> new. */
static bool cas(void *p, const uint8_t *old, const uint8_t *new, unsigned size)
{
	uint64_t o = 0, n = 0;

	if (size == 16) {
		unsigned __int128 o16, n16;
		memcpy(&o16, old, 16);
		memcpy(&n16, new, 16);
		return __sync_bool_compare_and_swap((unsigned __int128 *)p, o16, n16);
	}
	memcpy(&o, old, size);
	memcpy(&n, new, size);
	switch (size) {
	case 1:
		return __atomic_compare_exchange_n((uint8_t *)p, (uint8_t *)(void *)&o, (uint8_t)n,
						   false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	case 2:
		return __atomic_compare_exchange_n((uint16_t *)p, (uint16_t *)(void *)&o,
						   (uint16_t)n, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	case 4:
		return __atomic_compare_exchange_n((uint32_t *)p, (uint32_t *)(void *)&o,
						   (uint32_t)n, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	default:
		return __atomic_compare_exchange_n((uint64_t *)p, &o, n, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
}

/* The current value of the operand (a consistent snapshot is not needed: the CAS checks). */
static void load(const void *p, uint8_t *dst, unsigned size)
{
	uint64_t v[2] = {0, 0};

	switch (size) {
	case 1:
		v[0] = __atomic_load_n((const uint8_t *)p, __ATOMIC_SEQ_CST);
		break;
	case 2:
		v[0] = __atomic_load_n((const uint16_t *)p, __ATOMIC_SEQ_CST);
		break;
	case 4:
		v[0] = __atomic_load_n((const uint32_t *)p, __ATOMIC_SEQ_CST);
		break;
	default: /* 8, or 16 in two halves */
		v[0] = __atomic_load_n((const uint64_t *)p, __ATOMIC_SEQ_CST);
		if (size == 16) {
			v[1] = __atomic_load_n((const uint64_t *)p + 1, __ATOMIC_SEQ_CST);
		}
		break;
	}
	memcpy(dst, v, size);
}

/* The memory operand of a locked instruction we can do here: its index, or -1. */
static int mem_operand(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	int mem = -1;

	for (unsigned i = 0; i < in->operand_count_visible; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (mem >= 0 || ops[i].mem.type != ZYDIS_MEMOP_TYPE_MEM) {
				return -1;
			}
			mem = (int)i;
		} else if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
			   (in->mnemonic == ZYDIS_MNEMONIC_BTS ||
			    in->mnemonic == ZYDIS_MNEMONIC_BTR ||
			    in->mnemonic == ZYDIS_MNEMONIC_BTC)) {
			return -1; /* a register bit offset may reach beyond the operand */
		}
	}
	return mem;
}

/* Host address of the operand if the assist may do the access: RAM, writable for the guest,
 * not a page-table frame, naturally aligned (so in one page). */
static uint8_t *operand_host(struct worker *w, uint64_t ea, unsigned size)
{
	uint64_t pa, eff;

	if ((size != 1 && size != 2 && size != 4 && size != 8 && size != 16) || ea % size != 0 ||
	    gwalk(w, ea, &pa, &eff) != 0 || (!(eff & PTE_W) && !w->wp_off) ||
	    !ram_has(w->ram, pa, size) || is_frame(w, pa & ~(PAGE - 1))) {
		return NULL;
	}
	return ram_host(w->ram, pa);
}

/* Runs the ALU on `old` until the swap commits; 0 done, 1 gave up, -1 failed. */
static int commit(struct worker *w, uint64_t code, uint8_t *p, unsigned size, uint32_t regs)
{
	struct alu *a = w->alu;
	uint8_t old[16], new[16];

	for (unsigned t = 0; t < ALU_TRIES; t++) {
		load(p, old, size);
		memcpy(a->data, old, size);
		uc_err e = UC_ERR_ARG;
		if (copy_regs(w->uc, a->uc, regs, false) == 0) {
			ucfix_leave(); /* the ALU has no paging: Unicorn's own addresses */
			e = uc_emu_start(a->uc, code, 0, 0, 0);
			ucfix_enter(w);
		}
		if (e != UC_ERR_OK) {
			return 1; /* the ALU could not run it: KVM can */
		}
		memcpy(new, a->data, size);
		if (cas(p, old, new, size)) {
			return copy_regs(a->uc, w->uc, regs, true);
		}
	}
	return 1; /* contended for too long: KVM's turn */
}

/* ---- the common locked instructions as the same host instruction on guest RAM ----
 * The host processor runs the very instruction Zydis decoded (same mnemonic, operand size and
 * source value, LOCK kept) on the operand in guest RAM, with the guest's arithmetic flags
 * loaded before it: its result, flags and register writes (32-bit writes zero-extend, 8- and
 * 16-bit ones merge) are the processor's own, and atomic against every other vCPU, in a burst
 * or in KVM.  No arithmetic of ours; the stub is chosen by mnemonic and size only.  The red
 * zone below RSP is stepped over before PUSHFQ. */
#define FL_IN                                                                                      \
	"lea -128(%%rsp), %%rsp\n\tpushfq\n\tandq %[clr], (%%rsp)\n\torq %[fin], (%%rsp)\n\t"      \
	"popfq\n\t"
#define FL_OUT "\n\tpushfq\n\tpopq %[fo]\n\tlea 128(%%rsp), %%rsp"

/* One stub line: OPS with the size suffix SFX, the source as register RMOD of constraint CONS. */
#define NATIVE_SRC(OPS, SFX, RMOD, CONS)                                                           \
	__asm__ volatile(FL_IN OPS SFX " %" RMOD "[s], (%[p])" FL_OUT                              \
			 : [s] CONS(src), [fo] "=&r"(fo)                                           \
			 : [p] "r"(p), [fin] "r"(fin), [clr] "r"(clr)                              \
			 : "cc", "memory")
#define NATIVE_CMPXCHG(OPS, SFX, RMOD, CONS)                                                       \
	__asm__ volatile(FL_IN OPS SFX " %" RMOD "[s], (%[p])" FL_OUT                              \
			 : [s] CONS(src), [fo] "=&r"(fo), "+a"(*rax)                               \
			 : [p] "r"(p), [fin] "r"(fin), [clr] "r"(clr)                              \
			 : "cc", "memory")
#define NATIVE_ONE(OPS, SFX, RMOD, CONS)                                                           \
	__asm__ volatile(FL_IN OPS SFX " (%[p])" FL_OUT                                            \
			 : [fo] "=&r"(fo)                                                          \
			 : [p] "r"(p), [fin] "r"(fin), [clr] "r"(clr)                              \
			 : "cc", "memory")

/* The cases of a switch on `size`, each one STEP line: 1 byte, and 2, 4 or 8 bytes. */
#define NATIVE_B(STEP, OPS)                                                                        \
	case 1:                                                                                    \
		STEP(OPS, "b", "b", "+q");                                                         \
		break
#define NATIVE_WLQ(STEP, OPS)                                                                      \
	case 2:                                                                                    \
		STEP(OPS, "w", "w", "+r");                                                         \
		break;                                                                             \
	case 4:                                                                                    \
		STEP(OPS, "l", "k", "+r");                                                         \
		break;                                                                             \
	default:                                                                                   \
		STEP(OPS, "q", "q", "+r");                                                         \
		break

/* OPS of `size` bytes on (p): STEP is NATIVE_SRC (src, (p)) or NATIVE_ONE ((p) alone); *srcp
 * is the source register's whole value (written back by XADD and XCHG); returns RFLAGS. */
#define NATIVE_FN(NAME, STEP, OPS)                                                                 \
	static uint64_t NAME(void *p, uint64_t *srcp, unsigned size, uint64_t fin)                 \
	{                                                                                          \
		uint64_t fo = 0, clr = ~RF_ARITH, src = *srcp;                                     \
		switch (size) {                                                                    \
			NATIVE_B(STEP, OPS);                                                       \
			NATIVE_WLQ(STEP, OPS);                                                     \
		}                                                                                  \
		*srcp = src;                                                                       \
		return fo;                                                                         \
	}

NATIVE_FN(nat_add, NATIVE_SRC, "lock add")
NATIVE_FN(nat_or, NATIVE_SRC, "lock or")
NATIVE_FN(nat_adc, NATIVE_SRC, "lock adc")
NATIVE_FN(nat_sbb, NATIVE_SRC, "lock sbb")
NATIVE_FN(nat_and, NATIVE_SRC, "lock and")
NATIVE_FN(nat_sub, NATIVE_SRC, "lock sub")
NATIVE_FN(nat_xor, NATIVE_SRC, "lock xor")
NATIVE_FN(nat_xadd, NATIVE_SRC, "lock xadd")
NATIVE_FN(nat_xchg, NATIVE_SRC, "xchg")
NATIVE_FN(nat_inc, NATIVE_ONE, "lock inc")
NATIVE_FN(nat_dec, NATIVE_ONE, "lock dec")
NATIVE_FN(nat_neg, NATIVE_ONE, "lock neg")
NATIVE_FN(nat_not, NATIVE_ONE, "lock not")

/* BTS/BTR/BTC with an immediate bit offset (taken modulo the operand size, as the processor
 * does): the register form with that offset is the same instruction.  No 8-bit form. */
#define NATIVE_BT(NAME, OPS)                                                                       \
	static uint64_t NAME(void *p, uint64_t *srcp, unsigned size, uint64_t fin)                 \
	{                                                                                          \
		uint64_t fo = 0, clr = ~RF_ARITH, src = *srcp & (size * 8u - 1u);                  \
		switch (size) {                                                                    \
			NATIVE_WLQ(NATIVE_SRC, OPS);                                               \
		}                                                                                  \
		return fo;                                                                         \
	}
NATIVE_BT(nat_bts, "lock bts")
NATIVE_BT(nat_btr, "lock btr")
NATIVE_BT(nat_btc, "lock btc")

static uint64_t nat_cmpxchg(void *p, uint64_t src, uint64_t *rax, unsigned size, uint64_t fin)
{
	uint64_t fo = 0, clr = ~RF_ARITH;

	switch (size) {
		NATIVE_B(NATIVE_CMPXCHG, "lock cmpxchg");
		NATIVE_WLQ(NATIVE_CMPXCHG, "lock cmpxchg");
	}
	return fo;
}

typedef uint64_t (*native_fn)(void *p, uint64_t *srcp, unsigned size, uint64_t fin);

static native_fn native_of(ZydisMnemonic m, bool *writes_src)
{
	*writes_src = m == ZYDIS_MNEMONIC_XADD || m == ZYDIS_MNEMONIC_XCHG;
	switch (m) {
	case ZYDIS_MNEMONIC_ADD:
		return nat_add;
	case ZYDIS_MNEMONIC_OR:
		return nat_or;
	case ZYDIS_MNEMONIC_ADC:
		return nat_adc;
	case ZYDIS_MNEMONIC_SBB:
		return nat_sbb;
	case ZYDIS_MNEMONIC_AND:
		return nat_and;
	case ZYDIS_MNEMONIC_SUB:
		return nat_sub;
	case ZYDIS_MNEMONIC_XOR:
		return nat_xor;
	case ZYDIS_MNEMONIC_XADD:
		return nat_xadd;
	case ZYDIS_MNEMONIC_XCHG:
		return nat_xchg;
	case ZYDIS_MNEMONIC_INC:
		return nat_inc;
	case ZYDIS_MNEMONIC_DEC:
		return nat_dec;
	case ZYDIS_MNEMONIC_NEG:
		return nat_neg;
	case ZYDIS_MNEMONIC_NOT:
		return nat_not;
	case ZYDIS_MNEMONIC_BTS:
		return nat_bts;
	case ZYDIS_MNEMONIC_BTR:
		return nat_btr;
	case ZYDIS_MNEMONIC_BTC:
		return nat_btc;
	default:
		return NULL;
	}
}

/* The source operand's value (a register's whole 64 bits, or the immediate) and, for a
 * register, its Unicorn id; false if there is none we take (AH..BH, or several). */
static bool native_src(struct worker *w, const ZydisDecodedInstruction *in,
		       const ZydisDecodedOperand *ops, unsigned mem, uint64_t *v, int *reg)
{
	*v = 0;
	*reg = -1;
	for (unsigned i = 0; i < in->operand_count_visible; i++) {
		ZydisRegister r;
		if (i == mem) {
			continue;
		}
		if (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			*v = ops[i].imm.is_signed ? (uint64_t)ops[i].imm.value.s
						  : ops[i].imm.value.u;
			continue;
		}
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER || *reg >= 0 ||
		    (ops[i].reg.value >= ZYDIS_REGISTER_AH &&
		     ops[i].reg.value <= ZYDIS_REGISTER_BH)) {
			return false;
		}
		r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[i].reg.value);
		if (r < ZYDIS_REGISTER_RAX || r > ZYDIS_REGISTER_R15) {
			return false;
		}
		*reg = gpr_ids[r - ZYDIS_REGISTER_RAX];
		if (uc_reg_read(w->uc, *reg, v) != UC_ERR_OK) {
			return false;
		}
	}
	return true;
}

/* The instruction as its host twin on p: 0 done, 1 not one of those (the ALU does it). */
static int native(struct worker *w, const ZydisDecodedInstruction *in,
		  const ZydisDecodedOperand *ops, unsigned mem, uint8_t *p, unsigned size)
{
	bool writes_src = false;
	native_fn f = native_of(in->mnemonic, &writes_src);
	uint64_t src, fl, fo, rax = 0;
	int reg;

	if ((f == NULL && in->mnemonic != ZYDIS_MNEMONIC_CMPXCHG) || size > 8 ||
	    !native_src(w, in, ops, mem, &src, &reg) ||
	    uc_reg_read(w->uc, UC_X86_REG_EFLAGS, &fl) != UC_ERR_OK) {
		return 1;
	}
	if (in->mnemonic == ZYDIS_MNEMONIC_CMPXCHG) {
		if (reg < 0 || uc_reg_read(w->uc, UC_X86_REG_RAX, &rax) != UC_ERR_OK) {
			return 1;
		}
		fo = nat_cmpxchg(p, src, &rax, size, fl & RF_ARITH);
		if (uc_reg_write(w->uc, UC_X86_REG_RAX, &rax) != UC_ERR_OK) {
			return -1;
		}
	} else {
		fo = f(p, &src, size, fl & RF_ARITH);
		if (writes_src && (reg < 0 || uc_reg_write(w->uc, reg, &src) != UC_ERR_OK)) {
			return -1;
		}
	}
	fl = (fl & ~RF_ARITH) | (fo & RF_ARITH);
	return uc_reg_write(w->uc, UC_X86_REG_EFLAGS, &fl) == UC_ERR_OK ? 0 : -1;
}

int atomic_complete(struct worker *w, const ZydisDecodedInstruction *in,
		    const ZydisDecodedOperand *ops, uint64_t rip)
{
	int mem = mem_operand(in, ops), rc;
	uint64_t ea, code;
	uint8_t *p;
	unsigned size;

	if (w->alu == NULL || mem < 0 || effective_address(w, in, &ops[mem], rip, &ea) != 0) {
		return 1;
	}
	size = ops[mem].size / 8;
	if ((p = operand_host(w, ea, size)) == NULL) {
		return 1; /* KVM faults, or does it right */
	}
	if ((rc = native(w, in, ops, (unsigned)mem, p, size)) != 1) {
		return rc;
	}
	if ((code = alu_code(w, in, ops, (unsigned)mem)) == 0) {
		return 1;
	}
	return commit(w, code, p, size, used_gprs(in, ops));
}
